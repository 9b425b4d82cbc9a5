package daemon

import (
	"context"
	"encoding/hex"
	"errors"
	"math"
	"time"

	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/daemon/chanstore"
	"github.com/flash-ln/flash/daemon/rpc"
	"github.com/flash-ln/flash/router/gossip"
	"github.com/flash-ln/flash/router/gossiper"
	"github.com/flash-ln/flash/router/graph"
	"github.com/flash-ln/flash/router/pathfind"
)

// Defaults of route: the fee limit is routeFeePercent of the amount plus
// routeFeeBaseSat, and the payee's final CLTV delta that of BOLT 11.
const (
	routeFeePercent       = 5
	routeFeeBaseSat       = 100
	routeFinalCltvDefault = 18
)

// Bounds of channel/policy. A CLTV delta below minCltvDelta leaves too
// little time to claim an HTLC on chain; above maxCltvDelta (two weeks)
// payers avoid the channel anyway.
const (
	minCltvDelta = 18
	maxCltvDelta = 2016
	maxFeePPM    = 1_000_000
)

// registerGraphRPC wires the graph, route and channel policy methods.
func (d *Daemon) registerGraphRPC(s *rpc.Server) {
	rpc.Handle(s, rpc.MethodGraph, d.graphRPC)
	rpc.Handle(s, rpc.MethodRoute, d.routeRPC)
	rpc.Handle(s, rpc.MethodChannelPolicy, d.channelPolicyRPC)
}

func (d *Daemon) graphRPC(context.Context, *rpc.Empty) (*rpc.GraphResponse, error) {
	resp := &rpc.GraphResponse{Nodes: []rpc.GraphNode{}, Channels: []rpc.GraphChannel{}}
	for _, n := range d.graph.Nodes() {
		resp.Nodes = append(resp.Nodes, rpc.GraphNode{
			NodeID: hex.EncodeToString(n.ID[:]),
			Alias:  sanitize(n.Alias),
		})
	}
	for _, c := range d.graph.Channels() {
		resp.Channels = append(resp.Channels, rpc.GraphChannel{
			ShortChannelID: c.ShortChannelID.String(),
			ChannelPoint:   c.OutPoint.String(),
			Node1:          hex.EncodeToString(c.Node1[:]),
			Node2:          hex.EncodeToString(c.Node2[:]),
			CapacitySat:    c.Capacity,
			Node1Policy:    rpcPolicy(&c.Policies[0]),
			Node2Policy:    rpcPolicy(&c.Policies[1]),
		})
	}
	return resp, nil
}

func rpcPolicy(p *graph.Policy) *rpc.GraphPolicy {
	if !p.Known() {
		return nil
	}
	return &rpc.GraphPolicy{
		FeeBaseMsat:     p.FeeBaseMsat,
		FeePPM:          p.FeeRatePPM,
		CltvDelta:       p.CltvExpiryDelta,
		HTLCMinimumMsat: uint64(p.HTLCMinimumMsat),
		HTLCMaximumMsat: uint64(p.HTLCMaximumMsat),
		Disabled:        p.Disabled,
		Timestamp:       p.Timestamp,
	}
}

func (d *Daemon) routeRPC(_ context.Context, req *rpc.RouteRequest) (*rpc.RouteResponse, error) {
	pub, err := parseNodeID(req.NodeID)
	if err != nil {
		return nil, err
	}
	target := gossip.NewNodeID(pub)
	self := gossip.NewNodeID(d.nodeKey)
	if target == self {
		return nil, rpc.Errorf(rpc.CodeInvalidArgument, "node id %s is this node", req.NodeID)
	}
	// Keep amounts in msat well inside uint64 and the 21M BTC supply.
	const maxSat = 21_000_000 * 100_000_000
	if req.AmountSat <= 0 || req.AmountSat > maxSat {
		return nil, rpc.Errorf(rpc.CodeInvalidArgument,
			"amount %d sat: want a positive amount up to 21 million BTC", req.AmountSat)
	}
	amt := lnwire.NewMSatFromSatoshis(uint64(req.AmountSat))
	feeLimit := amt*routeFeePercent/100 + lnwire.NewMSatFromSatoshis(routeFeeBaseSat)
	if req.MaxFeeSat != nil {
		if *req.MaxFeeSat < 0 || *req.MaxFeeSat > maxSat {
			return nil, rpc.Errorf(rpc.CodeInvalidArgument, "max fee %d sat: out of range", *req.MaxFeeSat)
		}
		feeLimit = lnwire.NewMSatFromSatoshis(uint64(*req.MaxFeeSat))
	}
	final := req.FinalCltvDelta
	if final == 0 {
		final = routeFinalCltvDefault
	}
	_, height := d.chain.BestBlock()
	route, err := pathfind.FindRoute(d.graph, &pathfind.Request{
		Source:         self,
		Target:         target,
		Amount:         amt,
		CurrentHeight:  uint32(max(height, 0)),
		FinalCltvDelta: final,
		FeeLimit:       feeLimit,
		LocalBalances:  d.localBalances(),
		Probability:    d.mission.Estimator(time.Now()),
	})
	if errors.Is(err, pathfind.ErrNoRoute) {
		return nil, rpc.Errorf(rpc.CodeNoRoute, "no route to %s for %d sat: %v",
			req.NodeID, req.AmountSat, err)
	}
	if err != nil {
		return nil, err
	}
	resp := &rpc.RouteResponse{
		Hops:            make([]rpc.RouteHop, len(route.Hops)),
		TotalFeeMsat:    uint64(route.TotalFee),
		TotalAmountMsat: uint64(route.TotalAmount),
		TotalExpiry:     route.TotalCLTV,
	}
	for i, h := range route.Hops {
		resp.Hops[i] = rpc.RouteHop{
			NodeID:         hex.EncodeToString(h.NodeID[:]),
			ShortChannelID: h.ShortChannelID.String(),
			AmountMsat:     uint64(h.AmountMsat),
			Expiry:         h.Expiry,
		}
	}
	return resp, nil
}

