package notify

import (
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
)

const waitTimeout = 10 * time.Second

// eventually polls cond until it holds or the deadline passes.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

type testLogWriter struct{ t testing.TB }

func (w testLogWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testLogWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// harness is a started notifier on a fake chain. Its cleanup stops the
// notifier and checks that every goroutine started since is gone.
type harness struct {
	t     testing.TB
	chain *fakeChain
	n     *Notifier
}

func newHarness(t testing.TB, depth int32) *harness {
	t.Helper()
	before := runtime.NumGoroutine()
	h := &harness{t: t, chain: newFakeChain()}
	h.n = New(Config{Chain: h.chain, Logger: testLogger(t), ReorgDepth: depth})
	if err := h.n.Start(); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		if err := h.n.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
		eventually(t, "goroutines to exit", func() bool {
			return runtime.NumGoroutine() <= before
		})
	})
	return h
}

// tip is the notifier's tip hash.
func (n *Notifier) tipHash() chainhash.Hash {
	n.mu.Lock()
	defer n.mu.Unlock()
	h, _ := n.view.tip()
	return h
}

// settled reports whether the notifier processed all the events emitted,
// stands at tip, and runs no historical scan.
func (n *Notifier) settled(tip chainhash.Hash, events uint64) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.view.empty() || n.scans > 0 || n.handled != events {
		return false
	}
	h, _ := n.view.tip()
	return h == tip
}

// backlog counts the ordered notifications queued and not yet received.
func (n *Notifier) backlog() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	total := 0
	for _, w := range n.confs {
		for _, r := range w.regs {
			total += r.box.backlog()
		}
	}
	for _, w := range n.spends {
		for _, r := range w.regs {
			total += r.box.backlog()
		}
	}
	for _, r := range n.epochs {
		total += r.box.backlog()
	}
	for _, regs := range n.mempoolSpends {
		for _, r := range regs {
			total += r.box.backlog()
		}
	}
	return total
}

// sync waits until the notifier has processed the chain's current tip.
func (h *harness) sync() {
	h.t.Helper()
	tip, _ := h.chain.Tip()
	events := h.chain.emitted()
	eventually(h.t, "notifier to reach the chain tip", func() bool { return h.n.settled(tip, events) })
}

// quiet syncs and checks that no notification is waiting to be received.
func (h *harness) quiet() {
	h.t.Helper()
	h.sync()
	// The delivery goroutine counts a notification as received only
	// after the receiver has it, so a value just read may still count
	// for a moment; one that nobody reads counts until the deadline.
	eventually(h.t, "no notification pending", func() bool { return h.n.backlog() == 0 })
}

func recv[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v, ok := <-ch:
		if !ok {
			t.Fatalf("%s: channel closed", what)
		}
		return v
	case <-time.After(waitTimeout):
		t.Fatalf("timed out waiting for %s", what)
	}
	panic("unreachable")
}

// waitUpdate reads Updates until it reports want.
func waitUpdate(t testing.TB, ch <-chan uint32, want uint32) {
	t.Helper()
	deadline := time.After(waitTimeout)
	for {
		select {
		case v := <-ch:
			if v == want {
				return
			}
		case <-deadline:
			t.Fatalf("timed out waiting for update %d", want)
		}
	}
}

// waitClosed waits until ch is closed, discarding values.
func waitClosed[T any](t testing.TB, ch <-chan T, what string) {
	t.Helper()
	deadline := time.After(waitTimeout)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatalf("timed out waiting for %s to close", what)
		}
	}
}
