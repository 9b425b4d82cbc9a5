package pathfind

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/router/graph"
)

// MissionConfig tunes what MissionControl remembers and how it turns that
// into probabilities.
type MissionConfig struct {
	// HalfLife is how long it takes an observation to lose half its
	// weight.
	HalfLife time.Duration
	// AprioriHopProbability is the chance assumed for a channel nothing
	// is known about.
	AprioriHopProbability float64
	// AprioriWeight, between 0 and 1, is how much the a-priori estimate
	// counts against what was observed on the sending node's other
	// channels: 1 ignores those observations, a value near 0 trusts them
	// alone. Zero selects the default, as for every field.
	AprioriWeight float64
	// MaxPairs bounds the memory: past it, the pair with the oldest
	// observation is forgotten.
	MaxPairs int
}

// DefaultMissionConfig returns the configuration used for zero fields.
func DefaultMissionConfig() MissionConfig {
	return MissionConfig{
		HalfLife:              time.Hour,
		AprioriHopProbability: 0.6,
		AprioriWeight:         0.5,
		MaxPairs:              100_000,
	}
}

// Pair is a directed pair of nodes: from forwards to to. Outcomes are kept
// per pair rather than per channel because a forwarding node may use any
// of its channels to the next node.
type Pair struct {
	From, To graph.NodeID
}

// pairHistory is what is known about one pair. An amount at or above
// failAmt failed at failTime; an amount at or below successAmt went
// through at successTime. Times are UNIX nanoseconds, zero for never.
type pairHistory struct {
	failAmt     lnwire.MilliSatoshi
	failTime    int64
	successAmt  lnwire.MilliSatoshi
	successTime int64
}

// MissionControl records the outcome of payment attempts and estimates
// the success probability of future ones. It is safe for concurrent use.
type MissionControl struct {
	cfg MissionConfig

	mu    sync.RWMutex
	pairs map[Pair]*pairHistory
	// byFrom indexes pairs by sending node, for the node-level estimate.
	byFrom map[graph.NodeID][]graph.NodeID
}

// NewMissionControl returns an empty mission control; zero fields of cfg
// take their defaults.
func NewMissionControl(cfg MissionConfig) *MissionControl {
	def := DefaultMissionConfig()
	if cfg.HalfLife <= 0 {
		cfg.HalfLife = def.HalfLife
	}
	if cfg.AprioriHopProbability <= 0 || cfg.AprioriHopProbability > 1 {
		cfg.AprioriHopProbability = def.AprioriHopProbability
	}
	if cfg.AprioriWeight <= 0 || cfg.AprioriWeight > 1 {
		cfg.AprioriWeight = def.AprioriWeight
	}
	if cfg.MaxPairs <= 0 {
		cfg.MaxPairs = def.MaxPairs
	}
	return &MissionControl{
		cfg:    cfg,
		pairs:  make(map[Pair]*pairHistory),
		byFrom: make(map[graph.NodeID][]graph.NodeID),
	}
}

func (m *MissionControl) entry(p Pair) *pairHistory {
	h, ok := m.pairs[p]
	if !ok {
		if len(m.pairs) >= m.cfg.MaxPairs {
			m.evictOldest()
		}
		h = &pairHistory{}
		m.pairs[p] = h
		m.byFrom[p.From] = append(m.byFrom[p.From], p.To)
	}
	return h
}

// evictOldest forgets the pair whose last observation is oldest. It is a
// linear scan, acceptable because it runs only when the bound is reached.
func (m *MissionControl) evictOldest() {
	var oldest Pair
	best := int64(math.MaxInt64)
	for p, h := range m.pairs {
		if t := max(h.failTime, h.successTime); t < best {
			best, oldest = t, p
		}
	}
	m.forget(oldest)
}

func (m *MissionControl) forget(p Pair) {
	delete(m.pairs, p)
	tos := m.byFrom[p.From]
	for i, to := range tos {
		if to == p.To {
			tos[i] = tos[len(tos)-1]
			tos = tos[:len(tos)-1]
			break
		}
	}
	if len(tos) == 0 {
		delete(m.byFrom, p.From)
	} else {
		m.byFrom[p.From] = tos
	}
}

