package forward

import (
	"bytes"
	"fmt"
	"math"
	"math/bits"

	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/htlc/onion"
	"github.com/flash-ln/flash/router/gossip"
)

// Policy is the forwarding policy this node announces for one outgoing
// channel in its channel_update (BOLT 7).
type Policy struct {
	FeeBaseMsat               uint32
	FeeProportionalMillionths uint32
	// CLTVExpiryDelta is the least difference this node accepts between
	// an incoming HTLC's expiry and the one it forwards.
	CLTVExpiryDelta uint16
	HTLCMinimumMsat lnwire.MilliSatoshi
	// HTLCMaximumMsat bounds a single HTLC; zero means no bound beyond the
	// channel's own limits.
	HTLCMaximumMsat lnwire.MilliSatoshi
	// Disabled is the channel_update's disable bit.
	Disabled bool
}

// Fee is the fee the policy charges to forward amt, by BOLT 7's formula:
// fee_base_msat + amt * fee_proportional_millionths / 1,000,000, rounded
// down. The result saturates at the largest MilliSatoshi instead of
// wrapping, so an absurd amount is refused rather than waved through.
func (p Policy) Fee(amt lnwire.MilliSatoshi) lnwire.MilliSatoshi {
	hi, lo := bits.Mul64(uint64(amt), uint64(p.FeeProportionalMillionths))
	if hi >= 1_000_000 {
		return math.MaxUint64
	}
	prop, _ := bits.Div64(hi, lo, 1_000_000)
	sum, carry := bits.Add64(prop, uint64(p.FeeBaseMsat), 0)
	if carry != 0 {
		return math.MaxUint64
	}
	return lnwire.MilliSatoshi(sum)
}

// PolicyFromUpdate reads the policy out of a channel_update.
func PolicyFromUpdate(u *gossip.ChannelUpdate) Policy {
	p := Policy{
		FeeBaseMsat:               u.FeeBaseMsat,
		FeeProportionalMillionths: u.FeeProportionalMillionths,
		CLTVExpiryDelta:           u.CltvExpiryDelta,
		HTLCMinimumMsat:           u.HTLCMinimumMsat,
		HTLCMaximumMsat:           u.HTLCMaximumMsat,
		Disabled:                  u.ChannelFlags&gossip.ChanFlagDisabled != 0,
	}
	return p
}

// EncodeUpdate returns a channel_update as failure messages carry it: with
// its two-byte message type in front, which BOLT 4 asks senders to include.
func EncodeUpdate(u *gossip.ChannelUpdate) ([]byte, error) {
	var b bytes.Buffer
	b.Write([]byte{byte(u.MsgType() >> 8), byte(u.MsgType())})
	if err := u.Encode(&b); err != nil {
		return nil, fmt.Errorf("encode channel_update %s: %w", u.ShortChannelID, err)
	}
	return b.Bytes(), nil
}

// ChannelInfo is what the switch needs to know of an outgoing channel at the
// moment it forwards.
type ChannelInfo struct {
	ChanID lnwire.ChannelID
	SCID   lnwire.ShortChannelID
	Policy Policy
	// Active is false while the channel cannot take an HTLC now: peer
	// offline, reestablish not finished, shutting down.
	Active bool
	// AvailableMsat is what this node could offer in one more HTLC on the
	// channel now, after reserve, fees and pending HTLCs.
	AvailableMsat lnwire.MilliSatoshi
	// Update is our current channel_update for the channel, encoded as
	// EncodeUpdate does, attached to the failures that carry one so the
	// payer can retry with our real policy. It may be nil for a channel
	// not announced yet.
	Update []byte
}

// ChannelSource finds the outgoing channel an onion names.
type ChannelSource interface {
	// ChannelByShortID returns the channel with that short channel id
	// (or alias), and false if this node has none.
	ChannelByShortID(scid lnwire.ShortChannelID) (ChannelInfo, bool)
}

