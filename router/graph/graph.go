package graph

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/btcsuite/btcd/wire"
	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/router/gossip"
	"go.etcd.io/bbolt"
)

// Errors of applying gossip to the graph. None of them means the peer
// misbehaved by itself: gossip races, so stale and duplicate messages are
// routine. The caller counts them and decides.
var (
	// ErrUnknownChannel is returned for an update of a channel the graph
	// does not hold.
	ErrUnknownChannel = errors.New("unknown channel")
	// ErrUnknownNode is returned for a node_announcement of a node that
	// has no channel: BOLT 7 ignores those to bound what a stranger can
	// make us store.
	ErrUnknownNode = errors.New("node has no announced channel")
	// ErrDuplicateChannel is returned for an announcement of a channel
	// the graph already holds.
	ErrDuplicateChannel = errors.New("channel already known")
	// ErrStale is returned for a message whose timestamp is older than
	// the one the graph holds.
	ErrStale = errors.New("stale timestamp")
	// ErrDuplicate is returned for a message with the same timestamp and
	// content as the one the graph holds.
	ErrDuplicate = errors.New("duplicate message")
	// ErrConflict is returned for a channel_update that repeats the last
	// timestamp with a different policy, which BOLT 7 allows the
	// receiver to treat as misbehaviour of the signer.
	ErrConflict = errors.New("different policy with the same timestamp")
	// ErrStorage marks a failure of the database rather than of the
	// message; nothing was applied.
	ErrStorage = errors.New("graph storage")
)

// nodeInfo is what a node_announcement adds to a node. It is kept out of
// the node record so that nodes known only from channels cost nothing.
type nodeInfo struct {
	timestamp uint32
	color     [3]byte
	alias     string
	features  []byte
	addresses []byte
}

type nodeEntry struct {
	id    NodeID
	alive bool
	info  *nodeInfo
}

// Graph is the channel graph. It is safe for concurrent use: any number of
// pathfinding readers run in parallel, and writers wait for them.
type Graph struct {
	db  *bbolt.DB // nil for a graph kept in memory only
	log *slog.Logger

	mu        sync.RWMutex
	nodes     []nodeEntry
	adj       [][]ChannelIndex // by NodeIndex: the node's channels
	nodeIdx   map[NodeID]NodeIndex
	freeNodes []NodeIndex

	edges     []Edge
	outpoints []wire.OutPoint // by ChannelIndex, off the hot path
	chanIdx   map[uint64]ChannelIndex
	opIdx     map[wire.OutPoint]ChannelIndex
}

// New returns an empty graph that is kept in memory only.
func New(log *slog.Logger) *Graph {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Graph{
		log:     log,
		nodeIdx: make(map[NodeID]NodeIndex),
		chanIdx: make(map[uint64]ChannelIndex),
		opIdx:   make(map[wire.OutPoint]ChannelIndex),
	}
}

// Open loads the graph stored in db, creating its bucket if needed. Every
// later change is written to db before it is applied in memory.
func Open(db *bbolt.DB, log *slog.Logger) (*Graph, error) {
	g := New(log)
	if err := g.load(db); err != nil {
		return nil, fmt.Errorf("load graph: %w", err)
	}
	g.db = db
	g.log.Info("graph loaded", "nodes", len(g.nodeIdx), "channels", len(g.edges))
	return g, nil
}

// NumNodes returns the number of nodes.
func (g *Graph) NumNodes() int {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return len(g.nodeIdx)
}

// NumChannels returns the number of channels.
func (g *Graph) NumChannels() int {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return len(g.edges)
}

// AddChannel adds a channel from an announcement that has passed
// gossip.ValidateChannelAnnouncement and gossip.ValidateFunding, whose
// result f supplies the outpoint and capacity.
func (g *Graph) AddChannel(ann *gossip.ChannelAnnouncement, f gossip.Funding) error {
	return g.write(func(tx *bbolt.Tx) error { return g.addChannel(tx, ann, f) })
}

