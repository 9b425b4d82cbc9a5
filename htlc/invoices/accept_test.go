package invoices

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/htlc/onion"
)

func TestAcceptRules(t *testing.T) {
	const amt = 100_000
	const delta = DefaultMinFinalCLTVExpiryDelta
	wrong := [32]byte{0xee}

	tests := []struct {
		name string
		// any makes the HTLC pay the any-amount invoice.
		any    bool
		mutate func(*IncomingHTLC, *harness)
		// wantReason is zero for a settlement.
		wantReason FailReason
		wantCode   onion.FailureCode
	}{
		{name: "exact amount settles"},
		{name: "twice the amount settles", mutate: func(in *IncomingHTLC, _ *harness) {
			in.AmountMsat, in.AmtToForward, in.TotalMsat = 2*amt, 2*amt, 2*amt
		}},
		{name: "htlc above onion amount settles", mutate: func(in *IncomingHTLC, _ *harness) {
			in.AmountMsat = amt + 5
		}},
		{name: "htlc expiry above onion settles", mutate: func(in *IncomingHTLC, _ *harness) {
			in.Expiry = in.OutgoingCLTV + 10
		}},
		{name: "no total_msat settles", mutate: func(in *IncomingHTLC, _ *harness) { in.TotalMsat = 0 }},
		{name: "expiry exactly at the final delta settles", mutate: func(in *IncomingHTLC, _ *harness) {
			in.Expiry, in.OutgoingCLTV = testHeight+delta, testHeight+delta
		}},
		{name: "any-amount invoice takes any amount", any: true, mutate: func(in *IncomingHTLC, _ *harness) {
			in.AmountMsat, in.AmtToForward, in.TotalMsat = 1, 1, 1
		}},
		{name: "one second before expiry settles", mutate: func(_ *IncomingHTLC, h *harness) {
			h.clock.Advance(time.Hour - time.Second)
		}},

		{"htlc amount below onion", false, func(in *IncomingHTLC, _ *harness) { in.AmountMsat = amt - 1 },
			ReasonHTLCAmountBelowOnion, onion.CodeFinalIncorrectHtlcAmount},
		{"htlc expiry below onion", false, func(in *IncomingHTLC, _ *harness) { in.Expiry = in.OutgoingCLTV - 1 },
			ReasonHTLCExpiryBelowOnion, onion.CodeFinalIncorrectCltvExpiry},
		{"unknown hash", false, func(in *IncomingHTLC, _ *harness) { in.PaymentHash[0] ^= 1 },
			ReasonUnknownHash, onion.CodeIncorrectOrUnknownPaymentDetails},
		{"wrong payment secret", false, func(in *IncomingHTLC, _ *harness) { in.PaymentSecret = &wrong },
			ReasonWrongSecret, onion.CodeIncorrectOrUnknownPaymentDetails},
		{"missing payment secret", false, func(in *IncomingHTLC, _ *harness) { in.PaymentSecret, in.TotalMsat = nil, 0 },
			ReasonWrongSecret, onion.CodeIncorrectOrUnknownPaymentDetails},
		{"amount below invoice", false, func(in *IncomingHTLC, _ *harness) {
			in.AmountMsat, in.AmtToForward, in.TotalMsat = amt-1, amt-1, amt-1
		}, ReasonAmountTooLow, onion.CodeIncorrectOrUnknownPaymentDetails},
		{"amount above twice the invoice", false, func(in *IncomingHTLC, _ *harness) {
			in.AmountMsat, in.AmtToForward, in.TotalMsat = 2*amt+1, 2*amt+1, 2*amt+1
		}, ReasonAmountTooHigh, onion.CodeIncorrectOrUnknownPaymentDetails},
		{"zero amount for any-amount invoice", true, func(in *IncomingHTLC, _ *harness) {
			in.AmountMsat, in.AmtToForward, in.TotalMsat = 0, 0, 0
		}, ReasonAmountTooLow, onion.CodeIncorrectOrUnknownPaymentDetails},
		{"expiry one block too soon", false, func(in *IncomingHTLC, _ *harness) {
			in.Expiry, in.OutgoingCLTV = testHeight+delta-1, testHeight+delta-1
		}, ReasonExpiryTooSoon, onion.CodeIncorrectOrUnknownPaymentDetails},
		{"expiry in the past", false, func(in *IncomingHTLC, _ *harness) {
			in.Expiry, in.OutgoingCLTV = 10, 10
		}, ReasonExpiryTooSoon, onion.CodeIncorrectOrUnknownPaymentDetails},
		{"height near the top of uint32", false, func(in *IncomingHTLC, _ *harness) {
			in.CurrentHeight = ^uint32(0) - 1
		}, ReasonExpiryTooSoon, onion.CodeIncorrectOrUnknownPaymentDetails},
		{"multi-part payment", false, func(in *IncomingHTLC, _ *harness) {
			in.AmountMsat, in.AmtToForward, in.TotalMsat = amt/2, amt/2, amt
		}, ReasonMPPUnsupported, onion.CodeIncorrectOrUnknownPaymentDetails},
		{"invoice expired", false, func(_ *IncomingHTLC, h *harness) { h.clock.Advance(time.Hour) },
			ReasonExpired, onion.CodeIncorrectOrUnknownPaymentDetails},
		{"invoice canceled", false, func(in *IncomingHTLC, h *harness) {
			if err := h.reg.Cancel(in.PaymentHash); err != nil {
				h.t.Fatal(err)
			}
		}, ReasonCanceled, onion.CodeIncorrectOrUnknownPaymentDetails},
		{"keysend preimage for an invoice without secret", false, func(in *IncomingHTLC, h *harness) {
			rec := h.lookup(in.PaymentHash)
			in.PaymentSecret, in.TotalMsat, in.KeysendPreimage = nil, 0, &rec.Preimage
		}, ReasonWrongSecret, onion.CodeIncorrectOrUnknownPaymentDetails},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil)
			fixed := h.add(AddRequest{AmountMsat: amt})
			anyAmt := h.add(AddRequest{})
			rec := fixed
			if tc.any {
				rec = anyAmt
			}
			in := payHTLC(rec, amt, 1)
			if tc.mutate != nil {
				tc.mutate(&in, h)
			}
			before, _ := h.reg.Lookup(rec.PaymentHash)
			res := h.accept(in)

			if tc.wantReason == 0 {
				s, ok := res.(*Settle)
				if !ok {
					t.Fatalf("got %+v, want settle", res)
				}
				if s.Preimage != rec.Preimage {
					t.Fatal("settled with the wrong preimage")
				}
				got := h.lookup(rec.PaymentHash)
				if got.State != StateSettled || got.AmountPaidMsat != in.AmountMsat ||
					!got.SettledAt.Equal(h.clock.Now()) || len(got.HTLCs) != 1 {
					t.Fatalf("record after settle: %+v", got)
				}
				want := HTLC{Circuit: in.Circuit, AmountMsat: in.AmountMsat, Expiry: in.Expiry,
					AcceptHeight: in.CurrentHeight, AcceptedAt: h.clock.Now()}
				if !reflect.DeepEqual(got.HTLCs[0], want) {
					t.Fatalf("htlc %+v, want %+v", got.HTLCs[0], want)
				}
				return
			}

			f, ok := res.(*Fail)
			if !ok {
				t.Fatalf("got %+v, want fail", res)
			}
			if f.Reason != tc.wantReason || f.Message.Code() != tc.wantCode {
				t.Fatalf("fail %v (%v), want %v (%v)", f.Reason, f.Message.Code(), tc.wantReason, tc.wantCode)
			}
			switch m := f.Message.(type) {
			case *onion.IncorrectOrUnknownPaymentDetails:
				if m.HtlcMsat != in.AmountMsat || m.Height != in.CurrentHeight {
					t.Errorf("failure data %+v", m)
				}
			case *onion.FinalIncorrectHtlcAmount:
				if m.IncomingHtlcAmt != in.AmountMsat {
					t.Errorf("failure data %+v", m)
				}
			case *onion.FinalIncorrectCltvExpiry:
				if m.CltvExpiry != in.Expiry {
					t.Errorf("failure data %+v", m)
				}
			}
			// The failure must encode: it goes back to the payer.
			if _, err := onion.DecodeFailure(onion.EncodeFailure(f.Message)); err != nil {
				t.Errorf("failure does not round-trip: %v", err)
			}
			if before != nil {
				after := h.lookup(rec.PaymentHash)
				if len(after.HTLCs) != 0 || after.State == StateSettled {
					t.Fatalf("refused HTLC changed the record: %+v", after)
				}
			}
		})
	}
}

