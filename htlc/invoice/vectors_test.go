package invoice

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil/bech32"

	"github.com/flash-ln/flash/channel/lnwire"
)

type bolt11Vectors struct {
	PrivKey     string `json:"priv_key"`
	PayeePubkey string `json:"payee_pubkey"`
	Valid       []struct {
		Name    string `json:"name"`
		Invoice string `json:"invoice"`
		Decoded struct {
			Network           string  `json:"network"`
			HRP               string  `json:"hrp"`
			AmountMsat        *uint64 `json:"amount_msat"`
			Timestamp         int64   `json:"timestamp"`
			PayeePubkey       string  `json:"payee_pubkey"`
			PaymentHash       string  `json:"payment_hash"`
			PaymentSecret     string  `json:"payment_secret"`
			Description       *string `json:"description"`
			DescriptionHash   *string `json:"description_hash"`
			Metadata          *string `json:"metadata"`
			Expiry            *uint64 `json:"expiry"`
			MinFinalCLTV      *uint64 `json:"min_final_cltv_expiry"`
			FallbackAddresses []struct {
				Version byte   `json:"version"`
				Data    string `json:"data"`
				Address string `json:"address"`
			} `json:"fallback_addresses"`
			RouteHints [][]struct {
				Pubkey          string `json:"pubkey"`
				ShortChannelID  string `json:"short_channel_id"`
				FeeBaseMsat     uint32 `json:"fee_base_msat"`
				FeeProportional uint32 `json:"fee_proportional_millionths"`
				CLTVExpiryDelta uint16 `json:"cltv_expiry_delta"`
			} `json:"route_hints"`
			Features       []int  `json:"features"`
			SignatureHighS bool   `json:"signature_high_s"`
			SigningHash    string `json:"signing_hash"`
		} `json:"decoded"`
	} `json:"valid"`
	Invalid []struct {
		Reason  string `json:"reason"`
		Invoice string `json:"invoice"`
	} `json:"invalid"`
}

