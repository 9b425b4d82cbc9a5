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

// OpenerParams are the funder's choices for a new channel.
type OpenerParams struct {
	// TempChanID is the temporary_channel_id, random and unique among
	// the channels with this peer; the caller draws it.
	TempChanID lnwire.ChannelID
	ChainHash  chainhash.Hash
	Capacity   btcutil.Amount
	PushMsat   lnwire.MilliSatoshi
	// FeePerKw is the fee rate of the commitment transactions, which we
	// pay as funder.
	FeePerKw uint32
	// Private leaves the announce_channel bit of channel_flags clear.
	Private   bool
	LocalKeys LocalKeys
	Policy    Policy
	// ChannelType is the channel_type to propose; nil means
	// static_remotekey, the only type Flash implements.
	ChannelType *lnwire.FeatureVector
	// PeerFeatures are the features of the peer's init message.
	PeerFeatures *lnwire.FeatureVector
	// CloseScript is where our balance goes in a cooperative close.
	CloseScript []byte
	// UpfrontShutdownScript, when not empty, commits us to CloseScript
	// being this script (option_upfront_shutdown_script).
	UpfrontShutdownScript []byte
}

type openerPhase uint8

const (
	openerAwaitingAccept openerPhase = iota + 1
	openerAccepted
	openerAwaitingSigned
	openerDone
)

// Opener is the funder's side of channel establishment. Its methods must be
// called in the order of the flow; one returning an error leaves the Opener
// unchanged. It is not safe for concurrent use.
type Opener struct {
	phase     openerPhase
	policy    Policy
	n         negotiation
	fundingTx *wire.MsgTx
}

// FundingRequest tells the wallet which output the funding transaction
// must create, once accept_channel is validated.
type FundingRequest struct {
	PkScript      []byte
	WitnessScript []byte
	Amount        btcutil.Amount
}

// NewOpener checks the funder's parameters and returns the open_channel
// message to send. Errors here are about our own request (a channel too
// small, a peer without static_remotekey) and nothing is sent.
func NewOpener(p OpenerParams) (*Opener, *lnwire.OpenChannel, error) {
	pol := p.Policy
	if err := pol.Validate(); err != nil {
		return nil, nil, err
	}
	if !p.LocalKeys.complete() {
		return nil, nil, newErr(CodeInternal, "incomplete local keys")
	}
	if err := pol.checkCapacity(uint64(p.Capacity)); err != nil {
		return nil, nil, err
	}
	if p.Capacity > MaxStandardChannelSize && !p.PeerFeatures.HasFeature(lnwire.LargeChannels) {
		return nil, nil, &Error{Code: CodeChannelTooLarge, Field: "funding_satoshis",
			Detail: "the peer does not support option_support_large_channel"}
	}
	if p.FeePerKw < FeeFloorPerKw {
		return nil, nil, &Error{Code: CodeFeeTooLow, Field: "feerate_per_kw",
			Detail: "below the relay floor of 253 sat/kw"}
	}
	if p.FeePerKw > pol.MaxFeePerKw {
		return nil, nil, &Error{Code: CodeFeeTooHigh, Field: "feerate_per_kw",
			Detail: "above the policy maximum"}
	}
	if len(p.UpfrontShutdownScript) > 0 && !validShutdownScript(p.UpfrontShutdownScript) {
		return nil, nil, fieldErr("upfront_shutdown_script", "%x is not a standard shutdown script",
			p.UpfrontShutdownScript)
	}
	if p.ChannelType != nil && !isStaticRemoteKeyType(p.ChannelType) {
		return nil, nil, &Error{Code: CodeUnsupportedChannelType, Field: "channel_type",
			Detail: "only static_remotekey is supported, not " + p.ChannelType.String()}
	}
	if !impliedTypeOK(p.PeerFeatures) {
		return nil, nil, &Error{Code: CodeUnsupportedChannelType,
			Detail: "peer does not support option_static_remotekey"}
	}
	reserve := pol.reserve(p.Capacity, 0)
	if err := checkInitialBalances(p.Capacity, p.PushMsat, p.FeePerKw, uint64(reserve)); err != nil {
		return nil, nil, err
	}
	k := &p.LocalKeys
	open := lnwire.OpenChannel{
		ChainHash:                lnwire.ChainHash(p.ChainHash),
		TemporaryChannelID:       p.TempChanID,
		FundingSatoshis:          uint64(p.Capacity),
		PushMsat:                 p.PushMsat,
		DustLimitSatoshis:        uint64(pol.DustLimit),
		MaxHTLCValueInFlightMsat: pol.maxInFlight(p.Capacity),
		ChannelReserveSatoshis:   uint64(reserve),
		HTLCMinimumMsat:          pol.HTLCMinimum,
		FeeratePerKw:             p.FeePerKw,
		ToSelfDelay:              pol.ToSelfDelay,
		MaxAcceptedHTLCs:         pol.MaxAcceptedHTLCs,
		FundingPubKey:            k.FundingKey,
		RevocationBasepoint:      k.Basepoints.Revocation,
		PaymentBasepoint:         k.Basepoints.Payment,
		DelayedPaymentBasepoint:  k.Basepoints.DelayedPayment,
		HTLCBasepoint:            k.Basepoints.HTLC,
		FirstPerCommitmentPoint:  k.FirstPerCommitmentPoint,
	}
	if !p.Private {
		open.ChannelFlags = lnwire.ChannelFlagAnnounce
	}
	// BOLT 2: with option_channel_type negotiated channel_type is
	// mandatory, and any TLV makes upfront_shutdown_script mandatory
	// (empty meaning "no commitment").
	if p.PeerFeatures.HasFeature(lnwire.ChannelTypeFeature) {
		open.ChannelType = StaticRemoteKeyType()
	}
	if open.ChannelType != nil || len(p.UpfrontShutdownScript) > 0 ||
		p.PeerFeatures.HasFeature(lnwire.UpfrontShutdownScript) {
		open.UpfrontShutdownScript = append([]byte{}, p.UpfrontShutdownScript...)
	}
	o := &Opener{
		phase:  openerAwaitingAccept,
		policy: pol,
		n: negotiation{
			localFunder: true,
			open:        open,
			closeScript: bytes.Clone(p.CloseScript),
			maxFeePerKw: pol.MaxFeePerKw,
		},
	}
	return o, cloneOpen(&open), nil
}

