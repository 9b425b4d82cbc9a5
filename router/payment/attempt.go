package payment

import (
	"context"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2"
	sphinx "github.com/lightningnetwork/lightning-onion"
	"go.etcd.io/bbolt"

	"github.com/flash-ln/flash/htlc/onion"
	"github.com/flash-ln/flash/router/graph"
	"github.com/flash-ln/flash/router/pathfind"
)

// ErrAttemptInFlight is returned by Launch for a payment that has an
// attempt in flight: the next one waits for its result.
var ErrAttemptInFlight = errors.New("payment: an attempt is already in flight")

// routeRequest builds the pathfinding request for the next attempt,
// avoiding everything earlier attempts of the payment were blamed for.
func (p *Payer) routeRequest(pay *Payment) *pathfind.Request {
	now := p.cfg.Now()
	req := &pathfind.Request{
		Source:         p.cfg.Self,
		Target:         pay.Dest,
		Amount:         pay.AmountMsat,
		CurrentHeight:  p.cfg.Height(),
		FinalCltvDelta: pay.FinalCLTVDelta,
		FeeLimit:       pay.MaxFeeMsat,
		CltvLimit:      pay.CltvLimit,
		RouteHints:     pay.RouteHints,
		Probability:    p.cfg.Mission.Estimator(now),
		Cost:           p.cfg.Cost,
	}
	if p.cfg.Channels != nil {
		req.LocalBalances = p.cfg.Channels.LocalBalances()
	}
	for i := range pay.Attempts {
		a := &pay.Attempts[i]
		for _, c := range a.ExcludedChannels {
			if req.ExcludedChannels == nil {
				req.ExcludedChannels = make(map[pathfind.DirectedChannel]bool)
			}
			req.ExcludedChannels[c] = true
		}
		for _, n := range a.ExcludedNodes {
			if req.ExcludedNodes == nil {
				req.ExcludedNodes = make(map[graph.NodeID]bool)
			}
			req.ExcludedNodes[n] = true
		}
	}
	return req
}

// checkRoute is the last guard before money leaves: the route must pay
// the payee exactly the amount and cost no more than the fee limit.
func checkRoute(pay *Payment, r *pathfind.Route) error {
	n := len(r.Hops)
	switch {
	case n == 0 || n > onion.MaxHops:
		return fmt.Errorf("route of %d hops", n)
	case r.Hops[n-1].NodeID != pay.Dest:
		return fmt.Errorf("route ends at %v, not the payee %v", r.Hops[n-1].NodeID, pay.Dest)
	case r.Hops[n-1].AmountToForward != pay.AmountMsat || r.Hops[n-1].AmountMsat != pay.AmountMsat:
		return fmt.Errorf("route delivers %d msat, want %d", r.Hops[n-1].AmountToForward, pay.AmountMsat)
	case r.Hops[0].AmountMsat != r.TotalAmount:
		return fmt.Errorf("route's first HTLC is %d msat, its total %d", r.Hops[0].AmountMsat, r.TotalAmount)
	case r.TotalAmount < pay.AmountMsat || r.TotalAmount-pay.AmountMsat != r.TotalFee:
		return fmt.Errorf("route total %d msat and fee %d do not add up to %d", r.TotalAmount, r.TotalFee, pay.AmountMsat)
	case r.TotalFee > pay.MaxFeeMsat:
		return fmt.Errorf("route fee %d msat exceeds the limit %d", r.TotalFee, pay.MaxFeeMsat)
	case r.Hops[0].Expiry != r.TotalCLTV:
		return fmt.Errorf("route's first expiry %d is not its total %d", r.Hops[0].Expiry, r.TotalCLTV)
	}
	for i := 0; i+1 < n; i++ {
		if r.Hops[i].AmountToForward != r.Hops[i+1].AmountMsat || r.Hops[i].OutgoingCLTV != r.Hops[i+1].Expiry {
			return fmt.Errorf("hop %d forwards %d msat at %d, hop %d receives %d at %d", i,
				r.Hops[i].AmountToForward, r.Hops[i].OutgoingCLTV, i+1, r.Hops[i+1].AmountMsat, r.Hops[i+1].Expiry)
		}
	}
	return nil
}

