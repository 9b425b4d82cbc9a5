package onion

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"reflect"
	"sync"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	sphinx "github.com/lightningnetwork/lightning-onion"

	"github.com/flash-ln/flash/channel/lnwire"
)

// testRoute is a route of n nodes with valid payloads: n-1 forwarders and
// a final hop with payment data.
type testRoute struct {
	keys     []*btcec.PrivateKey
	payloads []Payload
	hops     []Hop
	hash     [32]byte
}

func newTestRoute(t testing.TB, n int) *testRoute {
	t.Helper()
	r := &testRoute{hash: sha256.Sum256([]byte("preimage"))}
	for i := 0; i < n; i++ {
		k, _ := btcec.PrivKeyFromBytes(bytes.Repeat([]byte{byte(i + 1)}, 32))
		p := Payload{AmtToForward: lnwire.MilliSatoshi(1_000_000 - 1000*i), OutgoingCLTV: uint32(800_000 - 40*i)}
		if i < n-1 {
			p.ShortChannelID = scid(uint64(i + 1))
		} else {
			p.PaymentData = &PaymentData{PaymentSecret: [32]byte{7}, TotalMsat: p.AmtToForward}
		}
		b, err := p.Encode()
		if err != nil {
			t.Fatal(err)
		}
		r.keys = append(r.keys, k)
		r.payloads = append(r.payloads, p)
		r.hops = append(r.hops, Hop{NodePub: k.PubKey(), Payload: b})
	}
	return r
}

func sessionKey(t testing.TB) *btcec.PrivateKey {
	k, _ := btcec.PrivKeyFromBytes(bytes.Repeat([]byte{0x99}, 32))
	return k
}

func newRouter(t testing.TB, k *btcec.PrivateKey) *Router {
	t.Helper()
	r, err := NewRouter(k, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	return r
}

// TestRouteAndFailBack sends an onion along a route and fails it at each
// hop in turn; the sender must find the hop and the message.
func TestRouteAndFailBack(t *testing.T) {
	const n = 4
	route := newTestRoute(t, n)
	routers := make([]*Router, n)
	for i := range routers {
		routers[i] = newRouter(t, route.keys[i])
	}
	packet, circuit, err := NewOnion(sessionKey(t), route.hops, route.hash[:])
	if err != nil {
		t.Fatal(err)
	}

	// Peel once, keeping each hop's encrypter; Reprocess (no replay log)
	// must agree with Process.
	var encs []*ErrorEncrypter
	cur := packet
	for i := 0; i < n; i++ {
		hop, err := routers[i].Process(cur[:], route.hash[:], 800_100)
		if err != nil {
			t.Fatalf("hop %d: %v", i, err)
		}
		if !reflect.DeepEqual(*hop.Payload, route.payloads[i]) {
			t.Fatalf("hop %d: payload %+v, want %+v", i, *hop.Payload, route.payloads[i])
		}
		if hop.Final != (i == n-1) {
			t.Fatalf("hop %d: final %v", i, hop.Final)
		}
		again, err := routers[i].Reprocess(cur[:], route.hash[:])
		if err != nil || again.NextPacket != hop.NextPacket {
			t.Fatalf("hop %d: Reprocess differs: %v", i, err)
		}
		enc, err := routers[i].ErrorEncrypter(hop.EphemeralKey)
		if err != nil {
			t.Fatal(err)
		}
		encs = append(encs, enc)
		cur = hop.NextPacket
	}

	for failing := 0; failing < n; failing++ {
		for _, msg := range allFailures() {
			reason := encs[failing].EncryptFailure(msg)
			for i := failing - 1; i >= 0; i-- {
				reason = encs[i].Wrap(reason)
			}
			ff, err := DecryptFailure(circuit, reason)
			if err != nil {
				t.Fatalf("hop %d, %v: %v", failing, msg.Code(), err)
			}
			if ff.HopIndex != failing || !ff.Node.IsEqual(route.keys[failing].PubKey()) {
				t.Fatalf("failure from hop %d attributed to %d", failing, ff.HopIndex)
			}
			if !reflect.DeepEqual(ff.Failure, msg) {
				t.Fatalf("hop %d: failure %#v, want %#v", failing, ff.Failure, msg)
			}
		}
	}

	// A restored encrypter encrypts the same way.
	restored := NewErrorEncrypterFromSecret(encs[1].SharedSecret())
	if !bytes.Equal(restored.EncryptFailure(&UnknownNextPeer{}), encs[1].EncryptFailure(&UnknownNextPeer{})) {
		t.Fatal("restored encrypter differs")
	}

	// Garbage is nobody's.
	if _, err := DecryptFailure(circuit, bytes.Repeat([]byte{1}, 292)); !errors.Is(err, ErrUnreadableFailure) {
		t.Fatalf("garbage: %v", err)
	}
	if _, err := DecryptFailure(circuit, []byte{1, 2, 3}); !errors.Is(err, ErrUnreadableFailure) {
		t.Fatalf("short: %v", err)
	}
}

func TestProcessRejects(t *testing.T) {
	route := newTestRoute(t, 2)
	packet, _, err := NewOnion(sessionKey(t), route.hops, route.hash[:])
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		b := append([]byte(nil), packet[:]...)
		b[i] ^= 1
		return b
	}
	badKey := append([]byte(nil), packet[:]...)
	badKey[1] = 0x05 // not a compressed key prefix
	tests := []struct {
		name   string
		packet []byte
		assoc  []byte
		code   FailureCode
	}{
		{"version", flip(0), route.hash[:], CodeInvalidOnionVersion},
		{"ephemeral key", badKey, route.hash[:], CodeInvalidOnionKey},
		{"routing info", flip(100), route.hash[:], CodeInvalidOnionHmac},
		{"hmac", flip(PacketSize - 1), route.hash[:], CodeInvalidOnionHmac},
		{"other payment hash", packet[:], make([]byte, 32), CodeInvalidOnionHmac},
		{"short", packet[:100], route.hash[:], CodeInvalidOnionVersion},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRouter(t, route.keys[0])
			_, err := r.Process(tc.packet, tc.assoc, 0)
			var pe *ProcessError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v, want *ProcessError", err)
			}
			if pe.Failure.Code() != tc.code {
				t.Fatalf("failure %v, want %v", pe.Failure.Code(), tc.code)
			}
			bad, ok := pe.Failure.(*BadOnionFailure)
			if !ok || bad.OnionSHA256 != sha256.Sum256(tc.packet) {
				t.Fatalf("failure %#v does not carry the onion's hash", pe.Failure)
			}
		})
	}

	// The wrong node cannot read it either.
	if _, err := newRouter(t, route.keys[1]).Process(packet[:], route.hash[:], 0); err == nil {
		t.Fatal("wrong node processed the onion")
	}
}