// localBalances is what we can send now on each of our channels: the
// active channels whose peer is online, with our balance net of the
// commitment fee we pay.
func (d *Daemon) localBalances() map[lnwire.ShortChannelID]lnwire.MilliSatoshi {
	out := make(map[lnwire.ShortChannelID]lnwire.MilliSatoshi)
	for _, l := range d.channels.allLinks() {
		info := l.info()
		if info.State != rpc.ChannelActive || info.ShortChannelID == "" {
			continue
		}
		l.mu.Lock()
		scid := lnwire.NewShortChanIDFromInt(l.rec.ShortChannelID)
		l.mu.Unlock()
		out[scid] = lnwire.MilliSatoshi(max(info.LocalBalanceMsat, 0))
	}
	return out
}

func (d *Daemon) channelPolicyRPC(_ context.Context, req *rpc.ChannelPolicyRequest) (*rpc.ChannelPolicyResponse, error) {
	op, err := parseChannelPoint(req.ChannelPoint)
	if err != nil {
		return nil, err
	}
	if req.BaseFeeMsat == nil && req.FeePPM == nil && req.CltvDelta == nil {
		return nil, rpc.Errorf(rpc.CodeInvalidArgument,
			"nothing to change: give a base fee, a fee rate or a CLTV delta")
	}
	if v := req.BaseFeeMsat; v != nil && (*v < 0 || *v > math.MaxUint32) {
		return nil, rpc.Errorf(rpc.CodeInvalidArgument,
			"base fee %d msat: want 0..%d", *v, uint32(math.MaxUint32))
	}
	if v := req.FeePPM; v != nil && (*v < 0 || *v > maxFeePPM) {
		return nil, rpc.Errorf(rpc.CodeInvalidArgument, "fee rate %d ppm: want 0..%d", *v, maxFeePPM)
	}
	if v := req.CltvDelta; v != nil && (*v < minCltvDelta || *v > maxCltvDelta) {
		return nil, rpc.Errorf(rpc.CodeInvalidArgument,
			"cltv delta %d: want %d..%d blocks", *v, minCltvDelta, maxCltvDelta)
	}
	d.channels.mu.Lock()
	l := d.channels.links[op]
	d.channels.mu.Unlock()
	if l == nil {
		return nil, rpc.Errorf(rpc.CodeNotFound, "no channel at %s", req.ChannelPoint)
	}
	l.mu.Lock()
	state, rawSCID := l.rec.State, l.rec.ShortChannelID
	l.mu.Unlock()
	if state != chanstore.StateActive || rawSCID == 0 {
		return nil, rpc.Errorf(rpc.CodeInvalidArgument,
			"channel %s is %s: its policy can be set once it is active", req.ChannelPoint, state)
	}
	scid := lnwire.NewShortChanIDFromInt(rawSCID)
	// The channel may have become active since the last pass over the
	// channels; register it now rather than fail.
	d.gossip.syncLocal()
	cur, ok := d.gossip.g.ChannelUpdate(scid)
	if !ok {
		return nil, rpc.Errorf(rpc.CodeUnavailable, "channel %s: not registered with gossip yet", req.ChannelPoint)
	}
	p := gossiper.Policy{
		FeeBaseMsat:     cur.FeeBaseMsat,
		FeeRatePPM:      cur.FeeProportionalMillionths,
		CltvExpiryDelta: cur.CltvExpiryDelta,
		HTLCMinimumMsat: cur.HTLCMinimumMsat,
		HTLCMaximumMsat: cur.HTLCMaximumMsat,
	}
	if v := req.BaseFeeMsat; v != nil {
		p.FeeBaseMsat = uint32(*v)
	}
	if v := req.FeePPM; v != nil {
		p.FeeRatePPM = uint32(*v)
	}
	if v := req.CltvDelta; v != nil {
		p.CltvExpiryDelta = uint16(*v)
	}
	// Stored first: a policy we published must not revert at restart.
	if err := putPolicy(d.db, op, p); err != nil {
		return nil, err
	}
	if err := d.gossip.g.UpdatePolicy(scid, p); err != nil {
		return nil, err
	}
	d.gossip.g.Flush()
	return &rpc.ChannelPolicyResponse{
		ChannelPoint:   op.String(),
		ShortChannelID: scid.String(),
		BaseFeeMsat:    p.FeeBaseMsat,
		FeePPM:         p.FeeRatePPM,
		CltvDelta:      p.CltvExpiryDelta,
	}, nil
}
