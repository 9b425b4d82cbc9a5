package funding

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/flash-ln/flash/channel/lnwire"
)

// wantErr checks that err is an *Error with code and, if given, field.
func wantErr(t *testing.T, err error, code ErrorCode, field string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v, want %s error", err, code)
	}
	if e.Code != code || (field != "" && e.Field != field) {
		t.Fatalf("got %s/%q (%v), want %s/%q", e.Code, e.Field, err, code, field)
	}
	if w := e.WireError(tempID("x")); w.ChannelID != tempID("x") || len(w.Data) == 0 {
		t.Fatal("wire error")
	}
}

func encodeMsg(t *testing.T, m lnwire.Message) []byte {
	t.Helper()
	b, err := lnwire.EncodeMessage(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAcceptOpenRejects(t *testing.T) {
	alice, bob := newParty(t, "alice"), newParty(t, "bob")
	_, good, err := NewOpener(openerParams(alice))
	if err != nil {
		t.Fatal(err)
	}
	otherKey := testKey("other").PubKey()
	for _, tc := range []struct {
		name  string
		open  func(m *lnwire.OpenChannel)
		param func(p *AcceptParams)
		code  ErrorCode
		field string
	}{
		{name: "unknown chain", open: func(m *lnwire.OpenChannel) { m.ChainHash[0] ^= 1 },
			code: CodeBadChainHash, field: "chain_hash"},
		{name: "below minimum size", open: func(m *lnwire.OpenChannel) { m.FundingSatoshis = 19_999 },
			code: CodeChannelTooSmall, field: "funding_satoshis"},
		{name: "2^24 without large channels", open: func(m *lnwire.OpenChannel) { m.FundingSatoshis = 1 << 24 },
			code: CodeChannelTooLarge, field: "funding_satoshis"},
		{name: "above policy maximum", open: func(m *lnwire.OpenChannel) { m.FundingSatoshis = 600_000 },
			param: func(p *AcceptParams) { p.Policy.MaxChannelSize = 500_000 },
			code:  CodeChannelTooLarge, field: "funding_satoshis"},
		{name: "push above funding", open: func(m *lnwire.OpenChannel) { m.PushMsat = 1_000_000_001 },
			code: CodeInvalidParams, field: "push_msat"},
		{name: "to_self_delay too large", open: func(m *lnwire.OpenChannel) { m.ToSelfDelay = 2017 },
			code: CodeInvalidParams, field: "to_self_delay"},
		{name: "max_accepted_htlcs above 483", open: func(m *lnwire.OpenChannel) { m.MaxAcceptedHTLCs = 484 },
			code: CodeInvalidParams, field: "max_accepted_htlcs"},
		{name: "max_accepted_htlcs zero", open: func(m *lnwire.OpenChannel) { m.MaxAcceptedHTLCs = 0 },
			code: CodeInvalidParams, field: "max_accepted_htlcs"},
		{name: "max in flight zero", open: func(m *lnwire.OpenChannel) { m.MaxHTLCValueInFlightMsat = 0 },
			code: CodeInvalidParams, field: "max_htlc_value_in_flight_msat"},
		{name: "htlc minimum above capacity", open: func(m *lnwire.OpenChannel) { m.HTLCMinimumMsat = 1_000_000_000 },
			code: CodeInvalidParams, field: "htlc_minimum_msat"},
		{name: "fee below floor", open: func(m *lnwire.OpenChannel) { m.FeeratePerKw = 252 },
			param: func(p *AcceptParams) { p.FeeEstimate = 0 },
			code:  CodeFeeTooLow, field: "feerate_per_kw"},
		{name: "fee far below estimate", open: func(m *lnwire.OpenChannel) { m.FeeratePerKw = 1000 },
			param: func(p *AcceptParams) { p.FeeEstimate = 20_000 },
			code:  CodeFeeTooLow, field: "feerate_per_kw"},
		{name: "fee far above estimate", open: func(m *lnwire.OpenChannel) { m.FeeratePerKw = 25_001 },
			code: CodeFeeTooHigh, field: "feerate_per_kw"},
		{name: "fee above policy maximum", open: func(m *lnwire.OpenChannel) { m.FeeratePerKw = 100_001 },
			param: func(p *AcceptParams) { p.FeeEstimate = 0 },
			code:  CodeFeeTooHigh, field: "feerate_per_kw"},
		{name: "missing funding_pubkey", open: func(m *lnwire.OpenChannel) { m.FundingPubKey = nil },
			code: CodeInvalidParams, field: "funding_pubkey"},
		{name: "missing revocation_basepoint", open: func(m *lnwire.OpenChannel) { m.RevocationBasepoint = nil },
			code: CodeInvalidParams, field: "revocation_basepoint"},
		{name: "missing payment_basepoint", open: func(m *lnwire.OpenChannel) { m.PaymentBasepoint = nil },
			code: CodeInvalidParams, field: "payment_basepoint"},
		{name: "missing delayed_payment_basepoint", open: func(m *lnwire.OpenChannel) { m.DelayedPaymentBasepoint = nil },
			code: CodeInvalidParams, field: "delayed_payment_basepoint"},
		{name: "missing htlc_basepoint", open: func(m *lnwire.OpenChannel) { m.HTLCBasepoint = nil },
			code: CodeInvalidParams, field: "htlc_basepoint"},
		{name: "missing first_per_commitment_point", open: func(m *lnwire.OpenChannel) { m.FirstPerCommitmentPoint = nil },
			code: CodeInvalidParams, field: "first_per_commitment_point"},
		{name: "dust below 354", open: func(m *lnwire.OpenChannel) { m.DustLimitSatoshis = 353 },
			code: CodeInvalidParams, field: "dust_limit_satoshis"},
		{name: "dust above our maximum", open: func(m *lnwire.OpenChannel) { m.DustLimitSatoshis = 5_000 },
			param: func(p *AcceptParams) { p.Policy.MaxPeerDustLimit = 4_999 },
			code:  CodeInvalidParams, field: "dust_limit_satoshis"},
		{name: "dust above reserve", open: func(m *lnwire.OpenChannel) {
			m.DustLimitSatoshis, m.ChannelReserveSatoshis = 5_000, 4_999
		}, code: CodeInvalidParams, field: "dust_limit_satoshis"},
		{name: "reserve above a fifth", open: func(m *lnwire.OpenChannel) { m.ChannelReserveSatoshis = 200_001 },
			code: CodeInvalidParams, field: "channel_reserve_satoshis"},
		{name: "reserve below our dust", open: func(m *lnwire.OpenChannel) {
			m.DustLimitSatoshis, m.ChannelReserveSatoshis = 400, 500
		}, param: func(p *AcceptParams) { p.Policy.DustLimit = 501 },
			code: CodeInvalidParams, field: "channel_reserve_satoshis"},
		{name: "funder cannot pay the fee", open: func(m *lnwire.OpenChannel) {
			m.PushMsat = 999_000_000
		}, param: func(p *AcceptParams) { p.FeeEstimate = 2500 },
			code: CodeInvalidParams, field: "feerate_per_kw"},
		{name: "both balances within reserve", open: func(m *lnwire.OpenChannel) {
			m.FundingSatoshis, m.ChannelReserveSatoshis, m.PushMsat = 20_000, 4_000, 4_000_000
			m.MaxHTLCValueInFlightMsat, m.FeeratePerKw = 20_000_000, 20_000
		}, param: func(p *AcceptParams) { p.FeeEstimate = 20_000 },
			code: CodeInvalidParams, field: "push_msat"},
		{name: "anchors channel type", open: func(m *lnwire.OpenChannel) {
			m.ChannelType = lnwire.NewFeatureVector(lnwire.StaticRemoteKey, lnwire.AnchorsZeroFeeHTLCTx)
		}, code: CodeUnsupportedChannelType, field: "channel_type"},
		{name: "scid alias channel type", open: func(m *lnwire.OpenChannel) {
			m.ChannelType = lnwire.NewFeatureVector(lnwire.StaticRemoteKey, lnwire.ScidAlias)
		}, code: CodeUnsupportedChannelType, field: "channel_type"},
		{name: "zeroconf channel type", open: func(m *lnwire.OpenChannel) {
			m.ChannelType = lnwire.NewFeatureVector(lnwire.StaticRemoteKey, lnwire.ZeroConf)
		}, code: CodeUnsupportedChannelType, field: "channel_type"},
		{name: "empty channel type", open: func(m *lnwire.OpenChannel) {
			m.ChannelType = lnwire.NewFeatureVector()
		}, code: CodeUnsupportedChannelType, field: "channel_type"},
		{name: "odd static_remotekey bit", open: func(m *lnwire.OpenChannel) {
			m.ChannelType = lnwire.NewFeatureVector(lnwire.StaticRemoteKey.Optional())
		}, code: CodeUnsupportedChannelType, field: "channel_type"},
		{name: "implied legacy type", open: func(m *lnwire.OpenChannel) { m.ChannelType = nil },
			param: func(p *AcceptParams) { p.PeerFeatures = lnwire.NewFeatureVector(lnwire.DataLossProtect) },
			code:  CodeUnsupportedChannelType},
		{name: "private when we want public", open: func(m *lnwire.OpenChannel) { m.ChannelFlags = 0 },
			param: func(p *AcceptParams) { p.Policy.RequireAnnounce = true },
			code:  CodeInvalidParams, field: "channel_flags"},
		{name: "bad upfront shutdown script", open: func(m *lnwire.OpenChannel) {
			m.UpfrontShutdownScript = []byte{0x76, 0xa9, 0x14}
		}, code: CodeInvalidParams, field: "upfront_shutdown_script"},
		{name: "no message", param: func(p *AcceptParams) { p.Open = nil }, code: CodeUnexpectedMessage},
		{name: "incomplete local keys", param: func(p *AcceptParams) { p.LocalKeys.FundingKey = nil },
			code: CodeInternal},
		{name: "invalid policy", param: func(p *AcceptParams) { p.Policy.MaxAcceptedHTLCs = 484 },
			code: CodeInternal, field: "policy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			open := cloneOpen(good)
			if tc.open != nil {
				tc.open(open)
			}
			before := encodeMsg(t, withKeys(open, otherKey))
			p := acceptParams(bob, open)
			if tc.param != nil {
				tc.param(&p)
			}
			a, accept, err := AcceptOpen(p)
			if a != nil || accept != nil {
				t.Fatal("returned an accepter with an error")
			}
			wantErr(t, err, tc.code, tc.field)
			if !bytes.Equal(encodeMsg(t, withKeys(open, otherKey)), before) {
				t.Fatal("open_channel modified")
			}
		})
	}
	// The unmodified message is accepted: every row above broke one rule.
	if _, _, err := AcceptOpen(acceptParams(bob, cloneOpen(good))); err != nil {
		t.Fatal(err)
	}
}

// withKeys fills missing keys so that a message can be encoded.
func withKeys(m *lnwire.OpenChannel, k *btcec.PublicKey) *lnwire.OpenChannel {
	c := cloneOpen(m)
	for _, p := range []**btcec.PublicKey{&c.FundingPubKey, &c.RevocationBasepoint, &c.PaymentBasepoint,
		&c.DelayedPaymentBasepoint, &c.HTLCBasepoint, &c.FirstPerCommitmentPoint} {
		if *p == nil {
			*p = k
		}
	}
	return c
}

func TestReceiveAcceptChannelRejects(t *testing.T) {
	alice, bob := newParty(t, "alice"), newParty(t, "bob")
	op, open, err := NewOpener(openerParams(alice))
	if err != nil {
		t.Fatal(err)
	}
	_, good, err := AcceptOpen(acceptParams(bob, open))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		accept func(m *lnwire.AcceptChannel)
		opener func(o *Opener)
		code   ErrorCode
		field  string
	}{
		{name: "other temporary id", accept: func(m *lnwire.AcceptChannel) { m.TemporaryChannelID[0] ^= 1 },
			code: CodeUnexpectedMessage, field: "temporary_channel_id"},
		{name: "minimum depth too large", accept: func(m *lnwire.AcceptChannel) { m.MinimumDepth = 145 },
			code: CodeInvalidParams, field: "minimum_depth"},
		{name: "reserve below our dust", accept: func(m *lnwire.AcceptChannel) {
			m.DustLimitSatoshis, m.ChannelReserveSatoshis = 400, 500
		}, opener: func(o *Opener) { o.n.open.DustLimitSatoshis = 501 },
			code: CodeInvalidParams, field: "channel_reserve_satoshis"},
		{name: "dust above our reserve", accept: func(m *lnwire.AcceptChannel) {
			m.DustLimitSatoshis, m.ChannelReserveSatoshis = 15_000, 15_000
		}, code: CodeInvalidParams, field: "dust_limit_satoshis"},
		{name: "dust below 354", accept: func(m *lnwire.AcceptChannel) { m.DustLimitSatoshis = 353 },
			code: CodeInvalidParams, field: "dust_limit_satoshis"},
		{name: "dust above reserve", accept: func(m *lnwire.AcceptChannel) {
			m.DustLimitSatoshis, m.ChannelReserveSatoshis = 5_000, 4_999
		}, code: CodeInvalidParams, field: "dust_limit_satoshis"},
		{name: "reserve above a fifth", accept: func(m *lnwire.AcceptChannel) { m.ChannelReserveSatoshis = 200_001 },
			code: CodeInvalidParams, field: "channel_reserve_satoshis"},
		{name: "to_self_delay too large", accept: func(m *lnwire.AcceptChannel) { m.ToSelfDelay = 2017 },
			code: CodeInvalidParams, field: "to_self_delay"},
		{name: "max_accepted_htlcs above 483", accept: func(m *lnwire.AcceptChannel) { m.MaxAcceptedHTLCs = 484 },
			code: CodeInvalidParams, field: "max_accepted_htlcs"},
		{name: "max in flight zero", accept: func(m *lnwire.AcceptChannel) { m.MaxHTLCValueInFlightMsat = 0 },
			code: CodeInvalidParams, field: "max_htlc_value_in_flight_msat"},
		{name: "htlc minimum above capacity", accept: func(m *lnwire.AcceptChannel) { m.HTLCMinimumMsat = 1 << 40 },
			code: CodeInvalidParams, field: "htlc_minimum_msat"},
		{name: "missing funding_pubkey", accept: func(m *lnwire.AcceptChannel) { m.FundingPubKey = nil },
			code: CodeInvalidParams, field: "funding_pubkey"},
		{name: "missing first point", accept: func(m *lnwire.AcceptChannel) { m.FirstPerCommitmentPoint = nil },
			code: CodeInvalidParams, field: "first_per_commitment_point"},
		{name: "channel type differs", accept: func(m *lnwire.AcceptChannel) {
			m.ChannelType = lnwire.NewFeatureVector(lnwire.StaticRemoteKey, lnwire.AnchorsZeroFeeHTLCTx)
		}, code: CodeUnsupportedChannelType, field: "channel_type"},
		{name: "bad upfront shutdown script", accept: func(m *lnwire.AcceptChannel) {
			m.UpfrontShutdownScript = []byte{0x00, 0x15}
		}, code: CodeInvalidParams, field: "upfront_shutdown_script"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := *op
			if tc.opener != nil {
				tc.opener(&o)
			}
			before := o
			accept := cloneAccept(good)
			tc.accept(accept)
			req, err := o.ReceiveAcceptChannel(accept)
			if req != nil {
				t.Fatal("funding request with an error")
			}
			wantErr(t, err, tc.code, tc.field)
			if !reflect.DeepEqual(o, before) {
				t.Fatal("opener changed")
			}
		})
	}
	if _, err := op.ReceiveAcceptChannel(nil); !IsCode(err, CodeUnexpectedMessage) {
		t.Fatal(err)
	}
	// The original is still accepted, and only once.
	if _, err := op.ReceiveAcceptChannel(cloneAccept(good)); err != nil {
		t.Fatal(err)
	}
	_, err = op.ReceiveAcceptChannel(cloneAccept(good))
	wantErr(t, err, CodeUnexpectedMessage, "")
}

