package rpc

import "context"

// Methods of the network graph and routing.
const (
	MethodGraph         = "graph"
	MethodRoute         = "route"
	MethodChannelPolicy = "channel/policy"
)

// CodeNoRoute: no route satisfies the request's constraints.
const CodeNoRoute Code = "no_route"

// GraphNode is one node of the graph.
type GraphNode struct {
	NodeID string `json:"node_id"`
	// Alias is empty until the node's node_announcement arrives.
	Alias string `json:"alias"`
}

// GraphPolicy is one direction's channel_update as the graph holds it.
type GraphPolicy struct {
	FeeBaseMsat     uint32 `json:"fee_base_msat"`
	FeePPM          uint32 `json:"fee_ppm"`
	CltvDelta       uint16 `json:"cltv_delta"`
	HTLCMinimumMsat uint64 `json:"htlc_minimum_msat"`
	HTLCMaximumMsat uint64 `json:"htlc_maximum_msat"`
	Disabled        bool   `json:"disabled"`
	Timestamp       uint32 `json:"timestamp"`
}

// GraphChannel is one channel of the graph. A policy is missing until
// that direction's channel_update arrives.
type GraphChannel struct {
	ShortChannelID string       `json:"short_channel_id"`
	ChannelPoint   string       `json:"channel_point"`
	Node1          string       `json:"node1"`
	Node2          string       `json:"node2"`
	CapacitySat    int64        `json:"capacity_sat"`
	Node1Policy    *GraphPolicy `json:"node1_policy,omitempty"`
	Node2Policy    *GraphPolicy `json:"node2_policy,omitempty"`
}

// GraphResponse is the network graph as the node knows it.
type GraphResponse struct {
	Nodes    []GraphNode    `json:"nodes"`
	Channels []GraphChannel `json:"channels"`
}

// RouteRequest asks for the route the node would take now to pay
// AmountSat to NodeID.
type RouteRequest struct {
	NodeID    string `json:"node_id"`
	AmountSat int64  `json:"amount_sat"`
	// MaxFeeSat bounds the fees; nil means 5% of the amount plus 100 sat.
	MaxFeeSat *int64 `json:"max_fee_sat,omitempty"`
	// FinalCltvDelta is the payee's final CLTV delta; zero means 18.
	FinalCltvDelta uint16 `json:"final_cltv_delta,omitempty"`
}

// RouteHop is one channel of a route: NodeID is the node it reaches,
// AmountMsat what travels on it and Expiry the HTLC's absolute expiry.
type RouteHop struct {
	NodeID         string `json:"node_id"`
	ShortChannelID string `json:"short_channel_id"`
	AmountMsat     uint64 `json:"amount_msat"`
	Expiry         uint32 `json:"expiry"`
}

// RouteResponse is a route from this node.
type RouteResponse struct {
	Hops         []RouteHop `json:"hops"`
	TotalFeeMsat uint64     `json:"total_fee_msat"`
	// TotalAmountMsat is what the payer sends, fees included.
	TotalAmountMsat uint64 `json:"total_amount_msat"`
	// TotalExpiry is the absolute expiry of the first HTLC.
	TotalExpiry uint32 `json:"total_expiry"`
}

// ChannelPolicyRequest changes our forwarding policy on a channel; the
// fields left nil keep their current value.
type ChannelPolicyRequest struct {
	ChannelPoint string `json:"channel_point"`
	BaseFeeMsat  *int64 `json:"base_fee_msat,omitempty"`
	FeePPM       *int64 `json:"fee_ppm,omitempty"`
	CltvDelta    *int64 `json:"cltv_delta,omitempty"`
}

// ChannelPolicyResponse is the policy now published.
type ChannelPolicyResponse struct {
	ChannelPoint   string `json:"channel_point"`
	ShortChannelID string `json:"short_channel_id"`
	BaseFeeMsat    uint32 `json:"base_fee_msat"`
	FeePPM         uint32 `json:"fee_ppm"`
	CltvDelta      uint16 `json:"cltv_delta"`
}

// Graph returns the network graph.
func (c *Client) Graph(ctx context.Context) (*GraphResponse, error) {
	return call[GraphResponse](ctx, c, MethodGraph, nil)
}

// Route returns the route the node would take now.
func (c *Client) Route(ctx context.Context, req RouteRequest) (*RouteResponse, error) {
	return call[RouteResponse](ctx, c, MethodRoute, req)
}

// ChannelPolicy changes our forwarding policy on a channel.
func (c *Client) ChannelPolicy(ctx context.Context, req ChannelPolicyRequest) (*ChannelPolicyResponse, error) {
	return call[ChannelPolicyResponse](ctx, c, MethodChannelPolicy, req)
}
