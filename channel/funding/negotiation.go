package funding

import (
	"bytes"
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/flash-ln/flash/channel"
	"github.com/flash-ln/flash/channel/keys"
	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/channel/script"
)

// LocalKeys are the public keys we announce in open_channel or
// accept_channel. The matching private keys stay in the channel.Keyring,
// which only the signing steps take.
type LocalKeys struct {
	FundingKey *btcec.PublicKey
	Basepoints keys.Basepoints
	// FirstPerCommitmentPoint is the point of our commitment number 0.
	FirstPerCommitmentPoint *btcec.PublicKey
}

// KeysFromKeyring returns the public keys of a keyring.
func KeysFromKeyring(kr *channel.Keyring) (LocalKeys, error) {
	if kr == nil || kr.FundingKey == nil || kr.RevocationBaseSecret == nil || kr.PaymentBaseSecret == nil ||
		kr.DelayedBaseSecret == nil || kr.HTLCBaseSecret == nil || kr.Secrets == nil {
		return LocalKeys{}, newErr(CodeInternal, "incomplete keyring")
	}
	secret, err := kr.Secrets.ForCommitment(0)
	if err != nil {
		return LocalKeys{}, newErr(CodeInternal, "first per-commitment secret: %v", err)
	}
	return LocalKeys{
		FundingKey: kr.FundingKey.PubKey(),
		Basepoints: keys.Basepoints{
			Revocation:     kr.RevocationBaseSecret.PubKey(),
			Payment:        kr.PaymentBaseSecret.PubKey(),
			DelayedPayment: kr.DelayedBaseSecret.PubKey(),
			HTLC:           kr.HTLCBaseSecret.PubKey(),
		},
		FirstPerCommitmentPoint: keys.PerCommitmentPoint(secret),
	}, nil
}

func (k *LocalKeys) complete() bool {
	b := &k.Basepoints
	return k.FundingKey != nil && b.Revocation != nil && b.Payment != nil && b.DelayedPayment != nil &&
		b.HTLC != nil && k.FirstPerCommitmentPoint != nil
}

func (k *LocalKeys) equal(o *LocalKeys) bool {
	a, b := &k.Basepoints, &o.Basepoints
	return k.FundingKey.IsEqual(o.FundingKey) && a.Revocation.IsEqual(b.Revocation) &&
		a.Payment.IsEqual(b.Payment) && a.DelayedPayment.IsEqual(b.DelayedPayment) &&
		a.HTLC.IsEqual(b.HTLC) && k.FirstPerCommitmentPoint.IsEqual(o.FirstPerCommitmentPoint)
}

// StaticRemoteKeyType returns the channel_type of option_static_remotekey
// without anchors, the only commitment format Flash implements.
func StaticRemoteKeyType() *lnwire.FeatureVector {
	return lnwire.NewFeatureVector(lnwire.StaticRemoteKey)
}

// isStaticRemoteKeyType reports whether a channel_type is exactly bit 12.
// Channel types are an enumeration, not a combination of features, so any
// other bit (anchors, scid_alias, zeroconf, an odd bit) names another type.
func isStaticRemoteKeyType(t *lnwire.FeatureVector) bool {
	bits := t.Bits()
	return len(bits) == 1 && bits[0] == lnwire.StaticRemoteKey
}

// impliedTypeOK reports whether, without a channel_type, the commitment
// format BOLT 2 implies from the init features is static_remotekey. We
// always advertise option_static_remotekey and never option_anchors, so it
// depends on the peer alone.
func impliedTypeOK(peer *lnwire.FeatureVector) bool {
	return peer.HasFeature(lnwire.StaticRemoteKey)
}

// negotiation is what both sides know once open_channel and
// accept_channel are exchanged: the two messages fix every parameter of the
// channel, so they are kept verbatim.
type negotiation struct {
	localFunder bool
	open        lnwire.OpenChannel
	accept      lnwire.AcceptChannel
	closeScript []byte
	maxFeePerKw uint32
	// outpoint is set from funding_created on.
	outpoint wire.OutPoint
}

func (n *negotiation) capacity() btcutil.Amount { return btcutil.Amount(n.open.FundingSatoshis) }

