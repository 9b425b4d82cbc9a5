package notify

import (
	"errors"
	"math"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

func checkSpend(t *testing.T, got SpendDetail, op wire.OutPoint, spender *wire.MsgTx, input uint32,
	blk *wire.MsgBlock, height int32) {

	t.Helper()
	if got.SpentOutPoint != op {
		t.Errorf("spent outpoint %v, want %v", got.SpentOutPoint, op)
	}
	if got.SpenderTxHash != spender.TxHash() {
		t.Errorf("spender %s, want %s", got.SpenderTxHash, spender.TxHash())
	}
	if got.SpendingTx == nil || got.SpendingTx.TxHash() != spender.TxHash() {
		t.Errorf("spending transaction %v, want %s", got.SpendingTx, spender.TxHash())
	}
	if got.SpenderInputIndex != input {
		t.Errorf("input index %d, want %d", got.SpenderInputIndex, input)
	}
	if got.SpendingHeight != height || got.SpendingBlockHash != blk.BlockHash() {
		t.Errorf("spent at %d in %s, want %d in %s", got.SpendingHeight, got.SpendingBlockHash,
			height, blk.BlockHash())
	}
}

func TestSpend(t *testing.T) {
	tests := []struct {
		name string
		// registerAfter registers once the spend is buried under this
		// many blocks; -1 registers before the spend.
		registerAfter int
		// hint is relative to the funding transaction's height.
		hint int32
		// fires is false when the hint lies above the spend.
		fires bool
	}{
		{"live", -1, 0, true},
		{"historical", 5, 0, true},
		{"historical, spend at the tip", 0, 0, true},
		{"historical, hint from genesis", 3, -100, true},
		{"historical, hint above the spend", 3, 5, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, 0)
			h.chain.MineN(3)
			funding := testTx("funding")
			h.chain.Mine(funding)
			_, fundingHeight := h.chain.Tip()
			op := wire.OutPoint{Hash: funding.TxHash(), Index: 1}
			hint := max(0, fundingHeight+tc.hint)

			var ev *SpendEvent
			register := func() {
				var err error
				ev, err = h.n.RegisterSpend(op, funding.TxOut[1].PkScript, hint)
				if err != nil {
					t.Fatal(err)
				}
			}
			if tc.registerAfter < 0 {
				register()
				h.chain.Mine()
				h.quiet()
			}
			other := wire.OutPoint{Hash: chainhash.HashH([]byte("other")), Index: 7}
			spender := testTx("spender", other, op)
			blk := h.chain.Mine(testTx("unrelated", wire.OutPoint{Hash: funding.TxHash(), Index: 0}), spender)
			_, spendHeight := h.chain.Tip()
			if tc.registerAfter >= 0 {
				h.chain.MineN(tc.registerAfter)
				h.sync()
				register()
			}
			if !tc.fires {
				h.quiet()
				return
			}
			checkSpend(t, recv(t, ev.Spend, "spend"), op, spender, 1, blk, spendHeight)
			h.chain.MineN(2)
			h.quiet()
		})
	}
}

// TestSpendReorg: the spending transaction is reorganised out, and the new
// branch has another spender, or none.
func TestSpendReorg(t *testing.T) {
	tests := []struct {
		name        string
		depth       int
		branch      int // new block with the replacement spender, -1: none
		blocks      int
		replacement bool
	}{
		{"replaced at the same height", 1, 0, 1, true},
		{"replaced higher", 2, 2, 3, true},
		{"no spend on the new branch", 2, -1, 3, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, 0)
			h.chain.MineN(3)
			funding := testTx("funding")
			h.chain.Mine(funding)
			op := wire.OutPoint{Hash: funding.TxHash(), Index: 0}
			ev, err := h.n.RegisterSpend(op, nil, 1)
			if err != nil {
				t.Fatal(err)
			}
			first := testTx("first spender", op)
			blk := h.chain.Mine(first)
			_, height := h.chain.Tip()
			h.chain.MineN(tc.depth - 1)
			checkSpend(t, recv(t, ev.Spend, "first spend"), op, first, 0, blk, height)

			second := testTx("second spender", wire.OutPoint{Hash: chainhash.HashH([]byte("x"))}, op)
			branch := make([][]*wire.MsgTx, tc.blocks)
			if tc.branch >= 0 {
				branch[tc.branch] = []*wire.MsgTx{second}
			}
			_, tipBefore := h.chain.Tip()
			blocks := h.chain.Reorg(tc.depth, branch...)
			recv(t, ev.Reorg, "spend reorganised out")
			if !tc.replacement {
				h.quiet()
				return
			}
			newHeight := tipBefore - int32(tc.depth) + 1 + int32(tc.branch)
			checkSpend(t, recv(t, ev.Spend, "second spend"), op, second, 1, blocks[tc.branch], newHeight)
			h.quiet()
		})
	}
}

func TestSpendManyRegistrations(t *testing.T) {
	h := newHarness(t, 0)
	funding := testTx("funding")
	h.chain.Mine(funding)
	op := wire.OutPoint{Hash: funding.TxHash(), Index: 1}
	var events []*SpendEvent
	for i := range 20 {
		ev, err := h.n.RegisterSpend(op, nil, int32(i%3))
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, ev)
	}
	spender := testTx("spender", op)
	blk := h.chain.Mine(spender)
	_, height := h.chain.Tip()
	for i := range 10 {
		ev, err := h.n.RegisterSpend(op, nil, int32(i))
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, ev)
	}
	for i, ev := range events {
		if i%4 == 3 {
			ev.Cancel()
			waitClosed(t, ev.Spend, "cancelled Spend")
			continue
		}
		checkSpend(t, recv(t, ev.Spend, "spend"), op, spender, 0, blk, height)
	}
	h.quiet()
	for _, ev := range events {
		ev.Cancel()
	}
	h.n.mu.Lock()
	left, byBlock := len(h.n.spends), len(h.n.spendsByBlock)
	h.n.mu.Unlock()
	if left != 0 || byBlock != 0 {
		t.Errorf("%d watches and %d block entries left after cancelling all", left, byBlock)
	}
}

// TestSpendMempoolIgnored: only confirmed spends count.
func TestSpendMempoolIgnored(t *testing.T) {
	h := newHarness(t, 0)
	funding := testTx("funding")
	h.chain.Mine(funding)
	op := wire.OutPoint{Hash: funding.TxHash()}
	ev, err := h.n.RegisterSpend(op, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	spender := testTx("spender", op)
	h.chain.mu.Lock()
	h.chain.emitLocked(mempoolEvent(spender))
	h.chain.mu.Unlock()
	h.chain.Mine()
	h.quiet()
	blk := h.chain.Mine(spender)
	_, height := h.chain.Tip()
	checkSpend(t, recv(t, ev.Spend, "spend"), op, spender, 0, blk, height)
}

func TestSpendBadArguments(t *testing.T) {
	h := newHarness(t, 0)
	if _, err := h.n.RegisterSpend(wire.OutPoint{Index: math.MaxUint32}, nil, 0); !errors.Is(err, ErrInvalidRegistration) {
		t.Error("null outpoint accepted")
	}
	if _, err := h.n.RegisterSpend(wire.OutPoint{Index: 1}, nil, -3); !errors.Is(err, ErrInvalidRegistration) {
		t.Error("negative height hint accepted")
	}
}
