package lnwire

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
)

// vectorDir holds the BOLT test vectors as JSON.
const vectorDir = "testdata"

func loadVectors(t testing.TB, name string, v any) {
	t.Helper()
	f, err := os.Open(filepath.Join(vectorDir, name))
	if err != nil {
		t.Skipf("BOLT vectors not available: %v", err)
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode %s: %v", name, err)
	}
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

type bigSizeVector struct {
	Name     string `json:"name"`
	Value    uint64 `json:"value"`
	Bytes    string `json:"bytes"`
	ExpError string `json:"exp_error"`
}

func TestBigSizeVectors(t *testing.T) {
	var file struct {
		Decoding []bigSizeVector `json:"decoding"`
		Encoding []bigSizeVector `json:"encoding"`
	}
	loadVectors(t, "bolt01-bigsize.json", &file)
	if len(file.Decoding) != 18 || len(file.Encoding) != 8 {
		t.Fatalf("got %d decoding and %d encoding vectors, want 18 and 8",
			len(file.Decoding), len(file.Encoding))
	}
	for _, v := range file.Decoding {
		t.Run("decode/"+v.Name, func(t *testing.T) {
			got, err := ReadBigSize(bytes.NewReader(mustHex(t, v.Bytes)))
			if v.ExpError != "" {
				if err == nil || err.Error() != v.ExpError {
					t.Fatalf("error %v, want %q", err, v.ExpError)
				}
				return
			}
			if err != nil || got != v.Value {
				t.Fatalf("got %d, %v; want %d", got, err, v.Value)
			}
		})
	}
	for _, v := range file.Encoding {
		t.Run("encode/"+v.Name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteBigSize(&b, v.Value); err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(b.Bytes()) != v.Bytes {
				t.Fatalf("got %x, want %s", b.Bytes(), v.Bytes)
			}
			if BigSizeLen(v.Value) != b.Len() {
				t.Fatalf("BigSizeLen %d, encoded %d", BigSizeLen(v.Value), b.Len())
			}
		})
	}
}

// The test namespaces n1 and n2 of BOLT 1 Appendix B, built from the same
// tlvField machinery the messages use.

type n1Values struct {
	tlv1 *uint64 // amount_msat
	tlv2 *ShortChannelID
	tlv3 *struct {
		nodeID     *btcec.PublicKey
		amt1, amt2 uint64
	}
	tlv4 *uint16 // cltv_delta
}

func decodeN1(stream []byte) (*n1Values, RawRecords, error) {
	var v n1Values
	fields := []*tlvField{
		{typ: 1, decode: func(b []byte) error {
			var a uint64
			if err := decodeTU64(b, &a); err != nil {
				return err
			}
			v.tlv1 = &a
			return nil
		}},
		{typ: 2, decode: func(b []byte) error {
			var u uint64
			if err := decodeU64(b, &u); err != nil {
				return err
			}
			s := NewShortChanIDFromInt(u)
			v.tlv2 = &s
			return nil
		}},
		{typ: 3, decode: func(b []byte) error {
			if err := fixedLen(b, 33+8+8); err != nil {
				return err
			}
			pk, err := parsePubKey(b[:33])
			if err != nil {
				return err
			}
			v.tlv3 = &struct {
				nodeID     *btcec.PublicKey
				amt1, amt2 uint64
			}{pk, be64(b[33:]), be64(b[41:])}
			return nil
		}},
		{typ: 254, decode: func(b []byte) error {
			if err := fixedLen(b, 2); err != nil {
				return err
			}
			c := uint16(b[0])<<8 | uint16(b[1])
			v.tlv4 = &c
			return nil
		}},
	}
	extra, err := decodeTLVStream(bytes.NewReader(stream), fields...)
	return &v, extra, err
}

// encodeN1 writes the records of v and extra back as a stream, so that the
// vectors also check the minimal encodings (tu64 without leading zeroes).
func encodeN1(v *n1Values, extra RawRecords) []byte {
	var w bytes.Buffer
	var b [8]byte
	fields := []*tlvField{
		{typ: 1, present: v.tlv1 != nil, encode: func(w *bytes.Buffer) { encodeTU64(w, *v.tlv1) }},
		{typ: 2, present: v.tlv2 != nil, encode: func(w *bytes.Buffer) {
			putUint64(b[:], v.tlv2.ToUint64())
			w.Write(b[:])
		}},
		{typ: 3, present: v.tlv3 != nil, encode: func(w *bytes.Buffer) {
			w.Write(v.tlv3.nodeID.SerializeCompressed())
			putUint64(b[:], v.tlv3.amt1)
			w.Write(b[:])
			putUint64(b[:], v.tlv3.amt2)
			w.Write(b[:])
		}},
		{typ: 254, present: v.tlv4 != nil, encode: func(w *bytes.Buffer) {
			w.Write([]byte{byte(*v.tlv4 >> 8), byte(*v.tlv4)})
		}},
	}
	if err := encodeTLVStream(&w, extra, fields...); err != nil {
		panic(err)
	}
	return w.Bytes()
}

