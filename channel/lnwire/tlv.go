package lnwire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/lightningnetwork/lnd/tlv"
)

// RawRecords holds the TLV records of a stream that this package does not
// interpret, by type, with their raw values. Decoding keeps only odd types
// here (an unknown even type is an error); encoding writes them back in
// type order among the known records, so unknown extensions survive a round
// trip untouched.
type RawRecords map[uint64][]byte

// ErrUnknownEvenType is returned for a TLV record of an even type the
// decoder does not know: BOLT 1 says "it's ok to be odd", so an unknown even
// record means the sender requires something we do not understand.
var ErrUnknownEvenType = errors.New("unknown even tlv type")

// ErrKnownTypeInRaw is returned when RawRecords holds a type that the message
// defines itself; encoding it would produce a duplicate record.
var ErrKnownTypeInRaw = errors.New("raw tlv record duplicates a known type")

// Errors of TLV streams and their values, as named by the BOLT 1 vectors.
var (
	ErrStreamNotCanonical  = tlv.ErrStreamNotCanonical
	ErrBigSizeNotCanonical = errors.New("decoded bigsize is not canonical")
	ErrTUintNotMinimal     = tlv.ErrTUintNotMinimal
	ErrRecordTooLarge      = tlv.ErrRecordTooLarge
	ErrBadValueLength      = errors.New("tlv value has the wrong length")
)

// TLVTypeError reports a TLV record whose value could not be decoded, or an
// unknown even type.
type TLVTypeError struct {
	Type uint64
	Err  error
}

func (e *TLVTypeError) Error() string { return fmt.Sprintf("tlv type %d: %v", e.Type, e.Err) }
func (e *TLVTypeError) Unwrap() error { return e.Err }

// ReadBigSize reads a BigSize integer (BOLT 1 "Appendix A"), rejecting
// non-minimal encodings. It returns io.EOF only when no byte could be read.
func ReadBigSize(r io.Reader) (uint64, error) {
	var buf [8]byte
	v, err := tlv.ReadVarInt(r, &buf)
	return v, translateTLVErr(err)
}

// translateTLVErr gives lnd/tlv's non-canonical BigSize error this
// package's name, so callers need to know only one sentinel.
func translateTLVErr(err error) error {
	if errors.Is(err, tlv.ErrVarIntNotCanonical) {
		return ErrBigSizeNotCanonical
	}
	return err
}

// WriteBigSize writes v as a BigSize integer.
func WriteBigSize(w io.Writer, v uint64) error {
	var buf [8]byte
	return tlv.WriteVarInt(w, v, &buf)
}

// BigSizeLen returns the encoded size of v as a BigSize integer.
func BigSizeLen(v uint64) int { return int(tlv.VarIntSize(v)) }

// tlvField describes one TLV record a message knows. Encode is called only
// when present is set; decode receives the whole value and sets present.
type tlvField struct {
	typ     uint64
	present bool
	encode  func(w *bytes.Buffer)
	decode  func(v []byte) error
}

// decodeTLVStream reads r to its end as a TLV stream. Canonical order,
// minimal BigSize and the record size limit are enforced by lnd/tlv; this
// adds the value decoding of known types and the odd/even rule.
func decodeTLVStream(r io.Reader, known ...*tlvField) (RawRecords, error) {
	recs := make([]tlv.Record, 0, len(known))
	for _, f := range known {
		f.present = false
		recs = append(recs, tlv.MakeDynamicRecord(tlv.Type(f.typ), f, nil, nil, decodeField))
	}
	stream, err := tlv.NewStream(recs...)
	if err != nil {
		return nil, err // known fields out of order: a bug in this package
	}
	parsed, err := stream.DecodeWithParsedTypesP2P(r)
	if err != nil {
		return nil, translateTLVErr(err)
	}
	var extra RawRecords
	for typ, val := range parsed {
		if isKnown(uint64(typ), known) {
			continue
		}
		if typ%2 == 0 {
			return nil, &TLVTypeError{Type: uint64(typ), Err: ErrUnknownEvenType}
		}
		if extra == nil {
			extra = make(RawRecords)
		}
		if val == nil {
			val = []byte{}
		}
		extra[uint64(typ)] = val
	}
	return extra, nil
}

func anyPresent(known []*tlvField) bool {
	for _, f := range known {
		if f.present {
			return true
		}
	}
	return false
}

func isKnown(typ uint64, known []*tlvField) bool {
	for _, f := range known {
		if f.typ == typ {
			return true
		}
	}
	return false
}

