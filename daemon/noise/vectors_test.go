package noise

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
)

// handshakeVector is one initiator or responder case of BOLT 8 Appendix A.
type handshakeVector struct {
	Name          string `json:"name"`
	RemoteStatic  string `json:"rs.pub"`
	LocalPriv     string `json:"ls.priv"`
	LocalPub      string `json:"ls.pub"`
	EphemeralPriv string `json:"e.priv"`
	EphemeralPub  string `json:"e.pub"`
	ActOneOutput  string `json:"act_one_output"`
	ActOneInput   string `json:"act_one_input"`
	ActTwoInput   string `json:"act_two_input"`
	ActTwoOutput  string `json:"act_two_output"`
	ActThreeOut   string `json:"act_three_output"`
	ActThreeInput string `json:"act_three_input"`
	SK            string `json:"sk"`
	RK            string `json:"rk"`
	Success       bool   `json:"success"`
	ExpectedError string `json:"expected_error"`
	FailingAct    string `json:"failing_act"`
}

type messageVectors struct {
	Plaintext string `json:"plaintext"`
	CK        string `json:"ck"`
	SK        string `json:"sk"`
	RK        string `json:"rk"`
	Messages  []struct {
		Index  int    `json:"index"`
		Output string `json:"output"`
	} `json:"messages"`
}

type bolt8Vectors struct {
	Initiator         []handshakeVector `json:"initiator"`
	Responder         []handshakeVector `json:"responder"`
	MessageEncryption messageVectors    `json:"message_encryption"`
}

func loadVectors(tb testing.TB) bolt8Vectors {
	tb.Helper()
	raw, err := os.ReadFile("testdata/bolt08-transport.json")
	if err != nil {
		tb.Fatal(err)
	}
	var v bolt8Vectors
	if err := json.Unmarshal(raw, &v); err != nil {
		tb.Fatal(err)
	}
	return v
}

func mustHex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		tb.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func mustPriv(tb testing.TB, s string) *btcec.PrivateKey {
	tb.Helper()
	priv, _ := btcec.PrivKeyFromBytes(mustHex(tb, s))
	return priv
}

func mustPub(tb testing.TB, s string) *btcec.PublicKey {
	tb.Helper()
	pub, err := btcec.ParsePubKey(mustHex(tb, s))
	if err != nil {
		tb.Fatal(err)
	}
	return pub
}

// fixedEphemeral replays the vector's generateKey() result.
func fixedEphemeral(key *btcec.PrivateKey) EphemeralGenerator {
	return func() (*btcec.PrivateKey, error) { return key, nil }
}

// expectedFailure maps the spec's error names, such as "ACT2_BAD_VERSION 1",
// to the act, the sentinel error and, for version errors, the version.
func expectedFailure(t *testing.T, name string) (act int, want error, version byte) {
	t.Helper()
	fields := strings.Fields(name)
	if len(fields) == 0 || !strings.HasPrefix(fields[0], "ACT") || len(fields[0]) < 5 {
		t.Fatalf("unknown expected error %q", name)
	}
	act = int(fields[0][3] - '0')
	switch reason := fields[0][5:]; reason {
	case "READ_FAILED":
		want = ErrShortAct
	case "BAD_VERSION":
		want = ErrUnknownVersion
		// The spec prints the version only for some cases; the
		// responder act one vector omits it, and its byte is 1.
		version = 1
		if len(fields) > 1 {
			v, err := strconv.Atoi(fields[1])
			if err != nil {
				t.Fatalf("bad version in %q", name)
			}
			version = byte(v)
		}
	case "BAD_PUBKEY":
		want = ErrBadPubKey
	case "BAD_TAG":
		want = ErrBadTag
	case "BAD_CIPHERTEXT":
		want = ErrBadCiphertext
	default:
		t.Fatalf("unknown reason %q in %q", reason, name)
	}
	return act, want, version
}

