package forward

import (
	"context"
	"crypto/sha256"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/flash-ln/flash/channel"
	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/htlc/onion"
)

// OpenCircuit records that the outgoing channel took the forward of incoming
// under outgoing HTLC id htlcID. It must be durable before the channel's own
// state with the new HTLC is: the channel's state is what would send the
// HTLC, and a settlement of an HTLC without a circuit could not be passed
// back. If the channel state is then lost in a crash, Reconcile undoes the
// opening. OpenCircuitTx avoids both the extra sync and that window.
func (s *Switch) OpenCircuit(incoming CircuitKey, htlcID uint64) error {
	var commit func()
	err := s.store.db.Update(func(tx *bolt.Tx) error {
		var err error
		commit, err = s.OpenCircuitTx(tx, incoming, htlcID)
		return err
	})
	if err != nil {
		return err
	}
	commit()
	return nil
}

// OpenCircuitTx is OpenCircuit within the caller's transaction, so that the
// circuit and the outgoing channel's state with the new HTLC become durable
// together. The caller calls commit once the transaction has committed,
// and not at all if it fails. Opens of one circuit must not overlap.
func (s *Switch) OpenCircuitTx(tx *bolt.Tx, incoming CircuitKey, htlcID uint64) (commit func(), err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.byIn[incoming]
	if c == nil {
		return nil, fmt.Errorf("%w: open %s", ErrUnknownCircuit, incoming)
	}
	out := CircuitKey{ChanID: c.Outgoing.ChanID, HTLCID: htlcID}
	if c.State != StateHalfOpen {
		if c.Sent && c.Outgoing == out {
			return func() {}, nil // already open, as asked
		}
		return nil, fmt.Errorf("%w: open %s: circuit is %s", ErrCircuitState, incoming, c.State)
	}
	if other := s.byOut[out]; other != nil {
		return nil, fmt.Errorf("%w: open %s: outgoing %s already belongs to %s",
			ErrCircuitState, incoming, out, other.Incoming)
	}
	next := *c
	next.State, next.Sent, next.Outgoing = StateOpen, true, out
	if err := putTx(tx, &next); err != nil {
		return nil, err
	}
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.byIn[incoming] == c && c.State == StateHalfOpen {
			*c = next
			s.byOut[out] = c
		}
	}, nil
}

// ForwardRefused reports that the outgoing channel refused the forward of
// incoming (Channel.AddHTLC failed: a limit, the peer went away). The
// incoming HTLC is failed with temporary_channel_failure; for a payment of
// our own the result goes to the PaymentResultSink and ActionNone is
// returned.
func (s *Switch) ForwardRefused(ctx context.Context, incoming CircuitKey, cause error) (Decision, error) {
	s.mu.Lock()
	c := s.byIn[incoming]
	if c == nil {
		s.mu.Unlock()
		return Decision{}, fmt.Errorf("%w: refused %s", ErrUnknownCircuit, incoming)
	}
	if c.State != StateHalfOpen {
		s.mu.Unlock()
		return Decision{}, fmt.Errorf("%w: refused %s: circuit is %s", ErrCircuitState, incoming, c.State)
	}
	s.log.Debug("outgoing channel refused forward", "htlc", incoming, "out", c.OutgoingSCID, "err", cause)
	var upd []byte
	if info, ok := s.cfg.Channels.ChannelByShortID(c.OutgoingSCID); ok {
		upd = info.Update
	}
	d, err := s.failUnsentLocked(ctx, c, &onion.TemporaryChannelFailure{Update: upd})
	s.mu.Unlock()
	if err != nil || !c.IsLocal() {
		return d, err
	}
	return Decision{Action: ActionNone, Incoming: incoming}, s.deliver(ctx, c)
}

// failUnsentLocked fails a circuit whose HTLC never left: the failure is
// this node's own, encrypted for the payer (or kept as it is for our own
// payment). A local result is not delivered here: the caller does it
// without the lock.
func (s *Switch) failUnsentLocked(ctx context.Context, c *Circuit, f onion.FailureMessage) (Decision, error) {
	next := *c
	next.State = StateFailed
	d := Decision{Action: ActionNone, Incoming: c.Incoming, Failure: f}
	if c.IsLocal() {
		next.LocalFailure = f
	} else {
		next.Reason = onion.NewErrorEncrypterFromSecret(c.ErrorSecret).EncryptFailure(f)
		d.Action, d.Reason = ActionFail, next.Reason
	}
	if err := s.store.put(&next); err != nil {
		return Decision{}, err
	}
	*c = next
	s.decided[c.Incoming] = d
	return d, nil
}

