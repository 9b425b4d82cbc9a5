package lnwire

import (
	"bytes"
	"encoding/hex"
	"reflect"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
)

// Hand-written encodings, each laid out field by field from the message's
// table in BOLT 1 or BOLT 2, so that a mistake shared by the encoder and
// the decoder cannot hide behind a round trip.

const (
	hexCID = "1111111111111111111111111111111111111111111111111111111111111111"
	// hexG is the secp256k1 generator, compressed.
	hexG = "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
)

func rep(b string, n int) string { return strings.Repeat(b, n) }

func fixtureG(t *testing.T) *btcec.PublicKey {
	pk, err := btcec.ParsePubKey(mustHex(t, hexG))
	if err != nil {
		t.Fatal(err)
	}
	return pk
}

func TestFixtures(t *testing.T) {
	var cid ChannelID
	copy(cid[:], mustHex(t, hexCID))
	g := fixtureG(t)
	var sig22, sig33 Sig
	copy(sig22[:], bytes.Repeat([]byte{0x22}, 64))
	copy(sig33[:], bytes.Repeat([]byte{0x33}, 64))
	var b32 = func(v byte) (out [32]byte) {
		copy(out[:], bytes.Repeat([]byte{v}, 32))
		return out
	}
	var onion [OnionPacketSize]byte
	copy(onion[1:], bytes.Repeat([]byte{0x55}, OnionPacketSize-1))
	alias := ShortChannelID{BlockHeight: 1, TxIndex: 2, TxPosition: 3}

	tests := []struct {
		name string
		hex  string
		msg  Message
	}{{
		name: "update_fee",
		hex:  "0086" + hexCID + "000003e8",
		msg:  &UpdateFee{ChannelID: cid, FeeratePerKw: 1000},
	}, {
		name: "closing_signed with fee_range",
		hex: "0027" + hexCID + "00000000000001f4" + rep("22", 64) +
			"01" + "10" + "0000000000000064" + "00000000000003e8",
		msg: &ClosingSigned{ChannelID: cid, FeeSatoshis: 500, Signature: sig22,
			FeeRange: &FeeRange{MinFeeSatoshis: 100, MaxFeeSatoshis: 1000}},
	}, {
		name: "channel_reestablish",
		hex: "0088" + hexCID + "0000000000000005" + "0000000000000004" +
			rep("33", 32) + hexG,
		msg: &ChannelReestablish{ChannelID: cid, NextCommitmentNumber: 5,
			NextRevocationNumber: 4, YourLastPerCommitmentSecret: b32(0x33),
			MyCurrentPerCommitmentPoint: g},
	}, {
		name: "update_add_htlc with blinded_path",
		hex: "0080" + hexCID + "0000000000000001" + "00000000000f4240" + rep("44", 32) +
			"00000090" + "00" + rep("55", OnionPacketSize-1) + "00" + "21" + hexG,
		msg: &UpdateAddHTLC{ChannelID: cid, ID: 1, AmountMsat: 1000000,
			PaymentHash: b32(0x44), CltvExpiry: 144, OnionRoutingPacket: onion, PathKey: g},
	}, {
		name: "update_fulfill_htlc",
		hex:  "0082" + hexCID + "0000000000000007" + rep("66", 32),
		msg:  &UpdateFulfillHTLC{ChannelID: cid, ID: 7, PaymentPreimage: b32(0x66)},
	}, {
		name: "update_fail_htlc",
		hex:  "0083" + hexCID + "0000000000000007" + "0003" + "abcdef",
		msg:  &UpdateFailHTLC{ChannelID: cid, ID: 7, Reason: []byte{0xab, 0xcd, 0xef}},
	}, {
		name: "update_fail_malformed_htlc",
		hex:  "0087" + hexCID + "0000000000000007" + rep("77", 32) + "c005",
		msg: &UpdateFailMalformedHTLC{ChannelID: cid, ID: 7, SHA256OfOnion: b32(0x77),
			FailureCode: 0xc005},
	}, {
		name: "shutdown",
		hex:  "0026" + hexCID + "0016" + "0014" + rep("88", 20),
		msg: &Shutdown{ChannelID: cid,
			ScriptPubKey: append([]byte{0x00, 0x14}, bytes.Repeat([]byte{0x88}, 20)...)},
	}, {
		name: "commitment_signed with two htlc signatures",
		hex:  "0084" + hexCID + rep("22", 64) + "0002" + rep("33", 64) + rep("22", 64),
		msg: &CommitmentSigned{ChannelID: cid, Signature: sig22,
			HTLCSignatures: []Sig{sig33, sig22}},
	}, {
		name: "revoke_and_ack",
		hex:  "0085" + hexCID + rep("99", 32) + hexG,
		msg: &RevokeAndAck{ChannelID: cid, PerCommitmentSecret: b32(0x99),
			NextPerCommitmentPoint: g},
	}, {
		name: "channel_ready with alias",
		hex:  "0024" + hexCID + hexG + "01" + "08" + "000001" + "000002" + "0003",
		msg:  &ChannelReady{ChannelID: cid, SecondPerCommitmentPoint: g, Alias: &alias},
	}, {
		name: "funding_created",
		hex:  "0022" + hexCID + rep("aa", 32) + "0001" + rep("22", 64),
		msg: &FundingCreated{TemporaryChannelID: cid, FundingTxid: b32(0xaa),
			FundingOutputIndex: 1, Signature: sig22},
	}, {
		name: "open_channel with empty upfront_shutdown_script and channel_type",
		hex: "0020" + rep("0a", 32) + hexCID +
			"00000000000f4240" + // funding_satoshis 1,000,000
			"0000000000002710" + // push_msat 10,000
			"000000000000022a" + // dust_limit_satoshis 554
			"0000000005f5e100" + // max_htlc_value_in_flight_msat
			"0000000000002710" + // channel_reserve_satoshis 10,000
			"0000000000000001" + // htlc_minimum_msat
			"000001f4" + // feerate_per_kw 500
			"0090" + // to_self_delay 144
			"01e3" + // max_accepted_htlcs 483
			rep(hexG, 6) + "01" + // six points, announce_channel
			"00" + "00" + // upfront_shutdown_script, zero length
			"01" + "02" + "1000", // channel_type: option_static_remotekey
		msg: &OpenChannel{ChainHash: b32(0x0a), TemporaryChannelID: cid,
			FundingSatoshis: 1000000, PushMsat: 10000, DustLimitSatoshis: 554,
			MaxHTLCValueInFlightMsat: 100000000, ChannelReserveSatoshis: 10000,
			HTLCMinimumMsat: 1, FeeratePerKw: 500, ToSelfDelay: 144, MaxAcceptedHTLCs: 483,
			FundingPubKey: g, RevocationBasepoint: g, PaymentBasepoint: g,
			DelayedPaymentBasepoint: g, HTLCBasepoint: g, FirstPerCommitmentPoint: g,
			ChannelFlags: ChannelFlagAnnounce, UpfrontShutdownScript: []byte{},
			ChannelType: NewFeatureVector(StaticRemoteKey)},
	}, {
		name: "accept_channel without tlvs",
		hex: "0021" + hexCID + "000000000000022a" + "0000000005f5e100" +
			"0000000000002710" + "0000000000000001" + "00000003" + "0090" + "01e3" +
			rep(hexG, 6),
		msg: &AcceptChannel{TemporaryChannelID: cid, DustLimitSatoshis: 554,
			MaxHTLCValueInFlightMsat: 100000000, ChannelReserveSatoshis: 10000,
			HTLCMinimumMsat: 1, MinimumDepth: 3, ToSelfDelay: 144, MaxAcceptedHTLCs: 483,
			FundingPubKey: g, RevocationBasepoint: g, PaymentBasepoint: g,
			DelayedPaymentBasepoint: g, HTLCBasepoint: g, FirstPerCommitmentPoint: g},
	}, {
		name: "init with features and networks",
		hex:  "0010" + "0000" + "0002" + "2200" + "01" + "20" + rep("77", 32),
		msg: &Init{Features: *NewFeatureVector(VarOnionOptin.Optional(),
			StaticRemoteKey.Optional()), Networks: []ChainHash{b32(0x77)}},
	}, {
		name: "error",
		hex:  "0011" + rep("00", 32) + "0004" + hex.EncodeToString([]byte("oops")),
		msg:  &Error{Data: []byte("oops")},
	}, {
		name: "warning",
		hex:  "0001" + hexCID + "0000",
		msg:  &Warning{ChannelID: cid, Data: []byte{}},
	}, {
		name: "ping",
		hex:  "0012" + "0004" + "0002" + "0000",
		msg:  &Ping{NumPongBytes: 4, Ignored: []byte{0, 0}},
	}, {
		name: "pong",
		hex:  "0013" + "0004" + "00000000",
		msg:  &Pong{Ignored: []byte{0, 0, 0, 0}},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw := mustHex(t, tc.hex)
			enc, err := EncodeMessage(tc.msg)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(enc, raw) {
				t.Fatalf("encoded\n%x\nwant\n%x", enc, raw)
			}
			got, err := ParseMessage(raw)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.msg) {
				t.Fatalf("decoded %+v\nwant %+v", got, tc.msg)
			}
		})
	}
}
