package graph

import (
	"github.com/flash-ln/flash/channel/lnwire"
)

// Reader gives pathfinding direct access to the in-memory index while the
// graph's read lock is held. Everything it returns is valid only inside
// the Read call that produced it; edges are returned by pointer into the
// index and must not be modified.
type Reader struct {
	g *Graph
}

// Read runs fn with the read lock held. Writers wait until it returns, so
// fn should not block.
func (g *Graph) Read(fn func(r Reader)) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	fn(Reader{g: g})
}

// NodeIndexBound returns one past the largest node index in use, the size
// of a slice indexed by NodeIndex.
func (r Reader) NodeIndexBound() int { return len(r.g.nodes) }

// Lookup returns the index of a node.
func (r Reader) Lookup(id NodeID) (NodeIndex, bool) {
	ni, ok := r.g.nodeIdx[id]
	return ni, ok
}

// NodeID returns the id of the node at ni.
func (r Reader) NodeID(ni NodeIndex) NodeID { return r.g.nodes[ni].id }

// Channels returns the channels of node ni.
func (r Reader) Channels(ni NodeIndex) []ChannelIndex { return r.g.adj[ni] }

// Edge returns the channel at ci.
func (r Reader) Edge(ci ChannelIndex) *Edge { return &r.g.edges[ci] }

// EdgeBySCID returns the channel with the given short channel id.
func (r Reader) EdgeBySCID(scid lnwire.ShortChannelID) (*Edge, bool) {
	ci, ok := r.g.chanIdx[scid.ToUint64()]
	if !ok {
		return nil, false
	}
	return &r.g.edges[ci], true
}

// NodeFeatures returns the features of a node's announcement, or nil when
// it has none.
func (r Reader) NodeFeatures(ni NodeIndex) *lnwire.FeatureVector {
	if info := r.g.nodes[ni].info; info != nil {
		return lnwire.NewFeatureVectorFromBytes(info.features)
	}
	return nil
}

// Nodes returns a snapshot of every node, for display.
func (g *Graph) Nodes() []Node {
	g.mu.RLock()
	defer g.mu.RUnlock()
	out := make([]Node, 0, len(g.nodeIdx))
	for ni := range g.nodes {
		if g.nodes[ni].alive {
			out = append(out, g.nodeSnapshot(NodeIndex(ni)))
		}
	}
	return out
}

// Node returns a snapshot of one node.
func (g *Graph) Node(id NodeID) (Node, bool) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	ni, ok := g.nodeIdx[id]
	if !ok {
		return Node{}, false
	}
	return g.nodeSnapshot(ni), true
}

func (g *Graph) nodeSnapshot(ni NodeIndex) Node {
	n := &g.nodes[ni]
	out := Node{ID: n.id, Channels: len(g.adj[ni])}
	if info := n.info; info != nil {
		out.Timestamp = info.timestamp
		out.Alias = info.alias
		out.Color = info.color
		out.Features = lnwire.NewFeatureVectorFromBytes(info.features)
		// Addresses were checked when the announcement was validated;
		// a parse error here would mean none are usable.
		out.Addresses, _ = lnwire.ParseAddresses(info.addresses)
	}
	return out
}

// Channels returns a snapshot of every channel, for display.
func (g *Graph) Channels() []Channel {
	g.mu.RLock()
	defer g.mu.RUnlock()
	out := make([]Channel, len(g.edges))
	for ci := range g.edges {
		out[ci] = g.channelSnapshot(ChannelIndex(ci))
	}
	return out
}

// Channel returns a snapshot of one channel.
func (g *Graph) Channel(scid lnwire.ShortChannelID) (Channel, bool) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	ci, ok := g.chanIdx[scid.ToUint64()]
	if !ok {
		return Channel{}, false
	}
	return g.channelSnapshot(ci), true
}

func (g *Graph) channelSnapshot(ci ChannelIndex) Channel {
	e := &g.edges[ci]
	return Channel{
		ShortChannelID: e.ShortChannelID(),
		OutPoint:       g.outpoints[ci],
		Capacity:       int64(e.CapacityMsat.ToSatoshis()),
		Node1:          g.nodes[e.Nodes[0]].id,
		Node2:          g.nodes[e.Nodes[1]].id,
		Policies:       e.Policies,
	}
}
