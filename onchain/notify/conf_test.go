package notify

import (
	"errors"
	"testing"

	"github.com/btcsuite/btcd/wire"
)

func checkConf(t *testing.T, got TxConfirmation, blk *wire.MsgBlock, height int32, tx *wire.MsgTx) {
	t.Helper()
	if got.BlockHash != blk.BlockHash() {
		t.Errorf("confirmed in block %s, want %s", got.BlockHash, blk.BlockHash())
	}
	if got.BlockHeight != height {
		t.Errorf("confirmed at height %d, want %d", got.BlockHeight, height)
	}
	if got.Tx == nil || got.Tx.TxHash() != tx.TxHash() {
		t.Fatalf("confirmed transaction %v, want %s", got.Tx, tx.TxHash())
	}
	if int(got.TxIndex) >= len(blk.Transactions) ||
		blk.Transactions[got.TxIndex].TxHash() != tx.TxHash() {
		t.Errorf("transaction index %d does not point at %s", got.TxIndex, tx.TxHash())
	}
}

// TestConfLive registers before the transaction is mined and follows it
// block by block to the requested depth.
func TestConfLive(t *testing.T) {
	tests := []struct {
		name     string
		numConfs uint32
	}{
		{"one confirmation", 1},
		{"two confirmations", 2},
		{"six confirmations", 6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, 0)
			h.chain.MineN(5)
			tx := testTx("live")
			_, tip := h.chain.Tip()
			ev, err := h.n.RegisterConf(tx.TxHash(), tx.TxOut[0].PkScript, tc.numConfs, tip+1)
			if err != nil {
				t.Fatal(err)
			}
			h.quiet()
			h.chain.Mine(testTx("other"))
			h.quiet()

			blk := h.chain.Mine(testTx("before"), tx)
			_, txHeight := h.chain.Tip()
			for confs := uint32(1); confs < tc.numConfs; confs++ {
				waitUpdate(t, ev.Updates, tc.numConfs-confs)
				h.quiet()
				h.chain.Mine()
			}
			got := recv(t, ev.Confirmed, "confirmation")
			checkConf(t, got, blk, txHeight, tx)
			if got.TxIndex != 2 {
				t.Errorf("tx index %d, want 2", got.TxIndex)
			}
			if _, tip := h.chain.Tip(); tip-txHeight+1 != int32(tc.numConfs) {
				t.Errorf("fired at %d confirmations, want %d", tip-txHeight+1, tc.numConfs)
			}
			// Deeper blocks change nothing.
			h.chain.MineN(3)
			h.quiet()
		})
	}
}

// TestConfHistorical registers after the transaction was mined.
func TestConfHistorical(t *testing.T) {
	tests := []struct {
		name     string
		numConfs uint32
		hint     int32 // relative to the transaction's height
		// fires is whether the registration sees the confirmation at
		// once; a hint above the transaction's height hides it.
		fires bool
	}{
		{"deep enough, hint well below", 3, -5, true},
		{"deep enough, hint at the block", 11, 0, true},
		{"not deep yet", 20, -1, true},
		{"hint above the block", 1, 1, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, 0)
			h.chain.MineN(8)
			tx := testTx("historical")
			blk := h.chain.Mine(tx)
			_, txHeight := h.chain.Tip()
			h.chain.MineN(10) // 11 confirmations
			h.sync()

			ev, err := h.n.RegisterConf(tx.TxHash(), nil, tc.numConfs, txHeight+tc.hint)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.fires {
				h.quiet()
				return
			}
			if tc.numConfs > 11 {
				waitUpdate(t, ev.Updates, tc.numConfs-11)
				h.quiet()
				h.chain.MineN(int(tc.numConfs - 11))
			}
			checkConf(t, recv(t, ev.Confirmed, "confirmation"), blk, txHeight, tx)
			h.quiet()
		})
	}
}

