package wallet

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
	"go.etcd.io/bbolt"
)

// reorgCase confirms something in one block, replaces that block by a
// longer branch, and checks where the balance lands: never counted twice.
type reorgCase struct {
	name string
	// forget makes the chain drop disconnected transactions instead of
	// taking them back into its mempool.
	forget bool
	// before runs on a wallet funded with 100000 sat and returns what to
	// confirm in the block that will be orphaned.
	before func(h *harness) []*wire.MsgTx
	// branch is the content of the first block of the winning branch.
	branch func(h *harness, orphaned []*wire.MsgTx) []*wire.MsgTx
	// afterReorg is the balance once the winning branch (two blocks) is
	// the main chain; final the balance once the mempool is mined too.
	afterReorg, final func(orphaned []*wire.MsgTx) Balance
}

func reorgCases() []reorgCase {
	const funded = 100_000
	const payment = 40_000
	incoming := func(h *harness) []*wire.MsgTx {
		return []*wire.MsgTx{h.outsidePayment(h.newScript(), payment)}
	}
	nothing := func(*harness, []*wire.MsgTx) []*wire.MsgTx { return nil }
	fee := func(tx *wire.MsgTx) btcutil.Amount { return funded - sumOut(tx) }
	return []reorgCase{{
		name:       "payment returns to the mempool and confirms again",
		before:     incoming,
		branch:     nothing,
		afterReorg: func([]*wire.MsgTx) Balance { return Balance{ConfirmedSat: funded, UnconfirmedSat: payment} },
		final:      func([]*wire.MsgTx) Balance { return Balance{ConfirmedSat: funded + payment} },
	}, {
		name:       "payment confirmed again in the winning branch",
		before:     incoming,
		branch:     func(_ *harness, o []*wire.MsgTx) []*wire.MsgTx { return o },
		afterReorg: func([]*wire.MsgTx) Balance { return Balance{ConfirmedSat: funded + payment} },
		final:      func([]*wire.MsgTx) Balance { return Balance{ConfirmedSat: funded + payment} },
	}, {
		name:   "payment double-spent in the winning branch",
		before: incoming,
		branch: func(_ *harness, o []*wire.MsgTx) []*wire.MsgTx {
			double := o[0].Copy()
			double.TxOut[0].PkScript = foreignScript(9)
			return []*wire.MsgTx{double}
		},
		afterReorg: func([]*wire.MsgTx) Balance { return Balance{ConfirmedSat: funded} },
		final:      func([]*wire.MsgTx) Balance { return Balance{ConfirmedSat: funded} },
	}, {
		name:       "payment dropped by the mempool",
		forget:     true,
		before:     incoming,
		branch:     nothing,
		afterReorg: func([]*wire.MsgTx) Balance { return Balance{ConfirmedSat: funded} },
		final:      func([]*wire.MsgTx) Balance { return Balance{ConfirmedSat: funded} },
	}, {
		name: "our own payment returns and confirms again",
		before: func(h *harness) []*wire.MsgTx {
			tx, err := h.w.SendToAddress(context.Background(),
				foreignAddr(h.t, 3, h.chain.params), payment, 1000)
			if err != nil {
				h.t.Fatal(err)
			}
			return []*wire.MsgTx{tx}
		},
		branch: nothing,
		afterReorg: func(o []*wire.MsgTx) Balance {
			return Balance{UnconfirmedSat: funded - payment - fee(o[0])}
		},
		final: func(o []*wire.MsgTx) Balance {
			return Balance{ConfirmedSat: funded - payment - fee(o[0])}
		},
	}, {
		name:   "our own payment dropped by the mempool is rebroadcast",
		forget: true,
		before: func(h *harness) []*wire.MsgTx {
			tx, err := h.w.SendToAddress(context.Background(),
				foreignAddr(h.t, 3, h.chain.params), payment, 1000)
			if err != nil {
				h.t.Fatal(err)
			}
			return []*wire.MsgTx{tx}
		},
		branch: nothing,
		afterReorg: func(o []*wire.MsgTx) Balance {
			return Balance{UnconfirmedSat: funded - payment - fee(o[0])}
		},
		final: func(o []*wire.MsgTx) Balance {
			return Balance{ConfirmedSat: funded - payment - fee(o[0])}
		},
	}, {
		name: "coinbase orphaned",
		before: func(h *harness) []*wire.MsgTx {
			// Marks the block to orphan: its coinbase pays us.
			return nil
		},
		branch:     nothing,
		afterReorg: func([]*wire.MsgTx) Balance { return Balance{ConfirmedSat: funded} },
		final:      func([]*wire.MsgTx) Balance { return Balance{ConfirmedSat: funded} },
	}}
}

