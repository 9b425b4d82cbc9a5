package lnwire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

// TestRoundTripRandom encodes random messages of every type, decodes them
// and checks that the result equals the original and re-encodes to the same
// bytes.
func TestRoundTripRandom(t *testing.T) {
	perType := 100
	if testing.Short() {
		perType = 20
	}
	for _, typ := range allMessageTypes {
		t.Run(typ.String(), func(t *testing.T) {
			g := newGen(t, uint64(typ))
			for i := 0; i < perType; i++ {
				msg := g.message(typ)
				raw, err := EncodeMessage(msg)
				if err != nil {
					t.Fatalf("encode %+v: %v", msg, err)
				}
				if MessageType(binary.BigEndian.Uint16(raw)) != typ {
					t.Fatalf("type prefix %x", raw[:2])
				}
				got, err := ParseMessage(raw)
				if err != nil {
					t.Fatalf("decode %x: %v", raw, err)
				}
				if !reflect.DeepEqual(got, msg) {
					t.Fatalf("round trip changed the message:\n got %+v\nwant %+v", got, msg)
				}
				again, err := EncodeMessage(got)
				if err != nil || !bytes.Equal(again, raw) {
					t.Fatalf("re-encoding differs: %x, %v", again, err)
				}
			}
		})
	}
}

// TestTruncated checks that every strict prefix of a message without TLV
// records fails as truncated, never panics, and that the error names the
// message type.
func TestTruncated(t *testing.T) {
	for _, typ := range allMessageTypes {
		g := newGen(t, uint64(typ)+1000)
		msg := g.message(typ)
		clearTLVs(msg)
		raw, err := EncodeMessage(msg)
		if err != nil {
			t.Fatal(err)
		}
		for n := 2; n < len(raw); n++ {
			_, err := ParseMessage(raw[:n])
			var me *MessageError
			if !errors.As(err, &me) || me.Type != typ || !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("%v truncated to %d of %d bytes: error %v", typ, n, len(raw), err)
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("%v: error %v does not name a field", typ, err)
			}
		}
	}
}

// clearTLVs drops every TLV record so the encoding is the fixed part only.
func clearTLVs(msg Message) {
	v := reflect.ValueOf(msg).Elem()
	for _, name := range []string{"ExtraRecords", "UpfrontShutdownScript", "ChannelType",
		"Alias", "FeeRange", "PathKey", "Networks", "RemoteAddr"} {
		if f := v.FieldByName(name); f.IsValid() {
			f.Set(reflect.Zero(f.Type()))
		}
	}
}

// TestUnknownTLVs appends records to every message: an odd one survives the
// round trip, an even one is rejected.
func TestUnknownTLVs(t *testing.T) {
	for _, typ := range allMessageTypes {
		g := newGen(t, uint64(typ)+2000)
		msg := g.message(typ)
		clearTLVs(msg)
		raw, err := EncodeMessage(msg)
		if err != nil {
			t.Fatal(err)
		}
		odd := append(append([]byte{}, raw...), 0xfd, 0x01, 0x01, 0x02, 0xaa, 0xbb)
		got, err := ParseMessage(odd)
		if err != nil {
			t.Fatalf("%v with unknown odd record: %v", typ, err)
		}
		again, _ := EncodeMessage(got)
		if !bytes.Equal(again, odd) {
			t.Fatalf("%v: odd record not preserved: %x, want %x", typ, again, odd)
		}
		even := append(append([]byte{}, raw...), 0xfd, 0x01, 0x02, 0x00)
		if _, err := ParseMessage(even); !errors.Is(err, ErrUnknownEvenType) {
			t.Fatalf("%v with unknown even record: error %v", typ, err)
		}
		garbage := append(append([]byte{}, raw...), 0x07)
		if _, err := ParseMessage(garbage); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("%v with a truncated record: error %v", typ, err)
		}
	}
}

func TestInvalidPubKey(t *testing.T) {
	g := newGen(t, 7)
	msg := g.message(MsgRevokeAndAck).(*RevokeAndAck)
	msg.ExtraRecords = nil
	raw, err := EncodeMessage(msg)
	if err != nil {
		t.Fatal(err)
	}
	off := 2 + 32 + 32
	for _, prefix := range []byte{0x00, 0x04, 0x06, 0xff} {
		bad := append([]byte{}, raw...)
		bad[off] = prefix
		if _, err := ParseMessage(bad); !errors.Is(err, ErrInvalidPubKey) {
			t.Errorf("prefix %#x: error %v", prefix, err)
		}
	}
	// x = p (the field prime) is not a valid coordinate.
	bad := append([]byte{}, raw...)
	copy(bad[off+1:], mustHex(t, "fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f"))
	if _, err := ParseMessage(bad); !errors.Is(err, ErrInvalidPubKey) {
		t.Errorf("x = p: error %v", err)
	}
}

