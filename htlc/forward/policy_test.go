package forward

import (
	"bytes"
	"math"
	"reflect"
	"testing"

	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/htlc/onion"
	"github.com/flash-ln/flash/router/gossip"
)

func TestPolicyFee(t *testing.T) {
	tests := []struct {
		base, ppm uint32
		amt       lnwire.MilliSatoshi
		want      lnwire.MilliSatoshi
	}{
		{0, 0, 1_000_000, 0},
		{1000, 0, 1_000_000, 1000},
		{1000, 1, 1_000_000, 1001},
		{1000, 100, 1_000_000, 1100},
		// Rounded down: 999,999 * 1 / 1e6 is 0.
		{0, 1, 999_999, 0},
		{0, 1, 1_999_999, 1},
		{1, 1_000_000, 50_000_000, 50_000_001},
		// Saturates instead of wrapping.
		{math.MaxUint32, math.MaxUint32, math.MaxUint64, math.MaxUint64},
		{math.MaxUint32, 0, math.MaxUint64, math.MaxUint32},
	}
	for _, tt := range tests {
		p := Policy{FeeBaseMsat: tt.base, FeeProportionalMillionths: tt.ppm}
		if got := p.Fee(tt.amt); got != tt.want {
			t.Errorf("Fee(base %d, ppm %d, amt %d) = %d, want %d", tt.base, tt.ppm, tt.amt, got, tt.want)
		}
	}
}

func testChannel() ChannelInfo {
	return ChannelInfo{
		ChanID: lnwire.ChannelID{1},
		SCID:   lnwire.ShortChannelID{BlockHeight: 100, TxIndex: 1},
		Policy: Policy{
			FeeBaseMsat:               1000,
			FeeProportionalMillionths: 100,
			CLTVExpiryDelta:           40,
			HTLCMinimumMsat:           1000,
			HTLCMaximumMsat:           100_000_000,
		},
		Active:        true,
		AvailableMsat: 50_000_000,
		Update:        []byte{0x01, 0x02, 0xaa},
	}
}

