package invoices

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/chaincfg"
	"go.etcd.io/bbolt"

	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/htlc/invoice"
)

// DefaultMinFinalCLTVExpiryDelta is the c field of the invoices the
// registry issues, and the least an incoming final HTLC's expiry may exceed
// the current height by.
//
// Once the payee releases a preimage it must be able to claim the HTLC on
// chain before the payer can time it out: notice the peer is gone, go to
// chain some blocks ahead of the expiry, and have the commitment and the
// HTLC-success transaction confirmed, possibly under fee pressure. BOLT
// 11's default of 18 blocks leaves little room for that; 40 does, while
// keeping the whole route's timelock far below the 2016-block ceiling
// payers and forwarders apply.
const DefaultMinFinalCLTVExpiryDelta = 40

// MaxAmount is the largest amount an invoice may ask for: all bitcoin
// there will ever be.
const MaxAmount = lnwire.MilliSatoshi(21_000_000 * 100_000_000 * lnwire.MilliSatPerSat)

// MaxExpiry bounds how long an invoice may stay payable.
const MaxExpiry = 365 * 24 * time.Hour

// Config is what a Registry needs from the node.
type Config struct {
	// DB is the node's database; the registry keeps its records under a
	// top-level "invoices" bucket.
	DB *bbolt.DB

	// Net is the chain invoices are issued for.
	Net *chaincfg.Params

	// Signer signs invoices with the node key, whose public half is
	// NodeID.
	Signer invoice.Signer
	NodeID *btcec.PublicKey

	// Rand is the source of preimages and payment secrets; nil means
	// crypto/rand.
	Rand io.Reader

	// Now is the clock; nil means time.Now.
	Now func() time.Time

	// DefaultExpiry applies to invoices added without an expiry; zero
	// means one hour, BOLT 11's default.
	DefaultExpiry time.Duration

	// MinFinalCLTVExpiryDelta is the c field of new invoices and the
	// final CLTV delta demanded of keysend payments; zero means
	// DefaultMinFinalCLTVExpiryDelta.
	MinFinalCLTVExpiryDelta uint32

	// RejectKeysend refuses spontaneous payments. By default they are
	// accepted, as lnd users expect.
	RejectKeysend bool

	// OnUpdate, if set, is called after every stored change of an
	// invoice (added, settled, canceled, expired) with a copy of the
	// record. It runs on the goroutine that made the change, after the
	// commit, and must not block.
	OnUpdate func(*Record)

	// Logger receives the registry's logs; nil discards them.
	Logger *slog.Logger
}

// Errors callers branch on.
var (
	ErrNotFound       = errors.New("invoices: no such invoice")
	ErrDuplicate      = errors.New("invoices: an invoice with this payment hash exists")
	ErrAlreadySettled = errors.New("invoices: invoice already settled")
	ErrNotOpen        = errors.New("invoices: invoice is not open")
	ErrInvalidRequest = errors.New("invoices: invalid request")
)

// Registry stores the node's invoices and decides the fate of every HTLC
// that ends at the node.
type Registry struct {
	cfg    Config
	log    *slog.Logger
	commit *groupCommit

	mu      sync.Mutex
	waiters map[[32]byte][]chan struct{}
}

