package noise

import (
	"errors"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
)

func TestHandshakeOutOfOrder(t *testing.T) {
	local, remote := newKey(t), newKey(t)
	ini, err := NewInitiator(local, remote.PubKey(), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := NewResponder(remote, nil)
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name string
		call func() error
	}{
		{"initiator reads act one", func() error { return ini.ReadActOne(make([]byte, ActOneSize)) }},
		{"initiator writes act two", func() error { _, err := ini.ActTwo(); return err }},
		{"initiator writes act three first", func() error { _, err := ini.ActThree(); return err }},
		{"initiator session first", func() error { _, err := ini.Session(); return err }},
		{"responder writes act one", func() error { _, err := resp.ActOne(); return err }},
		{"responder reads act two", func() error { return resp.ReadActTwo(make([]byte, ActTwoSize)) }},
		{"responder writes act two first", func() error { _, err := resp.ActTwo(); return err }},
		{"responder reads act three first", func() error { return resp.ReadActThree(make([]byte, ActThreeSize)) }},
	}
	for _, s := range steps {
		if err := s.call(); !errors.Is(err, ErrHandshakeOrder) {
			t.Errorf("%s: %v, want ErrHandshakeOrder", s.name, err)
		}
	}

	// The misuse above did not disturb either machine.
	is, rs := completeHandshake(t, ini, resp)
	if !rs.RemoteStatic().IsEqual(local.PubKey()) || !is.RemoteStatic().IsEqual(remote.PubKey()) {
		t.Fatal("wrong static keys")
	}
	if _, err := ini.Session(); !errors.Is(err, ErrHandshakeOrder) {
		t.Fatalf("second Session: %v, want ErrHandshakeOrder", err)
	}
}

func TestHandshakeConstructorsRejectMissingKeys(t *testing.T) {
	k := newKey(t)
	if _, err := NewInitiator(nil, k.PubKey(), nil); err == nil {
		t.Error("initiator without local key")
	}
	if _, err := NewInitiator(k, nil, nil); err == nil {
		t.Error("initiator without remote key")
	}
	if _, err := NewResponder(nil, nil); err == nil {
		t.Error("responder without local key")
	}
}

func TestEphemeralGeneratorFailure(t *testing.T) {
	boom := errors.New("entropy exhausted")
	gens := map[string]EphemeralGenerator{
		"error":   func() (*btcec.PrivateKey, error) { return nil, boom },
		"nil key": func() (*btcec.PrivateKey, error) { return nil, nil },
	}
	for name, gen := range gens {
		t.Run(name, func(t *testing.T) {
			hs, err := NewInitiator(newKey(t), newKey(t).PubKey(), gen)
			if err != nil {
				t.Fatal(err)
			}
			_, err = hs.ActOne()
			var herr *HandshakeError
			if !errors.As(err, &herr) || herr.Act != 1 {
				t.Fatalf("error %v, want a HandshakeError for act one", err)
			}
			if !errors.Is(err, boom) && name == "error" {
				t.Fatalf("error %v does not wrap the generator's", err)
			}
			if err := hs.ReadActTwo(make([]byte, ActTwoSize)); !errors.Is(err, ErrHandshakeOrder) {
				t.Fatalf("act two after failure: %v, want ErrHandshakeOrder", err)
			}
		})
	}
}

func TestHandshakeErrorText(t *testing.T) {
	err := &HandshakeError{Act: 2, Version: 1, Err: ErrUnknownVersion}
	if got := err.Error(); !strings.Contains(got, "act two") || !strings.HasSuffix(got, "version 1") {
		t.Fatalf("error text %q", got)
	}
}

func TestSessionRejectsBadFrames(t *testing.T) {
	ini, resp := vectorSessions(t)
	if _, err := ini.Seal(nil, make([]byte, MaxMessageSize+1)); !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("seal oversized: %v", err)
	}
	if _, err := resp.OpenHeader(make([]byte, LengthHeaderSize-1)); !errors.Is(err, ErrBadFrameSize) {
		t.Fatalf("short header: %v", err)
	}
	if _, err := resp.OpenBody(nil, make([]byte, MACSize-1)); !errors.Is(err, ErrBadFrameSize) {
		t.Fatalf("short body: %v", err)
	}
	if _, err := resp.OpenBody(nil, make([]byte, MaxMessageSize+MACSize+1)); !errors.Is(err, ErrBadFrameSize) {
		t.Fatalf("long body: %v", err)
	}

	frame, err := ini.Seal(nil, []byte("ok"))
	if err != nil {
		t.Fatal(err)
	}
	tampered := append([]byte(nil), frame...)
	tampered[0] ^= 1
	if _, err := resp.OpenHeader(tampered[:LengthHeaderSize]); !errors.Is(err, ErrMessageAuth) {
		t.Fatalf("tampered header: %v", err)
	}
	// After a failure the receiving side stays failed, even for the
	// genuine frame.
	if _, err := resp.OpenHeader(frame[:LengthHeaderSize]); !errors.Is(err, ErrMessageAuth) {
		t.Fatalf("header after failure: %v", err)
	}
}

// A message too large to seal consumes no nonce, so the stream stays in step.
func TestSessionOpensAfterRejectedSeal(t *testing.T) {
	ini, resp := vectorSessions(t)
	if _, err := ini.Seal(nil, make([]byte, MaxMessageSize+1)); err == nil {
		t.Fatal("sealed an oversized message")
	}
	frame, err := ini.Seal(nil, []byte("ok"))
	if err != nil {
		t.Fatal(err)
	}
	n, err := resp.OpenHeader(frame[:LengthHeaderSize])
	if err != nil || n != 2 {
		t.Fatalf("header: %d, %v", n, err)
	}
	msg, err := resp.OpenBody(nil, frame[LengthHeaderSize:])
	if err != nil || string(msg) != "ok" {
		t.Fatalf("body %q, %v", msg, err)
	}
}
