package graph

import (
	"errors"
	"path/filepath"
	"reflect"
	"sort"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/wire"
	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/router/gossip"
	"go.etcd.io/bbolt"
)

func nodeID(t testing.TB, n byte) NodeID {
	t.Helper()
	var b [32]byte
	b[0], b[31] = 0x22, n
	k, _ := btcec.PrivKeyFromBytes(b[:])
	return gossip.NewNodeID(k.PubKey())
}

func scid(h uint32) lnwire.ShortChannelID { return lnwire.ShortChannelID{BlockHeight: h, TxIndex: 1} }

func announce(t testing.TB, g *Graph, h uint32, a, b NodeID, capSat int64) {
	t.Helper()
	ann := gossip.NewChannelAnnouncement(lnwire.ChainHash{}, scid(h), nil, a, b, a, b)
	f := gossip.Funding{OutPoint: wire.OutPoint{Index: h}, Capacity: capSat}
	if err := g.AddChannel(ann, f); err != nil {
		t.Fatal(err)
	}
}

func update(h uint32, dir int, ts uint32, fee uint32) *gossip.ChannelUpdate {
	return &gossip.ChannelUpdate{
		ShortChannelID: scid(h), Timestamp: ts, MessageFlags: gossip.MsgFlagMustBeOne,
		ChannelFlags: gossip.ChannelFlags(dir), CltvExpiryDelta: 40, HTLCMinimumMsat: 1,
		FeeBaseMsat: fee, FeeProportionalMillionths: 10, HTLCMaximumMsat: 1_000_000,
	}
}

func openDB(t *testing.T, path string) *bbolt.DB {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func TestApplyAndPrune(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "g.db"))
	defer db.Close()
	g, err := Open(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, b, c := nodeID(t, 1), nodeID(t, 2), nodeID(t, 3)
	if a.Less(b) == false {
		a, b = b, a
	}
	announce(t, g, 100, a, b, 1_000_000)
	announce(t, g, 101, b, c, 2_000_000)
	announce(t, g, 102, a, c, 3_000_000)

	dup := gossip.NewChannelAnnouncement(lnwire.ChainHash{}, scid(100), nil, a, b, a, b)
	if err := g.AddChannel(dup, gossip.Funding{Capacity: 1}); !errors.Is(err, ErrDuplicateChannel) {
		t.Fatalf("duplicate channel: %v", err)
	}
	if g.NumNodes() != 3 || g.NumChannels() != 3 {
		t.Fatalf("%d nodes, %d channels", g.NumNodes(), g.NumChannels())
	}

	steps := []struct {
		name string
		u    *gossip.ChannelUpdate
		want error
	}{
		{"first", update(100, 0, 10, 1000), nil},
		{"other direction", update(100, 1, 5, 2000), nil},
		{"newer", update(100, 0, 11, 1500), nil},
		{"stale", update(100, 0, 9, 1), ErrStale},
		{"duplicate", update(100, 0, 11, 1500), ErrDuplicate},
		{"conflict", update(100, 0, 11, 1501), ErrConflict},
		{"unknown channel", update(999, 0, 11, 1), ErrUnknownChannel},
	}
	for _, s := range steps {
		if err := g.ApplyChannelUpdate(s.u); !errors.Is(err, s.want) {
			t.Fatalf("%s: got %v, want %v", s.name, err, s.want)
		}
	}
	ch, ok := g.Channel(scid(100))
	if !ok || ch.Policies[0].FeeBaseMsat != 1500 || ch.Policies[1].FeeBaseMsat != 2000 || ch.Capacity != 1_000_000 {
		t.Fatalf("channel %+v", ch)
	}
	n1, n2, _ := g.ChannelNodes(scid(100))
	if n1 != a || n2 != b {
		t.Fatal("ChannelNodes order")
	}

	na := &gossip.NodeAnnouncement{NodeID: a, Timestamp: 50, RGBColor: [3]byte{1, 2, 3}}
	na.SetAlias("alice")
	_ = na.SetAddresses([]lnwire.Address{{Type: lnwire.AddrHostname, Hostname: "127.0.0.1", Port: 9735}})
	if err := g.ApplyNodeAnnouncement(na); err != nil {
		t.Fatal(err)
	}
	if err := g.ApplyNodeAnnouncement(na); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("repeated node_announcement: %v", err)
	}
	old := *na
	old.Timestamp = 49
	if err := g.ApplyNodeAnnouncement(&old); !errors.Is(err, ErrStale) {
		t.Fatalf("older node_announcement: %v", err)
	}
	stranger := &gossip.NodeAnnouncement{NodeID: nodeID(t, 9), Timestamp: 1}
	if err := g.ApplyNodeAnnouncement(stranger); !errors.Is(err, ErrUnknownNode) {
		t.Fatalf("node without channel: %v", err)
	}
	if n, _ := g.Node(a); n.Alias != "alice" || n.Channels != 2 || len(n.Addresses) != 1 {
		t.Fatalf("node %+v", n)
	}

	// Pruning the channel on the middle index moves the last one into
	// its slot; the index must stay consistent.
	if err := g.PruneChannel(scid(101)); err != nil {
		t.Fatal(err)
	}
	if err := g.PruneChannel(scid(101)); !errors.Is(err, ErrUnknownChannel) {
		t.Fatalf("second prune: %v", err)
	}
	if got, ok := g.ChannelByOutPoint(wire.OutPoint{Index: 102}); !ok || got != scid(102) {
		t.Fatalf("outpoint index after prune: %v %v", got, ok)
	}
	checkIndex(t, g)
	// Pruning a's last two channels forgets a, b and c.
	if err := g.PruneChannel(scid(100)); err != nil {
		t.Fatal(err)
	}
	checkIndex(t, g)
	if _, ok := g.Node(b); ok {
		t.Fatal("node without channels kept")
	}
	announce(t, g, 103, b, nodeID(t, 4), 5)
	checkIndex(t, g)

	// Everything survives a restart.
	want := snapshot(g)
	g2, err := Open(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := snapshot(g2); !reflect.DeepEqual(got, want) {
		t.Fatalf("reloaded graph differs\n got %+v\nwant %+v", got, want)
	}
	if n, _ := g2.Node(a); n.Alias != "alice" {
		t.Fatalf("node announcement lost: %+v", n)
	}
}