// payloads builds each hop's onion payload: what to forward and where,
// and for the payee the payment data or the keysend preimage.
func payloads(pay *Payment, r *Route) ([]onion.Hop, error) {
	hops := make([]onion.Hop, len(r.Hops))
	last := len(r.Hops) - 1
	for i, h := range r.Hops {
		pub, err := h.NodeID.PubKey()
		if err != nil {
			return nil, fmt.Errorf("hop %d node %v: %w", i, h.NodeID, err)
		}
		pl := onion.Payload{AmtToForward: h.AmountToForward, OutgoingCLTV: h.OutgoingCLTV}
		if i < last {
			scid := r.Hops[i+1].ShortChannelID
			pl.ShortChannelID = &scid
		} else {
			switch pay.Kind {
			case KindInvoice:
				pl.PaymentData = &onion.PaymentData{PaymentSecret: pay.PaymentSecret, TotalMsat: pay.AmountMsat}
				if len(pay.Metadata) > 0 {
					pl.PaymentMetadata = pay.Metadata
				}
			case KindKeysend:
				if pay.Preimage == nil {
					return nil, errors.New("keysend payment without a preimage")
				}
				pre := *pay.Preimage
				pl.KeysendPreimage = &pre
			}
		}
		b, err := pl.Encode()
		if err != nil {
			return nil, fmt.Errorf("hop %d payload: %w", i, err)
		}
		hops[i] = onion.Hop{NodePub: pub, Payload: b}
	}
	return hops, nil
}

// circuit rebuilds the sphinx circuit of an attempt from what is
// stored, to decrypt a failure after a restart as well as before.
func circuit(a *Attempt) (*sphinx.Circuit, error) {
	var s btcec.ModNScalar
	if overflow := s.SetBytes(&a.SessionKey); overflow != 0 || s.IsZero() {
		return nil, fmt.Errorf("attempt %d: invalid stored session key", a.ID)
	}
	c := &sphinx.Circuit{SessionKey: btcec.PrivKeyFromScalar(&s)}
	for i, h := range a.Route.Hops {
		pub, err := h.NodeID.PubKey()
		if err != nil {
			return nil, fmt.Errorf("attempt %d hop %d: %w", a.ID, i, err)
		}
		c.PaymentPath = append(c.PaymentPath, pub)
	}
	return c, nil
}

// failLocked ends a payment without an attempt in flight. Called with
// p.mu held.
func (p *Payer) failLocked(hash [32]byte, reason FailureReason, why error) (*Payment, error) {
	pay, err := p.store.update(hash, func(_ *bbolt.Tx, pay *Payment) error {
		if pay.Status != StatusInFlight || pay.InFlightAttempt() != nil {
			return fmt.Errorf("payment %x: cannot fail now: %v", hash, pay.Status)
		}
		pay.Status = StatusFailed
		pay.FailureReason = reason
		return nil
	})
	if err != nil {
		return nil, err
	}
	p.cfg.Log.Info("payment failed", "hash", fmt.Sprintf("%x", hash), "reason", reason.String(), "why", why)
	p.notify(hash)
	return pay, nil
}

// Launch makes the next attempt of an in-flight payment: it finds a
// route avoiding what earlier attempts learnt, builds the onion, stores
// the attempt and hands its HTLC to the Sender. When no attempt may be
// made (time is up, no route is left, too many attempts) it fails the
// payment instead. It returns the payment as stored afterwards.
func (p *Payer) Launch(ctx context.Context, hash [32]byte) (*Payment, error) {
	return p.launch(ctx, hash, nil)
}

// launch is Launch; with fresh set, the payment is new and is stored
// with its first attempt in one transaction, saving a sync to disk.
func (p *Payer) launch(ctx context.Context, hash [32]byte, fresh *Payment) (*Payment, error) {
	h, att, pay, err := p.prepare(hash, fresh)
	if err != nil || h == nil {
		return pay, err
	}
	if err := p.cfg.Sender.SendHTLC(ctx, h); err != nil {
		// The Sender promises the HTLC was not offered: fail the attempt
		// as our own channel's refusal and let the next one avoid it.
		p.cfg.Log.Info("payment attempt not sent", "hash", fmt.Sprintf("%x", hash), "attempt", att.ID, "err", err)
		return p.resolve(Result{
			AttemptID:   att.ID,
			PaymentHash: hash,
			Local:       &onion.TemporaryChannelFailure{},
		}, err.Error())
	}
	p.cfg.Log.Debug("payment attempt sent", "hash", fmt.Sprintf("%x", hash), "attempt", att.ID,
		"route", att.Route.pathfindRoute().String())
	return pay, nil
}

