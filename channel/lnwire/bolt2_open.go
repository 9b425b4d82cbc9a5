package lnwire

import (
	"bytes"
	"io"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
)

// ChannelFlagAnnounce is bit 0 of open_channel's channel_flags: the funder
// wants the channel announced to the network.
const ChannelFlagAnnounce = 0x01

// TLV types of open_channel and accept_channel (open_channel_tlvs,
// accept_channel_tlvs).
const (
	TLVUpfrontShutdownScript = 0
	TLVChannelType           = 1
)

// OpenChannel is BOLT 2 "The open_channel Message" (type 32): the funder
// proposes a channel and its own parameters and keys.
type OpenChannel struct {
	ChainHash                ChainHash
	TemporaryChannelID       ChannelID
	FundingSatoshis          uint64
	PushMsat                 MilliSatoshi
	DustLimitSatoshis        uint64
	MaxHTLCValueInFlightMsat MilliSatoshi
	ChannelReserveSatoshis   uint64
	HTLCMinimumMsat          MilliSatoshi
	FeeratePerKw             uint32
	ToSelfDelay              uint16
	MaxAcceptedHTLCs         uint16
	FundingPubKey            *btcec.PublicKey
	RevocationBasepoint      *btcec.PublicKey
	PaymentBasepoint         *btcec.PublicKey
	DelayedPaymentBasepoint  *btcec.PublicKey
	HTLCBasepoint            *btcec.PublicKey
	FirstPerCommitmentPoint  *btcec.PublicKey
	ChannelFlags             uint8

	// UpfrontShutdownScript is TLV 0. Nil means absent; a non-nil empty
	// slice is present and says "no restriction" under
	// option_upfront_shutdown_script.
	UpfrontShutdownScript []byte
	// ChannelType is TLV 1; nil means absent.
	ChannelType *FeatureVector

	// ExtraRecords keeps unknown odd TLV records.
	ExtraRecords RawRecords
}

// MsgType returns MsgOpenChannel.
func (m *OpenChannel) MsgType() MessageType { return MsgOpenChannel }

func (m *OpenChannel) tlvFields() []*tlvField {
	return []*tlvField{
		bytesField(TLVUpfrontShutdownScript, &m.UpfrontShutdownScript),
		featuresField(TLVChannelType, &m.ChannelType),
	}
}

// Encode appends the payload to w.
func (m *OpenChannel) Encode(w *bytes.Buffer) error {
	e := newEncoder(w)
	e.bytes(m.ChainHash[:])
	e.bytes(m.TemporaryChannelID[:])
	e.u64(m.FundingSatoshis)
	e.u64(uint64(m.PushMsat))
	e.u64(m.DustLimitSatoshis)
	e.u64(uint64(m.MaxHTLCValueInFlightMsat))
	e.u64(m.ChannelReserveSatoshis)
	e.u64(uint64(m.HTLCMinimumMsat))
	e.u32(m.FeeratePerKw)
	e.u16(m.ToSelfDelay)
	e.u16(m.MaxAcceptedHTLCs)
	e.pubKey("funding_pubkey", m.FundingPubKey)
	e.pubKey("revocation_basepoint", m.RevocationBasepoint)
	e.pubKey("payment_basepoint", m.PaymentBasepoint)
	e.pubKey("delayed_payment_basepoint", m.DelayedPaymentBasepoint)
	e.pubKey("htlc_basepoint", m.HTLCBasepoint)
	e.pubKey("first_per_commitment_point", m.FirstPerCommitmentPoint)
	e.u8(m.ChannelFlags)
	e.tlvs(m.ExtraRecords, m.tlvFields()...)
	return e.err
}

// Decode reads the payload from r.
func (m *OpenChannel) Decode(r io.Reader) error {
	*m = OpenChannel{}
	d := newDecoder(r)
	d.read("chain_hash", m.ChainHash[:])
	d.read("temporary_channel_id", m.TemporaryChannelID[:])
	m.FundingSatoshis = d.u64("funding_satoshis")
	m.PushMsat = MilliSatoshi(d.u64("push_msat"))
	m.DustLimitSatoshis = d.u64("dust_limit_satoshis")
	m.MaxHTLCValueInFlightMsat = MilliSatoshi(d.u64("max_htlc_value_in_flight_msat"))
	m.ChannelReserveSatoshis = d.u64("channel_reserve_satoshis")
	m.HTLCMinimumMsat = MilliSatoshi(d.u64("htlc_minimum_msat"))
	m.FeeratePerKw = d.u32("feerate_per_kw")
	m.ToSelfDelay = d.u16("to_self_delay")
	m.MaxAcceptedHTLCs = d.u16("max_accepted_htlcs")
	m.FundingPubKey = d.pubKey("funding_pubkey")
	m.RevocationBasepoint = d.pubKey("revocation_basepoint")
	m.PaymentBasepoint = d.pubKey("payment_basepoint")
	m.DelayedPaymentBasepoint = d.pubKey("delayed_payment_basepoint")
	m.HTLCBasepoint = d.pubKey("htlc_basepoint")
	m.FirstPerCommitmentPoint = d.pubKey("first_per_commitment_point")
	m.ChannelFlags = d.u8("channel_flags")
	m.ExtraRecords = d.tlvs(m.tlvFields()...)
	return d.err
}