// RecordSuccess notes that from forwarded amt to to.
func (m *MissionControl) RecordSuccess(from, to graph.NodeID, amt lnwire.MilliSatoshi, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	h := m.entry(Pair{from, to})
	h.successAmt, h.successTime = amt, now.UnixNano()
	// A success at or above the last failure amount means that failure
	// no longer describes the channel.
	if h.failTime != 0 && h.failAmt <= amt {
		h.failAmt, h.failTime = 0, 0
	}
}

// RecordFailure notes that from could not forward amt to to. A failure
// that does not depend on the amount (the channel is disabled, the next
// node is offline) is recorded with amt zero, making every amount
// unlikely.
func (m *MissionControl) RecordFailure(from, to graph.NodeID, amt lnwire.MilliSatoshi, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	h := m.entry(Pair{from, to})
	h.failAmt, h.failTime = amt, now.UnixNano()
	if h.successTime != 0 && h.successAmt >= amt {
		if amt == 0 {
			h.successAmt, h.successTime = 0, 0
		} else {
			h.successAmt = amt - 1
		}
	}
}

// ReportRoute records the outcome of a payment attempt over route. With
// failedHop < 0 the payment succeeded and every hop is a success. With
// failedHop = i, the channel of route.Hops[i] failed and the hops before
// it forwarded; amountIndependent tells whether the failure holds for
// every amount. A failure at the payee itself (failedHop past the last
// hop) records only the successes.
func (m *MissionControl) ReportRoute(route *Route, failedHop int, amountIndependent bool, src graph.NodeID, now time.Time) {
	from := src
	for i, h := range route.Hops {
		switch {
		case failedHop >= 0 && i == failedHop:
			amt := h.AmountMsat
			if amountIndependent {
				amt = 0
			}
			m.RecordFailure(from, h.NodeID, amt, now)
			return
		default:
			m.RecordSuccess(from, h.NodeID, h.AmountMsat, now)
		}
		from = h.NodeID
	}
}

// Reset forgets everything.
func (m *MissionControl) Reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pairs = make(map[Pair]*pairHistory)
	m.byFrom = make(map[graph.NodeID][]graph.NodeID)
}

// weight returns how much an observation made at t still counts at now,
// halving every half-life.
func (m *MissionControl) weight(t, now int64) float64 {
	if t == 0 {
		return 0
	}
	age := float64(now - t)
	if age < 0 {
		age = 0 // clock moved back: treat as fresh
	}
	return math.Exp2(-age / float64(m.cfg.HalfLife))
}

// Estimator returns a ProbabilitySource that evaluates the history at now.
// It caches per-node tallies, so use one per route search; it is not safe
// for concurrent use.
func (m *MissionControl) Estimator(now time.Time) *Estimator {
	return &Estimator{m: m, now: now.UnixNano(), totals: map[graph.NodeID]nodeTotals{}}
}

// Estimator evaluates MissionControl's history at one point in time.
type Estimator struct {
	m      *MissionControl
	now    int64
	totals map[graph.NodeID]nodeTotals
}

var _ ProbabilitySource = (*Estimator)(nil)

// EdgeProbability estimates the chance that from forwards amt to to.
//
// The base is a per-node estimate: the a-priori probability blended, by
// AprioriWeight, with the outcomes seen on the node's other pairs, each
// weighted by its age. A channel's capacity scales it down as amt nears
// the capacity. Then the pair's own history overrides: after a failure at
// A, amounts from A up are unlikely; after a success at A, amounts up to A
// are likely; both fade back to the base with the half-life.
func (e *Estimator) EdgeProbability(from, to graph.NodeID, amt, capacity lnwire.MilliSatoshi) float64 {
	m := e.m
	m.mu.RLock()
	defer m.mu.RUnlock()
	h := m.pairs[Pair{from, to}]
	p := e.nodeProbability(from, h) * CapacityFactor(amt, capacity)
	if h == nil || p == 0 && capacity != 0 && amt > capacity {
		return p
	}
	if h.failTime != 0 && amt >= h.failAmt {
		p *= 1 - m.weight(h.failTime, e.now)
	}
	if h.successTime != 0 && amt <= h.successAmt {
		p += (1 - p) * m.weight(h.successTime, e.now)
	}
	return p
}

// NodeEstimate returns the estimate for a channel of from without history
// of its own, and whether some pair from from has such history.
func (e *Estimator) NodeEstimate(from graph.NodeID) (base float64, specific bool) {
	m := e.m
	m.mu.RLock()
	defer m.mu.RUnlock()
	_, specific = m.byFrom[from]
	return e.nodeProbability(from, nil), specific
}