func TestNewOpenerRejects(t *testing.T) {
	alice := newParty(t, "alice")
	for _, tc := range []struct {
		name  string
		tweak func(p *OpenerParams)
		code  ErrorCode
		field string
	}{
		{"too small", func(p *OpenerParams) { p.Capacity = 19_999 }, CodeChannelTooSmall, "funding_satoshis"},
		{"too large", func(p *OpenerParams) { p.Capacity = 1 << 24 }, CodeChannelTooLarge, "funding_satoshis"},
		{"large channel to a peer without the option", func(p *OpenerParams) {
			p.Policy.LargeChannels, p.Policy.MaxChannelSize, p.Capacity = true, 1<<25, 1<<24
		}, CodeChannelTooLarge, "funding_satoshis"},
		{"push above capacity", func(p *OpenerParams) { p.PushMsat = 1_000_000_001 }, CodeInvalidParams, "push_msat"},
		{"fee below floor", func(p *OpenerParams) { p.FeePerKw = 252 }, CodeFeeTooLow, "feerate_per_kw"},
		{"fee above maximum", func(p *OpenerParams) { p.FeePerKw = 100_001 }, CodeFeeTooHigh, "feerate_per_kw"},
		{"cannot pay fee", func(p *OpenerParams) { p.PushMsat = 999_500_000 }, CodeInvalidParams, "feerate_per_kw"},
		{"anchors", func(p *OpenerParams) {
			p.ChannelType = lnwire.NewFeatureVector(lnwire.StaticRemoteKey, lnwire.AnchorsZeroFeeHTLCTx)
		}, CodeUnsupportedChannelType, "channel_type"},
		{"peer without static_remotekey", func(p *OpenerParams) {
			p.PeerFeatures = lnwire.NewFeatureVector(lnwire.ChannelTypeFeature)
		}, CodeUnsupportedChannelType, ""},
		{"bad upfront script", func(p *OpenerParams) { p.UpfrontShutdownScript = []byte{1, 2, 3} },
			CodeInvalidParams, "upfront_shutdown_script"},
		{"incomplete keys", func(p *OpenerParams) { p.LocalKeys.Basepoints.HTLC = nil }, CodeInternal, ""},
		{"bad policy", func(p *OpenerParams) { p.Policy.DustLimit = 353 }, CodeInternal, "policy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := openerParams(alice)
			tc.tweak(&p)
			o, open, err := NewOpener(p)
			if o != nil || open != nil {
				t.Fatal("opener with an error")
			}
			wantErr(t, err, tc.code, tc.field)
		})
	}
}