// AcceptChannel is BOLT 2 "The accept_channel Message" (type 33): the fundee
// accepts and states its own parameters and keys.
type AcceptChannel struct {
	TemporaryChannelID       ChannelID
	DustLimitSatoshis        uint64
	MaxHTLCValueInFlightMsat MilliSatoshi
	ChannelReserveSatoshis   uint64
	HTLCMinimumMsat          MilliSatoshi
	MinimumDepth             uint32
	ToSelfDelay              uint16
	MaxAcceptedHTLCs         uint16
	FundingPubKey            *btcec.PublicKey
	RevocationBasepoint      *btcec.PublicKey
	PaymentBasepoint         *btcec.PublicKey
	DelayedPaymentBasepoint  *btcec.PublicKey
	HTLCBasepoint            *btcec.PublicKey
	FirstPerCommitmentPoint  *btcec.PublicKey

	// UpfrontShutdownScript is TLV 0, with OpenChannel's nil convention.
	UpfrontShutdownScript []byte
	// ChannelType is TLV 1; nil means absent.
	ChannelType *FeatureVector

	// ExtraRecords keeps unknown odd TLV records.
	ExtraRecords RawRecords
}

// MsgType returns MsgAcceptChannel.
func (m *AcceptChannel) MsgType() MessageType { return MsgAcceptChannel }

func (m *AcceptChannel) tlvFields() []*tlvField {
	return []*tlvField{
		bytesField(TLVUpfrontShutdownScript, &m.UpfrontShutdownScript),
		featuresField(TLVChannelType, &m.ChannelType),
	}
}

// Encode appends the payload to w.
func (m *AcceptChannel) Encode(w *bytes.Buffer) error {
	e := newEncoder(w)
	e.bytes(m.TemporaryChannelID[:])
	e.u64(m.DustLimitSatoshis)
	e.u64(uint64(m.MaxHTLCValueInFlightMsat))
	e.u64(m.ChannelReserveSatoshis)
	e.u64(uint64(m.HTLCMinimumMsat))
	e.u32(m.MinimumDepth)
	e.u16(m.ToSelfDelay)
	e.u16(m.MaxAcceptedHTLCs)
	e.pubKey("funding_pubkey", m.FundingPubKey)
	e.pubKey("revocation_basepoint", m.RevocationBasepoint)
	e.pubKey("payment_basepoint", m.PaymentBasepoint)
	e.pubKey("delayed_payment_basepoint", m.DelayedPaymentBasepoint)
	e.pubKey("htlc_basepoint", m.HTLCBasepoint)
	e.pubKey("first_per_commitment_point", m.FirstPerCommitmentPoint)
	e.tlvs(m.ExtraRecords, m.tlvFields()...)
	return e.err
}

// Decode reads the payload from r.
func (m *AcceptChannel) Decode(r io.Reader) error {
	*m = AcceptChannel{}
	d := newDecoder(r)
	d.read("temporary_channel_id", m.TemporaryChannelID[:])
	m.DustLimitSatoshis = d.u64("dust_limit_satoshis")
	m.MaxHTLCValueInFlightMsat = MilliSatoshi(d.u64("max_htlc_value_in_flight_msat"))
	m.ChannelReserveSatoshis = d.u64("channel_reserve_satoshis")
	m.HTLCMinimumMsat = MilliSatoshi(d.u64("htlc_minimum_msat"))
	m.MinimumDepth = d.u32("minimum_depth")
	m.ToSelfDelay = d.u16("to_self_delay")
	m.MaxAcceptedHTLCs = d.u16("max_accepted_htlcs")
	m.FundingPubKey = d.pubKey("funding_pubkey")
	m.RevocationBasepoint = d.pubKey("revocation_basepoint")
	m.PaymentBasepoint = d.pubKey("payment_basepoint")
	m.DelayedPaymentBasepoint = d.pubKey("delayed_payment_basepoint")
	m.HTLCBasepoint = d.pubKey("htlc_basepoint")
	m.FirstPerCommitmentPoint = d.pubKey("first_per_commitment_point")
	m.ExtraRecords = d.tlvs(m.tlvFields()...)
	return d.err
}

