package wallet

import (
	"fmt"
	"testing"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/wire"
	"github.com/flash-ln/flash/onchain"
)

// BenchmarkCreateTransaction builds and signs a transaction spending every
// coin of the wallet, then releases it.
func BenchmarkCreateTransaction(b *testing.B) {
	for _, inputs := range []int{10, 100, 500} {
		b.Run(fmt.Sprintf("inputs=%d", inputs), func(b *testing.B) {
			h := newHarness(b)
			coins := make([]btcutil.Amount, inputs)
			for i := range coins {
				coins[i] = 10_000
			}
			h.fund(coins...)
			// Needs every coin: the fee takes a little of the last.
			outs := []*wire.TxOut{wire.NewTxOut(int64(inputs)*(10_000-69)-50, foreignScript(1))}
			b.ResetTimer()
			for b.Loop() {
				a, err := h.w.CreateTransaction(outs, onchain.FeePerKwFloor)
				if err != nil {
					b.Fatal(err)
				}
				if len(a.Tx.TxIn) != inputs {
					b.Fatalf("%d inputs", len(a.Tx.TxIn))
				}
				if err := h.w.ReleaseTransaction(a.Tx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBlockConnected applies blocks of 100 wallet transactions, each
// paying one of our addresses and someone else, with durable commits.
func BenchmarkBlockConnected(b *testing.B) {
	h := newHarness(b)
	h.stopEvents()
	scripts := make([][]byte, 100)
	for i := range scripts {
		scripts[i] = h.newScript()
	}
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		txs := make([]*wire.MsgTx, len(scripts))
		for i, s := range scripts {
			txs[i] = h.outsidePayment(s, 50_000)
			txs[i].AddTxOut(wire.NewTxOut(70_000, foreignScript(2)))
		}
		tip, height := h.chain.BestBlock()
		blk := h.chain.newBlock(tip, height+1, nil, txs)
		h.chain.connect(blk)
		b.StartTimer()
		err := h.w.handleEvents([]onchain.Event{{Kind: onchain.BlockConnected,
			Hash: *blk.Hash(), Height: height + 1, Block: blk}})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if _, got := h.w.SyncedTo(); got != h.chain.tipHeight() {
		b.Fatalf("wallet at %d", got)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "blocks/s")
}

// stopEvents stops the event loop so that a benchmark can feed events
// itself.
func (h *harness) stopEvents() {
	h.t.Helper()
	if err := h.w.Stop(); err != nil {
		h.t.Fatal(err)
	}
}

func (c *fakeChain) tipHeight() int32 {
	_, h := c.BestBlock()
	return h
}
