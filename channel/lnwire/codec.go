package lnwire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/btcsuite/btcd/btcec/v2"
)

// FieldError reports which field of a message could not be encoded or
// decoded. Err is io.ErrUnexpectedEOF when the payload was truncated.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// decoder reads fixed fields from a payload. The first error sticks: later
// reads return zero values, and the caller checks err once at the end. This
// keeps each message's Decode a flat list of fields in spec order.
type decoder struct {
	r   io.Reader
	buf [8]byte
	err error
}

func newDecoder(r io.Reader) *decoder { return &decoder{r: r} }

func (d *decoder) fail(field string, err error) {
	if d.err != nil {
		return
	}
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	d.err = &FieldError{Field: field, Err: err}
}

func (d *decoder) read(field string, b []byte) bool {
	if d.err != nil {
		return false
	}
	if _, err := io.ReadFull(d.r, b); err != nil {
		d.fail(field, err)
		return false
	}
	return true
}

func (d *decoder) u8(field string) uint8 {
	if !d.read(field, d.buf[:1]) {
		return 0
	}
	return d.buf[0]
}

func (d *decoder) u16(field string) uint16 {
	if !d.read(field, d.buf[:2]) {
		return 0
	}
	return binary.BigEndian.Uint16(d.buf[:2])
}

func (d *decoder) u32(field string) uint32 {
	if !d.read(field, d.buf[:4]) {
		return 0
	}
	return binary.BigEndian.Uint32(d.buf[:4])
}

func (d *decoder) u64(field string) uint64 {
	if !d.read(field, d.buf[:8]) {
		return 0
	}
	return binary.BigEndian.Uint64(d.buf[:8])
}

func (d *decoder) pubKey(field string) *btcec.PublicKey {
	var b [PubKeySize]byte
	if !d.read(field, b[:]) {
		return nil
	}
	pk, err := parsePubKey(b[:])
	if err != nil {
		d.fail(field, err)
		return nil
	}
	return pk
}

// varBytes reads a u16 length followed by that many bytes. The result is
// never nil, so that an empty field compares equal after a round trip.
func (d *decoder) varBytes(field string) []byte {
	n := d.u16(field + " length")
	if d.err != nil {
		return nil
	}
	b := make([]byte, n)
	d.read(field, b)
	return b
}

// tlvs reads the rest of the payload as a TLV stream into the known records
// and returns the unknown odd records.
func (d *decoder) tlvs(known ...*tlvField) RawRecords {
	if d.err != nil {
		return nil
	}
	// Most messages carry no TLV records; skip building a stream for them.
	if lr, ok := d.r.(interface{ Len() int }); ok && lr.Len() == 0 {
		return nil
	}
	extra, err := decodeTLVStream(d.r, known...)
	if err != nil {
		d.fail("tlv stream", err)
		return nil
	}
	return extra
}

// encoder writes fixed fields. Writes to a bytes.Buffer cannot fail, so the
// only errors are values that have no wire form, which stick like decoder's.
type encoder struct {
	w   *bytes.Buffer
	buf [8]byte
	err error
}

func newEncoder(w *bytes.Buffer) *encoder { return &encoder{w: w} }

func (e *encoder) fail(field string, err error) {
	if e.err == nil {
		e.err = &FieldError{Field: field, Err: err}
	}
}

func (e *encoder) u8(v uint8) { e.w.WriteByte(v) }

func (e *encoder) u16(v uint16) {
	binary.BigEndian.PutUint16(e.buf[:2], v)
	e.w.Write(e.buf[:2])
}

func (e *encoder) u32(v uint32) {
	binary.BigEndian.PutUint32(e.buf[:4], v)
	e.w.Write(e.buf[:4])
}

func (e *encoder) u64(v uint64) {
	binary.BigEndian.PutUint64(e.buf[:8], v)
	e.w.Write(e.buf[:8])
}

func (e *encoder) bytes(b []byte) { e.w.Write(b) }

func (e *encoder) pubKey(field string, pk *btcec.PublicKey) {
	if pk == nil {
		e.fail(field, errors.New("missing public key"))
		e.w.Write(make([]byte, PubKeySize))
		return
	}
	e.w.Write(pk.SerializeCompressed())
}

func (e *encoder) varBytes(field string, b []byte) {
	if len(b) > math.MaxUint16 {
		e.fail(field, fmt.Errorf("%d bytes exceed the u16 length prefix", len(b)))
		return
	}
	e.u16(uint16(len(b)))
	e.w.Write(b)
}

func (e *encoder) tlvs(extra RawRecords, known ...*tlvField) {
	if e.err != nil {
		return
	}
	if err := encodeTLVStream(e.w, extra, known...); err != nil {
		e.fail("tlv stream", err)
	}
}