func TestEncodeErrors(t *testing.T) {
	g := newGen(t, 8)
	tests := []struct {
		name string
		msg  Message
		want error
	}{
		{"nil pubkey", &RevokeAndAck{}, nil},
		{"raw record duplicates known", &ClosingSigned{
			FeeRange: &FeeRange{}, ExtraRecords: RawRecords{TLVFeeRange: {1}},
		}, ErrKnownTypeInRaw},
		{"script too long", &Shutdown{ScriptPubKey: make([]byte, 70000)}, nil},
		{"too many htlc sigs", &CommitmentSigned{HTLCSignatures: make([]Sig, MaxHTLCSigs+1)}, nil},
		{"message too large", &UpdateFailHTLC{Reason: make([]byte, 65500)}, ErrMessageTooLarge},
		{"ping too large", &Ping{Ignored: make([]byte, MaxPongBytes+1)}, ErrMessageTooLarge},
	}
	_ = g
	for _, tc := range tests {
		var b bytes.Buffer
		b.WriteString("keep")
		_, err := AppendMessage(&b, tc.msg)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		if tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s: error %v, want %v", tc.name, err, tc.want)
		}
		if b.String() != "keep" {
			t.Errorf("%s: buffer changed on error", tc.name)
		}
	}
	// The largest commitment_signed still fits.
	if _, err := EncodeMessage(&CommitmentSigned{HTLCSignatures: make([]Sig, MaxHTLCSigs)}); err != nil {
		t.Errorf("MaxHTLCSigs signatures: %v", err)
	}
}

func TestFraming(t *testing.T) {
	if _, err := ParseMessage([]byte{0x00}); !errors.Is(err, ErrMessageTooShort) {
		t.Errorf("1 byte: %v", err)
	}
	if _, err := ParseMessage(make([]byte, MaxMessageSize+1)); !errors.Is(err, ErrMessageTooLarge) {
		t.Errorf("oversize: %v", err)
	}
	if _, err := ReadMessage(bytes.NewReader(make([]byte, MaxMessageSize+10))); !errors.Is(err, ErrMessageTooLarge) {
		t.Errorf("oversize reader: %v", err)
	}

	for _, typ := range []MessageType{MsgStfu, MsgTxAddInput, MsgChannelUpdate, 32767, 32768} {
		raw := append(binary.BigEndian.AppendUint16(nil, uint16(typ)), 1, 2, 3)
		msg, err := ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("%v: %v", typ, err)
		}
		um, ok := msg.(*UnknownMessage)
		if !ok || um.Type != typ || !bytes.Equal(um.Payload, []byte{1, 2, 3}) {
			t.Fatalf("%v: got %#v", typ, msg)
		}
		if um.MsgType().IsOdd() != (typ%2 == 1) {
			t.Fatalf("%v: IsOdd wrong", typ)
		}
		var w bytes.Buffer
		if n, err := WriteMessage(&w, um); err != nil || n != len(raw) || !bytes.Equal(w.Bytes(), raw) {
			t.Fatalf("%v: rewrite %x (%d, %v)", typ, w.Bytes(), n, err)
		}
	}

	if MsgUpdateAddHTLC.String() != "update_add_htlc" || MessageType(9999).String() != "unknown(9999)" {
		t.Errorf("MessageType.String: %s %s", MsgUpdateAddHTLC, MessageType(9999))
	}
}

func TestPingPong(t *testing.T) {
	ping := &Ping{NumPongBytes: 10}
	pong := NewPong(ping)
	if pong == nil || len(pong.Ignored) != 10 || ping.CheckPong(pong) != nil {
		t.Fatalf("pong %+v", pong)
	}
	if ping.CheckPong(&Pong{Ignored: make([]byte, 9)}) == nil {
		t.Error("short pong accepted")
	}
	quiet := &Ping{NumPongBytes: MaxPongBytes + 1}
	if quiet.WantsPong() || NewPong(quiet) != nil {
		t.Error("num_pong_bytes >= 65532 must not be answered")
	}
	if !(&Ping{NumPongBytes: MaxPongBytes}).WantsPong() {
		t.Error("num_pong_bytes 65531 must be answered")
	}
	// The largest pong that must be answered still fits in a message.
	if _, err := EncodeMessage(NewPong(&Ping{NumPongBytes: MaxPongBytes})); err != nil {
		t.Errorf("largest pong: %v", err)
	}
}

func TestErrorMessageText(t *testing.T) {
	e := &Error{Data: []byte("bad\x00thing\n")}
	s := e.Error()
	if !strings.Contains(s, `bad\x00thing\x0a`) {
		t.Errorf("Error() = %q", s)
	}
	long := (&Warning{Data: bytes.Repeat([]byte("a"), 1000)}).Error()
	if len(long) > 400 {
		t.Errorf("warning text not capped: %d bytes", len(long))
	}
}
