package noise

import (
	"testing"
)

// BenchmarkHandshake runs complete handshakes, both sides in memory.
func BenchmarkHandshake(b *testing.B) {
	initKey, respKey := newKey(b), newKey(b)
	b.ReportAllocs()
	for b.Loop() {
		ini, err := NewInitiator(initKey, respKey.PubKey(), nil)
		if err != nil {
			b.Fatal(err)
		}
		resp, err := NewResponder(respKey, nil)
		if err != nil {
			b.Fatal(err)
		}
		completeHandshake(b, ini, resp)
	}
}

func BenchmarkSealOpen1KB(b *testing.B)  { benchmarkSealOpen(b, 1024) }
func BenchmarkSealOpen64KB(b *testing.B) { benchmarkSealOpen(b, MaxMessageSize) }

// benchmarkSealOpen encrypts a message on one session and decrypts it on
// the other; bytes/s counts the plaintext once.
func benchmarkSealOpen(b *testing.B, size int) {
	ini, resp := vectorSessions(b)
	msg := make([]byte, size)
	frame := make([]byte, 0, MaxFrameSize)
	out := make([]byte, 0, MaxMessageSize)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		frame, err = ini.Seal(frame[:0], msg)
		if err != nil {
			b.Fatal(err)
		}
		n, err := resp.OpenHeader(frame[:LengthHeaderSize])
		if err != nil {
			b.Fatal(err)
		}
		if _, err := resp.OpenBody(out[:0], frame[LengthHeaderSize:LengthHeaderSize+n+MACSize]); err != nil {
			b.Fatal(err)
		}
	}
}
