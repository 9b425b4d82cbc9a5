package pathfind

import (
	"errors"
	"math"
	"testing"
	"time"
)

func TestMissionControlProbabilities(t *testing.T) {
	a, b, c := testNode(t, 1), testNode(t, 2), testNode(t, 3)
	t0 := time.Unix(1_700_000_000, 0)
	hour := time.Hour
	const capacity = 0 // unknown: no capacity factor

	type probe struct {
		at   time.Duration
		amt  uint64
		want float64
	}
	tests := []struct {
		name   string
		record func(m *MissionControl)
		probes []probe
	}{
		{"nothing known", func(*MissionControl) {}, []probe{{0, 1, 0.6}, {0, 1e12, 0.6}}},
		{"failure makes larger amounts unlikely", func(m *MissionControl) {
			m.RecordFailure(a, b, 1000, t0)
		}, []probe{
			{0, 1000, 0}, {0, 5000, 0},
			{0, 999, 0.6},     // below the failure: the prior
			{hour, 1000, 0.3}, // half faded
			{2 * hour, 2000, 0.45},
		}},
		{"success makes smaller amounts likely", func(m *MissionControl) {
			m.RecordSuccess(a, b, 1000, t0)
		}, []probe{
			{0, 1000, 1}, {0, 1, 1},
			{0, 1001, 0.6}, // above: the prior; the pair's own success says nothing
			{hour, 500, 0.6 + 0.4*0.5},
		}},
		{"success above a failure clears it", func(m *MissionControl) {
			m.RecordFailure(a, b, 1000, t0)
			m.RecordSuccess(a, b, 3000, t0)
		}, []probe{{0, 2000, 1}, {0, 3001, 0.6}}},
		{"failure below a success caps it", func(m *MissionControl) {
			m.RecordSuccess(a, b, 3000, t0)
			m.RecordFailure(a, b, 1000, t0)
		}, []probe{{0, 999, 1}, {0, 2000, 0}}},
		{"amount-independent failure", func(m *MissionControl) {
			m.RecordSuccess(a, b, 3000, t0)
			m.RecordFailure(a, b, 0, t0)
		}, []probe{{0, 1, 0}, {0, 3000, 0}}},
		{"other pairs of the node", func(m *MissionControl) {
			m.RecordFailure(a, c, 1, t0)
		}, []probe{
			// Prior 0.6 blended half and half with (0.6+0)/(1+1).
			{0, 1, 0.5*0.6 + 0.5*0.3},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMissionControl(MissionConfig{HalfLife: hour})
			tc.record(m)
			for _, p := range tc.probes {
				got := m.Estimator(t0.Add(p.at)).EdgeProbability(a, b, lnwireMsat(p.amt), capacity)
				if math.Abs(got-p.want) > 1e-9 {
					t.Errorf("after %v, amount %d: got %.4f, want %.4f", p.at, p.amt, got, p.want)
				}
			}
		})
	}
}

func TestCapacityFactor(t *testing.T) {
	m := NewMissionControl(MissionConfig{})
	e := m.Estimator(time.Unix(0, 0))
	a, b := testNode(t, 1), testNode(t, 2)
	small := e.EdgeProbability(a, b, 1000, 1_000_000_000)
	large := e.EdgeProbability(a, b, 900_000_000, 1_000_000_000)
	over := e.EdgeProbability(a, b, 1_000_000_001, 1_000_000_000)
	if !(small > 0.59 && large < 0.2 && over == 0) {
		t.Fatalf("small %.3f large %.3f over %.3f", small, large, over)
	}
}

func TestMissionControlSnapshot(t *testing.T) {
	a, b, c := testNode(t, 1), testNode(t, 2), testNode(t, 3)
	t0 := time.Unix(1_700_000_000, 0)
	m := NewMissionControl(MissionConfig{})
	m.RecordFailure(a, b, 1000, t0)
	m.RecordSuccess(b, c, 5000, t0)
	snap := m.Marshal()

	m2 := NewMissionControl(MissionConfig{})
	if err := m2.Unmarshal(snap); err != nil {
		t.Fatal(err)
	}
	for _, amt := range []uint64{1, 999, 1000, 5000, 6000} {
		for _, pr := range [][2]int{{1, 2}, {2, 3}, {1, 3}} {
			from, to := testNode(t, byte(pr[0])), testNode(t, byte(pr[1]))
			p1 := m.Estimator(t0).EdgeProbability(from, to, lnwireMsat(amt), 0)
			p2 := m2.Estimator(t0).EdgeProbability(from, to, lnwireMsat(amt), 0)
			if p1 != p2 {
				t.Fatalf("pair %v amount %d: %v before, %v after", pr, amt, p1, p2)
			}
		}
	}
	for _, bad := range [][]byte{nil, {2, 0, 0, 0, 0}, append(append([]byte{}, snap...), 0), snap[:len(snap)-1]} {
		if err := m2.Unmarshal(bad); !errors.Is(err, ErrBadSnapshot) {
			t.Fatalf("bad snapshot accepted: %v", err)
		}
	}
	dup := append(append([]byte{}, snap[:5]...), snap[5:5+pairRecordSize]...)
	dup = append(dup, snap[5:5+pairRecordSize]...)
	dup[4] = 2
	if err := m2.Unmarshal(dup); !errors.Is(err, ErrBadSnapshot) {
		t.Fatalf("duplicate pair accepted: %v", err)
	}
}

func TestMissionControlBounded(t *testing.T) {
	m := NewMissionControl(MissionConfig{MaxPairs: 3})
	t0 := time.Unix(1_700_000_000, 0)
	for i := 0; i < 10; i++ {
		m.RecordFailure(testNode(t, byte(i+1)), testNode(t, 100), 1, t0.Add(time.Duration(i)*time.Second))
	}
	if len(m.pairs) != 3 {
		t.Fatalf("%d pairs kept", len(m.pairs))
	}
	// The newest observations survive.
	if _, ok := m.pairs[Pair{testNode(t, 10), testNode(t, 100)}]; !ok {
		t.Fatal("newest pair evicted")
	}
	if len(m.byFrom) != 3 {
		t.Fatalf("index holds %d nodes", len(m.byFrom))
	}
}

func FuzzMissionControlUnmarshal(f *testing.F) {
	m := NewMissionControl(MissionConfig{})
	m.RecordFailure(testNode(f, 1), testNode(f, 2), 7, time.Unix(1, 0))
	f.Add(m.Marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		m := NewMissionControl(MissionConfig{})
		if err := m.Unmarshal(b); err != nil {
			return
		}
		_ = m.Estimator(time.Unix(2, 0)).EdgeProbability(testNode(t, 1), testNode(t, 2), 7, 0)
	})
}
