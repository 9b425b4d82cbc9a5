package invoice

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"github.com/btcsuite/btcd/btcutil/bech32"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"

	"github.com/flash-ln/flash/channel/lnwire"
)

func TestAmount(t *testing.T) {
	tests := []struct {
		in      string
		msat    uint64
		wantErr error
	}{
		{in: "1", msat: 100_000_000_000},
		{in: "20m", msat: 2_000_000_000},
		{in: "2500u", msat: 250_000_000},
		{in: "1n", msat: 100},
		{in: "10p", msat: 1},
		{in: "9678785340p", msat: 967_878_534},
		{in: "21000000", msat: 21_000_000 * 100_000_000_000},
		{in: "21000001", wantErr: ErrInvalidAmount},
		{in: "18446744073709551616", wantErr: ErrInvalidAmount},
		{in: "1p", wantErr: ErrSubMillisatoshi},
		{in: "2500000001p", wantErr: ErrSubMillisatoshi},
		{in: "25x", wantErr: ErrInvalidMultiplier},
		{in: "m", wantErr: ErrInvalidAmount},
		{in: "0", wantErr: ErrInvalidAmount},
		{in: "1a0m", wantErr: ErrInvalidAmount},
	}
	for _, tc := range tests {
		got, err := parseAmount(tc.in)
		if tc.wantErr != nil {
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("parseAmount(%q) = %v, %v; want %v", tc.in, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || uint64(got) != tc.msat {
			t.Errorf("parseAmount(%q) = %v, %v; want %d", tc.in, got, err, tc.msat)
		}
	}
}

func TestFormatAmountShortest(t *testing.T) {
	tests := map[uint64]string{
		1:                   "10p",
		10:                  "100p",
		100:                 "1n",
		250_000_000:         "2500u",
		2_000_000_000:       "20m",
		100_000_000_000:     "1",
		967_878_534:         "9678785340p",
		150_000_000_000_000: "1500",
	}
	for msat, want := range tests {
		got, err := formatAmount(lnwire.MilliSatoshi(msat))
		if err != nil || got != want {
			t.Errorf("formatAmount(%d) = %q, %v; want %q", msat, got, err, want)
		}
		back, err := parseAmount(got)
		if err != nil || uint64(back) != msat {
			t.Errorf("parseAmount(%q) = %v, %v; want %d", got, back, err, msat)
		}
	}
	if _, err := formatAmount(0); err == nil {
		t.Error("formatAmount(0) succeeded")
	}
}

func testKey(t testing.TB) *btcec.PrivateKey {
	t.Helper()
	k, _ := btcec.PrivKeyFromBytes(bytes.Repeat([]byte{7}, 32))
	return k
}

// fullInvoice sets every field Encode knows.
func fullInvoice(t testing.TB, net *chaincfg.Params) *Invoice {
	t.Helper()
	key := testKey(t)
	amt := lnwire.MilliSatoshi(123_456_789)
	desc := "coffee ☕"
	hint1, _ := btcec.PrivKeyFromBytes(bytes.Repeat([]byte{8}, 32))
	hint2, _ := btcec.PrivKeyFromBytes(bytes.Repeat([]byte{9}, 32))
	p2wpkh, err := btcutil.NewAddressWitnessPubKeyHash(bytes.Repeat([]byte{1}, 20), net)
	if err != nil {
		t.Fatal(err)
	}
	fb, err := NewFallbackAddress(p2wpkh)
	if err != nil {
		t.Fatal(err)
	}
	return &Invoice{
		Net:                     net,
		Amount:                  &amt,
		Timestamp:               time.Unix(1_700_000_000, 0),
		PaymentHash:             sha256.Sum256([]byte("preimage")),
		PaymentSecret:           sha256.Sum256([]byte("secret")),
		Description:             &desc,
		Payee:                   key.PubKey(),
		IncludePayee:            true,
		Expiry:                  90 * time.Second,
		MinFinalCLTVExpiryDelta: 40,
		Fallbacks:               []FallbackAddress{fb},
		RouteHints: [][]HopHint{
			{
				{NodeID: hint1.PubKey(), ChannelID: lnwire.ShortChannelID{BlockHeight: 700_000, TxIndex: 12, TxPosition: 1}, FeeBaseMsat: 1000, FeeProportionalMillionths: 1, CLTVExpiryDelta: 144},
				{NodeID: hint2.PubKey(), ChannelID: lnwire.ShortChannelID{BlockHeight: 1, TxIndex: 2, TxPosition: 3}, FeeBaseMsat: 0, FeeProportionalMillionths: 5000, CLTVExpiryDelta: 40},
			},
		},
		Features: lnwire.NewFeatureVector(lnwire.VarOnionOptin, lnwire.PaymentSecret, lnwire.BasicMPP.Optional()),
		Metadata: []byte{1, 2, 3},
	}
}

func TestRoundTrip(t *testing.T) {
	key := testKey(t)
	nets := []*chaincfg.Params{
		&chaincfg.MainNetParams, &chaincfg.TestNet3Params, &chaincfg.SigNetParams,
		&chaincfg.RegressionNetParams, &chaincfg.SimNetParams,
	}
	for _, net := range nets {
		t.Run(net.Name, func(t *testing.T) {
			inv := fullInvoice(t, net)
			s, err := Encode(inv, SignerFromKey(key))
			if err != nil {
				t.Fatal(err)
			}
			got, err := Decode(s, WithNetwork(net))
			if err != nil {
				t.Fatalf("Decode(%s): %v", s, err)
			}
			assertSameInvoice(t, got, inv)
			again, err := Encode(got, SignerFromKey(key))
			if err != nil || again != s {
				t.Fatalf("second encoding %s (%v), want %s", again, err, s)
			}
			if got.Net != net {
				t.Errorf("network %s, want %s", got.Net.Name, net.Name)
			}
			// Upper case, as for QR codes, decodes the same.
			if _, err := Decode(strings.ToUpper(s)); err != nil {
				t.Errorf("upper case: %v", err)
			}
		})
	}
}

func TestRoundTripMinimal(t *testing.T) {
	key := testKey(t)
	h := sha256.Sum256([]byte("long description"))
	inv := &Invoice{
		Net:             &chaincfg.RegressionNetParams,
		Timestamp:       time.Unix(1, 0),
		PaymentHash:     sha256.Sum256([]byte("p")),
		PaymentSecret:   sha256.Sum256([]byte("s")),
		DescriptionHash: &h,
	}
	s, err := Encode(inv, SignerFromKey(key))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s, "lnbcrt1") {
		t.Errorf("%s: want lnbcrt1 prefix (no amount)", s)
	}
	got, err := Decode(s)
	if err != nil {
		t.Fatal(err)
	}
	if got.Amount != nil || got.IncludePayee || !got.Payee.IsEqual(key.PubKey()) {
		t.Errorf("decoded %+v", got)
	}
	if got.ExpiryOrDefault() != DefaultExpiry || got.MinFinalCLTVExpiryDeltaOrDefault() != DefaultMinFinalCLTVExpiryDelta {
		t.Errorf("defaults not applied: %v %d", got.ExpiryOrDefault(), got.MinFinalCLTVExpiryDeltaOrDefault())
	}
	if !got.CheckDescription("long description") || got.CheckDescription("other") {
		t.Error("CheckDescription")
	}
	if !got.IsExpired(time.Unix(3601, 0)) || got.IsExpired(time.Unix(3600, 0)) {
		t.Error("IsExpired")
	}
}

func TestEncodeErrors(t *testing.T) {
	key := testKey(t)
	other, _ := btcec.PrivKeyFromBytes(bytes.Repeat([]byte{3}, 32))
	long := strings.Repeat("x", MaxFieldBytes+1)
	tests := []struct {
		name   string
		modify func(*Invoice)
		signer Signer
	}{
		{name: "wrong signer", modify: func(*Invoice) {}, signer: SignerFromKey(other)},
		{name: "no description", modify: func(i *Invoice) { i.Description = nil }},
		{name: "both descriptions", modify: func(i *Invoice) { i.DescriptionHash = &[32]byte{} }},
		{name: "description too long", modify: func(i *Invoice) { i.Description = &long }},
		{name: "no network", modify: func(i *Invoice) { i.Net = nil }},
		{name: "zero amount", modify: func(i *Invoice) { z := lnwire.MilliSatoshi(0); i.Amount = &z }},
		{name: "negative timestamp", modify: func(i *Invoice) { i.Timestamp = time.Unix(-1, 0) }},
		{name: "sub-second expiry", modify: func(i *Invoice) { i.Expiry = time.Millisecond }},
		{name: "empty route hint", modify: func(i *Invoice) { i.RouteHints = [][]HopHint{{}} }},
		{name: "bad fallback", modify: func(i *Invoice) { i.Fallbacks = []FallbackAddress{{Version: 17, Data: []byte{1}}} }},
		{name: "signer error", modify: func(*Invoice) {}, signer: func([]byte) ([]byte, error) { return nil, errors.New("locked") }},
		{name: "short signature", modify: func(*Invoice) {}, signer: func([]byte) ([]byte, error) { return make([]byte, 64), nil }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inv := fullInvoice(t, &chaincfg.MainNetParams)
			tc.modify(inv)
			signer := tc.signer
			if signer == nil {
				signer = SignerFromKey(key)
			}
			if s, err := Encode(inv, signer); err == nil {
				t.Fatalf("Encode succeeded: %s", s)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	key := testKey(t)
	good, err := Encode(fullInvoice(t, &chaincfg.MainNetParams), SignerFromKey(key))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Decode(good, WithNetwork(&chaincfg.RegressionNetParams)); !errors.Is(err, ErrWrongNetwork) {
		t.Errorf("wrong network: %v", err)
	}
	// An invoice requiring basic_mpp is refused by a reader that does not
	// know it.
	_, err = Decode(good, WithKnownFeatures(lnwire.NewFeatureVector(lnwire.VarOnionOptin, lnwire.PaymentSecret)))
	if err != nil {
		t.Errorf("optional unknown bit refused: %v", err)
	}

	inv := fullInvoice(t, &chaincfg.MainNetParams)
	inv.PaymentSecret = [32]byte{}
	inv.Features = lnwire.NewFeatureVector(lnwire.BasicMPP)
	s, err := Encode(inv, SignerFromKey(key))
	if err != nil {
		t.Fatal(err)
	}
	var feat *UnknownRequiredFeaturesError
	if _, err := Decode(s, WithKnownFeatures(lnwire.NewFeatureVector())); !errors.As(err, &feat) {
		t.Errorf("unknown required feature: %v", err)
	}

	for _, bad := range []string{"", "lnbc", "xxbc1qqqqqqq", "lnxx1" + strings.Repeat("q", 120)} {
		if _, err := Decode(bad); err == nil {
			t.Errorf("Decode(%q) succeeded", bad)
		}
	}
}

// signRaw signs hand-built data, for invoices Encode would not write.
func signRaw(t *testing.T, hrp string, data []byte, key *btcec.PrivateKey) string {
	t.Helper()
	h := signingHash(hrp, data)
	sig, err := SignerFromKey(key)(h[:])
	if err != nil {
		t.Fatal(err)
	}
	s, err := bech32.Encode(hrp, append(append([]byte(nil), data...), bytesToGroups(sig)...))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRepeatedFieldsFirstWins(t *testing.T) {
	key := testKey(t)
	inv := fullInvoice(t, &chaincfg.MainNetParams)
	hrp, data, err := encodeUnsigned(inv)
	if err != nil {
		t.Fatal(err)
	}
	w := &fieldWriter{data: data}
	w.bytes(fieldDescription, []byte("second"))
	w.bytes(fieldPaymentHash, bytes.Repeat([]byte{0xee}, 32))
	w.groups(fieldExpiry, uintToGroups(1))
	got, err := Decode(signRaw(t, hrp, w.data, key))
	if err != nil {
		t.Fatal(err)
	}
	if *got.Description != *inv.Description || got.PaymentHash != inv.PaymentHash || got.Expiry != inv.Expiry {
		t.Fatalf("later fields won: %q %x %v", *got.Description, got.PaymentHash, got.Expiry)
	}
}

func TestDecodeMalformedFields(t *testing.T) {
	key := testKey(t)
	base := &Invoice{
		Net: &chaincfg.MainNetParams, Timestamp: time.Unix(1, 0),
		PaymentHash: [32]byte{1}, PaymentSecret: [32]byte{2}, Description: new(string),
	}
	hrp, data, err := encodeUnsigned(base)
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		tail []byte
		want error
	}{
		"truncated header":  {[]byte{fieldExpiry, 0}, ErrTruncatedField},
		"length past end":   {[]byte{fieldExpiry, 0, 5, 1}, ErrTruncatedField},
		"expiry overflow":   {append([]byte{fieldExpiry, 0, 13}, bytes.Repeat([]byte{31}, 13)...), ErrInvalidField},
		"cltv overflow":     {append([]byte{fieldMinFinalCLTV, 0, 13}, bytes.Repeat([]byte{31}, 13)...), ErrInvalidField},
		"route hint length": {append([]byte{fieldRouteHint, 0, 10}, make([]byte, 10)...), ErrInvalidField},
		"route hint pubkey": {append([]byte{fieldRouteHint, 2, 18}, make([]byte, 82)...), ErrInvalidField},
		"description utf-8": {[]byte{fieldDescription, 0, 2, 31, 31}, ErrInvalidField},
		"both descriptions": {append([]byte{fieldDescriptionHash, 1, 20}, make([]byte, 52)...), ErrBothDescriptions},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := signRaw(t, hrp, append(append([]byte(nil), data...), tc.tail...), key)
			if _, err := Decode(s); !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
		})
	}
	// Skipped, not refused: an f field of unknown version, an n field that
	// is not a point.
	skipped := append(append([]byte(nil), data...), fieldFallback, 0, 2, 19, 0)
	skipped = append(skipped, fieldPayee, 1, 21)
	skipped = append(skipped, make([]byte, pubKeyGroups)...)
	got, err := Decode(signRaw(t, hrp, skipped, key))
	if err != nil || len(got.Fallbacks) != 0 || got.IncludePayee || !got.Payee.IsEqual(key.PubKey()) {
		t.Fatalf("skipped fields: %+v, %v", got, err)
	}
}
