package gossiper

import (
	"fmt"
	"math"
	"time"

	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/router/gossip"
)

// recentSync is how far back a peer that is not asked for the whole
// history is asked to replay, to cover a short disconnection.
const recentSync = time.Hour

// PeerConnected starts gossip with a peer whose init carried features.
// A peer that negotiated gossip_queries is sent our
// gossip_timestamp_filter: the whole history for the first
// Limits.FullSyncPeers peers, recent messages for the others. A peer
// that did not gets all new gossip, and a dump of the graph if it set
// initial_routing_sync. Our channels with the peer resume their
// announcement exchange, and their private updates are re-sent.
func (g *Gossiper) PeerConnected(peer NodeID, features *lnwire.FeatureVector) {
	g.lock()
	defer g.unlock()
	now := g.now()
	if features == nil {
		features = lnwire.NewFeatureVectorFromBytes(nil)
	}
	p := g.addPeer(peer, features, now)
	if p.queries {
		f := &gossip.GossipTimestampFilter{ChainHash: g.cfg.ChainHash, TimestampRange: math.MaxUint32}
		switch {
		case g.fullSynced[peer]:
		case len(g.fullSynced) < g.lim.FullSyncPeers:
			g.fullSynced[peer] = true
		default:
			f.FirstTimestamp = uint32(max(0, now.Add(-recentSync).Unix()))
		}
		g.send(peer, f)
	} else if features.IsSet(lnwire.InitialRoutingSync + 1) {
		g.dump(peer, p, nil, now)
	}
	g.resumeLocal(peer)
}

// PeerDisconnected forgets a peer's gossip state, its score included:
// what to do about a misbehaving peer across connections is the
// caller's decision.
func (g *Gossiper) PeerDisconnected(peer NodeID) {
	g.lock()
	defer g.unlock()
	delete(g.peers, peer)
}

func (g *Gossiper) handleTimestampFilter(from NodeID, m *gossip.GossipTimestampFilter, now time.Time) error {
	if m.ChainHash != g.cfg.ChainHash {
		return fmt.Errorf("gossip_timestamp_filter: %w", gossip.ErrWrongChain)
	}
	p := g.peers[from]
	if p == nil {
		p = g.addPeer(from, nil, now)
	}
	f := *m
	p.filter = &f
	if !p.lastDump.IsZero() && now.Sub(p.lastDump) < g.lim.DumpInterval {
		// Filters can change often; dumps are expensive. The new
		// filter still governs relay from now on.
		return nil
	}
	g.dump(from, p, &f, now)
	return nil
}

// dump sends the peer the stored messages the filter matches, and moves
// its relay cursor past everything already in the graph.
func (g *Gossiper) dump(peer NodeID, p *peerState, f *gossip.GossipTimestampFilter, now time.Time) {
	p.lastDump = now
	p.cursor = g.queue.next
	var raw [][]byte
	err := g.cfg.Graph.GossipMessages(f, func(b []byte) error {
		raw = append(raw, b)
		return nil
	})
	if err != nil {
		g.log.Warn("gossip dump failed", "peer", peer, "err", err)
		return
	}
	for _, b := range raw {
		msg, err := gossip.ParseMessage(b)
		if err != nil {
			g.log.Error("stored gossip message does not parse", "err", err)
			continue
		}
		if u, ok := msg.(*gossip.ChannelUpdate); ok && u.MessageFlags&gossip.MsgFlagDontForward != 0 {
			continue
		}
		g.relayed++
		g.send(peer, msg)
	}
	g.log.Debug("gossip dump sent", "peer", peer, "messages", len(raw))
}
