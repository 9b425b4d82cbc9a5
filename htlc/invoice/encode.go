package invoice

import (
	"errors"
	"fmt"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/ecdsa"
	"github.com/btcsuite/btcd/btcutil/bech32"
)

// Signer signs the SHA256 hash of an invoice with the payee's node key and
// returns 65 bytes: r and s (32 bytes each, big-endian) and the recovery id
// (0 to 3). It is a function so that the key can stay in the daemon's key
// store.
type Signer func(hash []byte) ([]byte, error)

// SignerFromKey returns a Signer that signs with priv (RFC 6979, low S).
func SignerFromKey(priv *btcec.PrivateKey) Signer {
	return func(hash []byte) ([]byte, error) {
		// SignCompact returns the recovery header byte first.
		c := ecdsa.SignCompact(priv, hash, true)
		sig := make([]byte, 65)
		copy(sig, c[1:])
		sig[64] = (c[0] - 27) & 3
		return sig, nil
	}
}

// Encode writes inv as a signed BOLT 11 string, lower case. Fields are
// written in the order s, p, d or h, n, x, c, f, r, 9, m, each in its
// minimal length; absent optional fields are omitted. If inv.Payee is set,
// the signature must recover to it, which catches a signer holding the
// wrong key.
func Encode(inv *Invoice, sign Signer) (string, error) {
	hrp, data, err := encodeUnsigned(inv)
	if err != nil {
		return "", err
	}
	hash := signingHash(hrp, data)
	sig, err := sign(hash[:])
	if err != nil {
		return "", fmt.Errorf("invoice: sign: %w", err)
	}
	if len(sig) != 65 || sig[64] > 3 {
		return "", fmt.Errorf("invoice: signer returned %d bytes, want r||s||recovery id", len(sig))
	}
	if inv.Payee != nil {
		check := &Invoice{}
		if err := checkSignature(check, hash[:], sig); err != nil {
			return "", err
		}
		if !check.Payee.IsEqual(inv.Payee) {
			return "", fmt.Errorf("%w: signer's key is not the payee's", ErrInvalidSignature)
		}
	}
	data = append(data, bytesToGroups(sig)...)
	s, err := bech32.Encode(hrp, data)
	if err != nil {
		return "", fmt.Errorf("invoice: bech32: %w", err)
	}
	return s, nil
}

// encodeUnsigned returns the human-readable part and the 5-bit data part
// without the signature.
func encodeUnsigned(inv *Invoice) (string, []byte, error) {
	prefix, err := CurrencyPrefix(inv.Net)
	if err != nil {
		return "", nil, err
	}
	hrp := "ln" + prefix
	if inv.Amount != nil {
		a, err := formatAmount(*inv.Amount)
		if err != nil {
			return "", nil, err
		}
		hrp += a
	}

	ts := inv.Timestamp.Unix()
	if ts < 0 || ts >= 1<<35 {
		return "", nil, fmt.Errorf("invoice: timestamp %v does not fit 35 bits", inv.Timestamp)
	}
	switch {
	case inv.Description == nil && inv.DescriptionHash == nil:
		return "", nil, ErrMissingDescription
	case inv.Description != nil && inv.DescriptionHash != nil:
		return "", nil, ErrBothDescriptions
	}
	if inv.Expiry < 0 || inv.Expiry%time.Second != 0 {
		return "", nil, fmt.Errorf("invoice: expiry %v is not a whole number of seconds", inv.Expiry)
	}
	if inv.IncludePayee && inv.Payee == nil {
		return "", nil, errors.New("invoice: IncludePayee without Payee")
	}

	w := &fieldWriter{data: uintToGroupsFixed(uint64(ts), timestampGroups)}
	w.bytes(fieldPaymentSecret, inv.PaymentSecret[:])
	w.bytes(fieldPaymentHash, inv.PaymentHash[:])
	if inv.Description != nil {
		w.bytes(fieldDescription, []byte(*inv.Description))
	} else {
		w.bytes(fieldDescriptionHash, inv.DescriptionHash[:])
	}
	if inv.IncludePayee {
		w.bytes(fieldPayee, inv.Payee.SerializeCompressed())
	}
	if inv.Expiry > 0 {
		w.groups(fieldExpiry, uintToGroups(uint64(inv.Expiry/time.Second)))
	}
	if inv.MinFinalCLTVExpiryDelta > 0 {
		w.groups(fieldMinFinalCLTV, uintToGroups(inv.MinFinalCLTVExpiryDelta))
	}
	for _, f := range inv.Fallbacks {
		if !f.valid() {
			return "", nil, fmt.Errorf("invoice: invalid fallback address version %d of %d bytes", f.Version, len(f.Data))
		}
		w.groups(fieldFallback, append([]byte{f.Version}, bytesToGroups(f.Data)...))
	}
	for _, route := range inv.RouteHints {
		if len(route) == 0 {
			return "", nil, errors.New("invoice: empty route hint")
		}
		b := make([]byte, 0, len(route)*hopHintLen)
		for _, h := range route {
			if h.NodeID == nil {
				return "", nil, errors.New("invoice: route hint without node id")
			}
			b = append(b, h.NodeID.SerializeCompressed()...)
			b = appendUint(b, h.ChannelID.ToUint64(), 8)
			b = appendUint(b, uint64(h.FeeBaseMsat), 4)
			b = appendUint(b, uint64(h.FeeProportionalMillionths), 4)
			b = appendUint(b, uint64(h.CLTVExpiryDelta), 2)
		}
		w.bytes(fieldRouteHint, b)
	}
	if g := featuresToGroups(inv.Features); len(g) > 0 {
		w.groups(fieldFeatures, g)
	}
	if len(inv.Metadata) > 0 {
		w.bytes(fieldMetadata, inv.Metadata)
	}
	if w.err != nil {
		return "", nil, w.err
	}
	return hrp, w.data, nil
}

// fieldWriter appends tagged fields, remembering the first error.
type fieldWriter struct {
	data []byte
	err  error
}

func (w *fieldWriter) bytes(typ byte, b []byte) { w.groups(typ, bytesToGroups(b)) }

func (w *fieldWriter) groups(typ byte, g []byte) {
	if w.err != nil {
		return
	}
	if len(g) > 1023 {
		w.err = fmt.Errorf("invoice: field %c of %d groups exceeds the 1023-group limit", bech32Char(typ), len(g))
		return
	}
	w.data = append(w.data, typ, byte(len(g)>>5), byte(len(g)&31))
	w.data = append(w.data, g...)
}

func appendUint(b []byte, v uint64, n int) []byte {
	for i := n - 1; i >= 0; i-- {
		b = append(b, byte(v>>(8*i)))
	}
	return b
}
