package gossiper

import (
	"errors"
	"fmt"
	"time"

	"github.com/btcsuite/btcd/wire"
	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/router/gossip"
	"github.com/flash-ln/flash/router/graph"
)

// AnnounceDepth is the number of confirmations after which BOLT 7 lets a
// channel be announced.
const AnnounceDepth = 6

// Policy is our forwarding policy for one of our channels.
type Policy struct {
	FeeBaseMsat     uint32
	FeeRatePPM      uint32
	CltvExpiryDelta uint16
	HTLCMinimumMsat lnwire.MilliSatoshi
	HTLCMaximumMsat lnwire.MilliSatoshi
}

// LocalChannel describes one of our channels to the Gossiper.
type LocalChannel struct {
	ShortChannelID lnwire.ShortChannelID
	ChannelID      lnwire.ChannelID
	// Peer is the other node.
	Peer NodeID
	// BitcoinKey is our funding key, PeerBitcoinKey the peer's.
	BitcoinKey     Signer
	PeerBitcoinKey NodeID
	Policy         Policy
	// Private channels are never announced; their channel_update goes
	// to the peer alone, for the route hints of its invoices.
	Private bool
	// Features is the channel_announcement's features field.
	Features []byte
}

type localChannel struct {
	info     LocalChannel
	ann      *gossip.ChannelAnnouncement // ours signed; the peer's once received
	dir      uint8
	depth    uint32
	sentSigs bool
	peerSigs bool
	// announced is true once the channel is in the graph.
	announced bool
	disabled  bool
	last      *gossip.ChannelUpdate // our latest update
	// peerUpdate is the peer's latest update while the channel is not
	// in the graph (private, or not announced yet).
	peerUpdate *gossip.ChannelUpdate
}

// Errors of the local channel API.
var (
	// ErrUnknownLocalChannel is returned for a channel the Gossiper was
	// not told about with AnnounceChannel.
	ErrUnknownLocalChannel = errors.New("not a local channel")
)

// AnnounceChannel registers one of our channels once it is usable (after
// channel_ready), and again at every start. A public channel is
// announced once ChannelDepth reports AnnounceDepth confirmations and
// the peer's announcement_signatures have arrived; a channel already in
// the graph is not announced again. Our channel_update is sent to the
// peer at once in every case.
func (g *Gossiper) AnnounceChannel(c LocalChannel) error {
	g.lock()
	defer g.unlock()
	scid := c.ShortChannelID
	if c.Peer == g.self {
		return fmt.Errorf("announce channel %v: peer is ourselves", scid)
	}
	if c.BitcoinKey == nil {
		return fmt.Errorf("announce channel %v: no funding key", scid)
	}
	ann := gossip.NewChannelAnnouncement(g.cfg.ChainHash, scid, c.Features,
		g.self, c.Peer, c.BitcoinKey.PubKey(), c.PeerBitcoinKey)
	lc := &localChannel{info: c, ann: ann}
	if ann.NodeID2 == g.self {
		lc.dir = 1
	}
	if old := g.local[scid.ToUint64()]; old != nil {
		lc.depth, lc.disabled, lc.last = old.depth, old.disabled, old.last
		if old.info.Peer == c.Peer && old.info.PeerBitcoinKey == c.PeerBitcoinKey && !c.Private {
			// Keep the peer's signatures and how far the exchange
			// went; our half is signed again below, identically.
			lc.ann, lc.sentSigs, lc.peerSigs = old.ann, old.sentSigs, old.peerSigs
		}
	}
	if ch, ok := g.cfg.Graph.Channel(scid); ok && !c.Private {
		lc.announced = true
		if lc.last == nil {
			// Our update from a previous run: carry on after its
			// timestamp so that the next one is not stale.
			lc.last = &gossip.ChannelUpdate{Timestamp: ch.Policies[lc.dir].Timestamp}
		}
	}
	if !c.Private {
		h, err := ann.SigHash()
		if err != nil {
			return fmt.Errorf("announce channel %v: %w", scid, err)
		}
		if err := g.signOurHalf(lc, h); err != nil {
			return fmt.Errorf("announce channel %v: %w", scid, err)
		}
	}
	g.local[scid.ToUint64()] = lc
	if err := g.publishUpdate(lc); err != nil {
		return fmt.Errorf("announce channel %v: %w", scid, err)
	}
	g.advance(lc)
	return nil
}

