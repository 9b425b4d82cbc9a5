package gossiper

import (
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/router/gossip"
	"github.com/flash-ln/flash/router/graph"
)

// line builds a-b-c connected in a line.
func line(t *testing.T) (*network, *node, *node, *node) {
	n := newNetwork(t)
	a, b, c := n.addNode("alice", Limits{}), n.addNode("bob", Limits{}), n.addNode("carol", Limits{})
	n.connect(a, b)
	n.connect(b, c)
	n.pump()
	return n, a, b, c
}

func wantChannel(t *testing.T, nd *node, scid lnwire.ShortChannelID) graph.Channel {
	t.Helper()
	ch, ok := nd.graph.Channel(scid)
	if !ok {
		t.Fatalf("%v: channel %v missing", nd.id, scid)
	}
	return ch
}

func TestAnnouncedChannelReachesEveryNode(t *testing.T) {
	n, a, b, c := line(t)
	ch := n.openChannel(a, b, false, AnnounceDepth)
	n.pump()
	for _, nd := range []*node{a, b, c} {
		got := wantChannel(t, nd, ch.scid)
		for dir, p := range got.Policies {
			if !p.Usable() || p.FeeBaseMsat != testPolicy.FeeBaseMsat {
				t.Errorf("%v: direction %d policy %+v", nd.id, dir, p)
			}
		}
		for _, who := range []*node{a, b} {
			info, ok := nd.graph.Node(who.id)
			if !ok || info.Timestamp == 0 {
				t.Errorf("%v: no node_announcement of %v", nd.id, who.id)
			}
		}
	}
	if al, _ := c.graph.Node(a.id); al.Alias != "alice" {
		t.Errorf("carol sees alias %q", al.Alias)
	}
	// Relay never echoes a message to the peer it came from.
	if got := n.sent(c, b, lnwire.MsgChannelAnnouncement); got != 0 {
		t.Errorf("carol sent the announcement back to bob %d times", got)
	}
	if got := n.sent(b, c, lnwire.MsgChannelAnnouncement); got != 1 {
		t.Errorf("bob sent carol the announcement %d times, want 1", got)
	}
}

func TestNotAnnouncedBeforeSixConfirmations(t *testing.T) {
	n, a, b, c := line(t)
	ch := n.openChannel(a, b, false, AnnounceDepth-1)
	n.pump()
	if n.sent(a, b, lnwire.MsgAnnouncementSignatures) != 0 {
		t.Fatal("announcement_signatures sent before six confirmations")
	}
	// Bob reaches depth first: his signatures wait at Alice's.
	if err := b.g.ChannelDepth(ch.scid, AnnounceDepth); err != nil {
		t.Fatal(err)
	}
	n.pump()
	if c.graph.HasChannel(ch.scid) {
		t.Fatal("announced with one side's signatures")
	}
	if err := a.g.ChannelDepth(ch.scid, AnnounceDepth); err != nil {
		t.Fatal(err)
	}
	n.pump()
	wantChannel(t, c, ch.scid)
}

