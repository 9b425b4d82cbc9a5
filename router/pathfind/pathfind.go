package pathfind

import (
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/router/graph"
)

// Limits and defaults of a route search.
const (
	// MaxHops is the longest route: BOLT 4 fits about 20 hop payloads of
	// ordinary size in the 1300-byte onion.
	MaxHops = 20
	// DefaultCltvLimit bounds the payer's total time lock when the
	// request sets none: two weeks of blocks, the usual ceiling beyond
	// which forwarding nodes refuse an HTLC.
	DefaultCltvLimit = 2016
)

// ErrNoRoute is returned when no route satisfies the request. The
// message says which constraint was binding when that is known.
var ErrNoRoute = errors.New("no route")

// HopHint is one hop of a BOLT 11 route hint: a channel, usually private,
// from NodeID towards the payee, with the policy of NodeID for it.
type HopHint struct {
	NodeID                    graph.NodeID
	ShortChannelID            lnwire.ShortChannelID
	FeeBaseMsat               uint32
	FeeProportionalMillionths uint32
	CltvExpiryDelta           uint16
}

// DirectedChannel names one direction of a channel by its sending node.
type DirectedChannel struct {
	ShortChannelID lnwire.ShortChannelID
	From           graph.NodeID
}

// ProbabilitySource estimates the chance that a node can forward an
// amount to another. Estimator implements it from MissionControl's
// history.
//
// The search asks NodeEstimate once per node and, for a node without
// pair-specific history, derives each channel's probability as
// base * CapacityFactor(amt, capacity) without further calls; this keeps
// the per-channel cost of the search down to arithmetic.
type ProbabilitySource interface {
	// NodeEstimate returns the probability for a channel of from about
	// which nothing specific is known, before the capacity factor, and
	// whether some pair from this node has history of its own.
	NodeEstimate(from graph.NodeID) (base float64, specific bool)
	// EdgeProbability estimates the chance that from forwards amt to to
	// over a channel of the given capacity (zero when unknown).
	EdgeProbability(from, to graph.NodeID, amt, capacity lnwire.MilliSatoshi) float64
}

// CapacityFactor scales a probability down as amt nears the capacity:
// a channel's balance is unknown, and a large share of the capacity is
// less likely to sit on the sending side. It is 1 for an unknown (zero)
// capacity and 0 above the capacity.
func CapacityFactor(amt, capacity lnwire.MilliSatoshi) float64 {
	if capacity == 0 {
		return 1
	}
	if amt > capacity {
		return 0
	}
	const (
		cutoff = 0.75 // half as likely at 75% of the capacity
		spread = 0.1
	)
	return 1 / (1 + math.Exp((float64(amt)/float64(capacity)-cutoff)/spread))
}

// CostConfig weighs fees against time-lock risk and success probability.
// The zero value selects DefaultCostConfig.
type CostConfig struct {
	// RiskFactorBillionths prices the time lock: each block an amount
	// is locked costs amount * RiskFactorBillionths / 1e9 msat.
	RiskFactorBillionths uint64
	// AttemptCostMsat and AttemptCostPPM price a failed attempt; a route
	// with success probability p costs attempt/p on top of its fees, so
	// a likelier route may win over a cheaper one.
	AttemptCostMsat uint64
	AttemptCostPPM  uint64
	// MinProbability drops routes less likely than this.
	MinProbability float64
}

// DefaultCostConfig returns the weights used when a request sets none.
func DefaultCostConfig() CostConfig {
	return CostConfig{
		RiskFactorBillionths: 15,
		AttemptCostMsat:      100_000,
		AttemptCostPPM:       1_000,
		MinProbability:       0.01,
	}
}