func partyFromOpen(m *lnwire.OpenChannel) channel.PartyConfig {
	return channel.PartyConfig{
		DustLimit:            btcutil.Amount(m.DustLimitSatoshis),
		MaxHTLCValueInFlight: m.MaxHTLCValueInFlightMsat,
		ChannelReserve:       btcutil.Amount(m.ChannelReserveSatoshis),
		HTLCMinimum:          m.HTLCMinimumMsat,
		ToSelfDelay:          m.ToSelfDelay,
		MaxAcceptedHTLCs:     m.MaxAcceptedHTLCs,
		FundingKey:           m.FundingPubKey,
		Basepoints: keys.Basepoints{
			Revocation:     m.RevocationBasepoint,
			Payment:        m.PaymentBasepoint,
			DelayedPayment: m.DelayedPaymentBasepoint,
			HTLC:           m.HTLCBasepoint,
		},
		UpfrontShutdownScript: bytes.Clone(m.UpfrontShutdownScript),
	}
}

func partyFromAccept(m *lnwire.AcceptChannel) channel.PartyConfig {
	return channel.PartyConfig{
		DustLimit:            btcutil.Amount(m.DustLimitSatoshis),
		MaxHTLCValueInFlight: m.MaxHTLCValueInFlightMsat,
		ChannelReserve:       btcutil.Amount(m.ChannelReserveSatoshis),
		HTLCMinimum:          m.HTLCMinimumMsat,
		ToSelfDelay:          m.ToSelfDelay,
		MaxAcceptedHTLCs:     m.MaxAcceptedHTLCs,
		FundingKey:           m.FundingPubKey,
		Basepoints: keys.Basepoints{
			Revocation:     m.RevocationBasepoint,
			Payment:        m.PaymentBasepoint,
			DelayedPayment: m.DelayedPaymentBasepoint,
			HTLC:           m.HTLCBasepoint,
		},
		UpfrontShutdownScript: bytes.Clone(m.UpfrontShutdownScript),
	}
}

// localKeys returns the keys we announced.
func (n *negotiation) localKeys() LocalKeys {
	if n.localFunder {
		m := &n.open
		return LocalKeys{FundingKey: m.FundingPubKey, FirstPerCommitmentPoint: m.FirstPerCommitmentPoint,
			Basepoints: keys.Basepoints{Revocation: m.RevocationBasepoint, Payment: m.PaymentBasepoint,
				DelayedPayment: m.DelayedPaymentBasepoint, HTLC: m.HTLCBasepoint}}
	}
	m := &n.accept
	return LocalKeys{FundingKey: m.FundingPubKey, FirstPerCommitmentPoint: m.FirstPerCommitmentPoint,
		Basepoints: keys.Basepoints{Revocation: m.RevocationBasepoint, Payment: m.PaymentBasepoint,
			DelayedPayment: m.DelayedPaymentBasepoint, HTLC: m.HTLCBasepoint}}
}

// fundingScript returns the witness script and output script of the
// 2-of-2 funding output.
func (n *negotiation) fundingScript() (witnessScript, pkScript []byte, err error) {
	ws, pk, err := script.FundingScript(n.open.FundingPubKey, n.accept.FundingPubKey)
	if err != nil {
		return nil, nil, newErr(CodeInternal, "funding script: %v", err)
	}
	return ws, pk, nil
}

