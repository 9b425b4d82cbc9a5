package wallet

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
	"github.com/flash-ln/flash/onchain"
	"github.com/flash-ln/flash/onchain/chain"
	"go.etcd.io/bbolt"
)

// TestWithBuiltinChain runs the wallet on the real built-in chain: btcd's
// consensus and mempool must accept what the wallet signs, and the
// balances must follow to the satoshi.
func TestWithBuiltinChain(t *testing.T) {
	if testing.Short() {
		t.Skip("mines hundreds of blocks")
	}
	dir := t.TempDir()
	c, err := chain.New(chain.Config{DataDir: filepath.Join(dir, "chain"),
		Params: &chaincfg.RegressionNetParams})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop() })

	db, err := bbolt.Open(filepath.Join(dir, "flash.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	w, err := Open(Config{DB: db, SeedFile: filepath.Join(dir, "seed"),
		Params: &chaincfg.RegressionNetParams, Chain: c, Broadcaster: c})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Stop() })

	ctx := context.Background()
	mine := func(n int, payTo btcutil.Address) {
		t.Helper()
		if _, err := c.Mine(ctx, n, payTo); err != nil {
			t.Fatal(err)
		}
		waitWalletAt(t, w, c)
	}
	addr, err := w.NewAddress()
	if err != nil {
		t.Fatal(err)
	}
	mine(1, addr)
	bal, err := w.Balance()
	if err != nil {
		t.Fatal(err)
	}
	subsidy := bal.ImmatureSat
	if subsidy <= 0 || bal.ConfirmedSat != 0 {
		t.Fatalf("after mining to the wallet: %+v", bal)
	}
	// Segwit spends need the deployment active; the coinbase matures
	// long before.
	mine(chain.SegwitActivationHeight, nil)
	if bal, _ := w.Balance(); bal != (Balance{ConfirmedSat: subsidy}) {
		t.Fatalf("after maturity: %+v, want %d confirmed", bal, subsidy)
	}

	// Pay ourselves: only the fee leaves the wallet.
	to, err := w.NewAddress()
	if err != nil {
		t.Fatal(err)
	}
	tx, err := w.SendToAddress(ctx, to, 1e8, chain.DefaultFeeRate)
	if err != nil {
		t.Fatal(err)
	}
	fee := subsidy - sumOut(tx)
	waitFor(t, "payment in the wallet", func() bool {
		bal, _ := w.Balance()
		return bal == Balance{UnconfirmedSat: subsidy - fee}
	})
	mine(1, nil)
	if bal, _ := w.Balance(); bal != (Balance{ConfirmedSat: subsidy - fee}) {
		t.Fatalf("after confirmation: %+v, want %d confirmed", bal, subsidy-fee)
	}

	// A double spend of a wallet coin is refused before it leaves.
	double := tx.Copy()
	double.TxOut[0].Value -= 1000
	if err := w.PublishTransaction(double); !errors.Is(err, ErrConflict) {
		t.Fatalf("double spend: %v, want ErrConflict", err)
	}
	// A transaction the mempool refuses (its input does not exist) is
	// forgotten, with the mempool's reason.
	bogus := wire.NewMsgTx(2)
	bogus.AddTxIn(wire.NewTxIn(wire.NewOutPoint(&chainhash.Hash{1}, 0), nil, nil))
	bogus.AddTxOut(wire.NewTxOut(5000, tx.TxOut[0].PkScript))
	err = w.PublishTransaction(bogus)
	var rej *onchain.TxRejectError
	if !errors.As(err, &rej) {
		t.Fatalf("bogus transaction: %v, want a TxRejectError", err)
	}
	if bal, _ := w.Balance(); bal != (Balance{ConfirmedSat: subsidy - fee}) {
		t.Fatalf("after the refusals: %+v", bal)
	}
}

func waitWalletAt(t testing.TB, w *Wallet, c onchain.BlockSource) {
	t.Helper()
	waitFor(t, "wallet at the chain tip", func() bool {
		hash, _ := w.SyncedTo()
		best, _ := c.BestBlock()
		return hash == best
	})
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