// nodeTotals is the age-weighted tally of a node's observations.
type nodeTotals struct {
	weight, successes float64
}

func (m *MissionControl) pairTotals(h *pairHistory, now int64) nodeTotals {
	var t nodeTotals
	if w := m.weight(h.successTime, now); w > 0 {
		t.weight += w
		t.successes += w
	}
	if w := m.weight(h.failTime, now); w > 0 {
		t.weight += w
	}
	return t
}

// nodeProbability is the base estimate for a channel of node from,
// leaving out the pair's own history self (nil if none), which its
// amount-aware rules already cover: a failure at a large amount must not
// lower the estimate for a small one. The caller holds the read lock.
func (e *Estimator) nodeProbability(from graph.NodeID, self *pairHistory) float64 {
	m := e.m
	apriori := m.cfg.AprioriHopProbability
	tos, ok := m.byFrom[from]
	if !ok || m.cfg.AprioriWeight == 1 {
		return apriori
	}
	tot, ok := e.totals[from]
	if !ok {
		for _, to := range tos {
			t := m.pairTotals(m.pairs[Pair{from, to}], e.now)
			tot.weight += t.weight
			tot.successes += t.successes
		}
		e.totals[from] = tot
	}
	if self != nil {
		t := m.pairTotals(self, e.now)
		tot.weight -= t.weight
		tot.successes -= t.successes
	}
	// The a-priori estimate enters as one pseudo-observation, so that
	// the average returns to it as real observations fade.
	observed := (apriori + tot.successes) / (1 + tot.weight)
	return m.cfg.AprioriWeight*apriori + (1-m.cfg.AprioriWeight)*observed
}

// snapshotVersion is the first byte of Marshal's output.
const snapshotVersion = 1

const pairRecordSize = 33 + 33 + 8 + 8 + 8 + 8

// ErrBadSnapshot is returned by Unmarshal for data Marshal did not write.
var ErrBadSnapshot = errors.New("malformed mission control snapshot")

// Marshal returns the history in a compact binary form, for the daemon to
// store and give back to Unmarshal after a restart.
func (m *MissionControl) Marshal() []byte {
	m.mu.RLock()
	defer m.mu.RUnlock()
	b := make([]byte, 0, 5+len(m.pairs)*pairRecordSize)
	b = append(b, snapshotVersion)
	b = binary.BigEndian.AppendUint32(b, uint32(len(m.pairs)))
	for p, h := range m.pairs {
		b = append(b, p.From[:]...)
		b = append(b, p.To[:]...)
		b = binary.BigEndian.AppendUint64(b, uint64(h.failAmt))
		b = binary.BigEndian.AppendUint64(b, uint64(h.failTime))
		b = binary.BigEndian.AppendUint64(b, uint64(h.successAmt))
		b = binary.BigEndian.AppendUint64(b, uint64(h.successTime))
	}
	return b
}

// Unmarshal replaces the history with a snapshot from Marshal. On error
// the history is left unchanged.
func (m *MissionControl) Unmarshal(b []byte) error {
	if len(b) < 5 || b[0] != snapshotVersion {
		return fmt.Errorf("%w: bad header", ErrBadSnapshot)
	}
	n := binary.BigEndian.Uint32(b[1:])
	b = b[5:]
	if uint64(len(b)) != uint64(n)*pairRecordSize {
		return fmt.Errorf("%w: %d bytes for %d pairs", ErrBadSnapshot, len(b), n)
	}
	pairs := make(map[Pair]*pairHistory, n)
	byFrom := make(map[graph.NodeID][]graph.NodeID)
	for ; len(b) > 0; b = b[pairRecordSize:] {
		var p Pair
		copy(p.From[:], b)
		copy(p.To[:], b[33:])
		if _, dup := pairs[p]; dup {
			return fmt.Errorf("%w: duplicate pair", ErrBadSnapshot)
		}
		pairs[p] = &pairHistory{
			failAmt:     lnwire.MilliSatoshi(binary.BigEndian.Uint64(b[66:])),
			failTime:    int64(binary.BigEndian.Uint64(b[74:])),
			successAmt:  lnwire.MilliSatoshi(binary.BigEndian.Uint64(b[82:])),
			successTime: int64(binary.BigEndian.Uint64(b[90:])),
		}
		byFrom[p.From] = append(byFrom[p.From], p.To)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pairs, m.byFrom = pairs, byFrom
	return nil
}
