package daemon

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/daemon/rpc"
	"github.com/flash-ln/flash/htlc/invoice"
	"github.com/flash-ln/flash/htlc/invoices"
	"github.com/flash-ln/flash/router/gossip"
	"github.com/flash-ln/flash/router/payment"
)

// registerPaymentRPC wires the invoice and payment methods.
func (d *Daemon) registerPaymentRPC(s *rpc.Server) {
	rpc.Handle(s, rpc.MethodInvoiceAdd, d.invoiceAdd)
	rpc.Handle(s, rpc.MethodInvoiceList, d.invoiceList)
	rpc.Handle(s, rpc.MethodInvoiceDecode, d.invoiceDecode)
	d.registerPayRPC(s)
}

func (d *Daemon) invoiceAdd(ctx context.Context, req *rpc.InvoiceAddRequest) (*rpc.InvoiceAddResponse, error) {
	if req.ExpirySeconds < 0 || req.ExpirySeconds > int64(invoices.MaxExpiry/time.Second) {
		return nil, rpc.Errorf(rpc.CodeInvalidArgument,
			"expiry %d s: want 1 to %d seconds", req.ExpirySeconds, int64(invoices.MaxExpiry/time.Second))
	}
	rec, err := d.invoices.Add(ctx, invoices.AddRequest{
		AmountMsat: lnwire.MilliSatoshi(req.AmountMsat),
		Memo:       req.Memo,
		Expiry:     time.Duration(req.ExpirySeconds) * time.Second,
	})
	if errors.Is(err, invoices.ErrInvalidRequest) {
		return nil, rpc.Errorf(rpc.CodeInvalidArgument, "%v", err)
	}
	if err != nil {
		return nil, err
	}
	return &rpc.InvoiceAddResponse{
		Invoice:     rec.Invoice,
		PaymentHash: hex.EncodeToString(rec.PaymentHash[:]),
	}, nil
}

func (d *Daemon) invoiceList(context.Context, *rpc.Empty) (*rpc.InvoiceListResponse, error) {
	recs, err := d.invoices.List()
	if err != nil {
		return nil, err
	}
	resp := &rpc.InvoiceListResponse{Invoices: make([]rpc.Invoice, 0, len(recs))}
	for _, r := range recs {
		inv := rpc.Invoice{
			PaymentHash:    hex.EncodeToString(r.PaymentHash[:]),
			AmountMsat:     uint64(r.AmountMsat),
			Memo:           r.Memo,
			State:          r.State.String(),
			AmountPaidMsat: uint64(r.AmountPaidMsat),
			Invoice:        r.Invoice,
			Keysend:        r.Keysend,
			CreatedAt:      r.CreatedAt.Unix(),
			ExpiresAt:      r.ExpiresAt.Unix(),
		}
		if !r.SettledAt.IsZero() {
			inv.SettledAt = r.SettledAt.Unix()
		}
		resp.Invoices = append(resp.Invoices, inv)
	}
	return resp, nil
}

func (d *Daemon) invoiceDecode(_ context.Context, req *rpc.InvoiceDecodeRequest) (*rpc.InvoiceDecodeResponse, error) {
	inv, err := invoice.Decode(req.Invoice)
	if err != nil {
		return nil, rpc.Errorf(rpc.CodeInvalidArgument, "decode invoice: %v", err)
	}
	return decodedInvoice(inv), nil
}

