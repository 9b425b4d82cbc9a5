package lnwire

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/btcsuite/btcd/btcec/v2"
)

// TLVPathKey is update_add_htlc's TLV 0 (update_add_htlc_tlvs): the route
// blinding point of BOLT 4.
const TLVPathKey = 0

// UpdateAddHTLC is BOLT 2 "Adding an HTLC: update_add_htlc" (type 128).
type UpdateAddHTLC struct {
	ChannelID   ChannelID
	ID          uint64
	AmountMsat  MilliSatoshi
	PaymentHash [32]byte
	CltvExpiry  uint32
	// OnionRoutingPacket is the BOLT 4 onion, opaque at this layer.
	OnionRoutingPacket [OnionPacketSize]byte

	// PathKey is TLV 0, set when the HTLC travels a blinded route; nil
	// means absent.
	PathKey *btcec.PublicKey

	// ExtraRecords keeps unknown odd TLV records.
	ExtraRecords RawRecords
}

// MsgType returns MsgUpdateAddHTLC.
func (m *UpdateAddHTLC) MsgType() MessageType { return MsgUpdateAddHTLC }

func (m *UpdateAddHTLC) tlvFields() []*tlvField {
	return []*tlvField{pubKeyField(TLVPathKey, &m.PathKey)}
}

// Encode appends the payload to w.
func (m *UpdateAddHTLC) Encode(w *bytes.Buffer) error {
	e := newEncoder(w)
	e.bytes(m.ChannelID[:])
	e.u64(m.ID)
	e.u64(uint64(m.AmountMsat))
	e.bytes(m.PaymentHash[:])
	e.u32(m.CltvExpiry)
	e.bytes(m.OnionRoutingPacket[:])
	e.tlvs(m.ExtraRecords, m.tlvFields()...)
	return e.err
}

// Decode reads the payload from r.
func (m *UpdateAddHTLC) Decode(r io.Reader) error {
	*m = UpdateAddHTLC{}
	d := newDecoder(r)
	d.read("channel_id", m.ChannelID[:])
	m.ID = d.u64("id")
	m.AmountMsat = MilliSatoshi(d.u64("amount_msat"))
	d.read("payment_hash", m.PaymentHash[:])
	m.CltvExpiry = d.u32("cltv_expiry")
	d.read("onion_routing_packet", m.OnionRoutingPacket[:])
	m.ExtraRecords = d.tlvs(m.tlvFields()...)
	return d.err
}

// UpdateFulfillHTLC is BOLT 2 "Removing an HTLC: update_fulfill_htlc"
// (type 130): the preimage that settles an HTLC.
type UpdateFulfillHTLC struct {
	ChannelID       ChannelID
	ID              uint64
	PaymentPreimage [32]byte

	// ExtraRecords keeps unknown odd TLV records (attribution_data, for
	// one, until it is interpreted).
	ExtraRecords RawRecords
}

// MsgType returns MsgUpdateFulfillHTLC.
func (m *UpdateFulfillHTLC) MsgType() MessageType { return MsgUpdateFulfillHTLC }

// Encode appends the payload to w.
func (m *UpdateFulfillHTLC) Encode(w *bytes.Buffer) error {
	e := newEncoder(w)
	e.bytes(m.ChannelID[:])
	e.u64(m.ID)
	e.bytes(m.PaymentPreimage[:])
	e.tlvs(m.ExtraRecords)
	return e.err
}

// Decode reads the payload from r.
func (m *UpdateFulfillHTLC) Decode(r io.Reader) error {
	*m = UpdateFulfillHTLC{}
	d := newDecoder(r)
	d.read("channel_id", m.ChannelID[:])
	m.ID = d.u64("id")
	d.read("payment_preimage", m.PaymentPreimage[:])
	m.ExtraRecords = d.tlvs()
	return d.err
}

