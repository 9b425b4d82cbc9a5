package payment

import (
	"context"
	"testing"
)

// BenchmarkPayTwoHops measures one successful two-hop payment from the
// payer's side: route, onion, three durable writes (start, attempt,
// result), plus the fake network's onion processing at both hops.
func BenchmarkPayTwoHops(b *testing.B) {
	h := newHarness(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		pre := [32]byte{0: byte(i), 1: byte(i >> 8), 2: 0xbe}
		ks := &Keysend{Dest: h.net.dave.id, AmountMsat: payAmt, Preimage: pre}
		pay, err := h.payer.Pay(context.Background(), &Request{Keysend: ks, MaxFeeMsat: maxFee})
		if err != nil || pay.Status != StatusSucceeded {
			b.Fatalf("payment %d: %v %v", i, err, pay)
		}
	}
}
