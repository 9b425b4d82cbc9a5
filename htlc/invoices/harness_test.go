package invoices

import (
	"bytes"
	"context"
	"crypto/sha256"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/chaincfg"
	"go.etcd.io/bbolt"

	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/htlc/invoice"
)

// testClock is a settable clock.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// lockedReader makes a deterministic source safe for concurrent Adds.
type lockedReader struct {
	mu sync.Mutex
	r  *rand.ChaCha8
}

func (l *lockedReader) Read(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Read(p)
}

func testNodeKey(t testing.TB) *btcec.PrivateKey {
	t.Helper()
	priv, _ := btcec.PrivKeyFromBytes(bytes.Repeat([]byte{0x42}, 32))
	return priv
}

// harness is a registry over a temporary database, with a clock and a
// deterministic random source.
type harness struct {
	t     testing.TB
	path  string
	db    *bbolt.DB
	clock *testClock
	key   *btcec.PrivateKey
	reg   *Registry
	cfg   Config
}

var testStart = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

func newHarness(t testing.TB, tweak func(*Config)) *harness {
	t.Helper()
	h := &harness{
		t:     t,
		path:  filepath.Join(t.TempDir(), "node.db"),
		clock: &testClock{now: testStart},
		key:   testNodeKey(t),
	}
	h.cfg = Config{
		Net:    &chaincfg.RegressionNetParams,
		Signer: invoice.SignerFromKey(h.key),
		NodeID: h.key.PubKey(),
		Rand:   &lockedReader{r: rand.NewChaCha8([32]byte{1})},
		Now:    h.clock.Now,
	}
	if tweak != nil {
		tweak(&h.cfg)
	}
	h.open()
	t.Cleanup(func() {
		if h.db != nil {
			h.db.Close()
		}
	})
	return h
}

// open opens the database and a registry over it.
func (h *harness) open() {
	h.t.Helper()
	db, err := bbolt.Open(h.path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		h.t.Fatalf("open db: %v", err)
	}
	h.db = db
	cfg := h.cfg
	cfg.DB = db
	reg, err := New(cfg)
	if err != nil {
		h.t.Fatalf("New: %v", err)
	}
	h.reg = reg
}

// reopen closes the database and opens it again with a fresh registry, as
// a restarted node would.
func (h *harness) reopen() {
	h.t.Helper()
	if err := h.db.Close(); err != nil {
		h.t.Fatalf("close db: %v", err)
	}
	h.db = nil
	h.open()
}

func (h *harness) add(req AddRequest) *Record {
	h.t.Helper()
	rec, err := h.reg.Add(context.Background(), req)
	if err != nil {
		h.t.Fatalf("Add: %v", err)
	}
	return rec
}

func (h *harness) lookup(hash [32]byte) *Record {
	h.t.Helper()
	rec, err := h.reg.Lookup(hash)
	if err != nil {
		h.t.Fatalf("Lookup: %v", err)
	}
	return rec
}

func (h *harness) accept(in IncomingHTLC) Resolution {
	h.t.Helper()
	res, err := h.reg.Accept(context.Background(), in)
	if err != nil {
		h.t.Fatalf("Accept: %v", err)
	}
	return res
}

const testHeight = 1000

// payHTLC returns a well-formed HTLC paying rec exactly, on circuit id.
func payHTLC(rec *Record, amt lnwire.MilliSatoshi, id uint64) IncomingHTLC {
	secret := rec.PaymentSecret
	return IncomingHTLC{
		Circuit:       CircuitKey{ChanID: lnwire.ChannelID{1}, HTLCID: id},
		PaymentHash:   rec.PaymentHash,
		AmountMsat:    amt,
		Expiry:        testHeight + DefaultMinFinalCLTVExpiryDelta + 2,
		CurrentHeight: testHeight,
		AmtToForward:  amt,
		OutgoingCLTV:  testHeight + DefaultMinFinalCLTVExpiryDelta + 2,
		PaymentSecret: &secret,
		TotalMsat:     amt,
	}
}

func keysendHTLC(preimage [32]byte, amt lnwire.MilliSatoshi, id uint64) IncomingHTLC {
	return IncomingHTLC{
		Circuit:         CircuitKey{ChanID: lnwire.ChannelID{2}, HTLCID: id},
		PaymentHash:     sha256.Sum256(preimage[:]),
		AmountMsat:      amt,
		Expiry:          testHeight + DefaultMinFinalCLTVExpiryDelta,
		CurrentHeight:   testHeight,
		AmtToForward:    amt,
		OutgoingCLTV:    testHeight + DefaultMinFinalCLTVExpiryDelta,
		KeysendPreimage: &preimage,
	}
}