// write runs fn, which changes the in-memory index and writes the same
// change to tx, under the write lock, and commits before any reader can
// see the change. If the commit fails the index is rebuilt from the
// database, so memory never runs ahead of the disk.
func (g *Graph) write(fn func(tx *bbolt.Tx) error) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.db == nil {
		return fn(nil)
	}
	tx, err := g.db.Begin(true)
	if err != nil {
		return fmt.Errorf("graph: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		if errors.Is(err, ErrStorage) {
			// A batch may have changed memory before the step
			// that failed.
			return g.reload(err)
		}
		// Otherwise fn checked before it changed anything.
		return err
	}
	if err := tx.Commit(); err != nil {
		return g.reload(fmt.Errorf("graph: commit: %w", err))
	}
	return nil
}

// reload rebuilds the index from the database after a failed commit and
// returns cause.
func (g *Graph) reload(cause error) error {
	fresh := New(g.log)
	if err := fresh.load(g.db); err != nil {
		g.log.Error("graph reload failed after a failed commit", "err", err)
		return errors.Join(cause, err)
	}
	g.nodes, g.adj, g.nodeIdx, g.freeNodes = fresh.nodes, fresh.adj, fresh.nodeIdx, fresh.freeNodes
	g.edges, g.outpoints, g.chanIdx, g.opIdx = fresh.edges, fresh.outpoints, fresh.chanIdx, fresh.opIdx
	return cause
}

func (g *Graph) addChannel(tx *bbolt.Tx, ann *gossip.ChannelAnnouncement, f gossip.Funding) error {
	scid := ann.ShortChannelID.ToUint64()
	if f.Capacity < 0 {
		return fmt.Errorf("add channel %v: negative capacity", ann.ShortChannelID)
	}
	if ann.NodeID1 == ann.NodeID2 {
		return fmt.Errorf("add channel %v: %w", ann.ShortChannelID, gossip.ErrNodeOrder)
	}
	if _, ok := g.chanIdx[scid]; ok {
		return fmt.Errorf("add channel %v: %w", ann.ShortChannelID, ErrDuplicateChannel)
	}
	if _, ok := g.opIdx[f.OutPoint]; ok {
		return fmt.Errorf("add channel %v: outpoint %v: %w", ann.ShortChannelID, f.OutPoint, ErrDuplicateChannel)
	}
	rec := channelRecord{
		node1: ann.NodeID1, node2: ann.NodeID2, capacity: f.Capacity, outpoint: f.OutPoint,
	}
	if tx != nil {
		if err := putChannel(tx, scid, &rec, ann); err != nil {
			return fmt.Errorf("add channel %v: %w: %w", ann.ShortChannelID, ErrStorage, err)
		}
	}
	g.insertChannel(scid, &rec)
	return nil
}

// insertChannel adds a channel to the in-memory index.
func (g *Graph) insertChannel(scid uint64, rec *channelRecord) {
	ci := ChannelIndex(len(g.edges))
	n1, n2 := g.nodeFor(rec.node1), g.nodeFor(rec.node2)
	g.edges = append(g.edges, Edge{
		SCID:         scid,
		CapacityMsat: lnwire.NewMSatFromSatoshis(uint64(rec.capacity)),
		Nodes:        [2]NodeIndex{n1, n2},
		Policies:     rec.policies,
	})
	g.outpoints = append(g.outpoints, rec.outpoint)
	g.chanIdx[scid] = ci
	g.opIdx[rec.outpoint] = ci
	g.adj[n1] = append(g.adj[n1], ci)
	g.adj[n2] = append(g.adj[n2], ci)
}

// nodeFor returns the index of id, creating the node if needed.
func (g *Graph) nodeFor(id NodeID) NodeIndex {
	if ni, ok := g.nodeIdx[id]; ok {
		return ni
	}
	var ni NodeIndex
	if n := len(g.freeNodes); n > 0 {
		ni = g.freeNodes[n-1]
		g.freeNodes = g.freeNodes[:n-1]
		g.nodes[ni] = nodeEntry{id: id, alive: true}
	} else {
		ni = NodeIndex(len(g.nodes))
		g.nodes = append(g.nodes, nodeEntry{id: id, alive: true})
		g.adj = append(g.adj, nil)
	}
	g.nodeIdx[id] = ni
	return ni
}

