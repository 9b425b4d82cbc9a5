package notify

import (
	"errors"
	"math"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

func TestMempoolSpend(t *testing.T) {
	h := newHarness(t, 0)
	funding := testTx("funding")
	h.chain.Mine(funding)
	op := wire.OutPoint{Hash: funding.TxHash(), Index: 1}
	other := wire.OutPoint{Hash: chainhash.HashH([]byte("fee coin"))}
	early := testTx("early spender", op)
	late := testTx("late spender", other, op)
	h.chain.Accept(early)
	h.chain.Accept(testTx("unrelated", other))

	first, err := h.n.RegisterMempoolSpend(op)
	if err != nil {
		t.Fatal(err)
	}
	if tx := recv(t, first.Spenders, "spender already in the mempool"); tx.TxHash() != early.TxHash() {
		t.Errorf("spender %s, want %s", tx.TxHash(), early.TxHash())
	}
	second, err := h.n.RegisterMempoolSpend(op)
	if err != nil {
		t.Fatal(err)
	}
	recv(t, second.Spenders, "spender already in the mempool")
	confirmed, err := h.n.RegisterSpend(op, nil, 0)
	if err != nil {
		t.Fatal(err)
	}

	h.chain.Accept(late)
	h.chain.Accept(early) // seen already: not again
	for _, ev := range []*MempoolSpendEvent{first, second} {
		if tx := recv(t, ev.Spenders, "new spender"); tx.TxHash() != late.TxHash() {
			t.Errorf("spender %s, want %s", tx.TxHash(), late.TxHash())
		}
	}
	// The mempool alone is no spend.
	h.quiet()

	blk := h.chain.Mine(late)
	_, height := h.chain.Tip()
	checkSpend(t, recv(t, confirmed.Spend, "confirmed spend"), op, late, 1, blk, height)

	first.Cancel()
	waitClosed(t, first.Spenders, "cancelled Spenders")
	h.chain.Accept(testTx("third spender", op))
	recv(t, second.Spenders, "third spender")
	second.Cancel()
	h.quiet()
	h.n.mu.Lock()
	left := len(h.n.mempoolSpends)
	h.n.mu.Unlock()
	if left != 0 {
		t.Errorf("%d mempool watches left after cancelling all", left)
	}

	if _, err := h.n.RegisterMempoolSpend(wire.OutPoint{Index: math.MaxUint32}); !errors.Is(err, ErrInvalidRegistration) {
		t.Errorf("null outpoint: %v, want ErrInvalidRegistration", err)
	}
}
