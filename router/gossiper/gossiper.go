package gossiper

import (
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"time"

	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/router/gossip"
	"github.com/flash-ln/flash/router/graph"
)

// errInternal marks failures of our own chain or database, which are not
// the peer's fault.
var errInternal = errors.New("internal failure")

// updKey names one direction of a channel.
type updKey struct {
	scid uint64
	dir  uint8
}

// held is a message waiting for its block or its channel.
type held struct {
	msg   lnwire.Message
	from  NodeID
	since time.Time
}

type outMsg struct {
	peer NodeID
	msg  lnwire.Message
}

// Gossiper validates, stores, relays and syncs BOLT 7 gossip. Create it
// with New.
type Gossiper struct {
	cfg  Config
	lim  Limits
	log  *slog.Logger
	now  func() time.Time
	self NodeID

	mu sync.Mutex
	// out collects messages to send once mu is released.
	out   []outMsg
	peers map[NodeID]*peerState
	// fullSynced names the peers asked for the whole history; at most
	// Limits.FullSyncPeers.
	fullSynced map[NodeID]bool
	queue      relayQueue

	premature     map[uint64]held
	orphanUpdates map[updKey]held
	orphanNodes   map[NodeID]held
	updateBuckets map[updKey]*bucket

	local           map[uint64]*localChannel
	nodeAnnounced   bool
	lastZombieCheck time.Time

	accepted     map[lnwire.MessageType]uint64
	rejected     map[Reason]uint64
	relayed      uint64
	relayDropped uint64
}

// New returns a Gossiper over cfg.
func New(cfg Config) (*Gossiper, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	g := &Gossiper{
		cfg:           cfg,
		lim:           cfg.Limits.withDefaults(),
		log:           cfg.Logger,
		now:           cfg.Now,
		self:          cfg.NodeKey.PubKey(),
		peers:         make(map[NodeID]*peerState),
		fullSynced:    make(map[NodeID]bool),
		premature:     make(map[uint64]held),
		orphanUpdates: make(map[updKey]held),
		orphanNodes:   make(map[NodeID]held),
		updateBuckets: make(map[updKey]*bucket),
		local:         make(map[uint64]*localChannel),
		accepted:      make(map[lnwire.MessageType]uint64),
		rejected:      make(map[Reason]uint64),
	}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	if g.now == nil {
		g.now = time.Now
	}
	g.queue.byKey = make(map[relayKey]*entry)
	return g, nil
}

// lock and unlock bracket every public method. unlock sends what the
// method queued, outside the lock.
func (g *Gossiper) lock() { g.mu.Lock() }

func (g *Gossiper) unlock() {
	out := g.out
	g.out = nil
	g.mu.Unlock()
	for _, o := range out {
		if err := g.cfg.Peers.Send(o.peer, o.msg); err != nil {
			g.log.Debug("gossip send failed", "peer", o.peer, "type", o.msg.MsgType(), "err", err)
		}
	}
}

func (g *Gossiper) send(peer NodeID, msg lnwire.Message) {
	g.out = append(g.out, outMsg{peer: peer, msg: msg})
}

// Stats returns the counters.
func (g *Gossiper) Stats() Stats {
	g.lock()
	defer g.unlock()
	s := Stats{
		Accepted:     make(map[lnwire.MessageType]uint64, len(g.accepted)),
		Rejected:     make(map[Reason]uint64, len(g.rejected)),
		Relayed:      g.relayed,
		RelayDropped: g.relayDropped,
		Queued:       g.queue.live,
		Held:         len(g.premature) + len(g.orphanUpdates) + len(g.orphanNodes),
	}
	for k, v := range g.accepted {
		s.Accepted[k] = v
	}
	for k, v := range g.rejected {
		s.Rejected[k] = v
	}
	return s
}

// Score returns a connected peer's misbehaviour score.
func (g *Gossiper) Score(peer NodeID) int {
	g.lock()
	defer g.unlock()
	if p := g.peers[peer]; p != nil {
		return p.score
	}
	return 0
}

