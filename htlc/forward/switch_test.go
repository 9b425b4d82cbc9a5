package forward

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"testing"

	"github.com/flash-ln/flash/channel"
	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/htlc/invoices"
	"github.com/flash-ln/flash/htlc/onion"
)

// send makes alice offer the route's HTLC to bob as attempt 7 with id 0, and
// returns what bob receives.
func (r *route) send(t testing.TB) IncomingHTLC {
	t.Helper()
	ctx := context.Background()
	d, err := r.alice.sw.SendLocal(ctx, 7, r.ab.SCID, channel.AddHTLC{
		Amount: r.abAmt, PaymentHash: r.hash, CLTVExpiry: r.abExp, Onion: r.packet,
	})
	d = mustAction(t, d, err, ActionForward)
	if d.Outgoing != r.ab.ChanID {
		t.Fatalf("alice sends over %x, want %x", d.Outgoing, r.ab.ChanID)
	}
	if err := r.alice.sw.OpenCircuit(d.Incoming, 0); err != nil {
		t.Fatal(err)
	}
	return incoming(r.ab.ChanID, 0, d)
}

// forwardAtBob makes bob forward the HTLC to carol under id 0 and returns
// what carol receives.
func (r *route) forwardAtBob(t *testing.T, in IncomingHTLC) IncomingHTLC {
	t.Helper()
	d, err := r.bob.sw.HandleIncoming(context.Background(), in, testHeight)
	d = mustAction(t, d, err, ActionForward)
	if d.Outgoing != r.bc.ChanID || d.OutgoingSCID != r.bc.SCID {
		t.Fatalf("bob forwards over %x/%s, want %x/%s", d.Outgoing, d.OutgoingSCID, r.bc.ChanID, r.bc.SCID)
	}
	if d.Add.Amount != r.bcAmt || d.Add.CLTVExpiry != r.bcExp || d.Add.PaymentHash != r.hash {
		t.Fatalf("bob forwards %d msat expiring at %d, want %d at %d", d.Add.Amount, d.Add.CLTVExpiry, r.bcAmt, r.bcExp)
	}
	if err := r.bob.sw.OpenCircuit(d.Incoming, 0); err != nil {
		t.Fatal(err)
	}
	return incoming(r.bc.ChanID, 0, d)
}

func TestPaymentSettles(t *testing.T) {
	ctx := context.Background()
	r := newRoute(t)
	toCarol := r.forwardAtBob(t, r.send(t))

	d, err := r.carol.sw.HandleIncoming(ctx, toCarol, testHeight)
	d = mustAction(t, d, err, ActionSettle)
	if d.Preimage != r.preimage {
		t.Fatal("carol settles with the wrong preimage")
	}
	if got := r.carol.payee.last; got.AmtToForward != r.bcAmt || got.OutgoingCLTV != r.bcExp ||
		got.PaymentSecret == nil || *got.PaymentSecret != [32]byte{7} || got.CurrentHeight != testHeight {
		t.Fatalf("final hop saw %+v", got)
	}
	// A retransmitted event gets the same answer without asking again.
	d2, err := r.carol.sw.HandleIncoming(ctx, toCarol, testHeight)
	d2 = mustAction(t, d2, err, ActionSettle)
	if !d2.Repeat || d2.Preimage != r.preimage || r.carol.payee.calls != 1 {
		t.Fatalf("repeat %+v, %d calls to the final hop", d2, r.carol.payee.calls)
	}
	if err := r.carol.sw.IncomingResolved(d.Incoming); err != nil {
		t.Fatal(err)
	}

	// The preimage travels back through bob.
	d, err = r.bob.sw.HandleOutgoingSettled(ctx, r.bc.ChanID, 0, r.preimage)
	d = mustAction(t, d, err, ActionSettle)
	if d.Incoming != (CircuitKey{r.ab.ChanID, 0}) || d.Preimage != r.preimage || d.Repeat {
		t.Fatalf("bob settles %+v", d)
	}
	// The irrevocable settlement that follows is a repeat.
	d, err = r.bob.sw.HandleOutgoingSettled(ctx, r.bc.ChanID, 0, r.preimage)
	if d = mustAction(t, d, err, ActionSettle); !d.Repeat {
		t.Fatal("second settlement not marked repeat")
	}
	if err := r.bob.sw.IncomingResolved(d.Incoming); err != nil {
		t.Fatal(err)
	}
	if n := len(r.bob.sw.Circuits()); n != 0 {
		t.Fatalf("bob keeps %d circuits after the payment", n)
	}
	// A late event for the deleted circuit is recognisable.
	if _, err := r.bob.sw.HandleOutgoingSettled(ctx, r.bc.ChanID, 0, r.preimage); !errors.Is(err, ErrUnknownCircuit) {
		t.Fatalf("late settlement: %v, want ErrUnknownCircuit", err)
	}

	// Alice's payment learns the preimage.
	d, err = r.alice.sw.HandleOutgoingSettled(ctx, r.ab.ChanID, 0, r.preimage)
	mustAction(t, d, err, ActionNone)
	res := r.alice.sink.get(7)
	if len(res) != 1 || res[0].Preimage == nil || *res[0].Preimage != r.preimage || res[0].PaymentHash != r.hash {
		t.Fatalf("alice's results %+v", res)
	}
	if n := len(r.alice.sw.Circuits()); n != 0 {
		t.Fatalf("alice keeps %d circuits after the payment", n)
	}
}

