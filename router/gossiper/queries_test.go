package gossiper

import (
	"encoding/binary"
	"testing"

	"github.com/btcsuite/btcd/wire"
	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/router/gossip"
	"github.com/flash-ln/flash/router/graph"
)

// drain takes the messages in flight from one node to another, decoded.
func (n *network) drain(from, to *node) []lnwire.Message {
	n.t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []lnwire.Message
	kept := n.inFlows[:0]
	for _, d := range n.inFlows {
		if d.from != from.id || d.to != to.id {
			kept = append(kept, d)
			continue
		}
		m, err := gossip.ParseMessage(d.raw)
		if err != nil {
			n.t.Fatal(err)
		}
		out = append(out, m)
	}
	n.inFlows = kept
	return out
}

func TestQueryShortChanIDs(t *testing.T) {
	n, a, b, c := line(t)
	ch := n.openChannel(a, b, false, AnnounceDepth)
	n.openChannel(b, c, false, AnnounceDepth)
	n.pump()
	types := func(ms []lnwire.Message) map[lnwire.MessageType]int {
		out := map[lnwire.MessageType]int{}
		for _, m := range ms {
			out[m.MsgType()]++
		}
		return out
	}
	q := &gossip.QueryShortChanIDs{ChainHash: testChain, ShortChanIDs: []lnwire.ShortChannelID{ch.scid}}
	if _, err := b.g.HandleMessage(c.id, q); err != nil {
		t.Fatal(err)
	}
	got := n.drain(b, c)
	want := map[lnwire.MessageType]int{lnwire.MsgChannelAnnouncement: 1, lnwire.MsgChannelUpdate: 2,
		lnwire.MsgNodeAnnouncement: 2, lnwire.MsgReplyShortChanIDsEnd: 1}
	if tg := types(got); len(tg) != len(want) || tg[lnwire.MsgChannelUpdate] != 2 ||
		tg[lnwire.MsgNodeAnnouncement] != 2 || tg[lnwire.MsgChannelAnnouncement] != 1 {
		t.Fatalf("answer %v, want %v", tg, want)
	}
	if end, ok := got[len(got)-1].(*gossip.ReplyShortChanIDsEnd); !ok || !end.FullInformation {
		t.Fatalf("last message %#v", got[len(got)-1])
	}
	q.QueryFlags = []uint64{gossip.QueryFlagUpdate2}
	b.g.HandleMessage(c.id, q)
	got = n.drain(b, c)
	if len(got) != 2 || got[0].(*gossip.ChannelUpdate).ChannelFlags.Direction() != 1 {
		t.Fatalf("flagged answer %v", types(got))
	}
	q.ChainHash = lnwire.ChainHash{9}
	if res, _ := b.g.HandleMessage(c.id, q); res.Reason != ReasonWrongChain {
		t.Fatalf("%+v", res)
	}
}

func TestQueryRateLimited(t *testing.T) {
	n, _, b, c := line(t)
	q := &gossip.QueryChannelRange{ChainHash: testChain, NumberOfBlocks: 10}
	limited := 0
	for i := 0; i < 2*queryBurst; i++ {
		if res, _ := b.g.HandleMessage(c.id, q); res.Reason == ReasonRateLimited {
			limited++
		}
	}
	if limited != queryBurst {
		t.Fatalf("%d queries limited, want %d", limited, queryBurst)
	}
	n.drain(b, c)
}

// TestQueryChannelRangeChunks checks the replies' block ranges on a graph
// too big for one reply.
func TestQueryChannelRangeChunks(t *testing.T) {
	gr := graph.New(nil)
	var batch graph.Batch
	for block := uint32(100); block < 160; block++ {
		for tx := uint32(1); tx <= 90; tx++ {
			scid := lnwire.ShortChannelID{BlockHeight: block, TxIndex: tx}
			var a, b NodeID
			a[0], b[0] = 2, 3
			binary.BigEndian.PutUint64(a[1:], scid.ToUint64())
			binary.BigEndian.PutUint64(b[1:], scid.ToUint64())
			ann := gossip.NewChannelAnnouncement(testChain, scid, nil, a, b, a, b)
			var op wire.OutPoint
			binary.BigEndian.PutUint64(op.Hash[:], scid.ToUint64())
			batch.AddChannel(ann, gossip.Funding{OutPoint: op, Capacity: 1000})
		}
	}
	if _, err := gr.Apply(&batch); err != nil {
		t.Fatal(err)
	}
	n := newNetwork(t)
	peer := n.addNode("peer", Limits{})
	var sent []lnwire.Message
	g, err := New(Config{Graph: gr, ChainHash: testChain, Chain: n.chain,
		Peers: peersFunc(func(_ NodeID, m lnwire.Message) error {
			if _, err := lnwire.EncodeMessage(m); err != nil {
				t.Errorf("reply does not encode: %v", err)
			}
			sent = append(sent, m)
			return nil
		}), NodeKey: KeySigner{Key: peer.key}, Now: n.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	opt := uint64(gossip.QueryOptionTimestamps)
	if _, err := g.HandleMessage(peer.id, &gossip.QueryChannelRange{
		ChainHash: testChain, FirstBlocknum: 110, NumberOfBlocks: 1000, QueryOption: &opt}); err != nil {
		t.Fatal(err)
	}
	next, ids := uint32(110), 0
	for i, m := range sent {
		r := m.(*gossip.ReplyChannelRange)
		if r.FirstBlocknum != next || r.NumberOfBlocks == 0 || !r.SyncComplete {
			t.Fatalf("reply %d covers %d+%d after %d", i, r.FirstBlocknum, r.NumberOfBlocks, next)
		}
		for _, id := range r.ShortChanIDs {
			if id.BlockHeight < r.FirstBlocknum || id.BlockHeight >= r.FirstBlocknum+r.NumberOfBlocks {
				t.Fatalf("reply %d: %v outside its range", i, id)
			}
		}
		if len(r.Timestamps) != len(r.ShortChanIDs) || len(r.ShortChanIDs) > rangeChunk {
			t.Fatalf("reply %d: %d ids, %d timestamps", i, len(r.ShortChanIDs), len(r.Timestamps))
		}
		next += r.NumberOfBlocks
		ids += len(r.ShortChanIDs)
	}
	if next != 1110 || ids != 50*90 || len(sent) < 3 {
		t.Fatalf("replies end at %d with %d ids in %d replies", next, ids, len(sent))
	}
}

type peersFunc func(NodeID, lnwire.Message) error

func (f peersFunc) Send(p NodeID, m lnwire.Message) error { return f(p, m) }
func (f peersFunc) Peers() []NodeID                       { return nil }
