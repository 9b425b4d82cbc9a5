package graph_test

import (
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/flash-ln/flash/router/graph"
	"github.com/flash-ln/flash/router/graph/graphtest"
	"go.etcd.io/bbolt"
)

// BenchmarkLoad measures Open on a stored scale-free graph of 10,000 nodes
// and 50,000 channels, and the heap the loaded graph holds.
func BenchmarkLoad(b *testing.B) {
	path := filepath.Join(b.TempDir(), "graph.db")
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	g, err := graph.Open(db, nil)
	if err != nil {
		b.Fatal(err)
	}
	syn := graphtest.ScaleFree(1, 10_000, 50_000)
	if _, err := g.Apply(syn.Batch); err != nil {
		b.Fatal(err)
	}
	if g.NumNodes() != 10_000 || g.NumChannels() != 50_000 {
		b.Fatalf("%d nodes, %d channels", g.NumNodes(), g.NumChannels())
	}
	db.Close()
	g, syn = nil, nil

	db, err = bbolt.Open(path, 0o600, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()

	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var heap uint64
	var worst, worstCPU time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		start, startCPU := time.Now(), threadCPU()
		loaded, err := graph.Open(db, nil)
		if err != nil {
			b.Fatal(err)
		}
		worst = max(worst, time.Since(start))
		worstCPU = max(worstCPU, time.Duration(threadCPU()-startCPU))
		b.StopTimer()
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		if after.HeapAlloc > before.HeapAlloc {
			heap = after.HeapAlloc - before.HeapAlloc
		}
		if loaded.NumChannels() != 50_000 {
			b.Fatal("channels lost")
		}
		runtime.KeepAlive(loaded)
		b.StartTimer()
	}
	b.ReportMetric(float64(heap)/(1<<20), "heap-MB")
	b.ReportMetric(float64(worst.Microseconds())/1000, "max-load-ms")
	b.ReportMetric(float64(worstCPU.Microseconds())/1000, "max-load-cpu-ms")
}