// UpdateFailHTLC is BOLT 2 "Removing an HTLC: update_fail_htlc" (type 131):
// an HTLC fails, with the onion-encrypted reason for the payer.
type UpdateFailHTLC struct {
	ChannelID ChannelID
	ID        uint64
	// Reason is the BOLT 4 encrypted failure message, opaque here.
	Reason []byte

	// ExtraRecords keeps unknown odd TLV records.
	ExtraRecords RawRecords
}

// MsgType returns MsgUpdateFailHTLC.
func (m *UpdateFailHTLC) MsgType() MessageType { return MsgUpdateFailHTLC }

// Encode appends the payload to w.
func (m *UpdateFailHTLC) Encode(w *bytes.Buffer) error {
	e := newEncoder(w)
	e.bytes(m.ChannelID[:])
	e.u64(m.ID)
	e.varBytes("reason", m.Reason)
	e.tlvs(m.ExtraRecords)
	return e.err
}

// Decode reads the payload from r.
func (m *UpdateFailHTLC) Decode(r io.Reader) error {
	*m = UpdateFailHTLC{}
	d := newDecoder(r)
	d.read("channel_id", m.ChannelID[:])
	m.ID = d.u64("id")
	m.Reason = d.varBytes("reason")
	m.ExtraRecords = d.tlvs()
	return d.err
}

// FailureCodeBadOnion is the BADONION flag of BOLT 4 failure codes, which
// update_fail_malformed_htlc's failure_code must carry.
const FailureCodeBadOnion = 0x8000

// UpdateFailMalformedHTLC is BOLT 2 "Removing an HTLC:
// update_fail_malformed_htlc" (type 135): the next hop could not parse the
// onion, so the failure is reported in the clear for this hop to wrap.
type UpdateFailMalformedHTLC struct {
	ChannelID     ChannelID
	ID            uint64
	SHA256OfOnion [32]byte
	FailureCode   uint16

	// ExtraRecords keeps unknown odd TLV records.
	ExtraRecords RawRecords
}

// MsgType returns MsgUpdateFailMalformedHTLC.
func (m *UpdateFailMalformedHTLC) MsgType() MessageType { return MsgUpdateFailMalformedHTLC }

// Encode appends the payload to w.
func (m *UpdateFailMalformedHTLC) Encode(w *bytes.Buffer) error {
	e := newEncoder(w)
	e.bytes(m.ChannelID[:])
	e.u64(m.ID)
	e.bytes(m.SHA256OfOnion[:])
	e.u16(m.FailureCode)
	e.tlvs(m.ExtraRecords)
	return e.err
}

// Decode reads the payload from r. The BADONION requirement on the failure
// code is the receiving channel's to enforce, as its reaction (fail the
// channel) is not a decoding matter.
func (m *UpdateFailMalformedHTLC) Decode(r io.Reader) error {
	*m = UpdateFailMalformedHTLC{}
	d := newDecoder(r)
	d.read("channel_id", m.ChannelID[:])
	m.ID = d.u64("id")
	d.read("sha256_of_onion", m.SHA256OfOnion[:])
	m.FailureCode = d.u16("failure_code")
	m.ExtraRecords = d.tlvs()
	return d.err
}

// MaxHTLCSigs is the most HTLC signatures a commitment_signed can carry
// within the message size limit.
const MaxHTLCSigs = (MaxPayloadSize - 32 - 64 - 2) / 64

// CommitmentSigned is BOLT 2 "Committing Updates So Far: commitment_signed"
// (type 132): a signature for the peer's next commitment transaction and one
// per non-dust HTLC output, in the order of those outputs.
type CommitmentSigned struct {
	ChannelID      ChannelID
	Signature      Sig
	HTLCSignatures []Sig

	// ExtraRecords keeps unknown odd TLV records.
	ExtraRecords RawRecords
}

// MsgType returns MsgCommitmentSigned.
func (m *CommitmentSigned) MsgType() MessageType { return MsgCommitmentSigned }

