package payment

import (
	"strings"
	"testing"

	"github.com/flash-ln/flash/router/graph"
	"github.com/flash-ln/flash/router/pathfind"
)

// TestCheckRouteRefusesOverpayment tampers with a valid route in every
// way that would send more than intended, or pay someone else.
func TestCheckRouteRefusesOverpayment(t *testing.T) {
	dest := graph.NodeID{2, 4}
	pay := &Payment{Dest: dest, AmountMsat: 1000, MaxFeeMsat: 20}
	valid := func() *pathfind.Route {
		return &pathfind.Route{
			Hops: []pathfind.Hop{
				{NodeID: graph.NodeID{2, 2}, AmountMsat: 1010, Expiry: 200, AmountToForward: 1000, OutgoingCLTV: 160},
				{NodeID: dest, AmountMsat: 1000, Expiry: 160, AmountToForward: 1000, OutgoingCLTV: 160},
			},
			TotalAmount: 1010, TotalFee: 10, TotalCLTV: 200,
		}
	}
	if err := checkRoute(pay, valid()); err != nil {
		t.Fatalf("valid route refused: %v", err)
	}
	for _, tc := range []struct {
		name   string
		tamper func(r *pathfind.Route)
		want   string
	}{
		{"fee above limit", func(r *pathfind.Route) {
			r.Hops[0].AmountMsat, r.TotalAmount, r.TotalFee = 1021, 1021, 21
		}, "exceeds the limit"},
		{"payee gets more", func(r *pathfind.Route) {
			r.Hops[1].AmountMsat, r.Hops[1].AmountToForward, r.Hops[0].AmountToForward = 1005, 1005, 1005
		}, "delivers"},
		{"first HTLC above total", func(r *pathfind.Route) { r.Hops[0].AmountMsat = 2000 }, "first HTLC"},
		{"fee understated", func(r *pathfind.Route) { r.TotalFee = 5 }, "do not add up"},
		{"wrong payee", func(r *pathfind.Route) { r.Hops[1].NodeID = graph.NodeID{2, 9} }, "not the payee"},
		{"hop inconsistency", func(r *pathfind.Route) { r.Hops[0].AmountToForward = 999 }, "hop 0 forwards"},
		{"expiry mismatch", func(r *pathfind.Route) { r.Hops[0].Expiry = 150 }, "first expiry"},
		{"empty", func(r *pathfind.Route) { r.Hops = nil }, "0 hops"},
	} {
		r := valid()
		tc.tamper(r)
		err := checkRoute(pay, r)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}
