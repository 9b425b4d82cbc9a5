package payment

import (
	"context"
	"errors"
	"fmt"
)

// ErrDriven is returned by Pay and Resume for a payment that another
// loop is already driving.
var ErrDriven = errors.New("payment: already being driven")

// Pay starts a payment and drives it to its end: attempt after attempt
// until one succeeds, the payee refuses, no route is left or the
// request's timeout passes. It returns the payment as stored at the end.
//
// ctx only bounds the waiting: when it ends first, Pay returns the
// payment still in flight with ctx's error, the daemon still reports the
// HTLC's result with HandleResult, and Resume takes over the driving.
// The daemon should therefore call Pay with a context that lives as long
// as itself, not as long as one RPC connection.
func (p *Payer) Pay(ctx context.Context, req *Request) (*Payment, error) {
	pay, err := p.newPayment(req, p.cfg.Now())
	if err != nil {
		return nil, err
	}
	hash := pay.PaymentHash
	if !p.claim(hash) {
		return nil, fmt.Errorf("%w: %x", ErrInFlight, hash)
	}
	defer p.unclaim(hash)
	if _, err := p.launch(ctx, hash, pay); err != nil {
		if errors.Is(err, ErrAlreadyPaid) || errors.Is(err, ErrInFlight) {
			return nil, err
		}
		return p.latest(hash, err)
	}
	return p.drive(ctx, hash)
}

// Resume drives a stored payment to its end, as Pay does: it waits for
// the result of an attempt in flight and makes further attempts while
// any may be made. After a restart the daemon resumes each payment of
// InFlight.
func (p *Payer) Resume(ctx context.Context, hash [32]byte) (*Payment, error) {
	if !p.claim(hash) {
		return nil, fmt.Errorf("%w: %x", ErrDriven, hash)
	}
	defer p.unclaim(hash)
	return p.drive(ctx, hash)
}

func (p *Payer) drive(ctx context.Context, hash [32]byte) (*Payment, error) {
	for {
		changed := p.watch(hash)
		pay, err := p.Payment(hash)
		if err != nil {
			return nil, err
		}
		if pay.Status != StatusInFlight {
			return pay, nil
		}
		if ctx.Err() != nil {
			return pay, ctx.Err()
		}
		if pay.InFlightAttempt() == nil {
			if _, err := p.Launch(ctx, hash); err != nil && !errors.Is(err, ErrAttemptInFlight) {
				return p.latest(hash, err)
			}
			continue
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return p.latest(hash, ctx.Err())
		}
	}
}

// latest returns the stored payment along with err.
func (p *Payer) latest(hash [32]byte, err error) (*Payment, error) {
	pay, gerr := p.Payment(hash)
	if gerr != nil {
		return nil, errors.Join(err, gerr)
	}
	return pay, err
}

func (p *Payer) claim(hash [32]byte) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.driving[hash] {
		return false
	}
	p.driving[hash] = true
	return true
}

func (p *Payer) unclaim(hash [32]byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.driving, hash)
	if _, ok := p.changed[hash]; ok {
		close(p.changed[hash])
		delete(p.changed, hash)
	}
}
