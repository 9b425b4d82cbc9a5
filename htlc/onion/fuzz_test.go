package onion

import (
	"bytes"
	"testing"
)

// FuzzDecodePayload checks that no payload makes DecodePayload panic, that
// it fails only with *InvalidPayloadError, and that what it accepts
// re-encodes to the same bytes (the TLV encoding is canonical).
func FuzzDecodePayload(f *testing.F) {
	var v onionVector
	loadJSON(f, "bolt04-onion.json", &v)
	for _, h := range vectorHops(f, &v) {
		f.Add(h.Payload, false)
		f.Add(h.Payload, true)
	}
	for _, p := range newTestRoute(f, 3).hops {
		f.Add(p.Payload, true)
	}
	f.Fuzz(func(t *testing.T, b []byte, final bool) {
		p, err := DecodePayload(b, final)
		if err != nil {
			if _, ok := err.(*InvalidPayloadError); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		again, err := p.Encode()
		if err != nil {
			if len(b) > MaxPayloadSize {
				return // valid TLV, too big for an onion
			}
			t.Fatalf("re-encode: %v", err)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("re-encoded %x, want %x", again, b)
		}
	})
}

// FuzzDecodeFailure checks that no failure message makes DecodeFailure
// panic and that a decoded message survives a round trip.
func FuzzDecodeFailure(f *testing.F) {
	for _, m := range allFailures() {
		f.Add(EncodeFailure(m))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		msg, err := DecodeFailure(b)
		if err != nil {
			return
		}
		again, err := DecodeFailure(EncodeFailure(msg))
		if err != nil {
			t.Fatalf("round trip of %x: %v", b, err)
		}
		if !bytes.Equal(EncodeFailure(again), EncodeFailure(msg)) {
			t.Fatalf("round trip of %x changed it", b)
		}
	})
}

// FuzzProcessPacket feeds arbitrary packets to a router: it must refuse
// them with a *ProcessError and never panic.
func FuzzProcessPacket(f *testing.F) {
	route := newTestRoute(f, 2)
	packet, _, err := NewOnion(sessionKey(f), route.hops, route.hash[:])
	if err != nil {
		f.Fatal(err)
	}
	f.Add(packet[:])
	r, err := NewRouter(route.keys[0], nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, err := r.Reprocess(b, route.hash[:])
		if err == nil {
			return
		}
		if _, ok := err.(*ProcessError); !ok {
			t.Fatalf("error of type %T: %v", err, err)
		}
	})
}

// FuzzProcessPayload wraps arbitrary payloads in authentic onions, so that
// the fuzzer gets past the HMAC: Process must agree with DecodePayload.
func FuzzProcessPayload(f *testing.F) {
	route := newTestRoute(f, 2)
	for _, h := range route.hops {
		f.Add(h.Payload, false)
		f.Add(h.Payload, true)
	}
	r, err := NewRouter(route.keys[0], nil)
	if err != nil {
		f.Fatal(err)
	}
	key := sessionKey(f)
	f.Fuzz(func(t *testing.T, payload []byte, final bool) {
		hops := []Hop{{NodePub: route.hops[0].NodePub, Payload: payload}}
		if !final {
			hops = append(hops, route.hops[1])
		}
		packet, _, err := NewOnion(key, hops, route.hash[:])
		if err != nil {
			return // empty or too big
		}
		hop, err := r.Reprocess(packet[:], route.hash[:])
		want, wantErr := DecodePayload(payload, final)
		switch {
		case err != nil && wantErr == nil:
			t.Fatalf("Process failed (%v), DecodePayload accepts %x", err, payload)
		case err == nil && wantErr != nil:
			t.Fatalf("Process accepted %x, DecodePayload: %v", payload, wantErr)
		case err != nil:
			if _, ok := err.(*ProcessError); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
		case hop.Final != final || !bytes.Equal(hop.RawPayload, payload) || hop.Payload.AmtToForward != want.AmtToForward:
			t.Fatalf("processed %+v, want final %v payload %x", hop, final, payload)
		}
	})
}
