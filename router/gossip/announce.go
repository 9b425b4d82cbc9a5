package gossip

import (
	"bytes"
	"io"
	"unicode/utf8"

	"github.com/flash-ln/flash/channel/lnwire"
)

// ChannelAnnouncement is BOLT 7 "The channel_announcement Message"
// (type 256): proof that two nodes own a funding output and are willing to
// route through it.
type ChannelAnnouncement struct {
	NodeSig1    lnwire.Sig
	NodeSig2    lnwire.Sig
	BitcoinSig1 lnwire.Sig
	BitcoinSig2 lnwire.Sig
	// RawFeatures is the features field as it was signed; see Features.
	RawFeatures    []byte
	ChainHash      lnwire.ChainHash
	ShortChannelID lnwire.ShortChannelID
	NodeID1        NodeID
	NodeID2        NodeID
	BitcoinKey1    NodeID
	BitcoinKey2    NodeID
	// ExtraData holds any bytes after the defined fields. They are
	// covered by the signatures and must be relayed unchanged.
	ExtraData []byte
}

var _ lnwire.Message = (*ChannelAnnouncement)(nil)

// MsgType returns lnwire.MsgChannelAnnouncement.
func (m *ChannelAnnouncement) MsgType() lnwire.MessageType { return lnwire.MsgChannelAnnouncement }

// Features decodes the channel's feature bits.
func (m *ChannelAnnouncement) Features() *lnwire.FeatureVector {
	return lnwire.NewFeatureVectorFromBytes(m.RawFeatures)
}

// Encode appends the payload to w.
func (m *ChannelAnnouncement) Encode(w *bytes.Buffer) error {
	w.Write(m.NodeSig1[:])
	w.Write(m.NodeSig2[:])
	w.Write(m.BitcoinSig1[:])
	w.Write(m.BitcoinSig2[:])
	return m.encodeSigned(w)
}

// encodeSigned writes the fields after the four signatures: the bytes
// whose double-SHA256 every signature commits to.
func (m *ChannelAnnouncement) encodeSigned(w *bytes.Buffer) error {
	e := &writer{w: w}
	e.varBytes("features", m.RawFeatures)
	e.bytes(m.ChainHash[:])
	e.scid(m.ShortChannelID)
	e.bytes(m.NodeID1[:])
	e.bytes(m.NodeID2[:])
	e.bytes(m.BitcoinKey1[:])
	e.bytes(m.BitcoinKey2[:])
	e.bytes(m.ExtraData)
	return e.err
}

// Decode reads the payload from r.
func (m *ChannelAnnouncement) Decode(r io.Reader) error {
	*m = ChannelAnnouncement{}
	d := newReader(r)
	d.copyTo("node_signature_1", m.NodeSig1[:])
	d.copyTo("node_signature_2", m.NodeSig2[:])
	d.copyTo("bitcoin_signature_1", m.BitcoinSig1[:])
	d.copyTo("bitcoin_signature_2", m.BitcoinSig2[:])
	m.RawFeatures = d.varBytes("features")
	d.copyTo("chain_hash", m.ChainHash[:])
	m.ShortChannelID = d.scid("short_channel_id")
	m.NodeID1 = d.nodeID("node_id_1")
	m.NodeID2 = d.nodeID("node_id_2")
	m.BitcoinKey1 = d.nodeID("bitcoin_key_1")
	m.BitcoinKey2 = d.nodeID("bitcoin_key_2")
	m.ExtraData = d.rest()
	return d.err
}

// AliasSize is the size of node_announcement's alias field.
const AliasSize = 32

// NodeAnnouncement is BOLT 7 "The node_announcement Message" (type 257): a
// node's alias, color, addresses and features.
type NodeAnnouncement struct {
	Signature lnwire.Sig
	// RawFeatures is the features field as it was signed; see Features.
	RawFeatures []byte
	Timestamp   uint32
	NodeID      NodeID
	RGBColor    [3]byte
	// Alias is UTF-8 padded with zero bytes; see AliasString.
	Alias [AliasSize]byte
	// RawAddresses is the addresses field as it was signed; see
	// Addresses.
	RawAddresses []byte
	// ExtraData holds the node_announcement_tlvs and anything after the
	// addresses, kept verbatim because the signature covers it.
	ExtraData []byte
}

var _ lnwire.Message = (*NodeAnnouncement)(nil)

// MsgType returns lnwire.MsgNodeAnnouncement.
func (m *NodeAnnouncement) MsgType() lnwire.MessageType { return lnwire.MsgNodeAnnouncement }