// HandleMessage processes one message from a peer. The error, when not
// nil, says what was wrong with the message; Result says what to do about
// the peer. Messages that are not gossip are rejected as
// ReasonUnexpected without penalty.
func (g *Gossiper) HandleMessage(from NodeID, msg lnwire.Message) (Result, error) {
	g.lock()
	defer g.unlock()
	now := g.now()
	var (
		held bool
		err  error
	)
	if v := reflect.ValueOf(msg); v.Kind() == reflect.Pointer && v.IsNil() {
		msg = nil
	}
	switch m := msg.(type) {
	case nil:
		err = fmt.Errorf("%w: nil message", errUnexpected)
	case *gossip.ChannelAnnouncement:
		held, err = g.handleChannelAnnouncement(from, m, now)
	case *gossip.ChannelUpdate:
		held, err = g.handleChannelUpdate(from, m, now)
	case *gossip.NodeAnnouncement:
		held, err = g.handleNodeAnnouncement(from, m, now)
	case *gossip.GossipTimestampFilter:
		err = g.handleTimestampFilter(from, m, now)
	case *gossip.AnnouncementSignatures:
		err = g.handleAnnouncementSignatures(from, m, now)
	case *gossip.QueryChannelRange:
		err = g.handleQueryChannelRange(from, m, now)
	case *gossip.QueryShortChanIDs:
		err = g.handleQueryShortChanIDs(from, m, now)
	default:
		err = fmt.Errorf("%w: %v", errUnexpected, msg.MsgType())
	}
	return g.record(from, msg, held, err, true), err
}

var errUnexpected = errors.New("message not handled by the gossiper")

// record counts the outcome and charges the peer. Messages released from
// a hold were counted when they were held, so only their rejection is
// counted again, and their sender is charged only if still connected.
func (g *Gossiper) record(from NodeID, msg lnwire.Message, held bool, err error, direct bool) Result {
	if err == nil {
		if msg != nil && direct {
			g.accepted[msg.MsgType()]++
		}
		return Result{Accepted: true, Held: held}
	}
	r := classify(err)
	g.rejected[r]++
	res := Result{Reason: r, Penalty: r.penalty()}
	p := g.peers[from]
	if p == nil {
		if !direct {
			return res
		}
		p = g.addPeer(from, nil, time.Time{})
	}
	p.score += res.Penalty
	res.Score = p.score
	res.Disconnect = p.score >= g.lim.DisconnectScore
	if res.Penalty > 0 {
		g.log.Info("gossip rejected", "peer", from, "reason", r, "score", p.score, "err", err)
	} else {
		g.log.Debug("gossip ignored", "peer", from, "reason", r, "err", err)
	}
	return res
}

func classify(err error) Reason {
	switch {
	case errors.Is(err, errInternal), errors.Is(err, graph.ErrStorage):
		return ReasonInternal
	case errors.Is(err, errUnexpected):
		return ReasonUnexpected
	case errors.Is(err, errRateLimited):
		return ReasonRateLimited
	case errors.Is(err, errPremature):
		return ReasonPremature
	case errors.Is(err, gossip.ErrWrongChain):
		return ReasonWrongChain
	case errors.Is(err, gossip.ErrBadSignature):
		return ReasonBadSignature
	case errors.Is(err, gossip.ErrFarFuture):
		return ReasonFarFuture
	case errors.Is(err, gossip.ErrFundingMissing):
		return ReasonFundingMissing
	case errors.Is(err, gossip.ErrFundingScript):
		return ReasonFundingScript
	case errors.Is(err, graph.ErrStale):
		return ReasonStale
	case errors.Is(err, graph.ErrDuplicate), errors.Is(err, graph.ErrDuplicateChannel):
		return ReasonDuplicate
	case errors.Is(err, graph.ErrConflict):
		return ReasonConflict
	case errors.Is(err, graph.ErrUnknownChannel):
		return ReasonUnknownChannel
	case errors.Is(err, graph.ErrUnknownNode):
		return ReasonUnknownNode
	}
	// Node order, invalid keys, bad addresses, fields too long to
	// encode: all things an honest sender never produces.
	return ReasonMalformed
}

var (
	errRateLimited = errors.New("channel update rate exceeded")
	errPremature   = errors.New("funding block beyond our chain tip")
)

