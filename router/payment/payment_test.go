package payment

import (
	"context"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/htlc/invoice"
	"github.com/flash-ln/flash/htlc/onion"
)

const (
	payAmt = lnwire.MilliSatoshi(100_000_000)
	maxFee = lnwire.MilliSatoshi(200_000)
	// viaBob and viaCarol are the fees of the two sides of the diamond
	// for payAmt: base + payAmt * ppm / 1e6.
	viaBob   = lnwire.MilliSatoshi(1000 + 10_000)
	viaCarol = lnwire.MilliSatoshi(5000 + 100_000)
)

func checkSucceeded(t *testing.T, h *harness, pay *Payment, attempts int, route string, fee lnwire.MilliSatoshi) {
	t.Helper()
	if pay.Status != StatusSucceeded {
		t.Fatalf("status %v (%v), want succeeded; attempts %+v", pay.Status, pay.FailureReason, pay.Attempts)
	}
	if pay.Preimage == nil || sha256.Sum256(pay.Preimage[:]) != pay.PaymentHash {
		t.Fatalf("preimage %x does not hash to %x", pay.Preimage, pay.PaymentHash)
	}
	if len(pay.Attempts) != attempts {
		t.Fatalf("%d attempts, want %d: %+v", len(pay.Attempts), attempts, pay.Attempts)
	}
	if got := names(h.net, pay.Route().NodeIDs()); got != route {
		t.Fatalf("route %s, want %s", got, route)
	}
	if pay.FeeMsat() != fee {
		t.Fatalf("fee %d, want %d", pay.FeeMsat(), fee)
	}
	if pay.FailureReason != ReasonNone {
		t.Fatalf("failure reason %v on success", pay.FailureReason)
	}
	// What is stored is what was returned.
	stored, err := h.payer.Payment(pay.PaymentHash)
	if err != nil || stored.Status != StatusSucceeded || len(stored.Attempts) != attempts {
		t.Fatalf("stored %+v, %v", stored, err)
	}
}

func checkFailed(t *testing.T, pay *Payment, reason FailureReason, attempts int) {
	t.Helper()
	if pay.Status != StatusFailed || pay.FailureReason != reason {
		t.Fatalf("status %v reason %v, want failed %v; attempts %+v", pay.Status, pay.FailureReason, reason, pay.Attempts)
	}
	if len(pay.Attempts) != attempts {
		t.Fatalf("%d attempts, want %d: %+v", len(pay.Attempts), attempts, pay.Attempts)
	}
	if pay.InFlightAttempt() != nil {
		t.Fatal("a failed payment has an attempt in flight")
	}
}

func TestPaySucceedsFirstTry(t *testing.T) {
	h := newHarness(t)
	pay := h.pay(&Request{Invoice: h.invoice(payAmt, 1), MaxFeeMsat: maxFee})
	checkSucceeded(t, h, pay, 1, "bob,dave", viaBob)
	if pay.AmountMsat != payAmt {
		t.Fatalf("amount %d", pay.AmountMsat)
	}
	// Every hop received what the route said, and the payee exactly the
	// amount, with the payment data of the invoice.
	views := h.fake.views[0]
	if len(views) != 2 || views[0].amount != payAmt+viaBob || views[1].amount != payAmt {
		t.Fatalf("hops saw %+v", views)
	}
	pd := views[1].payload.PaymentData
	if pd == nil || pd.TotalMsat != payAmt || views[1].payload.KeysendPreimage != nil {
		t.Fatalf("final payload %+v", views[1].payload)
	}
	if views[1].expiry != testHeight+40+FinalCLTVPadding {
		t.Fatalf("final expiry %d below the payee's delta", views[1].expiry)
	}
	list, err := h.payer.Payments()
	if err != nil || len(list) != 1 || list[0].PaymentHash != pay.PaymentHash {
		t.Fatalf("list %v, %v", list, err)
	}
	sum := pay.Summary()
	if sum.Status != "succeeded" || len(sum.Route) != 2 || sum.Route[1] != h.net.dave.id.String() ||
		sum.FeeMsat != uint64(viaBob) || len(sum.Attempts) != 1 || sum.Preimage == "" || sum.FailureReason != "" {
		t.Fatalf("summary %+v", sum)
	}
	if inflight, _ := h.payer.InFlight(); len(inflight) != 0 {
		t.Fatalf("%d in flight after success", len(inflight))
	}
}

