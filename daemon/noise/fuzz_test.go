package noise

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// responderFactory returns a function that builds the responder of the
// BOLT 8 vectors, ready for act one.
func responderFactory(tb testing.TB) func(testing.TB) *Handshake {
	rv := loadVectors(tb).Responder[0]
	local, e := mustPriv(tb, rv.LocalPriv), mustPriv(tb, rv.EphemeralPriv)
	return func(tb testing.TB) *Handshake {
		hs, err := NewResponder(local, fixedEphemeral(e))
		if err != nil {
			tb.Fatal(err)
		}
		return hs
	}
}

func FuzzResponderActOne(f *testing.F) {
	for _, v := range loadVectors(f).Responder {
		f.Add(mustHex(f, v.ActOneInput))
	}
	newResponder := responderFactory(f)
	f.Fuzz(func(t *testing.T, act1 []byte) {
		hs := newResponder(t)
		if err := hs.ReadActOne(act1); err != nil {
			var herr *HandshakeError
			if !errors.As(err, &herr) || herr.Act != 1 {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if _, err := hs.ActTwo(); err != nil {
			t.Fatalf("act two after a valid act one: %v", err)
		}
	})
}

func FuzzResponderActThree(f *testing.F) {
	vectors := loadVectors(f)
	for _, v := range vectors.Responder {
		if v.ActThreeInput != "" {
			f.Add(mustHex(f, v.ActThreeInput))
		}
	}
	act1 := mustHex(f, vectors.Responder[0].ActOneInput)
	newResponder := responderFactory(f)
	f.Fuzz(func(t *testing.T, act3 []byte) {
		hs := newResponder(t)
		if err := hs.ReadActOne(act1); err != nil {
			t.Fatal(err)
		}
		if _, err := hs.ActTwo(); err != nil {
			t.Fatal(err)
		}
		if err := hs.ReadActThree(act3); err != nil {
			var herr *HandshakeError
			if !errors.As(err, &herr) || herr.Act != 3 {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if _, err := hs.Session(); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzReadMessage feeds arbitrary bytes to the receiving side of the
// vectors' responder session.
func FuzzReadMessage(f *testing.F) {
	ini, template := vectorSessions(f)
	var stream []byte
	for _, m := range [][]byte{nil, []byte("hello"), bytes.Repeat([]byte{7}, 300)} {
		frame, err := ini.Seal(nil, m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(frame)
		stream = append(stream, frame...)
	}
	f.Add(stream)
	f.Add(stream[:len(stream)-1])
	f.Add([]byte{})

	f.Fuzz(func(t *testing.T, data []byte) {
		// The ciphers hold no per-message state, so a copy of the
		// fresh session is a fresh session.
		resp := *template
		fr := newFrameReader(&resp)
		r := bytes.NewReader(data)
		for {
			msg, err := fr.readMessage(r)
			if err != nil {
				if errors.Is(err, io.EOF) && r.Len() != 0 {
					t.Fatal("clean EOF with unread input")
				}
				// The reader must stay failed.
				if _, again := fr.readMessage(r); again == nil {
					t.Fatal("read succeeded after a failure")
				}
				return
			}
			if len(msg) > MaxMessageSize {
				t.Fatalf("message of %d bytes", len(msg))
			}
		}
	})
}
