package lnwire

import (
	"bytes"
	"encoding/binary"
	"io"

	"github.com/btcsuite/btcd/btcec/v2"
)

// Shutdown is BOLT 2 "Closing Initiation: shutdown" (type 38): the sender
// will add no more HTLCs and wants the channel's funds paid to ScriptPubKey.
type Shutdown struct {
	ChannelID    ChannelID
	ScriptPubKey []byte

	// ExtraRecords keeps unknown odd TLV records.
	ExtraRecords RawRecords
}

// MsgType returns MsgShutdown.
func (m *Shutdown) MsgType() MessageType { return MsgShutdown }

// Encode appends the payload to w.
func (m *Shutdown) Encode(w *bytes.Buffer) error {
	e := newEncoder(w)
	e.bytes(m.ChannelID[:])
	e.varBytes("scriptpubkey", m.ScriptPubKey)
	e.tlvs(m.ExtraRecords)
	return e.err
}

// Decode reads the payload from r. Which scripts are acceptable depends on
// negotiated features, so that check is the channel's, not the decoder's.
func (m *Shutdown) Decode(r io.Reader) error {
	*m = Shutdown{}
	d := newDecoder(r)
	d.read("channel_id", m.ChannelID[:])
	m.ScriptPubKey = d.varBytes("scriptpubkey")
	m.ExtraRecords = d.tlvs()
	return d.err
}

// TLVFeeRange is closing_signed's TLV 1 (closing_signed_tlvs).
const TLVFeeRange = 1

// FeeRange is the range of closing fees, in satoshis, the sender of a
// closing_signed accepts.
type FeeRange struct {
	MinFeeSatoshis uint64
	MaxFeeSatoshis uint64
}

// ClosingSigned is BOLT 2 "Closing Negotiation: closing_signed" (type 39):
// a proposed closing fee with the sender's signature of the closing
// transaction paying it.
type ClosingSigned struct {
	ChannelID   ChannelID
	FeeSatoshis uint64
	Signature   Sig

	// FeeRange is TLV 1; nil means absent.
	FeeRange *FeeRange

	// ExtraRecords keeps unknown odd TLV records.
	ExtraRecords RawRecords
}

// MsgType returns MsgClosingSigned.
func (m *ClosingSigned) MsgType() MessageType { return MsgClosingSigned }

func (m *ClosingSigned) tlvFields() []*tlvField {
	return []*tlvField{{
		typ:     TLVFeeRange,
		present: m.FeeRange != nil,
		encode: func(w *bytes.Buffer) {
			var b [16]byte
			binary.BigEndian.PutUint64(b[:8], m.FeeRange.MinFeeSatoshis)
			binary.BigEndian.PutUint64(b[8:], m.FeeRange.MaxFeeSatoshis)
			w.Write(b[:])
		},
		decode: func(v []byte) error {
			if err := fixedLen(v, 16); err != nil {
				return err
			}
			m.FeeRange = &FeeRange{
				MinFeeSatoshis: binary.BigEndian.Uint64(v[:8]),
				MaxFeeSatoshis: binary.BigEndian.Uint64(v[8:]),
			}
			return nil
		},
	}}
}

// Encode appends the payload to w.
func (m *ClosingSigned) Encode(w *bytes.Buffer) error {
	e := newEncoder(w)
	e.bytes(m.ChannelID[:])
	e.u64(m.FeeSatoshis)
	e.bytes(m.Signature[:])
	e.tlvs(m.ExtraRecords, m.tlvFields()...)
	return e.err
}

// Decode reads the payload from r. A range with min above max is left for
// the negotiation to reject, as BOLT 2 makes that a protocol failure, not
// a malformed message.
func (m *ClosingSigned) Decode(r io.Reader) error {
	*m = ClosingSigned{}
	d := newDecoder(r)
	d.read("channel_id", m.ChannelID[:])
	m.FeeSatoshis = d.u64("fee_satoshis")
	d.read("signature", m.Signature[:])
	m.ExtraRecords = d.tlvs(m.tlvFields()...)
	return d.err
}

// ChannelReestablish is BOLT 2 "Message Retransmission: channel_reestablish"
// (type 136), exchanged after every reconnection to agree on what to
// retransmit and to detect lost state (option_data_loss_protect).
type ChannelReestablish struct {
	ChannelID ChannelID
	// NextCommitmentNumber is the commitment number of the next
	// commitment_signed the sender expects to receive.
	NextCommitmentNumber uint64
	// NextRevocationNumber is the commitment number of the next
	// revoke_and_ack the sender expects to receive.
	NextRevocationNumber uint64
	// YourLastPerCommitmentSecret is the last per-commitment secret the
	// sender received from the peer, or zeroes if none.
	YourLastPerCommitmentSecret [32]byte
	// MyCurrentPerCommitmentPoint is the sender's point for its current
	// (last signed) commitment.
	MyCurrentPerCommitmentPoint *btcec.PublicKey

	// ExtraRecords keeps unknown odd TLV records (splicing's next_funding,
	// for one).
	ExtraRecords RawRecords
}

// MsgType returns MsgChannelReestablish.
func (m *ChannelReestablish) MsgType() MessageType { return MsgChannelReestablish }

// Encode appends the payload to w.
func (m *ChannelReestablish) Encode(w *bytes.Buffer) error {
	e := newEncoder(w)
	e.bytes(m.ChannelID[:])
	e.u64(m.NextCommitmentNumber)
	e.u64(m.NextRevocationNumber)
	e.bytes(m.YourLastPerCommitmentSecret[:])
	e.pubKey("my_current_per_commitment_point", m.MyCurrentPerCommitmentPoint)
	e.tlvs(m.ExtraRecords)
	return e.err
}

// Decode reads the payload from r.
func (m *ChannelReestablish) Decode(r io.Reader) error {
	*m = ChannelReestablish{}
	d := newDecoder(r)
	d.read("channel_id", m.ChannelID[:])
	m.NextCommitmentNumber = d.u64("next_commitment_number")
	m.NextRevocationNumber = d.u64("next_revocation_number")
	d.read("your_last_per_commitment_secret", m.YourLastPerCommitmentSecret[:])
	m.MyCurrentPerCommitmentPoint = d.pubKey("my_current_per_commitment_point")
	m.ExtraRecords = d.tlvs()
	return d.err
}