// Request describes a payment to route.
type Request struct {
	Source graph.NodeID
	Target graph.NodeID
	// Amount is what the payee must receive.
	Amount lnwire.MilliSatoshi
	// CurrentHeight is the chain tip: expiries are absolute heights.
	CurrentHeight uint32
	// FinalCltvDelta is the payee's min_final_cltv_expiry_delta.
	FinalCltvDelta uint16
	// FeeLimit is the most the payer will pay in fees; zero allows only
	// fee-free routes, such as a direct channel.
	FeeLimit lnwire.MilliSatoshi
	// CltvLimit bounds TotalCLTV - CurrentHeight; zero means
	// DefaultCltvLimit.
	CltvLimit uint32
	// MaxHops bounds the number of channels; zero means MaxHops.
	MaxHops int
	// LocalBalances, when not nil, holds what the payer can send now on
	// each of its channels; a payer channel missing from it is not used.
	// It replaces the capacity and policy of the payer's own channels.
	LocalBalances map[lnwire.ShortChannelID]lnwire.MilliSatoshi
	// RouteHints are the invoice's hints: extra channels near the payee.
	RouteHints [][]HopHint
	// ExcludedNodes and ExcludedChannels are never used.
	ExcludedNodes    map[graph.NodeID]bool
	ExcludedChannels map[DirectedChannel]bool
	// SupportedFeatures, when set, are the feature bits the payer
	// understands: a forwarding node that announces a required bit
	// outside them is avoided, as BOLT 7 asks.
	SupportedFeatures *lnwire.FeatureVector
	// Probability estimates each channel's success; nil treats every
	// usable channel as certain, leaving fees and time locks to decide.
	Probability ProbabilitySource
	// Cost weighs the terms of the search; zero means the defaults.
	Cost CostConfig
}

// vertex is a node's label in the search: the cheapest known way from it
// to the payee.
type vertex struct {
	key  float64 // cost plus the attempt cost at this probability
	cost float64 // fees and time-lock penalties from here on
	prob float64
	amt  uint64 // amount of the HTLC arriving at this node
	cltv uint32 // expiry of that HTLC, relative to the current height
	hops uint8
	done bool
	seen bool
	next int32  // next vertex towards the payee, -1 at the payee
	scid uint64 // channel to next
}

// searchBuffers are the per-query arrays, recycled between searches:
// they are as long as the graph has nodes, and clearing one costs less
// than allocating it and collecting it afterwards.
type searchBuffers struct {
	v     []vertex
	probs []nodeEstimate
	keys  []float64
	vs    []int32
}

var bufPool = sync.Pool{New: func() any { return new(searchBuffers) }}

// grow returns s cleared and resized to n.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	s = s[:n]
	clear(s)
	return s
}

// release returns the buffers to the pool; s must not be used after.
func (s *search) release() {
	b := s.buf
	b.v, b.keys, b.vs = s.v, s.heap.keys, s.heap.vs
	if s.probs != nil {
		b.probs = s.probs
	}
	bufPool.Put(b)
	s.buf = nil
}

// nodeEstimate caches ProbabilitySource.NodeEstimate per vertex.
type nodeEstimate struct {
	base     float64
	specific bool
	state    uint8 // 0: not asked yet
}

// extraEdge is a channel not in the graph, from a route hint.
type extraEdge struct {
	from   int32
	scid   uint64
	policy graph.Policy
}

// search holds one query's state.
type search struct {
	req       *Request
	r         graph.Reader
	cfg       CostConfig
	src, dst  int32
	bound     int32 // first virtual vertex index
	virtual   []graph.NodeID
	extra     map[int32][]extraEdge
	buf       *searchBuffers
	v         []vertex
	probs     []nodeEstimate
	featState map[int32]bool
	heap      vheap
	attempt   float64
	cltvLimit uint32
	maxHops   int
}

// FindRoute returns the cheapest route for req in g, by the cost of
// req.Cost.
func FindRoute(g *graph.Graph, req *Request) (*Route, error) {
	if req.Amount == 0 {
		return nil, errors.New("find route: zero amount")
	}
	if req.Source == req.Target {
		return nil, errors.New("find route: payer and payee are the same node")
	}
	var (
		route *Route
		err   error
	)
	g.Read(func(r graph.Reader) {
		s := newSearch(r, req)
		route, err = s.run()
		s.release()
	})
	if err != nil {
		return nil, fmt.Errorf("find route to %v for %v: %w", req.Target, req.Amount, err)
	}
	return route, nil
}

