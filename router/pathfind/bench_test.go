package pathfind

import (
	"errors"
	"math"
	"math/rand"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/router/graph"
	"github.com/flash-ln/flash/router/graph/graphtest"
)

// BenchmarkFindRoute routes payments between random nodes of a synthetic
// scale-free graph of 10,000 nodes and 50,000 channels, with amounts
// log-uniform between 1,000 and 1,000,000 satoshis, a fee limit of 1% and
// mission control holding a few hundred observations. Besides ns/op it
// reports the median and 99th percentile of the search time, in wall
// clock and in CPU time of the searching thread, and the share
// of payments for which no route satisfied the limits. Run it with
// -benchtime=Nx for enough samples, e.g. 2000x.
func BenchmarkFindRoute(b *testing.B) {
	syn := graphtest.ScaleFree(1, 10_000, 50_000)
	g := graph.New(nil)
	if _, err := g.Apply(syn.Batch); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewSource(2))
	now := time.Unix(1_700_000_000, 0)
	mc := NewMissionControl(MissionConfig{})
	for i := 0; i < 500; i++ {
		from, to := syn.Nodes[rng.Intn(len(syn.Nodes))], syn.Nodes[rng.Intn(len(syn.Nodes))]
		amt := lnwire.MilliSatoshi(rng.Int63n(1_000_000_000))
		if rng.Intn(2) == 0 {
			mc.RecordFailure(from, to, amt, now.Add(-time.Duration(rng.Intn(7200))*time.Second))
		} else {
			mc.RecordSuccess(from, to, amt, now.Add(-time.Duration(rng.Intn(7200))*time.Second))
		}
	}

	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	samples := make([]time.Duration, 0, b.N)
	cpu := make([]time.Duration, 0, b.N)
	noRoute := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		src := syn.Nodes[rng.Intn(len(syn.Nodes))]
		dst := syn.Nodes[rng.Intn(len(syn.Nodes))]
		for dst == src {
			dst = syn.Nodes[rng.Intn(len(syn.Nodes))]
		}
		sat := math.Exp(rng.Float64()*(math.Log(1_000_000)-math.Log(1_000)) + math.Log(1_000))
		amt := lnwire.NewMSatFromSatoshis(uint64(sat))
		req := &Request{
			Source: src, Target: dst, Amount: amt, CurrentHeight: 800_000,
			FinalCltvDelta: 40, FeeLimit: amt / 100,
			Probability: mc.Estimator(now),
		}
		b.StartTimer()
		start, startCPU := time.Now(), threadCPU()
		_, err := FindRoute(g, req)
		samples = append(samples, time.Since(start))
		cpu = append(cpu, time.Duration(threadCPU()-startCPU))
		if errors.Is(err, ErrNoRoute) {
			noRoute++
		} else if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	slices.Sort(samples)
	slices.Sort(cpu)
	pct := func(s []time.Duration, p float64) float64 {
		i := int(math.Ceil(p*float64(len(s)))) - 1
		return float64(s[max(i, 0)].Microseconds()) / 1000
	}
	b.ReportMetric(pct(samples, 0.50), "p50-ms")
	b.ReportMetric(pct(samples, 0.99), "p99-ms")
	b.ReportMetric(pct(cpu, 0.50), "p50-cpu-ms")
	b.ReportMetric(pct(cpu, 0.99), "p99-cpu-ms")
	b.ReportMetric(float64(noRoute)/float64(b.N), "no-route-ratio")
}