// ChannelNodes returns the two nodes of a channel, node_id_1 first: the
// keys that sign its updates in directions 0 and 1.
func (g *Graph) ChannelNodes(scid lnwire.ShortChannelID) (node1, node2 NodeID, ok bool) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	ci, ok := g.chanIdx[scid.ToUint64()]
	if !ok {
		return node1, node2, false
	}
	e := &g.edges[ci]
	return g.nodes[e.Nodes[0]].id, g.nodes[e.Nodes[1]].id, true
}

// HasChannel reports whether the graph holds the channel.
func (g *Graph) HasChannel(scid lnwire.ShortChannelID) bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	_, ok := g.chanIdx[scid.ToUint64()]
	return ok
}

// ChannelByOutPoint returns the channel funded by op, so that a spend of
// the funding output can be turned into PruneChannel.
func (g *Graph) ChannelByOutPoint(op wire.OutPoint) (lnwire.ShortChannelID, bool) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	ci, ok := g.opIdx[op]
	if !ok {
		return lnwire.ShortChannelID{}, false
	}
	return g.edges[ci].ShortChannelID(), true
}

// ApplyChannelUpdate stores a channel_update that has passed
// gossip.ValidateChannelUpdate with the key ChannelNodes returned for its
// direction. Updates older than the stored one fail with ErrStale, equal
// ones with ErrDuplicate or ErrConflict.
func (g *Graph) ApplyChannelUpdate(u *gossip.ChannelUpdate) error {
	return g.write(func(tx *bbolt.Tx) error { return g.applyUpdate(tx, u) })
}

func (g *Graph) applyUpdate(tx *bbolt.Tx, u *gossip.ChannelUpdate) error {
	scid := u.ShortChannelID.ToUint64()
	dir := u.ChannelFlags.Direction()
	ci, ok := g.chanIdx[scid]
	if !ok {
		return fmt.Errorf("channel_update %v: %w", u.ShortChannelID, ErrUnknownChannel)
	}
	e := &g.edges[ci]
	old := e.Policies[dir]
	pol := PolicyFromUpdate(u)
	switch {
	case u.Timestamp < old.Timestamp:
		return fmt.Errorf("channel_update %v/%d: %w: %d < %d", u.ShortChannelID, dir, ErrStale, u.Timestamp, old.Timestamp)
	case u.Timestamp == old.Timestamp && pol == old:
		return fmt.Errorf("channel_update %v/%d: %w", u.ShortChannelID, dir, ErrDuplicate)
	case u.Timestamp == old.Timestamp:
		return fmt.Errorf("channel_update %v/%d: %w", u.ShortChannelID, dir, ErrConflict)
	}
	if tx != nil {
		rec := g.recordOf(ci)
		rec.policies[dir] = pol
		if err := putUpdate(tx, scid, &rec, u); err != nil {
			return fmt.Errorf("channel_update %v/%d: %w: %w", u.ShortChannelID, dir, ErrStorage, err)
		}
	}
	e.Policies[dir] = pol
	return nil
}

// recordOf returns the stored form of channel ci.
func (g *Graph) recordOf(ci ChannelIndex) channelRecord {
	e := &g.edges[ci]
	return channelRecord{
		node1:    g.nodes[e.Nodes[0]].id,
		node2:    g.nodes[e.Nodes[1]].id,
		capacity: int64(e.CapacityMsat.ToSatoshis()),
		outpoint: g.outpoints[ci],
		policies: e.Policies,
	}
}

// ApplyNodeAnnouncement stores a node_announcement that has passed
// gossip.ValidateNodeAnnouncement. The node must have a channel, and the
// timestamp must be newer than the stored one.
func (g *Graph) ApplyNodeAnnouncement(a *gossip.NodeAnnouncement) error {
	return g.write(func(tx *bbolt.Tx) error { return g.applyNode(tx, a) })
}