type graphSnapshot struct {
	Nodes    []Node
	Channels []Channel
}

func snapshot(g *Graph) graphSnapshot {
	s := graphSnapshot{Nodes: g.Nodes(), Channels: g.Channels()}
	sort.Slice(s.Nodes, func(i, j int) bool { return s.Nodes[i].ID.Less(s.Nodes[j].ID) })
	sort.Slice(s.Channels, func(i, j int) bool {
		return s.Channels[i].ShortChannelID.ToUint64() < s.Channels[j].ShortChannelID.ToUint64()
	})
	return s
}

// checkIndex verifies the in-memory index against itself.
func checkIndex(t *testing.T, g *Graph) {
	t.Helper()
	g.Read(func(r Reader) {
		deg := map[NodeIndex]int{}
		for ci := range g.edges {
			e := r.Edge(ChannelIndex(ci))
			if g.chanIdx[e.SCID] != ChannelIndex(ci) {
				t.Fatalf("scid index of %d", ci)
			}
			for _, ni := range e.Nodes {
				deg[ni]++
				found := false
				for _, c := range r.Channels(ni) {
					found = found || c == ChannelIndex(ci)
				}
				if !found {
					t.Fatalf("channel %d missing from adjacency of %d", ci, ni)
				}
			}
		}
		for id, ni := range g.nodeIdx {
			if r.NodeID(ni) != id || len(r.Channels(ni)) != deg[ni] || deg[ni] == 0 {
				t.Fatalf("node %v: degree %d, adjacency %d", id, deg[ni], len(r.Channels(ni)))
			}
		}
	})
}

