package gossip

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/flash-ln/flash/channel/lnwire"
)

// Bits of a query_short_channel_ids query flag.
const (
	QueryFlagAnnouncement = 1 << 0
	QueryFlagUpdate1      = 1 << 1
	QueryFlagUpdate2      = 1 << 2
	QueryFlagNode1        = 1 << 3
	QueryFlagNode2        = 1 << 4
)

// QueryShortChanIDs is BOLT 7 "query_short_channel_ids" (type 261): a
// request for the announcements and updates of specific channels.
type QueryShortChanIDs struct {
	ChainHash    lnwire.ChainHash
	ShortChanIDs []lnwire.ShortChannelID
	// QueryFlags is TLV 1: nil when absent, else one flag per id.
	QueryFlags []uint64
	// ExtraRecords keeps unknown odd TLV records.
	ExtraRecords lnwire.RawRecords
}

var _ lnwire.Message = (*QueryShortChanIDs)(nil)

// MsgType returns lnwire.MsgQueryShortChanIDs.
func (m *QueryShortChanIDs) MsgType() lnwire.MessageType { return lnwire.MsgQueryShortChanIDs }

// Encode appends the payload to w.
func (m *QueryShortChanIDs) Encode(w *bytes.Buffer) error {
	if m.QueryFlags != nil && len(m.QueryFlags) != len(m.ShortChanIDs) {
		return &lnwire.FieldError{Field: "query_flags",
			Err: fmt.Errorf("%d flags for %d ids", len(m.QueryFlags), len(m.ShortChanIDs))}
	}
	e := &writer{w: w}
	e.bytes(m.ChainHash[:])
	e.varBytes("encoded_short_ids", encodeSCIDs(m.ShortChanIDs))
	if e.err != nil {
		return e.err
	}
	known := map[uint64][]byte{}
	if m.QueryFlags != nil {
		var v bytes.Buffer
		v.WriteByte(EncodingUncompressed)
		for _, f := range m.QueryFlags {
			_ = lnwire.WriteBigSize(&v, f)
		}
		known[1] = v.Bytes()
	}
	return writeTLVs(w, known, m.ExtraRecords)
}

// Decode reads the payload from r.
func (m *QueryShortChanIDs) Decode(r io.Reader) error {
	*m = QueryShortChanIDs{}
	d := newReader(r)
	d.copyTo("chain_hash", m.ChainHash[:])
	enc := d.varBytes("encoded_short_ids")
	if d.err != nil {
		return d.err
	}
	var err error
	if m.ShortChanIDs, err = decodeSCIDs(enc); err != nil {
		return &lnwire.FieldError{Field: "encoded_short_ids", Err: err}
	}
	recs, extra, err := parseTLVs(d.rest(), 1)
	if err != nil {
		return &lnwire.FieldError{Field: "tlv stream", Err: err}
	}
	m.ExtraRecords = extra
	if v, ok := recs[1]; ok {
		if m.QueryFlags, err = decodeQueryFlags(v, len(m.ShortChanIDs)); err != nil {
			return &lnwire.FieldError{Field: "query_flags", Err: err}
		}
	}
	return nil
}

func decodeQueryFlags(v []byte, n int) ([]uint64, error) {
	if len(v) == 0 || v[0] != EncodingUncompressed {
		return nil, ErrUnknownEncoding
	}
	r := bytes.NewReader(v[1:])
	flags := make([]uint64, 0, n)
	for r.Len() > 0 {
		f, err := lnwire.ReadBigSize(r)
		if err != nil {
			return nil, tlvErr(err)
		}
		flags = append(flags, f)
	}
	if len(flags) != n {
		return nil, fmt.Errorf("%d flags for %d ids", len(flags), n)
	}
	return flags, nil
}

// ReplyShortChanIDsEnd is BOLT 7 "reply_short_channel_ids_end" (type
// 262): the end of the answer to a query_short_channel_ids.
type ReplyShortChanIDsEnd struct {
	ChainHash lnwire.ChainHash
	// FullInformation is false when the sender does not keep up-to-date
	// gossip for the chain.
	FullInformation bool
	// ExtraRecords keeps unknown odd TLV records.
	ExtraRecords lnwire.RawRecords
}

var _ lnwire.Message = (*ReplyShortChanIDsEnd)(nil)

// MsgType returns lnwire.MsgReplyShortChanIDsEnd.
func (m *ReplyShortChanIDsEnd) MsgType() lnwire.MessageType { return lnwire.MsgReplyShortChanIDsEnd }

