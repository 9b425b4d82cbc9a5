package pathfind

import (
	"errors"
	"math/rand"
	"testing"

	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/router/graph"
	"github.com/flash-ln/flash/router/graph/graphtest"
)

// TestRoutesAreValid searches many random payments on random graphs and
// checks every route found against the graph: each channel joins the
// hops it claims to, carries the amount within its limits and policy, and
// the fees and expiries are exactly what the policies ask.
func TestRoutesAreValid(t *testing.T) {
	for seed := int64(1); seed <= 5; seed++ {
		syn := graphtest.ScaleFree(seed, 60, 180)
		g := graph.New(nil)
		if _, err := g.Apply(syn.Batch); err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewSource(seed))
		found := 0
		for i := 0; i < 400; i++ {
			src, dst := syn.Nodes[rng.Intn(len(syn.Nodes))], syn.Nodes[rng.Intn(len(syn.Nodes))]
			if src == dst {
				continue
			}
			req := &Request{
				Source: src, Target: dst,
				Amount:         lnwire.MilliSatoshi(rng.Int63n(500_000_000) + 1),
				CurrentHeight:  500_000,
				FinalCltvDelta: uint16(rng.Intn(100)),
				FeeLimit:       lnwire.MilliSatoshi(rng.Int63n(10_000_000)),
				CltvLimit:      uint32(rng.Intn(600)),
				MaxHops:        rng.Intn(8),
			}
			if rng.Intn(2) == 0 {
				req.Probability = NewMissionControl(MissionConfig{}).Estimator(testNow)
			}
			r, err := FindRoute(g, req)
			if errors.Is(err, ErrNoRoute) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			found++
			checkRoute(t, g, req, r)
		}
		t.Logf("seed %d: %d routes checked", seed, found)
		if found == 0 {
			t.Fatalf("seed %d: no route found at all", seed)
		}
	}
}

func checkRoute(t *testing.T, g *graph.Graph, req *Request, r *Route) {
	t.Helper()
	checkTotals(t, r, req)
	if r.TotalFee > req.FeeLimit {
		t.Fatalf("fee %d over the limit %d", r.TotalFee, req.FeeLimit)
	}
	limit := req.CltvLimit
	if limit == 0 {
		limit = DefaultCltvLimit
	}
	if r.TotalCLTV-req.CurrentHeight > limit {
		t.Fatalf("time lock %d over the limit %d", r.TotalCLTV-req.CurrentHeight, limit)
	}
	if req.MaxHops > 0 && len(r.Hops) > req.MaxHops {
		t.Fatalf("%d hops, limit %d", len(r.Hops), req.MaxHops)
	}
	from := req.Source
	for i, h := range r.Hops {
		ch, ok := g.Channel(h.ShortChannelID)
		if !ok {
			t.Fatalf("hop %d: unknown channel %v", i, h.ShortChannelID)
		}
		dir := 0
		switch {
		case ch.Node1 == from && ch.Node2 == h.NodeID:
		case ch.Node2 == from && ch.Node1 == h.NodeID:
			dir = 1
		default:
			t.Fatalf("hop %d: channel %v does not join the hops", i, h.ShortChannelID)
		}
		if uint64(h.AmountMsat) > uint64(ch.Capacity)*1000 {
			t.Fatalf("hop %d: %d over capacity %d sat", i, h.AmountMsat, ch.Capacity)
		}
		if i > 0 {
			// The previous hop's node forwards over this channel
			// under its policy.
			p := ch.Policies[dir]
			if !p.Usable() || h.AmountMsat < p.HTLCMinimumMsat || h.AmountMsat > p.HTLCMaximumMsat {
				t.Fatalf("hop %d: amount %d against policy %+v", i, h.AmountMsat, p)
			}
			prev := r.Hops[i-1]
			if prev.Fee != p.Fee(h.AmountMsat) || prev.CltvDelta != p.CltvExpiryDelta {
				t.Fatalf("hop %d: fee %d delta %d, policy asks %d and %d",
					i-1, prev.Fee, prev.CltvDelta, p.Fee(h.AmountMsat), p.CltvExpiryDelta)
			}
		}
		from = h.NodeID
	}
}
