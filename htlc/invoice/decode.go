package invoice

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/ecdsa"
	"github.com/btcsuite/btcd/btcutil/bech32"
	"github.com/btcsuite/btcd/chaincfg"

	"github.com/flash-ln/flash/channel/lnwire"
)

// Tagged field types (the 5-bit value of the field's bech32 character).
const (
	fieldPaymentHash     byte = 1  // p
	fieldRouteHint       byte = 3  // r
	fieldFeatures        byte = 5  // 9
	fieldExpiry          byte = 6  // x
	fieldFallback        byte = 9  // f
	fieldDescription     byte = 13 // d
	fieldPaymentSecret   byte = 16 // s
	fieldPayee           byte = 19 // n
	fieldDescriptionHash byte = 23 // h
	fieldMinFinalCLTV    byte = 24 // c
	fieldMetadata        byte = 27 // m
)

const (
	timestampGroups = 7   // 35 bits
	signatureGroups = 104 // 520 bits: r, s and the recovery id
	hash256Groups   = 52  // 256 bits, padded
	pubKeyGroups    = 53  // 264 bits, padded
)

// DefaultKnownFeatures are the invoice feature bits Flash understands as a
// payer: var_onion_optin, payment_secret, basic_mpp and
// option_payment_metadata. An invoice requiring any other (even) bit is
// refused.
func DefaultKnownFeatures() *lnwire.FeatureVector {
	fv := lnwire.NewFeatureVector()
	for _, b := range []lnwire.FeatureBit{
		lnwire.VarOnionOptin, lnwire.PaymentSecret, lnwire.BasicMPP, lnwire.PaymentMetadata,
	} {
		fv.Set(b.Required())
		fv.Set(b.Optional())
	}
	return fv
}

type decodeConfig struct {
	net   *chaincfg.Params
	known *lnwire.FeatureVector
}

// DecodeOption adjusts what Decode accepts.
type DecodeOption func(*decodeConfig)

// WithNetwork makes Decode refuse invoices for any other network.
func WithNetwork(net *chaincfg.Params) DecodeOption {
	return func(c *decodeConfig) { c.net = net }
}

// WithKnownFeatures replaces DefaultKnownFeatures as the set of feature bits
// the reader understands.
func WithKnownFeatures(fv *lnwire.FeatureVector) DecodeOption {
	return func(c *decodeConfig) { c.known = fv }
}

// Decode parses and authenticates a BOLT 11 invoice. The signature is
// checked against the n field if present (a high-S signature is then
// refused), otherwise the payee is recovered from it (any S accepted, as
// BOLT 11 requires). Fields of unknown type and p, h, s or n fields of the
// wrong length are skipped. The payment hash, payment secret and one of d or
// h are required. Of a repeated field, the first valid one is used.
func Decode(s string, opts ...DecodeOption) (*Invoice, error) {
	cfg := decodeConfig{known: DefaultKnownFeatures()}
	for _, o := range opts {
		o(&cfg)
	}

	hrp, data, version, err := bech32.DecodeNoLimitWithVersion(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBech32, err)
	}
	if version != bech32.Version0 {
		return nil, ErrBech32m
	}

	inv := &Invoice{}
	if err := parseHRP(inv, hrp); err != nil {
		return nil, err
	}
	if cfg.net != nil {
		want, err := CurrencyPrefix(cfg.net)
		if err != nil {
			return nil, err
		}
		got, _ := CurrencyPrefix(inv.Net)
		if got != want {
			return nil, fmt.Errorf("%w: %s invoice, want %s", ErrWrongNetwork, inv.Net.Name, cfg.net.Name)
		}
		inv.Net = cfg.net
	}

	if len(data) < timestampGroups+signatureGroups {
		return nil, fmt.Errorf("%w: %d 5-bit groups", ErrTooShort, len(data))
	}
	signed := data[:len(data)-signatureGroups]
	sig := groupsToBytes(data[len(data)-signatureGroups:])

	ts, _ := groupsToUint(data[:timestampGroups])
	inv.Timestamp = time.Unix(int64(ts), 0)

	seen, err := parseFields(inv, signed[timestampGroups:])
	if err != nil {
		return nil, err
	}

	hash := signingHash(hrp, signed)
	if err := checkSignature(inv, hash[:], sig); err != nil {
		return nil, err
	}

	if seen[fieldPaymentHash] == 0 {
		return nil, ErrMissingPaymentHash
	}
	if seen[fieldPaymentSecret] == 0 {
		return nil, ErrMissingSecret
	}
	switch {
	case inv.Description == nil && inv.DescriptionHash == nil:
		return nil, ErrMissingDescription
	case inv.Description != nil && inv.DescriptionHash != nil:
		return nil, ErrBothDescriptions
	}
	if unknown := inv.Features.UnknownRequired(cfg.known); len(unknown) > 0 {
		return nil, &UnknownRequiredFeaturesError{Bits: unknown}
	}
	return inv, nil
}