func decodeN2(stream []byte) (RawRecords, error) {
	fields := []*tlvField{
		{typ: 0, decode: func(b []byte) error { var a uint64; return decodeTU64(b, &a) }},
		{typ: 11, decode: func(b []byte) error {
			var a uint32
			if err := decodeTU32(b, &a); err != nil {
				return err
			}
			var w bytes.Buffer
			if encodeTU32(&w, a); !bytes.Equal(w.Bytes(), b) {
				return errors.New("tu32 does not re-encode to the same bytes")
			}
			return nil
		}},
	}
	return decodeTLVStream(bytes.NewReader(stream), fields...)
}

func be64(b []byte) uint64 {
	var u uint64
	for _, c := range b[:8] {
		u = u<<8 | uint64(c)
	}
	return u
}

func decodeNS(ns string, stream []byte) error {
	if ns == "n1" {
		_, _, err := decodeN1(stream)
		return err
	}
	_, err := decodeN2(stream)
	return err
}

type tlvVector struct {
	Stream     string                     `json:"stream"`
	Namespaces []string                   `json:"namespaces"`
	Reason     string                     `json:"reason"`
	Explain    string                     `json:"explanation"`
	Values     map[string]json.RawMessage `json:"values"`
	Ignored    bool                       `json:"ignored"`
}

type tlvFile struct {
	DecodingFailures       []tlvVector `json:"decoding_failures"`
	DecodingSuccesses      []tlvVector `json:"decoding_successes"`
	StreamDecodingFailures []tlvVector `json:"stream_decoding_failures"`
	MessageExtension       struct {
		Valid []struct {
			Message string `json:"message"`
			Explain string `json:"explanation"`
		} `json:"valid"`
		Invalid []struct {
			Message string `json:"message"`
			Explain string `json:"explanation"`
		} `json:"invalid"`
	} `json:"message_extension"`
}

func TestTLVVectors(t *testing.T) {
	var file tlvFile
	loadVectors(t, "bolt01-tlv.json", &file)
	if len(file.DecodingFailures) != 33 || len(file.DecodingSuccesses) != 19 ||
		len(file.StreamDecodingFailures) != 5 {
		t.Fatalf("unexpected vector counts %d/%d/%d", len(file.DecodingFailures),
			len(file.DecodingSuccesses), len(file.StreamDecodingFailures))
	}

	for _, v := range append(file.DecodingFailures, file.StreamDecodingFailures...) {
		want := reasonError(v.Reason)
		if want == nil {
			t.Fatalf("no expected error for reason %q", v.Reason)
		}
		for _, ns := range v.Namespaces {
			err := decodeNS(ns, mustHex(t, v.Stream))
			if !errors.Is(err, want) {
				t.Errorf("%s %s (%s): error %v, want %v", ns, v.Stream, v.Reason, err, want)
			}
		}
	}

	for _, v := range file.DecodingSuccesses {
		for _, ns := range v.Namespaces {
			stream := mustHex(t, v.Stream)
			if ns == "n2" {
				if _, err := decodeN2(stream); err != nil {
					t.Errorf("n2 %s: %v", v.Stream, err)
				}
				continue
			}
			got, extra, err := decodeN1(stream)
			if err != nil {
				t.Errorf("n1 %s: %v", v.Stream, err)
				continue
			}
			if v.Ignored != (got.tlv1 == nil && got.tlv2 == nil && got.tlv3 == nil && got.tlv4 == nil) {
				t.Errorf("n1 %s: ignored=%v but decoded %+v", v.Stream, v.Ignored, got)
			}
			if v.Ignored && len(stream) > 0 && len(extra) != 1 {
				t.Errorf("n1 %s: unknown odd record not kept: %v", v.Stream, extra)
			}
			checkN1Values(t, v, got)
			if again := encodeN1(got, extra); !bytes.Equal(again, stream) {
				t.Errorf("n1 %s: re-encoded to %x", v.Stream, again)
			}
		}
	}
}

// reasonError maps the spec's failure reasons to the error this package
// must return, so that a vector cannot pass by failing for the wrong reason.
func reasonError(reason string) error {
	switch {
	case strings.Contains(reason, "truncated"), strings.Contains(reason, "missing"):
		return io.ErrUnexpectedEOF
	case strings.Contains(reason, "not minimally encoded"):
		return ErrBigSizeNotCanonical
	case strings.Contains(reason, "unknown even"):
		return ErrUnknownEvenType
	case strings.Contains(reason, "encoding length"):
		return ErrBadValueLength
	case strings.Contains(reason, "is not minimal"):
		return ErrTUintNotMinimal
	case strings.Contains(reason, "not a valid point"):
		return ErrInvalidPubKey
	case strings.Contains(reason, "ordering"), strings.Contains(reason, "duplicate"):
		return ErrStreamNotCanonical
	}
	return nil
}