func TestGossipMessages(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "g.db"))
	defer db.Close()
	g, err := Open(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, b := nodeID(t, 1), nodeID(t, 2)
	announce(t, g, 100, a, b, 1000)
	announce(t, g, 101, a, b, 1000)
	for _, u := range []*gossip.ChannelUpdate{update(100, 0, 10, 1), update(100, 1, 20, 1), update(101, 0, 30, 1)} {
		if err := g.ApplyChannelUpdate(u); err != nil {
			t.Fatal(err)
		}
	}
	if err := g.ApplyNodeAnnouncement(&gossip.NodeAnnouncement{NodeID: a, Timestamp: 25}); err != nil {
		t.Fatal(err)
	}
	collect := func(f *gossip.GossipTimestampFilter) []string {
		var out []string
		err := g.GossipMessages(f, func(raw []byte) error {
			m, err := gossip.ParseMessage(raw)
			if err != nil {
				return err
			}
			switch m := m.(type) {
			case *gossip.ChannelAnnouncement:
				out = append(out, "ann "+m.ShortChannelID.String())
			case *gossip.ChannelUpdate:
				out = append(out, "upd "+m.ShortChannelID.String())
			case *gossip.NodeAnnouncement:
				out = append(out, "node")
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	all := []string{"ann 100x1x0", "upd 100x1x0", "upd 100x1x0", "ann 101x1x0", "upd 101x1x0", "node"}
	if got := collect(nil); !reflect.DeepEqual(got, all) {
		t.Fatalf("dump %v", got)
	}
	since := []string{"ann 100x1x0", "upd 100x1x0", "ann 101x1x0", "upd 101x1x0", "node"}
	if got := collect(&gossip.GossipTimestampFilter{FirstTimestamp: 15, TimestampRange: 100}); !reflect.DeepEqual(got, since) {
		t.Fatalf("filtered %v", got)
	}
}

func TestCorruptRecordFailsLoad(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "g.db"))
	defer db.Close()
	if _, err := Open(db, nil); err != nil {
		t.Fatal(err)
	}
	err := db.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketGraph).Bucket(bucketChannels).Put(scidKey(1), []byte{1, 2, 3})
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(db, nil); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("got %v, want ErrCorrupt", err)
	}
}

func TestPolicyFee(t *testing.T) {
	p := Policy{FeeBaseMsat: 1000, FeeRatePPM: 1}
	// 1000 + 999_999*1/1e6 rounds down to 1000.
	if got := p.Fee(999_999); got != 1000 {
		t.Fatalf("fee %d", got)
	}
	if got := p.Fee(1_000_000); got != 1001 {
		t.Fatalf("fee %d", got)
	}
}

func TestBatch(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "g.db"))
	defer db.Close()
	g, err := Open(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, b := nodeID(t, 1), nodeID(t, 2)
	var batch Batch
	batch.AddChannel(gossip.NewChannelAnnouncement(lnwire.ChainHash{}, scid(100), nil, a, b, a, b),
		gossip.Funding{OutPoint: wire.OutPoint{Index: 1}, Capacity: 1000})
	batch.ApplyChannelUpdate(update(100, 0, 10, 1)) // sees the channel added before it
	batch.ApplyChannelUpdate(update(100, 0, 9, 1))  // stale within the batch
	batch.ApplyChannelUpdate(update(101, 0, 9, 1))  // unknown
	batch.ApplyNodeAnnouncement(&gossip.NodeAnnouncement{NodeID: b, Timestamp: 3})
	errs, err := g.Apply(&batch)
	if err != nil {
		t.Fatal(err)
	}
	want := []error{nil, nil, ErrStale, ErrUnknownChannel, nil}
	for i := range want {
		if !errors.Is(errs[i], want[i]) || (want[i] == nil) != (errs[i] == nil) {
			t.Fatalf("change %d: got %v, want %v", i, errs[i], want[i])
		}
	}
	g2, err := Open(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(snapshot(g2), snapshot(g)) {
		t.Fatal("batch not persisted")
	}
	if ch, _ := g2.Channel(scid(100)); ch.Policies[0].Timestamp != 10 {
		t.Fatalf("policy %+v", ch.Policies[0])
	}
}

func TestMemoryGraph(t *testing.T) {
	g := New(nil)
	a, b := nodeID(t, 1), nodeID(t, 2)
	announce(t, g, 100, a, b, 1000)
	if err := g.ApplyChannelUpdate(update(100, 1, 10, 1)); err != nil {
		t.Fatal(err)
	}
	if err := g.PruneChannel(scid(100)); err != nil {
		t.Fatal(err)
	}
	if g.NumNodes() != 0 || g.NumChannels() != 0 {
		t.Fatal("prune left state behind")
	}
	if err := g.GossipMessages(nil, func([]byte) error { return nil }); err == nil {
		t.Fatal("memory graph claims stored messages")
	}
}

func FuzzDecodeRecords(f *testing.F) {
	rec := channelRecord{node1: NodeID{2}, node2: NodeID{3}, capacity: 5}
	f.Add(rec.encode())
	f.Add(encodeNodeInfo(&nodeInfo{timestamp: 1, alias: "x", features: []byte{1}, addresses: []byte{1, 2}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		var r channelRecord
		if r.decode(b) == nil {
			if got := r.encode(); !reflect.DeepEqual(got, b) {
				t.Fatalf("channel record does not round-trip")
			}
		}
		if n, err := decodeNodeInfo(b); err == nil {
			_ = encodeNodeInfo(n)
		}
	})
}