// parseHRP reads "ln", the currency prefix and the optional amount.
func parseHRP(inv *Invoice, hrp string) error {
	rest, ok := strings.CutPrefix(hrp, "ln")
	if !ok {
		return fmt.Errorf("%w: %q does not start with \"ln\"", ErrUnknownPrefix, hrp)
	}
	for _, n := range networks {
		amount, ok := strings.CutPrefix(rest, n.prefix)
		if !ok || (amount != "" && (amount[0] < '0' || amount[0] > '9')) {
			continue
		}
		inv.Net = n.params
		if amount == "" {
			return nil
		}
		msat, err := parseAmount(amount)
		if err != nil {
			return err
		}
		inv.Amount = &msat
		return nil
	}
	return fmt.Errorf("%w: %q", ErrUnknownPrefix, hrp)
}

// parseFields reads the tagged fields into inv and counts the valid fields
// of each type. BOLT 11 lets a writer repeat any field, most preferred
// first, so where a type appears more than once the first valid field is
// used and the others ignored (f and r fields are all kept, in order).
// Fields BOLT 11 says to skip are skipped.
func parseFields(inv *Invoice, g []byte) (map[byte]int, error) {
	seen := make(map[byte]int)
	for len(g) > 0 {
		if len(g) < 3 {
			return nil, fmt.Errorf("%w: %d groups left, a field header needs 3", ErrTruncatedField, len(g))
		}
		typ := g[0]
		n := int(g[1])<<5 | int(g[2])
		if len(g) < 3+n {
			return nil, fmt.Errorf("%w: field %c of %d groups, %d left", ErrTruncatedField, bech32Char(typ), n, len(g)-3)
		}
		body := g[3 : 3+n]
		g = g[3+n:]

		kept, err := parseField(inv, typ, body, seen[typ] == 0)
		if err != nil {
			return nil, fmt.Errorf("%w: field %c: %v", ErrInvalidField, bech32Char(typ), err)
		}
		if kept {
			seen[typ]++
		}
	}
	return seen, nil
}