func TestForgedSignatureRejected(t *testing.T) {
	n, a, b, _ := line(t)
	ann, keys, _ := n.signedAnnouncement(20)
	forged := *ann
	forged.BitcoinSig2[10] ^= 1
	res, err := a.g.HandleMessage(b.id, &forged)
	if !errors.Is(err, gossip.ErrBadSignature) || res.Reason != ReasonBadSignature || res.Penalty == 0 {
		t.Fatalf("forged announcement: %+v, %v", res, err)
	}
	if a.graph.HasChannel(ann.ShortChannelID) {
		t.Fatal("forged announcement stored")
	}
	if _, err := a.g.HandleMessage(b.id, ann); err != nil {
		t.Fatal(err)
	}
	// An update signed by the node of the other direction.
	u := signedUpdate(t, keys[1], ann.ShortChannelID, 0, uint32(n.clock.Now().Unix()), 5)
	res, err = a.g.HandleMessage(b.id, u)
	if res.Reason != ReasonBadSignature {
		t.Fatalf("update by the wrong node: %+v, %v", res, err)
	}
	if s := a.g.Stats(); s.Rejected[ReasonBadSignature] != 2 {
		t.Errorf("bad signatures counted %d, want 2", s.Rejected[ReasonBadSignature])
	}
	if a.g.Score(b.id) != res.Score || res.Score < 2*ReasonBadSignature.penalty() {
		t.Errorf("score %d", res.Score)
	}
	// Forged node_announcement.
	na := &gossip.NodeAnnouncement{Timestamp: u.Timestamp, NodeID: ann.NodeID1}
	if err := na.Sign(keys[1]); err == nil {
		t.Fatal("signing with a foreign key succeeded")
	}
	na.NodeID = gossip.NewNodeID(keys[1].PubKey())
	if err := na.Sign(keys[1]); err != nil {
		t.Fatal(err)
	}
	na.NodeID = ann.NodeID1
	if res, _ := a.g.HandleMessage(b.id, na); res.Reason != ReasonBadSignature {
		t.Fatalf("forged node_announcement: %+v", res)
	}
}

func TestDisconnectScore(t *testing.T) {
	n := newNetwork(t)
	a := n.addNode("a", Limits{DisconnectScore: 50})
	b := n.addNode("b", Limits{})
	n.connect(a, b)
	ann, _, _ := n.signedAnnouncement(20)
	ann.NodeSig1[5] ^= 1
	var res Result
	for i := 0; i < 2; i++ {
		res, _ = a.g.HandleMessage(b.id, ann)
	}
	if !res.Disconnect {
		t.Fatalf("two forgeries at threshold 50: %+v", res)
	}
}

func TestFundingChecked(t *testing.T) {
	n, a, b, _ := line(t)
	t.Run("missing", func(t *testing.T) {
		ann, _, op := n.signedAnnouncement(20)
		n.chain.mu.Lock()
		delete(n.chain.txs, [2]uint32{20, ann.ShortChannelID.TxIndex})
		n.chain.mu.Unlock()
		_ = op
		res, err := a.g.HandleMessage(b.id, ann)
		if res.Reason != ReasonFundingMissing {
			t.Fatalf("%+v, %v", res, err)
		}
	})
	t.Run("spent", func(t *testing.T) {
		ann, _, op := n.signedAnnouncement(20)
		n.chain.spend(op)
		res, err := a.g.HandleMessage(b.id, ann)
		if res.Reason != ReasonFundingMissing {
			t.Fatalf("%+v, %v", res, err)
		}
	})
	t.Run("wrong script", func(t *testing.T) {
		ann, _, op := n.signedAnnouncement(20)
		n.chain.mu.Lock()
		n.chain.utxos[op].PkScript = []byte{0x00, 0x14, 1, 2, 3}
		n.chain.mu.Unlock()
		res, err := a.g.HandleMessage(b.id, ann)
		if res.Reason != ReasonFundingScript || res.Penalty == 0 {
			t.Fatalf("%+v, %v", res, err)
		}
	})
	t.Run("wrong chain", func(t *testing.T) {
		ann, _, _ := n.signedAnnouncement(20)
		ann.ChainHash = lnwire.ChainHash{1}
		res, _ := a.g.HandleMessage(b.id, ann)
		if res.Reason != ReasonWrongChain || res.Penalty != 0 {
			t.Fatalf("%+v", res)
		}
	})
	if got := a.graph.NumChannels(); got != 0 {
		t.Fatalf("graph holds %d channels", got)
	}
}