// FundingCreated is BOLT 2 "The funding_created Message" (type 34): the
// funder names the funding outpoint and signs the fundee's first commitment.
type FundingCreated struct {
	TemporaryChannelID ChannelID
	// FundingTxid is in internal byte order, as in a wire.OutPoint.
	FundingTxid        chainhash.Hash
	FundingOutputIndex uint16
	Signature          Sig

	// ExtraRecords keeps unknown odd TLV records.
	ExtraRecords RawRecords
}

// MsgType returns MsgFundingCreated.
func (m *FundingCreated) MsgType() MessageType { return MsgFundingCreated }

// Encode appends the payload to w.
func (m *FundingCreated) Encode(w *bytes.Buffer) error {
	e := newEncoder(w)
	e.bytes(m.TemporaryChannelID[:])
	e.bytes(m.FundingTxid[:])
	e.u16(m.FundingOutputIndex)
	e.bytes(m.Signature[:])
	e.tlvs(m.ExtraRecords)
	return e.err
}

// Decode reads the payload from r.
func (m *FundingCreated) Decode(r io.Reader) error {
	*m = FundingCreated{}
	d := newDecoder(r)
	d.read("temporary_channel_id", m.TemporaryChannelID[:])
	d.read("funding_txid", m.FundingTxid[:])
	m.FundingOutputIndex = d.u16("funding_output_index")
	d.read("signature", m.Signature[:])
	m.ExtraRecords = d.tlvs()
	return d.err
}

// FundingSigned is BOLT 2 "The funding_signed Message" (type 35): the fundee
// signs the funder's first commitment, after which the funder may broadcast.
type FundingSigned struct {
	ChannelID ChannelID
	Signature Sig

	// ExtraRecords keeps unknown odd TLV records.
	ExtraRecords RawRecords
}

// MsgType returns MsgFundingSigned.
func (m *FundingSigned) MsgType() MessageType { return MsgFundingSigned }

// Encode appends the payload to w.
func (m *FundingSigned) Encode(w *bytes.Buffer) error {
	e := newEncoder(w)
	e.bytes(m.ChannelID[:])
	e.bytes(m.Signature[:])
	e.tlvs(m.ExtraRecords)
	return e.err
}

// Decode reads the payload from r.
func (m *FundingSigned) Decode(r io.Reader) error {
	*m = FundingSigned{}
	d := newDecoder(r)
	d.read("channel_id", m.ChannelID[:])
	d.read("signature", m.Signature[:])
	m.ExtraRecords = d.tlvs()
	return d.err
}

// TLVShortChannelIDAlias is channel_ready's TLV 1 (channel_ready_tlvs).
const TLVShortChannelIDAlias = 1

// ChannelReady is BOLT 2 "The channel_ready Message" (type 36): the funding
// transaction is deep enough on this side, and here is the point for the
// next commitment.
type ChannelReady struct {
	ChannelID                ChannelID
	SecondPerCommitmentPoint *btcec.PublicKey

	// Alias is TLV 1 (short_channel_id), an alias for use in routing
	// hints before or instead of the real short channel id; nil means
	// absent.
	Alias *ShortChannelID

	// ExtraRecords keeps unknown odd TLV records.
	ExtraRecords RawRecords
}

// MsgType returns MsgChannelReady.
func (m *ChannelReady) MsgType() MessageType { return MsgChannelReady }

func (m *ChannelReady) tlvFields() []*tlvField {
	return []*tlvField{{
		typ:     TLVShortChannelIDAlias,
		present: m.Alias != nil,
		encode: func(w *bytes.Buffer) {
			var b [8]byte
			putUint64(b[:], m.Alias.ToUint64())
			w.Write(b[:])
		},
		decode: func(v []byte) error {
			var u uint64
			if err := decodeU64(v, &u); err != nil {
				return err
			}
			scid := NewShortChanIDFromInt(u)
			m.Alias = &scid
			return nil
		},
	}}
}

// Encode appends the payload to w.
func (m *ChannelReady) Encode(w *bytes.Buffer) error {
	e := newEncoder(w)
	e.bytes(m.ChannelID[:])
	e.pubKey("second_per_commitment_point", m.SecondPerCommitmentPoint)
	e.tlvs(m.ExtraRecords, m.tlvFields()...)
	return e.err
}

// Decode reads the payload from r.
func (m *ChannelReady) Decode(r io.Reader) error {
	*m = ChannelReady{}
	d := newDecoder(r)
	d.read("channel_id", m.ChannelID[:])
	m.SecondPerCommitmentPoint = d.pubKey("second_per_commitment_point")
	m.ExtraRecords = d.tlvs(m.tlvFields()...)
	return d.err
}
