package chain

import (
	"errors"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/flash-ln/flash/onchain"
)

func TestMineEventsAndReopen(t *testing.T) {
	dir := t.TempDir()
	c, err := New(Config{DataDir: dir, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	col := collect(t, c)
	key := newTestKey(t)
	hashes := mine(t, c, 10, key.addr)
	for i, h := range hashes {
		ev := col.next(t, blockEvents)
		if ev.Kind != onchain.BlockConnected || ev.Hash != h || ev.Height != int32(i+1) {
			t.Fatalf("event %d: got %v %s@%d, want connected %s@%d", i, ev.Kind, ev.Hash, ev.Height, h, i+1)
		}
		if ev.Block == nil || *ev.Block.Hash() != h {
			t.Fatalf("event %d: block missing or wrong", i)
		}
	}
	tip, height := c.BestBlock()
	if tip != hashes[9] || height != 10 {
		t.Fatalf("tip %s@%d, want %s@10", tip, height, hashes[9])
	}
	if got, err := c.BlockHashByHeight(5); err != nil || got != hashes[4] {
		t.Fatalf("hash at 5: %s %v", got, err)
	}
	if _, err := c.BlockHashByHeight(11); !errors.Is(err, onchain.ErrNotFound) {
		t.Fatalf("hash at 11: %v, want ErrNotFound", err)
	}
	if _, err := c.BlockByHash(chainhash.Hash{1}); !errors.Is(err, onchain.ErrNotFound) {
		t.Fatalf("unknown block: %v, want ErrNotFound", err)
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	// Stop ends the subscription.
	for range col.events {
	}

	c2, err := New(Config{DataDir: dir, Logger: testLogger()})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer c2.Stop()
	tip2, height2 := c2.BestBlock()
	if tip2 != tip || height2 != height {
		t.Fatalf("after reopen tip %s@%d, want %s@%d", tip2, height2, tip, height)
	}
	// The coinbase of block 1 is still unspent after the reopen.
	cb := coinbaseOf(t, c2, hashes[0])
	out, err := c2.FetchUtxo(wire.OutPoint{Hash: cb.TxHash()})
	if err != nil || out.Value != cb.TxOut[0].Value {
		t.Fatalf("coinbase utxo after reopen: %v %v", out, err)
	}
	mine(t, c2, 1, nil)
}

func TestMempoolRules(t *testing.T) {
	c := newTestChain(t, noListen)
	key := newTestKey(t)
	other := newTestKey(t)
	hashes := mine(t, c, 100, key.addr)
	cb1 := coinbaseOf(t, c, hashes[0])

	// Tip 100: the coinbase of block 2 would be spent at height 101 with
	// 99 confirmations, one short; block 1's has its 100.
	assertRejected(t, c, key.spend(t, coinbaseOf(t, c, hashes[1]), other.pkScript, 1, 1000), "coinbase")
	spend := key.spend(t, cb1, other.pkScript, 1, 1000)
	col := collect(t, c)
	if err := c.SendTransaction(spend); err != nil {
		t.Fatalf("mature coinbase spend: %v", err)
	}
	if ev := col.next(t, nil); ev.Kind != onchain.TxAccepted || *ev.Tx.Hash() != spend.TxHash() {
		t.Fatalf("want tx_accepted for %s, got %v", spend.TxHash(), ev.Kind)
	}
	// Sending the same transaction again is harmless.
	if err := c.SendTransaction(spend); err != nil {
		t.Fatalf("resend: %v", err)
	}

	tests := []struct {
		name   string
		tx     *wire.MsgTx
		reason string
	}{
		{"double spend", key.spend(t, cb1, key.pkScript, 2, 2000), "already spent"},
		{"fee below relay floor", other.spend(t, spend, other.pkScript, 1, 0), "fee"},
		{"spends unknown output", key.spendOutput(t, wire.OutPoint{Hash: chainhash.Hash{7}}, 1e8, other.pkScript, 1, 1000), "orphan"},
		{"immature coinbase", key.spend(t, coinbaseOf(t, c, hashes[50]), other.pkScript, 1, 1000), "coinbase"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { assertRejected(t, c, tt.tx, tt.reason) })
	}

	if got := c.MempoolTxs(); len(got) != 1 || *got[0].Hash() != spend.TxHash() {
		t.Fatalf("mempool: %d txs", len(got))
	}
	// Mining confirms it, empties the mempool and moves the utxo.
	mine(t, c, 1, nil)
	if got := c.MempoolTxs(); len(got) != 0 {
		t.Fatalf("mempool after mining: %d txs", len(got))
	}
	if _, err := c.FetchUtxo(wire.OutPoint{Hash: cb1.TxHash()}); !errors.Is(err, onchain.ErrNotFound) {
		t.Fatalf("spent coinbase: %v, want ErrNotFound", err)
	}
	out, err := c.FetchUtxo(wire.OutPoint{Hash: spend.TxHash()})
	if err != nil || out.Value != spend.TxOut[0].Value {
		t.Fatalf("new output: %v %v", out, err)
	}
	if rate, err := c.EstimateFeeRate(6); err != nil || rate != DefaultFeeRate {
		t.Fatalf("fee estimate %d %v", rate, err)
	}
}

func assertRejected(t *testing.T, c *Chain, tx *wire.MsgTx, reason string) {
	t.Helper()
	err := c.SendTransaction(tx)
	var rej *onchain.TxRejectError
	if !errors.As(err, &rej) {
		t.Fatalf("want *TxRejectError, got %v", err)
	}
	if rej.Txid != tx.TxHash() || !strings.Contains(rej.Reason, reason) {
		t.Fatalf("rejection %q for %s, want one mentioning %q", rej.Reason, rej.Txid, reason)
	}
	if c.mempool.HaveTransaction(&rej.Txid) {
		t.Fatal("rejected transaction is in the mempool")
	}
}

func TestMineBlockWithTransactions(t *testing.T) {
	c := newTestChain(t, noListen)
	key := newTestKey(t)
	hashes := mine(t, c, 100, key.addr)

	// Fan the first coinbase out, then spend each output separately.
	fan := key.spend(t, coinbaseOf(t, c, hashes[0]), key.pkScript, 20, 10_000)
	if err := c.SendTransaction(fan); err != nil {
		t.Fatal(err)
	}
	for i := range fan.TxOut {
		tx := key.spendOutput(t, wire.OutPoint{Hash: fan.TxHash(), Index: uint32(i)},
			fan.TxOut[i].Value, key.pkScript, 1, 1000)
		if err := c.SendTransaction(tx); err != nil {
			t.Fatalf("child %d: %v", i, err)
		}
	}
	mined := mine(t, c, 1, nil)
	b, err := c.BlockByHash(mined[0])
	if err != nil {
		t.Fatal(err)
	}
	if n := len(b.Transactions()); n != 22 {
		t.Fatalf("block has %d transactions, want 22", n)
	}
	subsidy := btcutil.Amount(50e8)
	fees := btcutil.Amount(10_000 + 20*1000)
	if got := btcutil.Amount(b.MsgBlock().Transactions[0].TxOut[0].Value); got != subsidy+fees {
		t.Fatalf("coinbase pays %v, want %v", got, subsidy+fees)
	}
}

func TestSegwitActivation(t *testing.T) {
	c := newTestChain(t, noListen)
	mine(t, c, SegwitActivationHeight-2, nil)
	if active, err := c.chain.IsDeploymentActive(chaincfg.DeploymentSegwit); err != nil || active {
		t.Fatalf("segwit for block %d: active=%v err=%v, want inactive", SegwitActivationHeight-1, active, err)
	}
	mine(t, c, 1, nil)
	for _, d := range []uint32{chaincfg.DeploymentSegwit, chaincfg.DeploymentCSV, chaincfg.DeploymentTaproot} {
		if active, err := c.chain.IsDeploymentActive(d); err != nil || !active {
			t.Fatalf("deployment %d for block %d: active=%v err=%v", d, SegwitActivationHeight, active, err)
		}
	}
}
