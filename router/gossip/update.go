package gossip

import (
	"bytes"
	"io"

	"github.com/flash-ln/flash/channel/lnwire"
)

// MessageFlags is channel_update's message_flags field.
type MessageFlags uint8

// Bits of message_flags.
const (
	// MsgFlagMustBeOne once announced htlc_maximum_msat; the field is now
	// mandatory, so senders set the bit and receivers ignore it.
	MsgFlagMustBeOne MessageFlags = 1 << 0
	// MsgFlagDontForward marks an update for a private channel that the
	// peer must not relay.
	MsgFlagDontForward MessageFlags = 1 << 1
)

// ChannelFlags is channel_update's channel_flags field.
type ChannelFlags uint8

// Bits of channel_flags.
const (
	// ChanFlagDirection is 0 when node_id_1 signed the update (it governs
	// payments from node 1 to node 2) and 1 when node_id_2 did.
	ChanFlagDirection ChannelFlags = 1 << 0
	// ChanFlagDisabled marks the direction as unusable for now.
	ChanFlagDisabled ChannelFlags = 1 << 1
)

// Direction returns 0 for an update by node_id_1 and 1 for node_id_2.
func (f ChannelFlags) Direction() int { return int(f & ChanFlagDirection) }

// IsDisabled reports whether the disable bit is set.
func (f ChannelFlags) IsDisabled() bool { return f&ChanFlagDisabled != 0 }

// ChannelUpdate is BOLT 7 "The channel_update Message" (type 258): one
// direction's forwarding policy, signed by the node that forwards in that
// direction.
type ChannelUpdate struct {
	Signature                 lnwire.Sig
	ChainHash                 lnwire.ChainHash
	ShortChannelID            lnwire.ShortChannelID
	Timestamp                 uint32
	MessageFlags              MessageFlags
	ChannelFlags              ChannelFlags
	CltvExpiryDelta           uint16
	HTLCMinimumMsat           lnwire.MilliSatoshi
	FeeBaseMsat               uint32
	FeeProportionalMillionths uint32
	HTLCMaximumMsat           lnwire.MilliSatoshi
	// ExtraData holds any bytes after htlc_maximum_msat. The signature
	// covers them, so they are relayed unchanged.
	ExtraData []byte
}

var _ lnwire.Message = (*ChannelUpdate)(nil)

// MsgType returns lnwire.MsgChannelUpdate.
func (m *ChannelUpdate) MsgType() lnwire.MessageType { return lnwire.MsgChannelUpdate }

// Encode appends the payload to w.
func (m *ChannelUpdate) Encode(w *bytes.Buffer) error {
	w.Write(m.Signature[:])
	return m.encodeSigned(w)
}

func (m *ChannelUpdate) encodeSigned(w *bytes.Buffer) error {
	e := &writer{w: w}
	e.bytes(m.ChainHash[:])
	e.scid(m.ShortChannelID)
	e.u32(m.Timestamp)
	e.u8(uint8(m.MessageFlags))
	e.u8(uint8(m.ChannelFlags))
	e.u16(m.CltvExpiryDelta)
	e.u64(uint64(m.HTLCMinimumMsat))
	e.u32(m.FeeBaseMsat)
	e.u32(m.FeeProportionalMillionths)
	e.u64(uint64(m.HTLCMaximumMsat))
	e.bytes(m.ExtraData)
	return e.err
}

// Decode reads the payload from r.
func (m *ChannelUpdate) Decode(r io.Reader) error {
	*m = ChannelUpdate{}
	d := newReader(r)
	d.copyTo("signature", m.Signature[:])
	d.copyTo("chain_hash", m.ChainHash[:])
	m.ShortChannelID = d.scid("short_channel_id")
	m.Timestamp = d.u32("timestamp")
	m.MessageFlags = MessageFlags(d.u8("message_flags"))
	m.ChannelFlags = ChannelFlags(d.u8("channel_flags"))
	m.CltvExpiryDelta = d.u16("cltv_expiry_delta")
	m.HTLCMinimumMsat = lnwire.MilliSatoshi(d.u64("htlc_minimum_msat"))
	m.FeeBaseMsat = d.u32("fee_base_msat")
	m.FeeProportionalMillionths = d.u32("fee_proportional_millionths")
	m.HTLCMaximumMsat = lnwire.MilliSatoshi(d.u64("htlc_maximum_msat"))
	m.ExtraData = d.rest()
	return d.err
}

// SamePolicy reports whether two updates carry the same fields below the
// timestamp. BOLT 7 treats an update repeating the last timestamp with the
// same policy as a harmless duplicate, and one with a different policy as
// misbehaviour.
func (m *ChannelUpdate) SamePolicy(o *ChannelUpdate) bool {
	return m.MessageFlags == o.MessageFlags && m.ChannelFlags == o.ChannelFlags &&
		m.CltvExpiryDelta == o.CltvExpiryDelta &&
		m.HTLCMinimumMsat == o.HTLCMinimumMsat && m.FeeBaseMsat == o.FeeBaseMsat &&
		m.FeeProportionalMillionths == o.FeeProportionalMillionths &&
		m.HTLCMaximumMsat == o.HTLCMaximumMsat && bytes.Equal(m.ExtraData, o.ExtraData)
}

// GossipTimestampFilter is BOLT 7 "The gossip_timestamp_filter Message"
// (type 265): the peer wants gossip whose timestamp lies in
// [FirstTimestamp, FirstTimestamp+TimestampRange).
type GossipTimestampFilter struct {
	ChainHash      lnwire.ChainHash
	FirstTimestamp uint32
	TimestampRange uint32
	// ExtraData keeps any bytes after the defined fields.
	ExtraData []byte
}

var _ lnwire.Message = (*GossipTimestampFilter)(nil)

// MsgType returns lnwire.MsgGossipTimestampFilter.
func (m *GossipTimestampFilter) MsgType() lnwire.MessageType {
	return lnwire.MsgGossipTimestampFilter
}

// Contains reports whether ts falls in the filter's range, computed
// without overflow for ranges that reach past 2^32.
func (m *GossipTimestampFilter) Contains(ts uint32) bool {
	return ts >= m.FirstTimestamp &&
		uint64(ts) < uint64(m.FirstTimestamp)+uint64(m.TimestampRange)
}

// Encode appends the payload to w.
func (m *GossipTimestampFilter) Encode(w *bytes.Buffer) error {
	e := &writer{w: w}
	e.bytes(m.ChainHash[:])
	e.u32(m.FirstTimestamp)
	e.u32(m.TimestampRange)
	e.bytes(m.ExtraData)
	return e.err
}

// Decode reads the payload from r.
func (m *GossipTimestampFilter) Decode(r io.Reader) error {
	*m = GossipTimestampFilter{}
	d := newReader(r)
	d.copyTo("chain_hash", m.ChainHash[:])
	m.FirstTimestamp = d.u32("first_timestamp")
	m.TimestampRange = d.u32("timestamp_range")
	m.ExtraData = d.rest()
	return d.err
}
