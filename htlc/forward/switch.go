package forward

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/btcsuite/btcd/btcec/v2"
	bolt "go.etcd.io/bbolt"

	"github.com/flash-ln/flash/channel"
	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/htlc/invoices"
	"github.com/flash-ln/flash/htlc/onion"
)

// FinalHopHandler decides on HTLCs that end at this node. The invoice
// registry (*invoices.Registry) is one. It must be idempotent per circuit
// key: the same HTLC may be presented again after a restart.
type FinalHopHandler interface {
	Accept(ctx context.Context, h invoices.IncomingHTLC) (invoices.Resolution, error)
}

// PaymentResult is the outcome of an HTLC this node sent for one of its own
// payments.
type PaymentResult struct {
	AttemptID   uint64
	PaymentHash [32]byte
	// Preimage is set when the payment succeeded.
	Preimage *[32]byte
	// Reason is the encrypted failure from downstream, for
	// onion.DecryptFailure with the attempt's circuit.
	Reason []byte
	// LocalFailure is set instead of Reason when the HTLC failed at the
	// first hop in a way the sender can read directly: refused by our own
	// channel, or returned malformed by the first hop.
	LocalFailure onion.FailureMessage
}

// PaymentResultSink receives the outcomes of this node's own payments. It
// must store a result before returning nil, and accept the same result
// twice: after a crash the switch delivers again what it is not sure was
// taken.
type PaymentResultSink interface {
	PaymentResult(ctx context.Context, r PaymentResult) error
}

// Action is what a Decision asks the daemon to do.
type Action uint8

const (
	// ActionNone: nothing to do now.
	ActionNone Action = iota
	// ActionForward: offer Add on channel Outgoing, then report the id
	// with OpenCircuit, or the channel's refusal with ForwardRefused.
	ActionForward
	// ActionSettle: fulfill the incoming HTLC with Preimage.
	ActionSettle
	// ActionFail: fail the incoming HTLC with Reason.
	ActionFail
	// ActionFailMalformed: fail the incoming HTLC with
	// update_fail_malformed_htlc (FailureCode, ShaOnion).
	ActionFailMalformed
)

// String names the action.
func (a Action) String() string {
	switch a {
	case ActionNone:
		return "none"
	case ActionForward:
		return "forward"
	case ActionSettle:
		return "settle"
	case ActionFail:
		return "fail"
	case ActionFailMalformed:
		return "fail-malformed"
	}
	return fmt.Sprintf("action(%d)", uint8(a))
}

// Decision is the switch's answer about one incoming HTLC (or, for a
// payment of our own, one attempt).
type Decision struct {
	Action   Action
	Incoming CircuitKey

	// For ActionForward.
	Outgoing     lnwire.ChannelID
	OutgoingSCID lnwire.ShortChannelID
	Add          channel.AddHTLC

	// For ActionSettle.
	Preimage [32]byte

	// For ActionFail.
	Reason []byte

	// For ActionFailMalformed.
	FailureCode uint16
	ShaOnion    [32]byte

	// Failure is the failure this node decided on, for logs and
	// statistics; nil when passing on a failure from downstream.
	Failure onion.FailureMessage

	// Repeat is set when the switch already gave this answer since it
	// started: the daemon has likely acted on it. Acting again on a
	// settle or fail is harmless (the channel refuses a second removal);
	// a forward is never repeated, it turns into ActionNone.
	Repeat bool
}

// Config assembles a Switch.
type Config struct {
	// DB is the node's database; the switch keeps its circuits in a
	// bucket of its own.
	DB *bolt.DB
	// Onion peels the onions addressed to this node.
	Onion *onion.Router
	// Channels finds the outgoing channel of a forward.
	Channels ChannelSource
	// FinalHop decides on HTLCs that end here.
	FinalHop FinalHopHandler
	// Payments receives the outcomes of our own payments; nil if the
	// node sends none.
	Payments PaymentResultSink
	// Limits bound forwarded expiries; the zero value means DefaultLimits.
	Limits Limits
	// Log may be nil.
	Log *slog.Logger
}