func TestWrongPreimageRefused(t *testing.T) {
	r := newRoute(t)
	r.forwardAtBob(t, r.send(t))
	if _, err := r.bob.sw.HandleOutgoingSettled(context.Background(), r.bc.ChanID, 0, [32]byte{1}); err == nil {
		t.Fatal("a preimage that does not match the hash was accepted")
	}
	if c := r.bob.sw.Circuits(); len(c) != 1 || c[0].State != StateOpen {
		t.Fatalf("circuit after a bad preimage: %+v", c)
	}
}

// failBack carries a failure from carol (reason) back to alice and returns
// what alice decrypts.
func (r *route) failBack(t *testing.T, ev channel.OutgoingHTLCFailed) *onion.ForwardingFailure {
	t.Helper()
	ctx := context.Background()
	d, err := r.bob.sw.HandleOutgoingFailed(ctx, r.bc.ChanID, ev)
	d = mustAction(t, d, err, ActionFail)
	if d.Incoming != (CircuitKey{r.ab.ChanID, 0}) {
		t.Fatalf("bob fails %s", d.Incoming)
	}
	again, err := r.bob.sw.HandleOutgoingFailed(ctx, r.bc.ChanID, ev)
	if again = mustAction(t, again, err, ActionFail); !again.Repeat || !bytes.Equal(again.Reason, d.Reason) {
		t.Fatal("repeated failure not answered the same")
	}
	if _, err := r.bob.sw.HandleOutgoingSettled(ctx, r.bc.ChanID, 0, r.preimage); !errors.Is(err, ErrCircuitState) {
		t.Fatalf("preimage after failure: %v", err)
	}
	return r.aliceFails(t, d.Reason)
}

func (r *route) aliceFails(t *testing.T, reason []byte) *onion.ForwardingFailure {
	t.Helper()
	d, err := r.alice.sw.HandleOutgoingFailed(context.Background(), r.ab.ChanID, channel.OutgoingHTLCFailed{ID: 0, Reason: reason})
	mustAction(t, d, err, ActionNone)
	res := r.alice.sink.get(7)
	if len(res) != 1 || res[0].Preimage != nil || res[0].Reason == nil {
		t.Fatalf("alice's results %+v", res)
	}
	ff, err := onion.DecryptFailure(r.circuit, res[0].Reason)
	if err != nil {
		t.Fatal(err)
	}
	return ff
}

func TestFailureAtPayee(t *testing.T) {
	r := newRoute(t)
	r.carol.payee.minAmt = 2_000_000 // carol wants more than is paid
	toCarol := r.forwardAtBob(t, r.send(t))
	d, err := r.carol.sw.HandleIncoming(context.Background(), toCarol, testHeight)
	d = mustAction(t, d, err, ActionFail)

	ff := r.failBack(t, channel.OutgoingHTLCFailed{ID: 0, Reason: d.Reason})
	want := &onion.IncorrectOrUnknownPaymentDetails{HtlcMsat: r.bcAmt, Height: testHeight}
	if ff.HopIndex != 1 || !ff.Node.IsEqual(r.carol.key.PubKey()) {
		t.Fatalf("failure from hop %d", ff.HopIndex)
	}
	if got, ok := ff.Failure.(*onion.IncorrectOrUnknownPaymentDetails); !ok || *got != *want {
		t.Fatalf("failure %#v, want %#v", ff.Failure, want)
	}
}