func TestAcceptNeverSettlesTwice(t *testing.T) {
	h := newHarness(t, nil)
	rec := h.add(AddRequest{AmountMsat: 5000})
	first := payHTLC(rec, 5000, 1)
	res := h.accept(first)
	if s, ok := res.(*Settle); !ok || s.Preimage != rec.Preimage {
		t.Fatalf("first HTLC: %+v", res)
	}
	settled := h.lookup(rec.PaymentHash)

	// Replays of the same HTLC: same preimage, nothing stored.
	h.clock.Advance(time.Minute)
	for i := 0; i < 3; i++ {
		if again := h.accept(first); !reflect.DeepEqual(again, res) {
			t.Fatalf("replay %d: %+v", i, again)
		}
	}
	// Another HTLC, even a perfect one, on another channel or with
	// another id, fails.
	others := []IncomingHTLC{payHTLC(rec, 5000, 2), payHTLC(rec, 5000, 1)}
	others[1].Circuit.ChanID = lnwire.ChannelID{9}
	for i, in := range others {
		f, ok := h.accept(in).(*Fail)
		if !ok || f.Reason != ReasonAlreadySettled {
			t.Fatalf("other HTLC %d: %+v", i, f)
		}
	}
	if got := h.lookup(rec.PaymentHash); !reflect.DeepEqual(got, settled) {
		t.Fatalf("record changed:\n%+v\n%+v", got, settled)
	}
}

