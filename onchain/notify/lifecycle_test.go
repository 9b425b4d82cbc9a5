package notify

import (
	"errors"
	"runtime"
	"testing"

	"github.com/btcsuite/btcd/wire"
)

func TestLifecycle(t *testing.T) {
	before := runtime.NumGoroutine()
	chain := newFakeChain()
	chain.MineN(2)
	n := New(Config{Chain: chain, Logger: testLogger(t)})
	tx := testTx("lifecycle")
	op := wire.OutPoint{Hash: tx.TxHash()}

	if _, err := n.RegisterConf(tx.TxHash(), nil, 1, 0); !errors.Is(err, ErrNotStarted) {
		t.Errorf("register before start: %v, want ErrNotStarted", err)
	}
	if got := n.BestHeight(); got != -1 {
		t.Errorf("best height before start %d, want -1", got)
	}
	if err := n.Start(); err != nil {
		t.Fatal(err)
	}
	if err := n.Start(); err == nil {
		t.Error("second start accepted")
	}
	if got := n.BestHeight(); got != 2 {
		t.Errorf("best height %d, want 2", got)
	}
	conf, err := n.RegisterConf(tx.TxHash(), nil, 3, 0)
	if err != nil {
		t.Fatal(err)
	}
	spend, err := n.RegisterSpend(op, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	epochs, err := n.RegisterBlockEpochs()
	if err != nil {
		t.Fatal(err)
	}
	mempool, err := n.RegisterMempoolSpend(op)
	if err != nil {
		t.Fatal(err)
	}
	chain.Accept(testTx("unread mempool spender", op))
	chain.Mine(tx)
	recv(t, epochs.Epochs, "tip")
	// Nothing is read from here on: Stop must not wait for consumers.
	chain.MineN(5)

	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, conf.Confirmed, "Confirmed")
	waitClosed(t, conf.NegativeConf, "NegativeConf")
	waitClosed(t, conf.Updates, "Updates")
	waitClosed(t, spend.Spend, "Spend")
	waitClosed(t, spend.Reorg, "Reorg")
	waitClosed(t, epochs.Epochs, "Epochs")
	waitClosed(t, mempool.Spenders, "Spenders")
	conf.Cancel() // after Stop: harmless
	if _, err := n.RegisterSpend(op, nil, 0); !errors.Is(err, ErrStopped) {
		t.Errorf("register after stop: %v, want ErrStopped", err)
	}
	if _, err := n.RegisterBlockEpochs(); !errors.Is(err, ErrStopped) {
		t.Errorf("register after stop: %v, want ErrStopped", err)
	}
	if err := n.Stop(); err != nil {
		t.Errorf("second stop: %v", err)
	}
	if err := n.Start(); !errors.Is(err, ErrStopped) {
		t.Errorf("start after stop: %v, want ErrStopped", err)
	}
	eventually(t, "goroutines to exit", func() bool { return runtime.NumGoroutine() <= before })
}

