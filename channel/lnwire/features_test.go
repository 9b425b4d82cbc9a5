package lnwire

import (
	"bytes"
	"reflect"
	"testing"
)

func TestFeatureVectorEncoding(t *testing.T) {
	tests := []struct {
		bits []FeatureBit
		wire []byte
	}{
		{nil, []byte{}},
		{[]FeatureBit{0}, []byte{0x01}},
		{[]FeatureBit{1, 9}, []byte{0x02, 0x02}},
		{[]FeatureBit{12}, []byte{0x10, 0x00}},
		{[]FeatureBit{22, 12}, []byte{0x40, 0x10, 0x00}},
		{[]FeatureBit{63, 64}, []byte{0x01, 0x80, 0, 0, 0, 0, 0, 0, 0}},
	}
	for _, tc := range tests {
		fv := NewFeatureVector(tc.bits...)
		if got := fv.Bytes(); !bytes.Equal(got, tc.wire) {
			t.Errorf("%v: encoded %x, want %x", tc.bits, got, tc.wire)
		}
		back := NewFeatureVectorFromBytes(tc.wire)
		if !back.Equal(fv) || !reflect.DeepEqual(back, fv) {
			t.Errorf("%v: decoded %v", tc.bits, back)
		}
		for _, b := range tc.bits {
			if !back.IsSet(b) {
				t.Errorf("%v: bit %d not set", tc.bits, b)
			}
		}
	}
	// Leading zero bytes are tolerated on decode and dropped on encode.
	fv := NewFeatureVectorFromBytes([]byte{0, 0, 0x20, 0x00})
	if !fv.IsSet(13) || !bytes.Equal(fv.Bytes(), []byte{0x20, 0x00}) {
		t.Errorf("leading zeros: %v %x", fv, fv.Bytes())
	}
}

func TestFeatureVectorOps(t *testing.T) {
	fv := NewFeatureVector(DataLossProtect, VarOnionOptin.Optional(), 100)
	if !fv.HasFeature(VarOnionOptin) || fv.IsSet(VarOnionOptin) || !fv.IsSet(9) {
		t.Error("HasFeature/IsSet on optional bit")
	}
	supported := NewFeatureVector(DataLossProtect.Optional(), VarOnionOptin)
	if got := fv.UnknownRequired(supported); !reflect.DeepEqual(got, []FeatureBit{100}) {
		t.Errorf("UnknownRequired = %v", got)
	}
	fv.Unset(100)
	if got := fv.UnknownRequired(supported); got != nil {
		t.Errorf("after Unset: %v", got)
	}
	if fv.IsSet(100) || len(fv.words) != 1 {
		t.Errorf("Unset did not normalise: %v", fv.words)
	}
	fv.Unset(0)
	fv.Unset(9)
	if !fv.IsEmpty() || !reflect.DeepEqual(fv, NewFeatureVector()) {
		t.Errorf("empty vector not normalised: %#v", fv)
	}
	fv.Unset(5000) // no-op beyond the end

	var zero FeatureVector
	u := zero.Union(NewFeatureVector(3))
	if !u.IsSet(3) || zero.IsSet(3) {
		t.Error("Union")
	}
	var nilFV *FeatureVector
	if nilFV.IsSet(1) || !nilFV.IsEmpty() || nilFV.Bits() != nil || len(nilFV.Bytes()) != 0 {
		t.Error("nil vector must read as empty")
	}
	c := u.Clone()
	c.Set(7)
	if u.IsSet(7) {
		t.Error("Clone shares storage")
	}
}

func TestFeatureNames(t *testing.T) {
	want := map[FeatureBit]string{
		0: "option_data_loss_protect", 9: "var_onion_optin", 13: "option_static_remotekey",
		14: "payment_secret", 17: "basic_mpp", 23: "option_anchors", 44: "option_channel_type",
	}
	for b, n := range want {
		if b.Name() != n {
			t.Errorf("bit %d: %q, want %q", b, b.Name(), n)
		}
	}
	fv := NewFeatureVector(0, 9, 201)
	if s := fv.String(); s != "[option_data_loss_protect(required) var_onion_optin(optional) bit201]" {
		t.Errorf("String = %s", s)
	}
}

func TestInitAllFeatures(t *testing.T) {
	m := &Init{GlobalFeatures: *NewFeatureVector(1), Features: *NewFeatureVector(12)}
	all := m.AllFeatures()
	if !all.IsSet(1) || !all.IsSet(12) {
		t.Errorf("AllFeatures = %v", all)
	}
}
