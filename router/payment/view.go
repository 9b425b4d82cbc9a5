package payment

import (
	"encoding/hex"
	"time"
)

// Summary is a payment as `flash pay --json` and `flash payment list`
// show it, with the field names of the command-line contract.
type Summary struct {
	Status        string           `json:"status"`
	PaymentHash   string           `json:"payment_hash"`
	Preimage      string           `json:"preimage,omitempty"`
	AmountMsat    uint64           `json:"amount_msat"`
	FeeMsat       uint64           `json:"fee_msat"`
	Route         []string         `json:"route"`
	Attempts      []AttemptSummary `json:"attempts"`
	FailureReason string           `json:"failure_reason,omitempty"`
	CreatedAt     string           `json:"created_at"`
}

// AttemptSummary is one attempt within a Summary.
type AttemptSummary struct {
	Status     string   `json:"status"`
	Route      []string `json:"route"`
	AmountMsat uint64   `json:"amount_msat"`
	FeeMsat    uint64   `json:"fee_msat"`
	// Failure describes a failed attempt, and FailureSource names the
	// node that reported it (empty for our own node or unknown).
	Failure       string `json:"failure,omitempty"`
	FailureSource string `json:"failure_source,omitempty"`
}

// Summary returns the payment's public view. The preimage of a keysend
// payment is shown only once the payment has succeeded: before that it
// is a secret the payee has not yet claimed.
func (p *Payment) Summary() Summary {
	s := Summary{
		Status:        p.Status.String(),
		PaymentHash:   hex.EncodeToString(p.PaymentHash[:]),
		AmountMsat:    uint64(p.AmountMsat),
		FeeMsat:       uint64(p.FeeMsat()),
		Route:         []string{},
		Attempts:      make([]AttemptSummary, 0, len(p.Attempts)),
		FailureReason: p.FailureReason.String(),
		CreatedAt:     p.CreatedAt.UTC().Format(time.RFC3339),
	}
	if p.Status == StatusSucceeded && p.Preimage != nil {
		s.Preimage = hex.EncodeToString(p.Preimage[:])
	}
	if r := p.Route(); r != nil {
		s.Route = nodeStrings(r)
	}
	for i := range p.Attempts {
		a := &p.Attempts[i]
		as := AttemptSummary{
			Status:     a.Status.String(),
			Route:      nodeStrings(&a.Route),
			AmountMsat: uint64(a.Route.TotalAmount),
			FeeMsat:    uint64(a.Route.TotalFee),
			Failure:    a.Failure,
		}
		if a.FailureSource >= 0 && a.FailureSource < len(a.Route.Hops) {
			as.FailureSource = a.Route.Hops[a.FailureSource].NodeID.String()
		}
		s.Attempts = append(s.Attempts, as)
	}
	return s
}

func nodeStrings(r *Route) []string {
	out := make([]string, len(r.Hops))
	for i, h := range r.Hops {
		out[i] = h.NodeID.String()
	}
	return out
}