func TestCancel(t *testing.T) {
	h := newHarness(t, 0)
	tx := testTx("cancelled")
	op := wire.OutPoint{Hash: tx.TxHash()}
	conf, err := h.n.RegisterConf(tx.TxHash(), nil, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	spend, err := h.n.RegisterSpend(op, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	epochs, err := h.n.RegisterBlockEpochs()
	if err != nil {
		t.Fatal(err)
	}
	conf.Cancel()
	spend.Cancel()
	epochs.Cancel()
	conf.Cancel() // twice is harmless
	waitClosed(t, conf.Confirmed, "Confirmed")
	waitClosed(t, spend.Spend, "Spend")
	waitClosed(t, epochs.Epochs, "Epochs")

	h.chain.Mine(tx, testTx("spender", op))
	h.quiet()
	h.n.mu.Lock()
	defer h.n.mu.Unlock()
	if len(h.n.confs)+len(h.n.spends)+len(h.n.epochs)+len(h.n.confsByBlock)+len(h.n.spendsByBlock) != 0 {
		t.Error("state left after cancelling every registration")
	}
}

// TestCancelDuringScan cancels while a long historical scan runs.
func TestCancelDuringScan(t *testing.T) {
	h := newHarness(t, 0)
	h.chain.MineN(500)
	h.sync()
	tx := testTx("never mined")
	for range 5 {
		ev, err := h.n.RegisterConf(tx.TxHash(), nil, 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		ev.Cancel()
	}
	h.sync() // waits for the scans to end
}

// TestChainStreamEnds: a chain that stops closes the event stream; the
// notifier stays usable for Cancel and Stop.
func TestChainStreamEnds(t *testing.T) {
	h := newHarness(t, 0)
	tx := testTx("orphan")
	ev, err := h.n.RegisterConf(tx.TxHash(), nil, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	h.chain.Close()
	ev.Cancel()
	waitClosed(t, ev.Confirmed, "Confirmed")
}

// TestStartupEventsAlreadyApplied: blocks connected between the notifier's
// subscription and its reading of the tip arrive as events too and must be
// recognised as already processed.
func TestStartupEventsAlreadyApplied(t *testing.T) {
	before := runtime.NumGoroutine()
	chain := newFakeChain()
	chain.MineN(5)
	tx := testTx("startup")
	chain.onSubscribe = func() {
		chain.Mine(tx)
		chain.Reorg(1, nil, nil) // tx reorganised out again
		chain.Mine()
	}
	n := New(Config{Chain: chain, Logger: testLogger(t)})
	if err := n.Start(); err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, chain: chain, n: n}
	t.Cleanup(func() {
		n.Stop()
		eventually(t, "goroutines to exit", func() bool { return runtime.NumGoroutine() <= before })
	})
	chain.onSubscribe = nil

	ev, err := n.RegisterConf(tx.TxHash(), nil, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	epochs, err := n.RegisterBlockEpochs()
	if err != nil {
		t.Fatal(err)
	}
	h.sync()
	if got := n.BestHeight(); got != 8 {
		t.Errorf("best height %d, want 8", got)
	}
	if e := recv(t, epochs.Epochs, "tip"); e.Height != 8 {
		t.Errorf("first epoch at %d, want 8", e.Height)
	}
	h.quiet()
	blk := chain.Mine(tx)
	checkConf(t, recv(t, ev.Confirmed, "confirmation"), blk, 9, tx)
	if e := recv(t, epochs.Epochs, "block 9"); e.Height != 9 {
		t.Errorf("epoch at %d, want 9", e.Height)
	}
	h.quiet()
}

// TestResyncAfterMissedEvents: when the stream skips events (the notifier
// falls out of step), the next event that does not fit makes the notifier
// re-read the chain and report what changed.
func TestResyncAfterMissedEvents(t *testing.T) {
	h := newHarness(t, 0)
	h.chain.MineN(3)
	gone := testTx("gone")
	arriving := testTx("arriving")
	h.chain.Mine(gone)
	goneConf, err := h.n.RegisterConf(gone.TxHash(), nil, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	arrivingConf, err := h.n.RegisterConf(arriving.TxHash(), nil, 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	recv(t, goneConf.Confirmed, "first confirmation")
	h.quiet()

	h.chain.mu.Lock()
	h.chain.silent = true
	h.chain.mu.Unlock()
	blocks := h.chain.Reorg(2, []*wire.MsgTx{arriving}, nil)
	h.chain.mu.Lock()
	h.chain.silent = false
	h.chain.mu.Unlock()
	h.chain.Mine()

	if d := recv(t, goneConf.NegativeConf, "negative confirmation"); d != 1 {
		t.Errorf("reorganisation depth %d, want 1", d)
	}
	checkConf(t, recv(t, arrivingConf.Confirmed, "confirmation after resync"), blocks[0], 3, arriving)
	h.quiet()
}

// TestReorgDeeperThanFollowed: a reorganisation below the followed depth
// still ends with the right confirmations, rescanned from the source.
func TestReorgDeeperThanFollowed(t *testing.T) {
	h := newHarness(t, 4)
	h.chain.MineN(10)
	tx := testTx("deep")
	h.chain.Mine(tx)
	ev, err := h.n.RegisterConf(tx.TxHash(), nil, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	h.chain.MineN(9) // tip 20, tx at 11
	recv(t, ev.Confirmed, "first confirmation")
	h.sync()

	branch := make([][]*wire.MsgTx, 12)
	branch[3] = []*wire.MsgTx{tx} // at height 14
	blocks := h.chain.Reorg(10, branch...)
	if d := recv(t, ev.NegativeConf, "negative confirmation"); d != 10 {
		t.Errorf("reorganisation depth %d, want 10", d)
	}
	checkConf(t, recv(t, ev.Confirmed, "confirmation on the new branch"), blocks[3], 14, tx)
	h.quiet()
	if got := h.n.BestHeight(); got != 22 {
		t.Errorf("best height %d, want 22", got)
	}
}