// Errors a caller branches on.
var (
	// ErrUnknownCircuit: no circuit matches. For an outgoing HTLC this is
	// expected when its removal is reported after the incoming side was
	// already resolved and the circuit deleted.
	ErrUnknownCircuit = errors.New("forward: no such circuit")
	// ErrCircuitState: the event does not fit the circuit's state, such
	// as a failure after a preimage.
	ErrCircuitState = errors.New("forward: event does not fit circuit state")
	// ErrChannelUnavailable: a payment of our own cannot leave over the
	// channel it names now.
	ErrChannelUnavailable = errors.New("forward: first-hop channel unavailable")
)

// Switch routes HTLCs between channels. It is safe for concurrent use.
type Switch struct {
	cfg   Config
	log   *slog.Logger
	store *store

	mu    sync.Mutex
	byIn  map[CircuitKey]*Circuit
	byOut map[CircuitKey]*Circuit
	// decided is the last decision given for each incoming HTLC since the
	// switch started, so a retransmitted event gets the same answer.
	// Entries go with IncomingResolved.
	decided map[CircuitKey]Decision
	// peeled holds the incoming HTLCs whose onion went through the
	// replay log since the switch started, so that one presented again
	// (after a store error, say) is not mistaken for a replay.
	peeled map[CircuitKey]struct{}
}

// New opens the switch's store in cfg.DB and loads the stored circuits.
func New(cfg Config) (*Switch, error) {
	if cfg.DB == nil || cfg.Onion == nil || cfg.Channels == nil || cfg.FinalHop == nil {
		return nil, errors.New("forward: config needs DB, Onion, Channels and FinalHop")
	}
	if cfg.Limits == (Limits{}) {
		cfg.Limits = DefaultLimits()
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	st, err := openStore(cfg.DB)
	if err != nil {
		return nil, err
	}
	circuits, err := st.load()
	if err != nil {
		return nil, err
	}
	s := &Switch{
		cfg: cfg, log: log, store: st,
		byIn:    make(map[CircuitKey]*Circuit, len(circuits)),
		byOut:   make(map[CircuitKey]*Circuit, len(circuits)),
		decided: make(map[CircuitKey]Decision),
		peeled:  make(map[CircuitKey]struct{}),
	}
	for _, c := range circuits {
		s.byIn[c.Incoming] = c
		if c.Sent {
			s.byOut[c.Outgoing] = c
		}
	}
	log.Info("circuits loaded", "count", len(circuits))
	return s, nil
}

// Circuits returns a copy of every circuit, for inspection.
func (s *Switch) Circuits() []Circuit {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Circuit, 0, len(s.byIn))
	for _, c := range s.byIn {
		out = append(out, *c)
	}
	return out
}

// IncomingHTLC is an incoming HTLC irrevocably committed on channel Chan.
type IncomingHTLC struct {
	Chan lnwire.ChannelID
	HTLC channel.HTLC
	// Restored is set for an HTLC read back from the channel after a
	// restart (Channel.LockedIncomingHTLCs): its onion was seen before the
	// crash and must not be taken for a replay.
	Restored bool
}

