package lnwire

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
)

// TLV types of init (init_tlvs).
const (
	TLVNetworks   = 1
	TLVRemoteAddr = 3
)

// Init is BOLT 1 "The init Message" (type 16), the first message on every
// connection.
type Init struct {
	// GlobalFeatures is the legacy field; BOLT 1 senders put every bit in
	// Features and set here at most bits 0 to 12. Use AllFeatures to read.
	GlobalFeatures FeatureVector
	Features       FeatureVector

	// Networks is TLV 1, the chains the sender is interested in. Nil means
	// absent; a non-nil empty slice is present and names no chain.
	Networks []ChainHash
	// RemoteAddr is TLV 3, the address the sender sees the receiver
	// connect from, as a BOLT 7 address descriptor (type byte, address,
	// port); nil means absent.
	RemoteAddr []byte

	// ExtraRecords keeps unknown odd TLV records.
	ExtraRecords RawRecords
}

// MsgType returns MsgInit.
func (m *Init) MsgType() MessageType { return MsgInit }

// AllFeatures returns the union of GlobalFeatures and Features, which is
// what BOLT 1 asks the receiver to act on.
func (m *Init) AllFeatures() *FeatureVector { return m.GlobalFeatures.Union(&m.Features) }

func (m *Init) tlvFields() []*tlvField {
	return []*tlvField{
		{
			typ:     TLVNetworks,
			present: m.Networks != nil,
			encode: func(w *bytes.Buffer) {
				for _, c := range m.Networks {
					w.Write(c[:])
				}
			},
			decode: func(v []byte) error {
				if len(v)%32 != 0 {
					return fmt.Errorf("%w: %d bytes is not a list of chain hashes",
						ErrBadValueLength, len(v))
				}
				m.Networks = make([]ChainHash, len(v)/32)
				for i := range m.Networks {
					copy(m.Networks[i][:], v[32*i:])
				}
				return nil
			},
		},
		bytesField(TLVRemoteAddr, &m.RemoteAddr),
	}
}

// Encode appends the payload to w.
func (m *Init) Encode(w *bytes.Buffer) error {
	e := newEncoder(w)
	e.varBytes("globalfeatures", m.GlobalFeatures.Bytes())
	e.varBytes("features", m.Features.Bytes())
	e.tlvs(m.ExtraRecords, m.tlvFields()...)
	return e.err
}

// Decode reads the payload from r.
func (m *Init) Decode(r io.Reader) error {
	*m = Init{}
	d := newDecoder(r)
	gf := d.varBytes("globalfeatures")
	lf := d.varBytes("features")
	m.ExtraRecords = d.tlvs(m.tlvFields()...)
	if d.err != nil {
		*m = Init{}
		return d.err
	}
	m.GlobalFeatures = *NewFeatureVectorFromBytes(gf)
	m.Features = *NewFeatureVectorFromBytes(lf)
	return nil
}

// Error is BOLT 1 "The error and warning Messages" (type 17): the sender
// fails the channel (or, with a zero ChannelID, every channel with the
// receiver). It implements error so that a received one can be returned.
type Error struct {
	ChannelID ChannelID
	Data      []byte

	// ExtraRecords keeps unknown odd TLV records.
	ExtraRecords RawRecords
}

// MsgType returns MsgError.
func (m *Error) MsgType() MessageType { return MsgError }

// Error returns the peer's message, sanitised for logs.
func (m *Error) Error() string {
	return fmt.Sprintf("peer error for channel %s: %s", m.ChannelID, PrintableData(m.Data))
}

// Encode appends the payload to w.
func (m *Error) Encode(w *bytes.Buffer) error {
	return encodeErrorLike(w, &m.ChannelID, m.Data, m.ExtraRecords)
}

// Decode reads the payload from r.
func (m *Error) Decode(r io.Reader) error {
	*m = Error{}
	return decodeErrorLike(r, &m.ChannelID, &m.Data, &m.ExtraRecords)
}

// Warning is BOLT 1 "The error and warning Messages" (type 1): something is
// wrong, but the sender does not fail the channel.
type Warning struct {
	ChannelID ChannelID
	Data      []byte

	// ExtraRecords keeps unknown odd TLV records.
	ExtraRecords RawRecords
}

// MsgType returns MsgWarning.
func (m *Warning) MsgType() MessageType { return MsgWarning }

// Error returns the peer's message, sanitised for logs.
func (m *Warning) Error() string {
	return fmt.Sprintf("peer warning for channel %s: %s", m.ChannelID, PrintableData(m.Data))
}