// config builds the channel configuration of our side, with the peer's
// signature of our commitment 0 (zero when we only sign theirs).
func (n *negotiation) config(kr *channel.Keyring, remoteSig lnwire.Sig) (channel.Config, error) {
	have, err := KeysFromKeyring(kr)
	if err != nil {
		return channel.Config{}, err
	}
	want := n.localKeys()
	if !have.equal(&want) {
		return channel.Config{}, newErr(CodeInternal, "keyring does not match the keys we announced")
	}
	funder, fundee := partyFromOpen(&n.open), partyFromAccept(&n.accept)
	funderMsat := lnwire.NewMSatFromSatoshis(n.open.FundingSatoshis) - n.open.PushMsat
	fundeeMsat := n.open.PushMsat
	cfg := channel.Config{
		Params: channel.Params{
			FundingOutpoint: n.outpoint,
			Capacity:        n.capacity(),
			LocalFunder:     n.localFunder,
			Type:            channel.ChannelTypeStaticRemoteKey,
			Local:           funder,
			Remote:          fundee,
			MinFeePerKw:     FeeFloorPerKw,
			MaxFeePerKw:     n.maxFeePerKw,
			CloseScript:     bytes.Clone(n.closeScript),
		},
		Keyring:          kr,
		FeePerKw:         n.open.FeeratePerKw,
		LocalBalance:     funderMsat,
		RemoteBalance:    fundeeMsat,
		RemoteFirstPoint: n.accept.FirstPerCommitmentPoint,
		RemoteSig:        remoteSig,
	}
	if !n.localFunder {
		cfg.Params.Local, cfg.Params.Remote = fundee, funder
		cfg.LocalBalance, cfg.RemoteBalance = fundeeMsat, funderMsat
		cfg.RemoteFirstPoint = n.open.FirstPerCommitmentPoint
	}
	return cfg, nil
}

// signatureError converts an error of channel.New: a bad signature is the
// peer's fault, anything else ours.
func signatureError(err error) error {
	if channel.IsCode(err, channel.CodeInvalidSignature) {
		return &Error{Code: CodeInvalidSignature, Field: "signature", Detail: err.Error()}
	}
	return newErr(CodeInternal, "%v", err)
}

// peerParams are the fields open_channel and accept_channel share, from
// the peer's message, for the rules BOLT 2 states once for both.
type peerParams struct {
	dust, reserve         uint64
	maxInFlight, htlcMin  lnwire.MilliSatoshi
	toSelfDelay, maxHTLCs uint16
	keys                  []*btcec.PublicKey
	upfront               []byte
}

var keyFields = []string{"funding_pubkey", "revocation_basepoint", "payment_basepoint",
	"delayed_payment_basepoint", "htlc_basepoint", "first_per_commitment_point"}

// checkPeerParams applies the BOLT 2 receiver rules and our policy to the
// peer's announced limits for a channel of the given capacity.
func checkPeerParams(pol *Policy, capacity btcutil.Amount, p *peerParams) error {
	for i, k := range p.keys {
		// The decoder only returns valid compressed points; a nil one
		// comes from a caller that built the message by hand.
		if k == nil {
			return fieldErr(keyFields[i], "missing")
		}
	}
	capMsat := lnwire.NewMSatFromSatoshis(uint64(capacity))
	switch {
	case p.dust < uint64(MinDustLimit):
		return fieldErr("dust_limit_satoshis", "%d sat below %d sat", p.dust, MinDustLimit)
	case p.dust > uint64(pol.MaxPeerDustLimit):
		return fieldErr("dust_limit_satoshis", "%d sat above our maximum of %d sat", p.dust, pol.MaxPeerDustLimit)
	case p.dust > p.reserve:
		return fieldErr("dust_limit_satoshis", "%d sat above channel_reserve_satoshis %d sat", p.dust, p.reserve)
	case p.reserve > uint64(capacity)/5:
		return fieldErr("channel_reserve_satoshis", "%d sat is more than a fifth of the capacity %d sat",
			p.reserve, capacity)
	case p.toSelfDelay > pol.MaxToSelfDelay:
		return fieldErr("to_self_delay", "%d blocks above our maximum of %d", p.toSelfDelay, pol.MaxToSelfDelay)
	case p.maxHTLCs > MaxAcceptedHTLCsLimit:
		return fieldErr("max_accepted_htlcs", "%d above %d", p.maxHTLCs, MaxAcceptedHTLCsLimit)
	case p.maxHTLCs == 0:
		return fieldErr("max_accepted_htlcs", "zero would forbid every payment")
	case p.maxInFlight == 0:
		return fieldErr("max_htlc_value_in_flight_msat", "zero would forbid every payment")
	case p.htlcMin >= capMsat:
		return fieldErr("htlc_minimum_msat", "%v not below the capacity", p.htlcMin)
	case len(p.upfront) > 0 && !validShutdownScript(p.upfront):
		return fieldErr("upfront_shutdown_script", "%x is not a standard shutdown script", p.upfront)
	}
	return nil
}

