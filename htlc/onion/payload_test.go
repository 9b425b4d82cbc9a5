package onion

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/flash-ln/flash/channel/lnwire"
)

func scid(v uint64) *lnwire.ShortChannelID {
	id := lnwire.NewShortChanIDFromInt(v)
	return &id
}

func TestPayloadRoundTrip(t *testing.T) {
	preimage := [32]byte{5, 4, 3}
	tests := []struct {
		name    string
		final   bool
		payload Payload
	}{
		{name: "intermediate", payload: Payload{AmtToForward: 15000, OutgoingCLTV: 1500, ShortChannelID: scid(1)}},
		{name: "intermediate zero amount", payload: Payload{AmtToForward: 0, OutgoingCLTV: 0, ShortChannelID: scid(0)}},
		{name: "intermediate custom record", payload: Payload{AmtToForward: 1, OutgoingCLTV: 2, ShortChannelID: scid(3), CustomRecords: map[uint64][]byte{65537: {1, 2}}}},
		{name: "final invoice", final: true, payload: Payload{
			AmtToForward: 50_000_000, OutgoingCLTV: 800_040,
			PaymentData: &PaymentData{PaymentSecret: [32]byte{1}, TotalMsat: 50_000_000},
		}},
		{name: "final metadata", final: true, payload: Payload{
			AmtToForward: 1, OutgoingCLTV: 1,
			PaymentData:     &PaymentData{PaymentSecret: [32]byte{2}, TotalMsat: 0},
			PaymentMetadata: []byte{0x01, 0xfa, 0xfa, 0xf0},
		}},
		{name: "final keysend", final: true, payload: Payload{
			AmtToForward: 1000, OutgoingCLTV: 144, KeysendPreimage: &preimage,
		}},
		{name: "final max values", final: true, payload: Payload{
			AmtToForward: ^lnwire.MilliSatoshi(0), OutgoingCLTV: ^uint32(0),
			PaymentData: &PaymentData{TotalMsat: ^lnwire.MilliSatoshi(0)},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.payload.Encode()
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodePayload(b, tc.final)
			if err != nil {
				t.Fatalf("decode %x: %v", b, err)
			}
			if !reflect.DeepEqual(*got, tc.payload) {
				t.Fatalf("got %+v, want %+v", *got, tc.payload)
			}
			// The other role refuses it.
			if _, err := DecodePayload(b, !tc.final); err == nil {
				t.Fatalf("payload accepted as final=%v", !tc.final)
			}
		})
	}
}

func TestPayloadEncodingIsMinimal(t *testing.T) {
	p := Payload{AmtToForward: 15000, OutgoingCLTV: 1500, ShortChannelID: scid(1)}
	b, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	// The first hop of the BOLT 4 vector, without its length prefix.
	want := []byte{0x02, 0x02, 0x3a, 0x98, 0x04, 0x02, 0x05, 0xdc, 0x06, 0x08, 0, 0, 0, 0, 0, 0, 0, 1}
	if !bytes.Equal(b, want) {
		t.Fatalf("encoded %x, want %x", b, want)
	}
}

func TestDecodePayloadInvalid(t *testing.T) {
	tests := []struct {
		name     string
		final    bool
		hex      []byte
		wantType uint64
	}{
		{name: "empty", final: true, hex: nil, wantType: 2},
		{name: "no amount", final: true, hex: []byte{0x04, 0x01, 0x01}, wantType: 2},
		{name: "no cltv", final: true, hex: []byte{0x02, 0x01, 0x01}, wantType: 4},
		{name: "intermediate without scid", hex: []byte{0x02, 0x01, 0x01, 0x04, 0x01, 0x01}, wantType: 6},
		{name: "final with scid", final: true, hex: []byte{0x02, 0x01, 0x01, 0x04, 0x01, 0x01, 0x06, 0x08, 0, 0, 0, 0, 0, 0, 0, 1}, wantType: 6},
		{name: "unknown even", final: true, hex: []byte{0x02, 0x01, 0x01, 0x04, 0x01, 0x01, 0x0a, 0x00}, wantType: 10},
		{name: "non-minimal amount", final: true, hex: []byte{0x02, 0x02, 0x00, 0x01, 0x04, 0x01, 0x01}, wantType: 2},
		{name: "amount too long", final: true, hex: []byte{0x02, 0x09, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0x04, 0x01, 0x01}, wantType: 2},
		{name: "scid short", hex: []byte{0x02, 0x01, 0x01, 0x04, 0x01, 0x01, 0x06, 0x07, 0, 0, 0, 0, 0, 0, 1}, wantType: 6},
		{name: "out of order", final: true, hex: []byte{0x04, 0x01, 0x01, 0x02, 0x01, 0x01}, wantType: 2},
		{name: "duplicate", final: true, hex: []byte{0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x04, 0x01, 0x01}, wantType: 2},
		{name: "truncated value", final: true, hex: []byte{0x02, 0x01, 0x01, 0x04, 0x03, 0x01}, wantType: 4},
		{name: "payment_data short", final: true, hex: append([]byte{0x02, 0x01, 0x01, 0x04, 0x01, 0x01, 0x08, 0x1f}, make([]byte, 31)...), wantType: 8},
		{name: "keysend at intermediate", hex: append([]byte{0x02, 0x01, 0x01, 0x04, 0x01, 0x01, 0x06, 0x08, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 0, 0x01, 0x46, 0xc6, 0x61, 0x6c, 0x20}, make([]byte, 32)...), wantType: 5482373484},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := DecodePayload(tc.hex, tc.final)
			var ipe *InvalidPayloadError
			if !errors.As(err, &ipe) {
				t.Fatalf("got %+v, %v; want InvalidPayloadError", p, err)
			}
			if ipe.Type != tc.wantType {
				t.Fatalf("type %d, want %d (%v)", ipe.Type, tc.wantType, err)
			}
			f, ok := ipe.Failure().(*InvalidOnionPayload)
			if !ok || f.Type != tc.wantType {
				t.Fatalf("failure %v", ipe.Failure())
			}
		})
	}
}

func TestPayloadEncodeErrors(t *testing.T) {
	for _, p := range []Payload{
		{CustomRecords: map[uint64][]byte{2: {1}}},      // collides with amt_to_forward
		{CustomRecords: map[uint64][]byte{65536: {1}}},  // even
		{PaymentMetadata: make([]byte, MaxPayloadSize)}, // too big
	} {
		if b, err := p.Encode(); err == nil {
			t.Errorf("Encode(%+v) = %x, want error", p, b)
		}
	}
}

func TestInvalidPayloadOffset(t *testing.T) {
	// amt_to_forward, then a second amt_to_forward at byte 3.
	_, err := DecodePayload([]byte{0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x04, 0x01, 0x01}, true)
	var ipe *InvalidPayloadError
	if !errors.As(err, &ipe) || ipe.Type != 2 || ipe.Offset != 3 {
		t.Fatalf("error %+v, want type 2 at offset 3", err)
	}
	// outgoing_cltv_value of 5 bytes at byte 3.
	_, err = DecodePayload([]byte{0x02, 0x01, 0x01, 0x04, 0x05, 1, 1, 1, 1, 1}, true)
	if !errors.As(err, &ipe) || ipe.Type != 4 || ipe.Offset != 3 {
		t.Fatalf("error %+v, want type 4 at offset 3", err)
	}
}
