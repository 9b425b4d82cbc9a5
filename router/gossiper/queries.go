package gossiper

import (
	"encoding/binary"
	"fmt"
	"sort"
	"time"

	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/router/gossip"
)

// Gossip queries are answered so that peers of other implementations,
// which sync by query_channel_range and query_short_channel_ids rather
// than by a timestamp filter, learn our graph too. Each answer costs a
// pass over the graph, so a peer gets queryBurst of them at once and one
// more every queryInterval.
const (
	queryBurst    = 16
	queryInterval = 10 * time.Second
	// rangeChunk is the most ids in one reply_channel_range: with
	// timestamps it stays well inside a 65535-byte message.
	rangeChunk = 2000
	// maxQueryIDs bounds the ids of one query_short_channel_ids, as the
	// most a 65535-byte message can carry.
	maxQueryIDs = 8000
)

func (g *Gossiper) takeQueryToken(p *peerState, now time.Time) bool {
	return p.queryRate.take(now, 1/queryInterval.Seconds(), queryBurst)
}

func (g *Gossiper) handleQueryChannelRange(from NodeID, m *gossip.QueryChannelRange, now time.Time) error {
	if m.ChainHash != g.cfg.ChainHash {
		return fmt.Errorf("query_channel_range: %w", gossip.ErrWrongChain)
	}
	p := g.peers[from]
	if p == nil {
		p = g.addPeer(from, nil, now)
	}
	if !g.takeQueryToken(p, now) {
		return fmt.Errorf("query_channel_range: %w", errRateLimited)
	}
	first := uint64(m.FirstBlocknum)
	end := min(first+uint64(m.NumberOfBlocks), 1<<32-1)
	wantTS := m.QueryOption != nil && *m.QueryOption&gossip.QueryOptionTimestamps != 0

	type item struct {
		scid lnwire.ShortChannelID
		ts   gossip.ChannelUpdatePair
	}
	var items []item
	for _, ch := range g.cfg.Graph.Channels() {
		h := uint64(ch.ShortChannelID.BlockHeight)
		if h >= first && h < end {
			items = append(items, item{ch.ShortChannelID,
				gossip.ChannelUpdatePair{ch.Policies[0].Timestamp, ch.Policies[1].Timestamp}})
		}
	}
	sort.Slice(items, func(i, j int) bool { return items[i].scid.ToUint64() < items[j].scid.ToUint64() })

	// Replies cover consecutive block ranges that together are the
	// query's, and never split a block's channels between two replies.
	start := first
	for {
		n := len(items)
		if n > rangeChunk {
			n = rangeChunk
			for n > 0 && items[n].scid.BlockHeight == items[n-1].scid.BlockHeight {
				n--
			}
			if n == 0 {
				// One block holds more channels than a chunk:
				// it goes whole.
				for n < len(items) && items[n].scid.BlockHeight == items[0].scid.BlockHeight {
					n++
				}
			}
		}
		stop := end
		if n < len(items) {
			stop = uint64(items[n].scid.BlockHeight)
		}
		r := &gossip.ReplyChannelRange{
			ChainHash:      g.cfg.ChainHash,
			FirstBlocknum:  uint32(start),
			NumberOfBlocks: uint32(stop - start),
			SyncComplete:   true,
			ShortChanIDs:   make([]lnwire.ShortChannelID, 0, n),
		}
		if wantTS {
			r.Timestamps = make([]gossip.ChannelUpdatePair, 0, n)
		}
		for _, it := range items[:n] {
			r.ShortChanIDs = append(r.ShortChanIDs, it.scid)
			if wantTS {
				r.Timestamps = append(r.Timestamps, it.ts)
			}
		}
		g.send(from, r)
		items, start = items[n:], stop
		if len(items) == 0 {
			break
		}
	}
	return nil
}