// HandleIncoming decides what to do with an HTLC another node offered us,
// once it is irrevocably committed. Height is the current best height. An
// error means the decision could not be made durable; the HTLC must then be
// left alone and presented again later.
func (s *Switch) HandleIncoming(ctx context.Context, in IncomingHTLC, height uint32) (Decision, error) {
	key := CircuitKey{ChanID: in.Chan, HTLCID: in.HTLC.ID}
	if key.ChanID == LocalChannel {
		return Decision{}, fmt.Errorf("forward: incoming HTLC on the reserved local channel id")
	}
	s.mu.Lock()
	if d, ok, err := s.resumeLocked(ctx, key, height); ok || err != nil {
		s.mu.Unlock()
		return d, err
	}
	_, seen := s.peeled[key]
	s.peeled[key] = struct{}{}
	s.mu.Unlock()

	h := in.HTLC
	var (
		hop *onion.ProcessedHop
		err error
	)
	if in.Restored || seen {
		hop, err = s.cfg.Onion.Reprocess(h.Onion, h.PaymentHash[:])
	} else {
		hop, err = s.cfg.Onion.Process(h.Onion, h.PaymentHash[:], h.CLTVExpiry)
	}
	if err != nil {
		d := s.onionFailure(key, h.Onion, err)
		return s.remember(d), nil
	}
	enc, err := s.cfg.Onion.ErrorEncrypter(hop.EphemeralKey)
	if err != nil {
		// The onion's HMAC checked, so its key is a valid point; this
		// cannot happen short of a bug.
		return Decision{}, fmt.Errorf("forward: HTLC %s: %w", key, err)
	}
	if hop.Final {
		return s.finalHop(ctx, key, h, hop, enc, height)
	}
	return s.forward(ctx, key, h, hop, enc, height)
}

// resumeLocked answers for an HTLC the switch has seen before: ok is false
// if it has not.
func (s *Switch) resumeLocked(ctx context.Context, key CircuitKey, height uint32) (Decision, bool, error) {
	if d, ok := s.decided[key]; ok {
		d.Repeat = true
		if d.Action == ActionForward {
			d = Decision{Action: ActionNone, Incoming: key, Repeat: true}
		}
		return d, true, nil
	}
	c := s.byIn[key]
	if c == nil {
		return Decision{}, false, nil
	}
	var d Decision
	switch c.State {
	case StateHalfOpen:
		// Stored before a crash, never handed to the outgoing channel:
		// forward it now if it still passes, or fail it.
		var err error
		d, err = s.retryHalfOpenLocked(ctx, c, height)
		if err != nil {
			return Decision{}, true, err
		}
	case StateOpen:
		d = Decision{Action: ActionNone, Incoming: key}
	case StateSettled:
		d = Decision{Action: ActionSettle, Incoming: key, Preimage: c.Preimage}
	case StateFailed:
		d = Decision{Action: ActionFail, Incoming: key, Reason: c.Reason}
	}
	s.decided[key] = d
	return d, true, nil
}

// retryHalfOpenLocked checks a half-open circuit again against the
// outgoing channel as it is now.
func (s *Switch) retryHalfOpenLocked(ctx context.Context, c *Circuit, height uint32) (Decision, error) {
	info, ok := s.cfg.Channels.ChannelByShortID(c.OutgoingSCID)
	var failure onion.FailureMessage
	switch {
	case !ok:
		failure = &onion.UnknownNextPeer{}
	case c.IsLocal():
		if !info.Active || c.OutgoingAmount > info.AvailableMsat {
			failure = &onion.TemporaryChannelFailure{Update: info.Update}
		}
	default:
		failure = CheckForward(
			HTLCTerms{AmountMsat: c.IncomingAmount, CLTVExpiry: c.IncomingExpiry},
			ForwardTerms{AmtToForward: c.OutgoingAmount, OutgoingCLTV: c.OutgoingExpiry, SCID: c.OutgoingSCID},
			&info, height, s.cfg.Limits)
	}
	if failure != nil {
		return s.failUnsentLocked(ctx, c, failure)
	}
	return forwardDecision(c), nil
}

func forwardDecision(c *Circuit) Decision {
	return Decision{
		Action:       ActionForward,
		Incoming:     c.Incoming,
		Outgoing:     c.Outgoing.ChanID,
		OutgoingSCID: c.OutgoingSCID,
		Add: channel.AddHTLC{
			Amount:      c.OutgoingAmount,
			PaymentHash: c.PaymentHash,
			CLTVExpiry:  c.OutgoingExpiry,
			Onion:       c.NextOnion,
		},
	}
}

