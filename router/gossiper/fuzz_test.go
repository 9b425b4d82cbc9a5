package gossiper

import (
	"testing"

	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/router/gossip"
)

// FuzzHandleMessage feeds arbitrary decoded messages to a gossiper that
// knows a channel, a node and one of its own channels in the middle of
// its announcement: nothing may panic, and the graph's invariants hold.
func FuzzHandleMessage(f *testing.F) {
	n := newNetwork(f)
	a, b := n.addNode("a", Limits{MaxPending: 64}), n.addNode("b", Limits{})
	n.connect(a, b)
	ch := n.openChannel(a, b, false, AnnounceDepth)
	ann, keys, _ := n.signedAnnouncement(20)
	now := uint32(n.clock.Now().Unix())
	seeds := []lnwire.Message{
		ann,
		signedUpdate(f, keys[0], ann.ShortChannelID, 0, now, 1),
		signedUpdate(f, keys[1], ann.ShortChannelID, 1, now, 1),
		&gossip.GossipTimestampFilter{ChainHash: testChain, TimestampRange: ^uint32(0)},
		&gossip.AnnouncementSignatures{ChannelID: lnwire.NewChannelID(ch.op), ShortChannelID: ch.scid},
		&gossip.QueryChannelRange{ChainHash: testChain, NumberOfBlocks: 10},
		&gossip.QueryShortChanIDs{ChainHash: testChain, ShortChanIDs: []lnwire.ShortChannelID{ch.scid, ann.ShortChannelID},
			QueryFlags: []uint64{gossip.QueryFlagUpdate1, gossip.QueryFlagNode2}},
	}
	na := &gossip.NodeAnnouncement{NodeID: ann.NodeID1, Timestamp: now}
	if ann.NodeID1 == gossip.NewNodeID(keys[0].PubKey()) {
		if err := na.Sign(keys[0]); err == nil {
			seeds = append(seeds, na)
		}
	}
	for _, m := range seeds {
		raw, err := lnwire.EncodeMessage(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
		f.Add(raw[:len(raw)/2])
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		msg, err := gossip.ParseMessage(raw)
		if err != nil {
			return
		}
		res, err := a.g.HandleMessage(b.id, msg)
		if res.Accepted != (err == nil) {
			t.Fatalf("result %+v with error %v", res, err)
		}
		// Time moves so that rate limits let later inputs through.
		n.clock.advance(queryInterval)
		a.g.Tick(n.clock.Now())
		if st := a.g.Stats(); st.Queued > 64 || st.Held > 3*64 {
			t.Fatalf("bounds broken: %+v", st)
		}
		for _, c := range a.graph.Channels() {
			if !c.Node1.Less(c.Node2) {
				t.Fatalf("channel %v out of order", c.ShortChannelID)
			}
		}
	})
}