// Encode appends the payload to w.
func (m *Warning) Encode(w *bytes.Buffer) error {
	return encodeErrorLike(w, &m.ChannelID, m.Data, m.ExtraRecords)
}

// Decode reads the payload from r.
func (m *Warning) Decode(r io.Reader) error {
	*m = Warning{}
	return decodeErrorLike(r, &m.ChannelID, &m.Data, &m.ExtraRecords)
}

func encodeErrorLike(w *bytes.Buffer, cid *ChannelID, data []byte, extra RawRecords) error {
	e := newEncoder(w)
	e.bytes(cid[:])
	e.varBytes("data", data)
	e.tlvs(extra)
	return e.err
}

func decodeErrorLike(r io.Reader, cid *ChannelID, data *[]byte, extra *RawRecords) error {
	d := newDecoder(r)
	d.read("channel_id", cid[:])
	*data = d.varBytes("data")
	*extra = d.tlvs()
	return d.err
}

// PrintableData renders peer-supplied error text safely: BOLT 1 warns that
// data may be anything, so non-printable bytes are escaped and the result is
// capped in length.
func PrintableData(data []byte) string {
	const maxLen = 256
	var sb strings.Builder
	for _, r := range string(data) {
		if sb.Len() >= maxLen {
			sb.WriteString("...")
			break
		}
		if unicode.IsPrint(r) && r != unicode.ReplacementChar {
			sb.WriteRune(r)
		} else {
			fmt.Fprintf(&sb, "\\x%02x", r)
		}
	}
	return sb.String()
}

// MaxPongBytes is the largest num_pong_bytes that asks for a reply: BOLT 1
// reserves 65532 and above to mean "do not answer".
const MaxPongBytes = 65531

// ErrPongMismatch is returned when a pong does not answer the ping sent.
var ErrPongMismatch = errors.New("pong length does not match ping's num_pong_bytes")

// Ping is BOLT 1 "The ping and pong Messages" (type 18): a keep-alive that
// also lets a node pad traffic.
type Ping struct {
	NumPongBytes uint16
	Ignored      []byte

	// ExtraRecords keeps unknown odd TLV records.
	ExtraRecords RawRecords
}

// MsgType returns MsgPing.
func (m *Ping) MsgType() MessageType { return MsgPing }

// WantsPong reports whether the receiver must answer with a pong.
func (m *Ping) WantsPong() bool { return m.NumPongBytes <= MaxPongBytes }

// CheckPong reports whether p is a valid answer to this ping.
func (m *Ping) CheckPong(p *Pong) error {
	if !m.WantsPong() || len(p.Ignored) != int(m.NumPongBytes) {
		return ErrPongMismatch
	}
	return nil
}

// Encode appends the payload to w.
func (m *Ping) Encode(w *bytes.Buffer) error {
	e := newEncoder(w)
	e.u16(m.NumPongBytes)
	e.varBytes("ignored", m.Ignored)
	e.tlvs(m.ExtraRecords)
	return e.err
}

// Decode reads the payload from r.
func (m *Ping) Decode(r io.Reader) error {
	*m = Ping{}
	d := newDecoder(r)
	m.NumPongBytes = d.u16("num_pong_bytes")
	m.Ignored = d.varBytes("ignored")
	m.ExtraRecords = d.tlvs()
	return d.err
}

// Pong is BOLT 1 "The ping and pong Messages" (type 19), the answer to a
// ping, carrying num_pong_bytes ignored bytes.
type Pong struct {
	Ignored []byte

	// ExtraRecords keeps unknown odd TLV records.
	ExtraRecords RawRecords
}

// MsgType returns MsgPong.
func (m *Pong) MsgType() MessageType { return MsgPong }

// NewPong returns the answer to ping, or nil if it asks for none. The
// ignored bytes are zeroes: BOLT 1 forbids putting secrets there.
func NewPong(ping *Ping) *Pong {
	if !ping.WantsPong() {
		return nil
	}
	return &Pong{Ignored: make([]byte, ping.NumPongBytes)}
}

// Encode appends the payload to w.
func (m *Pong) Encode(w *bytes.Buffer) error {
	e := newEncoder(w)
	e.varBytes("ignored", m.Ignored)
	e.tlvs(m.ExtraRecords)
	return e.err
}

// Decode reads the payload from r.
func (m *Pong) Decode(r io.Reader) error {
	*m = Pong{}
	d := newDecoder(r)
	m.Ignored = d.varBytes("ignored")
	m.ExtraRecords = d.tlvs()
	return d.err
}
