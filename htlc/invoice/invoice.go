package invoice

import (
	"crypto/sha256"
	"fmt"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"

	"github.com/flash-ln/flash/channel/lnwire"
)

const (
	// DefaultExpiry is how long an invoice stays payable when it has no x
	// field.
	DefaultExpiry = time.Hour

	// DefaultMinFinalCLTVExpiryDelta is the final hop's CLTV delta a payer
	// must use when the invoice has no c field.
	DefaultMinFinalCLTVExpiryDelta = 18

	// MaxFieldBytes is the most bytes a tagged field can carry: its length
	// is 10 bits counted in 5-bit groups, 1023*5/8 bytes.
	MaxFieldBytes = 1023 * 5 / 8

	// hopHintLen is the size of one r field entry: pubkey (33),
	// short_channel_id (8), fee_base_msat (4),
	// fee_proportional_millionths (4) and cltv_expiry_delta (2).
	hopHintLen = 33 + 8 + 4 + 4 + 2
)

// Fallback address versions that are not witness versions (0 to 16).
const (
	FallbackP2PKH byte = 17
	FallbackP2SH  byte = 18
)

// networks lists the currency prefixes Flash understands, longest first so
// that "bcrt" is not read as "bc" followed by an amount, and "tbs" not as
// "tb".
var networks = []struct {
	prefix string
	params *chaincfg.Params
}{
	{"bcrt", &chaincfg.RegressionNetParams},
	{"tbs", &chaincfg.SigNetParams},
	{"bc", &chaincfg.MainNetParams},
	{"tb", &chaincfg.TestNet3Params},
	{"sb", &chaincfg.SimNetParams},
}

// CurrencyPrefix returns the BOLT 11 currency prefix ("bc", "tb", "tbs",
// "bcrt", "sb") of a network, or an error for a network invoices cannot name.
// Testnet3 and testnet4 share "tb".
func CurrencyPrefix(net *chaincfg.Params) (string, error) {
	if net == nil {
		return "", fmt.Errorf("invoice: no network")
	}
	switch net.Name {
	case chaincfg.MainNetParams.Name:
		return "bc", nil
	case chaincfg.TestNet3Params.Name, chaincfg.TestNet4Params.Name:
		return "tb", nil
	case chaincfg.SigNetParams.Name:
		return "tbs", nil
	case chaincfg.RegressionNetParams.Name:
		return "bcrt", nil
	case chaincfg.SimNetParams.Name:
		return "sb", nil
	}
	return "", fmt.Errorf("invoice: network %q has no BOLT 11 prefix", net.Name)
}

// HopHint is one entry of an r field: a channel, usually private, that the
// payer may not know from gossip, with the forwarding policy of the node at
// its start.
type HopHint struct {
	NodeID                    *btcec.PublicKey
	ChannelID                 lnwire.ShortChannelID
	FeeBaseMsat               uint32
	FeeProportionalMillionths uint32
	CLTVExpiryDelta           uint16
}

// FallbackAddress is an on-chain address, from an f field, that the payer may
// use instead of Lightning. Version is a witness version (0 to 16),
// FallbackP2PKH or FallbackP2SH; Data is the witness program or the hash.
type FallbackAddress struct {
	Version byte
	Data    []byte
}

// NewFallbackAddress converts an address into its f field form.
func NewFallbackAddress(addr btcutil.Address) (FallbackAddress, error) {
	switch a := addr.(type) {
	case *btcutil.AddressPubKeyHash:
		return FallbackAddress{FallbackP2PKH, append([]byte(nil), a.ScriptAddress()...)}, nil
	case *btcutil.AddressScriptHash:
		return FallbackAddress{FallbackP2SH, append([]byte(nil), a.ScriptAddress()...)}, nil
	case *btcutil.AddressWitnessPubKeyHash:
		return FallbackAddress{a.WitnessVersion(), append([]byte(nil), a.WitnessProgram()...)}, nil
	case *btcutil.AddressWitnessScriptHash:
		return FallbackAddress{a.WitnessVersion(), append([]byte(nil), a.WitnessProgram()...)}, nil
	case *btcutil.AddressTaproot:
		return FallbackAddress{a.WitnessVersion(), append([]byte(nil), a.WitnessProgram()...)}, nil
	}
	return FallbackAddress{}, fmt.Errorf("invoice: fallback address type %T not supported", addr)
}