func (g *Gossiper) handleQueryShortChanIDs(from NodeID, m *gossip.QueryShortChanIDs, now time.Time) error {
	if m.ChainHash != g.cfg.ChainHash {
		return fmt.Errorf("query_short_channel_ids: %w", gossip.ErrWrongChain)
	}
	if len(m.ShortChanIDs) > maxQueryIDs {
		return fmt.Errorf("query_short_channel_ids: %d ids", len(m.ShortChanIDs))
	}
	p := g.peers[from]
	if p == nil {
		p = g.addPeer(from, nil, now)
	}
	if !g.takeQueryToken(p, now) {
		return fmt.Errorf("query_short_channel_ids: %w", errRateLimited)
	}
	// What to send, per channel: without flags, everything.
	want := make(map[uint64]uint64, len(m.ShortChanIDs))
	for i, scid := range m.ShortChanIDs {
		f := uint64(gossip.QueryFlagAnnouncement | gossip.QueryFlagUpdate1 | gossip.QueryFlagUpdate2 |
			gossip.QueryFlagNode1 | gossip.QueryFlagNode2)
		if m.QueryFlags != nil {
			f = m.QueryFlags[i]
		}
		want[scid.ToUint64()] |= f
	}
	nodes := make(map[NodeID]bool)
	for scid, f := range want {
		if f&(gossip.QueryFlagNode1|gossip.QueryFlagNode2) == 0 {
			continue
		}
		n1, n2, ok := g.cfg.Graph.ChannelNodes(lnwire.NewShortChanIDFromInt(scid))
		if !ok {
			continue
		}
		if f&gossip.QueryFlagNode1 != 0 {
			nodes[n1] = true
		}
		if f&gossip.QueryFlagNode2 != 0 {
			nodes[n2] = true
		}
	}
	var raw [][]byte
	err := g.cfg.Graph.GossipMessages(nil, func(b []byte) error {
		if keepQueried(b, want, nodes) {
			raw = append(raw, b)
		}
		return nil
	})
	if err != nil {
		g.log.Warn("answer query_short_channel_ids", "peer", from, "err", err)
	}
	for _, b := range raw {
		msg, err := gossip.ParseMessage(b)
		if err != nil {
			g.log.Error("stored gossip message does not parse", "err", err)
			continue
		}
		g.relayed++
		g.send(from, msg)
	}
	g.send(from, &gossip.ReplyShortChanIDsEnd{ChainHash: g.cfg.ChainHash, FullInformation: err == nil})
	return nil
}

// keepQueried reports whether a stored message answers the query. It
// reads the few fields it needs at their fixed offsets rather than
// decoding every message of the graph.
func keepQueried(b []byte, want map[uint64]uint64, nodes map[NodeID]bool) bool {
	if len(b) < 2 {
		return false
	}
	const sig = 64
	switch lnwire.MessageType(binary.BigEndian.Uint16(b)) {
	case lnwire.MsgChannelAnnouncement:
		off := 2 + 4*sig
		if len(b) < off+2 {
			return false
		}
		off += 2 + int(binary.BigEndian.Uint16(b[off:])) + 32
		if len(b) < off+8 {
			return false
		}
		return want[binary.BigEndian.Uint64(b[off:])]&gossip.QueryFlagAnnouncement != 0
	case lnwire.MsgChannelUpdate:
		off := 2 + sig + 32
		if len(b) < off+8+4+2 {
			return false
		}
		dirFlag := uint64(gossip.QueryFlagUpdate1)
		if b[off+8+4+1]&byte(gossip.ChanFlagDirection) != 0 {
			dirFlag = gossip.QueryFlagUpdate2
		}
		return want[binary.BigEndian.Uint64(b[off:])]&dirFlag != 0
	case lnwire.MsgNodeAnnouncement:
		off := 2 + sig
		if len(b) < off+2 {
			return false
		}
		off += 2 + int(binary.BigEndian.Uint16(b[off:])) + 4
		var id NodeID
		if len(b) < off+len(id) {
			return false
		}
		copy(id[:], b[off:])
		return nodes[id]
	}
	return false
}