func TestPayRetriesAfterTemporaryChannelFailure(t *testing.T) {
	h := newHarness(t)
	upd := h.net.signedUpdate(2, h.net.bob, 1000, 100, 40)
	h.fake.fail = func(attempt int, v hopView) onion.FailureMessage {
		if v.node == h.net.bob {
			return &onion.TemporaryChannelFailure{Update: wireUpdate(t, upd)}
		}
		return nil
	}
	now := h.clock.Now()
	before := h.mission.Estimator(now).EdgeProbability(h.net.bob.id, h.net.dave.id, payAmt, 0)
	pay := h.pay(&Request{Invoice: h.invoice(payAmt, 2), MaxFeeMsat: maxFee})
	checkSucceeded(t, h, pay, 2, "carol,dave", viaCarol)
	a := pay.Attempts[0]
	if a.Status != StatusFailed || a.FailureCode != onion.CodeTemporaryChannelFailure || a.FailureSource != 0 {
		t.Fatalf("first attempt %+v", a)
	}
	if sum := pay.Summary(); len(sum.Attempts) != 2 || sum.Attempts[0].Status != "failed" ||
		sum.Attempts[0].FailureSource != h.net.bob.id.String() {
		t.Fatalf("summary %+v", sum)
	}
	if names(h.net, a.Route.NodeIDs()) != "bob,dave" {
		t.Fatalf("first attempt went %s", names(h.net, a.Route.NodeIDs()))
	}
	after := h.mission.Estimator(now).EdgeProbability(h.net.bob.id, h.net.dave.id, payAmt, 0)
	if !(after < before) {
		t.Fatalf("mission control did not learn: bob->dave %v then %v", before, after)
	}
	// The update the failure carried reached the graph.
	c, _ := h.net.g.Channel(scid(2))
	if got := c.Policies[upd.ChannelFlags.Direction()].Timestamp; got != upd.Timestamp {
		t.Fatalf("update %d not applied: %+v", upd.Timestamp, c.Policies)
	}
}

func TestPayFeeInsufficientAppliesUpdate(t *testing.T) {
	h := newHarness(t)
	upd := h.net.signedUpdate(2, h.net.bob, 2000, 100, 40)
	h.fake.fail = func(attempt int, v hopView) onion.FailureMessage {
		if attempt == 0 && v.node == h.net.bob {
			return &onion.FeeInsufficient{HtlcMsat: v.amount, Update: wireUpdate(t, upd)}
		}
		return nil
	}
	pay := h.pay(&Request{Invoice: h.invoice(payAmt, 3), MaxFeeMsat: maxFee})
	// Bob's side, with its new fee, is still the cheaper one.
	checkSucceeded(t, h, pay, 2, "bob,dave", viaBob+1000)
	if pay.Attempts[0].FailureCode != onion.CodeFeeInsufficient {
		t.Fatalf("first attempt %+v", pay.Attempts[0])
	}
	c, _ := h.net.g.Channel(scid(2))
	dir := upd.ChannelFlags.Direction()
	if c.Policies[dir].FeeBaseMsat != 2000 {
		t.Fatalf("policy not updated: %+v", c.Policies[dir])
	}
}

func TestPayIgnoresForgedUpdate(t *testing.T) {
	h := newHarness(t)
	// Carol signs a cheaper policy for bob's channel: it must not be
	// applied, and bob's channel is avoided instead.
	forged := h.net.signedUpdate(2, h.net.bob, 0, 0, 40)
	if err := forged.Sign(h.net.carol.key); err != nil {
		t.Fatal(err)
	}
	h.fake.fail = func(attempt int, v hopView) onion.FailureMessage {
		if v.node == h.net.bob {
			return &onion.FeeInsufficient{HtlcMsat: v.amount, Update: wireUpdate(t, forged)}
		}
		return nil
	}
	pay := h.pay(&Request{Invoice: h.invoice(payAmt, 4), MaxFeeMsat: maxFee})
	checkSucceeded(t, h, pay, 2, "carol,dave", viaCarol)
	c, _ := h.net.g.Channel(scid(2))
	if c.Policies[forged.ChannelFlags.Direction()].FeeBaseMsat != 1000 {
		t.Fatalf("forged update applied: %+v", c.Policies)
	}
}

