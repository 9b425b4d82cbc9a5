package invoices

import (
	"context"
	"sync/atomic"
	"testing"
)

// The figures depend on the disk's fsync latency: every Add and every
// settlement is one durable bbolt commit, shared by concurrent callers.

func BenchmarkAdd(b *testing.B) {
	h := newHarness(b, nil)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := h.reg.Add(ctx, AddRequest{AmountMsat: 50_000_000, Memo: "bench"}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "adds/s")
}

// benchInvoices adds n invoices without fsync, which only the setup may
// skip.
func benchInvoices(b *testing.B, h *harness, n int) []IncomingHTLC {
	b.Helper()
	h.db.NoSync = true
	defer func() { h.db.NoSync = false }()
	htlcs := make([]IncomingHTLC, n)
	for i := range htlcs {
		rec := h.add(AddRequest{AmountMsat: 1000})
		htlcs[i] = payHTLC(rec, 1000, uint64(i))
	}
	return htlcs
}

func BenchmarkAcceptSettle(b *testing.B) {
	h := newHarness(b, nil)
	htlcs := benchInvoices(b, h, b.N)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := h.reg.Accept(ctx, htlcs[i])
		if err != nil {
			b.Fatal(err)
		}
		if _, ok := res.(*Settle); !ok {
			b.Fatalf("not settled: %+v", res)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "settles/s")
}

// BenchmarkAcceptSettleParallel settles from 32 goroutines, as a busy
// node's links would; settlements share commits.
func BenchmarkAcceptSettleParallel(b *testing.B) {
	h := newHarness(b, nil)
	htlcs := benchInvoices(b, h, b.N)
	ctx := context.Background()
	var next atomic.Int64
	b.SetParallelism(16) // 32 goroutines on 2 cores
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1) - 1
			res, err := h.reg.Accept(ctx, htlcs[i])
			if err != nil {
				b.Error(err)
				return
			}
			if _, ok := res.(*Settle); !ok {
				b.Errorf("not settled: %+v", res)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "settles/s")
}

// BenchmarkAcceptRefuse measures a refused HTLC (wrong secret), which
// reads but never writes.
func BenchmarkAcceptRefuse(b *testing.B) {
	h := newHarness(b, nil)
	in := benchInvoices(b, h, 1)[0]
	in.PaymentSecret = &[32]byte{1}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := h.reg.Accept(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
}