// Encode appends the payload to w.
func (m *CommitmentSigned) Encode(w *bytes.Buffer) error {
	e := newEncoder(w)
	if len(m.HTLCSignatures) > MaxHTLCSigs {
		return &FieldError{Field: "htlc_signature", Err: fmt.Errorf(
			"%d signatures, at most %d fit in a message", len(m.HTLCSignatures), MaxHTLCSigs)}
	}
	w.Grow(32 + 64 + 2 + 64*len(m.HTLCSignatures))
	e.bytes(m.ChannelID[:])
	e.bytes(m.Signature[:])
	e.u16(uint16(len(m.HTLCSignatures)))
	for i := range m.HTLCSignatures {
		e.bytes(m.HTLCSignatures[i][:])
	}
	e.tlvs(m.ExtraRecords)
	return e.err
}

// Decode reads the payload from r.
func (m *CommitmentSigned) Decode(r io.Reader) error {
	*m = CommitmentSigned{}
	d := newDecoder(r)
	d.read("channel_id", m.ChannelID[:])
	d.read("signature", m.Signature[:])
	n := d.u16("num_htlcs")
	if d.err == nil && int(n) > MaxHTLCSigs {
		d.fail("num_htlcs", errors.New("more signatures than fit in a message"))
	}
	if d.err == nil && n > 0 {
		m.HTLCSignatures = make([]Sig, n)
		for i := range m.HTLCSignatures {
			d.read("htlc_signature", m.HTLCSignatures[i][:])
		}
	}
	m.ExtraRecords = d.tlvs()
	if d.err != nil {
		m.HTLCSignatures = nil
	}
	return d.err
}

// RevokeAndAck is BOLT 2 "Completing the Transition to the Updated State:
// revoke_and_ack" (type 133): the secret that revokes the sender's previous
// commitment and the point for its commitment after next.
type RevokeAndAck struct {
	ChannelID              ChannelID
	PerCommitmentSecret    [32]byte
	NextPerCommitmentPoint *btcec.PublicKey

	// ExtraRecords keeps unknown odd TLV records.
	ExtraRecords RawRecords
}

// MsgType returns MsgRevokeAndAck.
func (m *RevokeAndAck) MsgType() MessageType { return MsgRevokeAndAck }

// Encode appends the payload to w.
func (m *RevokeAndAck) Encode(w *bytes.Buffer) error {
	e := newEncoder(w)
	e.bytes(m.ChannelID[:])
	e.bytes(m.PerCommitmentSecret[:])
	e.pubKey("next_per_commitment_point", m.NextPerCommitmentPoint)
	e.tlvs(m.ExtraRecords)
	return e.err
}

// Decode reads the payload from r.
func (m *RevokeAndAck) Decode(r io.Reader) error {
	*m = RevokeAndAck{}
	d := newDecoder(r)
	d.read("channel_id", m.ChannelID[:])
	d.read("per_commitment_secret", m.PerCommitmentSecret[:])
	m.NextPerCommitmentPoint = d.pubKey("next_per_commitment_point")
	m.ExtraRecords = d.tlvs()
	return d.err
}

// UpdateFee is BOLT 2 "Updating Fees: update_fee" (type 134), sent only by
// the funder.
type UpdateFee struct {
	ChannelID    ChannelID
	FeeratePerKw uint32

	// ExtraRecords keeps unknown odd TLV records.
	ExtraRecords RawRecords
}

// MsgType returns MsgUpdateFee.
func (m *UpdateFee) MsgType() MessageType { return MsgUpdateFee }

// Encode appends the payload to w.
func (m *UpdateFee) Encode(w *bytes.Buffer) error {
	e := newEncoder(w)
	e.bytes(m.ChannelID[:])
	e.u32(m.FeeratePerKw)
	e.tlvs(m.ExtraRecords)
	return e.err
}

// Decode reads the payload from r.
func (m *UpdateFee) Decode(r io.Reader) error {
	*m = UpdateFee{}
	d := newDecoder(r)
	d.read("channel_id", m.ChannelID[:])
	m.FeeratePerKw = d.u32("feerate_per_kw")
	m.ExtraRecords = d.tlvs()
	return d.err
}
