package pathfind

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/wire"
	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/router/gossip"
	"github.com/flash-ln/flash/router/graph"
)

func testNode(t testing.TB, n byte) graph.NodeID {
	t.Helper()
	var b [32]byte
	b[0], b[31] = 0x33, n
	k, _ := btcec.PrivKeyFromBytes(b[:])
	return gossip.NewNodeID(k.PubKey())
}

func sc(h uint32) lnwire.ShortChannelID { return lnwire.ShortChannelID{BlockHeight: h, TxIndex: 1} }

// chanSpec is one channel of a test graph; the policy is that of from
// (what from charges to forward towards to), the reverse gets rev.
type chanSpec struct {
	scid     uint32
	from, to graph.NodeID
	capSat   int64
	pol, rev graph.Policy
}

func pol(base, ppm uint32, delta uint16) graph.Policy {
	return graph.Policy{
		Timestamp: 1, FeeBaseMsat: base, FeeRatePPM: ppm, CltvExpiryDelta: delta,
		HTLCMinimumMsat: 1, HTLCMaximumMsat: 1_000_000_000_000,
	}
}

func buildGraph(t testing.TB, specs []chanSpec) *graph.Graph {
	t.Helper()
	g := graph.New(nil)
	for _, s := range specs {
		ann := gossip.NewChannelAnnouncement(lnwire.ChainHash{}, sc(s.scid), nil, s.from, s.to, s.from, s.to)
		if err := g.AddChannel(ann, gossip.Funding{OutPoint: wire.OutPoint{Index: s.scid}, Capacity: s.capSat}); err != nil {
			t.Fatal(err)
		}
		for i, p := range []graph.Policy{s.pol, s.rev} {
			from := s.from
			if i == 1 {
				from = s.to
			}
			if p.Timestamp == 0 {
				continue
			}
			applyPolicy(t, g, sc(s.scid), from, p)
		}
	}
	return g
}

func applyPolicy(t testing.TB, g *graph.Graph, scid lnwire.ShortChannelID, from graph.NodeID, p graph.Policy) {
	t.Helper()
	n1, _, ok := g.ChannelNodes(scid)
	if !ok {
		t.Fatalf("no channel %v", scid)
	}
	var flags gossip.ChannelFlags
	if from != n1 {
		flags |= gossip.ChanFlagDirection
	}
	if p.Disabled {
		flags |= gossip.ChanFlagDisabled
	}
	u := &gossip.ChannelUpdate{
		ShortChannelID: scid, Timestamp: p.Timestamp, ChannelFlags: flags,
		MessageFlags: gossip.MsgFlagMustBeOne, CltvExpiryDelta: p.CltvExpiryDelta,
		HTLCMinimumMsat: p.HTLCMinimumMsat, FeeBaseMsat: p.FeeBaseMsat,
		FeeProportionalMillionths: p.FeeRatePPM, HTLCMaximumMsat: p.HTLCMaximumMsat,
	}
	if err := g.ApplyChannelUpdate(u); err != nil {
		t.Fatal(err)
	}
}

// The five-node network of the tests: S pays T either through A (one
// expensive hop) or through B and C (two cheap hops).
//
//	S --100-- A --101-- T
//	S --102-- B --103-- C --104-- T
type fiveNodes struct {
	S, A, B, C, T graph.NodeID
	specs         []chanSpec
}

func newFiveNodes(t testing.TB) *fiveNodes {
	n := &fiveNodes{S: testNode(t, 1), A: testNode(t, 2), B: testNode(t, 3), C: testNode(t, 4), T: testNode(t, 5)}
	n.specs = []chanSpec{
		{100, n.S, n.A, 1_000_000, pol(0, 0, 144), pol(1000, 1, 40)},
		{101, n.A, n.T, 1_000_000, pol(200_000, 1000, 40), pol(1000, 1, 40)},
		{102, n.S, n.B, 1_000_000, pol(0, 0, 144), pol(1000, 1, 40)},
		{103, n.B, n.C, 1_000_000, pol(100, 100, 30), pol(1000, 1, 40)},
		{104, n.C, n.T, 1_000_000, pol(100, 100, 20), pol(1000, 1, 40)},
	}
	return n
}

func (n *fiveNodes) request() *Request {
	return &Request{
		Source: n.S, Target: n.T, Amount: 1_000_000, CurrentHeight: 1000,
		FinalCltvDelta: 18, FeeLimit: 1_000_000,
	}
}