func (g *Gossiper) signOurHalf(lc *localChannel, h [32]byte) error {
	nodeSig, err := g.cfg.NodeKey.SignHash(h)
	if err != nil {
		return fmt.Errorf("sign with node key: %w", err)
	}
	btcSig, err := lc.info.BitcoinKey.SignHash(h)
	if err != nil {
		return fmt.Errorf("sign with funding key: %w", err)
	}
	if lc.dir == 0 {
		lc.ann.NodeSig1, lc.ann.BitcoinSig1 = nodeSig, btcSig
	} else {
		lc.ann.NodeSig2, lc.ann.BitcoinSig2 = nodeSig, btcSig
	}
	return nil
}

func (g *Gossiper) ourSigs(lc *localChannel) *gossip.AnnouncementSignatures {
	as := &gossip.AnnouncementSignatures{ChannelID: lc.info.ChannelID, ShortChannelID: lc.info.ShortChannelID}
	if lc.dir == 0 {
		as.NodeSignature, as.BitcoinSignature = lc.ann.NodeSig1, lc.ann.BitcoinSig1
	} else {
		as.NodeSignature, as.BitcoinSignature = lc.ann.NodeSig2, lc.ann.BitcoinSig2
	}
	return as
}

// ChannelDepth tells the Gossiper how many confirmations a channel's
// funding transaction has.
func (g *Gossiper) ChannelDepth(scid lnwire.ShortChannelID, confs uint32) error {
	g.lock()
	defer g.unlock()
	lc := g.local[scid.ToUint64()]
	if lc == nil {
		return fmt.Errorf("channel depth %v: %w", scid, ErrUnknownLocalChannel)
	}
	lc.depth = confs
	g.advance(lc)
	return nil
}

// advance moves a public channel's announcement forward: our signatures
// go out once the funding is deep enough, and the announcement once both
// halves are in.
func (g *Gossiper) advance(lc *localChannel) {
	if lc.info.Private || lc.announced || lc.depth < AnnounceDepth {
		return
	}
	if !lc.sentSigs {
		lc.sentSigs = true
		g.send(lc.info.Peer, g.ourSigs(lc))
	}
	if lc.peerSigs {
		if err := g.complete(lc); err != nil {
			g.log.Warn("announce own channel", "scid", lc.info.ShortChannelID, "err", err)
		}
	}
}

// complete stores our fully signed channel_announcement with our update
// and node_announcement, and queues them for every peer.
func (g *Gossiper) complete(lc *localChannel) error {
	ann := lc.ann
	if err := gossip.ValidateChannelAnnouncement(ann, g.cfg.ChainHash); err != nil {
		return err
	}
	f, err := gossip.ValidateFunding(ann, g.cfg.Chain, g.cfg.Chain.FetchUtxo)
	if err != nil {
		return err
	}
	if err := g.cfg.Graph.AddChannel(ann, f); err != nil && !errors.Is(err, graph.ErrDuplicateChannel) {
		return err
	}
	g.queue.push(g, &entry{key: relayKey{kind: kindChannel, scid: ann.ShortChannelID.ToUint64()}, msg: ann})
	g.accepted[lnwire.MsgChannelAnnouncement]++
	return g.markAnnounced(lc)
}

// markAnnounced publishes what follows a channel of ours entering the
// graph, whether from our own exchange or from gossip that overtook it:
// our update, the peer's update that waited, our node_announcement.
func (g *Gossiper) markAnnounced(lc *localChannel) error {
	lc.announced = true
	if err := g.publishUpdate(lc); err != nil {
		return err
	}
	if lc.peerUpdate != nil {
		// The peer's update waited for the announcement.
		u := lc.peerUpdate
		lc.peerUpdate = nil
		if _, err := g.handleChannelUpdate(lc.info.Peer, u, g.now()); err != nil {
			g.log.Debug("peer update of own channel", "scid", u.ShortChannelID, "err", err)
		}
	}
	// Once per run, and whenever the graph lost our announcement with
	// our last channel.
	if n, ok := g.cfg.Graph.Node(g.self); !g.nodeAnnounced || !ok || n.Timestamp == 0 {
		return g.publishNode()
	}
	return nil
}

// retryLocal retries announcements that failed at completion, typically
// because our chain had not seen the funding block yet.
func (g *Gossiper) retryLocal() {
	for _, lc := range g.local {
		if lc.sentSigs && lc.peerSigs && !lc.announced {
			g.advance(lc)
		}
	}
}

// resumeLocal re-runs the exchange with a peer that reconnected: BOLT 7
// asks that announcement_signatures be re-sent until the peer's arrive.
func (g *Gossiper) resumeLocal(peer NodeID) {
	for _, lc := range g.local {
		if lc.info.Peer != peer {
			continue
		}
		if lc.info.Private || !lc.announced {
			if lc.last != nil && lc.last.Signature != (lnwire.Sig{}) {
				g.send(peer, lc.last)
			}
		}
		if !lc.info.Private && !lc.announced && lc.sentSigs && !lc.peerSigs {
			g.send(peer, g.ourSigs(lc))
		}
	}
}