func TestProcessInvalidPayload(t *testing.T) {
	k, _ := btcec.PrivKeyFromBytes(bytes.Repeat([]byte{1}, 32))
	// An intermediate hop's payload without short_channel_id.
	p, _ := (&Payload{AmtToForward: 1, OutgoingCLTV: 1}).Encode()
	next, _ := btcec.PrivKeyFromBytes(bytes.Repeat([]byte{2}, 32))
	final, _ := (&Payload{AmtToForward: 1, OutgoingCLTV: 1}).Encode()
	hash := [32]byte{1}
	packet, _, err := NewOnion(sessionKey(t), []Hop{{k.PubKey(), p}, {next.PubKey(), final}}, hash[:])
	if err != nil {
		t.Fatal(err)
	}
	_, err = newRouter(t, k).Process(packet[:], hash[:], 0)
	var pe *ProcessError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v", err)
	}
	if f, ok := pe.Failure.(*InvalidOnionPayload); !ok || f.Type != uint64(TypeShortChannelID) {
		t.Fatalf("failure %v, want invalid_onion_payload for type 6", pe.Failure)
	}
}

func TestReplay(t *testing.T) {
	route := newTestRoute(t, 2)
	packet, _, err := NewOnion(sessionKey(t), route.hops, route.hash[:])
	if err != nil {
		t.Fatal(err)
	}
	log := NewReplayLog()
	r, err := NewRouter(route.keys[0], log)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Process(packet[:], route.hash[:], 100); err != nil {
		t.Fatal(err)
	}
	_, err = r.Process(packet[:], route.hash[:], 100)
	if !errors.Is(err, ErrReplayed) {
		t.Fatalf("replay: %v", err)
	}
	// A node restarting re-reads HTLCs it already holds.
	if _, err := r.Reprocess(packet[:], route.hash[:]); err != nil {
		t.Fatalf("Reprocess: %v", err)
	}
	log.Prune(100)
	if log.Len() != 1 {
		t.Fatalf("entry at the pruning height removed")
	}
	log.Prune(101)
	if log.Len() != 0 {
		t.Fatalf("expired entry kept")
	}
	if _, err := r.Process(packet[:], route.hash[:], 100); err != nil {
		t.Fatalf("after prune: %v", err)
	}
}

func TestProcessConcurrent(t *testing.T) {
	route := newTestRoute(t, 2)
	r := newRouter(t, route.keys[0])
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, _ := btcec.PrivKeyFromBytes(bytes.Repeat([]byte{byte(0x40 + i)}, 32))
			packet, _, err := NewOnion(s, route.hops, route.hash[:])
			if err != nil {
				t.Error(err)
				return
			}
			if _, err := r.Process(packet[:], route.hash[:], 1); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
}

func TestNewOnionErrors(t *testing.T) {
	route := newTestRoute(t, 2)
	tooMany := make([]Hop, MaxHops+1)
	for i := range tooMany {
		tooMany[i] = route.hops[0]
	}
	for name, hops := range map[string][]Hop{
		"none":          nil,
		"too many":      tooMany,
		"no key":        {{Payload: route.hops[0].Payload}},
		"empty payload": {{NodePub: route.hops[0].NodePub}},
		"too big":       {{route.hops[0].NodePub, make([]byte, 700)}, {route.hops[1].NodePub, make([]byte, 700)}},
	} {
		if _, _, err := NewOnion(sessionKey(t), hops, route.hash[:]); err == nil {
			t.Errorf("%s: NewOnion succeeded", name)
		}
	}
}

var _ sphinx.ReplayLog = (*ReplayLog)(nil)