// decodedInvoice is the RPC form of an invoice.
func decodedInvoice(inv *invoice.Invoice) *rpc.InvoiceDecodeResponse {
	resp := &rpc.InvoiceDecodeResponse{
		Payee:              hex.EncodeToString(inv.Payee.SerializeCompressed()),
		PaymentHash:        hex.EncodeToString(inv.PaymentHash[:]),
		Expiry:             int64(inv.ExpiryOrDefault() / time.Second),
		Timestamp:          inv.Timestamp.Unix(),
		MinFinalCLTVExpiry: inv.MinFinalCLTVExpiryDeltaOrDefault(),
		RouteHints:         [][]rpc.RouteHintHop{},
	}
	if inv.Net != nil {
		resp.Network = inv.Net.Name
	}
	if inv.Amount != nil {
		resp.AmountMsat = uint64(*inv.Amount)
	}
	if inv.Description != nil {
		resp.Description = *inv.Description
	}
	if inv.DescriptionHash != nil {
		resp.DescriptionHash = hex.EncodeToString(inv.DescriptionHash[:])
	}
	for _, route := range inv.RouteHints {
		hops := make([]rpc.RouteHintHop, 0, len(route))
		for _, h := range route {
			hops = append(hops, rpc.RouteHintHop{
				NodeID:                    hex.EncodeToString(h.NodeID.SerializeCompressed()),
				ShortChannelID:            h.ChannelID.String(),
				FeeBaseMsat:               h.FeeBaseMsat,
				FeeProportionalMillionths: h.FeeProportionalMillionths,
				CLTVExpiryDelta:           h.CLTVExpiryDelta,
			})
		}
		resp.RouteHints = append(resp.RouteHints, hops)
	}
	return resp
}

// defaultFeeLimitPPM bounds the routing fee of a payment that names no
// limit: 5% of the amount, and at least defaultMinFeeLimitMsat so that
// small payments can still cross a few hops.
const (
	defaultFeeLimitPPM     = 50_000
	defaultMinFeeLimitMsat = 10_000
)

func (d *Daemon) registerPayRPC(s *rpc.Server) {
	rpc.Handle(s, rpc.MethodPay, d.payRPC)
	rpc.Handle(s, rpc.MethodPaymentList, d.paymentList)
}

