package invoices

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"time"

	"go.etcd.io/bbolt"

	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/htlc/onion"
)

// IncomingHTLC is an HTLC whose onion says the node is its destination,
// with the fields of the final hop's payload.
type IncomingHTLC struct {
	Circuit     CircuitKey
	PaymentHash [32]byte
	AmountMsat  lnwire.MilliSatoshi // amount_msat of update_add_htlc
	Expiry      uint32              // cltv_expiry of update_add_htlc

	// CurrentHeight is the height of the best block now.
	CurrentHeight uint32

	// The final hop's onion payload.
	AmtToForward  lnwire.MilliSatoshi
	OutgoingCLTV  uint32
	PaymentSecret *[32]byte // nil without payment_data
	// TotalMsat is payment_data's total_msat; zero without payment_data,
	// and then taken to equal AmtToForward.
	TotalMsat       lnwire.MilliSatoshi
	KeysendPreimage *[32]byte
}

// IncomingFromPayload fills the onion fields of an IncomingHTLC from a
// decoded final-hop payload.
func IncomingFromPayload(h IncomingHTLC, p *onion.Payload) IncomingHTLC {
	h.AmtToForward = p.AmtToForward
	h.OutgoingCLTV = p.OutgoingCLTV
	h.PaymentSecret, h.TotalMsat = nil, 0
	if p.PaymentData != nil {
		secret := p.PaymentData.PaymentSecret
		h.PaymentSecret = &secret
		h.TotalMsat = p.PaymentData.TotalMsat
	}
	h.KeysendPreimage = nil
	if p.KeysendPreimage != nil {
		pre := *p.KeysendPreimage
		h.KeysendPreimage = &pre
	}
	return h
}

// Resolution is the registry's decision on an incoming HTLC: *Settle or
// *Fail.
type Resolution interface {
	isResolution()
}

// Settle says to fulfill the HTLC with Preimage. Accept returns it only
// once the settlement is stored; AcceptTx once it is written to the
// caller's transaction, which must commit before the preimage leaves.
type Settle struct {
	Preimage [32]byte
}

// FailReason says why an HTLC was refused. Several reasons share one wire
// failure (incorrect_or_unknown_payment_details) so that a prober cannot
// tell them apart; the reason is for the node's logs and tests.
type FailReason uint8

// The reasons Accept refuses an HTLC.
const (
	ReasonUnknownHash FailReason = iota + 1
	ReasonWrongSecret
	ReasonAmountTooLow
	ReasonAmountTooHigh
	ReasonExpiryTooSoon
	ReasonExpired
	ReasonCanceled
	ReasonAlreadySettled
	ReasonMPPUnsupported
	ReasonKeysendRejected
	ReasonHTLCAmountBelowOnion
	ReasonHTLCExpiryBelowOnion
)

var reasonNames = map[FailReason]string{
	ReasonUnknownHash:          "unknown payment hash",
	ReasonWrongSecret:          "wrong or missing payment secret",
	ReasonAmountTooLow:         "amount below the invoice amount",
	ReasonAmountTooHigh:        "amount above twice the invoice amount",
	ReasonExpiryTooSoon:        "htlc expiry too soon for the final cltv delta",
	ReasonExpired:              "invoice expired",
	ReasonCanceled:             "invoice canceled",
	ReasonAlreadySettled:       "invoice already settled",
	ReasonMPPUnsupported:       "multi-part payments not supported",
	ReasonKeysendRejected:      "keysend payments not accepted",
	ReasonHTLCAmountBelowOnion: "htlc amount below onion amt_to_forward",
	ReasonHTLCExpiryBelowOnion: "htlc cltv_expiry below onion outgoing_cltv_value",
}

func (r FailReason) String() string {
	if s, ok := reasonNames[r]; ok {
		return s
	}
	return fmt.Sprintf("reason(%d)", uint8(r))
}

// Fail says to fail the HTLC with Message, encrypted back to the payer.
type Fail struct {
	Reason  FailReason
	Message onion.FailureMessage
}

func (*Settle) isResolution() {}
func (*Fail) isResolution()   {}

