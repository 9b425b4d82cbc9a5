package rpc

// Method names. A method is served at /v1/ followed by its name.
const (
	MethodGetInfo          = "getinfo"
	MethodStop             = "stop"
	MethodChainInfo        = "chain/info"
	MethodChainMine        = "chain/mine"
	MethodChainConnect     = "chain/connect"
	MethodWalletNewAddress = "wallet/newaddress"
	MethodWalletBalance    = "wallet/balance"
	MethodWalletSend       = "wallet/send"
)

// Limits of the requests, checked by the daemon and mirrored by the CLI so
// that it can refuse bad input before dialling.
const (
	// MaxMineBlocks bounds chain/mine: one call must not tie the node up
	// for minutes.
	MaxMineBlocks = 10000
	// MaxFeeRateSatPerVByte bounds wallet/send: a rate above it is far more
	// likely a typo than an intent, and the fee would be lost for good.
	MaxFeeRateSatPerVByte = 10000
)

// Empty is the request or response of methods that carry no data.
type Empty struct{}

// GetInfoResponse is the node status.
type GetInfoResponse struct {
	NodeID             string `json:"node_id"`
	Alias              string `json:"alias"`
	URI                string `json:"uri"`
	BlockHeight        int32  `json:"block_height"`
	BlockHash          string `json:"block_hash"`
	SyncedToChain      bool   `json:"synced_to_chain"`
	NumPeers           int    `json:"num_peers"`
	NumActiveChannels  int    `json:"num_active_channels"`
	NumPendingChannels int    `json:"num_pending_channels"`
	ChainListenAddress string `json:"chain_listen_address"`
	Version            string `json:"version"`
}

// ChainInfoResponse is the tip of the built-in chain.
type ChainInfoResponse struct {
	Height        int32  `json:"height"`
	BestHash      string `json:"best_hash"`
	NumChainPeers int    `json:"num_chain_peers"`
	// ListenAddress is the host:port of the chain's P2P listener, the
	// address other nodes pass to chain/connect or --chain-connect.
	ListenAddress string `json:"listen_address"`
	IsCurrent     bool   `json:"is_current"`
}

// ChainMineRequest mines NumBlocks blocks, paying their coinbase to Address,
// or to a new address of the node's wallet when Address is empty.
type ChainMineRequest struct {
	NumBlocks int    `json:"num_blocks"`
	Address   string `json:"address,omitempty"`
}

// ChainMineResponse lists the mined blocks, lowest first.
type ChainMineResponse struct {
	BlockHashes []string `json:"block_hashes"`
}

// ChainConnectRequest adds a persistent chain peer at host:port.
type ChainConnectRequest struct {
	Address string `json:"address"`
}

// NewAddressResponse is a fresh P2WPKH address of the wallet.
type NewAddressResponse struct {
	Address string `json:"address"`
}

// BalanceResponse is the wallet's on-chain funds, in satoshis.
type BalanceResponse struct {
	ConfirmedSat   int64 `json:"confirmed_sat"`
	UnconfirmedSat int64 `json:"unconfirmed_sat"`
	LockedSat      int64 `json:"locked_sat"`
	ImmatureSat    int64 `json:"immature_sat"`
}

// SendRequest pays AmountSat to Address on chain. SatPerVByte zero lets the
// node estimate the fee rate.
type SendRequest struct {
	Address     string `json:"address"`
	AmountSat   int64  `json:"amount_sat"`
	SatPerVByte int64  `json:"sat_per_vbyte,omitempty"`
}

// SendResponse identifies the broadcast transaction and the fee it pays.
type SendResponse struct {
	Txid   string `json:"txid"`
	FeeSat int64  `json:"fee_sat"`
}