// Hand-computed route over B and C for 1,000,000 msat at height 1000 with
// final delta 18: C charges 100 + 1,000,000*100/1e6 = 200 and adds 20
// blocks; B charges 100 + floor(1,000,200*100/1e6) = 200 and adds 30.
func (n *fiveNodes) cheapRoute() []Hop {
	return []Hop{
		{NodeID: n.B, ShortChannelID: sc(102), AmountMsat: 1_000_400, Expiry: 1068,
			AmountToForward: 1_000_200, OutgoingCLTV: 1038, Fee: 200, CltvDelta: 30},
		{NodeID: n.C, ShortChannelID: sc(103), AmountMsat: 1_000_200, Expiry: 1038,
			AmountToForward: 1_000_000, OutgoingCLTV: 1018, Fee: 200, CltvDelta: 20},
		{NodeID: n.T, ShortChannelID: sc(104), AmountMsat: 1_000_000, Expiry: 1018,
			AmountToForward: 1_000_000, OutgoingCLTV: 1018},
	}
}

// Over A: A charges 200,000 + 1,000,000*1000/1e6 = 201,000 and adds 40.
func (n *fiveNodes) expensiveRoute() []Hop {
	return []Hop{
		{NodeID: n.A, ShortChannelID: sc(100), AmountMsat: 1_201_000, Expiry: 1058,
			AmountToForward: 1_000_000, OutgoingCLTV: 1018, Fee: 201_000, CltvDelta: 40},
		{NodeID: n.T, ShortChannelID: sc(101), AmountMsat: 1_000_000, Expiry: 1018,
			AmountToForward: 1_000_000, OutgoingCLTV: 1018},
	}
}

var testNow = time.Unix(1_700_000_000, 0)