// Address returns the address for the given network.
func (f FallbackAddress) Address(net *chaincfg.Params) (btcutil.Address, error) {
	switch {
	case f.Version == FallbackP2PKH:
		return btcutil.NewAddressPubKeyHash(f.Data, net)
	case f.Version == FallbackP2SH:
		return btcutil.NewAddressScriptHashFromHash(f.Data, net)
	case f.Version == 0 && len(f.Data) == 20:
		return btcutil.NewAddressWitnessPubKeyHash(f.Data, net)
	case f.Version == 0 && len(f.Data) == 32:
		return btcutil.NewAddressWitnessScriptHash(f.Data, net)
	case f.Version == 1 && len(f.Data) == 32:
		return btcutil.NewAddressTaproot(f.Data, net)
	case f.Version <= 16:
		return nil, fmt.Errorf("invoice: witness version %d program of %d bytes has no address type", f.Version, len(f.Data))
	}
	return nil, fmt.Errorf("invoice: unknown fallback version %d", f.Version)
}

// valid reports whether the fallback is well formed: a known version with a
// program or hash of a size that version allows.
func (f FallbackAddress) valid() bool {
	switch {
	case f.Version == FallbackP2PKH || f.Version == FallbackP2SH:
		return len(f.Data) == 20
	case f.Version == 0:
		return len(f.Data) == 20 || len(f.Data) == 32
	case f.Version <= 16:
		return len(f.Data) >= 2 && len(f.Data) <= 40
	}
	return false
}

// Invoice is a BOLT 11 payment request.
//
// Zero values stand for absent optional fields: a nil Amount is "any
// amount", a zero Expiry or MinFinalCLTVExpiryDelta means the field is
// absent and the BOLT 11 default applies (see the OrDefault methods).
type Invoice struct {
	// Net is the chain the invoice is payable on, from its currency
	// prefix.
	Net *chaincfg.Params

	// Amount is the amount requested, nil for a donation of any amount.
	Amount *lnwire.MilliSatoshi

	// Timestamp is the creation time, in whole seconds.
	Timestamp time.Time

	// PaymentHash is the SHA256 of the preimage the payee releases (p).
	PaymentHash [32]byte

	// PaymentSecret is sent to the payee in the final onion payload so that
	// forwarding nodes cannot probe it (s).
	PaymentSecret [32]byte

	// Description (d) or DescriptionHash (h): exactly one is set.
	Description     *string
	DescriptionHash *[32]byte

	// Payee is the node to pay: the n field if present, otherwise the key
	// recovered from the signature. Encode writes an n field only if
	// IncludePayee is set; the signer must sign with Payee's key.
	Payee        *btcec.PublicKey
	IncludePayee bool

	// Expiry is the x field: how long after Timestamp the invoice may be
	// paid.
	Expiry time.Duration

	// MinFinalCLTVExpiryDelta is the c field.
	MinFinalCLTVExpiryDelta uint64

	// Fallbacks are the f fields, most preferred first.
	Fallbacks []FallbackAddress

	// RouteHints are the r fields: each is a route from a public node to the
	// payee, in forwarding order.
	RouteHints [][]HopHint

	// Features is the 9 field; nil or empty means no field.
	Features *lnwire.FeatureVector

	// Metadata is the m field, to be echoed in the final onion payload.
	Metadata []byte
}

// ExpiryOrDefault returns the invoice's expiry, or DefaultExpiry if it has
// no x field.
func (inv *Invoice) ExpiryOrDefault() time.Duration {
	if inv.Expiry == 0 {
		return DefaultExpiry
	}
	return inv.Expiry
}

// ExpiresAt returns the time after which the invoice must not be paid.
func (inv *Invoice) ExpiresAt() time.Time {
	return inv.Timestamp.Add(inv.ExpiryOrDefault())
}

// IsExpired reports whether the invoice has expired at now.
func (inv *Invoice) IsExpired(now time.Time) bool {
	return !now.Before(inv.ExpiresAt())
}

// MinFinalCLTVExpiryDeltaOrDefault returns the c field, or
// DefaultMinFinalCLTVExpiryDelta if it is absent.
func (inv *Invoice) MinFinalCLTVExpiryDeltaOrDefault() uint64 {
	if inv.MinFinalCLTVExpiryDelta == 0 {
		return DefaultMinFinalCLTVExpiryDelta
	}
	return inv.MinFinalCLTVExpiryDelta
}

// CheckDescription reports whether desc is the description the invoice
// commits to: equal to d, or hashing to h. BOLT 11 asks a payer to check
// an h field against the description it obtained by other means.
func (inv *Invoice) CheckDescription(desc string) bool {
	switch {
	case inv.Description != nil:
		return *inv.Description == desc
	case inv.DescriptionHash != nil:
		return sha256.Sum256([]byte(desc)) == *inv.DescriptionHash
	}
	return false
}
