package payment

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/flash-ln/flash/htlc/invoice"
	"github.com/flash-ln/flash/htlc/onion"
)

func TestAttemptStoredBeforeSend(t *testing.T) {
	h := newHarness(t)
	inv := h.invoice(payAmt, 40)
	checked := false
	h.fake.onSend = func() {
		// The daemon is handed the HTLC only once the attempt and its
		// session key are durable.
		pay, err := h.payer.Payment(inv.PaymentHash)
		if err != nil {
			t.Error(err)
			return
		}
		a := pay.InFlightAttempt()
		if a == nil || a.SessionKey == ([32]byte{}) || len(a.Route.Hops) != 2 {
			t.Errorf("attempt not stored before send: %+v", pay.Attempts)
		}
		checked = true
	}
	h.pay(&Request{Invoice: inv, MaxFeeMsat: maxFee})
	if !checked {
		t.Fatal("no HTLC sent")
	}
}

func TestFailureBlame(t *testing.T) {
	for _, tc := range []struct {
		name string
		fail func(h *harness, attempt int, v hopView) onion.FailureMessage
		// check the first attempt's lesson
		excludedNode    string
		excludedChannel uint32
	}{
		{
			name: "node failure",
			fail: func(h *harness, attempt int, v hopView) onion.FailureMessage {
				if v.node == h.net.bob {
					return &onion.TemporaryNodeFailure{}
				}
				return nil
			},
			excludedNode: "bob",
		},
		{
			name: "tampered amount at the payee",
			fail: func(h *harness, attempt int, v hopView) onion.FailureMessage {
				if attempt == 0 && v.final {
					return &onion.FinalIncorrectHtlcAmount{IncomingHtlcAmt: v.amount}
				}
				return nil
			},
			excludedNode: "bob",
		},
		{
			name: "unknown next peer",
			fail: func(h *harness, attempt int, v hopView) onion.FailureMessage {
				if v.node == h.net.bob {
					return &onion.UnknownNextPeer{}
				}
				return nil
			},
			excludedChannel: 2,
		},
		{
			name: "channel disabled without update",
			fail: func(h *harness, attempt int, v hopView) onion.FailureMessage {
				if v.node == h.net.bob {
					return &onion.ChannelDisabled{}
				}
				return nil
			},
			excludedChannel: 2,
		},
		{
			name: "bad onion at the next hop",
			fail: func(h *harness, attempt int, v hopView) onion.FailureMessage {
				if v.node == h.net.bob {
					return onion.NewBadOnionFailure(onion.CodeInvalidOnionHmac, [32]byte{})
				}
				return nil
			},
			excludedChannel: 2,
		},
		{
			name: "fee_insufficient without a new policy",
			fail: func(h *harness, attempt int, v hopView) onion.FailureMessage {
				if v.node == h.net.bob {
					return &onion.FeeInsufficient{HtlcMsat: v.amount}
				}
				return nil
			},
			excludedChannel: 2,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.fake.fail = func(attempt int, v hopView) onion.FailureMessage { return tc.fail(h, attempt, v) }
			pay := h.pay(&Request{Invoice: h.invoice(payAmt, 41), MaxFeeMsat: maxFee})
			checkSucceeded(t, h, pay, 2, "carol,dave", viaCarol)
			a := pay.Attempts[0]
			if tc.excludedNode != "" {
				if len(a.ExcludedNodes) != 1 || names(h.net, a.ExcludedNodes) != tc.excludedNode {
					t.Fatalf("excluded nodes %s, want %s (%+v)", names(h.net, a.ExcludedNodes), tc.excludedNode, a)
				}
			}
			if tc.excludedChannel != 0 {
				if len(a.ExcludedChannels) != 1 || a.ExcludedChannels[0].ShortChannelID != scid(tc.excludedChannel) ||
					a.ExcludedChannels[0].From != h.net.bob.id {
					t.Fatalf("excluded channels %+v, want %d from bob", a.ExcludedChannels, tc.excludedChannel)
				}
			}
		})
	}
}

