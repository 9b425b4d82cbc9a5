package payment

import (
	"errors"
	"time"

	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/htlc/onion"
	"github.com/flash-ln/flash/router/graph"
	"github.com/flash-ln/flash/router/pathfind"
)

// Status is where a payment or an attempt stands.
type Status uint8

// The statuses of payments and attempts. The numbers are stored.
const (
	StatusInFlight  Status = 1
	StatusSucceeded Status = 2
	StatusFailed    Status = 3
)

// String returns the name used by the RPC and the CLI.
func (s Status) String() string {
	switch s {
	case StatusInFlight:
		return "in_flight"
	case StatusSucceeded:
		return "succeeded"
	case StatusFailed:
		return "failed"
	}
	return "unknown"
}

// FailureReason says why a payment failed, in the words of `flash pay`.
type FailureReason uint8

// The failure reasons. The numbers are stored.
const (
	ReasonNone FailureReason = iota
	// ReasonNoRoute: no route is left to try.
	ReasonNoRoute
	// ReasonTimeout: the payment's time ran out before it succeeded.
	ReasonTimeout
	// ReasonIncorrectPaymentDetails: the payee refused the payment
	// (unknown hash, wrong amount or secret, expired invoice).
	ReasonIncorrectPaymentDetails
	// ReasonError: a failure that no other route can cure, such as a
	// payee that cannot read our onion.
	ReasonError
)

// String returns the name used by the RPC and the CLI.
func (r FailureReason) String() string {
	switch r {
	case ReasonNone:
		return ""
	case ReasonNoRoute:
		return "no_route"
	case ReasonTimeout:
		return "timeout"
	case ReasonIncorrectPaymentDetails:
		return "incorrect_payment_details"
	case ReasonError:
		return "error"
	}
	return "unknown"
}

// Errors returned before anything is stored or sent: the request itself
// cannot be paid.
var (
	// ErrAlreadyPaid: a payment to this hash has succeeded.
	ErrAlreadyPaid = errors.New("payment: already paid")
	// ErrInFlight: a payment to this hash is still in flight.
	ErrInFlight = errors.New("payment: a payment to this hash is in flight")
	// ErrInvoiceExpired: the invoice may no longer be paid.
	ErrInvoiceExpired = errors.New("payment: invoice expired")
	// ErrAmount: the amount is missing, zero, or contradicts the invoice.
	ErrAmount = errors.New("payment: bad amount")
	// ErrBadRequest: the request is malformed otherwise.
	ErrBadRequest = errors.New("payment: bad request")
	// ErrUnknownPayment: no payment with this hash is stored.
	ErrUnknownPayment = errors.New("payment: unknown payment")
	// ErrUnknownAttempt: a result names an attempt that is not in flight.
	ErrUnknownAttempt = errors.New("payment: no such attempt in flight")
	// ErrBadPreimage: a settle result's preimage does not hash to the
	// payment hash.
	ErrBadPreimage = errors.New("payment: preimage does not match the payment hash")
)

// Hop is one hop of a stored route: what the attempt's HTLC looked like
// over the channel that reaches NodeID.
type Hop struct {
	NodeID          graph.NodeID
	ShortChannelID  lnwire.ShortChannelID
	AmountMsat      lnwire.MilliSatoshi
	Expiry          uint32
	AmountToForward lnwire.MilliSatoshi
	OutgoingCLTV    uint32
}

// Route is the stored form of an attempt's route.
type Route struct {
	Hops        []Hop
	TotalAmount lnwire.MilliSatoshi
	TotalFee    lnwire.MilliSatoshi
	TotalCLTV   uint32
}

func routeFrom(r *pathfind.Route) Route {
	out := Route{
		Hops:        make([]Hop, len(r.Hops)),
		TotalAmount: r.TotalAmount,
		TotalFee:    r.TotalFee,
		TotalCLTV:   r.TotalCLTV,
	}
	for i, h := range r.Hops {
		out.Hops[i] = Hop{
			NodeID:          h.NodeID,
			ShortChannelID:  h.ShortChannelID,
			AmountMsat:      h.AmountMsat,
			Expiry:          h.Expiry,
			AmountToForward: h.AmountToForward,
			OutgoingCLTV:    h.OutgoingCLTV,
		}
	}
	return out
}

