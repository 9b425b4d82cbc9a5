package invoices

import (
	"context"
	"crypto/sha256"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/htlc/invoice"
)

func TestAddEncodesInvoice(t *testing.T) {
	h := newHarness(t, nil)
	hintKey := testNodeKey(t).PubKey()
	fixedPreimage := [32]byte{9, 9, 9}
	hints := [][]invoice.HopHint{{{NodeID: hintKey, ChannelID: lnwire.NewShortChanIDFromInt(1<<40 | 5<<16 | 1),
		FeeBaseMsat: 1000, FeeProportionalMillionths: 10, CLTVExpiryDelta: 40}}}

	tests := []struct {
		name       string
		req        AddRequest
		wantExpiry time.Duration
	}{
		{"amount and memo", AddRequest{AmountMsat: 50_000_000, Memo: "coffee"}, time.Hour},
		{"any amount", AddRequest{Memo: "donation"}, time.Hour},
		{"empty memo", AddRequest{AmountMsat: 1}, time.Hour},
		{"custom expiry", AddRequest{AmountMsat: 1000, Expiry: 10 * time.Minute}, 10 * time.Minute},
		{"route hints", AddRequest{AmountMsat: 1000, RouteHints: hints}, time.Hour},
		{"caller preimage", AddRequest{AmountMsat: 1000, Preimage: &fixedPreimage}, time.Hour},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := h.add(tc.req)
			if !strings.HasPrefix(rec.Invoice, "lnbcrt") {
				t.Errorf("invoice %q lacks the regtest prefix", rec.Invoice)
			}
			if sha256.Sum256(rec.Preimage[:]) != rec.PaymentHash {
				t.Error("payment hash is not SHA256(preimage)")
			}
			if tc.req.Preimage != nil && rec.Preimage != *tc.req.Preimage {
				t.Error("caller's preimage not used")
			}
			if rec.PaymentSecret == ([32]byte{}) {
				t.Error("zero payment secret")
			}
			inv, err := invoice.Decode(rec.Invoice, invoice.WithNetwork(&chaincfg.RegressionNetParams))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !inv.Payee.IsEqual(h.key.PubKey()) {
				t.Error("signature does not recover to the node key")
			}
			if inv.PaymentHash != rec.PaymentHash || inv.PaymentSecret != rec.PaymentSecret {
				t.Error("hash or secret differ from the record")
			}
			switch {
			case tc.req.AmountMsat == 0 && inv.Amount != nil:
				t.Errorf("amount %v, want none", *inv.Amount)
			case tc.req.AmountMsat != 0 && (inv.Amount == nil || *inv.Amount != tc.req.AmountMsat):
				t.Errorf("amount %v, want %v", inv.Amount, tc.req.AmountMsat)
			}
			if inv.Description == nil || *inv.Description != tc.req.Memo {
				t.Errorf("description %v, want %q", inv.Description, tc.req.Memo)
			}
			if got := inv.ExpiryOrDefault(); got != tc.wantExpiry {
				t.Errorf("expiry %v, want %v", got, tc.wantExpiry)
			}
			if !inv.ExpiresAt().Equal(rec.ExpiresAt) || !inv.Timestamp.Equal(rec.CreatedAt) {
				t.Errorf("invoice times %v/%v, record %v/%v", inv.Timestamp, inv.ExpiresAt(), rec.CreatedAt, rec.ExpiresAt)
			}
			if inv.MinFinalCLTVExpiryDeltaOrDefault() != DefaultMinFinalCLTVExpiryDelta {
				t.Errorf("min final cltv %d", inv.MinFinalCLTVExpiryDeltaOrDefault())
			}
			if !inv.Features.IsSet(lnwire.PaymentSecret) || !inv.Features.IsSet(lnwire.VarOnionOptin) ||
				inv.Features.HasFeature(lnwire.BasicMPP) {
				t.Errorf("features %v", inv.Features)
			}
			if len(inv.RouteHints) != len(tc.req.RouteHints) {
				t.Errorf("%d route hints, want %d", len(inv.RouteHints), len(tc.req.RouteHints))
			}
			got := h.lookup(rec.PaymentHash)
			if !reflect.DeepEqual(got, rec) {
				t.Errorf("stored record differs:\n got %+v\nwant %+v", got, rec)
			}
			if got.State != StateOpen || got.AddIndex == 0 {
				t.Errorf("state %v, add index %d", got.State, got.AddIndex)
			}
		})
	}
}