// TestConfReorgBeforeDepth: the confirming block goes away before the
// requested depth, so nothing fires until the transaction is mined again.
func TestConfReorgBeforeDepth(t *testing.T) {
	h := newHarness(t, 0)
	h.chain.MineN(3)
	tx := testTx("reorged early")
	ev, err := h.n.RegisterConf(tx.TxHash(), nil, 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	h.chain.Mine(tx)
	h.chain.Mine()
	waitUpdate(t, ev.Updates, 1)

	h.chain.Reorg(2, nil, nil, nil)
	waitUpdate(t, ev.Updates, 3)
	h.quiet()

	blk := h.chain.Mine(tx)
	_, txHeight := h.chain.Tip()
	h.chain.Mine()
	waitUpdate(t, ev.Updates, 1)
	h.quiet()
	h.chain.Mine()
	checkConf(t, recv(t, ev.Confirmed, "confirmation"), blk, txHeight, tx)
	h.quiet()
}

// TestConfReorgAfterFire: the confirming block goes away after Confirmed;
// NegativeConf comes first, then Confirmed again on the new branch.
func TestConfReorgAfterFire(t *testing.T) {
	tests := []struct {
		name string
		// branch says which new block holds the transaction again (-1:
		// none).
		depth  int
		branch int
		blocks int
		// wantDepth is the reorganisation depth NegativeConf reports.
		wantDepth int32
	}{
		{"same height", 2, 0, 3, 2},
		{"higher on the new branch", 3, 2, 4, 2},
		{"gone from the new branch", 2, -1, 3, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, 0)
			h.chain.MineN(4)
			tx := testTx("reorged late")
			ev, err := h.n.RegisterConf(tx.TxHash(), nil, 2, 0)
			if err != nil {
				t.Fatal(err)
			}
			first := h.chain.Mine(tx)
			_, txHeight := h.chain.Tip()
			h.chain.Mine()
			checkConf(t, recv(t, ev.Confirmed, "first confirmation"), first, txHeight, tx)

			branch := make([][]*wire.MsgTx, tc.blocks)
			if tc.branch >= 0 {
				branch[tc.branch] = []*wire.MsgTx{tx}
			}
			_, tipBefore := h.chain.Tip()
			blocks := h.chain.Reorg(tc.depth, branch...)
			if got := recv(t, ev.NegativeConf, "negative confirmation"); got != tc.wantDepth {
				t.Errorf("negative confirmation depth %d, want %d", got, tc.wantDepth)
			}
			if tc.branch < 0 {
				waitUpdate(t, ev.Updates, 2)
				h.quiet()
				return
			}
			newHeight := tipBefore - int32(tc.depth) + 1 + int32(tc.branch)
			checkConf(t, recv(t, ev.Confirmed, "second confirmation"), blocks[tc.branch], newHeight, tx)
			h.quiet()
		})
	}
}

// TestConfManyRegistrations puts many registrations with different depths,
// hints and times on one transaction.
func TestConfManyRegistrations(t *testing.T) {
	h := newHarness(t, 0)
	h.chain.MineN(5)
	tx := testTx("shared")
	const regs = 30
	events := make([]*ConfEvent, 0, regs)
	register := func(i int) {
		ev, err := h.n.RegisterConf(tx.TxHash(), nil, uint32(i%6+1), int32(i%4))
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, ev)
	}
	for i := range regs / 2 {
		register(i)
	}
	blk := h.chain.Mine(tx)
	_, txHeight := h.chain.Tip()
	h.chain.Mine()
	for i := regs / 2; i < regs; i++ {
		register(i)
	}
	for i, ev := range events {
		if i%5 == 0 {
			ev.Cancel()
		}
	}
	h.chain.MineN(4) // six confirmations
	for i, ev := range events {
		if i%5 == 0 {
			waitClosed(t, ev.Confirmed, "cancelled Confirmed")
			continue
		}
		checkConf(t, recv(t, ev.Confirmed, "confirmation"), blk, txHeight, tx)
	}
	h.quiet()
	for _, ev := range events {
		ev.Cancel()
	}
	h.n.mu.Lock()
	left, byBlock := len(h.n.confs), len(h.n.confsByBlock)
	h.n.mu.Unlock()
	if left != 0 || byBlock != 0 {
		t.Errorf("%d watches and %d block entries left after cancelling all", left, byBlock)
	}
}

func TestConfBadArguments(t *testing.T) {
	h := newHarness(t, 0)
	tx := testTx("bad")
	if _, err := h.n.RegisterConf(tx.TxHash(), nil, 0, 0); !errors.Is(err, ErrInvalidRegistration) {
		t.Error("zero confirmations accepted")
	}
	if _, err := h.n.RegisterConf(tx.TxHash(), nil, 1, -1); !errors.Is(err, ErrInvalidRegistration) {
		t.Error("negative height hint accepted")
	}
}