func newSearch(r graph.Reader, req *Request) *search {
	s := &search{req: req, r: r, cfg: req.Cost, extra: map[int32][]extraEdge{}}
	if s.cfg == (CostConfig{}) {
		s.cfg = DefaultCostConfig()
	}
	s.cltvLimit = req.CltvLimit
	if s.cltvLimit == 0 {
		s.cltvLimit = DefaultCltvLimit
	}
	s.maxHops = req.MaxHops
	if s.maxHops <= 0 || s.maxHops > MaxHops {
		s.maxHops = MaxHops
	}
	s.attempt = float64(s.cfg.AttemptCostMsat) +
		float64(req.Amount)*float64(s.cfg.AttemptCostPPM)/1e6
	s.bound = int32(r.NodeIndexBound())
	s.src = s.vertexOf(req.Source)
	s.dst = s.vertexOf(req.Target)
	for _, hint := range req.RouteHints {
		for i, h := range hint {
			to := s.dst
			if i+1 < len(hint) {
				to = s.vertexOf(hint[i+1].NodeID)
			}
			s.extra[to] = append(s.extra[to], extraEdge{
				from: s.vertexOf(h.NodeID),
				scid: h.ShortChannelID.ToUint64(),
				policy: graph.Policy{
					Timestamp:       1,
					FeeBaseMsat:     h.FeeBaseMsat,
					FeeRatePPM:      h.FeeProportionalMillionths,
					CltvExpiryDelta: h.CltvExpiryDelta,
					HTLCMaximumMsat: math.MaxUint64,
				},
			})
		}
	}
	n := int(s.bound) + len(s.virtual)
	buf := bufPool.Get().(*searchBuffers)
	s.buf = buf
	s.v = grow(buf.v, n)
	if req.Probability != nil {
		s.probs = grow(buf.probs, n)
	}
	s.heap = vheap{keys: buf.keys[:0], vs: buf.vs[:0]}
	return s
}

// vertexOf maps a node to its vertex: its graph index, or a virtual index
// past the graph's for a node known only from route hints.
func (s *search) vertexOf(id graph.NodeID) int32 {
	if ni, ok := s.r.Lookup(id); ok {
		return int32(ni)
	}
	for i, v := range s.virtual {
		if v == id {
			return s.bound + int32(i)
		}
	}
	s.virtual = append(s.virtual, id)
	return s.bound + int32(len(s.virtual)-1)
}

func (s *search) nodeID(v int32) graph.NodeID {
	if v >= s.bound {
		return s.virtual[v-s.bound]
	}
	return s.r.NodeID(graph.NodeIndex(v))
}

func (s *search) run() (*Route, error) {
	// The payee's label: it receives exactly the amount, with the final
	// expiry delta.
	finalCltv := uint32(s.req.FinalCltvDelta)
	if finalCltv > s.cltvLimit {
		return nil, fmt.Errorf("%w: final cltv delta %d exceeds the limit %d", ErrNoRoute, finalCltv, s.cltvLimit)
	}
	if err := s.precheck(); err != nil {
		return nil, err
	}
	s.v[s.dst] = vertex{
		key: s.attempt, prob: 1, amt: uint64(s.req.Amount), cltv: finalCltv,
		next: -1, seen: true,
	}
	s.heap.push(s.attempt, s.dst)
	for s.heap.len() > 0 {
		key, v := s.heap.pop()
		lv := &s.v[v]
		if lv.done || key > lv.key {
			continue // a stale queue entry
		}
		lv.done = true
		if v == s.src {
			return s.route(), nil
		}
		if int(lv.hops) >= s.maxHops {
			continue
		}
		if v < s.bound {
			for _, ci := range s.r.Channels(graph.NodeIndex(v)) {
				e := s.r.Edge(ci)
				var u int32
				var pol *graph.Policy
				if int32(e.Nodes[1]) == v {
					u, pol = int32(e.Nodes[0]), &e.Policies[0]
				} else {
					u, pol = int32(e.Nodes[1]), &e.Policies[1]
				}
				s.relax(u, v, e.SCID, pol, e.CapacityMsat)
			}
		}
		for i := range s.extra[v] {
			x := &s.extra[v][i]
			s.relax(x.from, v, x.scid, &x.policy, 0)
		}
	}
	return nil, fmt.Errorf("%w: no path satisfies the amount, fee, time-lock and hop limits", ErrNoRoute)
}

