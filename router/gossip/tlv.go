package gossip

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/flash-ln/flash/channel/lnwire"
)

// errTLVOrder is returned for a TLV stream whose types do not strictly
// increase.
var errTLVOrder = errors.New("tlv types not strictly increasing")

// parseTLVs reads b as a TLV stream. Records of the known types are
// returned in known, the others in extra; an unknown even type is an
// error, as BOLT 1 requires.
func parseTLVs(b []byte, known ...uint64) (recs map[uint64][]byte, extra lnwire.RawRecords, err error) {
	r := bytes.NewReader(b)
	first := true
	var last uint64
	for r.Len() > 0 {
		typ, err := lnwire.ReadBigSize(r)
		if err != nil {
			return nil, nil, tlvErr(err)
		}
		if !first && typ <= last {
			return nil, nil, &lnwire.TLVTypeError{Type: typ, Err: errTLVOrder}
		}
		first, last = false, typ
		n, err := lnwire.ReadBigSize(r)
		if err != nil {
			return nil, nil, tlvErr(err)
		}
		if n > uint64(r.Len()) {
			return nil, nil, &lnwire.TLVTypeError{Type: typ, Err: io.ErrUnexpectedEOF}
		}
		v := make([]byte, n)
		_, _ = r.Read(v)
		switch {
		case slices.Contains(known, typ):
			if recs == nil {
				recs = make(map[uint64][]byte)
			}
			recs[typ] = v
		case typ%2 == 0:
			return nil, nil, &lnwire.TLVTypeError{Type: typ, Err: lnwire.ErrUnknownEvenType}
		default:
			if extra == nil {
				extra = make(lnwire.RawRecords)
			}
			extra[typ] = v
		}
	}
	return recs, extra, nil
}

func tlvErr(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// writeTLVs writes the records of known and extra in ascending type order.
func writeTLVs(w *bytes.Buffer, known map[uint64][]byte, extra lnwire.RawRecords) error {
	types := make([]uint64, 0, len(known)+len(extra))
	for t := range known {
		types = append(types, t)
	}
	for t := range extra {
		if _, dup := known[t]; dup {
			return &lnwire.TLVTypeError{Type: t, Err: lnwire.ErrKnownTypeInRaw}
		}
		types = append(types, t)
	}
	slices.Sort(types)
	for _, t := range types {
		v, ok := known[t]
		if !ok {
			v = extra[t]
		}
		_ = lnwire.WriteBigSize(w, t)
		_ = lnwire.WriteBigSize(w, uint64(len(v)))
		w.Write(v)
	}
	return nil
}

// EncodingUncompressed is the only encoding of encoded_short_ids and the
// other encoded_ arrays that BOLT 7 still allows (zlib, type 1, is gone).
const EncodingUncompressed = 0

// ErrUnknownEncoding is returned for an encoded_ array of another type.
var ErrUnknownEncoding = errors.New("unknown encoding type")

// decodeSCIDs reads an encoded_short_ids field.
func decodeSCIDs(b []byte) ([]lnwire.ShortChannelID, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrUnknownEncoding)
	}
	if b[0] != EncodingUncompressed {
		return nil, fmt.Errorf("%w: %d", ErrUnknownEncoding, b[0])
	}
	b = b[1:]
	if len(b)%8 != 0 {
		return nil, fmt.Errorf("%d bytes are not a whole number of short channel ids", len(b))
	}
	ids := make([]lnwire.ShortChannelID, len(b)/8)
	d := reader{b: b}
	for i := range ids {
		ids[i] = d.scid("short_channel_id")
	}
	return ids, nil
}

func encodeSCIDs(ids []lnwire.ShortChannelID) []byte {
	b := make([]byte, 0, 1+8*len(ids))
	b = append(b, EncodingUncompressed)
	w := &writer{w: bytes.NewBuffer(b)}
	for _, id := range ids {
		w.scid(id)
	}
	return w.w.Bytes()
}