func TestRouteHints(t *testing.T) {
	h := newHarness(t)
	// erin is reachable only over dave's private channel 9.
	h.net.private[scid(9)] = [2]*node{h.net.dave, h.net.erin}
	inv := h.invoice(payAmt, 50)
	inv.Payee = h.net.erin.key.PubKey()
	inv.RouteHints = [][]invoice.HopHint{{{
		NodeID: h.net.dave.key.PubKey(), ChannelID: scid(9),
		FeeBaseMsat: 100, FeeProportionalMillionths: 0, CLTVExpiryDelta: 40,
	}}}
	pay := h.pay(&Request{Invoice: inv, MaxFeeMsat: maxFee})
	checkSucceeded(t, h, pay, 1, "bob,dave,erin", viaBob+100)
	// Reading the hints back from the store gives the same route after
	// a restart.
	h.reopen()
	stored, err := h.payer.Payment(inv.PaymentHash)
	if err != nil || len(stored.RouteHints) != 1 || stored.RouteHints[0][0].ShortChannelID != scid(9) {
		t.Fatalf("stored hints %+v, %v", stored, err)
	}
}

func TestConcurrentPayments(t *testing.T) {
	h := newHarness(t)
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := &Request{Invoice: h.invoice(payAmt/10, byte(100+i)), MaxFeeMsat: maxFee}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			pay, err := h.payer.Pay(ctx, req)
			switch {
			case err != nil:
				errs <- err
			case pay.Status != StatusSucceeded:
				errs <- fmt.Errorf("payment %d: %v %v", i, pay.Status, pay.FailureReason)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	list, err := h.payer.Payments()
	if err != nil || len(list) != n {
		t.Fatalf("%d payments listed, %v", len(list), err)
	}
	if h.fake.numSent() != n {
		t.Fatalf("%d HTLCs for %d payments", h.fake.numSent(), n)
	}
}

func TestPayContextEndsWaitingOnly(t *testing.T) {
	h := newHarness(t)
	h.fake.hold = true
	inv := h.invoice(payAmt, 60)
	ctx, cancel := context.WithCancel(context.Background())
	h.fake.onSend = cancel
	pay, err := h.payer.Pay(ctx, &Request{Invoice: inv, MaxFeeMsat: maxFee})
	if !errors.Is(err, context.Canceled) || pay == nil || pay.Status != StatusInFlight {
		t.Fatalf("pay: %+v, %v", pay, err)
	}
	// The result still resolves the payment.
	h.fake.mu.Lock()
	res := h.fake.held[0]
	h.fake.mu.Unlock()
	if err := h.payer.HandleResult(res); err != nil {
		t.Fatal(err)
	}
	pay, _ = h.payer.Payment(inv.PaymentHash)
	checkSucceeded(t, h, pay, 1, "bob,dave", viaBob)
}

func TestCrashBetweenStoreAndSend(t *testing.T) {
	h := newHarness(t)
	inv := h.invoice(payAmt, 70)
	if _, err := h.payer.Start(&Request{Invoice: inv, MaxFeeMsat: maxFee}); err != nil {
		t.Fatal(err)
	}
	// The attempt is stored, then the node dies before the HTLC reaches
	// any channel.
	if _, _, _, err := h.payer.prepare(inv.PaymentHash, nil); err != nil {
		t.Fatal(err)
	}
	h.reopen()
	inflight, err := h.payer.InFlight()
	if err != nil || len(inflight) != 1 {
		t.Fatalf("in flight: %v, %v", inflight, err)
	}
	a := inflight[0].InFlightAttempt()
	// No channel holds the attempt's HTLC: the daemon says so.
	err = h.payer.HandleResult(Result{AttemptID: a.ID, PaymentHash: inv.PaymentHash, Local: &onion.TemporaryChannelFailure{}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pay, err := h.payer.Resume(ctx, inv.PaymentHash)
	if err != nil {
		t.Fatal(err)
	}
	// The unsent attempt's channel is avoided; carol's side carries it.
	checkSucceeded(t, h, pay, 2, "carol,dave", viaCarol)
	if h.fake.numSent() != 1 {
		t.Fatalf("%d HTLCs sent", h.fake.numSent())
	}
}