// validShutdownScript accepts the scripts package channel accepts in
// shutdown (P2WPKH, P2WSH and witness programs v1 to v16), so that a
// committed upfront script cannot make the cooperative close impossible.
func validShutdownScript(s []byte) bool {
	switch {
	case len(s) == 22 && s[0] == txscript.OP_0 && s[1] == 20:
		return true
	case len(s) == 34 && s[0] == txscript.OP_0 && s[1] == 32:
		return true
	case len(s) >= 4 && len(s) <= 42 && s[0] >= txscript.OP_1 && s[0] <= txscript.OP_16 &&
		int(s[1]) == len(s)-2:
		return true
	}
	return false
}

// checkInitialBalances applies the rules on commitment 0: the funder pays
// the whole commitment fee from its balance, and at least one side has more
// than the reserve, so that commitment 0 has an output worth having.
func checkInitialBalances(capacity btcutil.Amount, push lnwire.MilliSatoshi, feePerKw uint32, reserves ...uint64) error {
	capMsat := lnwire.NewMSatFromSatoshis(uint64(capacity))
	if push > capMsat {
		return fieldErr("push_msat", "%v above the capacity of %d sat", push, capacity)
	}
	fee := lnwire.NewMSatFromSatoshis(uint64(script.StaticRemoteKey.CommitmentFee(feePerKw, 0)))
	funder := capMsat - push
	if funder < fee {
		return fieldErr("feerate_per_kw", "funder balance %v cannot pay the commitment fee %v at %d sat/kw",
			funder, fee, feePerKw)
	}
	toFunder, toFundee := funder-fee, push
	var reserve uint64
	for _, r := range reserves {
		reserve = max(reserve, r)
	}
	if r := lnwire.NewMSatFromSatoshis(reserve); toFunder <= r && toFundee <= r {
		return fieldErr("push_msat", "neither balance (%v, %v) is above the reserve of %d sat",
			toFunder, toFundee, reserve)
	}
	return nil
}

// checkFundingTx finds the funding output in tx: exactly one output must
// pay exactly the capacity to the 2-of-2 script.
func checkFundingTx(tx *wire.MsgTx, pkScript []byte, capacity btcutil.Amount) (uint32, error) {
	if tx == nil {
		return 0, newErr(CodeFundingOutput, "no funding transaction")
	}
	found := -1
	for i, out := range tx.TxOut {
		if !bytes.Equal(out.PkScript, pkScript) {
			continue
		}
		if found >= 0 {
			return 0, newErr(CodeFundingOutput, "outputs %d and %d both pay the funding script", found, i)
		}
		if btcutil.Amount(out.Value) != capacity {
			return 0, newErr(CodeFundingOutput, "output %d pays %d sat, the capacity is %d sat", i, out.Value, capacity)
		}
		found = i
	}
	switch {
	case found < 0:
		return 0, newErr(CodeFundingOutput, "no output pays the funding script")
	case found > 0xffff:
		// funding_output_index has 16 bits.
		return 0, newErr(CodeFundingOutput, "funding output index %d above 65535", found)
	}
	return uint32(found), nil
}

func describe(op wire.OutPoint) string { return fmt.Sprintf("%s:%d", op.Hash, op.Index) }

func cloneType(t *lnwire.FeatureVector) *lnwire.FeatureVector {
	if t == nil {
		return nil
	}
	return t.Clone()
}

// cloneOpen copies a message so that the negotiation never shares memory
// with a message the caller keeps. Unknown odd TLVs are dropped: they mean
// nothing to us and are not part of the stored state.
func cloneOpen(m *lnwire.OpenChannel) *lnwire.OpenChannel {
	c := *m
	c.ChannelType = cloneType(m.ChannelType)
	c.UpfrontShutdownScript = bytes.Clone(m.UpfrontShutdownScript)
	c.ExtraRecords = nil
	return &c
}

func cloneAccept(m *lnwire.AcceptChannel) *lnwire.AcceptChannel {
	c := *m
	c.ChannelType = cloneType(m.ChannelType)
	c.UpfrontShutdownScript = bytes.Clone(m.UpfrontShutdownScript)
	c.ExtraRecords = nil
	return &c
}