func TestCheckForward(t *testing.T) {
	const height = 100
	upd := testChannel().Update
	// Forwarding 1,000,000 msat costs 1000 + 1,000,000*100/1e6 = 1100
	// msat; the delta is 40 blocks; expiries must lie in (114, 2116].
	okIn := HTLCTerms{AmountMsat: 1_001_100, CLTVExpiry: 240}
	okFwd := ForwardTerms{AmtToForward: 1_000_000, OutgoingCLTV: 200}
	tests := []struct {
		name string
		in   HTLCTerms
		fwd  ForwardTerms
		ch   func(*ChannelInfo) *ChannelInfo
		want onion.FailureMessage
	}{
		{name: "exact fee and delta", in: okIn, fwd: okFwd},
		{name: "overpaid", in: HTLCTerms{AmountMsat: 2_000_000, CLTVExpiry: 300}, fwd: okFwd},
		{name: "unknown next peer", in: okIn, fwd: okFwd,
			ch: func(*ChannelInfo) *ChannelInfo { return nil }, want: &onion.UnknownNextPeer{}},
		{name: "disabled", in: okIn, fwd: okFwd,
			ch:   func(c *ChannelInfo) *ChannelInfo { c.Policy.Disabled = true; return c },
			want: &onion.ChannelDisabled{Update: upd}},
		{name: "inactive", in: okIn, fwd: okFwd,
			ch:   func(c *ChannelInfo) *ChannelInfo { c.Active = false; return c },
			want: &onion.TemporaryChannelFailure{Update: upd}},
		{name: "below minimum", in: HTLCTerms{AmountMsat: 2099, CLTVExpiry: 240},
			fwd:  ForwardTerms{AmtToForward: 999, OutgoingCLTV: 200},
			want: &onion.AmountBelowMinimum{HtlcMsat: 2099, Update: upd}},
		{name: "at minimum", in: HTLCTerms{AmountMsat: 2000, CLTVExpiry: 240},
			fwd: ForwardTerms{AmtToForward: 1000, OutgoingCLTV: 200}},
		{name: "above maximum", in: HTLCTerms{AmountMsat: 200_000_000, CLTVExpiry: 240},
			fwd:  ForwardTerms{AmtToForward: 100_000_001, OutgoingCLTV: 200},
			want: &onion.TemporaryChannelFailure{Update: upd}},
		{name: "fee one short", in: HTLCTerms{AmountMsat: 1_001_099, CLTVExpiry: 240}, fwd: okFwd,
			want: &onion.FeeInsufficient{HtlcMsat: 1_001_099, Update: upd}},
		{name: "incoming below forward", in: HTLCTerms{AmountMsat: 999_999, CLTVExpiry: 240}, fwd: okFwd,
			want: &onion.FeeInsufficient{HtlcMsat: 999_999, Update: upd}},
		{name: "delta one short", in: HTLCTerms{AmountMsat: 1_001_100, CLTVExpiry: 239}, fwd: okFwd,
			want: &onion.IncorrectCltvExpiry{CltvExpiry: 239, Update: upd}},
		{name: "incoming expiry below outgoing", in: HTLCTerms{AmountMsat: 1_001_100, CLTVExpiry: 150}, fwd: okFwd,
			want: &onion.IncorrectCltvExpiry{CltvExpiry: 150, Update: upd}},
		{name: "expiry too soon", in: HTLCTerms{AmountMsat: 1_001_100, CLTVExpiry: 154},
			fwd:  ForwardTerms{AmtToForward: 1_000_000, OutgoingCLTV: 114},
			want: &onion.ExpiryTooSoon{Update: upd}},
		{name: "just late enough", in: HTLCTerms{AmountMsat: 1_001_100, CLTVExpiry: 155},
			fwd: ForwardTerms{AmtToForward: 1_000_000, OutgoingCLTV: 115}},
		{name: "expiry too far", in: HTLCTerms{AmountMsat: 1_001_100, CLTVExpiry: 2157},
			fwd:  ForwardTerms{AmtToForward: 1_000_000, OutgoingCLTV: 2117},
			want: &onion.ExpiryTooFar{}},
		{name: "furthest allowed", in: HTLCTerms{AmountMsat: 1_001_100, CLTVExpiry: 2156},
			fwd: ForwardTerms{AmtToForward: 1_000_000, OutgoingCLTV: 2116}},
		{name: "not enough balance", in: HTLCTerms{AmountMsat: 60_000_000, CLTVExpiry: 240},
			fwd:  ForwardTerms{AmtToForward: 50_000_001, OutgoingCLTV: 200},
			want: &onion.TemporaryChannelFailure{Update: upd}},
		{name: "whole balance", in: HTLCTerms{AmountMsat: 60_000_000, CLTVExpiry: 240},
			fwd: ForwardTerms{AmtToForward: 50_000_000, OutgoingCLTV: 200}},
		{name: "no maximum", in: HTLCTerms{AmountMsat: 60_000_000, CLTVExpiry: 240},
			fwd: ForwardTerms{AmtToForward: 50_000_000, OutgoingCLTV: 200},
			ch: func(c *ChannelInfo) *ChannelInfo {
				c.Policy.HTLCMaximumMsat = 0
				return c
			}},
		{name: "huge amounts", in: HTLCTerms{AmountMsat: math.MaxUint64, CLTVExpiry: 240},
			fwd:  ForwardTerms{AmtToForward: math.MaxUint64 - 1, OutgoingCLTV: 200},
			want: &onion.FeeInsufficient{HtlcMsat: math.MaxUint64, Update: upd},
			ch: func(c *ChannelInfo) *ChannelInfo {
				c.Policy.HTLCMaximumMsat = 0
				c.AvailableMsat = math.MaxUint64
				return c
			}},
		{name: "expiries near overflow", in: HTLCTerms{AmountMsat: 1_001_100, CLTVExpiry: math.MaxUint32},
			fwd:  ForwardTerms{AmtToForward: 1_000_000, OutgoingCLTV: math.MaxUint32 - 40},
			want: &onion.ExpiryTooFar{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch := testChannel()
			out := &ch
			if tt.ch != nil {
				out = tt.ch(out)
			}
			got := CheckForward(tt.in, tt.fwd, out, height, DefaultLimits())
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("CheckForward = %#v, want %#v", got, tt.want)
			}
			if got != nil {
				// Every failure must survive the wire.
				dec, err := onion.DecodeFailure(onion.EncodeFailure(got))
				if err != nil || dec.Code() != got.Code() {
					t.Fatalf("round trip of %v: %v, %v", got, dec, err)
				}
			}
		})
	}
}

func TestPolicyFromUpdate(t *testing.T) {
	u := &gossip.ChannelUpdate{
		ShortChannelID:            lnwire.ShortChannelID{BlockHeight: 7, TxIndex: 3, TxPosition: 1},
		MessageFlags:              gossip.MsgFlagMustBeOne,
		ChannelFlags:              gossip.ChanFlagDirection | gossip.ChanFlagDisabled,
		CltvExpiryDelta:           144,
		HTLCMinimumMsat:           1,
		FeeBaseMsat:               1000,
		FeeProportionalMillionths: 1,
		HTLCMaximumMsat:           990_000_000,
	}
	want := Policy{FeeBaseMsat: 1000, FeeProportionalMillionths: 1, CLTVExpiryDelta: 144,
		HTLCMinimumMsat: 1, HTLCMaximumMsat: 990_000_000, Disabled: true}
	if got := PolicyFromUpdate(u); got != want {
		t.Fatalf("PolicyFromUpdate = %+v, want %+v", got, want)
	}
	b, err := EncodeUpdate(u)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b[:2], []byte{0x01, 0x02}) {
		t.Fatalf("channel_update in a failure starts with %x, want type 258", b[:2])
	}
	var back gossip.ChannelUpdate
	if err := back.Decode(bytes.NewReader(b[2:])); err != nil {
		t.Fatal(err)
	}
	if !back.SamePolicy(u) {
		t.Fatal("channel_update changed through EncodeUpdate")
	}
}
