package daemon

import (
	"context"
	"errors"
	"fmt"

	"github.com/flash-ln/flash/channel"
	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/htlc/forward"
	"github.com/flash-ln/flash/htlc/onion"
	"github.com/flash-ln/flash/router/gossip"
	"github.com/flash-ln/flash/router/payment"
)

// startPayments builds the switch and the payer over the loaded channels
// and installs the hub in the channel manager. It runs before the peers
// start, so no HTLC event can be missed; it then restores what a crash
// may have left half done: circuits whose outgoing HTLC never got stored,
// results not yet handed to the payer, and payments in flight.
func (d *Daemon) startPayments(cm *chanManager, push func(string, func() error)) error {
	key, err := d.wallet.NodeKey()
	if err != nil {
		return fmt.Errorf("derive node key: %w", err)
	}
	router, err := onion.NewRouter(key, nil)
	if err != nil {
		return err
	}
	push("onion router", func() error { router.Stop(); return nil })

	hub := newPayHub(d.logger("switch"), cm, func() uint32 {
		_, h := d.chain.BestBlock()
		return uint32(max(h, 0))
	})
	sw, err := forward.New(forward.Config{
		DB:       d.db,
		Onion:    router,
		Channels: hub,
		FinalHop: d.invoices,
		Payments: (*paymentSink)(hub),
		Log:      d.logger("switch"),
	})
	if err != nil {
		return fmt.Errorf("open switch: %w", err)
	}
	hub.sw = sw
	hub.graph, hub.self = d.graph, gossip.NewNodeID(key.PubKey())
	payer, err := payment.New(payment.Config{
		DB:       d.db,
		Graph:    d.graph,
		Mission:  d.mission,
		Self:     gossip.NewNodeID(key.PubKey()),
		Chain:    lnwire.ChainHash(*d.cfg.Params.GenesisHash),
		Sender:   (*htlcSender)(hub),
		Channels: hub,
		Height:   hub.height,
		Log:      d.logger("payments"),
	})
	if err != nil {
		return fmt.Errorf("open payments: %w", err)
	}
	hub.payer = payer
	d.pay = hub

	for _, l := range cm.allLinks() {
		hub.refresh(l)
	}
	hub.wg.Add(1)
	go func() {
		defer hub.wg.Done()
		hub.run()
	}()
	push("switch", hub.stop)
	cm.hub = hub
	return hub.recover()
}

// refresh records a link's current view.
func (h *payHub) refresh(l *link) {
	l.mu.Lock()
	defer l.mu.Unlock()
	info := h.linkInfoLocked(l)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stateLocked(l).info = info
	if info.SCID.ToUint64() != 0 {
		h.byShort[info.SCID] = info.ChanID
	}
}

// stop ends the worker and the payments being driven, and waits for them.
func (h *payHub) stop() error {
	h.cancel()
	h.wg.Wait()
	return nil
}

// recover finishes at start what a crash interrupted.
func (h *payHub) recover() error {
	// Circuits whose outgoing HTLC the channel never stored go back to
	// their forward, or fail; the worker carries the decisions out once
	// the peers are back.
	for _, l := range h.cm.allLinks() {
		h.enqueue(hubJob{l: l, reconcile: true})
	}
	// A local circuit never opened holds an HTLC no channel has: fail it,
	// so that its payment can go on.
	local := make(map[uint64]bool)
	for _, c := range h.sw.Circuits() {
		if !c.IsLocal() {
			continue
		}
		local[c.Incoming.HTLCID] = true
		if c.State == forward.StateHalfOpen {
			if _, err := h.sw.ForwardRefused(h.ctx, c.Incoming, errors.New("node restarted before sending")); err != nil {
				h.log.Error("fail unsent attempt", "attempt", c.Incoming.HTLCID, "err", err)
			}
		}
	}
	if err := h.sw.RedeliverResults(h.ctx); err != nil {
		return fmt.Errorf("redeliver payment results: %w", err)
	}
	inflight, err := h.payer.InFlight()
	if err != nil {
		return fmt.Errorf("payments in flight: %w", err)
	}
	for _, pay := range inflight {
		if a := pay.InFlightAttempt(); a != nil && !local[a.ID] {
			// Stored but never handed to the switch: no channel
			// holds it, nothing else will resolve it.
			err := h.payer.HandleResult(payment.Result{
				AttemptID: a.ID, PaymentHash: pay.PaymentHash,
				Local: &onion.TemporaryChannelFailure{},
			})
			if err != nil {
				h.log.Error("fail unsent attempt", "attempt", a.ID, "err", err)
			}
		}
		hash := pay.PaymentHash
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			p, err := h.payer.Resume(h.ctx, hash)
			if err != nil && !errors.Is(err, payment.ErrDriven) {
				h.log.Warn("resume payment", "payment_hash", fmt.Sprintf("%x", hash), "err", err)
				return
			}
			if p != nil {
				h.log.Info("resumed payment ended", "payment_hash", fmt.Sprintf("%x", hash),
					"status", p.Status)
			}
		}()
	}
	return nil
}

// paymentSink hands the switch's results of our own payments to the payer.
type paymentSink payHub

// PaymentResult implements forward.PaymentResultSink. The payer stores the
// result before it returns.
func (s *paymentSink) PaymentResult(_ context.Context, r forward.PaymentResult) error {
	h := (*payHub)(s)
	err := h.payer.HandleResult(payment.Result{
		AttemptID:   r.AttemptID,
		PaymentHash: r.PaymentHash,
		Preimage:    r.Preimage,
		Reason:      r.Reason,
		Local:       r.LocalFailure,
	})
	if errors.Is(err, payment.ErrUnknownAttempt) || errors.Is(err, payment.ErrUnknownPayment) {
		// Already taken, or not ours to take: nothing will change it.
		h.log.Warn("payment result not taken", "attempt", r.AttemptID, "err", err)
		return nil
	}
	return err
}

// htlcSender offers the payer's first-hop HTLCs through the switch.
type htlcSender payHub

// SendHTLC implements payment.Sender: the circuit is stored by the switch
// before SendHTLC returns; the offer on the channel follows on the worker,
// and any refusal comes back as a result.
func (s *htlcSender) SendHTLC(ctx context.Context, p *payment.HTLC) error {
	h := (*payHub)(s)
	h.openMu.Lock()
	d, err := h.sw.SendLocal(ctx, p.AttemptID, p.ShortChannelID, channel.AddHTLC{
		Amount:      p.AmountMsat,
		PaymentHash: p.PaymentHash,
		CLTVExpiry:  p.Expiry,
		Onion:       p.Onion,
	})
	h.openMu.Unlock()
	if err != nil {
		return err
	}
	if d.Action == forward.ActionForward {
		h.enqueue(hubJob{decision: &d})
	}
	return nil
}