func (g *Gossiper) handleAnnouncementSignatures(from NodeID, m *gossip.AnnouncementSignatures, now time.Time) error {
	lc := g.local[m.ShortChannelID.ToUint64()]
	if lc == nil || lc.info.Peer != from {
		return fmt.Errorf("%w: announcement_signatures for %v", errUnexpected, m.ShortChannelID)
	}
	if lc.info.Private {
		return fmt.Errorf("%w: announcement_signatures for private channel %v", errUnexpected, m.ShortChannelID)
	}
	if m.ChannelID != lc.info.ChannelID {
		return fmt.Errorf("announcement_signatures %v: channel_id %v does not match", m.ShortChannelID, m.ChannelID)
	}
	if lc.announced || lc.peerSigs {
		// A peer that lost ours asks again by sending its own; answer
		// once per connection.
		ready := lc.announced || lc.depth >= AnnounceDepth
		if p := g.peers[from]; p != nil && ready && !p.sigsReplied[m.ShortChannelID.ToUint64()] {
			p.sigsReplied[m.ShortChannelID.ToUint64()] = true
			g.send(from, g.ourSigs(lc))
		}
		return nil
	}
	if err := lc.ann.AddPeerSignatures(m, from); err != nil {
		return fmt.Errorf("announcement_signatures %v: %w", m.ShortChannelID, err)
	}
	lc.peerSigs = true
	g.advance(lc)
	return nil
}

// UpdatePolicy changes our forwarding policy on a channel and publishes
// a newer channel_update.
func (g *Gossiper) UpdatePolicy(scid lnwire.ShortChannelID, p Policy) error {
	g.lock()
	defer g.unlock()
	lc := g.local[scid.ToUint64()]
	if lc == nil {
		return fmt.Errorf("update policy %v: %w", scid, ErrUnknownLocalChannel)
	}
	lc.info.Policy = p
	if err := g.publishUpdate(lc); err != nil {
		return fmt.Errorf("update policy %v: %w", scid, err)
	}
	return nil
}

// SetChannelEnabled sets or clears the disabled bit of our update, as
// the channel's peer goes offline or comes back. Nothing is published
// when the bit does not change.
func (g *Gossiper) SetChannelEnabled(scid lnwire.ShortChannelID, enabled bool) error {
	g.lock()
	defer g.unlock()
	lc := g.local[scid.ToUint64()]
	if lc == nil {
		return fmt.Errorf("set channel enabled %v: %w", scid, ErrUnknownLocalChannel)
	}
	if lc.disabled == !enabled {
		return nil
	}
	lc.disabled = !enabled
	if err := g.publishUpdate(lc); err != nil {
		return fmt.Errorf("set channel enabled %v: %w", scid, err)
	}
	return nil
}

// ChannelUpdate returns our latest signed update of a channel, for the
// failure messages of HTLCs we cannot forward.
func (g *Gossiper) ChannelUpdate(scid lnwire.ShortChannelID) (*gossip.ChannelUpdate, bool) {
	g.lock()
	defer g.unlock()
	lc := g.local[scid.ToUint64()]
	if lc == nil || lc.last == nil || lc.last.Signature == (lnwire.Sig{}) {
		return nil, false
	}
	u := *lc.last
	return &u, true
}

// PeerUpdate returns the peer's latest update of a channel of ours that
// is not in the graph (a private channel, or one not announced yet):
// the policy an invoice's route hint for the channel carries.
func (g *Gossiper) PeerUpdate(scid lnwire.ShortChannelID) (*gossip.ChannelUpdate, bool) {
	g.lock()
	defer g.unlock()
	lc := g.local[scid.ToUint64()]
	if lc == nil || lc.peerUpdate == nil {
		return nil, false
	}
	u := *lc.peerUpdate
	return &u, true
}

// handlePeerUpdate takes the peer's update of a channel of ours that is
// not in the graph. It is checked against the peer's key and kept, not
// relayed.
func (g *Gossiper) handlePeerUpdate(lc *localChannel, m *gossip.ChannelUpdate, now time.Time) error {
	scid := m.ShortChannelID
	if uint8(m.ChannelFlags.Direction()) == lc.dir {
		return fmt.Errorf("channel_update %v: peer signs for our direction", scid)
	}
	if lc.peerUpdate != nil && m.Timestamp <= lc.peerUpdate.Timestamp {
		return fmt.Errorf("channel_update %v: %w", scid, graph.ErrStale)
	}
	if err := gossip.ValidateChannelUpdate(m, lc.info.Peer, g.cfg.ChainHash, now); err != nil {
		return err
	}
	lc.peerUpdate = m
	return nil
}

