package payment

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"go.etcd.io/bbolt"

	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/htlc/invoice"
	"github.com/flash-ln/flash/htlc/onion"
	"github.com/flash-ln/flash/router/gossip"
	"github.com/flash-ln/flash/router/graph"
	"github.com/flash-ln/flash/router/pathfind"
)

// Defaults of a payment request.
const (
	// DefaultTimeout is how long a payment keeps trying new routes.
	DefaultTimeout = 60 * time.Second
	// DefaultKeysendCLTVDelta is the final CLTV delta of a keysend
	// payment, which has no invoice to name one; payees commonly
	// require 40.
	DefaultKeysendCLTVDelta = 40
	// FinalCLTVPadding is added to the payee's final CLTV delta, so that
	// a block found while the HTLC travels does not make it expire too
	// soon at the payee.
	FinalCLTVPadding = 3
	// DefaultMaxAttempts bounds the attempts of one payment.
	DefaultMaxAttempts = 100
)

// HTLC is what the daemon must offer on a channel for an attempt.
type HTLC struct {
	// AttemptID names the attempt in the Result the daemon reports.
	AttemptID      uint64
	PaymentHash    [32]byte
	ShortChannelID lnwire.ShortChannelID
	AmountMsat     lnwire.MilliSatoshi
	Expiry         uint32
	Onion          [onion.PacketSize]byte
}

// Sender hands a first-hop HTLC to the channel it names.
//
// SendHTLC returning an error promises that the HTLC was not and never
// will be offered: the attempt is then failed at once. Once it returns
// nil, the daemon must eventually call Payer.HandleResult for the
// attempt, also after a restart; until then the payment stays in flight.
//
// The attempt is stored before SendHTLC is called, so a crash between
// the two leaves an attempt in flight whose HTLC no channel holds. After
// a restart the daemon must therefore look up, for each attempt of
// InFlight, whether its channels hold an HTLC with that AttemptID, and
// report one they do not hold as a Result with Local set: it was never
// sent, and nothing else will ever resolve it.
type Sender interface {
	SendHTLC(ctx context.Context, h *HTLC) error
}

// LocalChannels reports what the node can send now on each of its
// channels, so that routes do not start on a channel without balance.
type LocalChannels interface {
	LocalBalances() map[lnwire.ShortChannelID]lnwire.MilliSatoshi
}

// Result is the outcome of an attempt's HTLC, as the daemon learns it.
// Exactly one of Preimage, Reason or Local is set.
type Result struct {
	AttemptID   uint64
	PaymentHash [32]byte
	// Preimage settles the attempt (update_fulfill_htlc).
	Preimage *[32]byte
	// Reason is the encrypted reason of update_fail_htlc.
	Reason []byte
	// Local is set when our own node failed the HTLC before it reached
	// the first hop (the channel closed, the peer vanished); the
	// message is the one we would have sent.
	Local onion.FailureMessage
}

// Config is what a Payer needs from the node.
type Config struct {
	DB      *bbolt.DB
	Graph   *graph.Graph
	Mission *pathfind.MissionControl
	// Self is our node id, the source of every route.
	Self graph.NodeID
	// Chain is the chain whose channel_updates we accept.
	Chain    lnwire.ChainHash
	Sender   Sender
	Channels LocalChannels // nil: use the graph's capacities
	// Height returns the current chain tip.
	Height func() uint32
	// Now returns the time; nil means time.Now.
	Now func() time.Time
	// Rand supplies session keys; nil means crypto/rand.
	Rand io.Reader
	// MaxAttempts bounds the attempts of a payment; zero means
	// DefaultMaxAttempts.
	MaxAttempts int
	// Cost tunes pathfinding; zero means its defaults.
	Cost pathfind.CostConfig
	Log  *slog.Logger
}

// Payer runs the node's outgoing payments. It is safe for concurrent
// use; each payment has at most one attempt in flight.
type Payer struct {
	cfg   Config
	store *store

	// mu serialises every change to the store, so that the check of a
	// payment's state and the change that depends on it are atomic even
	// across the send in Launch.
	mu sync.Mutex
	// changed holds, per payment being waited for, a channel closed at
	// its next change.
	changed map[[32]byte]chan struct{}
	// driving marks payments that a Pay or Resume loop is driving.
	driving map[[32]byte]bool
}

