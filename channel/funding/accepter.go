package funding

import (
	"bytes"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/flash-ln/flash/channel"
	"github.com/flash-ln/flash/channel/lnwire"
)

// AcceptParams are the fundee's inputs for answering an open_channel.
type AcceptParams struct {
	Open *lnwire.OpenChannel
	// ChainHash is the genesis hash of the chain we are on.
	ChainHash chainhash.Hash
	LocalKeys LocalKeys
	Policy    Policy
	// FeeEstimate is our own commitment fee rate estimate in sat/kw, to
	// judge the funder's; zero when we have none.
	FeeEstimate uint32
	// PeerFeatures are the features of the peer's init message.
	PeerFeatures *lnwire.FeatureVector
	// CloseScript is where our balance goes in a cooperative close.
	CloseScript []byte
	// UpfrontShutdownScript, when not empty, commits us to it
	// (option_upfront_shutdown_script).
	UpfrontShutdownScript []byte
}

type accepterPhase uint8

const (
	accepterAwaitingCreated accepterPhase = iota + 1
	accepterDone
)

// Accepter is the fundee's side of channel establishment. A method that
// returns an error leaves it unchanged. It is not safe for concurrent use.
type Accepter struct {
	phase accepterPhase
	n     negotiation
}

// AcceptOpen applies every BOLT 2 receiver rule of open_channel and our
// policy, and returns the accept_channel to send. On error the daemon sends
// Error.WireError(open.TemporaryChannelID) and forgets the request.
func AcceptOpen(p AcceptParams) (*Accepter, *lnwire.AcceptChannel, error) {
	pol := p.Policy
	if err := pol.Validate(); err != nil {
		return nil, nil, err
	}
	if !p.LocalKeys.complete() {
		return nil, nil, newErr(CodeInternal, "incomplete local keys")
	}
	if len(p.UpfrontShutdownScript) > 0 && !validShutdownScript(p.UpfrontShutdownScript) {
		return nil, nil, &Error{Code: CodeInternal, Field: "upfront_shutdown_script",
			Detail: "our own upfront shutdown script is not standard"}
	}
	m := p.Open
	if m == nil {
		return nil, nil, newErr(CodeUnexpectedMessage, "no open_channel")
	}
	if m.ChainHash != lnwire.ChainHash(p.ChainHash) {
		return nil, nil, &Error{Code: CodeBadChainHash, Field: "chain_hash",
			Detail: "channel on chain " + m.ChainHash.String() + ", we are on " + p.ChainHash.String()}
	}
	if err := pol.checkCapacity(m.FundingSatoshis); err != nil {
		return nil, nil, err
	}
	capacity := btcutil.Amount(m.FundingSatoshis)
	if m.PushMsat > lnwire.NewMSatFromSatoshis(m.FundingSatoshis) {
		return nil, nil, fieldErr("push_msat", "%v above funding_satoshis %d", m.PushMsat, m.FundingSatoshis)
	}
	pp := &peerParams{
		dust: m.DustLimitSatoshis, reserve: m.ChannelReserveSatoshis,
		maxInFlight: m.MaxHTLCValueInFlightMsat, htlcMin: m.HTLCMinimumMsat,
		toSelfDelay: m.ToSelfDelay, maxHTLCs: m.MaxAcceptedHTLCs,
		keys: []*btcec.PublicKey{m.FundingPubKey, m.RevocationBasepoint, m.PaymentBasepoint,
			m.DelayedPaymentBasepoint, m.HTLCBasepoint, m.FirstPerCommitmentPoint},
		upfront: m.UpfrontShutdownScript,
	}
	if err := checkPeerParams(&pol, capacity, pp); err != nil {
		return nil, nil, err
	}
	// accept_channel's sender rule: our dust limit must not exceed the
	// reserve the funder asks us to keep.
	if m.ChannelReserveSatoshis < uint64(pol.DustLimit) {
		return nil, nil, fieldErr("channel_reserve_satoshis", "%d sat below our dust limit of %d sat",
			m.ChannelReserveSatoshis, pol.DustLimit)
	}
	if err := pol.checkFeeRate(m.FeeratePerKw, p.FeeEstimate); err != nil {
		return nil, nil, err
	}
	if m.ChannelType != nil {
		if !isStaticRemoteKeyType(m.ChannelType) {
			return nil, nil, &Error{Code: CodeUnsupportedChannelType, Field: "channel_type",
				Detail: "only static_remotekey is supported, not " + m.ChannelType.String()}
		}
	} else if !impliedTypeOK(p.PeerFeatures) {
		return nil, nil, &Error{Code: CodeUnsupportedChannelType,
			Detail: "no channel_type and no option_static_remotekey: legacy commitments are not supported"}
	}
	if pol.RequireAnnounce && m.ChannelFlags&lnwire.ChannelFlagAnnounce == 0 {
		return nil, nil, fieldErr("channel_flags", "we only accept announced channels")
	}
	reserve := pol.reserve(capacity, btcutil.Amount(m.DustLimitSatoshis))
	if uint64(reserve) > m.FundingSatoshis/5 {
		// Only reachable with a policy dust limit out of proportion to
		// a small channel.
		return nil, nil, &Error{Code: CodeChannelTooSmall, Field: "funding_satoshis",
			Detail: "too small for the reserve we must ask"}
	}
	if err := checkInitialBalances(capacity, m.PushMsat, m.FeeratePerKw,
		m.ChannelReserveSatoshis, uint64(reserve)); err != nil {
		return nil, nil, err
	}

	k := &p.LocalKeys
	accept := lnwire.AcceptChannel{
		TemporaryChannelID:       m.TemporaryChannelID,
		DustLimitSatoshis:        uint64(pol.DustLimit),
		MaxHTLCValueInFlightMsat: pol.maxInFlight(capacity),
		ChannelReserveSatoshis:   uint64(reserve),
		HTLCMinimumMsat:          pol.HTLCMinimum,
		MinimumDepth:             pol.MinimumDepth,
		ToSelfDelay:              pol.ToSelfDelay,
		MaxAcceptedHTLCs:         pol.MaxAcceptedHTLCs,
		FundingPubKey:            k.FundingKey,
		RevocationBasepoint:      k.Basepoints.Revocation,
		PaymentBasepoint:         k.Basepoints.Payment,
		DelayedPaymentBasepoint:  k.Basepoints.DelayedPayment,
		HTLCBasepoint:            k.Basepoints.HTLC,
		FirstPerCommitmentPoint:  k.FirstPerCommitmentPoint,
		// BOLT 2: with option_channel_type negotiated, echo the type.
		ChannelType: cloneType(m.ChannelType),
	}
	if accept.ChannelType != nil || len(p.UpfrontShutdownScript) > 0 ||
		p.PeerFeatures.HasFeature(lnwire.UpfrontShutdownScript) {
		accept.UpfrontShutdownScript = append([]byte{}, p.UpfrontShutdownScript...)
	}
	a := &Accepter{
		phase: accepterAwaitingCreated,
		n: negotiation{
			open:        *cloneOpen(m),
			accept:      accept,
			closeScript: bytes.Clone(p.CloseScript),
			maxFeePerKw: pol.MaxFeePerKw,
		},
	}
	return a, cloneAccept(&accept), nil
}