func TestAddRejects(t *testing.T) {
	h := newHarness(t, nil)
	preimage := [32]byte{7}
	h.add(AddRequest{AmountMsat: 1000, Preimage: &preimage})

	tests := []struct {
		name string
		req  AddRequest
		want error
	}{
		{"amount above all bitcoin", AddRequest{AmountMsat: MaxAmount + 1}, ErrInvalidRequest},
		{"memo too long", AddRequest{Memo: strings.Repeat("x", invoice.MaxFieldBytes+1)}, ErrInvalidRequest},
		{"negative expiry", AddRequest{Expiry: -time.Second}, ErrInvalidRequest},
		{"sub-second expiry", AddRequest{Expiry: 1500 * time.Millisecond}, ErrInvalidRequest},
		{"expiry beyond a year", AddRequest{Expiry: MaxExpiry + time.Second}, ErrInvalidRequest},
		{"duplicate preimage", AddRequest{Preimage: &preimage}, ErrDuplicate},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.reg.Add(context.Background(), tc.req)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
		})
	}
	recs, err := h.reg.List()
	if err != nil || len(recs) != 1 {
		t.Fatalf("List: %d records, %v; refused adds must store nothing", len(recs), err)
	}
}

func TestAddRandomFailure(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Rand = strings.NewReader("short") })
	if _, err := h.reg.Add(context.Background(), AddRequest{}); err == nil {
		t.Fatal("Add succeeded without randomness")
	}
}

func TestNewValidatesConfig(t *testing.T) {
	h := newHarness(t, nil)
	good := h.cfg
	good.DB = h.db
	tests := []struct {
		name  string
		tweak func(*Config)
	}{
		{"no db", func(c *Config) { c.DB = nil }},
		{"no network", func(c *Config) { c.Net = nil }},
		{"no signer", func(c *Config) { c.Signer = nil }},
		{"no node id", func(c *Config) { c.NodeID = nil }},
		{"network without prefix", func(c *Config) { c.Net = &chaincfg.Params{Name: "mystery"} }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good
			tc.tweak(&cfg)
			if _, err := New(cfg); err == nil {
				t.Fatal("New accepted a bad config")
			}
		})
	}
}

func TestListAndExpiry(t *testing.T) {
	h := newHarness(t, nil)
	short := h.add(AddRequest{AmountMsat: 1000, Memo: "short", Expiry: time.Minute})
	long := h.add(AddRequest{AmountMsat: 2000, Memo: "long"})
	paid := h.add(AddRequest{AmountMsat: 3000, Memo: "paid", Expiry: time.Minute})
	if _, ok := h.accept(payHTLC(paid, 3000, 1)).(*Settle); !ok {
		t.Fatal("payment did not settle")
	}

	states := func() []State {
		recs, err := h.reg.List()
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		var s []State
		for i, r := range recs {
			if r.AddIndex != uint64(i+1) {
				t.Errorf("record %d has add index %d", i, r.AddIndex)
			}
			s = append(s, r.State)
		}
		return s
	}
	if got, want := states(), []State{StateOpen, StateOpen, StateSettled}; !reflect.DeepEqual(got, want) {
		t.Fatalf("states %v, want %v", got, want)
	}

	// One second before expiry the invoice is open; at expiry it is not.
	h.clock.Advance(time.Minute - time.Second)
	if s := h.lookup(short.PaymentHash).State; s != StateOpen {
		t.Fatalf("state before expiry %v", s)
	}
	h.clock.Advance(time.Second)
	if got, want := states(), []State{StateExpired, StateOpen, StateSettled}; !reflect.DeepEqual(got, want) {
		t.Fatalf("states at expiry %v, want %v", got, want)
	}

	var updates []*Record
	h.reg.cfg.OnUpdate = func(r *Record) { updates = append(updates, r) }
	n, err := h.reg.ExpireOld(h.clock.Now())
	if err != nil || n != 1 {
		t.Fatalf("ExpireOld: %d, %v; want 1", n, err)
	}
	if len(updates) != 1 || updates[0].PaymentHash != short.PaymentHash || updates[0].State != StateExpired {
		t.Fatalf("updates %+v", updates)
	}
	if n, err := h.reg.ExpireOld(h.clock.Now()); err != nil || n != 0 {
		t.Fatalf("second ExpireOld: %d, %v; want 0", n, err)
	}
	// The sweep's state survives a clock that goes back.
	h.clock.Advance(-time.Hour)
	if got, want := states(), []State{StateExpired, StateOpen, StateSettled}; !reflect.DeepEqual(got, want) {
		t.Fatalf("stored states %v, want %v", got, want)
	}
	_ = long
}

func TestCancel(t *testing.T) {
	h := newHarness(t, nil)
	open := h.add(AddRequest{AmountMsat: 1000})
	paid := h.add(AddRequest{AmountMsat: 1000})
	h.accept(payHTLC(paid, 1000, 1))

	if err := h.reg.Cancel(open.PaymentHash); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	if s := h.lookup(open.PaymentHash).State; s != StateCanceled {
		t.Fatalf("state %v", s)
	}
	if err := h.reg.Cancel(open.PaymentHash); !errors.Is(err, ErrNotOpen) {
		t.Errorf("second cancel: %v", err)
	}
	if err := h.reg.Cancel(paid.PaymentHash); !errors.Is(err, ErrAlreadySettled) {
		t.Errorf("cancel settled: %v", err)
	}
	if err := h.reg.Cancel([32]byte{1}); !errors.Is(err, ErrNotFound) {
		t.Errorf("cancel unknown: %v", err)
	}
	if _, err := h.reg.Lookup([32]byte{1}); !errors.Is(err, ErrNotFound) {
		t.Errorf("lookup unknown: %v", err)
	}
}