// remember records d as the answer for its incoming HTLC, unless another
// caller answered first, and returns the answer that stands.
func (s *Switch) remember(d Decision) Decision {
	s.mu.Lock()
	defer s.mu.Unlock()
	if prev, ok := s.decided[d.Incoming]; ok {
		prev.Repeat = true
		if prev.Action == ActionForward {
			prev = Decision{Action: ActionNone, Incoming: d.Incoming, Repeat: true}
		}
		return prev
	}
	s.decided[d.Incoming] = d
	return d
}

// onionFailure answers an onion that could not be peeled.
func (s *Switch) onionFailure(key CircuitKey, packet []byte, err error) Decision {
	var pe *onion.ProcessError
	if !errors.As(err, &pe) {
		pe = &onion.ProcessError{Failure: &onion.TemporaryNodeFailure{}, Err: err}
	}
	s.log.Debug("onion refused", "htlc", key, "err", err)
	if pe.Failure.Code()&onion.FlagBadOnion != 0 {
		return malformed(key, pe.Failure.Code(), sha256.Sum256(packet))
	}
	// The HMAC checked, so the ephemeral key after the version byte is
	// the one the payer used.
	pub, perr := btcec.ParsePubKey(packet[1:34])
	if perr != nil {
		return malformed(key, onion.CodeInvalidOnionKey, sha256.Sum256(packet))
	}
	enc, eerr := s.cfg.Onion.ErrorEncrypter(pub)
	if eerr != nil {
		return malformed(key, onion.CodeInvalidOnionKey, sha256.Sum256(packet))
	}
	return Decision{Action: ActionFail, Incoming: key, Reason: enc.EncryptFailure(pe.Failure), Failure: pe.Failure}
}

func malformed(key CircuitKey, code onion.FailureCode, sha [32]byte) Decision {
	return Decision{
		Action: ActionFailMalformed, Incoming: key,
		FailureCode: uint16(code), ShaOnion: sha,
		Failure: onion.NewBadOnionFailure(code, sha),
	}
}

// finalHop hands an HTLC that ends here to the final hop handler.
func (s *Switch) finalHop(ctx context.Context, key CircuitKey, h channel.HTLC, hop *onion.ProcessedHop,
	enc *onion.ErrorEncrypter, height uint32) (Decision, error) {

	req := invoices.IncomingFromPayload(invoices.IncomingHTLC{
		Circuit:       invoices.CircuitKey{ChanID: key.ChanID, HTLCID: key.HTLCID},
		PaymentHash:   h.PaymentHash,
		AmountMsat:    h.Amount,
		Expiry:        h.CLTVExpiry,
		CurrentHeight: height,
	}, hop.Payload)
	res, err := s.cfg.FinalHop.Accept(ctx, req)
	if err != nil {
		return Decision{}, fmt.Errorf("forward: final hop for HTLC %s: %w", key, err)
	}
	var d Decision
	switch r := res.(type) {
	case *invoices.Settle:
		d = Decision{Action: ActionSettle, Incoming: key, Preimage: r.Preimage}
	case *invoices.Fail:
		d = Decision{Action: ActionFail, Incoming: key, Reason: enc.EncryptFailure(r.Message), Failure: r.Message}
	default:
		return Decision{}, fmt.Errorf("forward: final hop for HTLC %s: unexpected resolution %T", key, res)
	}
	return s.remember(d), nil
}