// HandleOutgoingSettled passes back the preimage of an outgoing HTLC: call
// it for channel.OutgoingHTLCPreimage and again for OutgoingHTLCSettled
// (the second is a repeat). The preimage is stored before the decision to
// fulfill the incoming HTLC is returned. For our own payment the preimage
// goes to the PaymentResultSink and ActionNone is returned.
func (s *Switch) HandleOutgoingSettled(ctx context.Context, out lnwire.ChannelID, htlcID uint64, preimage [32]byte) (Decision, error) {
	key := CircuitKey{ChanID: out, HTLCID: htlcID}
	s.mu.Lock()
	c := s.byOut[key]
	if c == nil {
		s.mu.Unlock()
		return Decision{}, fmt.Errorf("%w: settled outgoing %s", ErrUnknownCircuit, key)
	}
	if sha256.Sum256(preimage[:]) != c.PaymentHash {
		s.mu.Unlock()
		return Decision{}, fmt.Errorf("forward: outgoing %s settled with a preimage that does not match its hash", key)
	}
	switch c.State {
	case StateFailed:
		s.mu.Unlock()
		return Decision{}, fmt.Errorf("%w: preimage for failed outgoing %s", ErrCircuitState, key)
	case StateSettled:
		// A repeat: answer as before.
	default:
		next := *c
		next.State, next.Preimage = StateSettled, preimage
		if err := s.store.put(&next); err != nil {
			s.mu.Unlock()
			return Decision{}, err
		}
		*c = next
	}
	if c.IsLocal() {
		s.mu.Unlock()
		return Decision{Action: ActionNone, Incoming: c.Incoming}, s.deliver(ctx, c)
	}
	d := s.answerLocked(Decision{Action: ActionSettle, Incoming: c.Incoming, Preimage: preimage})
	s.mu.Unlock()
	return d, nil
}

// HandleOutgoingFailed passes back the failure of an outgoing HTLC, once
// irrevocably committed (channel.OutgoingHTLCFailed). A reason from
// downstream gets this node's layer of encryption; a malformed failure from
// the next hop becomes an ordinary failure from this node, as BOLT 4 asks.
func (s *Switch) HandleOutgoingFailed(ctx context.Context, out lnwire.ChannelID, ev channel.OutgoingHTLCFailed) (Decision, error) {
	key := CircuitKey{ChanID: out, HTLCID: ev.ID}
	s.mu.Lock()
	c := s.byOut[key]
	if c == nil {
		s.mu.Unlock()
		return Decision{}, fmt.Errorf("%w: failed outgoing %s", ErrUnknownCircuit, key)
	}
	switch c.State {
	case StateSettled:
		s.mu.Unlock()
		return Decision{}, fmt.Errorf("%w: failure for settled outgoing %s", ErrCircuitState, key)
	case StateFailed:
		// A repeat: answer as before.
	default:
		next := *c
		next.State = StateFailed
		var bad onion.FailureMessage
		if ev.Malformed {
			// Whatever the peer put in the code, it says the
			// onion was bad.
			bad = onion.NewBadOnionFailure(onion.FailureCode(ev.FailureCode)|onion.FlagBadOnion, ev.ShaOnion)
		}
		switch {
		case c.IsLocal() && bad != nil:
			next.LocalFailure = bad
		case c.IsLocal():
			next.Reason = append([]byte(nil), ev.Reason...)
		case bad != nil:
			next.Reason = onion.NewErrorEncrypterFromSecret(c.ErrorSecret).EncryptFailure(bad)
		default:
			next.Reason = onion.NewErrorEncrypterFromSecret(c.ErrorSecret).Wrap(ev.Reason)
		}
		if err := s.store.put(&next); err != nil {
			s.mu.Unlock()
			return Decision{}, err
		}
		*c = next
	}
	if c.IsLocal() {
		s.mu.Unlock()
		return Decision{Action: ActionNone, Incoming: c.Incoming}, s.deliver(ctx, c)
	}
	d := s.answerLocked(Decision{Action: ActionFail, Incoming: c.Incoming, Reason: c.Reason})
	s.mu.Unlock()
	return d, nil
}

// answerLocked records d as the answer for its incoming HTLC, marking it a
// repeat if it was already given.
func (s *Switch) answerLocked(d Decision) Decision {
	if prev, ok := s.decided[d.Incoming]; ok && prev.Action == d.Action {
		d.Repeat = true
	}
	s.decided[d.Incoming] = d
	return d
}

