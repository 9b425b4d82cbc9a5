package invoice

import (
	"errors"
	"fmt"
	"strings"

	"github.com/flash-ln/flash/channel/lnwire"
)

// Errors returned by Decode, one per way an invoice can be invalid, so that
// callers can branch with errors.Is. Decode wraps them with details.
var (
	ErrBech32             = errors.New("invoice: malformed bech32 string")
	ErrBech32m            = errors.New("invoice: bech32m checksum, want bech32")
	ErrUnknownPrefix      = errors.New("invoice: unknown human-readable prefix")
	ErrWrongNetwork       = errors.New("invoice: invoice is for another network")
	ErrInvalidAmount      = errors.New("invoice: invalid amount")
	ErrInvalidMultiplier  = errors.New("invoice: invalid amount multiplier")
	ErrSubMillisatoshi    = errors.New("invoice: amount has sub-millisatoshi precision")
	ErrTooShort           = errors.New("invoice: data part too short")
	ErrTruncatedField     = errors.New("invoice: tagged field runs past the signature")
	ErrInvalidField       = errors.New("invoice: invalid tagged field")
	ErrMissingPaymentHash = errors.New("invoice: missing payment hash (p)")
	ErrMissingSecret      = errors.New("invoice: missing payment secret (s)")
	ErrMissingDescription = errors.New("invoice: missing description (d or h)")
	ErrBothDescriptions   = errors.New("invoice: both description (d) and description hash (h)")
	ErrInvalidSignature   = errors.New("invoice: invalid signature")
	ErrRecovery           = errors.New("invoice: signature is not recoverable")
	ErrHighS              = errors.New("invoice: non-canonical (high-S) signature")
)

// UnknownRequiredFeaturesError is returned when the 9 field sets even
// feature bits the reader does not know: BOLT 11 says the payment must then
// fail.
type UnknownRequiredFeaturesError struct {
	Bits []lnwire.FeatureBit
}

func (e *UnknownRequiredFeaturesError) Error() string {
	s := make([]string, len(e.Bits))
	for i, b := range e.Bits {
		s[i] = fmt.Sprint(uint16(b))
	}
	return "invoice: unknown required feature bits " + strings.Join(s, ", ")
}