// precheck rejects at once the requests whose payer cannot send, or whose
// payee cannot receive, the amount over any single channel. Without it
// such a request would search the whole graph before failing.
func (s *search) precheck() error {
	amt := uint64(s.req.Amount)
	canSend := false
	if s.src < s.bound {
		for _, ci := range s.r.Channels(graph.NodeIndex(s.src)) {
			e := s.r.Edge(ci)
			limit := uint64(e.CapacityMsat)
			if s.req.LocalBalances != nil {
				bal, ok := s.req.LocalBalances[e.ShortChannelID()]
				if !ok {
					continue
				}
				limit = uint64(bal)
			}
			if limit >= amt {
				canSend = true
				break
			}
		}
	}
	for _, xs := range s.extra {
		for _, x := range xs {
			canSend = canSend || x.from == s.src
		}
	}
	if !canSend {
		return fmt.Errorf("%w: no channel of the payer can send the amount", ErrNoRoute)
	}
	if len(s.extra[s.dst]) > 0 {
		return nil
	}
	if s.dst < s.bound {
		for _, ci := range s.r.Channels(graph.NodeIndex(s.dst)) {
			e := s.r.Edge(ci)
			pol := &e.Policies[0]
			from := int32(e.Nodes[0])
			if int32(e.Nodes[0]) == s.dst {
				pol, from = &e.Policies[1], int32(e.Nodes[1])
			}
			if amt > uint64(e.CapacityMsat) {
				continue
			}
			if from == s.src || pol.Usable() && amt >= uint64(pol.HTLCMinimumMsat) &&
				amt <= uint64(pol.HTLCMaximumMsat) {
				return nil
			}
		}
	}
	return fmt.Errorf("%w: no channel can deliver the amount to the payee", ErrNoRoute)
}

// relax considers reaching the payee from u through the channel to v,
// whose label is final. capacity zero means unknown.
func (s *search) relax(u, v int32, scid uint64, pol *graph.Policy, capacity lnwire.MilliSatoshi) {
	lu := &s.v[u]
	if lu.done {
		return
	}
	lv := &s.v[v]
	amt := lv.amt
	var fee, delta uint64
	if u == s.src {
		limit := uint64(capacity)
		if capacity == 0 {
			limit = math.MaxUint64 // a hinted channel of the payer's own
		}
		if s.req.LocalBalances != nil {
			bal, ok := s.req.LocalBalances[lnwire.NewShortChanIDFromInt(scid)]
			if !ok {
				return
			}
			limit = uint64(bal)
		}
		if amt > limit {
			return
		}
	} else {
		if !pol.Usable() || amt < uint64(pol.HTLCMinimumMsat) ||
			amt > uint64(pol.HTLCMaximumMsat) || (capacity != 0 && amt > uint64(capacity)) {
			return
		}
		fee = uint64(pol.Fee(lnwire.MilliSatoshi(amt)))
		delta = uint64(pol.CltvExpiryDelta)
	}
	amtU := amt + fee
	if amtU < amt || amtU-uint64(s.req.Amount) > uint64(s.req.FeeLimit) {
		return
	}
	cltvU := uint64(lv.cltv) + delta
	if cltvU > uint64(s.cltvLimit) {
		return
	}
	if len(s.req.ExcludedNodes) > 0 && s.req.ExcludedNodes[s.nodeID(u)] {
		return
	}
	if s.req.SupportedFeatures != nil && u != s.src && !s.featuresOK(u) {
		return
	}
	if len(s.req.ExcludedChannels) > 0 && s.req.ExcludedChannels[DirectedChannel{
		ShortChannelID: lnwire.NewShortChanIDFromInt(scid), From: s.nodeID(u)}] {
		return
	}
	prob := lv.prob
	if u != s.src && s.req.Probability != nil {
		prob *= s.edgeProbability(u, v, lnwire.MilliSatoshi(amt), capacity)
		if prob < s.cfg.MinProbability {
			return
		}
	}
	cost := lv.cost + float64(fee) +
		float64(amtU)*float64(delta)*float64(s.cfg.RiskFactorBillionths)/1e9
	key := cost + s.attempt/prob
	if lu.seen && key >= lu.key {
		return
	}
	*lu = vertex{
		key: key, cost: cost, prob: prob, amt: amtU, cltv: uint32(cltvU),
		hops: lv.hops + 1, seen: true, next: v, scid: scid,
	}
	s.heap.push(key, u)
}