func TestOpenChannelTLVs(t *testing.T) {
	alice := newParty(t, "alice")
	p := openerParams(alice)
	_, open, err := NewOpener(p)
	if err != nil {
		t.Fatal(err)
	}
	if !isStaticRemoteKeyType(open.ChannelType) || open.UpfrontShutdownScript == nil ||
		len(open.UpfrontShutdownScript) != 0 || open.ChannelFlags != lnwire.ChannelFlagAnnounce {
		t.Fatalf("open_channel TLVs: type %v script %x flags %d", open.ChannelType, open.UpfrontShutdownScript,
			open.ChannelFlags)
	}
	// A peer without option_channel_type gets no channel_type, and
	// accepts with the implied static_remotekey.
	p.PeerFeatures = lnwire.NewFeatureVector(lnwire.StaticRemoteKey)
	p.Private = true
	_, open, err = NewOpener(p)
	if err != nil {
		t.Fatal(err)
	}
	if open.ChannelType != nil || open.UpfrontShutdownScript != nil || open.ChannelFlags != 0 {
		t.Fatal("TLVs sent to a peer that does not know them")
	}
	ap := acceptParams(newParty(t, "bob"), open)
	ap.PeerFeatures = lnwire.NewFeatureVector(lnwire.StaticRemoteKey)
	_, accept, err := AcceptOpen(ap)
	if err != nil {
		t.Fatal(err)
	}
	if accept.ChannelType != nil {
		t.Fatal("channel_type echoed without one in open_channel")
	}
}

