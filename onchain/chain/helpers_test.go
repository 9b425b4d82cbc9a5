package chain

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/flash-ln/flash/onchain"
)

// waitTimeout bounds every poll in these tests; generous because the race
// detector and a shared machine slow everything down.
const waitTimeout = 20 * time.Second

func testLogger() *slog.Logger {
	if os.Getenv("FLASH_CHAIN_DEBUG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type chainOpt func(*Config)

func noListen(cfg *Config) { cfg.Listen = "" }

// newTestChain starts a regtest chain in a temporary directory, listening
// on a free loopback port, and stops it at the end of the test.
func newTestChain(t testing.TB, opts ...chainOpt) *Chain {
	t.Helper()
	cfg := Config{
		DataDir:       t.TempDir(),
		Listen:        "127.0.0.1:0",
		Logger:        testLogger(),
		retryDuration: 100 * time.Millisecond,
	}
	for _, o := range opts {
		o(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("new chain: %v", err)
	}
	if err := c.Start(); err != nil {
		c.Stop()
		t.Fatalf("start chain: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("stop chain: %v", err)
		}
	})
	return c
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func mine(t testing.TB, c *Chain, n int, payTo btcutil.Address) []chainhash.Hash {
	t.Helper()
	hashes, err := c.Mine(context.Background(), n, payTo)
	if err != nil {
		t.Fatalf("mine %d: %v", n, err)
	}
	return hashes
}

func tipOf(c *Chain) chainhash.Hash {
	h, _ := c.BestBlock()
	return h
}

// testKey is a legacy P2PKH key: its outputs are spendable before segwit
// activates on regtest (height 432).
type testKey struct {
	priv     *btcec.PrivateKey
	addr     btcutil.Address
	pkScript []byte
}

func newTestKey(t testing.TB) *testKey {
	t.Helper()
	priv, err := btcec.NewPrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	addr, err := btcutil.NewAddressPubKeyHash(
		btcutil.Hash160(priv.PubKey().SerializeCompressed()), &chaincfg.RegressionNetParams)
	if err != nil {
		t.Fatal(err)
	}
	pkScript, err := txscript.PayToAddrScript(addr)
	if err != nil {
		t.Fatal(err)
	}
	return &testKey{priv: priv, addr: addr, pkScript: pkScript}
}

// coinbaseOf returns the coinbase transaction of a stored block.
func coinbaseOf(t testing.TB, c *Chain, hash chainhash.Hash) *wire.MsgTx {
	t.Helper()
	b, err := c.BlockByHash(hash)
	if err != nil {
		t.Fatalf("block %s: %v", hash, err)
	}
	return b.MsgBlock().Transactions[0]
}

// spend builds a transaction spending output 0 of prev (paid to k) to
// payTo, split into `outputs` equal outputs, minus fee.
func (k *testKey) spend(t testing.TB, prev *wire.MsgTx, payTo []byte, outputs int, fee btcutil.Amount) *wire.MsgTx {
	t.Helper()
	return k.spendOutput(t, wire.OutPoint{Hash: prev.TxHash(), Index: 0}, prev.TxOut[0].Value, payTo, outputs, fee)
}

func (k *testKey) spendOutput(t testing.TB, op wire.OutPoint, value int64, payTo []byte, outputs int, fee btcutil.Amount) *wire.MsgTx {
	t.Helper()
	tx := wire.NewMsgTx(2)
	tx.AddTxIn(wire.NewTxIn(&op, nil, nil))
	each := (value - int64(fee)) / int64(outputs)
	for range outputs {
		tx.AddTxOut(wire.NewTxOut(each, payTo))
	}
	sig, err := txscript.SignatureScript(tx, 0, k.pkScript, txscript.SigHashAll, k.priv, true)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	tx.TxIn[0].SignatureScript = sig
	return tx
}

// collector drains a subscription into a slice that tests can poll.
type collector struct {
	sub    onchain.Subscription
	events chan onchain.Event
}

func collect(t testing.TB, c *Chain) *collector {
	sub := c.Subscribe()
	col := &collector{sub: sub, events: make(chan onchain.Event, 10000)}
	go func() {
		for ev := range sub.Events() {
			col.events <- ev
		}
		close(col.events)
	}()
	t.Cleanup(sub.Cancel)
	return col
}

// next returns the next event matching keep, failing after the deadline.
func (col *collector) next(t testing.TB, keep func(onchain.Event) bool) onchain.Event {
	t.Helper()
	timer := time.NewTimer(waitTimeout)
	defer timer.Stop()
	for {
		select {
		case ev, ok := <-col.events:
			if !ok {
				t.Fatal("event stream closed")
			}
			if keep == nil || keep(ev) {
				return ev
			}
		case <-timer.C:
			t.Fatal("timed out waiting for an event")
		}
	}
}

func blockEvents(ev onchain.Event) bool { return ev.Kind != onchain.TxAccepted }