// forward checks an HTLC to pass on and, if it passes, stores its circuit
// before returning the forward.
func (s *Switch) forward(ctx context.Context, key CircuitKey, h channel.HTLC, hop *onion.ProcessedHop,
	enc *onion.ErrorEncrypter, height uint32) (Decision, error) {

	p := hop.Payload
	var (
		info    ChannelInfo
		infoPtr *ChannelInfo
	)
	if p.ShortChannelID != nil {
		if i, ok := s.cfg.Channels.ChannelByShortID(*p.ShortChannelID); ok {
			info, infoPtr = i, &i
		}
	}
	if infoPtr == nil || p.ShortChannelID == nil {
		f := &onion.UnknownNextPeer{}
		return s.remember(Decision{Action: ActionFail, Incoming: key, Reason: enc.EncryptFailure(f), Failure: f}), nil
	}
	terms := ForwardTerms{AmtToForward: p.AmtToForward, OutgoingCLTV: p.OutgoingCLTV, SCID: *p.ShortChannelID}
	if f := CheckForward(HTLCTerms{AmountMsat: h.Amount, CLTVExpiry: h.CLTVExpiry}, terms, infoPtr, height, s.cfg.Limits); f != nil {
		s.log.Debug("forward refused", "htlc", key, "out", terms.SCID, "failure", f)
		return s.remember(Decision{Action: ActionFail, Incoming: key, Reason: enc.EncryptFailure(f), Failure: f}), nil
	}

	c := &Circuit{
		State:          StateHalfOpen,
		Incoming:       key,
		Outgoing:       CircuitKey{ChanID: info.ChanID},
		OutgoingSCID:   terms.SCID,
		PaymentHash:    h.PaymentHash,
		IncomingAmount: h.Amount,
		IncomingExpiry: h.CLTVExpiry,
		OutgoingAmount: terms.AmtToForward,
		OutgoingExpiry: terms.OutgoingCLTV,
		NextOnion:      hop.NextPacket,
		ErrorSecret:    enc.SharedSecret(),
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if d, ok, err := s.resumeLocked(ctx, key, height); ok || err != nil {
		// Another caller handled the same HTLC meanwhile.
		return d, err
	}
	if err := s.store.put(c); err != nil {
		return Decision{}, err
	}
	s.byIn[key] = c
	d := forwardDecision(c)
	s.decided[key] = d
	return d, nil
}

// SendLocal starts an HTLC for one of our own payments: attemptID names the
// attempt (unique per node), scid the first hop's channel. The circuit is
// stored before the forward is returned; the caller then offers d.Add and
// reports with OpenCircuit or ForwardRefused, exactly as for a forward.
// Sending the same attempt again returns ActionNone.
func (s *Switch) SendLocal(ctx context.Context, attemptID uint64, scid lnwire.ShortChannelID, add channel.AddHTLC) (Decision, error) {
	key := CircuitKey{ChanID: LocalChannel, HTLCID: attemptID}
	info, ok := s.cfg.Channels.ChannelByShortID(scid)
	if !ok {
		return Decision{}, fmt.Errorf("%w: no channel %s", ErrChannelUnavailable, scid)
	}
	if !info.Active || add.Amount > info.AvailableMsat {
		return Decision{}, fmt.Errorf("%w: channel %s active=%v available=%d msat, want %d",
			ErrChannelUnavailable, scid, info.Active, info.AvailableMsat, add.Amount)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if prev, ok := s.byIn[key]; ok {
		if prev.State != StateHalfOpen {
			return Decision{Action: ActionNone, Incoming: key, Repeat: true}, nil
		}
		// Stored before a restart and never sent: send it now unless
		// this run already did. If it can no longer go, the failure
		// is delivered like any other result.
		d, _, err := s.resumeLocked(ctx, key, 0)
		if err != nil || prev.State != StateFailed {
			return d, err
		}
		s.mu.Unlock()
		err = s.deliver(ctx, prev)
		s.mu.Lock()
		return Decision{Action: ActionNone, Incoming: key}, err
	}
	c := &Circuit{
		State:          StateHalfOpen,
		Incoming:       key,
		Outgoing:       CircuitKey{ChanID: info.ChanID},
		OutgoingSCID:   scid,
		PaymentHash:    add.PaymentHash,
		OutgoingAmount: add.Amount,
		OutgoingExpiry: add.CLTVExpiry,
		NextOnion:      add.Onion,
	}
	if err := s.store.put(c); err != nil {
		return Decision{}, err
	}
	s.byIn[key] = c
	d := forwardDecision(c)
	s.decided[key] = d
	return d, nil
}
