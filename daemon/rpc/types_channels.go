package rpc

// Methods of the Lightning peers and channels.
const (
	MethodPeerConnect    = "peer/connect"
	MethodPeerList       = "peer/list"
	MethodPeerDisconnect = "peer/disconnect"

	MethodChannelOpen   = "channel/open"
	MethodChannelList   = "channel/list"
	MethodChannelClose  = "channel/close"
	MethodChannelClosed = "channel/closed"
)

// Error codes of the peer and channel methods.
const (
	// CodePeerNotConnected: the method needs a connected peer.
	CodePeerNotConnected Code = "peer_not_connected"
	// CodeNotSupported: the request is valid but the node cannot do it
	// yet.
	CodeNotSupported Code = "not_supported"
	// CodeFundingFailed: the channel establishment with the peer failed;
	// no coin is locked.
	CodeFundingFailed Code = "funding_failed"
)

// PeerConnectRequest connects to NODE_ID@HOST:PORT and keeps the peer
// connected across drops and restarts.
type PeerConnectRequest struct {
	// Peer is NODE_ID@HOST:PORT, the node id in hex (33 bytes compressed).
	Peer string `json:"peer"`
}

// PeerDisconnectRequest drops the connection to a node and stops
// reconnecting to it.
type PeerDisconnectRequest struct {
	NodeID string `json:"node_id"`
}

// Peer is one connected peer.
type Peer struct {
	NodeID  string `json:"node_id"`
	Address string `json:"address"`
	Inbound bool   `json:"inbound"`
}

// PeerListResponse lists the connected peers.
type PeerListResponse struct {
	Peers []Peer `json:"peers"`
}

// ChannelOpenRequest opens a channel of AmountSat to a connected peer,
// giving it PushSat.
type ChannelOpenRequest struct {
	NodeID    string `json:"node_id"`
	AmountSat int64  `json:"amount_sat"`
	PushSat   int64  `json:"push_sat,omitempty"`
	Private   bool   `json:"private,omitempty"`
}

// ChannelOpenResponse names the broadcast funding transaction.
type ChannelOpenResponse struct {
	ChannelPoint string `json:"channel_point"`
	FundingTxid  string `json:"funding_txid"`
}

// Channel states reported by channel/list.
const (
	ChannelPendingOpen       = "pending_open"
	ChannelActive            = "active"
	ChannelInactive          = "inactive"
	ChannelClosing           = "closing"
	ChannelForceClosing      = "force_closing"
	ChannelWaitingResolution = "waiting_resolution"
)

// Channel is one open or pending channel.
type Channel struct {
	ChannelPoint      string `json:"channel_point"`
	ChannelID         string `json:"channel_id"`
	ShortChannelID    string `json:"short_channel_id"`
	Peer              string `json:"peer"`
	CapacitySat       int64  `json:"capacity_sat"`
	LocalBalanceMsat  int64  `json:"local_balance_msat"`
	RemoteBalanceMsat int64  `json:"remote_balance_msat"`
	State             string `json:"state"`
	NumPendingHTLCs   int    `json:"num_pending_htlcs"`
	// BlocksUntilMaturity is, while the channel's outputs are claimed on
	// chain, the number of blocks until the next output of ours matures.
	BlocksUntilMaturity int32 `json:"blocks_until_maturity,omitempty"`
}

// ChannelListResponse lists the open and pending channels.
type ChannelListResponse struct {
	Channels []Channel `json:"channels"`
}

// ChannelCloseRequest closes the channel at ChannelPoint (txid:vout).
type ChannelCloseRequest struct {
	ChannelPoint string `json:"channel_point"`
	Force        bool   `json:"force,omitempty"`
}

// ChannelCloseResponse names the broadcast closing transaction.
type ChannelCloseResponse struct {
	ClosingTxid string `json:"closing_txid"`
}

// Close types reported by channel/closed.
const (
	CloseCooperative = "cooperative"
	CloseLocalForce  = "local_force"
	CloseRemoteForce = "remote_force"
	CloseBreach      = "breach"
)

// ClosedChannel is a channel whose closing transaction confirmed.
type ClosedChannel struct {
	ChannelPoint string `json:"channel_point"`
	CloseType    string `json:"close_type"`
	ClosingTxid  string `json:"closing_txid"`
	// SettledSat is what the closing transaction paid us.
	SettledSat int64 `json:"settled_sat"`
	// Resolved is true once nothing of the channel remains to claim.
	Resolved bool `json:"resolved"`
}

// ChannelClosedResponse lists the closed channels.
type ChannelClosedResponse struct {
	Channels []ClosedChannel `json:"channels"`
}