func TestMalformedFromNextHop(t *testing.T) {
	r := newRoute(t)
	toCarol := r.forwardAtBob(t, r.send(t))
	toCarol.HTLC.Onion[100] ^= 1
	d, err := r.carol.sw.HandleIncoming(context.Background(), toCarol, testHeight)
	d = mustAction(t, d, err, ActionFailMalformed)
	if d.ShaOnion != sha256.Sum256(toCarol.HTLC.Onion) || onion.FailureCode(d.FailureCode) != onion.CodeInvalidOnionHmac {
		t.Fatalf("malformed answer %+v", d)
	}
	ff := r.failBack(t, channel.OutgoingHTLCFailed{ID: 0, Malformed: true, FailureCode: d.FailureCode, ShaOnion: d.ShaOnion})
	// bob turns it into a failure of his own.
	bad, ok := ff.Failure.(*onion.BadOnionFailure)
	if ff.HopIndex != 0 || !ok || bad.FailCode != onion.CodeInvalidOnionHmac || bad.OnionSHA256 != d.ShaOnion {
		t.Fatalf("alice decrypts hop %d: %#v", ff.HopIndex, ff.Failure)
	}
}

func TestForwardRefusedByPolicy(t *testing.T) {
	tests := []struct {
		name   string
		amt    uint64 // what alice asks bob to forward
		exp    uint32
		modify func(*route)
		want   onion.FailureCode
	}{
		{name: "fee insufficient", amt: 1_000_001, exp: testHeight + 40, want: onion.CodeFeeInsufficient},
		{name: "incorrect cltv expiry", amt: 1_000_000, exp: testHeight + 41, want: onion.CodeIncorrectCltvExpiry},
		{name: "expiry too soon", amt: 1_000_000, exp: testHeight + 40, want: onion.CodeExpiryTooSoon,
			modify: func(r *route) { r.abExp = testHeight + 40 + 40; r.bcExp = testHeight + 10; r.abExp = r.bcExp + 40 }},
		{name: "temporary channel failure", amt: 1_000_000, exp: testHeight + 40, want: onion.CodeTemporaryChannelFailure,
			modify: func(r *route) { r.bob.chans.set(r.bc.SCID, func(c *ChannelInfo) { c.AvailableMsat = 999_999 }) }},
		{name: "channel disabled", amt: 1_000_000, exp: testHeight + 40, want: onion.CodeChannelDisabled,
			modify: func(r *route) { r.bob.chans.set(r.bc.SCID, func(c *ChannelInfo) { c.Policy.Disabled = true }) }},
		{name: "unknown next peer", amt: 1_000_000, exp: testHeight + 40, want: onion.CodeUnknownNextPeer,
			modify: func(r *route) { r.bob.chans = newChannels(); r.bob.restart() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRoute(t)
			if tt.modify != nil {
				tt.modify(r)
			}
			if tt.want == onion.CodeExpiryTooSoon {
				r.build(t, r.bcAmt, r.bcExp)
			} else {
				r.build(t, lnwire.MilliSatoshi(tt.amt), tt.exp)
			}
			in := r.send(t)
			d, err := r.bob.sw.HandleIncoming(context.Background(), in, testHeight)
			d = mustAction(t, d, err, ActionFail)
			if d.Failure.Code() != tt.want {
				t.Fatalf("bob fails with %v, want %v", d.Failure, tt.want)
			}
			if n := len(r.bob.sw.Circuits()); n != 0 {
				t.Fatalf("a refused forward left %d circuits", n)
			}
			ff := r.aliceFails(t, d.Reason)
			if ff.HopIndex != 0 || ff.Failure.Code() != tt.want {
				t.Fatalf("alice decrypts hop %d: %v", ff.HopIndex, ff.Failure)
			}
			if uf, ok := ff.Failure.(onion.UpdateFailure); ok && !bytes.Equal(uf.ChannelUpdate(), []byte("bc-update")) {
				t.Fatalf("failure carries update %q", uf.ChannelUpdate())
			}
		})
	}
}

func TestForwardRefusedByChannel(t *testing.T) {
	ctx := context.Background()
	r := newRoute(t)
	in := r.send(t)
	d, err := r.bob.sw.HandleIncoming(ctx, in, testHeight)
	d = mustAction(t, d, err, ActionForward)
	// channel bc refuses the add (say, too many HTLCs).
	d, err = r.bob.sw.ForwardRefused(ctx, d.Incoming, errors.New("max_accepted_htlcs"))
	d = mustAction(t, d, err, ActionFail)
	// A retransmission of the incoming HTLC gets the same failure.
	d2, err := r.bob.sw.HandleIncoming(ctx, in, testHeight)
	if d2 = mustAction(t, d2, err, ActionFail); !d2.Repeat || !bytes.Equal(d2.Reason, d.Reason) {
		t.Fatal("retransmission not answered with the same failure")
	}
	ff := r.aliceFails(t, d.Reason)
	if _, ok := ff.Failure.(*onion.TemporaryChannelFailure); !ok || ff.HopIndex != 0 {
		t.Fatalf("alice decrypts hop %d: %v", ff.HopIndex, ff.Failure)
	}
	if err := r.bob.sw.IncomingResolved(d.Incoming); err != nil {
		t.Fatal(err)
	}
	if n := len(r.bob.sw.Circuits()); n != 0 {
		t.Fatalf("%d circuits left", n)
	}
}