func TestPrematureAnnouncementHeld(t *testing.T) {
	n, a, b, _ := line(t)
	ann, keys, _ := n.signedAnnouncement(n.chain.BestHeight() + 2)
	res, err := a.g.HandleMessage(b.id, ann)
	if err != nil || !res.Held {
		t.Fatalf("premature: %+v, %v", res, err)
	}
	// Its update races ahead of it and waits too.
	u := signedUpdate(t, keys[0], ann.ShortChannelID, 0, uint32(n.clock.Now().Unix()), 7)
	if res, err := a.g.HandleMessage(b.id, u); err != nil || !res.Held {
		t.Fatalf("orphan update: %+v, %v", res, err)
	}
	a.g.Tick(n.clock.Now())
	if a.graph.HasChannel(ann.ShortChannelID) {
		t.Fatal("accepted before its block")
	}
	n.chain.setBest(n.chain.BestHeight() + 2)
	a.g.Tick(n.clock.Now())
	ch := wantChannel(t, a, ann.ShortChannelID)
	if ch.Policies[0].FeeBaseMsat != 7 {
		t.Errorf("held update not applied: %+v", ch.Policies[0])
	}
	far, _, _ := n.signedAnnouncement(n.chain.BestHeight() + 100)
	if res, _ := a.g.HandleMessage(b.id, far); res.Reason != ReasonPremature {
		t.Fatalf("far block: %+v", res)
	}
}

// withChannel returns a node that knows one foreign channel, and the keys
// of its two nodes.
func withChannel(t *testing.T) (*network, *node, *node, *gossip.ChannelAnnouncement, [2]*keyT) {
	n, a, b, _ := line(t)
	ann, keys, _ := n.signedAnnouncement(20)
	if _, err := a.g.HandleMessage(b.id, ann); err != nil {
		t.Fatal(err)
	}
	return n, a, b, ann, [2]*keyT{keys[0], keys[1]}
}

func TestStaleDuplicateConflict(t *testing.T) {
	n, a, b, ann, keys := withChannel(t)
	now := uint32(n.clock.Now().Unix())
	scid := ann.ShortChannelID
	steps := []struct {
		name   string
		u      *gossip.ChannelUpdate
		reason Reason
	}{
		{"first", signedUpdate(t, keys[0], scid, 0, now-10, 1), ReasonNone},
		{"newer", signedUpdate(t, keys[0], scid, 0, now, 2), ReasonNone},
		{"stale", signedUpdate(t, keys[0], scid, 0, now-5, 3), ReasonStale},
		{"duplicate", signedUpdate(t, keys[0], scid, 0, now, 2), ReasonDuplicate},
		{"conflict", signedUpdate(t, keys[0], scid, 0, now, 9), ReasonConflict},
		{"far future", signedUpdate(t, keys[0], scid, 0, now+uint32(2*time.Hour/time.Second), 4), ReasonFarFuture},
		{"other direction", signedUpdate(t, keys[1], scid, 1, now, 5), ReasonNone},
		{"unknown channel, held", signedUpdate(t, keys[1], lnwire.ShortChannelID{BlockHeight: 99}, 1, now, 5), ReasonNone},
	}
	for _, s := range steps {
		res, err := a.g.HandleMessage(b.id, s.u)
		if res.Reason != s.reason {
			t.Errorf("%s: reason %v, want %v (%v)", s.name, res.Reason, s.reason, err)
		}
	}
	ch := wantChannel(t, a, scid)
	if ch.Policies[0].FeeBaseMsat != 2 || ch.Policies[1].FeeBaseMsat != 5 {
		t.Errorf("policies %+v", ch.Policies)
	}
	st := a.g.Stats()
	if st.Rejected[ReasonStale] != 1 || st.Rejected[ReasonFarFuture] != 1 || st.Accepted[lnwire.MsgChannelUpdate] != 4 {
		t.Errorf("stats %+v", st)
	}
}

func TestFarFutureNodeAnnouncement(t *testing.T) {
	n, a, b, ann, keys := withChannel(t)
	na := &gossip.NodeAnnouncement{NodeID: ann.NodeID1,
		Timestamp: uint32(n.clock.Now().Add(3 * time.Hour).Unix())}
	if err := na.Sign(keys[0]); err != nil {
		t.Fatal(err)
	}
	if res, _ := a.g.HandleMessage(b.id, na); res.Reason != ReasonFarFuture {
		t.Fatalf("%+v", res)
	}
}

