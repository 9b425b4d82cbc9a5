package gossip

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"

	"github.com/flash-ln/flash/channel/lnwire"
)

// reader reads fixed fields from a payload held in memory. The first error
// sticks, so each Decode is a flat list of fields in spec order with one
// check at the end.
type reader struct {
	b   []byte
	err error
}

func newReader(r io.Reader) *reader {
	rd := &reader{}
	if br, ok := r.(*bytes.Reader); ok {
		// Messages come from a transport frame, at most 65535 bytes.
		rd.b = make([]byte, br.Len())
		if _, err := io.ReadFull(br, rd.b); err != nil {
			rd.err = err
		}
		return rd
	}
	b, err := io.ReadAll(io.LimitReader(r, lnwire.MaxMessageSize+1))
	if err != nil {
		rd.err = err
	} else if len(b) > lnwire.MaxMessageSize {
		rd.err = lnwire.ErrMessageTooLarge
	}
	rd.b = b
	return rd
}

func (r *reader) fail(field string, err error) {
	if r.err == nil {
		r.err = &lnwire.FieldError{Field: field, Err: err}
	}
}

func (r *reader) take(field string, n int) []byte {
	if r.err != nil {
		return nil
	}
	if len(r.b) < n {
		r.fail(field, io.ErrUnexpectedEOF)
		return nil
	}
	out := r.b[:n:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) copyTo(field string, dst []byte) {
	if b := r.take(field, len(dst)); b != nil {
		copy(dst, b)
	}
}

func (r *reader) u8(field string) uint8 {
	if b := r.take(field, 1); b != nil {
		return b[0]
	}
	return 0
}

func (r *reader) u16(field string) uint16 {
	if b := r.take(field, 2); b != nil {
		return binary.BigEndian.Uint16(b)
	}
	return 0
}

func (r *reader) u32(field string) uint32 {
	if b := r.take(field, 4); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

func (r *reader) u64(field string) uint64 {
	if b := r.take(field, 8); b != nil {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

func (r *reader) scid(field string) lnwire.ShortChannelID {
	return lnwire.NewShortChanIDFromInt(r.u64(field))
}

// nodeID reads a point and insists that it is a valid compressed key: a
// message naming an invalid key can never carry a valid signature, and
// rejecting it here keeps every later stage free of the check.
func (r *reader) nodeID(field string) NodeID {
	var id NodeID
	b := r.take(field, len(id))
	if b == nil {
		return id
	}
	copy(id[:], b)
	if _, err := id.PubKey(); err != nil {
		r.fail(field, err)
	}
	return id
}

// varBytes reads a u16 length and that many bytes, copied so the message
// does not alias the caller's buffer. The result is never nil, so that an
// empty field compares equal after a round trip.
func (r *reader) varBytes(field string) []byte {
	n := r.u16(field + " length")
	b := r.take(field, int(n))
	if r.err != nil {
		return nil
	}
	return append([]byte{}, b...)
}

// rest returns the remaining bytes, or nil when there are none.
func (r *reader) rest() []byte {
	if r.err != nil || len(r.b) == 0 {
		return nil
	}
	out := append([]byte{}, r.b...)
	r.b = nil
	return out
}

// writer appends fixed fields to a buffer; the only errors are values that
// have no wire form.
type writer struct {
	w   *bytes.Buffer
	err error
}

func (w *writer) u8(v uint8)   { w.w.WriteByte(v) }
func (w *writer) u16(v uint16) { w.w.Write(binary.BigEndian.AppendUint16(nil, v)) }
func (w *writer) u32(v uint32) { w.w.Write(binary.BigEndian.AppendUint32(nil, v)) }
func (w *writer) u64(v uint64) { w.w.Write(binary.BigEndian.AppendUint64(nil, v)) }
func (w *writer) bytes(b []byte) {
	w.w.Write(b)
}
func (w *writer) scid(s lnwire.ShortChannelID) { w.u64(s.ToUint64()) }

func (w *writer) varBytes(field string, b []byte) {
	if len(b) > math.MaxUint16 {
		if w.err == nil {
			w.err = &lnwire.FieldError{Field: field,
				Err: fmt.Errorf("%d bytes exceed the u16 length prefix", len(b))}
		}
		return
	}
	w.u16(uint16(len(b)))
	w.w.Write(b)
}
