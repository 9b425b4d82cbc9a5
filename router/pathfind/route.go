package pathfind

import (
	"fmt"
	"strings"

	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/router/graph"
)

// Hop is one channel of a route and the node it reaches.
//
// AmountMsat and Expiry describe the HTLC offered over the channel: for
// Hops[0] they are what the payer puts in update_add_htlc. AmountToForward
// and OutgoingCLTV are the BOLT 4 hop payload for NodeID (amt_to_forward,
// outgoing_cltv_value): what it must forward on the next channel, or, at
// the payee, the payment amount and final expiry.
type Hop struct {
	NodeID          graph.NodeID
	ShortChannelID  lnwire.ShortChannelID
	AmountMsat      lnwire.MilliSatoshi
	Expiry          uint32
	AmountToForward lnwire.MilliSatoshi
	OutgoingCLTV    uint32
	// Fee is what NodeID keeps: AmountMsat - AmountToForward.
	Fee lnwire.MilliSatoshi
	// CltvDelta is NodeID's time-lock margin: Expiry - OutgoingCLTV.
	CltvDelta uint16
}

// Route is a path from the payer to the payee with every hop's amounts
// and expiries.
type Route struct {
	Hops []Hop
	// TotalAmount is what the payer sends: the payment plus every fee.
	TotalAmount lnwire.MilliSatoshi
	TotalFee    lnwire.MilliSatoshi
	// TotalCLTV is the absolute expiry of the payer's HTLC.
	TotalCLTV uint32
	// Probability is the estimated chance of success when the route was
	// found.
	Probability float64
}

// Target returns the payee.
func (r *Route) Target() graph.NodeID { return r.Hops[len(r.Hops)-1].NodeID }

// String lists the channels and amounts, for logs and `flash route`.
func (r *Route) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "amount %d msat, fee %d msat, expiry %d:", r.TotalAmount, r.TotalFee, r.TotalCLTV)
	for _, h := range r.Hops {
		fmt.Fprintf(&b, " -[%v %d]-> %x", h.ShortChannelID, h.AmountMsat, h.NodeID[:4])
	}
	return b.String()
}