func (g *Gossiper) checkSkew(ts uint32, now time.Time) error {
	if int64(ts) > now.Add(g.lim.MaxFutureSkew).Unix() {
		return fmt.Errorf("%w: %d is past %d", gossip.ErrFarFuture, ts, now.Unix())
	}
	return nil
}

// holdSlot makes room in a hold of at most MaxPending entries by
// evicting an arbitrary one, so a flood of orphans cannot choose what it
// pushes out.
func holdSlot[K comparable](m map[K]held, limit int) {
	for k := range m {
		if len(m) < limit {
			return
		}
		delete(m, k)
	}
}

func (g *Gossiper) handleChannelAnnouncement(from NodeID, m *gossip.ChannelAnnouncement, now time.Time) (bool, error) {
	scid := m.ShortChannelID
	if m.ChainHash != g.cfg.ChainHash {
		return false, fmt.Errorf("channel_announcement %v: %w", scid, gossip.ErrWrongChain)
	}
	if g.cfg.Graph.HasChannel(scid) {
		return false, fmt.Errorf("channel_announcement %v: %w", scid, graph.ErrDuplicateChannel)
	}
	if _, ok := g.premature[scid.ToUint64()]; ok {
		return false, fmt.Errorf("channel_announcement %v: %w", scid, graph.ErrDuplicateChannel)
	}
	if err := gossip.ValidateChannelAnnouncement(m, g.cfg.ChainHash); err != nil {
		return false, err
	}
	if best := g.cfg.Chain.BestHeight(); scid.BlockHeight > best {
		if scid.BlockHeight-best > g.lim.MaxPrematureBlocks {
			return false, fmt.Errorf("channel_announcement %v: %w: tip %d", scid, errPremature, best)
		}
		holdSlot(g.premature, g.lim.MaxPending)
		g.premature[scid.ToUint64()] = held{msg: m, from: from, since: now}
		return true, nil
	}
	return false, g.addChannel(from, m, now)
}

// addChannel checks the funding of an announcement whose signatures
// passed, stores it, queues it for relay and releases what waited for it.
func (g *Gossiper) addChannel(from NodeID, m *gossip.ChannelAnnouncement, now time.Time) error {
	f, err := gossip.ValidateFunding(m, g.cfg.Chain, g.cfg.Chain.FetchUtxo)
	if err != nil {
		if !errors.Is(err, gossip.ErrFundingMissing) && !errors.Is(err, gossip.ErrFundingScript) {
			err = fmt.Errorf("%w: %w", errInternal, err)
		}
		return err
	}
	if err := g.cfg.Graph.AddChannel(m, f); err != nil {
		return err
	}
	g.queue.push(g, &entry{key: relayKey{kind: kindChannel, scid: m.ShortChannelID.ToUint64()},
		msg: m, from: from, hasFrom: from != g.self})
	if lc := g.local[m.ShortChannelID.ToUint64()]; lc != nil && !lc.announced && !lc.info.Private {
		// Our own channel, announced by the peer before our exchange
		// finished here.
		if err := g.markAnnounced(lc); err != nil {
			g.log.Warn("own channel announced by gossip", "scid", m.ShortChannelID, "err", err)
		}
	}
	g.releaseOrphans(m, now)
	return nil
}

// releaseOrphans applies the updates and node announcements that arrived
// before channel m.
func (g *Gossiper) releaseOrphans(m *gossip.ChannelAnnouncement, now time.Time) {
	scid := m.ShortChannelID.ToUint64()
	for dir := uint8(0); dir < 2; dir++ {
		k := updKey{scid, dir}
		if h, ok := g.orphanUpdates[k]; ok {
			delete(g.orphanUpdates, k)
			_, err := g.handleChannelUpdate(h.from, h.msg.(*gossip.ChannelUpdate), now)
			g.record(h.from, h.msg, false, err, false)
		}
	}
	for _, id := range []NodeID{m.NodeID1, m.NodeID2} {
		if h, ok := g.orphanNodes[id]; ok {
			delete(g.orphanNodes, id)
			_, err := g.handleNodeAnnouncement(h.from, h.msg.(*gossip.NodeAnnouncement), now)
			g.record(h.from, h.msg, false, err, false)
		}
	}
}