// Encode appends the payload to w.
func (m *ReplyShortChanIDsEnd) Encode(w *bytes.Buffer) error {
	w.Write(m.ChainHash[:])
	w.WriteByte(boolByte(m.FullInformation))
	return writeTLVs(w, nil, m.ExtraRecords)
}

// Decode reads the payload from r.
func (m *ReplyShortChanIDsEnd) Decode(r io.Reader) error {
	*m = ReplyShortChanIDsEnd{}
	d := newReader(r)
	d.copyTo("chain_hash", m.ChainHash[:])
	var err error
	m.FullInformation, err = readBool(d, "full_information")
	if err != nil {
		return err
	}
	if _, m.ExtraRecords, err = parseTLVs(d.rest()); err != nil {
		return &lnwire.FieldError{Field: "tlv stream", Err: err}
	}
	return nil
}

// Bits of query_channel_range's query_option.
const (
	QueryOptionTimestamps = 1 << 0
	QueryOptionChecksums  = 1 << 1
)

// QueryChannelRange is BOLT 7 "query_channel_range" (type 263): a request
// for the ids of the channels opened in a range of blocks.
type QueryChannelRange struct {
	ChainHash      lnwire.ChainHash
	FirstBlocknum  uint32
	NumberOfBlocks uint32
	// QueryOption is TLV 1; nil when absent.
	QueryOption *uint64
	// ExtraRecords keeps unknown odd TLV records.
	ExtraRecords lnwire.RawRecords
}

var _ lnwire.Message = (*QueryChannelRange)(nil)

// MsgType returns lnwire.MsgQueryChannelRange.
func (m *QueryChannelRange) MsgType() lnwire.MessageType { return lnwire.MsgQueryChannelRange }

// Encode appends the payload to w.
func (m *QueryChannelRange) Encode(w *bytes.Buffer) error {
	e := &writer{w: w}
	e.bytes(m.ChainHash[:])
	e.u32(m.FirstBlocknum)
	e.u32(m.NumberOfBlocks)
	known := map[uint64][]byte{}
	if m.QueryOption != nil {
		var v bytes.Buffer
		_ = lnwire.WriteBigSize(&v, *m.QueryOption)
		known[1] = v.Bytes()
	}
	return writeTLVs(w, known, m.ExtraRecords)
}

// Decode reads the payload from r.
func (m *QueryChannelRange) Decode(r io.Reader) error {
	*m = QueryChannelRange{}
	d := newReader(r)
	d.copyTo("chain_hash", m.ChainHash[:])
	m.FirstBlocknum = d.u32("first_blocknum")
	m.NumberOfBlocks = d.u32("number_of_blocks")
	if d.err != nil {
		return d.err
	}
	recs, extra, err := parseTLVs(d.rest(), 1)
	if err != nil {
		return &lnwire.FieldError{Field: "tlv stream", Err: err}
	}
	m.ExtraRecords = extra
	if v, ok := recs[1]; ok {
		br := bytes.NewReader(v)
		opt, err := lnwire.ReadBigSize(br)
		if err == nil && br.Len() != 0 {
			err = lnwire.ErrBadValueLength
		}
		if err != nil {
			return &lnwire.FieldError{Field: "query_option", Err: tlvErr(err)}
		}
		m.QueryOption = &opt
	}
	return nil
}

// ChannelUpdatePair holds a value for each direction of a channel: the
// timestamps or checksums of reply_channel_range.
type ChannelUpdatePair [2]uint32

// ReplyChannelRange is BOLT 7 "reply_channel_range" (type 264): the ids of
// the channels opened in a range of blocks.
type ReplyChannelRange struct {
	ChainHash      lnwire.ChainHash
	FirstBlocknum  uint32
	NumberOfBlocks uint32
	SyncComplete   bool
	ShortChanIDs   []lnwire.ShortChannelID
	// Timestamps is TLV 1 and Checksums TLV 3: nil when absent, else one
	// pair per id.
	Timestamps []ChannelUpdatePair
	Checksums  []ChannelUpdatePair
	// ExtraRecords keeps unknown odd TLV records.
	ExtraRecords lnwire.RawRecords
}

var _ lnwire.Message = (*ReplyChannelRange)(nil)

// MsgType returns lnwire.MsgReplyChannelRange.
func (m *ReplyChannelRange) MsgType() lnwire.MessageType { return lnwire.MsgReplyChannelRange }