// Limits are this node's own bounds on the expiries it forwards, beyond the
// outgoing channel's policy.
type Limits struct {
	// MinOutgoingMargin: an outgoing HTLC must expire more than this many
	// blocks above the current height, leaving time to get the incoming
	// HTLC resolved on chain if the next hop does not answer
	// (expiry_too_soon otherwise).
	MinOutgoingMargin uint32
	// MaxOutgoingExpiry: an outgoing HTLC may not expire more than this
	// many blocks above the current height, which would lock our funds
	// for too long (expiry_too_far otherwise).
	MaxOutgoingExpiry uint32
}

// Default limits. The margin covers BOLT 2's going-on-chain deadline with a
// few blocks of reorganisation; two weeks of blocks is the longest lock the
// network commonly accepts.
const (
	DefaultMinOutgoingMargin = 14
	DefaultMaxOutgoingExpiry = 2016
)

// DefaultLimits returns the default limits.
func DefaultLimits() Limits {
	return Limits{MinOutgoingMargin: DefaultMinOutgoingMargin, MaxOutgoingExpiry: DefaultMaxOutgoingExpiry}
}

// HTLCTerms are the amount and expiry of an HTLC as update_add_htlc carries
// them.
type HTLCTerms struct {
	AmountMsat lnwire.MilliSatoshi
	CLTVExpiry uint32
}

// ForwardTerms are what the onion asks this node to forward.
type ForwardTerms struct {
	AmtToForward lnwire.MilliSatoshi
	OutgoingCLTV uint32
	SCID         lnwire.ShortChannelID
}

// CheckForward decides whether an incoming HTLC may be forwarded as its
// onion asks, over out (nil when the onion names a channel this node does not
// have), at the current height. It returns nil to forward, or the BOLT 4
// failure to send back.
//
// The fee and CLTV rules are exactly the announced policy's: the incoming
// amount must cover amt_to_forward plus Policy.Fee(amt_to_forward), and the
// incoming expiry must be at least cltv_expiry_delta above the outgoing one.
// Any HTLC that passes therefore pays its fee and leaves this node its
// delta, whatever the onion claims.
func CheckForward(in HTLCTerms, fwd ForwardTerms, out *ChannelInfo, height uint32, lim Limits) onion.FailureMessage {
	if out == nil {
		return &onion.UnknownNextPeer{}
	}
	upd := out.Update
	pol := out.Policy
	if pol.Disabled {
		// BOLT 4 defines no disabled_flags yet: they must be zero.
		return &onion.ChannelDisabled{Update: upd}
	}
	if !out.Active {
		return &onion.TemporaryChannelFailure{Update: upd}
	}
	if fwd.AmtToForward < pol.HTLCMinimumMsat {
		return &onion.AmountBelowMinimum{HtlcMsat: in.AmountMsat, Update: upd}
	}
	if pol.HTLCMaximumMsat != 0 && fwd.AmtToForward > pol.HTLCMaximumMsat {
		return &onion.TemporaryChannelFailure{Update: upd}
	}
	if in.AmountMsat < fwd.AmtToForward || in.AmountMsat-fwd.AmtToForward < pol.Fee(fwd.AmtToForward) {
		return &onion.FeeInsufficient{HtlcMsat: in.AmountMsat, Update: upd}
	}
	if in.CLTVExpiry < fwd.OutgoingCLTV || in.CLTVExpiry-fwd.OutgoingCLTV < uint32(pol.CLTVExpiryDelta) {
		return &onion.IncorrectCltvExpiry{CltvExpiry: in.CLTVExpiry, Update: upd}
	}
	if uint64(fwd.OutgoingCLTV) <= uint64(height)+uint64(lim.MinOutgoingMargin) {
		return &onion.ExpiryTooSoon{Update: upd}
	}
	if uint64(fwd.OutgoingCLTV) > uint64(height)+uint64(lim.MaxOutgoingExpiry) {
		return &onion.ExpiryTooFar{}
	}
	if fwd.AmtToForward > out.AvailableMsat {
		return &onion.TemporaryChannelFailure{Update: upd}
	}
	return nil
}
