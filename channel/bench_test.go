package channel

import (
	"fmt"
	"testing"

	"github.com/flash-ln/flash/channel/lnwire"
)

// benchLink passes messages between two machines without the wire
// encoding, so that the benchmark measures the state machine.
type benchLink struct {
	b      *testing.B
	c      [2]*Channel
	queues [2][]lnwire.Message // queues[i]: towards c[i]
}

func (l *benchLink) take(from int, out Output, err error) {
	if err != nil {
		l.b.Fatal(err)
	}
	l.queues[1-from] = append(l.queues[1-from], out.Messages...)
}

func (l *benchLink) flush() {
	for len(l.queues[0])+len(l.queues[1]) > 0 {
		for i := 0; i < 2; i++ {
			for len(l.queues[i]) > 0 {
				m := l.queues[i][0]
				l.queues[i] = l.queues[i][1:]
				out, err := l.c[i].Receive(m)
				l.take(i, out, err)
			}
		}
	}
}

// round signs and exchanges until both commitments carry every update:
// commitment_signed, revoke_and_ack, commitment_signed, revoke_and_ack.
func (l *benchLink) round(first int) {
	for n := 0; n < 4 && (l.c[0].NeedsSignature() || l.c[1].NeedsSignature()); n++ {
		for _, i := range []int{first, 1 - first} {
			if l.c[i].NeedsSignature() {
				out, err := l.c[i].SignCommitment()
				l.take(i, out, err)
				l.flush()
			}
		}
	}
}

// benchmarkCycles runs payment cycles of k HTLCs per commitment round:
// add k, commit, revoke, fulfill k, commit, revoke. Payments alternate
// direction so that balances never run out.
func benchmarkCycles(b *testing.B, k int) {
	a, bob := newPair(b, pairOptions{})
	l := &benchLink{b: b, c: [2]*Channel{a, bob}}
	type pay struct {
		id  uint64
		pre [32]byte
	}
	pays := make([]pay, k)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	for n := 0; n < b.N; n++ {
		from := n % 2
		payer, payee := l.c[from], l.c[1-from]
		for j := range pays {
			pre, hash := testPreimage(uint64(n*k + j))
			id, out, err := payer.AddHTLC(AddHTLC{Amount: 20_000_000, PaymentHash: hash, CLTVExpiry: 800})
			l.take(from, out, err)
			pays[j] = pay{id, pre}
		}
		l.flush()
		l.round(from)
		for _, p := range pays {
			out, err := payee.FulfillHTLC(p.id, p.pre)
			l.take(1-from, out, err)
		}
		l.flush()
		l.round(1 - from)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*k)/b.Elapsed().Seconds(), "cycles/s")
	if cpu := processCPU() - cpu0; cpu > 0 {
		b.ReportMetric(float64(b.N*k)/cpu.Seconds(), "cycles/cpu-s")
	}
}

func BenchmarkPaymentCycle(b *testing.B) { benchmarkCycles(b, 1) }

func BenchmarkPaymentCycleBatched(b *testing.B) {
	for _, k := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("k=%d", k), func(b *testing.B) { benchmarkCycles(b, k) })
	}
}
