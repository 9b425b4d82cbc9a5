package funding

import (
	"fmt"

	"github.com/btcsuite/btcd/btcutil"

	"github.com/flash-ln/flash/channel/lnwire"
)

// BOLT 2 and BOLT 3 constants of channel establishment.
const (
	// MaxAcceptedHTLCsLimit is the largest max_accepted_htlcs BOLT 2
	// allows, so that a commitment with every HTLC stays a standard
	// transaction.
	MaxAcceptedHTLCsLimit = 483
	// MinDustLimit is the smallest dust_limit_satoshis BOLT 2 allows: the
	// dust threshold of the largest standard output (P2WSH).
	MinDustLimit btcutil.Amount = 354
	// MaxStandardChannelSize is the largest funding_satoshis without
	// option_support_large_channel: 2^24 - 1.
	MaxStandardChannelSize btcutil.Amount = 1<<24 - 1
	// FeeFloorPerKw is the lowest fee rate that relays: 253 sat/kw, the
	// 1 sat/vbyte minimum relay fee rounded up.
	FeeFloorPerKw = 253
	// ForgetAfterBlocks is how long the fundee waits for a funding
	// transaction that never appears before forgetting the channel.
	ForgetAfterBlocks = 2016
)

// Policy is what we accept and ask for when a channel is opened, in either
// direction. DefaultPolicy gives sensible values; the daemon overrides some
// of them from its configuration.
type Policy struct {
	// MinChannelSize and MaxChannelSize bound funding_satoshis.
	// MaxChannelSize above MaxStandardChannelSize needs LargeChannels.
	MinChannelSize btcutil.Amount
	MaxChannelSize btcutil.Amount
	// LargeChannels is true when we advertise
	// option_support_large_channel.
	LargeChannels bool

	// DustLimit is our dust_limit_satoshis: outputs below it are left out
	// of our commitment transactions.
	DustLimit btcutil.Amount
	// MaxPeerDustLimit is the largest dust_limit_satoshis we accept from
	// the peer: a large one lets it burn our HTLCs as fees.
	MaxPeerDustLimit btcutil.Amount

	// ToSelfDelay is the to_self_delay we impose on the peer's outputs:
	// how long we have to punish a revoked commitment.
	ToSelfDelay uint16
	// MaxToSelfDelay is the longest to_self_delay we let the peer impose
	// on our own outputs.
	MaxToSelfDelay uint16

	// MaxAcceptedHTLCs, HTLCMinimum and MaxHTLCValueInFlight limit the
	// HTLCs the peer may offer us. A MaxHTLCValueInFlight of zero means
	// the whole capacity.
	MaxAcceptedHTLCs     uint16
	HTLCMinimum          lnwire.MilliSatoshi
	MaxHTLCValueInFlight lnwire.MilliSatoshi

	// MinimumDepth is the minimum_depth we ask for as fundee;
	// MaxMinimumDepth the largest we accept from the fundee as funder.
	MinimumDepth    uint32
	MaxMinimumDepth uint32

	// FeeRatio bounds the funder's feerate_per_kw relative to our own
	// estimate: within [estimate/FeeRatio, estimate*FeeRatio]. MaxFeePerKw
	// is an absolute ceiling, also applied to later update_fee.
	FeeRatio    uint32
	MaxFeePerKw uint32

	// RequireAnnounce refuses channels whose funder does not want them
	// announced.
	RequireAnnounce bool
}

// DefaultPolicy returns the policy of a regtest node: channels from 20,000
// to 16,777,215 satoshis, three confirmations.
func DefaultPolicy() Policy {
	return Policy{
		MinChannelSize:   20_000,
		MaxChannelSize:   MaxStandardChannelSize,
		DustLimit:        MinDustLimit,
		MaxPeerDustLimit: 20_000,
		ToSelfDelay:      144,
		MaxToSelfDelay:   2016,
		MaxAcceptedHTLCs: MaxAcceptedHTLCsLimit,
		HTLCMinimum:      1,
		MinimumDepth:     3,
		MaxMinimumDepth:  144,
		FeeRatio:         10,
		MaxFeePerKw:      100_000,
	}
}