func TestAcceptConcurrentHTLCsOneSettles(t *testing.T) {
	h := newHarness(t, nil)
	rec := h.add(AddRequest{AmountMsat: 5000})
	const n = 32
	results := make([]Resolution, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := h.reg.Accept(context.Background(), payHTLC(rec, 5000, uint64(i)))
			if err != nil {
				t.Error(err)
			}
			results[i] = res
		}()
	}
	wg.Wait()
	settled := 0
	for _, res := range results {
		switch res := res.(type) {
		case *Settle:
			settled++
		case *Fail:
			if res.Reason != ReasonAlreadySettled {
				t.Errorf("unexpected failure %v", res.Reason)
			}
		}
	}
	if settled != 1 {
		t.Fatalf("%d HTLCs settled one invoice", settled)
	}
	if got := h.lookup(rec.PaymentHash); len(got.HTLCs) != 1 {
		t.Fatalf("%d HTLCs stored", len(got.HTLCs))
	}
}

// TestAcceptConcurrentInvoices settles many invoices at once, which puts
// several settlements in each shared transaction.
func TestAcceptConcurrentInvoices(t *testing.T) {
	h := newHarness(t, nil)
	const n = 64
	recs := make([]*Record, n)
	for i := range recs {
		recs[i] = h.add(AddRequest{AmountMsat: lnwire.MilliSatoshi(1000 + i)})
	}
	var wg sync.WaitGroup
	for i, rec := range recs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := h.reg.Accept(context.Background(), payHTLC(rec, rec.AmountMsat, uint64(i)))
			if err != nil {
				t.Error(err)
				return
			}
			if s, ok := res.(*Settle); !ok || s.Preimage != rec.Preimage {
				t.Errorf("invoice %d: %+v", i, res)
			}
		}()
	}
	wg.Wait()
	h.reopen()
	list, err := h.reg.List()
	if err != nil {
		t.Fatal(err)
	}
	for i, rec := range list {
		if rec.State != StateSettled || rec.AmountPaidMsat != recs[i].AmountMsat {
			t.Errorf("invoice %d after reopen: %v, %d msat", i, rec.State, rec.AmountPaidMsat)
		}
	}
}

func TestKeysend(t *testing.T) {
	preimage := [32]byte{0xab, 0xcd}
	tests := []struct {
		name       string
		reject     bool
		mutate     func(*IncomingHTLC)
		wantReason FailReason
	}{
		{name: "settles"},
		{name: "without payment secret or total", mutate: func(in *IncomingHTLC) { in.TotalMsat = 0 }},
		{name: "refused when disabled", reject: true, wantReason: ReasonKeysendRejected},
		{name: "preimage not matching hash", mutate: func(in *IncomingHTLC) {
			p := *in.KeysendPreimage
			p[0] ^= 1
			in.KeysendPreimage = &p
		}, wantReason: ReasonUnknownHash},
		{name: "expiry too soon", mutate: func(in *IncomingHTLC) { in.Expiry, in.OutgoingCLTV = testHeight+1, testHeight+1 },
			wantReason: ReasonExpiryTooSoon},
		{name: "multi-part", mutate: func(in *IncomingHTLC) { in.TotalMsat = 2 * in.AmtToForward },
			wantReason: ReasonMPPUnsupported},
		{name: "zero amount", mutate: func(in *IncomingHTLC) { in.AmountMsat, in.AmtToForward = 0, 0 },
			wantReason: ReasonAmountTooLow},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.RejectKeysend = tc.reject })
			in := keysendHTLC(preimage, 7000, 1)
			if tc.mutate != nil {
				tc.mutate(&in)
			}
			res := h.accept(in)
			if tc.wantReason != 0 {
				f, ok := res.(*Fail)
				if !ok || f.Reason != tc.wantReason || f.Message.Code() != onion.CodeIncorrectOrUnknownPaymentDetails {
					t.Fatalf("got %+v, want %v", res, tc.wantReason)
				}
				if _, err := h.reg.Lookup(in.PaymentHash); !errors.Is(err, ErrNotFound) {
					t.Fatalf("refused keysend left a record: %v", err)
				}
				return
			}
			if s, ok := res.(*Settle); !ok || s.Preimage != preimage {
				t.Fatalf("got %+v, want settle", res)
			}
			rec := h.lookup(sha256.Sum256(preimage[:]))
			if !rec.Keysend || rec.State != StateSettled || rec.AmountPaidMsat != 7000 || rec.Invoice != "" {
				t.Fatalf("keysend record %+v", rec)
			}
			// Replay settles again; a second payment with the same
			// preimage fails.
			if again := h.accept(in); !reflect.DeepEqual(again, res) {
				t.Fatalf("replay: %+v", again)
			}
			if f, ok := h.accept(keysendHTLC(preimage, 7000, 2)).(*Fail); !ok || f.Reason != ReasonAlreadySettled {
				t.Fatalf("second keysend: %+v", f)
			}
		})
	}
}

