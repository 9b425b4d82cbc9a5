package invoice

import (
	"fmt"
	"math"
	"math/bits"
	"strconv"

	"github.com/flash-ln/flash/channel/lnwire"
)

// msatPerBTC is the number of millisatoshis in one bitcoin, the unit of the
// human-readable amount.
const msatPerBTC = 100_000_000_000

// maxMsat is 21 million bitcoin: no larger amount can be real.
const maxMsat = 21_000_000 * msatPerBTC

// multipliers gives, for each multiplier letter, the millisatoshis per unit
// times ten, so that pico (a tenth of a millisatoshi) is an integer.
var multipliers = map[byte]uint64{
	'm': msatPerBTC / 1_000 * 10,
	'u': msatPerBTC / 1_000_000 * 10,
	'n': msatPerBTC / 1_000_000_000 * 10,
	'p': 1,
}

// parseAmount reads the amount of the human-readable part (after the
// currency prefix): decimal digits with an optional multiplier letter.
func parseAmount(s string) (lnwire.MilliSatoshi, error) {
	if s == "" {
		return 0, fmt.Errorf("%w: empty", ErrInvalidAmount)
	}
	tenths := uint64(msatPerBTC * 10)
	digits := s
	last := s[len(s)-1]
	if last < '0' || last > '9' {
		m, ok := multipliers[last]
		if !ok {
			return 0, fmt.Errorf("%w: %q", ErrInvalidMultiplier, last)
		}
		tenths = m
		digits = s[:len(s)-1]
	}
	if digits == "" {
		return 0, fmt.Errorf("%w: %q has no digits", ErrInvalidAmount, s)
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, fmt.Errorf("%w: %q", ErrInvalidAmount, s)
		}
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %q: %v", ErrInvalidAmount, s, err)
	}
	if n == 0 {
		return 0, fmt.Errorf("%w: zero", ErrInvalidAmount)
	}
	var msat uint64
	if tenths == 1 {
		// Pico-bitcoin is a tenth of a millisatoshi.
		if n%10 != 0 {
			return 0, fmt.Errorf("%w: %q", ErrSubMillisatoshi, s)
		}
		msat = n / 10
	} else {
		hi, lo := bits.Mul64(n, tenths/10)
		if hi != 0 {
			return 0, fmt.Errorf("%w: %q exceeds 21 million bitcoin", ErrInvalidAmount, s)
		}
		msat = lo
	}
	if msat > maxMsat {
		return 0, fmt.Errorf("%w: %q exceeds 21 million bitcoin", ErrInvalidAmount, s)
	}
	return lnwire.MilliSatoshi(msat), nil
}

// formatAmount writes an amount in its shortest form: the largest
// multiplier that keeps the number whole.
func formatAmount(m lnwire.MilliSatoshi) (string, error) {
	v := uint64(m)
	if v == 0 || v > maxMsat {
		return "", fmt.Errorf("%w: %d msat", ErrInvalidAmount, v)
	}
	if v%msatPerBTC == 0 {
		return strconv.FormatUint(v/msatPerBTC, 10), nil
	}
	for _, l := range []byte{'m', 'u', 'n'} {
		per := multipliers[l] / 10
		if v%per == 0 {
			return strconv.FormatUint(v/per, 10) + string(l), nil
		}
	}
	if v > math.MaxUint64/10 {
		return "", fmt.Errorf("%w: %d msat", ErrInvalidAmount, v)
	}
	return strconv.FormatUint(v*10, 10) + "p", nil
}