// pathfindRoute converts back, for mission control.
func (r *Route) pathfindRoute() *pathfind.Route {
	out := &pathfind.Route{
		Hops:        make([]pathfind.Hop, len(r.Hops)),
		TotalAmount: r.TotalAmount,
		TotalFee:    r.TotalFee,
		TotalCLTV:   r.TotalCLTV,
	}
	for i, h := range r.Hops {
		out.Hops[i] = pathfind.Hop{
			NodeID:          h.NodeID,
			ShortChannelID:  h.ShortChannelID,
			AmountMsat:      h.AmountMsat,
			Expiry:          h.Expiry,
			AmountToForward: h.AmountToForward,
			OutgoingCLTV:    h.OutgoingCLTV,
			Fee:             h.AmountMsat - h.AmountToForward,
		}
	}
	return out
}

// NodeIDs lists the hops' nodes, payee last: the `route` of `flash pay`.
func (r *Route) NodeIDs() []graph.NodeID {
	ids := make([]graph.NodeID, len(r.Hops))
	for i, h := range r.Hops {
		ids[i] = h.NodeID
	}
	return ids
}

// Attempt is one HTLC sent for a payment.
type Attempt struct {
	// ID names the attempt's HTLC between this package and the daemon.
	ID uint64
	// SessionKey is the onion's session key: with Route it rebuilds the
	// circuit that decrypts a failure.
	SessionKey [32]byte
	Route      Route
	Status     Status
	SentAt     time.Time
	ResolvedAt time.Time
	// FailureCode is the BOLT 4 code of a failed attempt, zero if the
	// failure had none (unreadable, or refused locally).
	FailureCode onion.FailureCode
	// FailureSource is the index in Route.Hops of the node that reported
	// the failure, or -1 when it was our own node or is unknown.
	FailureSource int
	// Failure describes the failure for people.
	Failure string
	// Excluded lists what later attempts of this payment must avoid,
	// as this failure taught.
	ExcludedChannels []pathfind.DirectedChannel
	ExcludedNodes    []graph.NodeID
}

// Kind says how the payee learns the preimage.
type Kind uint8

// The payment kinds. The numbers are stored.
const (
	// KindInvoice pays a BOLT 11 invoice: the payee holds the preimage.
	KindInvoice Kind = 1
	// KindKeysend sends the preimage in the onion.
	KindKeysend Kind = 2
)

// Payment is a stored payment and all its attempts.
type Payment struct {
	PaymentHash [32]byte
	Kind        Kind
	Status      Status
	Dest        graph.NodeID
	// AmountMsat is what the payee receives.
	AmountMsat lnwire.MilliSatoshi
	MaxFeeMsat lnwire.MilliSatoshi
	CreatedAt  time.Time
	// Deadline is when no further attempt may start.
	Deadline time.Time
	// CltvLimit bounds the total time lock (blocks above the tip); zero
	// means the pathfinding default.
	CltvLimit uint32

	// The final hop's data, kept so that attempts can resume after a
	// restart.
	PaymentSecret  [32]byte
	Metadata       []byte
	FinalCLTVDelta uint16
	RouteHints     [][]pathfind.HopHint
	// Preimage is known from the start for keysend, and from the payee's
	// settlement otherwise.
	Preimage *[32]byte

	FailureReason FailureReason
	Attempts      []Attempt
}

// FeeMsat is the fee of the successful attempt, zero otherwise.
func (p *Payment) FeeMsat() lnwire.MilliSatoshi {
	if a := p.succeeded(); a != nil {
		return a.Route.TotalFee
	}
	return 0
}

// Route is the route of the successful attempt, nil otherwise.
func (p *Payment) Route() *Route {
	if a := p.succeeded(); a != nil {
		return &a.Route
	}
	return nil
}

func (p *Payment) succeeded() *Attempt {
	for i := range p.Attempts {
		if p.Attempts[i].Status == StatusSucceeded {
			return &p.Attempts[i]
		}
	}
	return nil
}

// InFlightAttempt returns the attempt awaiting its result, if any.
func (p *Payment) InFlightAttempt() *Attempt {
	for i := range p.Attempts {
		if p.Attempts[i].Status == StatusInFlight {
			return &p.Attempts[i]
		}
	}
	return nil
}

func (p *Payment) attempt(id uint64) *Attempt {
	for i := range p.Attempts {
		if p.Attempts[i].ID == id {
			return &p.Attempts[i]
		}
	}
	return nil
}
