package gossiper

import (
	"sort"
	"time"

	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/router/gossip"
)

// bucket is a token bucket: it holds up to burst tokens and gains rate
// tokens per second.
type bucket struct {
	tokens float64
	last   time.Time
}

func (b *bucket) take(now time.Time, rate float64, burst int) bool {
	b.refill(now, rate, burst)
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

func (b *bucket) refill(now time.Time, rate float64, burst int) {
	if dt := now.Sub(b.last).Seconds(); dt > 0 {
		b.tokens += dt * rate
		b.last = now
	}
	if b.tokens > float64(burst) {
		b.tokens = float64(burst)
	}
}

// takeUpdateToken charges one accepted update to a channel direction.
func (g *Gossiper) takeUpdateToken(k updKey, now time.Time) bool {
	b := g.updateBuckets[k]
	if b == nil {
		b = &bucket{tokens: float64(g.lim.ChannelUpdateBurst), last: now}
		g.updateBuckets[k] = b
	}
	rate := float64(g.lim.ChannelUpdateBurst) / g.lim.ChannelUpdateWindow.Seconds()
	return b.take(now, rate, g.lim.ChannelUpdateBurst)
}

// expireBuckets forgets the buckets that have refilled: a full bucket is
// the same as none, and dropping them keeps the map as small as the set
// of channels updated within one window.
func (g *Gossiper) expireBuckets(now time.Time) {
	rate := float64(g.lim.ChannelUpdateBurst) / g.lim.ChannelUpdateWindow.Seconds()
	for k, b := range g.updateBuckets {
		b.refill(now, rate, g.lim.ChannelUpdateBurst)
		if b.tokens >= float64(g.lim.ChannelUpdateBurst) {
			delete(g.updateBuckets, k)
		}
	}
}

// peerState is what the Gossiper knows of a connected peer.
type peerState struct {
	// queries is true when the peer negotiated gossip_queries: it then
	// gets gossip only within the filter it sent, and none before.
	queries bool
	filter  *gossip.GossipTimestampFilter
	// cursor is the sequence number of the next queue entry to consider.
	cursor   uint64
	rate     bucket
	score    int
	lastDump time.Time
	// sigsReplied names our channels whose announcement_signatures we
	// answered on this connection.
	sigsReplied map[uint64]bool
	// queryRate limits the gossip queries we answer.
	queryRate bucket
}

// receives reports whether relay sends to the peer at all: a peer that
// negotiated gossip_queries gets nothing before its filter.
func (p *peerState) receives() bool { return !p.queries || p.filter != nil }

func (g *Gossiper) addPeer(id NodeID, features *lnwire.FeatureVector, now time.Time) *peerState {
	p := &peerState{
		queries:     features == nil || features.HasFeature(lnwire.GossipQueries),
		cursor:      g.queue.next,
		rate:        bucket{tokens: float64(g.lim.RelayBurst), last: now},
		sigsReplied: make(map[uint64]bool),
		queryRate:   bucket{tokens: queryBurst, last: now},
	}
	g.peers[id] = p
	return p
}

// wants reports whether the peer should get entry e.
func (g *Gossiper) wants(p *peerState, e *entry, now time.Time) bool {
	if !p.queries {
		return true
	}
	if p.filter == nil {
		return false
	}
	if e.key.kind != kindChannel {
		return p.filter.Contains(e.ts)
	}
	// BOLT 7 times an announcement by its channel's updates.
	if ch, ok := g.cfg.Graph.Channel(lnwire.NewShortChanIDFromInt(e.key.scid)); ok {
		for _, pol := range ch.Policies {
			if pol.Timestamp != 0 && p.filter.Contains(pol.Timestamp) {
				return true
			}
		}
	}
	return p.filter.Contains(uint32(now.Unix()))
}

type relayKind uint8

const (
	kindChannel relayKind = iota
	kindUpdate
	kindNode
)

// relayKey names what a queued message describes; a newer message with
// the same key replaces the queued one.
type relayKey struct {
	kind relayKind
	dir  uint8
	scid uint64
	node NodeID
}

type entry struct {
	seq     uint64
	key     relayKey
	msg     lnwire.Message
	ts      uint32
	from    NodeID
	hasFrom bool
	dead    bool
}

// relayQueue holds accepted messages in acceptance order, which keeps
// each channel_announcement ahead of its updates. Entries are numbered;
// every peer has a cursor into the numbering, and an entry leaves the
// queue when every peer's cursor has passed it or the queue is full.
type relayQueue struct {
	entries []*entry
	byKey   map[relayKey]*entry
	next    uint64
	live    int
}

// push appends e, replacing the queued entry with the same key. A
// replaced entry moves to the tail, so that peers that already got the
// old one get the new one too.
func (q *relayQueue) push(g *Gossiper, e *entry) {
	if old := q.byKey[e.key]; old != nil {
		old.dead = true
		q.live--
	}
	e.seq = q.next
	q.next++
	q.entries = append(q.entries, e)
	q.byKey[e.key] = e
	q.live++
	for q.live > g.lim.MaxPending {
		q.dropOldest(g)
	}
	if len(q.entries) > 2*g.lim.MaxPending {
		q.compact()
	}
}

func (q *relayQueue) dropOldest(g *Gossiper) {
	for len(q.entries) > 0 {
		e := q.entries[0]
		q.entries[0] = nil
		q.entries = q.entries[1:]
		if e.dead {
			continue
		}
		q.remove(e)
		for _, p := range g.peers {
			if p.receives() && p.cursor <= e.seq {
				g.relayDropped++
			}
		}
		return
	}
}

func (q *relayQueue) remove(e *entry) {
	e.dead = true
	q.live--
	if q.byKey[e.key] == e {
		delete(q.byKey, e.key)
	}
}

// compact drops dead entries so that a flood of replacements cannot grow
// the slice past twice the live count.
func (q *relayQueue) compact() {
	kept := q.entries[:0]
	for _, e := range q.entries {
		if !e.dead {
			kept = append(kept, e)
		}
	}
	for i := len(kept); i < len(q.entries); i++ {
		q.entries[i] = nil
	}
	q.entries = kept
}

// dropChannel removes the queued messages of a channel that is gone.
func (q *relayQueue) dropChannel(scid uint64) {
	for _, kind := range []relayKind{kindChannel, kindUpdate} {
		for dir := uint8(0); dir < 2; dir++ {
			if e := q.byKey[relayKey{kind: kind, scid: scid, dir: dir}]; e != nil {
				q.remove(e)
			}
		}
	}
}

// flush sends every connected peer what its cursor has not passed, within
// its filter and its rate, then forgets the entries every peer has
// passed.
func (g *Gossiper) flush(now time.Time) {
	connected := g.cfg.Peers.Peers()
	sort.Slice(connected, func(i, j int) bool { return connected[i].Less(connected[j]) })
	q := &g.queue
	for _, id := range connected {
		p := g.peers[id]
		if p == nil {
			continue
		}
		if !p.receives() {
			// It gets the graph from the dump its filter triggers.
			p.cursor = q.next
			continue
		}
		p.rate.refill(now, g.lim.RelayRate, g.lim.RelayBurst)
		i := sort.Search(len(q.entries), func(i int) bool { return q.entries[i].seq >= p.cursor })
		for ; i < len(q.entries) && p.rate.tokens >= 1; i++ {
			e := q.entries[i]
			p.cursor = e.seq + 1
			if e.dead || (e.hasFrom && e.from == id) || !g.wants(p, e, now) {
				continue
			}
			p.rate.tokens--
			g.relayed++
			g.send(id, e.msg)
		}
		if i == len(q.entries) {
			p.cursor = q.next
		}
	}
	// Peers that left without PeerDisconnected hold nothing back.
	present := make(map[NodeID]bool, len(connected))
	for _, id := range connected {
		present[id] = true
	}
	minCursor := q.next
	for id, p := range g.peers {
		if present[id] && p.cursor < minCursor {
			minCursor = p.cursor
		}
	}
	n := 0
	for n < len(q.entries) && q.entries[n].seq < minCursor {
		if e := q.entries[n]; !e.dead {
			q.remove(e)
		}
		q.entries[n] = nil
		n++
	}
	q.entries = q.entries[n:]
}