func TestUpdateFloodLimited(t *testing.T) {
	n := newNetwork(t)
	lim := Limits{ChannelUpdateBurst: 5, MaxPending: 20}
	a := n.addNode("a", lim)
	b := n.addNode("b", Limits{})
	n.connect(a, b)
	ann, keys, _ := n.signedAnnouncement(20)
	if _, err := a.g.HandleMessage(b.id, ann); err != nil {
		t.Fatal(err)
	}
	base := uint32(n.clock.Now().Unix()) - 5000
	accepted := 0
	for i := uint32(0); i < 200; i++ {
		res, _ := a.g.HandleMessage(b.id, signedUpdate(t, keys[0], ann.ShortChannelID, 0, base+i, i))
		if res.Accepted {
			accepted++
		} else if res.Reason != ReasonRateLimited {
			t.Fatalf("update %d: %v", i, res.Reason)
		}
	}
	if accepted != 5 {
		t.Errorf("accepted %d updates, want the burst of 5", accepted)
	}
	// Orphan updates for channels that do not exist fill a bounded hold.
	for i := uint32(0); i < 200; i++ {
		u := signedUpdate(t, keys[0], lnwire.ShortChannelID{BlockHeight: 30, TxIndex: i}, 0, base, 1)
		a.g.HandleMessage(b.id, u)
	}
	st := a.g.Stats()
	if st.Held > 3*lim.MaxPending || st.Queued > lim.MaxPending {
		t.Errorf("held %d, queued %d beyond %d", st.Held, st.Queued, lim.MaxPending)
	}
	if st.Rejected[ReasonRateLimited] != 195 {
		t.Errorf("rate limited %d", st.Rejected[ReasonRateLimited])
	}
	// The window refills.
	n.clock.advance(24 * time.Hour)
	a.g.Tick(n.clock.Now())
	if res, err := a.g.HandleMessage(b.id, signedUpdate(t, keys[0], ann.ShortChannelID, 0, base+2000, 1)); !res.Accepted {
		t.Fatalf("after the window: %+v %v", res, err)
	}
}

func TestRelayQueueBounded(t *testing.T) {
	n := newNetwork(t)
	a := n.addNode("a", Limits{MaxPending: 10, RelayBurst: 1, RelayRate: 0.001})
	b := n.addNode("b", Limits{})
	n.connect(a, b)
	n.pump()
	var firstKey *keyT
	var firstSCID lnwire.ShortChannelID
	for i := 0; i < 30; i++ {
		ann, keys, _ := n.signedAnnouncement(20)
		if _, err := a.g.HandleMessage(b.id, ann); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			firstKey, firstSCID = keys[0], ann.ShortChannelID
		}
		if st := a.g.Stats(); st.Queued > 10 {
			t.Fatalf("queue %d past its bound", st.Queued)
		}
	}
	// Replacing one key many times keeps a single entry.
	for i := uint32(0); i < 5; i++ {
		a.g.HandleMessage(b.id, signedUpdate(t, firstKey, firstSCID, 0, 1000+i, i))
	}
	a.g.Tick(n.clock.Now())
	if st := a.g.Stats(); st.Queued > 10 || st.RelayDropped == 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestLateJoinerGetsGraph(t *testing.T) {
	n, a, b, c := line(t)
	ch1 := n.openChannel(a, b, false, AnnounceDepth)
	ch2 := n.openChannel(b, c, false, AnnounceDepth)
	n.pump()
	d := n.addNode("dave", Limits{})
	n.connect(d, c)
	n.pump()
	for _, scid := range []lnwire.ShortChannelID{ch1.scid, ch2.scid} {
		got := wantChannel(t, d, scid)
		if !got.Policies[0].Usable() || !got.Policies[1].Usable() {
			t.Errorf("dave's %v policies %+v", scid, got.Policies)
		}
	}
	if d.graph.NumNodes() != 3 {
		t.Errorf("dave knows %d nodes", d.graph.NumNodes())
	}
	for _, who := range []*node{a, b, c} {
		if info, _ := d.graph.Node(who.id); info.Timestamp == 0 {
			t.Errorf("dave lacks the node_announcement of %v", who.id)
		}
	}
	// A second filter within the dump interval triggers no second dump.
	before := n.sent(c, d, lnwire.MsgChannelAnnouncement)
	c.g.HandleMessage(d.id, &gossip.GossipTimestampFilter{ChainHash: testChain, TimestampRange: ^uint32(0)})
	n.pump()
	if after := n.sent(c, d, lnwire.MsgChannelAnnouncement); after != before {
		t.Errorf("filter spam caused a second dump")
	}
}

