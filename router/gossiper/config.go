package gossiper

import (
	"errors"
	"log/slog"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/router/gossip"
	"github.com/flash-ln/flash/router/graph"
)

// NodeID is a node's compressed public key.
type NodeID = gossip.NodeID

// Chain is the view of the base chain the Gossiper needs to check a
// channel's funding output.
type Chain interface {
	// TxIDAt returns the id of the transaction at position txIndex of
	// the block at height on the best chain.
	TxIDAt(height, txIndex uint32) (chainhash.Hash, error)
	// FetchUtxo returns the unspent output at op, or nil and no error
	// when it does not exist or is spent.
	FetchUtxo(op wire.OutPoint) (*wire.TxOut, error)
	// BestHeight returns the height of the chain's tip.
	BestHeight() uint32
}

// Peers is the daemon's set of connected peers.
type Peers interface {
	// Send queues msg for peer. An error means the peer is gone; the
	// Gossiper does not retry.
	Send(peer NodeID, msg lnwire.Message) error
	// Peers returns the peers connected now.
	Peers() []NodeID
}

// Signer signs digests with one private key.
type Signer interface {
	// PubKey returns the key's public half.
	PubKey() NodeID
	// SignHash signs a 32-byte digest.
	SignHash(hash [32]byte) (lnwire.Sig, error)
}

// KeySigner is a Signer over a private key held in memory.
type KeySigner struct {
	Key *btcec.PrivateKey
}

// PubKey returns the key's node id.
func (s KeySigner) PubKey() NodeID { return gossip.NewNodeID(s.Key.PubKey()) }

// SignHash signs hash with the key.
func (s KeySigner) SignHash(hash [32]byte) (lnwire.Sig, error) { return gossip.SignHash(s.Key, hash) }

// NodeInfo is what our node_announcement says about us.
type NodeInfo struct {
	Alias     string
	Color     [3]byte
	Addresses []lnwire.Address
	// Features is the node's feature bits in wire form.
	Features []byte
}

// Limits bound what peers can make the Gossiper do and store. The zero
// value of a field selects its default.
type Limits struct {
	// RelayRate is how many messages per second each peer is sent at
	// most, and RelayBurst how many may go at once after a quiet spell.
	RelayRate  float64
	RelayBurst int
	// MaxPending bounds the relay queue and each of the holds for
	// premature or orphaned messages.
	MaxPending int
	// ChannelUpdateBurst updates per channel direction are accepted per
	// ChannelUpdateWindow; more are rejected as a flood. Our own
	// updates are not limited.
	ChannelUpdateBurst  int
	ChannelUpdateWindow time.Duration
	// MaxFutureSkew is how far ahead of our clock a timestamp may be.
	// Package gossip rejects anything past gossip.MaxFutureSkew
	// whatever this says.
	MaxFutureSkew time.Duration
	// HoldTime is how long a premature or orphaned message is held.
	HoldTime time.Duration
	// MaxPrematureBlocks is how far past our tip an announcement's
	// block may be and still be held.
	MaxPrematureBlocks uint32
	// FullSyncPeers is how many peers are asked for the whole history
	// at their first connection; the others only for what is new.
	FullSyncPeers int
	// DumpInterval is the least time between two dumps of the graph to
	// the same peer, however often it changes its filter.
	DumpInterval time.Duration
	// DisconnectScore is the misbehaviour score at which Result tells
	// the caller to disconnect the peer.
	DisconnectScore int
}

// DefaultLimits returns the limits used for zero fields.
func DefaultLimits() Limits {
	return Limits{
		RelayRate:           50,
		RelayBurst:          500,
		MaxPending:          5000,
		ChannelUpdateBurst:  10,
		ChannelUpdateWindow: 24 * time.Hour,
		MaxFutureSkew:       gossip.MaxFutureSkew,
		HoldTime:            10 * time.Minute,
		MaxPrematureBlocks:  6,
		FullSyncPeers:       3,
		DumpInterval:        time.Minute,
		DisconnectScore:     100,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.RelayRate <= 0 {
		l.RelayRate = d.RelayRate
	}
	if l.RelayBurst <= 0 {
		l.RelayBurst = d.RelayBurst
	}
	if l.MaxPending <= 0 {
		l.MaxPending = d.MaxPending
	}
	if l.ChannelUpdateBurst <= 0 {
		l.ChannelUpdateBurst = d.ChannelUpdateBurst
	}
	if l.ChannelUpdateWindow <= 0 {
		l.ChannelUpdateWindow = d.ChannelUpdateWindow
	}
	if l.MaxFutureSkew <= 0 {
		l.MaxFutureSkew = d.MaxFutureSkew
	}
	if l.HoldTime <= 0 {
		l.HoldTime = d.HoldTime
	}
	if l.MaxPrematureBlocks == 0 {
		l.MaxPrematureBlocks = d.MaxPrematureBlocks
	}
	if l.FullSyncPeers <= 0 {
		l.FullSyncPeers = d.FullSyncPeers
	}
	if l.DumpInterval <= 0 {
		l.DumpInterval = d.DumpInterval
	}
	if l.DisconnectScore <= 0 {
		l.DisconnectScore = d.DisconnectScore
	}
	return l
}

// Config is what the daemon supplies to a Gossiper.
type Config struct {
	// Graph is where accepted gossip is stored. It must be opened on a
	// database (graph.Open): syncing a peer replays its stored messages.
	Graph     *graph.Graph
	ChainHash lnwire.ChainHash
	Chain     Chain
	Peers     Peers
	// NodeKey signs our node_announcement and channel_updates, and our
	// half of our channels' announcements.
	NodeKey Signer
	// Node is what our node_announcement says.
	Node NodeInfo
	// Now returns the current time; time.Now when nil.
	Now    func() time.Time
	Limits Limits
	// Logger receives the Gossiper's logs; nothing is logged when nil.
	Logger *slog.Logger
}

func (c *Config) check() error {
	switch {
	case c.Graph == nil:
		return errors.New("gossiper: Config.Graph is nil")
	case c.Chain == nil:
		return errors.New("gossiper: Config.Chain is nil")
	case c.Peers == nil:
		return errors.New("gossiper: Config.Peers is nil")
	case c.NodeKey == nil:
		return errors.New("gossiper: Config.NodeKey is nil")
	}
	return nil
}