// Encode appends the payload to w.
func (m *ReplyChannelRange) Encode(w *bytes.Buffer) error {
	for _, p := range []struct {
		name  string
		pairs []ChannelUpdatePair
	}{{"timestamps_tlv", m.Timestamps}, {"checksums_tlv", m.Checksums}} {
		if p.pairs != nil && len(p.pairs) != len(m.ShortChanIDs) {
			return &lnwire.FieldError{Field: p.name,
				Err: fmt.Errorf("%d entries for %d ids", len(p.pairs), len(m.ShortChanIDs))}
		}
	}
	e := &writer{w: w}
	e.bytes(m.ChainHash[:])
	e.u32(m.FirstBlocknum)
	e.u32(m.NumberOfBlocks)
	e.u8(boolByte(m.SyncComplete))
	e.varBytes("encoded_short_ids", encodeSCIDs(m.ShortChanIDs))
	if e.err != nil {
		return e.err
	}
	known := map[uint64][]byte{}
	if m.Timestamps != nil {
		known[1] = append([]byte{EncodingUncompressed}, encodePairs(m.Timestamps)...)
	}
	if m.Checksums != nil {
		known[3] = encodePairs(m.Checksums)
	}
	return writeTLVs(w, known, m.ExtraRecords)
}

// Decode reads the payload from r.
func (m *ReplyChannelRange) Decode(r io.Reader) error {
	*m = ReplyChannelRange{}
	d := newReader(r)
	d.copyTo("chain_hash", m.ChainHash[:])
	m.FirstBlocknum = d.u32("first_blocknum")
	m.NumberOfBlocks = d.u32("number_of_blocks")
	var err error
	if m.SyncComplete, err = readBool(d, "sync_complete"); err != nil {
		return err
	}
	enc := d.varBytes("encoded_short_ids")
	if d.err != nil {
		return d.err
	}
	if m.ShortChanIDs, err = decodeSCIDs(enc); err != nil {
		return &lnwire.FieldError{Field: "encoded_short_ids", Err: err}
	}
	recs, extra, err := parseTLVs(d.rest(), 1, 3)
	if err != nil {
		return &lnwire.FieldError{Field: "tlv stream", Err: err}
	}
	m.ExtraRecords = extra
	if v, ok := recs[1]; ok {
		if len(v) == 0 || v[0] != EncodingUncompressed {
			return &lnwire.FieldError{Field: "timestamps_tlv", Err: ErrUnknownEncoding}
		}
		if m.Timestamps, err = decodePairs(v[1:], len(m.ShortChanIDs)); err != nil {
			return &lnwire.FieldError{Field: "timestamps_tlv", Err: err}
		}
	}
	if v, ok := recs[3]; ok {
		if m.Checksums, err = decodePairs(v, len(m.ShortChanIDs)); err != nil {
			return &lnwire.FieldError{Field: "checksums_tlv", Err: err}
		}
	}
	return nil
}

func encodePairs(ps []ChannelUpdatePair) []byte {
	b := make([]byte, 0, 8*len(ps))
	for _, p := range ps {
		b = binary.BigEndian.AppendUint32(b, p[0])
		b = binary.BigEndian.AppendUint32(b, p[1])
	}
	return b
}

func decodePairs(b []byte, n int) ([]ChannelUpdatePair, error) {
	if len(b) != 8*n {
		return nil, fmt.Errorf("%d bytes for %d ids", len(b), n)
	}
	ps := make([]ChannelUpdatePair, n)
	for i := range ps {
		ps[i] = ChannelUpdatePair{binary.BigEndian.Uint32(b[8*i:]), binary.BigEndian.Uint32(b[8*i+4:])}
	}
	return ps, nil
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

// readBool reads a byte that must be 0 or 1, so that decoding stays
// canonical.
func readBool(d *reader, field string) (bool, error) {
	v := d.u8(field)
	if d.err != nil {
		return false, d.err
	}
	if v > 1 {
		return false, &lnwire.FieldError{Field: field, Err: fmt.Errorf("value %d is not a boolean", v)}
	}
	return v == 1, nil
}

// ChannelUpdateChecksum is the CRC32C of a channel_update without its
// signature and timestamp, as reply_channel_range's checksums_tlv carries
// it: two updates with the same checksum carry the same policy.
func ChannelUpdateChecksum(u *ChannelUpdate) (uint32, error) {
	var b bytes.Buffer
	if err := u.encodeSigned(&b); err != nil {
		return 0, err
	}
	raw := b.Bytes()
	// Leave out the timestamp: after chain_hash and short_channel_id.
	const tsOff = 32 + 8
	sum := crc32cUpdate(0, raw[:tsOff])
	return crc32cUpdate(sum, raw[tsOff+4:]), nil
}