func (g *Gossiper) handleChannelUpdate(from NodeID, m *gossip.ChannelUpdate, now time.Time) (bool, error) {
	scid, dir := m.ShortChannelID, uint8(m.ChannelFlags.Direction())
	if m.ChainHash != g.cfg.ChainHash {
		return false, fmt.Errorf("channel_update %v: %w", scid, gossip.ErrWrongChain)
	}
	if err := g.checkSkew(m.Timestamp, now); err != nil {
		return false, fmt.Errorf("channel_update %v/%d: %w", scid, dir, err)
	}
	ch, ok := g.cfg.Graph.Channel(scid)
	if !ok {
		if lc := g.local[scid.ToUint64()]; lc != nil && lc.info.Peer == from {
			return false, g.handlePeerUpdate(lc, m, now)
		}
		k := updKey{scid.ToUint64(), dir}
		if old, ok := g.orphanUpdates[k]; ok && old.msg.(*gossip.ChannelUpdate).Timestamp >= m.Timestamp {
			return false, fmt.Errorf("channel_update %v/%d: %w", scid, dir, graph.ErrStale)
		}
		if _, ok := g.premature[k.scid]; !ok && len(g.orphanUpdates) >= g.lim.MaxPending {
			// The channel is not on its way: the update is as likely
			// to be junk as a race, and the hold is full.
			return false, fmt.Errorf("channel_update %v/%d: %w", scid, dir, graph.ErrUnknownChannel)
		}
		holdSlot(g.orphanUpdates, g.lim.MaxPending)
		g.orphanUpdates[k] = held{msg: m, from: from, since: now}
		return true, nil
	}
	// Staleness first: it needs no signature check, and stale updates
	// are the common case when several peers relay the same news.
	if m.Timestamp < ch.Policies[dir].Timestamp {
		return false, fmt.Errorf("channel_update %v/%d: %w: %d < %d", scid, dir, graph.ErrStale,
			m.Timestamp, ch.Policies[dir].Timestamp)
	}
	signer := ch.Node1
	if dir == 1 {
		signer = ch.Node2
	}
	if err := gossip.ValidateChannelUpdate(m, signer, g.cfg.ChainHash, now); err != nil {
		return false, err
	}
	k := updKey{scid.ToUint64(), dir}
	if m.Timestamp > ch.Policies[dir].Timestamp && signer != g.self && !g.takeUpdateToken(k, now) {
		return false, fmt.Errorf("channel_update %v/%d: %w", scid, dir, errRateLimited)
	}
	if err := g.cfg.Graph.ApplyChannelUpdate(m); err != nil {
		return false, err
	}
	if m.MessageFlags&gossip.MsgFlagDontForward == 0 {
		g.queue.push(g, &entry{key: relayKey{kind: kindUpdate, scid: k.scid, dir: dir},
			msg: m, ts: m.Timestamp, from: from, hasFrom: from != g.self})
	}
	return false, nil
}

func (g *Gossiper) handleNodeAnnouncement(from NodeID, m *gossip.NodeAnnouncement, now time.Time) (bool, error) {
	if err := g.checkSkew(m.Timestamp, now); err != nil {
		return false, fmt.Errorf("node_announcement %v: %w", m.NodeID, err)
	}
	n, ok := g.cfg.Graph.Node(m.NodeID)
	if !ok {
		if old, ok := g.orphanNodes[m.NodeID]; ok && old.msg.(*gossip.NodeAnnouncement).Timestamp >= m.Timestamp {
			return false, fmt.Errorf("node_announcement %v: %w", m.NodeID, graph.ErrStale)
		}
		if len(g.premature) == 0 && len(g.orphanNodes) >= g.lim.MaxPending {
			return false, fmt.Errorf("node_announcement %v: %w", m.NodeID, graph.ErrUnknownNode)
		}
		holdSlot(g.orphanNodes, g.lim.MaxPending)
		g.orphanNodes[m.NodeID] = held{msg: m, from: from, since: now}
		return true, nil
	}
	if m.Timestamp < n.Timestamp {
		return false, fmt.Errorf("node_announcement %v: %w: %d < %d", m.NodeID, graph.ErrStale, m.Timestamp, n.Timestamp)
	}
	if m.Timestamp == n.Timestamp {
		return false, fmt.Errorf("node_announcement %v: %w", m.NodeID, graph.ErrDuplicate)
	}
	if err := gossip.ValidateNodeAnnouncement(m, now); err != nil {
		return false, err
	}
	if err := g.cfg.Graph.ApplyNodeAnnouncement(m); err != nil {
		return false, err
	}
	g.queue.push(g, &entry{key: relayKey{kind: kindNode, node: m.NodeID},
		msg: m, ts: m.Timestamp, from: from, hasFrom: from != g.self})
	return false, nil
}