// TempChanID returns the temporary channel id of the negotiation.
func (o *Opener) TempChanID() lnwire.ChannelID { return o.n.open.TemporaryChannelID }

// ReceiveAcceptChannel validates the fundee's answer and returns the output
// the funding transaction must create.
func (o *Opener) ReceiveAcceptChannel(m *lnwire.AcceptChannel) (*FundingRequest, error) {
	if o.phase != openerAwaitingAccept {
		return nil, newErr(CodeUnexpectedMessage, "accept_channel after the funding started")
	}
	if m == nil {
		return nil, newErr(CodeUnexpectedMessage, "no accept_channel")
	}
	open := &o.n.open
	if m.TemporaryChannelID != open.TemporaryChannelID {
		return nil, &Error{Code: CodeUnexpectedMessage, Field: "temporary_channel_id",
			Detail: "accept_channel for " + m.TemporaryChannelID.String()}
	}
	capacity := o.n.capacity()
	pp := &peerParams{
		dust: m.DustLimitSatoshis, reserve: m.ChannelReserveSatoshis,
		maxInFlight: m.MaxHTLCValueInFlightMsat, htlcMin: m.HTLCMinimumMsat,
		toSelfDelay: m.ToSelfDelay, maxHTLCs: m.MaxAcceptedHTLCs,
		keys: []*btcec.PublicKey{m.FundingPubKey, m.RevocationBasepoint, m.PaymentBasepoint,
			m.DelayedPaymentBasepoint, m.HTLCBasepoint, m.FirstPerCommitmentPoint},
		upfront: m.UpfrontShutdownScript,
	}
	if err := checkPeerParams(&o.policy, capacity, pp); err != nil {
		return nil, err
	}
	switch {
	case m.MinimumDepth > o.policy.MaxMinimumDepth:
		return nil, fieldErr("minimum_depth", "%d blocks above our maximum of %d",
			m.MinimumDepth, o.policy.MaxMinimumDepth)
	case m.ChannelReserveSatoshis < open.DustLimitSatoshis:
		return nil, fieldErr("channel_reserve_satoshis", "%d sat below our dust limit of %d sat",
			m.ChannelReserveSatoshis, open.DustLimitSatoshis)
	case open.ChannelReserveSatoshis < m.DustLimitSatoshis:
		return nil, fieldErr("dust_limit_satoshis", "%d sat above our channel reserve of %d sat",
			m.DustLimitSatoshis, open.ChannelReserveSatoshis)
	}
	if m.ChannelType != nil && !isStaticRemoteKeyType(m.ChannelType) {
		// Either it differs from the type we sent, or we sent none
		// and it names a type other than the implied one.
		return nil, &Error{Code: CodeUnsupportedChannelType, Field: "channel_type",
			Detail: "accept_channel names " + m.ChannelType.String()}
	}
	if err := checkInitialBalances(capacity, open.PushMsat, open.FeeratePerKw,
		open.ChannelReserveSatoshis, m.ChannelReserveSatoshis); err != nil {
		return nil, err
	}
	n := o.n
	n.accept = *cloneAccept(m)
	ws, pk, err := n.fundingScript()
	if err != nil {
		return nil, err
	}
	o.n = n
	o.phase = openerAccepted
	return &FundingRequest{PkScript: pk, WitnessScript: ws, Amount: capacity}, nil
}