// Accept decides whether an HTLC that ends at the node is paid, following
// BOLT 4's rules for the final node:
//
//   - an amount below the onion's amt_to_forward fails with
//     final_incorrect_htlc_amount, a cltv_expiry below its
//     outgoing_cltv_value with final_incorrect_cltv_expiry: someone on
//     the way tampered with the HTLC;
//   - an unknown payment hash, a wrong or missing payment secret, an
//     amount below the invoice's or above twice it, an expiry closer than
//     the invoice's final CLTV delta, an expired or canceled invoice, or
//     one already paid by another HTLC, all fail with
//     incorrect_or_unknown_payment_details;
//   - a multi-part payment (total_msat above amt_to_forward) is refused
//     the same way: the registry's invoices do not offer basic_mpp;
//   - a keysend HTLC whose preimage hashes to its payment hash creates a
//     settled record of its own.
//
// An HTLC that settled its invoice before (same circuit key) settles again
// with the same preimage and changes nothing, so that the channel can
// replay its HTLCs after a restart. Any other HTLC for a settled invoice
// fails: an invoice is paid once.
//
// A settlement is durable before Accept returns it, so the preimage never
// leaves the node ahead of the record that it was paid. The error is for
// failures of the store only; the HTLC must then be neither settled nor
// failed until a retry succeeds.
func (r *Registry) Accept(ctx context.Context, h IncomingHTLC) (Resolution, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now := r.cfg.Now()

	// A read-only pass first: failures and replays need no write, and a
	// probe must not cost an fsync.
	var res Resolution
	var changed *Record
	err := r.cfg.DB.View(func(tx *bbolt.Tx) error {
		b, err := openBuckets(tx)
		if err != nil {
			return err
		}
		res, changed, err = r.decide(b, &h, now)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("invoices: accept %s: %w", h.Circuit, err)
	}
	if changed == nil {
		r.logResolution(&h, res)
		return res, nil
	}

	// Decide again inside the write: another HTLC may have settled the
	// invoice since the read.
	err = r.commit.update(func(b *buckets) error {
		var err error
		res, changed, err = r.decide(b, &h, now)
		if err != nil || changed == nil {
			return err
		}
		return b.put(changed)
	})
	if err != nil {
		return nil, fmt.Errorf("invoices: accept %s: %w", h.Circuit, err)
	}
	r.logResolution(&h, res)
	r.notify(changed)
	return res, nil
}

// AcceptTx is Accept inside the caller's read-write transaction of the
// registry's database, so that a settlement and the channel update that
// fulfills the HTLC can share one commit. The caller must not release the
// preimage before tx has committed, and must then call the returned
// function, which tells subscribers; if tx rolls back, nothing happened.
func (r *Registry) AcceptTx(tx *bbolt.Tx, h IncomingHTLC) (Resolution, func(), error) {
	if !tx.Writable() {
		return nil, nil, fmt.Errorf("invoices: accept %s: read-only transaction", h.Circuit)
	}
	b, err := openBuckets(tx)
	if err != nil {
		return nil, nil, fmt.Errorf("invoices: accept %s: %w", h.Circuit, err)
	}
	res, changed, err := r.decide(b, &h, r.cfg.Now())
	if err == nil && changed != nil {
		err = b.put(changed)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("invoices: accept %s: %w", h.Circuit, err)
	}
	return res, func() {
		r.logResolution(&h, res)
		r.notify(changed)
	}, nil
}

func (r *Registry) logResolution(h *IncomingHTLC, res Resolution) {
	switch res := res.(type) {
	case *Settle:
		r.log.Info("htlc settles invoice", "payment_hash", fmt.Sprintf("%x", h.PaymentHash),
			"circuit", h.Circuit.String(), "amount_msat", uint64(h.AmountMsat))
	case *Fail:
		r.log.Info("htlc refused", "payment_hash", fmt.Sprintf("%x", h.PaymentHash),
			"circuit", h.Circuit.String(), "reason", res.Reason.String())
	}
}

// decide applies the rules to the stored state. It returns the resolution
// and, if the HTLC settles an invoice, the record to store.
func (r *Registry) decide(b *buckets, h *IncomingHTLC, now time.Time) (Resolution, *Record, error) {
	// The onion and the HTLC must agree before anything else: a mismatch
	// means a forwarder cheated, whatever the invoice says.
	if h.AmountMsat < h.AmtToForward {
		return &Fail{Reason: ReasonHTLCAmountBelowOnion,
			Message: &onion.FinalIncorrectHtlcAmount{IncomingHtlcAmt: h.AmountMsat}}, nil, nil
	}
	if h.Expiry < h.OutgoingCLTV {
		return &Fail{Reason: ReasonHTLCExpiryBelowOnion,
			Message: &onion.FinalIncorrectCltvExpiry{CltvExpiry: h.Expiry}}, nil, nil
	}
	fail := func(reason FailReason) (Resolution, *Record, error) {
		return &Fail{Reason: reason, Message: &onion.IncorrectOrUnknownPaymentDetails{
			HtlcMsat: h.AmountMsat, Height: h.CurrentHeight}}, nil, nil
	}

	rec, err := b.get(h.PaymentHash)
	if err != nil {
		return nil, nil, err
	}
	if rec == nil {
		if h.KeysendPreimage == nil {
			return fail(ReasonUnknownHash)
		}
		return r.decideKeysend(h, now, fail)
	}

	if rec.findHTLC(h.Circuit) != nil {
		// A replay of the HTLC that paid: same answer, no change.
		return &Settle{Preimage: rec.Preimage}, nil, nil
	}
	switch rec.stateAt(now) {
	case StateSettled:
		return fail(ReasonAlreadySettled)
	case StateCanceled:
		return fail(ReasonCanceled)
	case StateExpired:
		return fail(ReasonExpired)
	}
	if h.PaymentSecret == nil || subtle.ConstantTimeCompare(h.PaymentSecret[:], rec.PaymentSecret[:]) != 1 {
		return fail(ReasonWrongSecret)
	}
	total := h.TotalMsat
	if total == 0 {
		total = h.AmtToForward
	}
	if total != h.AmtToForward {
		return fail(ReasonMPPUnsupported)
	}
	if reason, ok := checkAmount(rec.AmountMsat, total); !ok {
		return fail(reason)
	}
	if uint64(h.Expiry) < uint64(h.CurrentHeight)+uint64(rec.MinFinalCLTVExpiryDelta) {
		return fail(ReasonExpiryTooSoon)
	}

	rec.State = StateSettled
	rec.SettledAt = now
	rec.AmountPaidMsat = h.AmountMsat
	rec.HTLCs = append(rec.HTLCs, HTLC{Circuit: h.Circuit, AmountMsat: h.AmountMsat,
		Expiry: h.Expiry, AcceptHeight: h.CurrentHeight, AcceptedAt: now})
	return &Settle{Preimage: rec.Preimage}, rec, nil
}

// checkAmount applies BOLT 4's amount rule: at least the invoice amount,
// at most twice it; any positive amount for an invoice without one.
func checkAmount(want, paid lnwire.MilliSatoshi) (FailReason, bool) {
	switch {
	case paid == 0 || paid < want:
		return ReasonAmountTooLow, false
	case want != 0 && paid > 2*want:
		return ReasonAmountTooHigh, false
	}
	return 0, true
}

// decideKeysend settles a spontaneous payment: the preimage in the onion
// is the proof, so the record is created on the spot.
func (r *Registry) decideKeysend(h *IncomingHTLC, now time.Time,
	fail func(FailReason) (Resolution, *Record, error)) (Resolution, *Record, error) {

	switch {
	case r.cfg.RejectKeysend:
		return fail(ReasonKeysendRejected)
	case sha256.Sum256(h.KeysendPreimage[:]) != h.PaymentHash:
		// Indistinguishable from any other unknown hash.
		return fail(ReasonUnknownHash)
	case h.TotalMsat != 0 && h.TotalMsat != h.AmtToForward:
		return fail(ReasonMPPUnsupported)
	case h.AmtToForward == 0:
		return fail(ReasonAmountTooLow)
	case uint64(h.Expiry) < uint64(h.CurrentHeight)+uint64(r.cfg.MinFinalCLTVExpiryDelta):
		return fail(ReasonExpiryTooSoon)
	}
	created := time.Unix(now.Unix(), 0).UTC()
	rec := &Record{
		PaymentHash:             h.PaymentHash,
		Preimage:                *h.KeysendPreimage,
		Keysend:                 true,
		MinFinalCLTVExpiryDelta: r.cfg.MinFinalCLTVExpiryDelta,
		CreatedAt:               created,
		ExpiresAt:               created.Add(r.cfg.DefaultExpiry),
		State:                   StateSettled,
		SettledAt:               now,
		AmountPaidMsat:          h.AmountMsat,
		HTLCs: []HTLC{{Circuit: h.Circuit, AmountMsat: h.AmountMsat, Expiry: h.Expiry,
			AcceptHeight: h.CurrentHeight, AcceptedAt: now}},
	}
	return &Settle{Preimage: rec.Preimage}, rec, nil
}
