package resolve

import "testing"

func TestPastDeadlines(t *testing.T) {
	h := newHistory(t)
	d := DefaultDeadlines()
	known := func(hash [32]byte) ([32]byte, bool) {
		p, ok := h.alicePre[hash]
		return p, ok
	}
	tests := []struct {
		name     string
		height   int32
		preimage func([32]byte) ([32]byte, bool)
		want     [][32]byte
	}{
		{"nothing due", expiryB1 - 19, known, nil},
		{"fulfilled incoming near its expiry", expiryB1 - 18, known, [][32]byte{h.hashB1}},
		{"incoming without preimage never", expiryA1 + 1, nil, [][32]byte{h.hashA1}},
		{"offered at expiry", expiryA1, nil, nil},
		{"offered one block after expiry", expiryA1 + 1, known, [][32]byte{h.hashA1, h.hashB1}},
		{"everything", expiryA2 + 1, known, [][32]byte{h.hashA1, h.hashB1, h.hashA2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := PastDeadlines(h.alice, tc.height, d, tc.preimage)
			if len(got) != len(tc.want) {
				t.Fatalf("%d HTLCs past their deadline, want %d", len(got), len(tc.want))
			}
			for _, w := range tc.want {
				found := false
				for _, g := range got {
					if g.HTLC.PaymentHash == w {
						found = g.Height <= tc.height
					}
				}
				if !found {
					t.Errorf("HTLC %x not reported", w[:4])
				}
			}
		})
	}
}