// decodeField adapts a tlvField to lnd/tlv's Decoder signature. The value is
// read whole first, which the P2P record size cap bounds to 65535 bytes.
func decodeField(r io.Reader, val interface{}, _ *[8]byte, l uint64) error {
	f := val.(*tlvField)
	v := make([]byte, l)
	if _, err := io.ReadFull(r, v); err != nil {
		return err
	}
	if err := f.decode(v); err != nil {
		return &TLVTypeError{Type: f.typ, Err: err}
	}
	f.present = true
	return nil
}

// encodeTLVStream writes the present known records and the raw ones in
// ascending type order.
func encodeTLVStream(w *bytes.Buffer, extra RawRecords, known ...*tlvField) error {
	if len(extra) == 0 && !anyPresent(known) {
		return nil
	}
	all := make(map[uint64][]byte, len(extra)+len(known))
	for typ, v := range extra {
		if isKnown(typ, known) {
			return &TLVTypeError{Type: typ, Err: ErrKnownTypeInRaw}
		}
		all[typ] = v
	}
	for _, f := range known {
		if !f.present {
			continue
		}
		var b bytes.Buffer
		f.encode(&b)
		all[f.typ] = b.Bytes()
	}
	if len(all) == 0 {
		return nil
	}
	stream, err := tlv.NewStream(tlv.MapToRecords(all)...)
	if err != nil {
		return err
	}
	return stream.Encode(w)
}

// Value codecs shared by the messages' TLV records.

func fixedLen(v []byte, n int) error {
	if len(v) != n {
		return fmt.Errorf("%w: %d bytes, want %d", ErrBadValueLength, len(v), n)
	}
	return nil
}

func decodeU64(v []byte, out *uint64) error {
	if err := fixedLen(v, 8); err != nil {
		return err
	}
	*out = binary.BigEndian.Uint64(v)
	return nil
}

func decodeTU64(v []byte, out *uint64) error {
	if len(v) > 8 {
		return fmt.Errorf("%w: %d bytes for a tu64", ErrBadValueLength, len(v))
	}
	var buf [8]byte
	return tlv.DTUint64(bytes.NewReader(v), out, &buf, uint64(len(v)))
}

func encodeTU64(w *bytes.Buffer, v uint64) {
	var buf [8]byte
	_ = tlv.ETUint64T(w, v, &buf)
}

func decodeTU32(v []byte, out *uint32) error {
	if len(v) > 4 {
		return fmt.Errorf("%w: %d bytes for a tu32", ErrBadValueLength, len(v))
	}
	var buf [8]byte
	return tlv.DTUint32(bytes.NewReader(v), out, &buf, uint64(len(v)))
}

func encodeTU32(w *bytes.Buffer, v uint32) {
	var buf [8]byte
	_ = tlv.ETUint32T(w, v, &buf)
}

func decodePubKeyValue(v []byte, out **btcec.PublicKey) error {
	if err := fixedLen(v, PubKeySize); err != nil {
		return err
	}
	pk, err := parsePubKey(v)
	if err != nil {
		return err
	}
	*out = pk
	return nil
}

// bytesField is a record whose value is an opaque byte string. A nil slice
// means absent; a non-nil empty slice is a present, empty record, which BOLT 2
// gives a meaning for upfront_shutdown_script.
func bytesField(typ uint64, p *[]byte) *tlvField {
	return &tlvField{
		typ:     typ,
		present: *p != nil,
		encode:  func(w *bytes.Buffer) { w.Write(*p) },
		decode: func(v []byte) error {
			*p = append([]byte{}, v...)
			return nil
		},
	}
}

// pubKeyField is a record holding one compressed point; nil means absent.
func pubKeyField(typ uint64, p **btcec.PublicKey) *tlvField {
	return &tlvField{
		typ:     typ,
		present: *p != nil,
		encode:  func(w *bytes.Buffer) { w.Write((*p).SerializeCompressed()) },
		decode:  func(v []byte) error { return decodePubKeyValue(v, p) },
	}
}

// featuresField is a record holding a feature bit field; nil means absent.
func featuresField(typ uint64, p **FeatureVector) *tlvField {
	return &tlvField{
		typ:     typ,
		present: *p != nil,
		encode:  func(w *bytes.Buffer) { w.Write((*p).Bytes()) },
		decode: func(v []byte) error {
			*p = NewFeatureVectorFromBytes(v)
			return nil
		},
	}
}