func checkFailure(t *testing.T, v handshakeVector, act int, err error) {
	t.Helper()
	wantAct, want, version := expectedFailure(t, v.ExpectedError)
	if act != wantAct {
		t.Fatalf("failed in act %d, vector expects act %d", act, wantAct)
	}
	if !errors.Is(err, want) {
		t.Fatalf("error %v, want %v", err, want)
	}
	var herr *HandshakeError
	if !errors.As(err, &herr) {
		t.Fatalf("error %v is not a *HandshakeError", err)
	}
	if herr.Act != wantAct {
		t.Fatalf("HandshakeError.Act = %d, want %d", herr.Act, wantAct)
	}
	if want == ErrUnknownVersion && herr.Version != version {
		t.Fatalf("HandshakeError.Version = %d, want %d", herr.Version, version)
	}
}

func TestInitiatorVectors(t *testing.T) {
	vectors := loadVectors(t)
	if len(vectors.Initiator) != 5 {
		t.Fatalf("%d initiator vectors, want 5", len(vectors.Initiator))
	}
	for _, v := range vectors.Initiator {
		t.Run(v.Name, func(t *testing.T) {
			local := mustPriv(t, v.LocalPriv)
			if got := hex.EncodeToString(local.PubKey().SerializeCompressed()); got != v.LocalPub {
				t.Fatalf("ls.pub %s, want %s", got, v.LocalPub)
			}
			e := mustPriv(t, v.EphemeralPriv)
			if got := hex.EncodeToString(e.PubKey().SerializeCompressed()); got != v.EphemeralPub {
				t.Fatalf("e.pub %s, want %s", got, v.EphemeralPub)
			}
			hs, err := NewInitiator(local, mustPub(t, v.RemoteStatic), fixedEphemeral(e))
			if err != nil {
				t.Fatal(err)
			}

			act1, err := hs.ActOne()
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(act1); got != v.ActOneOutput {
				t.Fatalf("act one\n got %s\nwant %s", got, v.ActOneOutput)
			}

			err = hs.ReadActTwo(mustHex(t, v.ActTwoInput))
			if !v.Success {
				checkFailure(t, v, 2, err)
				if _, err := hs.ActThree(); !errors.Is(err, ErrHandshakeOrder) {
					t.Fatalf("act three after failure: %v, want ErrHandshakeOrder", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}

			act3, err := hs.ActThree()
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(act3); got != v.ActThreeOut {
				t.Fatalf("act three\n got %s\nwant %s", got, v.ActThreeOut)
			}
			s, err := hs.Session()
			if err != nil {
				t.Fatal(err)
			}
			checkKeys(t, s, v.SK, v.RK)
		})
	}
}

func TestResponderVectors(t *testing.T) {
	vectors := loadVectors(t)
	if len(vectors.Responder) != 10 {
		t.Fatalf("%d responder vectors, want 10", len(vectors.Responder))
	}
	for _, v := range vectors.Responder {
		t.Run(v.Name, func(t *testing.T) {
			local := mustPriv(t, v.LocalPriv)
			if got := hex.EncodeToString(local.PubKey().SerializeCompressed()); got != v.LocalPub {
				t.Fatalf("ls.pub %s, want %s", got, v.LocalPub)
			}
			hs, err := NewResponder(local, fixedEphemeral(mustPriv(t, v.EphemeralPriv)))
			if err != nil {
				t.Fatal(err)
			}

			err = hs.ReadActOne(mustHex(t, v.ActOneInput))
			if v.FailingAct == "act_one" {
				checkFailure(t, v, 1, err)
				if _, err := hs.ActTwo(); !errors.Is(err, ErrHandshakeOrder) {
					t.Fatalf("act two after failure: %v, want ErrHandshakeOrder", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}

			act2, err := hs.ActTwo()
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(act2); got != v.ActTwoOutput {
				t.Fatalf("act two\n got %s\nwant %s", got, v.ActTwoOutput)
			}

			err = hs.ReadActThree(mustHex(t, v.ActThreeInput))
			if !v.Success {
				checkFailure(t, v, 3, err)
				if _, err := hs.Session(); !errors.Is(err, ErrHandshakeOrder) {
					t.Fatalf("session after failure: %v, want ErrHandshakeOrder", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			s, err := hs.Session()
			if err != nil {
				t.Fatal(err)
			}
			// The initiator of the vectors has ls.priv 0x11..11.
			wantRemote := mustPriv(t, strings.Repeat("11", 32)).PubKey()
			if !s.RemoteStatic().IsEqual(wantRemote) {
				t.Fatalf("learnt remote static %x", s.RemoteStatic().SerializeCompressed())
			}
			checkKeys(t, s, v.SK, v.RK)
		})
	}
}

func checkKeys(t *testing.T, s *Session, sk, rk string) {
	t.Helper()
	if got := hex.EncodeToString(s.send.key[:]); got != sk {
		t.Errorf("sk %s, want %s", got, sk)
	}
	if got := hex.EncodeToString(s.recv.key[:]); got != rk {
		t.Errorf("rk %s, want %s", got, rk)
	}
}

// vectorSessions runs the successful vector handshake and returns both
// sides' sessions.
func vectorSessions(tb testing.TB) (initiator, responder *Session) {
	tb.Helper()
	v := loadVectors(tb)
	iv, rv := v.Initiator[0], v.Responder[0]
	ini, err := NewInitiator(mustPriv(tb, iv.LocalPriv), mustPub(tb, iv.RemoteStatic),
		fixedEphemeral(mustPriv(tb, iv.EphemeralPriv)))
	if err != nil {
		tb.Fatal(err)
	}
	resp, err := NewResponder(mustPriv(tb, rv.LocalPriv), fixedEphemeral(mustPriv(tb, rv.EphemeralPriv)))
	if err != nil {
		tb.Fatal(err)
	}
	return completeHandshake(tb, ini, resp)
}

func completeHandshake(tb testing.TB, ini, resp *Handshake) (*Session, *Session) {
	tb.Helper()
	act1, err := ini.ActOne()
	if err != nil {
		tb.Fatal(err)
	}
	if err := resp.ReadActOne(act1); err != nil {
		tb.Fatal(err)
	}
	act2, err := resp.ActTwo()
	if err != nil {
		tb.Fatal(err)
	}
	if err := ini.ReadActTwo(act2); err != nil {
		tb.Fatal(err)
	}
	act3, err := ini.ActThree()
	if err != nil {
		tb.Fatal(err)
	}
	if err := resp.ReadActThree(act3); err != nil {
		tb.Fatal(err)
	}
	is, err := ini.Session()
	if err != nil {
		tb.Fatal(err)
	}
	rs, err := resp.Session()
	if err != nil {
		tb.Fatal(err)
	}
	return is, rs
}

func TestMessageVectors(t *testing.T) {
	mv := loadVectors(t).MessageEncryption
	ini, resp := vectorSessions(t)
	if got := hex.EncodeToString(ini.send.ck[:]); got != mv.CK {
		t.Fatalf("ck %s, want %s", got, mv.CK)
	}
	checkKeys(t, ini, mv.SK, mv.RK)

	want := make(map[int]string)
	last := 0
	for _, m := range mv.Messages {
		want[m.Index] = m.Output
		last = max(last, m.Index)
	}
	if len(want) != 6 {
		t.Fatalf("%d message vectors, want 6", len(want))
	}

	plaintext := mustHex(t, mv.Plaintext)
	checked := 0
	for i := 0; i <= last; i++ {
		frame, err := ini.Seal(nil, plaintext)
		if err != nil {
			t.Fatal(err)
		}
		if out, ok := want[i]; ok {
			if got := hex.EncodeToString(frame); got != out {
				t.Fatalf("message %d\n got %s\nwant %s", i, got, out)
			}
			checked++
		}
		// The responder must follow every rotation to read the stream.
		n, err := resp.OpenHeader(frame[:LengthHeaderSize])
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if n != len(plaintext) {
			t.Fatalf("message %d: length %d", i, n)
		}
		got, err := resp.OpenBody(nil, frame[LengthHeaderSize:])
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if !bytes.Equal(got, plaintext) {
			t.Fatalf("message %d: plaintext %x", i, got)
		}
	}
	if checked != len(want) {
		t.Fatalf("checked %d outputs, want %d", checked, len(want))
	}
}
