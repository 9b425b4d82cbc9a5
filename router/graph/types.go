package graph

import (
	"github.com/btcsuite/btcd/wire"
	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/router/gossip"
)

// NodeID is a node's compressed public key.
type NodeID = gossip.NodeID

// NodeIndex addresses a node in the in-memory index. Indices are stable
// while the graph's read lock is held, and are reused after a node is
// removed, so they must not be kept across calls.
type NodeIndex uint32

// ChannelIndex addresses a channel in the in-memory index, with the same
// lifetime rules as NodeIndex.
type ChannelIndex uint32

// Policy is one direction's forwarding policy, from a channel_update.
// Its fixed size keeps a channel record small and free of pointers.
type Policy struct {
	// Timestamp is the update's timestamp; zero means no update has
	// been received for this direction, and the direction is unusable.
	Timestamp       uint32
	FeeBaseMsat     uint32
	FeeRatePPM      uint32
	CltvExpiryDelta uint16
	Disabled        bool
	HTLCMinimumMsat lnwire.MilliSatoshi
	HTLCMaximumMsat lnwire.MilliSatoshi
}

// Known reports whether a channel_update has been received.
func (p *Policy) Known() bool { return p.Timestamp != 0 }

// Usable reports whether payments may be routed in this direction.
func (p *Policy) Usable() bool { return p.Timestamp != 0 && !p.Disabled }

// Fee returns the fee this policy charges to forward amt, rounded down as
// BOLT 7's formula fee_base_msat + amt * fee_proportional_millionths /
// 1000000 is evaluated in integers.
func (p *Policy) Fee(amt lnwire.MilliSatoshi) lnwire.MilliSatoshi {
	return lnwire.MilliSatoshi(p.FeeBaseMsat) +
		lnwire.MilliSatoshi(uint64(amt)*uint64(p.FeeRatePPM)/1_000_000)
}

// PolicyFromUpdate extracts the policy of a channel_update.
func PolicyFromUpdate(u *gossip.ChannelUpdate) Policy {
	return Policy{
		Timestamp:       u.Timestamp,
		FeeBaseMsat:     u.FeeBaseMsat,
		FeeRatePPM:      u.FeeProportionalMillionths,
		CltvExpiryDelta: u.CltvExpiryDelta,
		Disabled:        u.ChannelFlags.IsDisabled(),
		HTLCMinimumMsat: u.HTLCMinimumMsat,
		HTLCMaximumMsat: u.HTLCMaximumMsat,
	}
}

// Edge is the in-memory record of one channel, as pathfinding sees it.
// Policies[0] governs payments from Nodes[0] (node_id_1) to Nodes[1],
// Policies[1] the reverse.
type Edge struct {
	SCID         uint64
	CapacityMsat lnwire.MilliSatoshi
	Nodes        [2]NodeIndex
	Policies     [2]Policy
}

// ShortChannelID returns the edge's short channel id.
func (e *Edge) ShortChannelID() lnwire.ShortChannelID {
	return lnwire.NewShortChanIDFromInt(e.SCID)
}

// Node is a snapshot of one node, as `flash graph` shows it.
type Node struct {
	ID NodeID
	// Timestamp is that of the last node_announcement; zero when the
	// node is known only from its channels, and the fields below are
	// then empty.
	Timestamp uint32
	Alias     string
	Color     [3]byte
	Addresses []lnwire.Address
	Features  *lnwire.FeatureVector
	// Channels is the number of channels the node has in the graph.
	Channels int
}

// Channel is a snapshot of one channel.
type Channel struct {
	ShortChannelID lnwire.ShortChannelID
	OutPoint       wire.OutPoint
	// Capacity is the funding output's value in satoshis.
	Capacity int64
	Node1    NodeID
	Node2    NodeID
	// Policies are indexed by direction; a zero Timestamp means the
	// direction has no channel_update yet.
	Policies [2]Policy
}