// prepare does Launch's work up to the send, under p.mu. A nil HTLC
// with a nil error means the payment ended instead.
func (p *Payer) prepare(hash [32]byte, fresh *Payment) (*HTLC, *Attempt, *Payment, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pay := fresh
	end := func(reason FailureReason, why error) (*HTLC, *Attempt, *Payment, error) {
		if fresh == nil {
			pay, err := p.failLocked(hash, reason, why)
			return nil, nil, pay, err
		}
		fresh.Status, fresh.FailureReason = StatusFailed, reason
		pay, err := p.insertLocked(fresh, nil)
		if err == nil {
			p.cfg.Log.Info("payment failed", "hash", fmt.Sprintf("%x", hash), "reason", reason.String(), "why", why)
		}
		return nil, nil, pay, err
	}
	if fresh == nil {
		var err error
		if pay, err = p.Payment(hash); err != nil {
			return nil, nil, nil, err
		}
		if pay.Status != StatusInFlight {
			return nil, nil, pay, nil
		}
		if pay.InFlightAttempt() != nil {
			return nil, nil, pay, ErrAttemptInFlight
		}
	}
	if !p.cfg.Now().Before(pay.Deadline) {
		return end(ReasonTimeout, errors.New("deadline passed"))
	}
	if len(pay.Attempts) >= p.cfg.MaxAttempts {
		return end(ReasonNoRoute, fmt.Errorf("%d attempts made", len(pay.Attempts)))
	}
	r, err := pathfind.FindRoute(p.cfg.Graph, p.routeRequest(pay))
	if err != nil {
		reason := ReasonError
		if errors.Is(err, pathfind.ErrNoRoute) {
			reason = ReasonNoRoute
		}
		return end(reason, err)
	}
	if err := checkRoute(pay, r); err != nil {
		return end(ReasonError, fmt.Errorf("refusing route: %w", err))
	}
	att := Attempt{Route: routeFrom(r), Status: StatusInFlight, FailureSource: -1}
	key, keyBytes, err := p.newSessionKey()
	if err != nil {
		return nil, nil, nil, err
	}
	att.SessionKey = keyBytes
	hops, err := payloads(pay, &att.Route)
	if err != nil {
		return end(ReasonError, err)
	}
	pkt, _, err := onion.NewOnion(key, hops, hash[:])
	if err != nil {
		return end(ReasonError, err)
	}
	att.SentAt = p.cfg.Now()
	// The attempt, with its session key, is durable before the HTLC
	// exists anywhere else.
	addAttempt := func(tx *bbolt.Tx, pay *Payment) error {
		if pay.Status != StatusInFlight || pay.InFlightAttempt() != nil {
			return ErrAttemptInFlight
		}
		id, err := nextAttemptID(tx)
		if err != nil {
			return err
		}
		att.ID = id
		pay.Attempts = append(pay.Attempts, att)
		return nil
	}
	if fresh != nil {
		pay, err = p.insertLocked(fresh, addAttempt)
	} else {
		pay, err = p.store.update(hash, addAttempt)
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("payment %x: store attempt: %w", hash, err)
	}
	p.notify(hash)
	return &HTLC{
		AttemptID:      att.ID,
		PaymentHash:    hash,
		ShortChannelID: att.Route.Hops[0].ShortChannelID,
		AmountMsat:     att.Route.TotalAmount,
		Expiry:         att.Route.TotalCLTV,
		Onion:          pkt,
	}, &att, pay, nil
}

// directed names the channel of r.Hops[i] in the direction the payment
// crossed it, as pathfinding excludes it.
func (p *Payer) directed(r *Route, i int) pathfind.DirectedChannel {
	from := p.cfg.Self
	if i > 0 {
		from = r.Hops[i-1].NodeID
	}
	return pathfind.DirectedChannel{ShortChannelID: r.Hops[i].ShortChannelID, From: from}
}
