package wallet

import (
	"context"
	"fmt"
	"math/rand"
	"testing"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/wire"
	"github.com/flash-ln/flash/onchain"
	"go.etcd.io/bbolt"
)

// modelBalance computes what the balance must be from the chain itself:
// the outputs to the wallet's scripts in main-chain and mempool
// transactions, minus what main-chain and mempool transactions spend.
func (h *harness) modelBalance() Balance {
	h.t.Helper()
	ours := make(map[string]bool)
	err := h.db.View(func(tx *bbolt.Tx) error {
		b, err := openBuckets(tx)
		if err != nil {
			return err
		}
		return b.scripts.ForEach(func(k, _ []byte) error {
			ours[string(k)] = true
			return nil
		})
	})
	if err != nil {
		h.t.Fatal(err)
	}
	type out struct {
		amt      btcutil.Amount
		height   int32 // -1: mempool
		coinbase bool
	}
	outs := make(map[wire.OutPoint]out)
	spent := make(map[wire.OutPoint]bool)
	add := func(tx *wire.MsgTx, height int32, coinbase bool) {
		if !coinbase {
			for _, in := range tx.TxIn {
				spent[in.PreviousOutPoint] = true
			}
		}
		for i, o := range tx.TxOut {
			if ours[string(o.PkScript)] {
				outs[wire.OutPoint{Hash: tx.TxHash(), Index: uint32(i)}] =
					out{btcutil.Amount(o.Value), height, coinbase}
			}
		}
	}
	_, best := h.chain.BestBlock()
	for height := int32(0); height <= best; height++ {
		hash, _ := h.chain.BlockHashByHeight(height)
		blk, _ := h.chain.BlockByHash(hash)
		for i, tx := range blk.MsgBlock().Transactions {
			add(tx, height, i == 0)
		}
	}
	for _, tx := range h.chain.MempoolTxs() {
		add(tx.MsgTx(), -1, false)
	}
	var bal Balance
	for op, o := range outs {
		switch {
		case spent[op]:
		case o.height < 0:
			bal.UnconfirmedSat += o.amt
		case o.coinbase && best-o.height+1 < int32(h.chain.params.CoinbaseMaturity):
			bal.ImmatureSat += o.amt
		default:
			bal.ConfirmedSat += o.amt
		}
	}
	return bal
}

// TestRandomHistory drives a wallet through random payments, sends,
// reorganisations (some while it is stopped) and restarts, and checks
// after every step that its balance is the one the chain implies.
func TestRandomHistory(t *testing.T) {
	steps := 80
	if testing.Short() {
		steps = 20
	}
	for seed := int64(1); seed <= 6; seed++ {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			runRandomHistory(t, rand.New(rand.NewSource(seed)), steps)
		})
	}
}

func runRandomHistory(t *testing.T, rng *rand.Rand, steps int) {
	h := newHarness(t)
	// Start with mature coinbases so that sends have something to do.
	h.chain.mineOnly(h.newScript())
	h.chain.mineOnly(h.newScript())
	h.chain.mineEmpty(100)
	h.sync()
	var incoming []*wire.MsgTx // outside payments that may be double-spent
	for step := 0; step < steps; step++ {
		var what string
		switch op := rng.Intn(9); op {
		case 0, 1:
			tx := h.outsidePayment(h.newScript(), btcutil.Amount(1000+rng.Intn(1e6)))
			if op == 0 {
				what = "payment to mempool"
				h.chain.acceptToMempool(tx)
				incoming = append(incoming, tx)
			} else {
				what = "payment mined"
				h.chain.mineOnly(nil, tx)
			}
		case 2:
			what = "send"
			bal := h.balance()
			if bal.ConfirmedSat < 20_000 {
				continue
			}
			amt := btcutil.Amount(1000 + rng.Int63n(int64(bal.ConfirmedSat)/2))
			rate := 250 + rng.Intn(5000)
			if _, err := h.w.SendToAddress(context.Background(),
				foreignAddr(t, 5, h.chain.params), amt, onchain.FeeRate(rate)); err != nil {
				t.Fatalf("step %d: send %d: %v", step, amt, err)
			}
		case 3, 4:
			what = "mine"
			var payTo []byte
			if rng.Intn(3) == 0 {
				payTo = h.newScript()
			}
			for range 1 + rng.Intn(2) {
				h.chain.mine(payTo)
			}
		case 5, 6:
			depth := 1 + rng.Intn(3)
			h.chain.forgetOnReorg = rng.Intn(2) == 0
			stopped := rng.Intn(3) == 0
			what = fmt.Sprintf("reorg depth %d forget %v stopped %v", depth,
				h.chain.forgetOnReorg, stopped)
			if stopped {
				h.stop()
			}
			h.chain.disconnect(depth)
			for i := 0; i <= depth; i++ {
				if rng.Intn(2) == 0 {
					h.chain.mine(nil)
				} else {
					h.chain.mineOnly(nil)
				}
			}
			if stopped {
				h.open()
				h.start()
			}
		case 7:
			what = "double-spend of an incoming payment"
			// Only one still in the mempool: the chain must stay valid.
			var pending []*wire.MsgTx
			for _, tx := range h.chain.MempoolTxs() {
				for _, in := range incoming {
					if *tx.Hash() == in.TxHash() {
						pending = append(pending, in)
					}
				}
			}
			if len(pending) == 0 {
				continue
			}
			double := pending[rng.Intn(len(pending))].Copy()
			double.TxOut[0].PkScript = foreignScript(8)
			h.chain.mineOnly(nil, double)
		case 8:
			what = "restart"
			h.restart()
		}
		h.sync()
		want := h.modelBalance()
		if got := h.balance(); got != want {
			h.dumpState()
			t.Fatalf("step %d (%s): balance %+v, chain says %+v", step, what, got, want)
		}
	}
}

// dumpState logs what the wallet holds and what the chain holds near its
// tip, to diagnose a mismatch.
func (h *harness) dumpState() {
	utxos, _ := h.w.ListUnspent()
	for _, u := range utxos {
		h.t.Logf("wallet utxo %v %d sat, %d confirmations", u.OutPoint, u.Amount, u.Confirmations)
	}
	for _, tx := range h.chain.MempoolTxs() {
		h.t.Logf("mempool tx %s", tx.Hash())
	}
	_, best := h.chain.BestBlock()
	for height := max(best-6, 0); height <= best; height++ {
		hash, _ := h.chain.BlockHashByHeight(height)
		blk, _ := h.chain.BlockByHash(hash)
		for _, tx := range blk.Transactions() {
			h.t.Logf("block %d %s tx %s", height, hash, tx.Hash())
		}
	}
}