func loadVectors(t testing.TB) *bolt11Vectors {
	t.Helper()
	b, err := os.ReadFile("testdata/bolt11-invoices.json")
	if err != nil {
		t.Fatal(err)
	}
	var v bolt11Vectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return &v
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeValidVectors(t *testing.T) {
	v := loadVectors(t)
	if len(v.Valid) != 16 {
		t.Fatalf("%d valid vectors, want 16", len(v.Valid))
	}
	for _, tc := range v.Valid {
		t.Run(tc.Name, func(t *testing.T) {
			d := tc.Decoded
			inv, err := Decode(tc.Invoice)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			prefix, _ := CurrencyPrefix(inv.Net)
			if want := strings.TrimPrefix(d.HRP, "ln"); !strings.HasPrefix(want, prefix) {
				t.Errorf("network %s (prefix %s), hrp %s", inv.Net.Name, prefix, d.HRP)
			}
			switch {
			case d.AmountMsat == nil && inv.Amount != nil:
				t.Errorf("amount %v, want none", *inv.Amount)
			case d.AmountMsat != nil && (inv.Amount == nil || uint64(*inv.Amount) != *d.AmountMsat):
				t.Errorf("amount %v, want %d", inv.Amount, *d.AmountMsat)
			}
			if inv.Timestamp.Unix() != d.Timestamp {
				t.Errorf("timestamp %d, want %d", inv.Timestamp.Unix(), d.Timestamp)
			}
			// The high-S example's payee is not stated by the spec.
			if !d.SignatureHighS {
				if got := hex.EncodeToString(inv.Payee.SerializeCompressed()); got != d.PayeePubkey {
					t.Errorf("payee %s, want %s", got, d.PayeePubkey)
				}
			}
			if got := hex.EncodeToString(inv.PaymentHash[:]); got != d.PaymentHash {
				t.Errorf("payment hash %s, want %s", got, d.PaymentHash)
			}
			if got := hex.EncodeToString(inv.PaymentSecret[:]); got != d.PaymentSecret {
				t.Errorf("payment secret %s, want %s", got, d.PaymentSecret)
			}
			if (inv.Description == nil) != (d.Description == nil) ||
				(d.Description != nil && *inv.Description != *d.Description) {
				t.Errorf("description %v, want %v", inv.Description, d.Description)
			}
			if (inv.DescriptionHash == nil) != (d.DescriptionHash == nil) ||
				(d.DescriptionHash != nil && hex.EncodeToString(inv.DescriptionHash[:]) != *d.DescriptionHash) {
				t.Errorf("description hash %x, want %v", inv.DescriptionHash, d.DescriptionHash)
			}
			if (d.Metadata == nil) != (inv.Metadata == nil) ||
				(d.Metadata != nil && hex.EncodeToString(inv.Metadata) != *d.Metadata) {
				t.Errorf("metadata %x, want %v", inv.Metadata, d.Metadata)
			}
			wantExpiry := uint64(3600)
			if d.Expiry != nil {
				wantExpiry = *d.Expiry
			}
			if got := uint64(inv.ExpiryOrDefault().Seconds()); got != wantExpiry {
				t.Errorf("expiry %d, want %d", got, wantExpiry)
			}
			wantCLTV := uint64(18)
			if d.MinFinalCLTV != nil {
				wantCLTV = *d.MinFinalCLTV
			}
			if got := inv.MinFinalCLTVExpiryDeltaOrDefault(); got != wantCLTV {
				t.Errorf("min final cltv %d, want %d", got, wantCLTV)
			}
			if len(inv.Fallbacks) != len(d.FallbackAddresses) {
				t.Fatalf("%d fallbacks, want %d", len(inv.Fallbacks), len(d.FallbackAddresses))
			}
			for i, f := range d.FallbackAddresses {
				got := inv.Fallbacks[i]
				if got.Version != f.Version || hex.EncodeToString(got.Data) != f.Data {
					t.Errorf("fallback %d: %d/%x, want %d/%s", i, got.Version, got.Data, f.Version, f.Data)
				}
				addr, err := got.Address(inv.Net)
				if err != nil || addr.EncodeAddress() != f.Address {
					t.Errorf("fallback %d: address %v (%v), want %s", i, addr, err, f.Address)
				}
			}
			if len(inv.RouteHints) != len(d.RouteHints) {
				t.Fatalf("%d route hints, want %d", len(inv.RouteHints), len(d.RouteHints))
			}
			for i, route := range d.RouteHints {
				if len(inv.RouteHints[i]) != len(route) {
					t.Fatalf("route %d: %d hops, want %d", i, len(inv.RouteHints[i]), len(route))
				}
				for j, h := range route {
					got := inv.RouteHints[i][j]
					if hex.EncodeToString(got.NodeID.SerializeCompressed()) != h.Pubkey ||
						got.ChannelID.String() != h.ShortChannelID ||
						got.FeeBaseMsat != h.FeeBaseMsat ||
						got.FeeProportionalMillionths != h.FeeProportional ||
						got.CLTVExpiryDelta != h.CLTVExpiryDelta {
						t.Errorf("route %d hop %d: %+v, want %+v", i, j, got, h)
					}
				}
			}
			var bits []int
			for _, b := range inv.Features.Bits() {
				bits = append(bits, int(b))
			}
			if !slices.Equal(bits, d.Features) {
				t.Errorf("features %v, want %v", bits, d.Features)
			}

			// The signing hash must be the spec's.
			hrp, data, err := bech32.DecodeNoLimit(tc.Invoice)
			if err != nil {
				t.Fatal(err)
			}
			h := signingHash(hrp, data[:len(data)-signatureGroups])
			if got := hex.EncodeToString(h[:]); got != d.SigningHash {
				t.Errorf("signing hash %s, want %s", got, d.SigningHash)
			}
		})
	}
}

// TestReencodeValidVectors signs each decoded vector again with the spec's
// key. Signatures are deterministic (RFC 6979), so where the example's fields
// are in the order Encode writes them the string must come out identical;
// otherwise the re-encoding must decode to the same invoice.
func TestReencodeValidVectors(t *testing.T) {
	v := loadVectors(t)
	priv, _ := btcec.PrivKeyFromBytes(mustHex(t, v.PrivKey))
	exact := 0
	for _, tc := range v.Valid {
		t.Run(tc.Name, func(t *testing.T) {
			inv, err := Decode(tc.Invoice)
			if err != nil {
				t.Fatal(err)
			}
			if tc.Decoded.SignatureHighS {
				// Its payee is not the key we hold.
				inv.Payee = priv.PubKey()
			}
			s, err := Encode(inv, SignerFromKey(priv))
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			want := strings.ToLower(tc.Invoice)
			canonical := tagOrder(t, want) == canonicalOrder(tagOrder(t, want)) &&
				tc.Decoded.HRP != "" && !tc.Decoded.SignatureHighS && !hasSkippedFields(tc.Name)
			if canonical {
				if s != want {
					t.Fatalf("re-encoded\n%s\nwant\n%s", s, want)
				}
				exact++
				return
			}
			again, err := Decode(s)
			if err != nil {
				t.Fatalf("decode re-encoding: %v", err)
			}
			assertSameInvoice(t, again, inv)
		})
	}
	t.Logf("%d of %d valid vectors re-encoded byte for byte", exact, len(v.Valid))
	if exact < 6 {
		t.Errorf("only %d vectors re-encoded byte for byte", exact)
	}
}

func hasSkippedFields(name string) bool { return strings.Contains(name, "must be ignored") }

// tagOrder returns the field types of an invoice string in order.
func tagOrder(t *testing.T, s string) string {
	t.Helper()
	_, data, err := bech32.DecodeNoLimit(s)
	if err != nil {
		t.Fatal(err)
	}
	g := data[timestampGroups : len(data)-signatureGroups]
	var out []byte
	for len(g) >= 3 {
		n := int(g[1])<<5 | int(g[2])
		out = append(out, bech32Char(g[0]))
		g = g[3+n:]
	}
	return string(out)
}

// canonicalOrder sorts field letters into the order Encode writes them.
func canonicalOrder(tags string) string {
	const order = "spdhnxcfr9m"
	b := []byte(tags)
	slices.SortStableFunc(b, func(x, y byte) int {
		return strings.IndexByte(order, x) - strings.IndexByte(order, y)
	})
	return string(b)
}

func assertSameInvoice(t *testing.T, got, want *Invoice) {
	t.Helper()
	gs, _ := encodeUnsignedString(got)
	ws, _ := encodeUnsignedString(want)
	if gs != ws || !got.Payee.IsEqual(want.Payee) {
		t.Fatalf("invoices differ:\n%s\n%s", gs, ws)
	}
}

// encodeUnsignedString is a comparable form of everything Encode writes.
func encodeUnsignedString(inv *Invoice) (string, error) {
	hrp, data, err := encodeUnsigned(inv)
	return hrp + ":" + hex.EncodeToString(data), err
}

func TestDecodeInvalidVectors(t *testing.T) {
	v := loadVectors(t)
	want := map[string]error{
		"Same, but adding invalid unknown feature 100":            &UnknownRequiredFeaturesError{},
		"Bech32 checksum is invalid.":                             ErrBech32,
		"Malformed bech32 string (no 1)":                          ErrBech32,
		"Malformed bech32 string (mixed case)":                    ErrBech32,
		"Signature is not recoverable.":                           ErrRecovery,
		"String is too short.":                                    ErrTooShort,
		"Invalid multiplier":                                      ErrInvalidMultiplier,
		"Invalid sub-millisatoshi precision.":                     ErrSubMillisatoshi,
		"Missing required `s` field.":                             ErrMissingSecret,
		"Non canonical signature (high-S) with 'n' field defined": ErrHighS,
	}
	if len(v.Invalid) != len(want) {
		t.Fatalf("%d invalid vectors, want %d", len(v.Invalid), len(want))
	}
	for _, tc := range v.Invalid {
		t.Run(tc.Reason, func(t *testing.T) {
			wantErr, ok := want[tc.Reason]
			if !ok {
				t.Fatalf("no expectation for %q", tc.Reason)
			}
			inv, err := Decode(tc.Invoice)
			if err == nil {
				t.Fatalf("decoded %+v, want error", inv)
			}
			var feat *UnknownRequiredFeaturesError
			if _, isFeat := wantErr.(*UnknownRequiredFeaturesError); isFeat {
				if !errors.As(err, &feat) || !slices.Equal(feat.Bits, []lnwire.FeatureBit{100}) {
					t.Fatalf("error %v, want unknown required feature 100", err)
				}
				return
			}
			if !errors.Is(err, wantErr) {
				t.Fatalf("error %v, want %v", err, wantErr)
			}
		})
	}
}