func checkN1Values(t *testing.T, v tlvVector, got *n1Values) {
	t.Helper()
	var want struct {
		AmountMsat  uint64 `json:"amount_msat"`
		Scid        string `json:"scid"`
		NodeID      string `json:"node_id"`
		AmountMsat1 uint64 `json:"amount_msat_1"`
		AmountMsat2 uint64 `json:"amount_msat_2"`
		CltvDelta   uint16 `json:"cltv_delta"`
	}
	for name, raw := range v.Values {
		if err := json.Unmarshal(raw, &want); err != nil {
			t.Fatalf("%s: %v", v.Stream, err)
		}
		switch name {
		case "tlv1":
			if got.tlv1 == nil || *got.tlv1 != want.AmountMsat {
				t.Errorf("%s: tlv1 %v, want %d", v.Stream, got.tlv1, want.AmountMsat)
			}
		case "tlv2":
			if got.tlv2 == nil || got.tlv2.String() != want.Scid {
				t.Errorf("%s: tlv2 %v, want %s", v.Stream, got.tlv2, want.Scid)
			}
		case "tlv3":
			if got.tlv3 == nil ||
				hex.EncodeToString(got.tlv3.nodeID.SerializeCompressed()) != want.NodeID ||
				got.tlv3.amt1 != want.AmountMsat1 || got.tlv3.amt2 != want.AmountMsat2 {
				t.Errorf("%s: tlv3 %+v, want %+v", v.Stream, got.tlv3, want)
			}
		case "tlv4":
			if got.tlv4 == nil || *got.tlv4 != want.CltvDelta {
				t.Errorf("%s: tlv4 %v, want %d", v.Stream, got.tlv4, want.CltvDelta)
			}
		default:
			t.Errorf("%s: unexpected record %s", v.Stream, name)
		}
	}
}

// streamTypes lists the record types of a valid stream, in order.
func streamTypes(t *testing.T, stream []byte) []uint64 {
	r := bytes.NewReader(stream)
	var types []uint64
	for {
		typ, err := ReadBigSize(r)
		if errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			return types
		}
		if err != nil {
			t.Fatalf("stream %x: %v", stream, err)
		}
		l, err := ReadBigSize(r)
		if err != nil {
			t.Fatalf("stream %x: %v", stream, err)
		}
		if _, err := r.Seek(int64(l), io.SeekCurrent); err != nil {
			t.Fatal(err)
		}
		types = append(types, typ)
	}
}

// TestTLVStreamRules checks the two rules of BOLT 1 "TLV Decoding Failure":
// an invalid stream appended to a valid one fails, and a valid stream of
// higher types appended to a valid one of lower types succeeds.
func TestTLVStreamRules(t *testing.T) {
	var file tlvFile
	loadVectors(t, "bolt01-tlv.json", &file)
	for _, ns := range []string{"n1", "n2"} {
		var valid [][]byte
		for _, v := range file.DecodingSuccesses {
			if contains(v.Namespaces, ns) {
				valid = append(valid, mustHex(t, v.Stream))
			}
		}
		for _, f := range append(file.DecodingFailures, file.StreamDecodingFailures...) {
			if !contains(f.Namespaces, ns) {
				continue
			}
			for _, s := range valid {
				joined := append(append([]byte{}, s...), mustHex(t, f.Stream)...)
				if decodeNS(ns, joined) == nil {
					t.Errorf("%s: valid %x + invalid %s decoded", ns, s, f.Stream)
				}
			}
		}
		for _, a := range valid {
			for _, b := range valid {
				ta, tb := streamTypes(t, a), streamTypes(t, b)
				if len(ta) == 0 || len(tb) == 0 || ta[len(ta)-1] >= tb[0] {
					continue
				}
				joined := append(append([]byte{}, a...), b...)
				if err := decodeNS(ns, joined); err != nil {
					t.Errorf("%s: %x + %x: %v", ns, a, b, err)
				}
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestInitExtensionVectors runs BOLT 1 Appendix C through ReadMessage.
func TestInitExtensionVectors(t *testing.T) {
	var file tlvFile
	loadVectors(t, "bolt01-tlv.json", &file)
	ext := file.MessageExtension
	if len(ext.Valid) != 2 || len(ext.Invalid) != 3 {
		t.Fatalf("got %d valid and %d invalid, want 2 and 3", len(ext.Valid), len(ext.Invalid))
	}
	for _, v := range ext.Valid {
		raw := mustHex(t, v.Message)
		msg, err := ParseMessage(raw)
		if err != nil {
			t.Errorf("%s (%s): %v", v.Message, v.Explain, err)
			continue
		}
		if _, ok := msg.(*Init); !ok {
			t.Fatalf("%s: got %T", v.Message, msg)
		}
		again, err := EncodeMessage(msg)
		if err != nil || !bytes.Equal(again, raw) {
			t.Errorf("%s: re-encoded to %x, %v", v.Message, again, err)
		}
	}
	for _, v := range ext.Invalid {
		if _, err := ParseMessage(mustHex(t, v.Message)); err == nil {
			t.Errorf("%s (%s): decoded, want failure", v.Message, v.Explain)
		}
	}
}
