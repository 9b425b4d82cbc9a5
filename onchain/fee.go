package onchain

import "github.com/btcsuite/btcd/btcutil"

// FeeRate is a fee rate in satoshis per 1000 weight units, the unit BOLT 3
// uses (feerate_per_kw). One vbyte is four weight units.
type FeeRate int64

// FeePerKwFloor is the lowest rate relayed by default policy: 1 sat/vbyte.
const FeePerKwFloor FeeRate = 250

// FeeRateFromSatPerVByte converts a user-facing sat/vB rate.
func FeeRateFromSatPerVByte(satPerVByte int64) FeeRate {
	return FeeRate(satPerVByte * 250)
}

// FeeForWeight is the fee for a transaction of the given weight, rounded down
// as BOLT 3 does.
func (r FeeRate) FeeForWeight(weight int64) btcutil.Amount {
	return btcutil.Amount(int64(r) * weight / 1000)
}

// FeeForVSize is the fee for a transaction of the given virtual size,
// rounded up so that the rate is never undershot.
func (r FeeRate) FeeForVSize(vsize int64) btcutil.Amount {
	return btcutil.Amount((int64(r)*vsize*4 + 999) / 1000)
}

// FeeEstimator estimates the rate that confirms within confTarget blocks.
type FeeEstimator interface {
	EstimateFeeRate(confTarget uint32) (FeeRate, error)
}