func TestFindRoute(t *testing.T) {
	n := newFiveNodes(t)
	now := time.Unix(1_700_000_000, 0)
	hint := testNode(t, 9) // a private payee behind C

	tests := []struct {
		name   string
		change func(specs []chanSpec) // edits the graph before building
		req    func(r *Request)
		want   func() []Hop // nil: no route
	}{
		{"cheaper path", nil, nil, n.cheapRoute},
		{"disabled channel on it", func(s []chanSpec) { s[3].pol.Disabled = true }, nil, n.expensiveRoute},
		{"policy unknown", func(s []chanSpec) { s[4].pol = graph.Policy{} }, nil, n.expensiveRoute},
		{"fee limit exact", nil, func(r *Request) { r.FeeLimit = 400 }, n.cheapRoute},
		{"fee limit below", nil, func(r *Request) { r.FeeLimit = 399 }, nil},
		{"fee limit forbids the detour", func(s []chanSpec) { s[3].pol.Disabled = true },
			func(r *Request) { r.FeeLimit = 200_999 }, nil},
		{"cltv limit picks the shorter lock", nil, func(r *Request) { r.CltvLimit = 60 }, n.expensiveRoute},
		{"cltv limit exact", nil, func(r *Request) { r.CltvLimit = 68 }, n.cheapRoute},
		{"cltv limit below all", nil, func(r *Request) { r.CltvLimit = 57 }, nil},
		{"insufficient capacity", func(s []chanSpec) { s[3].capSat = 1000 }, nil, n.expensiveRoute},
		{"insufficient everywhere", nil, func(r *Request) { r.Amount = 2_000_000_000 }, nil},
		{"htlc maximum", func(s []chanSpec) { s[3].pol.HTLCMaximumMsat = 1_000_199 }, nil, n.expensiveRoute},
		{"htlc maximum exact", func(s []chanSpec) { s[3].pol.HTLCMaximumMsat = 1_000_200 }, nil, n.cheapRoute},
		{"htlc minimum", func(s []chanSpec) { s[4].pol.HTLCMinimumMsat = 1_000_001 }, nil, n.expensiveRoute},
		{"max below min", func(s []chanSpec) {
			s[4].pol.HTLCMinimumMsat, s[4].pol.HTLCMaximumMsat = 2_000_000, 1_000_000
		}, nil, n.expensiveRoute},
		{"local balance short", nil, func(r *Request) {
			r.LocalBalances = map[lnwire.ShortChannelID]lnwire.MilliSatoshi{sc(100): 2_000_000, sc(102): 1_000_399}
		}, n.expensiveRoute},
		{"local balance enough", nil, func(r *Request) {
			r.LocalBalances = map[lnwire.ShortChannelID]lnwire.MilliSatoshi{sc(100): 0, sc(102): 1_000_400}
		}, n.cheapRoute},
		{"no local channel usable", nil, func(r *Request) {
			r.LocalBalances = map[lnwire.ShortChannelID]lnwire.MilliSatoshi{}
		}, nil},
		{"excluded node", nil, func(r *Request) { r.ExcludedNodes = map[graph.NodeID]bool{n.C: true} }, n.expensiveRoute},
		{"excluded channel", nil, func(r *Request) {
			r.ExcludedChannels = map[DirectedChannel]bool{{ShortChannelID: sc(104), From: n.C}: true}
		}, n.expensiveRoute},
		{"excluded other direction", nil, func(r *Request) {
			r.ExcludedChannels = map[DirectedChannel]bool{{ShortChannelID: sc(104), From: n.T}: true}
		}, n.cheapRoute},
		{"max hops", nil, func(r *Request) { r.MaxHops = 2 }, n.expensiveRoute},
		{"failure reported over it", nil, func(r *Request) {
			mc := NewMissionControl(MissionConfig{})
			mc.RecordFailure(n.C, n.T, 1_000_000, now.Add(-time.Minute))
			r.Probability = mc.Estimator(now)
		}, n.expensiveRoute},
		{"failure at a larger amount", nil, func(r *Request) {
			mc := NewMissionControl(MissionConfig{})
			mc.RecordFailure(n.C, n.T, 5_000_000, now.Add(-time.Minute))
			r.Probability = mc.Estimator(now)
		}, n.cheapRoute},
		{"route hint to a private payee", nil, func(r *Request) {
			r.Target = hint
			r.RouteHints = [][]HopHint{{{NodeID: n.C, ShortChannelID: sc(200), FeeBaseMsat: 1000, CltvExpiryDelta: 10}}}
		}, func() []Hop {
			// C charges 1000 and 10 blocks; B then charges
			// 100 + floor(1,001,000*100/1e6) = 200 and 30 blocks.
			return []Hop{
				{NodeID: n.B, ShortChannelID: sc(102), AmountMsat: 1_001_200, Expiry: 1058,
					AmountToForward: 1_001_000, OutgoingCLTV: 1028, Fee: 200, CltvDelta: 30},
				{NodeID: n.C, ShortChannelID: sc(103), AmountMsat: 1_001_000, Expiry: 1028,
					AmountToForward: 1_000_000, OutgoingCLTV: 1018, Fee: 1000, CltvDelta: 10},
				{NodeID: hint, ShortChannelID: sc(200), AmountMsat: 1_000_000, Expiry: 1018,
					AmountToForward: 1_000_000, OutgoingCLTV: 1018},
			}
		}},
		{"two-hop route hint through unknown nodes", nil, func(r *Request) {
			x := testNode(t, 10)
			r.Target = hint
			r.RouteHints = [][]HopHint{{
				{NodeID: n.A, ShortChannelID: sc(300), FeeBaseMsat: 5, CltvExpiryDelta: 7},
				{NodeID: x, ShortChannelID: sc(301), FeeBaseMsat: 10, CltvExpiryDelta: 9},
			}}
		}, func() []Hop {
			x := testNode(t, 10)
			return []Hop{
				{NodeID: n.A, ShortChannelID: sc(100), AmountMsat: 1_000_015, Expiry: 1034,
					AmountToForward: 1_000_010, OutgoingCLTV: 1027, Fee: 5, CltvDelta: 7},
				{NodeID: x, ShortChannelID: sc(300), AmountMsat: 1_000_010, Expiry: 1027,
					AmountToForward: 1_000_000, OutgoingCLTV: 1018, Fee: 10, CltvDelta: 9},
				{NodeID: hint, ShortChannelID: sc(301), AmountMsat: 1_000_000, Expiry: 1018,
					AmountToForward: 1_000_000, OutgoingCLTV: 1018},
			}
		}},
		{"unknown payee without hints", nil, func(r *Request) { r.Target = hint }, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			specs := append([]chanSpec{}, n.specs...)
			if tc.change != nil {
				tc.change(specs)
			}
			g := buildGraph(t, specs)
			req := n.request()
			if tc.req != nil {
				tc.req(req)
			}
			route, err := FindRoute(g, req)
			if tc.want == nil {
				if !errors.Is(err, ErrNoRoute) {
					t.Fatalf("got route %v, err %v; want ErrNoRoute", route, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := tc.want()
			if !reflect.DeepEqual(route.Hops, want) {
				t.Fatalf("route\n got %+v\nwant %+v", route.Hops, want)
			}
			checkTotals(t, route, req)
		})
	}
}

// checkTotals verifies the route's invariants against its hops.
func checkTotals(t *testing.T, r *Route, req *Request) {
	t.Helper()
	first, last := r.Hops[0], r.Hops[len(r.Hops)-1]
	if r.TotalAmount != first.AmountMsat || r.TotalCLTV != first.Expiry {
		t.Fatalf("totals %d/%d, first hop %d/%d", r.TotalAmount, r.TotalCLTV, first.AmountMsat, first.Expiry)
	}
	if last.AmountToForward != req.Amount || last.OutgoingCLTV != req.CurrentHeight+uint32(req.FinalCltvDelta) {
		t.Fatalf("final hop %+v", last)
	}
	var fee lnwire.MilliSatoshi
	for i, h := range r.Hops {
		fee += h.Fee
		if i+1 < len(r.Hops) && (h.AmountToForward != r.Hops[i+1].AmountMsat || h.OutgoingCLTV != r.Hops[i+1].Expiry) {
			t.Fatalf("hop %d does not chain to the next", i)
		}
	}
	if fee != r.TotalFee || r.TotalAmount-r.TotalFee != req.Amount {
		t.Fatalf("fees %d, total fee %d", fee, r.TotalFee)
	}
}

func TestFindRouteRejectsBadRequests(t *testing.T) {
	n := newFiveNodes(t)
	g := buildGraph(t, n.specs)
	req := n.request()
	req.Amount = 0
	if _, err := FindRoute(g, req); err == nil {
		t.Fatal("zero amount routed")
	}
	req = n.request()
	req.Target = req.Source
	if _, err := FindRoute(g, req); err == nil {
		t.Fatal("self payment routed")
	}
}

// After a payment over the cheap route fails at C, the next search takes
// the other path; once the failure has faded, the cheap path returns.
func TestMissionControlSteersRoutes(t *testing.T) {
	n := newFiveNodes(t)
	g := buildGraph(t, n.specs)
	mc := NewMissionControl(MissionConfig{HalfLife: time.Hour})
	now := time.Unix(1_700_000_000, 0)
	req := n.request()
	req.Probability = mc.Estimator(now)
	r, err := FindRoute(g, req)
	if err != nil {
		t.Fatal(err)
	}
	if r.Hops[0].NodeID != n.B {
		t.Fatalf("first route via %v", r.Hops[0].NodeID)
	}
	mc.ReportRoute(r, 2, false, n.S, now) // C could not pay T
	req.Probability = mc.Estimator(now.Add(time.Second))
	r2, err := FindRoute(g, req)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(r2.Hops, n.expensiveRoute()) {
		t.Fatalf("after failure: %v", r2)
	}
	req.Probability = mc.Estimator(now.Add(24 * time.Hour))
	r3, err := FindRoute(g, req)
	if err != nil {
		t.Fatal(err)
	}
	if r3.Hops[0].NodeID != n.B {
		t.Fatalf("failure never faded: %v", r3)
	}
}

func lnwireMsat(v uint64) lnwire.MilliSatoshi { return lnwire.MilliSatoshi(v) }

func TestFindRouteAvoidsUnknownRequiredFeatures(t *testing.T) {
	n := newFiveNodes(t)
	g := buildGraph(t, n.specs)
	unknown := lnwire.NewFeatureVector(lnwire.FeatureBit(100), lnwire.VarOnionOptin)
	err := g.ApplyNodeAnnouncement(&gossip.NodeAnnouncement{NodeID: n.C, Timestamp: 1, RawFeatures: unknown.Bytes()})
	if err != nil {
		t.Fatal(err)
	}
	req := n.request()
	r, err := FindRoute(g, req)
	if err != nil || !reflect.DeepEqual(r.Hops, n.cheapRoute()) {
		t.Fatalf("without a feature check: %v %v", r, err)
	}
	req.SupportedFeatures = lnwire.NewFeatureVector(lnwire.VarOnionOptin.Optional())
	r, err = FindRoute(g, req)
	if err != nil || !reflect.DeepEqual(r.Hops, n.expensiveRoute()) {
		t.Fatalf("node with an unknown required feature used: %v %v", r, err)
	}
}