// Validate checks that the policy itself respects BOLT 2, so that a bad
// configuration is reported at start and not to a peer.
func (p *Policy) Validate() error {
	bad := func(format string, args ...any) error {
		return &Error{Code: CodeInternal, Field: "policy", Detail: fmt.Sprintf(format, args...)}
	}
	switch {
	case p.MinChannelSize <= 0 || p.MaxChannelSize < p.MinChannelSize:
		return bad("channel size bounds [%d, %d]", p.MinChannelSize, p.MaxChannelSize)
	case p.MaxChannelSize > MaxStandardChannelSize && !p.LargeChannels:
		return bad("max channel size %d needs option_support_large_channel", p.MaxChannelSize)
	case p.MaxChannelSize > btcutil.MaxSatoshi:
		return bad("max channel size %d above 21 million bitcoin", p.MaxChannelSize)
	case p.DustLimit < MinDustLimit:
		return bad("dust limit %d below %d", p.DustLimit, MinDustLimit)
	case p.MaxPeerDustLimit < MinDustLimit:
		return bad("max peer dust limit %d below %d", p.MaxPeerDustLimit, MinDustLimit)
	case p.MaxAcceptedHTLCs == 0 || p.MaxAcceptedHTLCs > MaxAcceptedHTLCsLimit:
		return bad("max accepted htlcs %d outside [1, %d]", p.MaxAcceptedHTLCs, MaxAcceptedHTLCsLimit)
	case p.MaxToSelfDelay < p.ToSelfDelay:
		return bad("max to_self_delay %d below our own %d", p.MaxToSelfDelay, p.ToSelfDelay)
	case p.MinimumDepth == 0 || p.MaxMinimumDepth < p.MinimumDepth:
		return bad("minimum depth %d, max %d", p.MinimumDepth, p.MaxMinimumDepth)
	case p.FeeRatio < 1:
		return bad("fee ratio %d", p.FeeRatio)
	case p.MaxFeePerKw < FeeFloorPerKw:
		return bad("max fee rate %d below the floor %d", p.MaxFeePerKw, FeeFloorPerKw)
	}
	return nil
}

// reserve is the channel_reserve_satoshis we ask the peer to keep: 1% of
// the capacity, and never below a dust limit, so that the reserve is an
// output either side's commitment keeps.
func (p *Policy) reserve(capacity, peerDust btcutil.Amount) btcutil.Amount {
	return max(capacity/100, p.DustLimit, peerDust)
}

// maxInFlight is the max_htlc_value_in_flight_msat we announce.
func (p *Policy) maxInFlight(capacity btcutil.Amount) lnwire.MilliSatoshi {
	capMsat := lnwire.NewMSatFromSatoshis(uint64(capacity))
	if p.MaxHTLCValueInFlight == 0 || p.MaxHTLCValueInFlight > capMsat {
		return capMsat
	}
	return p.MaxHTLCValueInFlight
}

// checkCapacity applies the channel size bounds to funding_satoshis.
func (p *Policy) checkCapacity(sat uint64) error {
	if sat < uint64(p.MinChannelSize) {
		return &Error{Code: CodeChannelTooSmall, Field: "funding_satoshis",
			Detail: fmt.Sprintf("%d sat below the minimum of %d sat", sat, p.MinChannelSize)}
	}
	limit := uint64(p.MaxChannelSize)
	if !p.LargeChannels {
		limit = min(limit, uint64(MaxStandardChannelSize))
	}
	if sat > limit {
		return &Error{Code: CodeChannelTooLarge, Field: "funding_satoshis",
			Detail: fmt.Sprintf("%d sat above the maximum of %d sat", sat, limit)}
	}
	return nil
}

// checkFeeRate applies BOLT 2's "too small for timely processing or
// unreasonably large" to a funder's feerate_per_kw, against our estimate
// (zero when we have none).
func (p *Policy) checkFeeRate(feePerKw, estimate uint32) error {
	ratio := uint64(max(p.FeeRatio, 1))
	low := uint64(FeeFloorPerKw)
	high := uint64(p.MaxFeePerKw)
	if estimate > 0 {
		// An estimate out of range on either side must not make the
		// interval empty: the absolute floor and ceiling win.
		low = min(max(low, uint64(estimate)/ratio), high)
		high = max(min(high, uint64(estimate)*ratio), low)
	}
	switch {
	case uint64(feePerKw) < low:
		return &Error{Code: CodeFeeTooLow, Field: "feerate_per_kw",
			Detail: fmt.Sprintf("%d sat/kw below %d sat/kw", feePerKw, low)}
	case uint64(feePerKw) > high:
		return &Error{Code: CodeFeeTooHigh, Field: "feerate_per_kw",
			Detail: fmt.Sprintf("%d sat/kw above %d sat/kw", feePerKw, high)}
	}
	return nil
}