func TestPayTerminalFailure(t *testing.T) {
	h := newHarness(t)
	inv := h.invoice(payAmt, 5)
	h.fake.mu.Lock()
	delete(h.fake.invoices, inv.PaymentHash) // dave does not know it
	h.fake.mu.Unlock()
	pay := h.pay(&Request{Invoice: inv, MaxFeeMsat: maxFee})
	checkFailed(t, pay, ReasonIncorrectPaymentDetails, 1)
	if a := pay.Attempts[0]; a.FailureCode != onion.CodeIncorrectOrUnknownPaymentDetails || a.FailureSource != 1 {
		t.Fatalf("attempt %+v", a)
	}
	if pay.FailureReason.String() != "incorrect_payment_details" || pay.Preimage != nil {
		t.Fatalf("reason %q preimage %v", pay.FailureReason, pay.Preimage)
	}
	// A failed hash may be paid again; it fails the same way.
	again := h.pay(&Request{Invoice: inv, MaxFeeMsat: maxFee})
	checkFailed(t, again, ReasonIncorrectPaymentDetails, 1)
}

func TestPayNoRoute(t *testing.T) {
	for _, tc := range []struct {
		name string
		req  func(h *harness) *Request
	}{
		{"unknown payee", func(h *harness) *Request {
			return &Request{Keysend: &Keysend{Dest: h.net.erin.id, AmountMsat: payAmt, Preimage: [32]byte{9}}, MaxFeeMsat: maxFee}
		}},
		{"above every path", func(h *harness) *Request {
			return &Request{Invoice: h.invoice(2_000_000_000, 6), MaxFeeMsat: 10 * maxFee}
		}},
		{"fee limit", func(h *harness) *Request {
			return &Request{Invoice: h.invoice(payAmt, 7), MaxFeeMsat: viaBob - 1}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			pay := h.pay(tc.req(h))
			checkFailed(t, pay, ReasonNoRoute, 0)
			if h.fake.numSent() != 0 {
				t.Fatalf("%d HTLCs sent", h.fake.numSent())
			}
		})
	}
}

func TestPayTimeout(t *testing.T) {
	h := newHarness(t)
	h.fake.fail = func(int, hopView) onion.FailureMessage { return &onion.TemporaryChannelFailure{} }
	// Each HTLC takes longer than the whole timeout; the one in flight
	// is still waited for, and no other starts.
	h.fake.onSend = func() { h.clock.Add(2 * time.Minute) }
	pay := h.pay(&Request{Invoice: h.invoice(payAmt, 8), MaxFeeMsat: maxFee, Timeout: time.Minute})
	checkFailed(t, pay, ReasonTimeout, 1)
	if h.fake.numSent() != 1 {
		t.Fatalf("%d HTLCs sent", h.fake.numSent())
	}
}

func TestPayTimeoutStillSettles(t *testing.T) {
	h := newHarness(t)
	h.fake.onSend = func() { h.clock.Add(2 * time.Minute) }
	pay := h.pay(&Request{Invoice: h.invoice(payAmt, 9), MaxFeeMsat: maxFee, Timeout: time.Minute})
	// Past the deadline, but the HTLC in flight settled: it succeeded.
	checkSucceeded(t, h, pay, 1, "bob,dave", viaBob)
}