// FundingCreated takes the funding transaction the wallet built for the
// FundingRequest (signed or not: its txid does not depend on the witnesses
// of segwit inputs), signs the fundee's commitment 0 and returns
// funding_created. The caller stores Marshal() before sending it, and must
// not broadcast fundingTx yet.
func (o *Opener) FundingCreated(fundingTx *wire.MsgTx, kr *channel.Keyring) (*lnwire.FundingCreated, error) {
	if o.phase != openerAccepted {
		return nil, newErr(CodeUnexpectedMessage, "funding_created before accept_channel or twice")
	}
	_, pk, err := o.n.fundingScript()
	if err != nil {
		return nil, err
	}
	idx, err := checkFundingTx(fundingTx, pk, o.n.capacity())
	if err != nil {
		return nil, err
	}
	n := o.n
	n.outpoint = wire.OutPoint{Hash: fundingTx.TxHash(), Index: idx}
	cfg, err := n.config(kr, lnwire.Sig{})
	if err != nil {
		return nil, err
	}
	sig, err := channel.SignInitialCommitment(cfg)
	if err != nil {
		return nil, newErr(CodeInternal, "%v", err)
	}
	o.n = n
	o.fundingTx = fundingTx.Copy()
	o.phase = openerAwaitingSigned
	return &lnwire.FundingCreated{
		TemporaryChannelID: n.open.TemporaryChannelID,
		FundingTxid:        n.outpoint.Hash,
		FundingOutputIndex: uint16(idx),
		Signature:          sig,
	}, nil
}

// ReceiveFundingSigned verifies the fundee's signature of our commitment 0
// and returns the channel. Only now may the funding transaction be
// broadcast, and only after the channel and Pending() are stored: without
// that signature the funds would be locked in an output only both parties
// together can spend.
func (o *Opener) ReceiveFundingSigned(m *lnwire.FundingSigned, kr *channel.Keyring) (*channel.Channel, error) {
	if o.phase != openerAwaitingSigned {
		return nil, newErr(CodeUnexpectedMessage, "funding_signed before funding_created or twice")
	}
	if m == nil {
		return nil, newErr(CodeUnexpectedMessage, "no funding_signed")
	}
	if want := lnwire.NewChannelID(o.n.outpoint); m.ChannelID != want {
		return nil, &Error{Code: CodeUnexpectedMessage, Field: "channel_id",
			Detail: "funding_signed for " + m.ChannelID.String() + ", expected " + want.String()}
	}
	cfg, err := o.n.config(kr, m.Signature)
	if err != nil {
		return nil, err
	}
	ch, err := channel.New(cfg)
	if err != nil {
		return nil, signatureError(err)
	}
	o.phase = openerDone
	return ch, nil
}

// Pending returns what the daemon stores beside the channel until
// channel_ready, including the funding transaction to broadcast (again,
// after a restart). It is nil before ReceiveFundingSigned succeeded.
func (o *Opener) Pending() *Pending {
	if o.phase != openerDone {
		return nil
	}
	p := o.n.pending()
	p.FundingTx = o.fundingTx.Copy()
	return p
}

// FundingTx returns the funding transaction given to FundingCreated, nil
// before.
func (o *Opener) FundingTx() *wire.MsgTx {
	if o.fundingTx == nil {
		return nil
	}
	return o.fundingTx.Copy()
}