func TestDisableEnable(t *testing.T) {
	n, a, b, c := line(t)
	ch := n.openChannel(a, b, false, AnnounceDepth)
	n.pump()
	dirA := 0
	if b.id.Less(a.id) {
		dirA = 1
	}
	n.clock.advance(time.Second)
	if err := a.g.SetChannelEnabled(ch.scid, false); err != nil {
		t.Fatal(err)
	}
	n.pump()
	if p := wantChannel(t, c, ch.scid).Policies[dirA]; !p.Disabled {
		t.Fatalf("carol sees %+v after disable", p)
	}
	// Same second: the timestamp still moves forward.
	if err := a.g.SetChannelEnabled(ch.scid, true); err != nil {
		t.Fatal(err)
	}
	n.pump()
	if p := wantChannel(t, c, ch.scid).Policies[dirA]; p.Disabled {
		t.Fatalf("carol sees %+v after enable", p)
	}
	u, ok := a.g.ChannelUpdate(ch.scid)
	if !ok || u.ChannelFlags.IsDisabled() {
		t.Fatalf("own update %+v", u)
	}
	if err := a.g.SetChannelEnabled(lnwire.ShortChannelID{BlockHeight: 1}, true); !errors.Is(err, ErrUnknownLocalChannel) {
		t.Fatalf("unknown channel: %v", err)
	}
}

func TestUpdatePolicyPropagates(t *testing.T) {
	n, a, b, c := line(t)
	ch := n.openChannel(a, b, false, AnnounceDepth)
	n.pump()
	p := testPolicy
	p.FeeBaseMsat = 4242
	if err := b.g.UpdatePolicy(ch.scid, p); err != nil {
		t.Fatal(err)
	}
	n.pump()
	got := wantChannel(t, c, ch.scid)
	dirB := 1
	if b.id.Less(a.id) {
		dirB = 0
	}
	if got.Policies[dirB].FeeBaseMsat != 4242 {
		t.Fatalf("carol sees %+v", got.Policies[dirB])
	}
}

