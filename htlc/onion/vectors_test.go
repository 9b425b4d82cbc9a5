package onion

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	sphinx "github.com/lightningnetwork/lightning-onion"
	"github.com/lightningnetwork/lnd/tlv"
)

type onionVector struct {
	Generate struct {
		SessionKey     string `json:"session_key"`
		AssociatedData string `json:"associated_data"`
		Hops           []struct {
			Pubkey  string `json:"pubkey"`
			Payload string `json:"payload"`
		} `json:"hops"`
	} `json:"generate"`
	Onion  string   `json:"onion"`
	Decode []string `json:"decode"`
}

type errorVector struct {
	Generate struct {
		SessionKey     string `json:"session_key"`
		FailureMessage string `json:"failure_message"`
		Hops           []struct {
			Pubkey       string `json:"pubkey"`
			SharedSecret string `json:"hop_shared_secret"`
			Payload      string `json:"payload"`
		} `json:"hops"`
	} `json:"generate"`
	ErrorPacket string `json:"errorpacket"`
}

func loadJSON(t testing.TB, name string, v any) {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustPub(t testing.TB, s string) *btcec.PublicKey {
	t.Helper()
	p, err := btcec.ParsePubKey(mustHex(t, s))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustPriv(t testing.TB, s string) *btcec.PrivateKey {
	t.Helper()
	k, _ := btcec.PrivKeyFromBytes(mustHex(t, s))
	return k
}

// stripLength removes the BigSize length prefix the vector's payloads carry.
func stripLength(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf [8]byte
	r := bytes.NewReader(b)
	n, err := tlv.ReadVarInt(r, &buf)
	if err != nil || n != uint64(r.Len()) {
		t.Fatalf("payload length %d of %d bytes: %v", n, r.Len(), err)
	}
	return b[len(b)-r.Len():]
}

func vectorHops(t testing.TB, v *onionVector) []Hop {
	hops := make([]Hop, len(v.Generate.Hops))
	for i, h := range v.Generate.Hops {
		hops[i] = Hop{NodePub: mustPub(t, h.Pubkey), Payload: stripLength(t, mustHex(t, h.Payload))}
	}
	return hops
}

func TestOnionVector(t *testing.T) {
	var v onionVector
	loadJSON(t, "bolt04-onion.json", &v)
	hops := vectorHops(t, &v)
	assoc := mustHex(t, v.Generate.AssociatedData)

	packet, circuit, err := NewOnion(mustPriv(t, v.Generate.SessionKey), hops, assoc)
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(packet[:]); got != v.Onion {
		t.Fatalf("onion\n%s\nwant\n%s", got, v.Onion)
	}
	if len(circuit.PaymentPath) != len(hops) {
		t.Fatalf("circuit of %d hops", len(circuit.PaymentPath))
	}

	// Peel it hop by hop with the vector's node keys.
	cur := packet
	for i, keyHex := range v.Decode {
		r, err := NewRouter(mustPriv(t, keyHex), nil)
		if err != nil {
			t.Fatal(err)
		}
		if !r.r.OnionPublicKey().IsEqual(hops[i].NodePub) {
			t.Fatalf("hop %d: decode key does not match the hop's pubkey", i)
		}
		hop, err := r.Process(cur[:], assoc, 500)
		if err != nil {
			t.Fatalf("hop %d: %v", i, err)
		}
		if !bytes.Equal(hop.RawPayload, hops[i].Payload) {
			t.Fatalf("hop %d: payload %x, want %x", i, hop.RawPayload, hops[i].Payload)
		}
		if want := i == len(hops)-1; hop.Final != want {
			t.Fatalf("hop %d: final %v, want %v", i, hop.Final, want)
		}
		// The decoded payload re-encodes to the bytes sent.
		again, err := hop.Payload.Encode()
		if err != nil || !bytes.Equal(again, hop.RawPayload) {
			t.Fatalf("hop %d: re-encoded %x (%v), want %x", i, again, err, hop.RawPayload)
		}
		cur = hop.NextPacket
	}
}

func TestOnionErrorVector(t *testing.T) {
	var v errorVector
	loadJSON(t, "bolt04-onion-error.json", &v)
	n := len(v.Generate.Hops)
	last := v.Generate.Hops[n-1]

	// The failing node frames and encrypts the message...
	msg, err := DecodeFailure(mustHex(t, v.Generate.FailureMessage))
	if err != nil {
		t.Fatal(err)
	}
	if msg.Code() != CodeTemporaryNodeFailure {
		t.Fatalf("failure %v, want temporary_node_failure", msg)
	}
	if got := hex.EncodeToString(failurePacket(EncodeFailure(msg))); got != last.Payload {
		t.Fatalf("framed failure\n%s\nwant\n%s", got, last.Payload)
	}
	encrypter := func(i int) *ErrorEncrypter {
		var s [32]byte
		copy(s[:], mustHex(t, v.Generate.Hops[i].SharedSecret))
		return NewErrorEncrypterFromSecret(s)
	}
	reason := encrypter(n - 1).EncryptFailure(msg)
	// ...and every node before it adds its layer.
	for i := n - 2; i >= 0; i-- {
		reason = encrypter(i).Wrap(reason)
	}
	if got := hex.EncodeToString(reason); got != v.ErrorPacket {
		t.Fatalf("error packet\n%s\nwant\n%s", got, v.ErrorPacket)
	}

	// The sender finds the failing hop and the message.
	path := make([]*btcec.PublicKey, n)
	for i, h := range v.Generate.Hops {
		path[i] = mustPub(t, h.Pubkey)
	}
	circuit := &sphinx.Circuit{SessionKey: mustPriv(t, v.Generate.SessionKey), PaymentPath: path}
	ff, err := DecryptFailure(circuit, mustHex(t, v.ErrorPacket))
	if err != nil {
		t.Fatal(err)
	}
	if ff.HopIndex != n-1 || !ff.Node.IsEqual(path[n-1]) {
		t.Fatalf("failing hop %d, want %d", ff.HopIndex, n-1)
	}
	if _, ok := ff.Failure.(*TemporaryNodeFailure); !ok {
		t.Fatalf("failure %T, want *TemporaryNodeFailure", ff.Failure)
	}
}

// TestSharedSecretsMatchVector checks that the routers' encrypters derive
// the vector's per-hop shared secrets from the onion's ephemeral keys.
func TestSharedSecretsMatchVector(t *testing.T) {
	var ov onionVector
	loadJSON(t, "bolt04-onion.json", &ov)
	var ev errorVector
	loadJSON(t, "bolt04-onion-error.json", &ev)
	hops := vectorHops(t, &ov)
	assoc := mustHex(t, ov.Generate.AssociatedData)
	packet, _, err := NewOnion(mustPriv(t, ov.Generate.SessionKey), hops, assoc)
	if err != nil {
		t.Fatal(err)
	}
	cur := packet
	for i, keyHex := range ov.Decode {
		r, err := NewRouter(mustPriv(t, keyHex), nil)
		if err != nil {
			t.Fatal(err)
		}
		hop, err := r.Process(cur[:], assoc, 0)
		if err != nil {
			t.Fatal(err)
		}
		enc, err := r.ErrorEncrypter(hop.EphemeralKey)
		if err != nil {
			t.Fatal(err)
		}
		s := enc.SharedSecret()
		if got := hex.EncodeToString(s[:]); got != ev.Generate.Hops[i].SharedSecret {
			t.Fatalf("hop %d: shared secret %s, want %s", i, got, ev.Generate.Hops[i].SharedSecret)
		}
		cur = hop.NextPacket
	}
}