// New opens the payment store in cfg.DB.
func New(cfg Config) (*Payer, error) {
	if cfg.DB == nil || cfg.Graph == nil || cfg.Mission == nil || cfg.Sender == nil || cfg.Height == nil {
		return nil, errors.New("payment: config needs DB, Graph, Mission, Sender and Height")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = cryptoRand{}
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	cfg.MaxAttempts = min(cfg.MaxAttempts, maxAttempts)
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	s, err := openStore(cfg.DB)
	if err != nil {
		return nil, err
	}
	return &Payer{
		cfg:     cfg,
		store:   s,
		changed: make(map[[32]byte]chan struct{}),
		driving: make(map[[32]byte]bool),
	}, nil
}

// Keysend is a spontaneous payment: the preimage travels in the onion.
type Keysend struct {
	Dest       graph.NodeID
	AmountMsat lnwire.MilliSatoshi
	Preimage   [32]byte
}

// Request is a payment to make. Exactly one of Invoice and Keysend is
// set.
type Request struct {
	Invoice *invoice.Invoice
	Keysend *Keysend
	// AmountMsat is the amount of an invoice without one; for an invoice
	// with an amount it must be zero or equal to it.
	AmountMsat lnwire.MilliSatoshi
	// MaxFeeMsat is the most paid in fees, over all hops.
	MaxFeeMsat lnwire.MilliSatoshi
	// Timeout is how long new attempts may start; zero means
	// DefaultTimeout.
	Timeout time.Duration
	// CltvLimit bounds the total time lock in blocks above the tip; zero
	// means the pathfinding default.
	CltvLimit uint32
	// FinalCLTVDelta overrides DefaultKeysendCLTVDelta for keysend.
	FinalCLTVDelta uint16
}

// newPayment checks req and turns it into a record.
func (p *Payer) newPayment(req *Request, now time.Time) (*Payment, error) {
	pay := &Payment{
		Status:    StatusInFlight,
		CreatedAt: now,
		CltvLimit: req.CltvLimit,
	}
	timeout := req.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	pay.Deadline = now.Add(timeout)
	pay.MaxFeeMsat = req.MaxFeeMsat
	switch {
	case (req.Invoice == nil) == (req.Keysend == nil):
		return nil, fmt.Errorf("%w: need exactly one of an invoice and a keysend", ErrBadRequest)
	case req.Invoice != nil:
		inv := req.Invoice
		if inv.Payee == nil {
			return nil, fmt.Errorf("%w: invoice has no payee", ErrBadRequest)
		}
		if inv.IsExpired(now) {
			return nil, fmt.Errorf("%w at %s", ErrInvoiceExpired, inv.ExpiresAt().UTC().Format(time.RFC3339))
		}
		switch {
		case inv.Amount == nil && req.AmountMsat == 0:
			return nil, fmt.Errorf("%w: the invoice has no amount; give one", ErrAmount)
		case inv.Amount == nil:
			pay.AmountMsat = req.AmountMsat
		case req.AmountMsat != 0 && req.AmountMsat != *inv.Amount:
			return nil, fmt.Errorf("%w: %d msat given, the invoice asks %d msat", ErrAmount, req.AmountMsat, *inv.Amount)
		default:
			pay.AmountMsat = *inv.Amount
		}
		if inv.PaymentSecret == ([32]byte{}) {
			// Without a secret, any node on the route could probe
			// the payee with this hash.
			return nil, fmt.Errorf("%w: invoice has no payment secret", ErrBadRequest)
		}
		delta := inv.MinFinalCLTVExpiryDeltaOrDefault()
		if delta > 65535-FinalCLTVPadding {
			return nil, fmt.Errorf("%w: min_final_cltv_expiry_delta %d", ErrBadRequest, delta)
		}
		pay.Kind = KindInvoice
		pay.PaymentHash = inv.PaymentHash
		pay.Dest = gossip.NewNodeID(inv.Payee)
		pay.PaymentSecret = inv.PaymentSecret
		pay.Metadata = append([]byte(nil), inv.Metadata...)
		pay.FinalCLTVDelta = uint16(delta) + FinalCLTVPadding
		if len(inv.RouteHints) > 255 {
			return nil, fmt.Errorf("%w: %d route hints", ErrBadRequest, len(inv.RouteHints))
		}
		for _, hint := range inv.RouteHints {
			if len(hint) > 255 {
				return nil, fmt.Errorf("%w: route hint of %d hops", ErrBadRequest, len(hint))
			}
			hh := make([]pathfind.HopHint, 0, len(hint))
			for _, h := range hint {
				if h.NodeID == nil {
					return nil, fmt.Errorf("%w: route hint without a node", ErrBadRequest)
				}
				hh = append(hh, pathfind.HopHint{
					NodeID:                    gossip.NewNodeID(h.NodeID),
					ShortChannelID:            h.ChannelID,
					FeeBaseMsat:               h.FeeBaseMsat,
					FeeProportionalMillionths: h.FeeProportionalMillionths,
					CltvExpiryDelta:           h.CLTVExpiryDelta,
				})
			}
			pay.RouteHints = append(pay.RouteHints, hh)
		}
	default:
		ks := req.Keysend
		if ks.AmountMsat == 0 {
			return nil, fmt.Errorf("%w: keysend of zero", ErrAmount)
		}
		if req.AmountMsat != 0 && req.AmountMsat != ks.AmountMsat {
			return nil, fmt.Errorf("%w: two different amounts", ErrAmount)
		}
		pre := ks.Preimage
		pay.Kind = KindKeysend
		pay.PaymentHash = sha256.Sum256(pre[:])
		pay.Preimage = &pre
		pay.Dest = ks.Dest
		pay.AmountMsat = ks.AmountMsat
		pay.FinalCLTVDelta = DefaultKeysendCLTVDelta + FinalCLTVPadding
		if req.FinalCLTVDelta != 0 {
			pay.FinalCLTVDelta = req.FinalCLTVDelta + FinalCLTVPadding
		}
	}
	if len(pay.Metadata) > onion.MaxPayloadSize {
		return nil, fmt.Errorf("%w: payment metadata of %d bytes", ErrBadRequest, len(pay.Metadata))
	}
	if pay.Dest == p.cfg.Self {
		return nil, fmt.Errorf("%w: cannot pay ourselves", ErrBadRequest)
	}
	if pay.AmountMsat+pay.MaxFeeMsat < pay.AmountMsat {
		return nil, fmt.Errorf("%w: amount plus fee limit overflows", ErrAmount)
	}
	return pay, nil
}

// Start records a new payment, in flight and without attempts yet. It
// refuses a hash already paid or in flight; a hash whose earlier payment
// failed may be paid again, and its record is replaced.
func (p *Payer) Start(req *Request) (*Payment, error) {
	pay, err := p.newPayment(req, p.cfg.Now())
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.insertLocked(pay, nil)
}

// insertLocked stores a new payment after mutate, if given, has changed
// it within the same transaction. It refuses a hash already paid or in
// flight. Called with p.mu held.
func (p *Payer) insertLocked(pay *Payment, mutate func(*bbolt.Tx, *Payment) error) (*Payment, error) {
	err := p.cfg.DB.Update(func(tx *bbolt.Tx) error {
		old, err := getIn(tx, pay.PaymentHash)
		if err != nil {
			return err
		}
		if old != nil {
			switch old.Status {
			case StatusSucceeded:
				return fmt.Errorf("%w: %x", ErrAlreadyPaid, pay.PaymentHash)
			case StatusInFlight:
				return fmt.Errorf("%w: %x", ErrInFlight, pay.PaymentHash)
			}
		}
		if mutate != nil {
			if err := mutate(tx, pay); err != nil {
				return err
			}
		}
		return putIn(tx, pay, old == nil)
	})
	if err != nil {
		return nil, err
	}
	p.cfg.Log.Info("payment started", "hash", fmt.Sprintf("%x", pay.PaymentHash),
		"dest", pay.Dest, "amount_msat", uint64(pay.AmountMsat))
	return pay, nil
}

// Payment returns a stored payment.
func (p *Payer) Payment(hash [32]byte) (*Payment, error) {
	pay, err := p.store.get(hash)
	if err != nil {
		return nil, err
	}
	if pay == nil {
		return nil, fmt.Errorf("%w: %x", ErrUnknownPayment, hash)
	}
	return pay, nil
}

// Payments lists every stored payment, oldest first.
func (p *Payer) Payments() ([]*Payment, error) { return p.store.list(nil) }

// InFlight lists the payments that have not ended: after a restart the
// daemon resumes each with Resume, and reports the results of their
// attempts' HTLCs with HandleResult as its channels learn them.
func (p *Payer) InFlight() ([]*Payment, error) {
	return p.store.list(func(pay *Payment) bool { return pay.Status == StatusInFlight })
}

// notify wakes whoever waits on the payment. Called with p.mu held.
func (p *Payer) notify(hash [32]byte) {
	if ch, ok := p.changed[hash]; ok {
		close(ch)
		delete(p.changed, hash)
	}
}

// watch returns a channel closed at the payment's next change.
func (p *Payer) watch(hash [32]byte) <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	ch, ok := p.changed[hash]
	if !ok {
		ch = make(chan struct{})
		p.changed[hash] = ch
	}
	return ch
}

// newSessionKey draws a valid secp256k1 scalar.
func (p *Payer) newSessionKey() (*btcec.PrivateKey, [32]byte, error) {
	var b [32]byte
	for range 16 {
		if _, err := io.ReadFull(p.cfg.Rand, b[:]); err != nil {
			return nil, b, fmt.Errorf("payment: session key: %w", err)
		}
		var s btcec.ModNScalar
		if overflow := s.SetBytes(&b); overflow == 0 && !s.IsZero() {
			return btcec.PrivKeyFromScalar(&s), b, nil
		}
	}
	return nil, b, errors.New("payment: session key: random source gives no valid scalar")
}
