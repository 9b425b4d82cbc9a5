package payment

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"go.etcd.io/bbolt"

	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/htlc/onion"
	"github.com/flash-ln/flash/router/gossip"
	"github.com/flash-ln/flash/router/graph"
	"github.com/flash-ln/flash/router/pathfind"
)

// maxFailureText bounds the stored description of a failure.
const maxFailureText = 512

// HandleResult applies the outcome of an attempt's HTLC: a settlement
// ends the payment; a failure is decrypted, taught to mission control,
// its channel_update applied to the graph, and either ends the payment
// (the payee refused, or time is up) or leaves it in flight for the next
// attempt. The outcome is stored before HandleResult returns. A result
// repeated for an attempt already resolved the same way is ignored, so
// the daemon may report again after a restart.
func (p *Payer) HandleResult(res Result) error {
	_, err := p.resolve(res, "")
	return err
}

func (p *Payer) resolve(res Result, localWhy string) (*Payment, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pay, err := p.Payment(res.PaymentHash)
	if err != nil {
		return nil, err
	}
	att := pay.attempt(res.AttemptID)
	if att == nil {
		return nil, fmt.Errorf("%w: %d of %x", ErrUnknownAttempt, res.AttemptID, res.PaymentHash)
	}
	if att.Status != StatusInFlight {
		settled := res.Preimage != nil
		if settled == (att.Status == StatusSucceeded) {
			return pay, nil // a repeated report
		}
		return nil, fmt.Errorf("%w: attempt %d of %x already %v", ErrUnknownAttempt, att.ID, res.PaymentHash, att.Status)
	}
	now := p.cfg.Now()
	if res.Preimage != nil {
		if sha256.Sum256(res.Preimage[:]) != res.PaymentHash {
			return nil, fmt.Errorf("attempt %d of %x: %w", att.ID, res.PaymentHash, ErrBadPreimage)
		}
		pre := *res.Preimage
		pay, err = p.store.update(res.PaymentHash, func(_ *bbolt.Tx, pay *Payment) error {
			a := pay.attempt(res.AttemptID)
			a.Status, a.ResolvedAt = StatusSucceeded, now
			pay.Status, pay.Preimage, pay.FailureReason = StatusSucceeded, &pre, ReasonNone
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("payment %x: store success: %w", res.PaymentHash, err)
		}
		p.cfg.Mission.ReportRoute(att.Route.pathfindRoute(), -1, false, p.cfg.Self, now)
		p.cfg.Log.Info("payment succeeded", "hash", fmt.Sprintf("%x", res.PaymentHash),
			"attempts", len(pay.Attempts), "fee_msat", uint64(att.Route.TotalFee))
		p.notify(res.PaymentHash)
		return pay, nil
	}

	out := p.interpret(pay, att, res)
	if localWhy != "" {
		out.text = localWhy
	}
	if len(out.text) > maxFailureText {
		out.text = out.text[:maxFailureText]
	}
	pay, err = p.store.update(res.PaymentHash, func(_ *bbolt.Tx, pay *Payment) error {
		a := pay.attempt(res.AttemptID)
		a.Status, a.ResolvedAt = StatusFailed, now
		a.FailureCode, a.FailureSource, a.Failure = out.code, out.source, out.text
		a.ExcludedChannels, a.ExcludedNodes = out.channels, out.nodes
		switch {
		case out.terminal != ReasonNone:
			pay.Status, pay.FailureReason = StatusFailed, out.terminal
		case !now.Before(pay.Deadline):
			pay.Status, pay.FailureReason = StatusFailed, ReasonTimeout
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("payment %x: store failure: %w", res.PaymentHash, err)
	}
	if out.report != nil {
		out.report(att.Route.pathfindRoute())
	}
	p.cfg.Log.Info("payment attempt failed", "hash", fmt.Sprintf("%x", res.PaymentHash),
		"attempt", att.ID, "source", out.source, "failure", out.text, "status", pay.Status.String())
	p.notify(res.PaymentHash)
	return pay, nil
}

// outcome is what a failure teaches.
type outcome struct {
	code     onion.FailureCode
	source   int
	text     string
	terminal FailureReason
	channels []pathfind.DirectedChannel
	nodes    []graph.NodeID
	report   func(r *pathfind.Route)
}

// interpret decides, per BOLT 4, whom a failure blames and whether
// another route can help. Called with p.mu held, before the failure is
// stored; it applies a channel_update the failure carries.
func (p *Payer) interpret(pay *Payment, att *Attempt, res Result) outcome {
	now := p.cfg.Now()
	r := &att.Route
	n := len(r.Hops)
	mc := p.cfg.Mission
	self := p.cfg.Self
	// blamePair reports that hop i's channel failed after the hops
	// before it forwarded.
	blamePair := func(i int, amountIndependent bool) func(*pathfind.Route) {
		return func(pr *pathfind.Route) { mc.ReportRoute(pr, i, amountIndependent, self, now) }
	}
	out := outcome{source: -1}

	if res.Local != nil || len(res.Reason) == 0 {
		// Our own channel refused or lost the HTLC; local balances tell
		// pathfinding the rest, so mission control learns nothing.
		out.text = "failed at our own channel"
		if res.Local != nil {
			out.code = res.Local.Code()
			out.text = "failed at our own channel: " + res.Local.Error()
		}
		out.channels = []pathfind.DirectedChannel{p.directed(r, 0)}
		return out
	}

	c, err := circuit(att)
	if err != nil {
		out.text, out.terminal = err.Error(), ReasonError
		return out
	}
	ff, err := onion.DecryptFailure(c, res.Reason)
	if ff == nil {
		// No hop's key reads the reason: someone on the route garbled it.
		// Blame every channel past our own, as nobody can be singled out.
		out.text = fmt.Sprintf("unreadable failure: %v", err)
		if n == 1 {
			out.terminal = ReasonError
			return out
		}
		for i := 1; i < n; i++ {
			out.channels = append(out.channels, p.directed(r, i))
		}
		out.report = func(pr *pathfind.Route) {
			for i := 1; i < n; i++ {
				mc.RecordFailure(pr.Hops[i-1].NodeID, pr.Hops[i].NodeID, pr.Hops[i].AmountMsat, now)
			}
		}
		return out
	}
	k := ff.HopIndex
	if k < 0 || k >= n {
		out.text, out.terminal = fmt.Sprintf("failure from hop %d of a %d-hop route", k, n), ReasonError
		return out
	}
	out.source = k
	node := r.Hops[k].NodeID
	final := k == n-1
	if ff.Failure == nil {
		// The hop is known but says nothing readable: avoid it.
		out.text = fmt.Sprintf("malformed failure from %v: %v", node, err)
		if final {
			out.terminal = ReasonError
			return out
		}
		out.nodes = []graph.NodeID{node}
		out.report = blamePair(k, true)
		return out
	}
	msg := ff.Failure
	out.code = msg.Code()
	out.text = fmt.Sprintf("%s from %v", msg.Error(), node)

	if final {
		switch msg.(type) {
		case *onion.IncorrectOrUnknownPaymentDetails:
			out.terminal = ReasonIncorrectPaymentDetails
			// Every channel carried the HTLC to the payee.
			out.report = blamePair(n, false)
		case *onion.FinalIncorrectCltvExpiry, *onion.FinalIncorrectHtlcAmount:
			// The HTLC the payee received differs from the onion's: the
			// node before it changed it.
			if n == 1 {
				out.terminal = ReasonError
				return out
			}
			out.nodes = []graph.NodeID{r.Hops[k-1].NodeID}
			out.report = blamePair(k, true)
		default:
			out.terminal = ReasonError
		}
		return out
	}

	next := p.directed(r, k+1)
	switch {
	case out.code&onion.FlagBadOnion != 0:
		// Node k reports that the next node could not read its onion.
		out.channels = []pathfind.DirectedChannel{next}
		out.report = blamePair(k+1, true)
		return out
	case out.code&onion.FlagNode != 0:
		out.nodes = []graph.NodeID{node}
		out.report = blamePair(k, true)
		return out
	}

	switch msg.(type) {
	case *onion.InvalidRealm, *onion.InvalidOnionPayload, *onion.IncorrectOrUnknownPaymentDetails,
		*onion.ExpiryTooFar, *onion.FinalIncorrectCltvExpiry, *onion.FinalIncorrectHtlcAmount:
		// The node misread what we sent it, or speaks as the payee it is
		// not: avoid it.
		out.nodes = []graph.NodeID{node}
		out.report = blamePair(k, true)
		return out
	}

	applied := false
	if uf, ok := msg.(onion.UpdateFailure); ok && len(uf.ChannelUpdate()) > 0 {
		applied, err = p.applyUpdate(uf.ChannelUpdate(), node)
		if err != nil {
			out.text += fmt.Sprintf(" (channel_update ignored: %v)", err)
		}
	}
	switch msg.(type) {
	case *onion.FeeInsufficient, *onion.IncorrectCltvExpiry, *onion.AmountBelowMinimum, *onion.ExpiryTooSoon:
		// Our view of the node's policy was out of date. With its new
		// policy applied, the next route is computed with it, and the
		// node keeps its reputation; a second such failure from the same
		// channel, or one without a new policy, rules the channel out.
		if applied && !policyFailedBefore(pay, att.ID, next) {
			out.report = func(pr *pathfind.Route) {
				from := self
				for i := 0; i <= k; i++ {
					mc.RecordSuccess(from, pr.Hops[i].NodeID, pr.Hops[i].AmountMsat, now)
					from = pr.Hops[i].NodeID
				}
			}
			out.text += " (policy updated)"
			return out
		}
		out.channels = []pathfind.DirectedChannel{next}
		out.report = blamePair(k+1, true)
	case *onion.TemporaryChannelFailure:
		// Most likely too little balance for this amount.
		out.channels = []pathfind.DirectedChannel{next}
		out.report = blamePair(k+1, false)
	default:
		// channel_disabled, unknown_next_peer, permanent_channel_failure,
		// required_channel_feature_missing and unknown codes: the
		// channel is unusable whatever the amount.
		out.channels = []pathfind.DirectedChannel{next}
		out.report = blamePair(k+1, out.code&onion.FlagUpdate == 0 || out.code == onion.CodeChannelDisabled)
	}
	return out
}

// policyFailedBefore reports whether an earlier attempt of the payment
// already failed on the policy of channel c with a policy update.
func policyFailedBefore(pay *Payment, current uint64, c pathfind.DirectedChannel) bool {
	for i := range pay.Attempts {
		a := &pay.Attempts[i]
		if a.ID == current || a.Status != StatusFailed || a.FailureSource < 0 || a.FailureSource+1 >= len(a.Route.Hops) {
			continue
		}
		switch a.FailureCode {
		case onion.CodeFeeInsufficient, onion.CodeIncorrectCltvExpiry, onion.CodeAmountBelowMinimum, onion.CodeExpiryTooSoon:
		default:
			continue
		}
		j := a.FailureSource + 1
		if a.Route.Hops[j].ShortChannelID == c.ShortChannelID && a.Route.Hops[j-1].NodeID == c.From {
			return true
		}
	}
	return false
}

// parseUpdate decodes the channel_update a failure carries. BOLT 4 has
// it with its message type, but some implementations leave the type
// out; both are accepted.
func parseUpdate(b []byte) (*gossip.ChannelUpdate, error) {
	try := func(b []byte) (*gossip.ChannelUpdate, error) {
		u := &gossip.ChannelUpdate{}
		if err := u.Decode(bytes.NewReader(b)); err != nil {
			return nil, err
		}
		return u, nil
	}
	if len(b) >= 2 && lnwire.MessageType(binary.BigEndian.Uint16(b)) == lnwire.MsgChannelUpdate {
		if u, err := try(b[2:]); err == nil {
			return u, nil
		}
	}
	return try(b)
}

// applyUpdate checks a channel_update from a failure, signed by the
// failing node for one of its channels, and applies it to the graph. It
// reports whether the graph changed.
func (p *Payer) applyUpdate(raw []byte, signer graph.NodeID) (bool, error) {
	u, err := parseUpdate(raw)
	if err != nil {
		return false, fmt.Errorf("decode: %w", err)
	}
	n1, n2, ok := p.cfg.Graph.ChannelNodes(u.ShortChannelID)
	if !ok {
		return false, fmt.Errorf("channel %v: %w", u.ShortChannelID, graph.ErrUnknownChannel)
	}
	owner := n1
	if u.ChannelFlags.Direction() == 1 {
		owner = n2
	}
	if owner != signer {
		return false, fmt.Errorf("channel %v direction %d belongs to %v, not the failing node %v",
			u.ShortChannelID, u.ChannelFlags.Direction(), owner, signer)
	}
	if err := gossip.ValidateChannelUpdate(u, owner, p.cfg.Chain, p.cfg.Now()); err != nil {
		return false, err
	}
	err = p.cfg.Graph.ApplyChannelUpdate(u)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, graph.ErrStale), errors.Is(err, graph.ErrDuplicate):
		return false, nil
	}
	return false, err
}