// publishUpdate signs a new update of our direction with a timestamp
// past the last one. An announced channel's update goes into the graph
// and the relay queue; any other goes to the peer alone.
func (g *Gossiper) publishUpdate(lc *localChannel) error {
	ts := uint32(g.now().Unix())
	if lc.last != nil && ts <= lc.last.Timestamp {
		ts = lc.last.Timestamp + 1
	}
	pol := lc.info.Policy
	u := &gossip.ChannelUpdate{
		ChainHash:                 g.cfg.ChainHash,
		ShortChannelID:            lc.info.ShortChannelID,
		Timestamp:                 ts,
		MessageFlags:              gossip.MsgFlagMustBeOne,
		ChannelFlags:              gossip.ChannelFlags(lc.dir),
		CltvExpiryDelta:           pol.CltvExpiryDelta,
		HTLCMinimumMsat:           pol.HTLCMinimumMsat,
		FeeBaseMsat:               pol.FeeBaseMsat,
		FeeProportionalMillionths: pol.FeeRatePPM,
		HTLCMaximumMsat:           pol.HTLCMaximumMsat,
	}
	if lc.info.Private {
		u.MessageFlags |= gossip.MsgFlagDontForward
	}
	if lc.disabled {
		u.ChannelFlags |= gossip.ChanFlagDisabled
	}
	h, err := u.SigHash()
	if err != nil {
		return err
	}
	if u.Signature, err = g.cfg.NodeKey.SignHash(h); err != nil {
		return fmt.Errorf("sign channel_update: %w", err)
	}
	if !lc.announced {
		lc.last = u
		g.send(lc.info.Peer, u)
		return nil
	}
	if err := g.cfg.Graph.ApplyChannelUpdate(u); err != nil {
		return err
	}
	lc.last = u
	g.queue.push(g, &entry{key: relayKey{kind: kindUpdate, scid: u.ShortChannelID.ToUint64(), dir: lc.dir},
		msg: u, ts: u.Timestamp})
	return nil
}

// publishNode signs and queues our node_announcement.
func (g *Gossiper) publishNode() error {
	ts := uint32(g.now().Unix())
	if n, ok := g.cfg.Graph.Node(g.self); ok && ts <= n.Timestamp {
		ts = n.Timestamp + 1
	}
	info := g.cfg.Node
	a := &gossip.NodeAnnouncement{
		RawFeatures: append([]byte{}, info.Features...),
		Timestamp:   ts,
		NodeID:      g.self,
		RGBColor:    info.Color,
	}
	a.SetAlias(info.Alias)
	if err := a.SetAddresses(info.Addresses); err != nil {
		return fmt.Errorf("node_announcement: %w", err)
	}
	h, err := a.SigHash()
	if err != nil {
		return err
	}
	if a.Signature, err = g.cfg.NodeKey.SignHash(h); err != nil {
		return fmt.Errorf("sign node_announcement: %w", err)
	}
	if err := g.cfg.Graph.ApplyNodeAnnouncement(a); err != nil {
		return err
	}
	g.nodeAnnounced = true
	g.queue.push(g, &entry{key: relayKey{kind: kindNode, node: g.self}, msg: a, ts: ts})
	return nil
}

// ChannelClosed forgets one of our channels, or any channel, once its
// funding output is spent: it leaves the graph and the relay queue.
func (g *Gossiper) ChannelClosed(scid lnwire.ShortChannelID) error {
	g.lock()
	defer g.unlock()
	return g.prune(scid)
}

// PruneSpent removes the channels funded by outputs that a block spent.
// The daemon calls it for every spent outpoint the graph may know; those
// it does not know are skipped.
func (g *Gossiper) PruneSpent(ops ...wire.OutPoint) error {
	g.lock()
	defer g.unlock()
	var errs []error
	for _, op := range ops {
		if scid, ok := g.cfg.Graph.ChannelByOutPoint(op); ok {
			errs = append(errs, g.prune(scid))
		}
	}
	return errors.Join(errs...)
}

func (g *Gossiper) prune(scid lnwire.ShortChannelID) error {
	id := scid.ToUint64()
	delete(g.local, id)
	delete(g.premature, id)
	for dir := uint8(0); dir < 2; dir++ {
		delete(g.orphanUpdates, updKey{id, dir})
		delete(g.updateBuckets, updKey{id, dir})
	}
	g.queue.dropChannel(id)
	if err := g.cfg.Graph.PruneChannel(scid); err != nil && !errors.Is(err, graph.ErrUnknownChannel) {
		return fmt.Errorf("prune %v: %w", scid, err)
	}
	return nil
}
