package wallet

import (
	"encoding/binary"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
	"go.etcd.io/bbolt"
)

// harness runs one wallet on a fake chain, with a database and seed in a
// temporary directory, and can restart it on the same files.
type harness struct {
	t     testing.TB
	chain *fakeChain
	dir   string
	db    *bbolt.DB
	w     *Wallet
	now   atomic.Int64
	extra atomic.Uint32 // fake outpoints of outside payments
	fsync bool          // benchmarks measure with durable commits
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	return newHarnessOn(t, newFakeChain(&chaincfg.RegressionNetParams), t.TempDir())
}

func newHarnessOn(t testing.TB, chain *fakeChain, dir string) *harness {
	t.Helper()
	h := &harness{t: t, chain: chain, dir: dir, fsync: isBenchmark(t)}
	h.now.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	h.open()
	h.start()
	t.Cleanup(h.close)
	return h
}

func isBenchmark(t testing.TB) bool {
	_, ok := t.(*testing.B)
	return ok
}

func (h *harness) open() {
	h.t.Helper()
	// The tests do not pull the plug; fsync would only slow them down.
	db, err := bbolt.Open(filepath.Join(h.dir, "flash.db"), 0o600,
		&bbolt.Options{NoSync: !h.fsync})
	if err != nil {
		h.t.Fatal(err)
	}
	h.db = db
	w, err := Open(Config{
		DB:          db,
		SeedFile:    filepath.Join(h.dir, "seed"),
		Params:      h.chain.params,
		Chain:       h.chain,
		Broadcaster: h.chain,
		Now:         func() time.Time { return time.Unix(0, h.now.Load()) },
	})
	if err != nil {
		h.t.Fatal(err)
	}
	h.w = w
}

func (h *harness) start() {
	h.t.Helper()
	if err := h.w.Start(); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) stop() {
	h.t.Helper()
	if err := h.w.Stop(); err != nil {
		h.t.Fatal(err)
	}
	if err := h.db.Close(); err != nil {
		h.t.Fatal(err)
	}
	h.db = nil
}

func (h *harness) close() {
	if h.db != nil {
		h.w.Stop()
		h.db.Close()
		h.db = nil
	}
}

func (h *harness) restart() {
	h.t.Helper()
	h.stop()
	h.open()
	h.start()
}

// sync waits until the wallet has handled every event the chain emitted
// and stands on the chain's tip.
func (h *harness) sync() {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		h.w.mu.Lock()
		sub := h.w.sub
		h.w.mu.Unlock()
		hash, height := h.w.SyncedTo()
		best, bestHeight := h.chain.BestBlock()
		if sub != nil && h.w.handled.Load() == h.chain.emittedTo(sub) &&
			hash == best && height == bestHeight {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("wallet not synced: at %d %s, chain at %d %s", height, hash,
				bestHeight, best)
		}
		time.Sleep(time.Millisecond)
	}
}

func (h *harness) newScript() []byte {
	h.t.Helper()
	addr, err := h.w.NewAddress()
	if err != nil {
		h.t.Fatal(err)
	}
	script, err := txscript.PayToAddrScript(addr)
	if err != nil {
		h.t.Fatal(err)
	}
	return script
}

// outsidePayment is a transaction from the outside world paying amounts
// to script; its input is a made-up outpoint.
func (h *harness) outsidePayment(script []byte, amounts ...btcutil.Amount) *wire.MsgTx {
	var prev chainhash.Hash
	binary.BigEndian.PutUint32(prev[:], h.extra.Add(1))
	prev[31] = 0xee
	tx := wire.NewMsgTx(2)
	tx.AddTxIn(wire.NewTxIn(wire.NewOutPoint(&prev, 0), []byte{0x51}, nil))
	for _, amt := range amounts {
		tx.AddTxOut(wire.NewTxOut(int64(amt), script))
	}
	return tx
}

// fund gives the wallet one confirmed output per amount.
func (h *harness) fund(amounts ...btcutil.Amount) *wire.MsgTx {
	h.t.Helper()
	tx := h.outsidePayment(h.newScript(), amounts...)
	h.chain.mineOnly(nil, tx)
	h.sync()
	return tx
}

func (h *harness) balance() Balance {
	h.t.Helper()
	b, err := h.w.Balance()
	if err != nil {
		h.t.Fatal(err)
	}
	return b
}

func (h *harness) wantBalance(want Balance) {
	h.t.Helper()
	if got := h.balance(); got != want {
		h.t.Fatalf("balance %+v, want %+v", got, want)
	}
}

// foreignScript is a P2WPKH script the wallet does not own.
func foreignScript(tag byte) []byte {
	script := make([]byte, 22)
	script[1] = 20
	script[2] = tag
	return script
}

func sumOut(tx *wire.MsgTx) btcutil.Amount {
	var s btcutil.Amount
	for _, out := range tx.TxOut {
		s += btcutil.Amount(out.Value)
	}
	return s
}