func TestLocalSendRefusedByChannel(t *testing.T) {
	ctx := context.Background()
	r := newRoute(t)
	d, err := r.alice.sw.SendLocal(ctx, 9, r.ab.SCID, channel.AddHTLC{Amount: r.abAmt, PaymentHash: r.hash, CLTVExpiry: r.abExp})
	d = mustAction(t, d, err, ActionForward)
	d, err = r.alice.sw.ForwardRefused(ctx, d.Incoming, errors.New("no room"))
	mustAction(t, d, err, ActionNone)
	res := r.alice.sink.get(9)
	if len(res) != 1 || res[0].LocalFailure == nil || res[0].LocalFailure.Code() != onion.CodeTemporaryChannelFailure {
		t.Fatalf("results %+v", res)
	}
	if _, err := r.alice.sw.SendLocal(ctx, 10, r.ab.SCID, channel.AddHTLC{Amount: 20_000_000}); !errors.Is(err, ErrChannelUnavailable) {
		t.Fatalf("sending above the balance: %v", err)
	}
}

func TestBadOnionAtBob(t *testing.T) {
	r := newRoute(t)
	in := r.send(t)
	in.HTLC.Onion = in.HTLC.Onion[:100]
	d, err := r.bob.sw.HandleIncoming(context.Background(), in, testHeight)
	d = mustAction(t, d, err, ActionFailMalformed)
	if onion.FailureCode(d.FailureCode)&onion.FlagBadOnion == 0 || d.ShaOnion != sha256.Sum256(in.HTLC.Onion) {
		t.Fatalf("malformed %+v", d)
	}
}

func TestReplayedOnionRefused(t *testing.T) {
	r := newRoute(t)
	in := r.send(t)
	r.forwardAtBob(t, in)
	// The same onion on another HTLC is a replay.
	in.HTLC.ID = 1
	d, err := r.bob.sw.HandleIncoming(context.Background(), in, testHeight)
	mustAction(t, d, err, ActionFailMalformed)
}

// failingPayee fails its first call, like a store that is briefly
// unavailable.
type failingPayee struct {
	payee
	failed bool
}

func (p *failingPayee) Accept(ctx context.Context, h invoices.IncomingHTLC) (invoices.Resolution, error) {
	if !p.failed {
		p.failed = true
		return nil, errors.New("disk full")
	}
	return p.payee.Accept(ctx, h)
}

// An HTLC presented again after an error is not taken for a replay of its
// own onion.
func TestRetryAfterFinalHopError(t *testing.T) {
	ctx := context.Background()
	r := newRoute(t)
	toCarol := r.forwardAtBob(t, r.send(t))
	fp := &failingPayee{payee: payee{preimage: r.preimage, minAmt: 1}}
	r.carol.sw.cfg.FinalHop = fp
	if _, err := r.carol.sw.HandleIncoming(ctx, toCarol, testHeight); err == nil {
		t.Fatal("final hop error not reported")
	}
	d, err := r.carol.sw.HandleIncoming(ctx, toCarol, testHeight)
	if d = mustAction(t, d, err, ActionSettle); d.Preimage != r.preimage {
		t.Fatal("wrong preimage")
	}
}

// The same HTLC presented by several goroutines at once is forwarded once.
func TestConcurrentDuplicatesForwardOnce(t *testing.T) {
	ctx := context.Background()
	r := newRoute(t)
	in := r.send(t)
	const n = 8
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		forwards int
	)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := r.bob.sw.HandleIncoming(ctx, in, testHeight)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			switch d.Action {
			case ActionForward:
				forwards++
			case ActionNone:
			default:
				t.Errorf("duplicate answered %s", d.Action)
			}
		}()
	}
	wg.Wait()
	if forwards != 1 {
		t.Fatalf("%d forwards of one HTLC", forwards)
	}
	if c := r.bob.sw.Circuits(); len(c) != 1 || c[0].State != StateHalfOpen {
		t.Fatalf("circuits %+v", c)
	}
}