// parseField decodes one field into inv, storing it only if it is the first
// of its type (first). kept is false for a field that is skipped: of unknown
// type, or of a length or version BOLT 11 says to ignore.
func parseField(inv *Invoice, typ byte, body []byte, first bool) (kept bool, err error) {
	switch typ {
	case fieldPaymentHash, fieldPaymentSecret, fieldDescriptionHash:
		if len(body) != hash256Groups {
			return false, nil
		}
		var h [32]byte
		copy(h[:], groupsToBytes(body))
		switch {
		case !first:
		case typ == fieldPaymentHash:
			inv.PaymentHash = h
		case typ == fieldPaymentSecret:
			inv.PaymentSecret = h
		default:
			inv.DescriptionHash = &h
		}

	case fieldPayee:
		if len(body) != pubKeyGroups {
			return false, nil
		}
		pub, err := btcec.ParsePubKey(groupsToBytes(body))
		if err != nil {
			// Not a valid n field: the payee is then recovered from
			// the signature, which authenticates it just as well.
			return false, nil
		}
		if first {
			inv.Payee = pub
			inv.IncludePayee = true
		}

	case fieldDescription:
		b := groupsToBytes(body)
		if !utf8.Valid(b) {
			return false, errors.New("description is not UTF-8")
		}
		if first {
			d := string(b)
			inv.Description = &d
		}

	case fieldExpiry:
		v, ok := groupsToUint(body)
		if !ok || v > math.MaxInt64/uint64(time.Second) {
			return false, errors.New("expiry out of range")
		}
		if first {
			inv.Expiry = time.Duration(v) * time.Second
		}

	case fieldMinFinalCLTV:
		v, ok := groupsToUint(body)
		if !ok {
			return false, errors.New("min_final_cltv_expiry_delta out of range")
		}
		if first {
			inv.MinFinalCLTVExpiryDelta = v
		}

	case fieldFallback:
		if len(body) == 0 {
			return false, nil
		}
		f := FallbackAddress{Version: body[0], Data: groupsToBytes(body[1:])}
		if !f.valid() {
			return false, nil
		}
		inv.Fallbacks = append(inv.Fallbacks, f)

	case fieldRouteHint:
		route, err := parseRouteHint(groupsToBytes(body))
		if err != nil {
			return false, err
		}
		inv.RouteHints = append(inv.RouteHints, route)

	case fieldFeatures:
		if first {
			inv.Features = groupsToFeatures(body)
		}

	case fieldMetadata:
		if first {
			inv.Metadata = groupsToBytes(body)
		}

	default:
		return false, nil
	}
	return true, nil
}

func parseRouteHint(b []byte) ([]HopHint, error) {
	if len(b) == 0 || len(b)%hopHintLen != 0 {
		return nil, fmt.Errorf("route hint of %d bytes is not a multiple of %d", len(b), hopHintLen)
	}
	route := make([]HopHint, 0, len(b)/hopHintLen)
	for ; len(b) > 0; b = b[hopHintLen:] {
		pub, err := btcec.ParsePubKey(b[:33])
		if err != nil {
			return nil, fmt.Errorf("route hint node id: %v", err)
		}
		route = append(route, HopHint{
			NodeID:                    pub,
			ChannelID:                 lnwire.NewShortChanIDFromInt(beUint(b[33:41])),
			FeeBaseMsat:               uint32(beUint(b[41:45])),
			FeeProportionalMillionths: uint32(beUint(b[45:49])),
			CLTVExpiryDelta:           uint16(beUint(b[49:51])),
		})
	}
	return route, nil
}

// signingHash is the SHA256 of the human-readable part's bytes followed by
// the data part (without the signature) packed into bytes, zero-padded.
func signingHash(hrp string, groups []byte) [32]byte {
	h := sha256.New()
	h.Write([]byte(hrp))
	h.Write(groupsToBytesPadded(groups))
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// checkSignature authenticates the invoice: against the n field when there
// is one, else by recovering the payee.
func checkSignature(inv *Invoice, hash, sig []byte) error {
	recID := sig[64]
	if recID > 3 {
		return fmt.Errorf("%w: recovery id %d", ErrRecovery, recID)
	}
	if inv.Payee != nil {
		var r, s btcec.ModNScalar
		if r.SetByteSlice(sig[:32]) || s.SetByteSlice(sig[32:64]) || r.IsZero() || s.IsZero() {
			return fmt.Errorf("%w: r or s out of range", ErrInvalidSignature)
		}
		if s.IsOverHalfOrder() {
			return ErrHighS
		}
		if !ecdsa.NewSignature(&r, &s).Verify(hash, inv.Payee) {
			return fmt.Errorf("%w: does not verify under payee %x", ErrInvalidSignature, inv.Payee.SerializeCompressed())
		}
		return nil
	}

	compact := make([]byte, 65)
	compact[0] = 27 + 4 + recID // 27: compact magic, 4: compressed key
	copy(compact[1:], sig[:64])
	pub, _, err := ecdsa.RecoverCompact(compact, hash)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrRecovery, err)
	}
	inv.Payee = pub
	return nil
}