// Features decodes the node's feature bits.
func (m *NodeAnnouncement) Features() *lnwire.FeatureVector {
	return lnwire.NewFeatureVectorFromBytes(m.RawFeatures)
}

// Addresses decodes the address descriptors. As BOLT 7 asks, parsing stops
// at the first unknown type and deprecated Tor v2 entries are skipped; an
// error means a known descriptor is truncated or malformed.
func (m *NodeAnnouncement) Addresses() ([]lnwire.Address, error) {
	return lnwire.ParseAddresses(m.RawAddresses)
}

// SetAddresses encodes addrs into RawAddresses.
func (m *NodeAnnouncement) SetAddresses(addrs []lnwire.Address) error {
	var b []byte
	for _, a := range addrs {
		var err error
		if b, err = lnwire.AppendAddress(b, a); err != nil {
			return err
		}
	}
	m.RawAddresses = b
	return nil
}

// AliasString returns the alias without its zero padding. Invalid UTF-8
// is replaced rather than rejected: the alias is cosmetic and BOLT 7 gives
// the receiver no rule for it.
func (m *NodeAnnouncement) AliasString() string {
	b := bytes.TrimRight(m.Alias[:], "\x00")
	if utf8.Valid(b) {
		return string(b)
	}
	return string(bytes.ToValidUTF8(b, []byte("\uFFFD")))
}

// SetAlias stores s, truncated at a rune boundary to fit 32 bytes.
func (m *NodeAnnouncement) SetAlias(s string) {
	m.Alias = [AliasSize]byte{}
	for len(s) > AliasSize {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	copy(m.Alias[:], s)
}

// Encode appends the payload to w.
func (m *NodeAnnouncement) Encode(w *bytes.Buffer) error {
	w.Write(m.Signature[:])
	return m.encodeSigned(w)
}

func (m *NodeAnnouncement) encodeSigned(w *bytes.Buffer) error {
	e := &writer{w: w}
	e.varBytes("features", m.RawFeatures)
	e.u32(m.Timestamp)
	e.bytes(m.NodeID[:])
	e.bytes(m.RGBColor[:])
	e.bytes(m.Alias[:])
	e.varBytes("addresses", m.RawAddresses)
	e.bytes(m.ExtraData)
	return e.err
}

// Decode reads the payload from r.
func (m *NodeAnnouncement) Decode(r io.Reader) error {
	*m = NodeAnnouncement{}
	d := newReader(r)
	d.copyTo("signature", m.Signature[:])
	m.RawFeatures = d.varBytes("features")
	m.Timestamp = d.u32("timestamp")
	m.NodeID = d.nodeID("node_id")
	d.copyTo("rgb_color", m.RGBColor[:])
	d.copyTo("alias", m.Alias[:])
	m.RawAddresses = d.varBytes("addresses")
	m.ExtraData = d.rest()
	return d.err
}

// AnnouncementSignatures is BOLT 7 "The announcement_signatures Message"
// (type 259): one channel party's half of the channel_announcement
// signatures, sent to the other party only.
type AnnouncementSignatures struct {
	ChannelID        lnwire.ChannelID
	ShortChannelID   lnwire.ShortChannelID
	NodeSignature    lnwire.Sig
	BitcoinSignature lnwire.Sig
	// ExtraData keeps any bytes after the defined fields.
	ExtraData []byte
}

var _ lnwire.Message = (*AnnouncementSignatures)(nil)

// MsgType returns lnwire.MsgAnnouncementSignatures.
func (m *AnnouncementSignatures) MsgType() lnwire.MessageType {
	return lnwire.MsgAnnouncementSignatures
}

// Encode appends the payload to w.
func (m *AnnouncementSignatures) Encode(w *bytes.Buffer) error {
	e := &writer{w: w}
	e.bytes(m.ChannelID[:])
	e.scid(m.ShortChannelID)
	e.bytes(m.NodeSignature[:])
	e.bytes(m.BitcoinSignature[:])
	e.bytes(m.ExtraData)
	return e.err
}

// Decode reads the payload from r.
func (m *AnnouncementSignatures) Decode(r io.Reader) error {
	*m = AnnouncementSignatures{}
	d := newReader(r)
	d.copyTo("channel_id", m.ChannelID[:])
	m.ShortChannelID = d.scid("short_channel_id")
	d.copyTo("node_signature", m.NodeSignature[:])
	d.copyTo("bitcoin_signature", m.BitcoinSignature[:])
	m.ExtraData = d.rest()
	return d.err
}
