package peer

import (
	"errors"
	"testing"

	"github.com/flash-ln/flash/channel/lnwire"
)

func TestDefaultFeatures(t *testing.T) {
	// The bits lnd requires, so that it and others accept us.
	want := []lnwire.FeatureBit{0, 8, 12, 14, 44}
	got := DefaultFeatures().Bits()
	if len(got) != len(want) {
		t.Fatalf("bits %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("bits %v, want %v", got, want)
		}
	}
	if err := checkRemoteFeatures(DefaultFeatures(), DefaultFeatures()); err != nil {
		t.Fatalf("our own features refused: %v", err)
	}
}

func TestCheckRemoteFeatures(t *testing.T) {
	fv := func(bits ...lnwire.FeatureBit) *lnwire.FeatureVector {
		return lnwire.NewFeatureVector(bits...)
	}
	tests := []struct {
		name   string
		theirs *lnwire.FeatureVector
		ok     bool
	}{
		{"empty", fv(), true},
		{"our required bits", DefaultFeatures(), true},
		{"optional bits of ours", fv(1, 9, 13, 15, 45), true},
		{"unknown optional", fv(101), true},
		{"unknown required", fv(100), false},
		{"required feature we do not support", fv(lnwire.GossipQueries), false},
		{"required bit of a feature we support", fv(lnwire.PaymentSecret.Optional(), lnwire.VarOnionOptin), true},
		{"basic_mpp without payment_secret", fv(lnwire.BasicMPP.Optional()), false},
		{"basic_mpp with payment_secret", fv(lnwire.BasicMPP.Optional(), lnwire.PaymentSecret.Optional()), true},
		{"zeroconf without scid_alias", fv(lnwire.ZeroConf.Optional()), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := checkRemoteFeatures(tc.theirs, DefaultFeatures())
			if tc.ok != (err == nil) {
				t.Fatalf("got %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrIncompatibleFeatures) {
				t.Fatalf("error %v is not ErrIncompatibleFeatures", err)
			}
		})
	}
}