// featuresOK reports whether the payer understands every required
// feature node u announces, checking each node once per search.
func (s *search) featuresOK(u int32) bool {
	if u >= s.bound {
		return true // known only from a route hint: no announcement
	}
	if s.featState == nil {
		s.featState = make(map[int32]bool)
	}
	ok, done := s.featState[u]
	if !done {
		fv := s.r.NodeFeatures(graph.NodeIndex(u))
		ok = fv == nil || len(fv.UnknownRequired(s.req.SupportedFeatures)) == 0
		s.featState[u] = ok
	}
	return ok
}

// edgeProbability asks the probability source, once per sending node for
// nodes without pair history.
func (s *search) edgeProbability(u, v int32, amt, capacity lnwire.MilliSatoshi) float64 {
	pe := &s.probs[u]
	if pe.state == 0 {
		pe.base, pe.specific = s.req.Probability.NodeEstimate(s.nodeID(u))
		pe.state = 1
	}
	if pe.specific {
		return s.req.Probability.EdgeProbability(s.nodeID(u), s.nodeID(v), amt, capacity)
	}
	return pe.base * CapacityFactor(amt, capacity)
}

// route follows the labels from the payer to the payee.
func (s *search) route() *Route {
	h := s.req.CurrentHeight
	src := &s.v[s.src]
	rt := &Route{
		TotalAmount: lnwire.MilliSatoshi(src.amt),
		TotalFee:    lnwire.MilliSatoshi(src.amt) - s.req.Amount,
		TotalCLTV:   h + src.cltv,
		Probability: src.prob,
	}
	for u := s.src; u != s.dst; {
		lu := &s.v[u]
		v := lu.next
		lv := &s.v[v]
		hop := Hop{
			NodeID:         s.nodeID(v),
			ShortChannelID: lnwire.NewShortChanIDFromInt(lu.scid),
			AmountMsat:     lnwire.MilliSatoshi(lv.amt),
			Expiry:         h + lv.cltv,
		}
		if v == s.dst {
			hop.AmountToForward, hop.OutgoingCLTV = hop.AmountMsat, hop.Expiry
		} else {
			nv := &s.v[lv.next]
			hop.AmountToForward = lnwire.MilliSatoshi(nv.amt)
			hop.OutgoingCLTV = h + nv.cltv
		}
		hop.Fee = hop.AmountMsat - hop.AmountToForward
		hop.CltvDelta = uint16(hop.Expiry - hop.OutgoingCLTV)
		rt.Hops = append(rt.Hops, hop)
		u = v
	}
	return rt
}

// vheap is a binary min-heap of vertices by key. Entries are never
// updated in place: a better label pushes a new entry and the stale one
// is skipped when popped.
type vheap struct {
	keys []float64
	vs   []int32
}

func (h *vheap) len() int { return len(h.vs) }

func (h *vheap) push(key float64, v int32) {
	h.keys = append(h.keys, key)
	h.vs = append(h.vs, v)
	i := len(h.vs) - 1
	for i > 0 {
		p := (i - 1) / 2
		if h.keys[p] <= h.keys[i] {
			break
		}
		h.swap(i, p)
		i = p
	}
}

func (h *vheap) pop() (float64, int32) {
	key, v := h.keys[0], h.vs[0]
	n := len(h.vs) - 1
	h.swap(0, n)
	h.keys, h.vs = h.keys[:n], h.vs[:n]
	for i := 0; ; {
		l, m := 2*i+1, i
		if l < n && h.keys[l] < h.keys[m] {
			m = l
		}
		if l+1 < n && h.keys[l+1] < h.keys[m] {
			m = l + 1
		}
		if m == i {
			break
		}
		h.swap(i, m)
		i = m
	}
	return key, v
}

func (h *vheap) swap(i, j int) {
	h.keys[i], h.keys[j] = h.keys[j], h.keys[i]
	h.vs[i], h.vs[j] = h.vs[j], h.vs[i]
}