func TestWait(t *testing.T) {
	h := newHarness(t, nil)
	rec := h.add(AddRequest{AmountMsat: 1000})

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	got := make([]*Record, 4)
	errs := make([]error, 4)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = h.reg.Wait(ctx, rec.PaymentHash)
		}()
	}
	h.accept(payHTLC(rec, 1000, 1))
	wg.Wait()
	for i := range got {
		if errs[i] != nil || got[i].State != StateSettled {
			t.Fatalf("waiter %d: %v, %v", i, got[i], errs[i])
		}
	}
	// Waiting for a settled invoice returns at once.
	if r, err := h.reg.Wait(ctx, rec.PaymentHash); err != nil || r.State != StateSettled {
		t.Fatalf("Wait on settled: %v, %v", r, err)
	}

	open := h.add(AddRequest{AmountMsat: 1000})
	short, stop := context.WithCancel(context.Background())
	stop()
	if _, err := h.reg.Wait(short, open.PaymentHash); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait with canceled context: %v", err)
	}
	if _, err := h.reg.Wait(ctx, [32]byte{5}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Wait on unknown: %v", err)
	}
	h.reg.mu.Lock()
	n := len(h.reg.waiters)
	h.reg.mu.Unlock()
	if n != 0 {
		t.Errorf("%d waiter lists left behind", n)
	}
}

func TestPersistence(t *testing.T) {
	h := newHarness(t, nil)
	open := h.add(AddRequest{AmountMsat: 1000, Memo: "open"})
	paid := h.add(AddRequest{AmountMsat: 2000, Memo: "paid"})
	in := payHTLC(paid, 2500, 7)
	first := h.accept(in)
	before, err := h.reg.List()
	if err != nil {
		t.Fatal(err)
	}

	h.reopen()
	after, err := h.reg.List()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(before, after) {
		t.Fatalf("records changed across reopen:\n%+v\n%+v", before, after)
	}
	// The settled HTLC replays to the same answer; a new HTLC for the
	// open invoice still settles, with a fresh add index afterwards.
	if again := h.accept(in); !reflect.DeepEqual(again, first) {
		t.Fatalf("replay after reopen: %+v, want %+v", again, first)
	}
	if _, ok := h.accept(payHTLC(open, 1000, 8)).(*Settle); !ok {
		t.Fatal("open invoice did not settle after reopen")
	}
	third := h.add(AddRequest{AmountMsat: 1})
	if third.AddIndex != 3 {
		t.Errorf("add index after reopen %d, want 3", third.AddIndex)
	}
}

// TestCrashAfterSettleStored: the settlement is stored, then the node dies
// before the channel saw the preimage. After restart the channel replays
// the HTLC and must get the same preimage, with nothing changed.
func TestCrashAfterSettleStored(t *testing.T) {
	h := newHarness(t, nil)
	rec := h.add(AddRequest{AmountMsat: 1000})
	in := payHTLC(rec, 1000, 3)
	if _, err := h.reg.Accept(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	stored := h.lookup(rec.PaymentHash)

	h.reopen()
	// Blocks went by and the invoice expired while the node was down:
	// the replay still settles, because the decision was already made.
	h.clock.Advance(2 * time.Hour)
	in.CurrentHeight += 500
	res := h.accept(in)
	s, ok := res.(*Settle)
	if !ok || s.Preimage != rec.Preimage {
		t.Fatalf("replay after crash: %+v", res)
	}
	if got := h.lookup(rec.PaymentHash); !reflect.DeepEqual(got, stored) {
		t.Fatalf("replay changed the record:\n%+v\n%+v", got, stored)
	}
}

func TestOnUpdate(t *testing.T) {
	var mu sync.Mutex
	var seen []State
	h := newHarness(t, func(c *Config) {
		c.OnUpdate = func(r *Record) {
			mu.Lock()
			seen = append(seen, r.State)
			mu.Unlock()
		}
	})
	rec := h.add(AddRequest{AmountMsat: 1000})
	h.accept(payHTLC(rec, 1000, 1))
	h.accept(payHTLC(rec, 1000, 1)) // replay: no update
	h.accept(payHTLC(rec, 1000, 2)) // refused: no update
	mu.Lock()
	defer mu.Unlock()
	if want := []State{StateOpen, StateSettled}; !reflect.DeepEqual(seen, want) {
		t.Fatalf("updates %v, want %v", seen, want)
	}
}

func TestStateString(t *testing.T) {
	for s, want := range map[State]string{StateOpen: "open", StateSettled: "settled",
		StateExpired: "expired", StateCanceled: "canceled", 9: "state(9)"} {
		if s.String() != want {
			t.Errorf("%d: %q, want %q", s, s.String(), want)
		}
	}
}