// highS returns the same signature with s replaced by n - s, valid for
// ECDSA but forbidden by BOLT 2.
func highS(sig lnwire.Sig) lnwire.Sig {
	var s btcec.ModNScalar
	s.SetByteSlice(sig[32:])
	s.Negate()
	out := sig
	b := s.Bytes()
	copy(out[32:], b[:])
	return out
}

func TestFundingSignatureRejects(t *testing.T) {
	alice, bob := newParty(t, "alice"), newParty(t, "bob")
	op, open, err := NewOpener(openerParams(alice))
	if err != nil {
		t.Fatal(err)
	}
	acc, accept, err := AcceptOpen(acceptParams(bob, open))
	if err != nil {
		t.Fatal(err)
	}
	// Wrong steps before the funding transaction exists.
	if _, err := op.FundingCreated(wire.NewMsgTx(2), alice.kr); !IsCode(err, CodeUnexpectedMessage) {
		t.Fatalf("funding_created before accept: %v", err)
	}
	if _, err := op.ReceiveFundingSigned(&lnwire.FundingSigned{}, alice.kr); !IsCode(err, CodeUnexpectedMessage) {
		t.Fatalf("funding_signed before funding_created: %v", err)
	}
	req, err := op.ReceiveAcceptChannel(accept)
	if err != nil {
		t.Fatal(err)
	}

	// Funding transactions the opener must refuse.
	good := fundingTx(req)
	for _, tc := range []struct {
		name string
		tx   func() *wire.MsgTx
	}{
		{"nil", func() *wire.MsgTx { return nil }},
		{"no funding output", func() *wire.MsgTx { tx := good.Copy(); tx.TxOut = tx.TxOut[:1]; return tx }},
		{"short amount", func() *wire.MsgTx { tx := good.Copy(); tx.TxOut[1].Value--; return tx }},
		{"two funding outputs", func() *wire.MsgTx {
			tx := good.Copy()
			tx.AddTxOut(wire.NewTxOut(tx.TxOut[1].Value, tx.TxOut[1].PkScript))
			return tx
		}},
	} {
		before := *op
		if _, err := op.FundingCreated(tc.tx(), alice.kr); !IsCode(err, CodeFundingOutput) {
			t.Errorf("%s: %v", tc.name, err)
		}
		if !reflect.DeepEqual(before, *op) {
			t.Fatalf("%s: opener changed", tc.name)
		}
	}
	if _, err := op.FundingCreated(good, bob.kr); !IsCode(err, CodeInternal) {
		t.Fatalf("foreign keyring: %v", err)
	}
	created, err := op.FundingCreated(good, alice.kr)
	if err != nil {
		t.Fatal(err)
	}

	// The fundee refuses bad funding_created and stays usable.
	badCreated := []struct {
		name  string
		m     func(m *lnwire.FundingCreated)
		code  ErrorCode
		field string
	}{
		{"other temporary id", func(m *lnwire.FundingCreated) { m.TemporaryChannelID[5] ^= 1 },
			CodeUnexpectedMessage, "temporary_channel_id"},
		{"flipped signature", func(m *lnwire.FundingCreated) { m.Signature[10] ^= 1 }, CodeInvalidSignature, "signature"},
		{"high s", func(m *lnwire.FundingCreated) { m.Signature = highS(m.Signature) }, CodeInvalidSignature, "signature"},
		{"zero signature", func(m *lnwire.FundingCreated) { m.Signature = lnwire.Sig{} }, CodeInvalidSignature, "signature"},
		{"other output index", func(m *lnwire.FundingCreated) { m.FundingOutputIndex = 0 }, CodeInvalidSignature, "signature"},
		{"other txid", func(m *lnwire.FundingCreated) { m.FundingTxid = chainhash.Hash{1} }, CodeInvalidSignature, "signature"},
	}
	for _, tc := range badCreated {
		before := *acc
		m := *created
		tc.m(&m)
		ch, signed, err := acc.ReceiveFundingCreated(&m, bob.kr)
		if ch != nil || signed != nil {
			t.Fatalf("%s: result with an error", tc.name)
		}
		if !IsCode(err, tc.code) {
			t.Fatalf("%s: %v", tc.name, err)
		}
		wantErr(t, err, tc.code, tc.field)
		if !reflect.DeepEqual(before, *acc) {
			t.Fatalf("%s: accepter changed", tc.name)
		}
	}
	if _, _, err := acc.ReceiveFundingCreated(created, alice.kr); !IsCode(err, CodeInternal) {
		t.Fatalf("foreign keyring: %v", err)
	}
	_, signed, err := acc.ReceiveFundingCreated(created, bob.kr)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := acc.ReceiveFundingCreated(created, bob.kr); !IsCode(err, CodeUnexpectedMessage) {
		t.Fatalf("second funding_created: %v", err)
	}

	// The funder refuses bad funding_signed and stays usable.
	for _, tc := range []struct {
		name  string
		m     func(m *lnwire.FundingSigned)
		code  ErrorCode
		field string
	}{
		{"other channel id", func(m *lnwire.FundingSigned) { m.ChannelID[0] ^= 1 }, CodeUnexpectedMessage, "channel_id"},
		{"flipped signature", func(m *lnwire.FundingSigned) { m.Signature[40] ^= 1 }, CodeInvalidSignature, "signature"},
		{"high s", func(m *lnwire.FundingSigned) { m.Signature = highS(m.Signature) }, CodeInvalidSignature, "signature"},
		{"their funding_created signature", func(m *lnwire.FundingSigned) { m.Signature = created.Signature },
			CodeInvalidSignature, "signature"},
	} {
		before := *op
		m := *signed
		tc.m(&m)
		ch, err := op.ReceiveFundingSigned(&m, alice.kr)
		if ch != nil {
			t.Fatalf("%s: channel with an error", tc.name)
		}
		wantErr(t, err, tc.code, tc.field)
		if !reflect.DeepEqual(before, *op) || op.Pending() != nil {
			t.Fatalf("%s: opener changed", tc.name)
		}
	}
	if _, err := op.ReceiveFundingSigned(nil, alice.kr); !IsCode(err, CodeUnexpectedMessage) {
		t.Fatal(err)
	}
	if _, err := op.ReceiveFundingSigned(signed, alice.kr); err != nil {
		t.Fatal(err)
	}
	if _, err := op.ReceiveFundingSigned(signed, alice.kr); !IsCode(err, CodeUnexpectedMessage) {
		t.Fatalf("second funding_signed: %v", err)
	}
}