func TestPruneOnClose(t *testing.T) {
	n, a, b, c := line(t)
	ch := n.openChannel(a, b, false, AnnounceDepth)
	n.pump()
	n.chain.spend(ch.op)
	for _, nd := range []*node{a, b, c} {
		if err := nd.g.PruneSpent(ch.op); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.g.ChannelClosed(ch.scid); err != nil {
		t.Fatal(err)
	}
	n.pump()
	for _, nd := range []*node{a, b, c} {
		if nd.graph.HasChannel(ch.scid) || nd.graph.NumNodes() != 0 {
			t.Errorf("%v still holds the channel", nd.id)
		}
	}
	// A relayed copy of the old announcement is now refused.
	ann, _, _ := n.signedAnnouncement(20)
	n.chain.spend(wire0(ann, n))
	if res, _ := c.g.HandleMessage(b.id, ann); res.Reason != ReasonFundingMissing {
		t.Fatalf("%+v", res)
	}
}

func TestPrivateChannelNeverBroadcast(t *testing.T) {
	n, a, b, c := line(t)
	ch := n.openChannel(a, b, true, 100)
	n.pump()
	for _, nd := range []*node{a, b, c} {
		if nd.graph.HasChannel(ch.scid) {
			t.Errorf("%v has the private channel in its graph", nd.id)
		}
	}
	for _, pair := range [][2]*node{{a, b}, {b, a}, {b, c}, {c, b}} {
		for _, typ := range []lnwire.MessageType{lnwire.MsgChannelAnnouncement, lnwire.MsgAnnouncementSignatures} {
			if got := n.sent(pair[0], pair[1], typ); got != 0 {
				t.Errorf("%v sent %d from %v", typ, got, pair[0].id)
			}
		}
	}
	if n.sent(b, c, lnwire.MsgChannelUpdate) != 0 {
		t.Error("private update relayed")
	}
	u, ok := b.g.PeerUpdate(ch.scid)
	if !ok || u.FeeBaseMsat != testPolicy.FeeBaseMsat || u.MessageFlags&gossip.MsgFlagDontForward == 0 {
		t.Fatalf("bob's copy of alice's private update: %+v %v", u, ok)
	}
	// Re-sent at reconnection, and a policy change reaches the peer.
	n.disconnect(a, b)
	n.connect(a, b)
	p := testPolicy
	p.FeeRatePPM = 777
	n.clock.advance(time.Second)
	if err := a.g.UpdatePolicy(ch.scid, p); err != nil {
		t.Fatal(err)
	}
	n.pump()
	if u, _ := b.g.PeerUpdate(ch.scid); u.FeeProportionalMillionths != 777 {
		t.Fatalf("bob has %+v", u)
	}
}

func TestAnnouncementSignaturesFromStranger(t *testing.T) {
	n, a, b, c := line(t)
	ch := n.openChannel(a, b, false, AnnounceDepth-1)
	as := &gossip.AnnouncementSignatures{ShortChannelID: ch.scid}
	if res, _ := a.g.HandleMessage(c.id, as); res.Reason != ReasonUnexpected {
		t.Fatalf("from a stranger: %+v", res)
	}
	as.ChannelID = lnwire.NewChannelID(ch.op)
	as.NodeSignature[3] = 1
	if res, _ := a.g.HandleMessage(b.id, as); res.Reason != ReasonBadSignature {
		t.Fatalf("bad signatures from the peer: %+v", res)
	}
}

func TestAnnouncementResumesAfterReconnect(t *testing.T) {
	n, a, b, c := line(t)
	n.disconnect(a, b)
	ch := n.openChannel(a, b, false, AnnounceDepth)
	n.pump()
	if b.graph.HasChannel(ch.scid) {
		t.Fatal("announced without a connection")
	}
	n.connect(a, b)
	n.pump()
	wantChannel(t, c, ch.scid)
}

func TestRestartKeepsAnnouncement(t *testing.T) {
	n, a, b, c := line(t)
	ch := n.openChannel(a, b, false, AnnounceDepth)
	n.pump()
	sigsBefore := n.sent(a, b, lnwire.MsgAnnouncementSignatures)
	n.disconnect(a, b)
	a.start()
	n.clock.advance(time.Minute)
	if err := a.g.AnnounceChannel(ch.local[0]); err != nil {
		t.Fatal(err)
	}
	if err := a.g.ChannelDepth(ch.scid, 100); err != nil {
		t.Fatal(err)
	}
	n.connect(a, b)
	n.pump()
	if got := n.sent(a, b, lnwire.MsgAnnouncementSignatures); got != sigsBefore {
		t.Errorf("announcement_signatures sent again after restart: %d -> %d", sigsBefore, got)
	}
	// The refreshed update after restart is newer and reaches carol.
	dirA := 0
	if b.id.Less(a.id) {
		dirA = 1
	}
	if p := wantChannel(t, c, ch.scid).Policies[dirA]; p.Timestamp < uint32(n.clock.Now().Unix()) {
		t.Errorf("carol's policy of alice is from %d", p.Timestamp)
	}
}

func TestNilAndForeignMessages(t *testing.T) {
	_, a, b, _ := line(t)
	for _, m := range []lnwire.Message{nil, (*gossip.ChannelUpdate)(nil), &lnwire.Ping{}} {
		res, err := a.g.HandleMessage(b.id, m)
		if err == nil || res.Reason != ReasonUnexpected || res.Penalty != 0 {
			t.Errorf("%T: %+v %v", m, res, err)
		}
	}
}

func TestIdleChannelsRefreshedAndZombiesPruned(t *testing.T) {
	n, a, b, c := line(t)
	ours := n.openChannel(a, b, false, AnnounceDepth)
	n.pump()
	ann, keys, _ := n.signedAnnouncement(20)
	if _, err := c.g.HandleMessage(b.id, ann); err != nil {
		t.Fatal(err)
	}
	u := signedUpdate(t, keys[0], ann.ShortChannelID, 0, uint32(n.clock.Now().Unix()), 1)
	if _, err := c.g.HandleMessage(b.id, u); err != nil {
		t.Fatal(err)
	}
	// Three weeks pass, one day at a time: our channel stays fresh,
	// the silent one goes.
	for day := 0; day < 21; day++ {
		n.clock.advance(24 * time.Hour)
		n.pump()
	}
	if c.graph.HasChannel(ann.ShortChannelID) {
		t.Error("zombie channel kept")
	}
	wantChannel(t, c, ours.scid)
}

func TestLegacyPeerSync(t *testing.T) {
	n, a, b, c := line(t)
	ch := n.openChannel(a, b, false, AnnounceDepth)
	n.pump()
	// A peer without gossip_queries asks for the dump with
	// initial_routing_sync, and is sent no filter.
	d := n.addNode("dave", Limits{})
	n.mu.Lock()
	n.links[linkKey(c.id, d.id)] = true
	n.mu.Unlock()
	c.g.PeerConnected(d.id, lnwire.NewFeatureVector(lnwire.InitialRoutingSync+1))
	d.g.PeerConnected(c.id, lnwire.NewFeatureVector(lnwire.InitialRoutingSync+1))
	n.pump()
	wantChannel(t, d, ch.scid)
	if got := n.sent(c, d, lnwire.MsgGossipTimestampFilter); got != 0 {
		t.Errorf("filter sent to a peer without gossip_queries")
	}
	// New gossip is relayed to it without a filter.
	ch2 := n.openChannel(b, c, false, AnnounceDepth)
	n.pump()
	wantChannel(t, d, ch2.scid)
}

func TestFilterLimitsRelay(t *testing.T) {
	n, a, b, c := line(t)
	// Carol wants nothing older than an hour from now.
	future := uint32(n.clock.Now().Add(time.Hour).Unix())
	b.g.HandleMessage(c.id, &gossip.GossipTimestampFilter{ChainHash: testChain, FirstTimestamp: future, TimestampRange: 1000})
	ch := n.openChannel(a, b, false, AnnounceDepth)
	n.pump()
	wantChannel(t, b, ch.scid)
	if c.graph.HasChannel(ch.scid) || n.sent(b, c, lnwire.MsgChannelUpdate) != 0 {
		t.Fatal("relay ignored carol's filter")
	}
}

// TestOwnChannelLearnedFromGossip loses bob's announcement_signatures:
// alice learns her channel's announcement from bob's broadcast instead,
// and still publishes her side.
func TestOwnChannelLearnedFromGossip(t *testing.T) {
	n, a, b, c := line(t)
	n.drop = func(d delivery) bool {
		return d.from == b.id && d.to == a.id &&
			lnwire.MessageType(binary.BigEndian.Uint16(d.raw)) == lnwire.MsgAnnouncementSignatures
	}
	ch := n.openChannel(a, b, false, AnnounceDepth)
	n.pump()
	for _, nd := range []*node{a, c} {
		got := wantChannel(t, nd, ch.scid)
		if !got.Policies[0].Usable() || !got.Policies[1].Usable() {
			t.Errorf("%v sees policies %+v", nd.id, got.Policies)
		}
		if info, _ := nd.graph.Node(a.id); info.Timestamp == 0 {
			t.Errorf("%v lacks alice's node_announcement", nd.id)
		}
	}
}