func TestReorg(t *testing.T) {
	for _, tc := range reorgCases() {
		for _, restart := range []bool{false, true} {
			name := tc.name
			if restart {
				name += " while stopped"
			}
			t.Run(name, func(t *testing.T) { runReorgCase(t, tc, restart) })
		}
	}
}

func runReorgCase(t *testing.T, tc reorgCase, whileStopped bool) {
	h := newHarness(t)
	h.chain.forgetOnReorg = tc.forget
	h.fund(100_000)
	h.chain.mineEmpty(3)
	h.sync()

	orphaned := tc.before(h)
	h.sync()
	// The block to orphan pays us its coinbase as well.
	h.chain.mineOnly(h.newScript(), orphaned...)
	h.chain.mineEmpty(1)
	h.sync()
	if got := h.balance(); got.ImmatureSat != 50e8 {
		t.Fatalf("before the reorganisation: %+v", got)
	}

	if whileStopped {
		h.stop()
	}
	h.chain.disconnect(2)
	h.chain.mineOnly(nil, tc.branch(h, orphaned)...)
	h.chain.mineEmpty(2)
	if whileStopped {
		h.open()
		h.start()
	}
	h.sync()
	h.wantBalance(tc.afterReorg(orphaned))

	h.chain.mine(nil)
	h.sync()
	h.wantBalance(tc.final(orphaned))

	// Restarting changes nothing.
	h.restart()
	h.wantBalance(tc.final(orphaned))
}

// TestFailureMidCatchUp breaks the chain in the middle of a long catch-up:
// the wallet keeps the last committed batch, never a partial block, and
// completes the catch-up at the next start.
func TestFailureMidCatchUp(t *testing.T) {
	h := newHarness(t)
	h.fund(100_000)
	_, start := h.chain.BestBlock()
	h.stop()
	script := h.scriptOfNewAddress()
	for i := range catchUpBatch + 50 {
		if i%10 == 0 {
			h.chain.mineOnly(nil, h.outsidePayment(script, 1000))
		} else {
			h.chain.mineOnly(nil)
		}
	}
	h.chain.fetchBudget = catchUpBatch + 20
	h.open()
	if err := h.w.Start(); err == nil {
		t.Fatal("start succeeded on a failing chain")
	}
	if _, height := h.w.SyncedTo(); height != start+catchUpBatch {
		t.Fatalf("synced to %d after the failure, want the batch boundary %d",
			height, start+catchUpBatch)
	}
	if got, want := h.balance().ConfirmedSat, btcutil.Amount(100_000+1000*((catchUpBatch+9)/10)); got != want {
		t.Fatalf("confirmed %d at the batch boundary, want %d", got, want)
	}
	h.chain.mu.Lock()
	h.chain.fetchBudget = 0
	h.chain.mu.Unlock()
	h.start()
	h.sync()
	h.wantBalance(h.modelBalance())
	h.wantBalance(Balance{ConfirmedSat: 100_000 + 1000*((catchUpBatch+50+9)/10)})
}

// scriptOfNewAddress hands out an address while the wallet is stopped, as
// the wallet's database is closed then.
func (h *harness) scriptOfNewAddress() []byte {
	h.t.Helper()
	h.open()
	script := h.newScript()
	if err := h.db.Close(); err != nil {
		h.t.Fatal(err)
	}
	h.db = nil
	return script
}

// liarChain claims a longer chain than it can serve.
type liarChain struct{ *fakeChain }

func (c liarChain) BestBlock() (chainhash.Hash, int32) {
	hash, height := c.fakeChain.BestBlock()
	return hash, height + 5
}

// TestChainContradictsItself: a chain whose answers do not fit together
// stops the catch-up with an error instead of spinning or corrupting the
// wallet.
func TestChainContradictsItself(t *testing.T) {
	h := newHarness(t)
	h.fund(5000)
	h.stop()
	h.chain.mineEmpty(3)

	db, err := bbolt.Open(filepath.Join(h.dir, "flash.db"), 0o600, &bbolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	liar := liarChain{h.chain}
	w, err := Open(Config{DB: db, SeedFile: filepath.Join(h.dir, "seed"),
		Params: h.chain.params, Chain: liar, Broadcaster: h.chain})
	if err != nil {
		t.Fatal(err)
	}
	err = w.Start()
	if err == nil || !strings.Contains(err.Error(), "keeps changing") {
		t.Fatalf("start on a lying chain: %v", err)
	}
	// What it could verify, it applied.
	_, tip := h.chain.BestBlock()
	if _, height := w.SyncedTo(); height != tip {
		t.Fatalf("synced to %d, want %d", height, tip)
	}
	if bal, err := w.Balance(); err != nil || bal != (Balance{ConfirmedSat: 5000}) {
		t.Fatalf("balance %+v, %v", bal, err)
	}
}
