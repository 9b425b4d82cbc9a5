package notify

import (
	"testing"

	"github.com/btcsuite/btcd/wire"
)

func checkEpoch(t *testing.T, got BlockEpoch, blk *wire.MsgBlock, height int32) {
	t.Helper()
	if got.Hash != blk.BlockHash() || got.Height != height {
		t.Errorf("epoch %s at %d, want %s at %d", got.Hash, got.Height, blk.BlockHash(), height)
	}
	if got.Header == nil || got.Header.BlockHash() != got.Hash {
		t.Errorf("epoch header does not match its hash")
	}
}

func TestEpochsAcrossReorg(t *testing.T) {
	h := newHarness(t, 0)
	h.chain.MineN(3)
	h.sync()
	tipHash, _ := h.chain.Tip()
	tipBlock, _ := h.chain.BlockByHash(tipHash)

	ev, err := h.n.RegisterBlockEpochs()
	if err != nil {
		t.Fatal(err)
	}
	checkEpoch(t, recv(t, ev.Epochs, "current tip"), tipBlock.MsgBlock(), 3)

	b4 := h.chain.Mine()
	checkEpoch(t, recv(t, ev.Epochs, "block 4"), b4, 4)

	branch := h.chain.Reorg(2, nil, nil, nil)
	for i, blk := range branch {
		checkEpoch(t, recv(t, ev.Epochs, "new branch"), blk, int32(3+i))
	}
	h.quiet()

	// A second registration after the reorganisation starts at its tip,
	// whose header must be fetched again.
	ev2, err := h.n.RegisterBlockEpochs()
	if err != nil {
		t.Fatal(err)
	}
	h.chain.Disconnect(1)
	h.sync()
	ev3, err := h.n.RegisterBlockEpochs()
	if err != nil {
		t.Fatal(err)
	}
	checkEpoch(t, recv(t, ev2.Epochs, "tip for second"), branch[2], 5)
	checkEpoch(t, recv(t, ev3.Epochs, "tip for third"), branch[1], 4)

	ev.Cancel()
	waitClosed(t, ev.Epochs, "cancelled epochs")
	b := h.chain.Mine()
	checkEpoch(t, recv(t, ev2.Epochs, "after cancel"), b, 5)
	checkEpoch(t, recv(t, ev3.Epochs, "after cancel"), b, 5)
	h.quiet()
}

// TestEpochsSlowConsumer: a consumer that reads nothing never holds the
// notifier back, and the oldest epochs beyond the bound are dropped.
func TestEpochsSlowConsumer(t *testing.T) {
	h := newHarness(t, 0)
	ev, err := h.n.RegisterBlockEpochs()
	if err != nil {
		t.Fatal(err)
	}
	const blocks = epochBacklog + 100
	h.chain.MineN(blocks)
	h.sync()
	// The goroutine delivering epochs may hold one outside the queue.
	var got []int32
	for len(got) == 0 || got[len(got)-1] != blocks {
		e := recv(t, ev.Epochs, "epoch")
		if len(got) > 0 && e.Height <= got[len(got)-1] {
			t.Fatalf("epoch height %d after %d", e.Height, got[len(got)-1])
		}
		got = append(got, e.Height)
	}
	if len(got) > epochBacklog+1 {
		t.Errorf("%d epochs delivered, want at most %d", len(got), epochBacklog+1)
	}
	h.quiet()
}