func TestPayTwiceRefused(t *testing.T) {
	h := newHarness(t)
	inv := h.invoice(payAmt, 10)
	h.pay(&Request{Invoice: inv, MaxFeeMsat: maxFee})
	_, err := h.payer.Pay(context.Background(), &Request{Invoice: inv, MaxFeeMsat: maxFee})
	if !errors.Is(err, ErrAlreadyPaid) {
		t.Fatalf("second payment: %v", err)
	}
	if h.fake.numSent() != 1 {
		t.Fatalf("%d HTLCs sent", h.fake.numSent())
	}

	// In flight: the HTLC's result has not come back yet.
	h.fake.hold = true
	inv2 := h.invoice(payAmt, 11)
	if _, err := h.payer.Start(&Request{Invoice: inv2, MaxFeeMsat: maxFee}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.payer.Launch(context.Background(), inv2.PaymentHash); err != nil {
		t.Fatal(err)
	}
	if _, err := h.payer.Pay(context.Background(), &Request{Invoice: inv2, MaxFeeMsat: maxFee}); !errors.Is(err, ErrInFlight) {
		t.Fatalf("payment in flight paid again: %v", err)
	}
	// Launch refuses a second attempt while one is in flight.
	if _, err := h.payer.Launch(context.Background(), inv2.PaymentHash); !errors.Is(err, ErrAttemptInFlight) {
		t.Fatalf("second attempt: %v", err)
	}
	if h.fake.numSent() != 2 {
		t.Fatalf("%d HTLCs sent", h.fake.numSent())
	}
}

func TestRestartResolvesStoredAttempt(t *testing.T) {
	h := newHarness(t)
	h.fake.hold = true
	h.fake.fail = func(attempt int, v hopView) onion.FailureMessage {
		if attempt == 0 && v.node == h.net.bob {
			return &onion.TemporaryChannelFailure{}
		}
		return nil
	}
	inv := h.invoice(payAmt, 12)
	if _, err := h.payer.Start(&Request{Invoice: inv, MaxFeeMsat: maxFee}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.payer.Launch(context.Background(), inv.PaymentHash); err != nil {
		t.Fatal(err)
	}

	h.reopen()
	inflight, err := h.payer.InFlight()
	if err != nil || len(inflight) != 1 || inflight[0].InFlightAttempt() == nil {
		t.Fatalf("in flight after restart: %+v, %v", inflight, err)
	}
	// The failure comes back after the restart; only the stored session
	// key can decrypt it.
	h.fake.mu.Lock()
	h.fake.hold = false
	res := h.fake.held[0]
	h.fake.mu.Unlock()
	if err := h.payer.HandleResult(res); err != nil {
		t.Fatal(err)
	}
	if err := h.payer.HandleResult(res); err != nil {
		t.Fatalf("repeated result: %v", err)
	}
	pay, err := h.payer.Payment(inv.PaymentHash)
	if err != nil {
		t.Fatal(err)
	}
	if a := pay.Attempts[0]; a.Status != StatusFailed || a.FailureCode != onion.CodeTemporaryChannelFailure || a.FailureSource != 0 {
		t.Fatalf("attempt after restart %+v", a)
	}
	if pay.Status != StatusInFlight {
		t.Fatalf("status %v after a retryable failure", pay.Status)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pay, err = h.payer.Resume(ctx, inv.PaymentHash)
	if err != nil {
		t.Fatal(err)
	}
	checkSucceeded(t, h, pay, 2, "carol,dave", viaCarol)
}

func TestRestartThenSettle(t *testing.T) {
	h := newHarness(t)
	h.fake.hold = true
	inv := h.invoice(payAmt, 13)
	if _, err := h.payer.Start(&Request{Invoice: inv, MaxFeeMsat: maxFee}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.payer.Launch(context.Background(), inv.PaymentHash); err != nil {
		t.Fatal(err)
	}
	h.reopen()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan *Payment)
	go func() {
		pay, err := h.payer.Resume(ctx, inv.PaymentHash)
		if err != nil {
			t.Error(err)
		}
		done <- pay
	}()
	h.fake.mu.Lock()
	res := h.fake.held[0]
	h.fake.mu.Unlock()
	if err := h.payer.HandleResult(res); err != nil {
		t.Fatal(err)
	}
	checkSucceeded(t, h, <-done, 1, "bob,dave", viaBob)
	if h.fake.numSent() != 1 {
		t.Fatalf("%d HTLCs sent", h.fake.numSent())
	}
}

func TestKeysend(t *testing.T) {
	h := newHarness(t)
	pre := [32]byte{0xaa, 0xbb}
	pay := h.pay(&Request{Keysend: &Keysend{Dest: h.net.dave.id, AmountMsat: payAmt, Preimage: pre}, MaxFeeMsat: maxFee})
	checkSucceeded(t, h, pay, 1, "bob,dave", viaBob)
	if *pay.Preimage != pre || pay.Kind != KindKeysend {
		t.Fatalf("payment %+v", pay)
	}
	final := h.fake.views[0][1].payload
	if final.KeysendPreimage == nil || *final.KeysendPreimage != pre || final.PaymentData != nil {
		t.Fatalf("final payload %+v", final)
	}
	raw, err := final.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if p, err := onion.DecodePayload(raw, true); err != nil || p.KeysendPreimage == nil {
		t.Fatalf("record %d missing: %v", onion.TypeKeysendPreimage, err)
	}
}

func TestRequestValidation(t *testing.T) {
	h := newHarness(t)
	expired := h.invoice(payAmt, 20)
	expired.Timestamp = baseTime.Add(-2 * time.Hour)
	for _, tc := range []struct {
		name string
		req  *Request
		want error
	}{
		{"amount differs", &Request{Invoice: h.invoice(payAmt, 21), AmountMsat: payAmt + 1}, ErrAmount},
		{"no amount", &Request{Invoice: h.invoice(0, 22)}, ErrAmount},
		{"expired", &Request{Invoice: expired}, ErrInvoiceExpired},
		{"nothing", &Request{}, ErrBadRequest},
		{"ourselves", &Request{Keysend: &Keysend{Dest: h.net.alice.id, AmountMsat: 1}}, ErrBadRequest},
		{"no payment secret", &Request{Invoice: func() *invoice.Invoice {
			inv := h.invoice(payAmt, 24)
			inv.PaymentSecret = [32]byte{}
			return inv
		}()}, ErrBadRequest},
		{"keysend zero", &Request{Keysend: &Keysend{Dest: h.net.dave.id}}, ErrAmount},
	} {
		if _, err := h.payer.Start(tc.req); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if list, _ := h.payer.Payments(); len(list) != 0 {
		t.Fatalf("refused requests stored: %d", len(list))
	}
	// An invoice without an amount takes the one given.
	pay := h.pay(&Request{Invoice: h.invoice(0, 23), AmountMsat: payAmt, MaxFeeMsat: maxFee})
	checkSucceeded(t, h, pay, 1, "bob,dave", viaBob)
}

func TestSendErrorTriesAnotherChannel(t *testing.T) {
	h := newHarness(t)
	h.fake.sendErr = errors.New("link offline")
	pay := h.pay(&Request{Invoice: h.invoice(payAmt, 30), MaxFeeMsat: maxFee})
	// Both of alice's channels refuse; nothing is left.
	checkFailed(t, pay, ReasonNoRoute, 2)
	for _, a := range pay.Attempts {
		if a.FailureSource != -1 || len(a.ExcludedChannels) != 1 || a.ExcludedChannels[0].From != h.net.alice.id {
			t.Fatalf("attempt %+v", a)
		}
	}
}

func TestUnreadableFailureAvoidsRoute(t *testing.T) {
	h := newHarness(t)
	h.fake.hold = true
	inv := h.invoice(payAmt, 31)
	if _, err := h.payer.Start(&Request{Invoice: inv, MaxFeeMsat: maxFee}); err != nil {
		t.Fatal(err)
	}
	pay, err := h.payer.Launch(context.Background(), inv.PaymentHash)
	if err != nil {
		t.Fatal(err)
	}
	garbage := make([]byte, 292)
	garbage[7] = 1
	if err := h.payer.HandleResult(Result{AttemptID: pay.Attempts[0].ID, PaymentHash: inv.PaymentHash, Reason: garbage}); err != nil {
		t.Fatal(err)
	}
	pay, _ = h.payer.Payment(inv.PaymentHash)
	a := pay.Attempts[0]
	if a.Status != StatusFailed || len(a.ExcludedChannels) != 1 || a.ExcludedChannels[0].ShortChannelID != scid(2) {
		t.Fatalf("attempt %+v", a)
	}
	// A result for an unknown attempt, or a wrong preimage, changes
	// nothing.
	if err := h.payer.HandleResult(Result{AttemptID: 999, PaymentHash: inv.PaymentHash, Reason: garbage}); !errors.Is(err, ErrUnknownAttempt) {
		t.Fatalf("unknown attempt: %v", err)
	}
	h.fake.mu.Lock()
	h.fake.hold = false
	h.fake.mu.Unlock()
	pay, err = h.payer.Resume(context.Background(), inv.PaymentHash)
	if err != nil {
		t.Fatal(err)
	}
	checkSucceeded(t, h, pay, 2, "carol,dave", viaCarol)
}

func TestBadPreimageRefused(t *testing.T) {
	h := newHarness(t)
	h.fake.hold = true
	inv := h.invoice(payAmt, 32)
	if _, err := h.payer.Start(&Request{Invoice: inv, MaxFeeMsat: maxFee}); err != nil {
		t.Fatal(err)
	}
	pay, err := h.payer.Launch(context.Background(), inv.PaymentHash)
	if err != nil {
		t.Fatal(err)
	}
	bad := [32]byte{1}
	err = h.payer.HandleResult(Result{AttemptID: pay.Attempts[0].ID, PaymentHash: inv.PaymentHash, Preimage: &bad})
	if !errors.Is(err, ErrBadPreimage) {
		t.Fatalf("bad preimage: %v", err)
	}
	pay, _ = h.payer.Payment(inv.PaymentHash)
	if pay.Status != StatusInFlight || pay.InFlightAttempt() == nil {
		t.Fatalf("payment changed: %+v", pay)
	}
}
