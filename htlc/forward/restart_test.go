package forward

import (
	"context"
	"errors"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// A crash between the forward and the fulfill: the circuit comes back from
// the database, and the preimage still reaches the incoming side.
func TestRestartBetweenAddAndFulfill(t *testing.T) {
	ctx := context.Background()
	r := newRoute(t)
	in := r.send(t)
	r.forwardAtBob(t, in)

	r.bob.restart()
	c := r.bob.sw.Circuits()
	if len(c) != 1 || c[0].State != StateOpen || c[0].Outgoing != (CircuitKey{r.bc.ChanID, 0}) ||
		c[0].OutgoingAmount != r.bcAmt || c[0].IncomingAmount != r.abAmt {
		t.Fatalf("circuits after restart: %+v", c)
	}
	// The channel replays the still pending incoming HTLC: nothing to do.
	in.Restored = true
	d, err := r.bob.sw.HandleIncoming(ctx, in, testHeight)
	mustAction(t, d, err, ActionNone)

	d, err = r.bob.sw.HandleOutgoingSettled(ctx, r.bc.ChanID, 0, r.preimage)
	d = mustAction(t, d, err, ActionSettle)
	if d.Preimage != r.preimage || d.Incoming != (CircuitKey{r.ab.ChanID, 0}) {
		t.Fatalf("settle after restart: %+v", d)
	}

	// Crash again before the incoming fulfill is committed: the preimage
	// is remembered, and the replayed incoming HTLC is settled with it.
	r.bob.restart()
	d, err = r.bob.sw.HandleIncoming(ctx, in, testHeight)
	if d = mustAction(t, d, err, ActionSettle); d.Preimage != r.preimage || d.Repeat {
		t.Fatalf("replayed incoming after restart: %+v", d)
	}
	if err := r.bob.sw.IncomingResolved(d.Incoming); err != nil {
		t.Fatal(err)
	}
	r.bob.restart()
	if n := len(r.bob.sw.Circuits()); n != 0 {
		t.Fatalf("%d circuits after resolution and restart", n)
	}
}

// A failure that comes back after a restart is wrapped with the stored
// secret, and alice can still read it.
func TestRestartBeforeFailure(t *testing.T) {
	ctx := context.Background()
	r := newRoute(t)
	r.carol.payee.minAmt = 5_000_000
	toCarol := r.forwardAtBob(t, r.send(t))
	d, err := r.carol.sw.HandleIncoming(ctx, toCarol, testHeight)
	d = mustAction(t, d, err, ActionFail)
	r.bob.restart()
	r.alice.restart()
	ff := r.failBack(t, channelFailed(0, d.Reason))
	if ff.HopIndex != 1 {
		t.Fatalf("failure from hop %d", ff.HopIndex)
	}
}

// A crash after the circuit is stored but before the outgoing channel took
// the HTLC: the replayed incoming HTLC is forwarded again, once.
func TestRestartHalfOpen(t *testing.T) {
	ctx := context.Background()
	r := newRoute(t)
	in := r.send(t)
	d, err := r.bob.sw.HandleIncoming(ctx, in, testHeight)
	first := mustAction(t, d, err, ActionForward)

	r.bob.restart()
	in.Restored = true
	d, err = r.bob.sw.HandleIncoming(ctx, in, testHeight)
	d = mustAction(t, d, err, ActionForward)
	if d.Add != first.Add || d.Outgoing != first.Outgoing {
		t.Fatal("re-forward differs from the first forward")
	}
	d, err = r.bob.sw.HandleIncoming(ctx, in, testHeight)
	if d = mustAction(t, d, err, ActionNone); !d.Repeat {
		t.Fatal("second replay not a repeat")
	}
	if err := r.bob.sw.OpenCircuit(first.Incoming, 3); err != nil {
		t.Fatal(err)
	}
	if err := r.bob.sw.OpenCircuit(first.Incoming, 3); err != nil {
		t.Fatalf("opening twice as asked: %v", err)
	}
	if err := r.bob.sw.OpenCircuit(first.Incoming, 4); err == nil {
		t.Fatal("an open circuit moved to another outgoing id")
	}
}

// A half-open circuit that no longer passes after a restart (the chain
// moved on) is failed instead of forwarded.
func TestRestartHalfOpenNowTooLate(t *testing.T) {
	ctx := context.Background()
	r := newRoute(t)
	in := r.send(t)
	d, err := r.bob.sw.HandleIncoming(ctx, in, testHeight)
	mustAction(t, d, err, ActionForward)
	r.bob.restart()
	in.Restored = true
	d, err = r.bob.sw.HandleIncoming(ctx, in, r.bcExp)
	d = mustAction(t, d, err, ActionFail)
	ff := r.aliceFails(t, d.Reason)
	if ff.Failure.Code() != 0x100e || ff.HopIndex != 0 { // expiry_too_soon
		t.Fatalf("alice decrypts hop %d: %v", ff.HopIndex, ff.Failure)
	}
}

// The circuit was opened but the outgoing channel's state with the HTLC
// was lost in the crash: Reconcile puts the forward back.
func TestReconcileUnstoredOutgoing(t *testing.T) {
	ctx := context.Background()
	r := newRoute(t)
	r.forwardAtBob(t, r.send(t))
	r.bob.restart()

	ds, err := r.bob.sw.Reconcile(ctx, r.bc.ChanID, func(uint64) bool { return true }, testHeight)
	if err != nil || len(ds) != 0 {
		t.Fatalf("reconcile with the HTLC present: %v, %v", ds, err)
	}
	ds, err = r.bob.sw.Reconcile(ctx, r.bc.ChanID, func(uint64) bool { return false }, testHeight)
	if err != nil || len(ds) != 1 {
		t.Fatalf("reconcile: %+v, %v", ds, err)
	}
	d := mustAction(t, ds[0], nil, ActionForward)
	if d.Add.Amount != r.bcAmt {
		t.Fatalf("re-forward of %d msat", d.Add.Amount)
	}
	if err := r.bob.sw.OpenCircuit(d.Incoming, 0); err != nil {
		t.Fatal(err)
	}
	r.bob.restart()
	d, err = r.bob.sw.HandleOutgoingSettled(ctx, r.bc.ChanID, 0, r.preimage)
	mustAction(t, d, err, ActionSettle)
}

// A local payment settled before a crash, whose result the sink may not
// have stored, is delivered again.
func TestRedeliverLocalResult(t *testing.T) {
	ctx := context.Background()
	r := newRoute(t)
	r.send(t)
	r.alice.sw.cfg.Payments = nil // the sink is not there: delivery fails
	if _, err := r.alice.sw.HandleOutgoingSettled(ctx, r.ab.ChanID, 0, r.preimage); err == nil {
		t.Fatal("delivery without a sink succeeded")
	}
	r.alice.restart()
	if err := r.alice.sw.RedeliverResults(ctx); err != nil {
		t.Fatal(err)
	}
	res := r.alice.sink.get(7)
	if len(res) != 1 || res[0].Preimage == nil || *res[0].Preimage != r.preimage {
		t.Fatalf("results %+v", res)
	}
	if n := len(r.alice.sw.Circuits()); n != 0 {
		t.Fatalf("%d circuits left", n)
	}
}

// OpenCircuitTx shares the caller's transaction: if it rolls back, the
// circuit stays half-open.
func TestOpenCircuitTxRollback(t *testing.T) {
	ctx := context.Background()
	r := newRoute(t)
	d, err := r.bob.sw.HandleIncoming(ctx, r.send(t), testHeight)
	d = mustAction(t, d, err, ActionForward)
	errAbort := errors.New("channel state could not be stored")
	err = r.bob.db.Update(func(tx *bolt.Tx) error {
		if _, err := r.bob.sw.OpenCircuitTx(tx, d.Incoming, 0); err != nil {
			return err
		}
		return errAbort
	})
	if !errors.Is(err, errAbort) {
		t.Fatal(err)
	}
	r.bob.restart()
	if c := r.bob.sw.Circuits(); len(c) != 1 || c[0].State != StateHalfOpen {
		t.Fatalf("circuits after rollback: %+v", c)
	}
	var commit func()
	err = r.bob.db.Update(func(tx *bolt.Tx) error {
		var err error
		commit, err = r.bob.sw.OpenCircuitTx(tx, d.Incoming, 0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	commit()
	d, err = r.bob.sw.HandleOutgoingSettled(ctx, r.bc.ChanID, 0, r.preimage)
	mustAction(t, d, err, ActionSettle)
}