func TestIncomingFromPayload(t *testing.T) {
	secret := [32]byte{3}
	pre := [32]byte{4}
	p := &onion.Payload{AmtToForward: 10, OutgoingCLTV: 20,
		PaymentData: &onion.PaymentData{PaymentSecret: secret, TotalMsat: 30}, KeysendPreimage: &pre}
	in := IncomingFromPayload(IncomingHTLC{AmountMsat: 11}, p)
	if in.AmountMsat != 11 || in.AmtToForward != 10 || in.OutgoingCLTV != 20 || *in.PaymentSecret != secret ||
		in.TotalMsat != 30 || *in.KeysendPreimage != pre {
		t.Fatalf("%+v", in)
	}
	// The HTLC holds copies: changing the payload later changes nothing.
	p.PaymentData.PaymentSecret[0] = 0xff
	if in.PaymentSecret[0] != 3 {
		t.Fatal("payment secret aliases the payload")
	}
	in = IncomingFromPayload(in, &onion.Payload{AmtToForward: 1})
	if in.PaymentSecret != nil || in.TotalMsat != 0 || in.KeysendPreimage != nil {
		t.Fatalf("stale fields kept: %+v", in)
	}
}

func TestAcceptCanceledContext(t *testing.T) {
	h := newHarness(t, nil)
	rec := h.add(AddRequest{AmountMsat: 1})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.reg.Accept(ctx, payHTLC(rec, 1, 1)); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
	if h.lookup(rec.PaymentHash).State != StateOpen {
		t.Fatal("canceled Accept settled")
	}
}

func TestFailReasonString(t *testing.T) {
	for r := ReasonUnknownHash; r <= ReasonHTLCExpiryBelowOnion; r++ {
		if s := r.String(); s == "" || s == fmt.Sprintf("reason(%d)", uint8(r)) {
			t.Errorf("reason %d has no name", r)
		}
	}
}

func TestAcceptTx(t *testing.T) {
	h := newHarness(t, nil)
	rec := h.add(AddRequest{AmountMsat: 1000})
	in := payHTLC(rec, 1000, 1)

	// A rolled-back transaction leaves the invoice open.
	rollback := errors.New("rollback")
	err := h.db.Update(func(tx *bbolt.Tx) error {
		res, _, err := h.reg.AcceptTx(tx, in)
		if err != nil {
			return err
		}
		if _, ok := res.(*Settle); !ok {
			t.Errorf("got %+v, want settle", res)
		}
		return rollback
	})
	if !errors.Is(err, rollback) {
		t.Fatal(err)
	}
	if got := h.lookup(rec.PaymentHash); got.State != StateOpen {
		t.Fatalf("rolled back settlement stored: %v", got.State)
	}

	var updated []*Record
	h.reg.cfg.OnUpdate = func(r *Record) { updated = append(updated, r) }
	var done func()
	err = h.db.Update(func(tx *bbolt.Tx) error {
		var err error
		_, done, err = h.reg.AcceptTx(tx, in)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(updated) != 0 {
		t.Fatal("subscribers told before the caller's commit hook")
	}
	done()
	if len(updated) != 1 || updated[0].State != StateSettled {
		t.Fatalf("updates %+v", updated)
	}
	if res := h.accept(in); !reflect.DeepEqual(res, &Settle{Preimage: rec.Preimage}) {
		t.Fatalf("replay %+v", res)
	}
	if err := h.db.View(func(tx *bbolt.Tx) error {
		_, _, err := h.reg.AcceptTx(tx, in)
		return err
	}); err == nil {
		t.Fatal("AcceptTx in a read-only transaction succeeded")
	}
}
