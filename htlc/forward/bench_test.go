package forward

import (
	"context"
	"testing"

	"github.com/flash-ln/flash/channel"
)

// BenchmarkForwardAndSettle measures one forward through bob, from the
// incoming HTLC to the deleted circuit: onion peeling, policy check, and the
// circuit's four writes (each synced to disk).
func BenchmarkForwardAndSettle(b *testing.B) {
	b.Run("sync", func(b *testing.B) { benchForward(b, false) })
	// Without fsync: the switch's own CPU cost.
	b.Run("nosync", func(b *testing.B) { benchForward(b, true) })
}

func benchForward(b *testing.B, noSync bool) {
	r := newRoute(b)
	r.bob.db.NoSync = noSync
	ctx := context.Background()
	in := IncomingHTLC{Chan: r.ab.ChanID, Restored: true, HTLC: channel.HTLC{
		Incoming: true, Amount: r.abAmt, PaymentHash: r.hash, CLTVExpiry: r.abExp, Onion: r.packet[:],
	}}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		in.HTLC.ID = uint64(i)
		d, err := r.bob.sw.HandleIncoming(ctx, in, testHeight)
		if err != nil || d.Action != ActionForward {
			b.Fatalf("%s, %v", d.Action, err)
		}
		if err := r.bob.sw.OpenCircuit(d.Incoming, uint64(i)); err != nil {
			b.Fatal(err)
		}
		if _, err := r.bob.sw.HandleOutgoingSettled(ctx, r.bc.ChanID, uint64(i), r.preimage); err != nil {
			b.Fatal(err)
		}
		if err := r.bob.sw.IncomingResolved(d.Incoming); err != nil {
			b.Fatal(err)
		}
	}
}
