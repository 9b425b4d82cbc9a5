package chain

import (
	"testing"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/flash-ln/flash/onchain"
)

// connect makes b dial a persistently and waits for both handshakes.
func connect(t testing.TB, a, b *Chain) {
	t.Helper()
	na, nb := a.NumPeers(), b.NumPeers()
	if err := b.ConnectPeer(a.ListenAddr().String(), true); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "handshake", func() bool { return a.NumPeers() > na && b.NumPeers() > nb })
}

func sameTip(a, b *Chain) func() bool {
	return func() bool { return tipOf(a) == tipOf(b) }
}

func TestRelayBlocksAndTransactions(t *testing.T) {
	a := newTestChain(t)
	b := newTestChain(t)
	key := newTestKey(t)
	hashes := mine(t, a, 101, key.addr) // before connecting: b catches up
	connect(t, a, b)
	waitFor(t, "b to sync a's 101 blocks", sameTip(a, b))
	waitFor(t, "b to be current", b.IsCurrent)

	// A block mined on either side reaches the other.
	colB := collect(t, b)
	h := mine(t, a, 1, nil)[0]
	waitFor(t, "block a→b", func() bool { return tipOf(b) == h })
	if ev := colB.next(t, blockEvents); ev.Kind != onchain.BlockConnected || ev.Hash != h || ev.Height != 102 {
		t.Fatalf("b saw %v %s@%d", ev.Kind, ev.Hash, ev.Height)
	}
	h = mine(t, b, 1, nil)[0]
	waitFor(t, "block b→a", func() bool { return tipOf(a) == h })

	// A transaction sent on a reaches b's mempool.
	tx := key.spend(t, coinbaseOf(t, a, hashes[0]), key.pkScript, 1, 5000)
	if err := a.SendTransaction(tx); err != nil {
		t.Fatal(err)
	}
	ev := colB.next(t, func(ev onchain.Event) bool { return ev.Kind == onchain.TxAccepted })
	if *ev.Tx.Hash() != tx.TxHash() {
		t.Fatalf("b accepted %s, want %s", ev.Tx.Hash(), tx.TxHash())
	}
	// Mined on b, it leaves both mempools.
	h = mine(t, b, 1, nil)[0]
	waitFor(t, "block with tx to reach a", func() bool { return tipOf(a) == h })
	waitFor(t, "a's mempool to empty", func() bool { return len(a.MempoolTxs()) == 0 })
	if n := len(b.MempoolTxs()); n != 0 {
		t.Fatalf("b's mempool holds %d txs", n)
	}
}

func TestReorgToMostWork(t *testing.T) {
	a := newTestChain(t)
	b := newTestChain(t)
	key := newTestKey(t)

	// A shared history of 101 blocks, copied from a to b.
	shared := mine(t, a, 101, key.addr)
	for _, h := range shared {
		blk, err := a.BlockByHash(h)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.SubmitBlock(btcutil.NewBlock(blk.MsgBlock())); err != nil {
			t.Fatalf("copy block: %v", err)
		}
	}

	// Split: a confirms a payment in 2 blocks, b mines 3 empty ones.
	tx := key.spend(t, coinbaseOf(t, a, shared[0]), key.pkScript, 1, 5000)
	if err := a.SendTransaction(tx); err != nil {
		t.Fatal(err)
	}
	aSide := mine(t, a, 2, nil)
	bSide := mine(t, b, 3, nil)
	if blk, _ := a.BlockByHash(aSide[0]); len(blk.Transactions()) != 2 {
		t.Fatal("payment not mined on a's side")
	}

	col := collect(t, a)
	connect(t, b, a)
	waitFor(t, "a to reorganise to b's tip", func() bool { return tipOf(a) == bSide[2] })
	waitFor(t, "both on b's tip", sameTip(a, b))

	want := []struct {
		kind onchain.EventKind
		hash chainhash.Hash
	}{
		{onchain.BlockDisconnected, aSide[1]},
		{onchain.BlockDisconnected, aSide[0]},
		{onchain.BlockConnected, bSide[0]},
		{onchain.BlockConnected, bSide[1]},
		{onchain.BlockConnected, bSide[2]},
	}
	for i, w := range want {
		ev := col.next(t, blockEvents)
		if ev.Kind != w.kind || ev.Hash != w.hash {
			t.Fatalf("event %d: %v %s, want %v %s", i, ev.Kind, ev.Hash, w.kind, w.hash)
		}
	}
	// The payment from the orphaned block is back in a's mempool.
	waitFor(t, "payment back in the mempool", func() bool {
		for _, m := range a.MempoolTxs() {
			if *m.Hash() == tx.TxHash() {
				return true
			}
		}
		return false
	})
	if !a.MainChainHasBlock(bSide[0]) || a.MainChainHasBlock(aSide[0]) {
		t.Fatal("main chain membership wrong after reorg")
	}
	// Orphaned blocks stay readable, so consumers can undo them.
	if _, err := a.BlockByHash(aSide[1]); err != nil {
		t.Fatalf("orphaned block: %v", err)
	}
}

func TestSyncAcrossHeaderBatches(t *testing.T) {
	if testing.Short() {
		t.Skip("mines 2,050 blocks")
	}
	a := newTestChain(t)
	mine(t, a, 2050, nil) // more than one headers message (2,000)
	b := newTestChain(t, noListen)
	if err := b.ConnectPeer(a.ListenAddr().String(), false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b to sync 2,050 blocks", sameTip(a, b))
	waitFor(t, "b to be current", b.IsCurrent)
}

func TestPersistentPeerIsRedialled(t *testing.T) {
	dirA := t.TempDir()
	a, err := New(Config{DataDir: dirA, Listen: "127.0.0.1:0", Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	addr := a.ListenAddr().String()
	b := newTestChain(t, noListen, func(cfg *Config) { cfg.ConnectPeers = []string{addr} })
	waitFor(t, "b to connect", func() bool { return b.NumPeers() == 1 })

	if err := a.Stop(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b to notice", func() bool { return b.NumPeers() == 0 })

	// The same node comes back on the same address; b redials it.
	a2, err := New(Config{DataDir: dirA, Listen: addr, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer a2.Stop()
	if err := a2.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b to redial", func() bool { return b.NumPeers() == 1 })
	h := mine(t, a2, 1, nil)[0]
	waitFor(t, "block to reach b", func() bool { return tipOf(b) == h })
}

func TestConnectPeerErrors(t *testing.T) {
	c := newTestChain(t)
	for _, addr := range []string{"", "nonsense", "127.0.0.1:notaport"} {
		if err := c.ConnectPeer(addr, false); err == nil {
			t.Errorf("ConnectPeer(%q) succeeded", addr)
		}
	}
}

func TestRelayThroughMiddleNode(t *testing.T) {
	a := newTestChain(t)
	b := newTestChain(t)
	c := newTestChain(t)
	connect(t, a, b) // b dials a
	connect(t, b, c) // c dials b
	for _, n := range []int{1, 50, 1} {
		mine(t, a, n, nil)
		waitFor(t, "c to follow a through b", sameTip(a, c))
	}
	mine(t, c, 5, nil)
	waitFor(t, "a to follow c through b", sameTip(a, c))
	for _, ch := range []*Chain{a, b, c} {
		if ch.IsBanned("127.0.0.1") {
			t.Fatal("an honest peer was banned")
		}
	}
}
