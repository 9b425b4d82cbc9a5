package invoice

import (
	"github.com/btcsuite/btcd/chaincfg"
	"strings"
	"testing"
)

// FuzzDecode checks that no input makes Decode panic, and that whatever it
// accepts survives a re-encoding with the same fields.
func FuzzDecode(f *testing.F) {
	v := loadVectors(f)
	for _, tc := range v.Valid {
		f.Add(tc.Invoice)
	}
	for _, tc := range v.Invalid {
		f.Add(tc.Invoice)
	}
	f.Fuzz(func(t *testing.T, s string) {
		inv, err := Decode(s)
		if err != nil {
			return
		}
		if inv.Payee == nil || inv.Net == nil {
			t.Fatalf("decoded invoice without payee or network: %q", s)
		}
		// The fields must encode again (the signature is not ours, so
		// compare the unsigned parts).
		hrp, _, err := encodeUnsigned(inv)
		if err != nil {
			return // e.g. an explicit zero x field, which Encode omits
		}
		if !strings.HasPrefix(strings.ToLower(s), hrp) {
			t.Fatalf("hrp %q not a prefix of %q", hrp, s)
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	v := loadVectors(b)
	s := v.Valid[5].Invoice // fallback address and two route hints
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	inv := fullInvoice(b, &chaincfg.MainNetParams)
	key := testKey(b)
	signer := SignerFromKey(key)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encode(inv, signer); err != nil {
			b.Fatal(err)
		}
	}
}