func (d *Daemon) payRPC(ctx context.Context, req *rpc.PayRequest) (*rpc.PayResponse, error) {
	if d.pay == nil {
		return nil, rpc.Errorf(rpc.CodeUnavailable, "payments are not running")
	}
	preq := &payment.Request{
		AmountMsat: lnwire.MilliSatoshi(req.AmountMsat),
	}
	if req.TimeoutSeconds < 0 || req.TimeoutSeconds > maxPayTimeoutSeconds {
		return nil, rpc.Errorf(rpc.CodeInvalidArgument, "timeout %d s: want 1 to %d seconds",
			req.TimeoutSeconds, maxPayTimeoutSeconds)
	}
	preq.Timeout = time.Duration(req.TimeoutSeconds) * time.Second
	var amount lnwire.MilliSatoshi
	switch {
	case req.Invoice != "" && req.KeysendNodeID != "":
		return nil, rpc.Errorf(rpc.CodeInvalidArgument, "give an invoice or a keysend node id, not both")
	case req.Invoice != "":
		inv, err := invoice.Decode(strings.TrimSpace(req.Invoice), invoice.WithNetwork(d.cfg.Params))
		if err != nil {
			return nil, rpc.Errorf(rpc.CodeInvalidArgument, "decode invoice: %v", err)
		}
		preq.Invoice = inv
		amount = preq.AmountMsat
		if inv.Amount != nil {
			amount = *inv.Amount
		}
	case req.KeysendNodeID != "":
		dest, err := gossip.ParseNodeID(req.KeysendNodeID)
		if err != nil {
			return nil, rpc.Errorf(rpc.CodeInvalidArgument, "keysend node id: %v", err)
		}
		if _, err := dest.PubKey(); err != nil {
			return nil, rpc.Errorf(rpc.CodeInvalidArgument, "keysend node id: %v", err)
		}
		if req.AmountMsat == 0 {
			return nil, rpc.Errorf(rpc.CodeInvalidArgument, "keysend needs an amount")
		}
		ks := &payment.Keysend{Dest: dest, AmountMsat: preq.AmountMsat}
		if _, err := rand.Read(ks.Preimage[:]); err != nil {
			return nil, fmt.Errorf("keysend preimage: %w", err)
		}
		preq.Keysend, preq.AmountMsat = ks, 0
		amount = ks.AmountMsat
	default:
		return nil, rpc.Errorf(rpc.CodeInvalidArgument, "give an invoice or a keysend node id")
	}
	if req.MaxFeeMsat != nil {
		preq.MaxFeeMsat = lnwire.MilliSatoshi(*req.MaxFeeMsat)
	} else {
		preq.MaxFeeMsat = max(amount*defaultFeeLimitPPM/1_000_000, defaultMinFeeLimitMsat)
	}

	// The payment runs under the daemon's context, not the call's: a
	// client that goes away leaves it to finish and be resumed.
	type result struct {
		p   *payment.Payment
		err error
	}
	done := make(chan result, 1)
	hub := d.pay
	hub.wg.Add(1)
	go func() {
		defer hub.wg.Done()
		p, err := hub.payer.Pay(hub.ctx, preq)
		done <- result{p, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		return nil, rpc.Errorf(rpc.CodeUnavailable, "call ended while the payment is in flight; see payment list")
	}
	switch {
	case errors.Is(r.err, payment.ErrAlreadyPaid):
		return nil, rpc.Errorf(rpc.CodeInvalidArgument, "refused: invoice already paid (%v)", r.err)
	case errors.Is(r.err, payment.ErrInFlight), errors.Is(r.err, payment.ErrDriven):
		return nil, rpc.Errorf(rpc.CodeInvalidArgument, "refused: a payment to this hash is in flight (%v)", r.err)
	case errors.Is(r.err, payment.ErrInvoiceExpired), errors.Is(r.err, payment.ErrAmount),
		errors.Is(r.err, payment.ErrBadRequest):
		resp := &rpc.PayResponse{Status: "failed", AmountMsat: uint64(amount), Route: []string{},
			Attempts: []rpc.PaymentAttempt{}, FailureReason: r.err.Error()}
		if preq.Invoice != nil {
			resp.PaymentHash = hex.EncodeToString(preq.Invoice.PaymentHash[:])
		}
		return resp, nil
	case r.p == nil && r.err != nil:
		return nil, r.err
	}
	return payResponse(r.p), nil
}

// maxPayTimeoutSeconds bounds --timeout: one day.
const maxPayTimeoutSeconds = 24 * 60 * 60

// payResponse is the RPC view of a payment.
func payResponse(p *payment.Payment) *rpc.PayResponse {
	s := p.Summary()
	resp := &rpc.PayResponse{
		Status:        s.Status,
		PaymentHash:   s.PaymentHash,
		Preimage:      s.Preimage,
		AmountMsat:    s.AmountMsat,
		FeeMsat:       s.FeeMsat,
		Route:         s.Route,
		Attempts:      make([]rpc.PaymentAttempt, 0, len(s.Attempts)),
		FailureReason: s.FailureReason,
	}
	for _, a := range s.Attempts {
		resp.Attempts = append(resp.Attempts, rpc.PaymentAttempt{
			Status: a.Status, Route: a.Route, AmountMsat: a.AmountMsat, FeeMsat: a.FeeMsat,
			Failure: a.Failure, FailureSource: a.FailureSource,
		})
	}
	return resp
}

func (d *Daemon) paymentList(context.Context, *rpc.Empty) (*rpc.PaymentListResponse, error) {
	if d.pay == nil {
		return nil, rpc.Errorf(rpc.CodeUnavailable, "payments are not running")
	}
	pays, err := d.pay.payer.Payments()
	if err != nil {
		return nil, err
	}
	resp := &rpc.PaymentListResponse{Payments: make([]rpc.Payment, 0, len(pays))}
	for _, p := range pays {
		resp.Payments = append(resp.Payments, rpc.Payment{
			PaymentHash: hex.EncodeToString(p.PaymentHash[:]),
			Status:      p.Status.String(),
			AmountMsat:  uint64(p.AmountMsat),
			FeeMsat:     uint64(p.FeeMsat()),
			CreatedAt:   p.CreatedAt.Unix(),
		})
	}
	return resp, nil
}