func (g *Graph) applyNode(tx *bbolt.Tx, a *gossip.NodeAnnouncement) error {
	ni, ok := g.nodeIdx[a.NodeID]
	if !ok {
		return fmt.Errorf("node_announcement %v: %w", a.NodeID, ErrUnknownNode)
	}
	if old := g.nodes[ni].info; old != nil {
		if a.Timestamp < old.timestamp {
			return fmt.Errorf("node_announcement %v: %w: %d < %d", a.NodeID, ErrStale, a.Timestamp, old.timestamp)
		}
		if a.Timestamp == old.timestamp {
			return fmt.Errorf("node_announcement %v: %w", a.NodeID, ErrDuplicate)
		}
	}
	info := &nodeInfo{
		timestamp: a.Timestamp,
		color:     a.RGBColor,
		alias:     a.AliasString(),
		features:  append([]byte{}, a.RawFeatures...),
		addresses: append([]byte{}, a.RawAddresses...),
	}
	if tx != nil {
		if err := putNode(tx, a.NodeID, info, a); err != nil {
			return fmt.Errorf("node_announcement %v: %w: %w", a.NodeID, ErrStorage, err)
		}
	}
	g.nodes[ni].info = info
	return nil
}

// PruneChannel forgets a channel, typically because its funding output
// was spent, and with it every node left without a channel.
func (g *Graph) PruneChannel(scid lnwire.ShortChannelID) error {
	return g.write(func(tx *bbolt.Tx) error { return g.prune(tx, scid) })
}

func (g *Graph) prune(tx *bbolt.Tx, scid lnwire.ShortChannelID) error {
	ci, ok := g.chanIdx[scid.ToUint64()]
	if !ok {
		return fmt.Errorf("prune %v: %w", scid, ErrUnknownChannel)
	}
	if tx != nil {
		var orphans []NodeID
		for _, ni := range g.edges[ci].Nodes {
			if len(g.adj[ni]) == 1 {
				orphans = append(orphans, g.nodes[ni].id)
			}
		}
		if err := deleteChannel(tx, scid.ToUint64(), orphans); err != nil {
			return fmt.Errorf("prune %v: %w: %w", scid, ErrStorage, err)
		}
	}
	g.removeChannel(ci)
	return nil
}

// removeChannel deletes channel ci from memory by moving the last channel
// into its slot, so that the edge slice stays dense for pathfinding.
func (g *Graph) removeChannel(ci ChannelIndex) {
	e := g.edges[ci]
	for _, ni := range e.Nodes {
		g.adj[ni] = removeIndex(g.adj[ni], ci)
		if len(g.adj[ni]) == 0 && g.nodes[ni].alive {
			delete(g.nodeIdx, g.nodes[ni].id)
			g.nodes[ni] = nodeEntry{}
			g.adj[ni] = nil
			g.freeNodes = append(g.freeNodes, ni)
		}
	}
	delete(g.chanIdx, e.SCID)
	delete(g.opIdx, g.outpoints[ci])
	last := ChannelIndex(len(g.edges) - 1)
	if ci != last {
		moved := g.edges[last]
		g.edges[ci] = moved
		g.outpoints[ci] = g.outpoints[last]
		g.chanIdx[moved.SCID] = ci
		g.opIdx[g.outpoints[ci]] = ci
		for _, ni := range moved.Nodes {
			for i, c := range g.adj[ni] {
				if c == last {
					g.adj[ni][i] = ci
				}
			}
		}
	}
	g.edges = g.edges[:last]
	g.outpoints = g.outpoints[:last]
}

func removeIndex(s []ChannelIndex, ci ChannelIndex) []ChannelIndex {
	for i, c := range s {
		if c == ci {
			s[i] = s[len(s)-1]
			return s[:len(s)-1]
		}
	}
	return s
}
