package lnwire

import (
	"bytes"
	"reflect"
	"testing"
)

// seedMessages adds encodings of random messages of the given types to the
// fuzz corpus.
// With payloadOnly the two-byte type is left off.
func seedMessages(f *testing.F, payloadOnly bool, types ...MessageType) {
	for _, typ := range types {
		g := newGen(f, uint64(typ)+5000)
		for i := 0; i < 4; i++ {
			msg := g.message(typ)
			if i == 0 {
				clearTLVs(msg)
			}
			raw, err := EncodeMessage(msg)
			if err != nil {
				f.Fatal(err)
			}
			if payloadOnly {
				raw = raw[2:]
			}
			f.Add(raw)
		}
	}
}

// hasFeatureField reports whether the message carries a feature bit field,
// the one encoding this package accepts in non-minimal form.
func hasFeatureField(msg Message) bool {
	switch msg.(type) {
	case *Init, *OpenChannel, *AcceptChannel:
		return true
	}
	return false
}

// checkRoundTrip is the property every fuzz target checks: whatever
// decodes must encode, decode again to an equal message and re-encode to
// the same bytes; and apart from feature fields, decoding is canonical, so
// the bytes are the input itself.
func checkRoundTrip(t *testing.T, data []byte) {
	msg, err := ParseMessage(data)
	if err != nil {
		return
	}
	enc, err := EncodeMessage(msg)
	if err != nil {
		t.Fatalf("decoded %T does not encode: %v", msg, err)
	}
	if !hasFeatureField(msg) && !bytes.Equal(enc, data) {
		t.Fatalf("%T: input\n%x\nre-encoded\n%x", msg, data, enc)
	}
	msg2, err := ParseMessage(enc)
	if err != nil {
		t.Fatalf("%T: re-encoding does not decode: %v", msg, err)
	}
	if !reflect.DeepEqual(msg, msg2) {
		t.Fatalf("%T: decoded messages differ:\n%+v\n%+v", msg, msg, msg2)
	}
	enc2, err := EncodeMessage(msg2)
	if err != nil || !bytes.Equal(enc, enc2) {
		t.Fatalf("%T: encoding not stable: %x vs %x (%v)", msg, enc, enc2, err)
	}
}

func FuzzReadMessage(f *testing.F) {
	seedMessages(f, false, allMessageTypes...)
	f.Add([]byte{0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0xc9, 0x01, 0x2a})
	f.Add([]byte{0x7f, 0xff, 0x01})
	f.Fuzz(checkRoundTrip)
}

// The TLV-heavy messages get their own targets, so the fuzzer spends its
// time inside their streams rather than rediscovering the type prefix.

func fuzzType(f *testing.F, typ MessageType) {
	seedMessages(f, true, typ)
	f.Fuzz(func(t *testing.T, payload []byte) {
		data := append([]byte{byte(typ >> 8), byte(typ)}, payload...)
		checkRoundTrip(t, data)
	})
}

func FuzzInit(f *testing.F)          { fuzzType(f, MsgInit) }
func FuzzOpenChannel(f *testing.F)   { fuzzType(f, MsgOpenChannel) }
func FuzzAcceptChannel(f *testing.F) { fuzzType(f, MsgAcceptChannel) }
func FuzzChannelReady(f *testing.F)  { fuzzType(f, MsgChannelReady) }
func FuzzClosingSigned(f *testing.F) { fuzzType(f, MsgClosingSigned) }
func FuzzUpdateAddHTLC(f *testing.F) { fuzzType(f, MsgUpdateAddHTLC) }
func FuzzCommitmentSig(f *testing.F) { fuzzType(f, MsgCommitmentSigned) }
func FuzzReestablish(f *testing.F)   { fuzzType(f, MsgChannelReestablish) }

func FuzzParseAddresses(f *testing.F) {
	f.Add([]byte{1, 127, 0, 0, 1, 0x26, 0x07})
	f.Add([]byte{5, 3, 'a', '.', 'b', 0, 1, 2})
	f.Add(append([]byte{4}, make([]byte, 37)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		addrs, err := ParseAddresses(data)
		if err != nil {
			return
		}
		var enc []byte
		for _, a := range addrs {
			if enc, err = AppendAddress(enc, a); err != nil {
				t.Fatalf("parsed %v does not encode: %v", a, err)
			}
		}
		again, err := ParseAddresses(enc)
		if err != nil || len(again) != len(addrs) {
			t.Fatalf("re-parse: %v, %v", again, err)
		}
		for i := range again {
			if again[i] != addrs[i] {
				t.Fatalf("address %d: %v != %v", i, again[i], addrs[i])
			}
		}
	})
}