// deliver hands the result of a local circuit to the sink and then forgets
// the circuit. Without a sink the circuit stays, to be delivered later.
func (s *Switch) deliver(ctx context.Context, c *Circuit) error {
	if s.cfg.Payments == nil {
		return fmt.Errorf("forward: result of attempt %d: no payment result sink", c.Incoming.HTLCID)
	}
	s.mu.Lock()
	r := PaymentResult{AttemptID: c.Incoming.HTLCID, PaymentHash: c.PaymentHash}
	switch c.State {
	case StateSettled:
		p := c.Preimage
		r.Preimage = &p
	case StateFailed:
		r.Reason = append([]byte(nil), c.Reason...)
		r.LocalFailure = c.LocalFailure
	default:
		s.mu.Unlock()
		return nil
	}
	s.mu.Unlock()
	if err := s.cfg.Payments.PaymentResult(ctx, r); err != nil {
		return fmt.Errorf("forward: result of attempt %d: %w", r.AttemptID, err)
	}
	return s.forget(c.Incoming)
}

// RedeliverResults hands the sink every result of our own payments that a
// crash may have kept from it. Call it once after New, when the sink is
// ready.
func (s *Switch) RedeliverResults(ctx context.Context) error {
	s.mu.Lock()
	var pending []*Circuit
	for _, c := range s.byIn {
		if c.IsLocal() && (c.State == StateSettled || c.State == StateFailed) {
			pending = append(pending, c)
		}
	}
	s.mu.Unlock()
	for _, c := range pending {
		if err := s.deliver(ctx, c); err != nil {
			return err
		}
	}
	return nil
}

// IncomingResolved reports that the removal (fulfill or fail) of an incoming
// HTLC is irrevocably committed: nothing more can happen to it, so its
// circuit is deleted. It is harmless for an HTLC without a circuit.
func (s *Switch) IncomingResolved(incoming CircuitKey) error {
	s.mu.Lock()
	c := s.byIn[incoming]
	if c != nil && (c.State == StateHalfOpen || c.State == StateOpen) {
		// The incoming side went away while the outgoing HTLC is
		// pending (on-chain timeout): its outcome has nowhere to go.
		s.log.Warn("incoming HTLC resolved before its outgoing HTLC", "htlc", incoming, "state", c.State)
	}
	s.mu.Unlock()
	return s.forget(incoming)
}

func (s *Switch) forget(incoming CircuitKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.byIn[incoming]; c != nil {
		if err := s.store.delete(c); err != nil {
			return err
		}
		delete(s.byIn, incoming)
		if c.Sent && s.byOut[c.Outgoing] == c {
			delete(s.byOut, c.Outgoing)
		}
	}
	delete(s.decided, incoming)
	delete(s.peeled, incoming)
	return nil
}

// Reconcile matches the open circuits of outgoing channel out against the
// channel as restored after a restart. known reports whether the channel
// holds an outgoing HTLC with that id. A circuit whose HTLC the channel does
// not know was opened but the channel's state with the HTLC never became
// durable: the HTLC never left, so the circuit goes back to half-open and its
// forward is returned again (or its failure, if it no longer passes).
func (s *Switch) Reconcile(ctx context.Context, out lnwire.ChannelID, known func(htlcID uint64) bool, height uint32) ([]Decision, error) {
	s.mu.Lock()
	var ds []Decision
	var local []*Circuit
	for _, c := range s.byIn {
		if c.State != StateOpen || c.Outgoing.ChanID != out || known(c.Outgoing.HTLCID) {
			continue
		}
		old := c.Outgoing
		next := *c
		next.State, next.Sent, next.Outgoing.HTLCID = StateHalfOpen, false, 0
		if err := s.store.unindex(&next, old); err != nil {
			s.mu.Unlock()
			return ds, err
		}
		*c = next
		delete(s.byOut, old)
		delete(s.decided, c.Incoming)
		s.log.Info("circuit reopened: outgoing HTLC was never stored", "htlc", c.Incoming, "out", old)
		d, err := s.retryHalfOpenLocked(ctx, c, height)
		if err != nil {
			s.mu.Unlock()
			return ds, err
		}
		s.decided[c.Incoming] = d
		if c.IsLocal() && c.State == StateFailed {
			local = append(local, c)
			continue
		}
		ds = append(ds, d)
	}
	s.mu.Unlock()
	for _, c := range local {
		if err := s.deliver(ctx, c); err != nil {
			return ds, err
		}
	}
	return ds, nil
}