// Tick does what is due at now: it retries premature announcements
// whose block has arrived, expires holds, and sends the relay queue. The
// daemon calls it periodically (every few hundred milliseconds to a few
// seconds) and after each new block.
func (g *Gossiper) Tick(now time.Time) {
	g.lock()
	defer g.unlock()
	g.retryHeld(now)
	g.retryLocal()
	g.refreshLocal(now)
	g.pruneZombies(now)
	g.flush(now)
	g.expireBuckets(now)
}

// BOLT 7 lets nodes forget a channel whose latest update is two weeks
// old, so an idle channel of ours must be re-announced well before that.
const (
	zombieAge      = 14 * 24 * time.Hour
	refreshAge     = 7 * 24 * time.Hour
	zombieInterval = time.Hour
)

// refreshLocal re-signs the updates of our idle announced channels.
func (g *Gossiper) refreshLocal(now time.Time) {
	cutoff := now.Add(-refreshAge).Unix()
	for _, lc := range g.local {
		if lc.announced && lc.last != nil && int64(lc.last.Timestamp) < cutoff {
			if err := g.publishUpdate(lc); err != nil {
				g.log.Warn("refresh own channel_update", "scid", lc.info.ShortChannelID, "err", err)
			}
		}
	}
}

// pruneZombies forgets, at most once per zombieInterval, the channels
// whose newest update is older than zombieAge. Channels with no update at
// all are kept: their age is unknown, and they are unusable anyway.
func (g *Gossiper) pruneZombies(now time.Time) {
	if now.Sub(g.lastZombieCheck) < zombieInterval {
		return
	}
	g.lastZombieCheck = now
	cutoff := now.Add(-zombieAge).Unix()
	for _, ch := range g.cfg.Graph.Channels() {
		newest := max(ch.Policies[0].Timestamp, ch.Policies[1].Timestamp)
		if newest == 0 || int64(newest) >= cutoff || g.local[ch.ShortChannelID.ToUint64()] != nil {
			continue
		}
		if err := g.prune(ch.ShortChannelID); err != nil {
			g.log.Warn("prune zombie channel", "scid", ch.ShortChannelID, "err", err)
			return
		}
		g.log.Debug("pruned zombie channel", "scid", ch.ShortChannelID)
	}
}

// Flush is Tick at the configured clock's now.
func (g *Gossiper) Flush() { g.Tick(g.now()) }

func (g *Gossiper) retryHeld(now time.Time) {
	best := g.cfg.Chain.BestHeight()
	for k, h := range g.premature {
		m := h.msg.(*gossip.ChannelAnnouncement)
		switch {
		case m.ShortChannelID.BlockHeight <= best:
			delete(g.premature, k)
			g.record(h.from, m, false, g.addChannel(h.from, m, now), false)
		case now.Sub(h.since) > g.lim.HoldTime:
			delete(g.premature, k)
			g.record(h.from, m, false, fmt.Errorf("channel_announcement %v: %w", m.ShortChannelID, errPremature), false)
		}
	}
	for k, h := range g.orphanUpdates {
		if now.Sub(h.since) > g.lim.HoldTime {
			delete(g.orphanUpdates, k)
			g.rejected[ReasonUnknownChannel]++
		}
	}
	for k, h := range g.orphanNodes {
		if now.Sub(h.since) > g.lim.HoldTime {
			delete(g.orphanNodes, k)
			g.rejected[ReasonUnknownNode]++
		}
	}
}
