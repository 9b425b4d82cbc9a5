package notify

import (
	"fmt"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

// BenchmarkConnectBlock measures the notifier's work for one connected
// block of 100 two-input transactions while 1,000 confirmation and 1,000
// spend registrations wait, half of the confirmations already in the chain
// and counting (so each block updates 500 registrations).
func BenchmarkConnectBlock(b *testing.B) {
	h := newHarness(b, 0)
	var located []*wire.MsgTx
	for i := range 500 {
		located = append(located, testTx(fmt.Sprint("located ", i)))
	}
	h.chain.Mine(located...)
	h.sync()
	_, tip := h.chain.Tip()
	for i := range 1000 {
		txid := chainhash.HashH([]byte(fmt.Sprint("waiting ", i)))
		hint := tip + 1
		if i < len(located) {
			txid, hint = located[i].TxHash(), tip
		}
		if _, err := h.n.RegisterConf(txid, nil, 1_000_000, hint); err != nil {
			b.Fatal(err)
		}
		op := wire.OutPoint{Hash: chainhash.HashH([]byte(fmt.Sprint("watched coin ", i)))}
		if _, err := h.n.RegisterSpend(op, nil, tip+1); err != nil {
			b.Fatal(err)
		}
	}
	h.sync()

	txs := make([]*wire.MsgTx, 0, 101)
	txs = append(txs, coinbaseTx(0, 0))
	for i := range 100 {
		txs = append(txs, testTx(fmt.Sprint("payment ", i),
			wire.OutPoint{Hash: chainhash.HashH([]byte(fmt.Sprint("in a ", i)))},
			wire.OutPoint{Hash: chainhash.HashH([]byte(fmt.Sprint("in b ", i)))}))
	}

	// Blocks are applied directly, as the event loop does, so that the
	// figure is the notifier's own work and not the fake chain's.
	h.n.mu.Lock()
	defer h.n.mu.Unlock()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		tipHash, tipHeight := h.n.view.tip()
		blk := &wire.MsgBlock{
			Header: wire.BlockHeader{
				Version: 1, PrevBlock: tipHash, Nonce: uint32(i),
				Timestamp: time.Unix(1600000000+int64(i), 0),
			},
			Transactions: txs,
		}
		h.n.connect(blk.BlockHash(), tipHeight+1, blk)
	}
}