// TempChanID returns the temporary channel id of the negotiation.
func (a *Accepter) TempChanID() lnwire.ChannelID { return a.n.open.TemporaryChannelID }

// ReceiveFundingCreated verifies the funder's signature of our commitment
// 0, signs the funder's, and returns the channel with the funding_signed
// to send. The caller stores the channel and Pending() before sending
// funding_signed: from then on the funder may broadcast.
func (a *Accepter) ReceiveFundingCreated(m *lnwire.FundingCreated, kr *channel.Keyring) (*channel.Channel,
	*lnwire.FundingSigned, error) {

	if a.phase != accepterAwaitingCreated {
		return nil, nil, newErr(CodeUnexpectedMessage, "funding_created twice")
	}
	if m == nil {
		return nil, nil, newErr(CodeUnexpectedMessage, "no funding_created")
	}
	if m.TemporaryChannelID != a.n.open.TemporaryChannelID {
		return nil, nil, &Error{Code: CodeUnexpectedMessage, Field: "temporary_channel_id",
			Detail: "funding_created for " + m.TemporaryChannelID.String()}
	}
	n := a.n
	n.outpoint = wire.OutPoint{Hash: m.FundingTxid, Index: uint32(m.FundingOutputIndex)}
	cfg, err := n.config(kr, m.Signature)
	if err != nil {
		return nil, nil, err
	}
	ch, err := channel.New(cfg)
	if err != nil {
		return nil, nil, signatureError(err)
	}
	sig, err := channel.SignInitialCommitment(cfg)
	if err != nil {
		return nil, nil, newErr(CodeInternal, "%v", err)
	}
	a.n = n
	a.phase = accepterDone
	return ch, &lnwire.FundingSigned{ChannelID: lnwire.NewChannelID(n.outpoint), Signature: sig}, nil
}

// Pending returns what the daemon stores beside the channel until
// channel_ready; nil before ReceiveFundingCreated succeeded.
func (a *Accepter) Pending() *Pending {
	if a.phase != accepterDone {
		return nil
	}
	return a.n.pending()
}