// New opens the registry in cfg.DB, creating its bucket if needed.
func New(cfg Config) (*Registry, error) {
	switch {
	case cfg.DB == nil:
		return nil, errors.New("invoices: no database")
	case cfg.Net == nil:
		return nil, errors.New("invoices: no network")
	case cfg.Signer == nil || cfg.NodeID == nil:
		return nil, errors.New("invoices: no node key")
	}
	if _, err := invoice.CurrencyPrefix(cfg.Net); err != nil {
		return nil, fmt.Errorf("invoices: %w", err)
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.DefaultExpiry == 0 {
		cfg.DefaultExpiry = invoice.DefaultExpiry
	}
	if cfg.MinFinalCLTVExpiryDelta == 0 {
		cfg.MinFinalCLTVExpiryDelta = DefaultMinFinalCLTVExpiryDelta
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if err := cfg.DB.Update(createBuckets); err != nil {
		return nil, fmt.Errorf("invoices: create buckets: %w", err)
	}
	return &Registry{
		cfg:     cfg,
		log:     cfg.Logger,
		commit:  &groupCommit{db: cfg.DB},
		waiters: make(map[[32]byte][]chan struct{}),
	}, nil
}

// AddRequest describes a new invoice.
type AddRequest struct {
	// AmountMsat is the amount to ask for; zero lets the payer choose.
	AmountMsat lnwire.MilliSatoshi

	// Memo is the invoice's description (d field), at most
	// invoice.MaxFieldBytes bytes.
	Memo string

	// Expiry is how long the invoice stays payable, in whole seconds;
	// zero means Config.DefaultExpiry.
	Expiry time.Duration

	// RouteHints lead payers to the node through private channels.
	RouteHints [][]invoice.HopHint

	// Preimage, if set, is used instead of a random one, for a payee
	// that must know the preimage in advance.
	Preimage *[32]byte
}

// Add creates an invoice, signs it and stores it. The record is durable
// before Add returns, so a payment can never arrive for an invoice the
// node has forgotten.
func (r *Registry) Add(ctx context.Context, req AddRequest) (*Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	expiry := req.Expiry
	if expiry == 0 {
		expiry = r.cfg.DefaultExpiry
	}
	switch {
	case req.AmountMsat > MaxAmount:
		return nil, fmt.Errorf("%w: amount %d msat exceeds %d", ErrInvalidRequest, req.AmountMsat, MaxAmount)
	case len(req.Memo) > invoice.MaxFieldBytes:
		return nil, fmt.Errorf("%w: memo of %d bytes exceeds %d", ErrInvalidRequest, len(req.Memo), invoice.MaxFieldBytes)
	case expiry < time.Second || expiry > MaxExpiry:
		return nil, fmt.Errorf("%w: expiry %v is outside 1s to %v", ErrInvalidRequest, expiry, MaxExpiry)
	case expiry%time.Second != 0:
		return nil, fmt.Errorf("%w: expiry %v is not a whole number of seconds", ErrInvalidRequest, expiry)
	}

	rec := &Record{
		Memo:                    req.Memo,
		AmountMsat:              req.AmountMsat,
		MinFinalCLTVExpiryDelta: r.cfg.MinFinalCLTVExpiryDelta,
		State:                   StateOpen,
	}
	if req.Preimage != nil {
		rec.Preimage = *req.Preimage
	} else if _, err := io.ReadFull(r.cfg.Rand, rec.Preimage[:]); err != nil {
		return nil, fmt.Errorf("invoices: random preimage: %w", err)
	}
	if _, err := io.ReadFull(r.cfg.Rand, rec.PaymentSecret[:]); err != nil {
		return nil, fmt.Errorf("invoices: random payment secret: %w", err)
	}
	rec.PaymentHash = sha256.Sum256(rec.Preimage[:])
	// BOLT 11 timestamps are whole seconds; the expiry payers compute
	// must be the one the registry enforces.
	rec.CreatedAt = time.Unix(r.cfg.Now().Unix(), 0).UTC()
	rec.ExpiresAt = rec.CreatedAt.Add(expiry)

	inv := &invoice.Invoice{
		Net:                     r.cfg.Net,
		Timestamp:               rec.CreatedAt,
		PaymentHash:             rec.PaymentHash,
		PaymentSecret:           rec.PaymentSecret,
		Description:             &rec.Memo,
		Payee:                   r.cfg.NodeID,
		MinFinalCLTVExpiryDelta: uint64(rec.MinFinalCLTVExpiryDelta),
		RouteHints:              req.RouteHints,
		Features:                invoiceFeatures(),
	}
	if req.AmountMsat != 0 {
		amt := req.AmountMsat
		inv.Amount = &amt
	}
	if expiry != invoice.DefaultExpiry {
		inv.Expiry = expiry
	}
	s, err := invoice.Encode(inv, r.cfg.Signer)
	if err != nil {
		return nil, fmt.Errorf("invoices: encode: %w", err)
	}
	rec.Invoice = s

	err = r.commit.update(func(b *buckets) error {
		old, err := b.get(rec.PaymentHash)
		if err != nil {
			return err
		}
		if old != nil {
			return fmt.Errorf("%w: %x", ErrDuplicate, rec.PaymentHash)
		}
		rec.AddIndex = 0
		return b.put(rec)
	})
	if err != nil {
		return nil, fmt.Errorf("invoices: add %x: %w", rec.PaymentHash, err)
	}
	r.log.Info("invoice added", "payment_hash", fmt.Sprintf("%x", rec.PaymentHash),
		"amount_msat", uint64(rec.AmountMsat), "expires_at", rec.ExpiresAt)
	r.notify(rec)
	return rec.clone(), nil
}

// invoiceFeatures are the features the registry's invoices announce:
// var_onion_optin and payment_secret, both required. basic_mpp is left
// out because the registry settles single-part payments only.
func invoiceFeatures() *lnwire.FeatureVector {
	return lnwire.NewFeatureVector(lnwire.VarOnionOptin.Required(), lnwire.PaymentSecret.Required())
}

// Lookup returns the invoice with the given payment hash, or ErrNotFound.
// An open invoice past its expiry is reported expired.
func (r *Registry) Lookup(hash [32]byte) (*Record, error) {
	var rec *Record
	err := r.cfg.DB.View(func(tx *bbolt.Tx) error {
		b, err := openBuckets(tx)
		if err != nil {
			return err
		}
		rec, err = b.get(hash)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("invoices: lookup %x: %w", hash, err)
	}
	if rec == nil {
		return nil, fmt.Errorf("%w: %x", ErrNotFound, hash)
	}
	rec.State = rec.stateAt(r.cfg.Now())
	return rec, nil
}

// List returns every invoice in the order they were added, open invoices
// past their expiry reported expired.
func (r *Registry) List() ([]*Record, error) {
	now := r.cfg.Now()
	var out []*Record
	err := r.cfg.DB.View(func(tx *bbolt.Tx) error {
		b, err := openBuckets(tx)
		if err != nil {
			return err
		}
		return b.forEach(func(rec *Record) error {
			rec.State = rec.stateAt(now)
			out = append(out, rec)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("invoices: list: %w", err)
	}
	return out, nil
}

// Cancel withdraws an open invoice: HTLCs for it are refused from then on.
// A settled invoice cannot be canceled (ErrAlreadySettled); canceling a
// canceled or expired one changes nothing and returns ErrNotOpen.
func (r *Registry) Cancel(hash [32]byte) error {
	var rec *Record
	err := r.commit.update(func(b *buckets) error {
		rec = nil
		old, err := b.get(hash)
		switch {
		case err != nil:
			return err
		case old == nil:
			return ErrNotFound
		case old.State == StateSettled:
			return ErrAlreadySettled
		case old.State != StateOpen:
			return fmt.Errorf("%w: %s", ErrNotOpen, old.State)
		}
		old.State = StateCanceled
		rec = old
		return b.put(old)
	})
	if err != nil {
		return fmt.Errorf("invoices: cancel %x: %w", hash, err)
	}
	r.log.Info("invoice canceled", "payment_hash", fmt.Sprintf("%x", hash))
	r.notify(rec)
	return nil
}

// ExpireOld stores the expired state of every open invoice whose expiry is
// not after now, and returns how many it changed. Expiry is enforced
// without it (Accept and Lookup compare against the clock); the sweep
// makes the state explicit in the store and tells subscribers.
func (r *Registry) ExpireOld(now time.Time) (int, error) {
	var expired []*Record
	err := r.commit.update(func(b *buckets) error {
		expired = expired[:0]
		var due []*Record
		err := b.forEach(func(rec *Record) error {
			if rec.State == StateOpen && !now.Before(rec.ExpiresAt) {
				due = append(due, rec)
			}
			return nil
		})
		if err != nil {
			return err
		}
		// Writing while a cursor walks the same bucket is not safe in
		// bbolt, hence the second pass.
		for _, rec := range due {
			rec.State = StateExpired
			if err := b.put(rec); err != nil {
				return err
			}
		}
		expired = due
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("invoices: expire: %w", err)
	}
	for _, rec := range expired {
		r.log.Info("invoice expired", "payment_hash", fmt.Sprintf("%x", rec.PaymentHash))
		r.notify(rec)
	}
	return len(expired), nil
}

// Wait blocks until the invoice is settled, canceled or expired by a sweep
// (ExpireOld), or until ctx is done, and returns the invoice as it then
// is.
func (r *Registry) Wait(ctx context.Context, hash [32]byte) (*Record, error) {
	for {
		// Register before looking, so that a change between the two
		// cannot be missed.
		ch := make(chan struct{})
		r.mu.Lock()
		r.waiters[hash] = append(r.waiters[hash], ch)
		r.mu.Unlock()

		rec, err := r.Lookup(hash)
		if err != nil {
			r.dropWaiter(hash, ch)
			return nil, err
		}
		// Lookup reports an open invoice past its expiry as expired;
		// that is final too.
		if rec.State != StateOpen {
			r.dropWaiter(hash, ch)
			return rec, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			r.dropWaiter(hash, ch)
			return rec, ctx.Err()
		}
	}
}

func (r *Registry) dropWaiter(hash [32]byte, ch chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ws := r.waiters[hash]
	for i, w := range ws {
		if w == ch {
			ws = append(ws[:i], ws[i+1:]...)
			break
		}
	}
	if len(ws) == 0 {
		delete(r.waiters, hash)
	} else {
		r.waiters[hash] = ws
	}
}

// notify tells the hook and the waiters that rec was stored.
func (r *Registry) notify(rec *Record) {
	if rec == nil {
		return
	}
	r.mu.Lock()
	ws := r.waiters[rec.PaymentHash]
	delete(r.waiters, rec.PaymentHash)
	r.mu.Unlock()
	for _, ch := range ws {
		close(ch)
	}
	if r.cfg.OnUpdate != nil {
		r.cfg.OnUpdate(rec.clone())
	}
}
