package keys

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
)

const vectorDir = "testdata"

type keyVectors struct {
	Common struct {
		BaseSecret          string `json:"base_secret"`
		PerCommitmentSecret string `json:"per_commitment_secret"`
		BasePoint           string `json:"base_point"`
		PerCommitmentPoint  string `json:"per_commitment_point"`
	} `json:"common"`
	Tests []struct {
		Name              string `json:"name"`
		Output            string `json:"output"`
		LocalPubKey       string `json:"localpubkey"`
		LocalPrivKey      string `json:"localprivkey"`
		RevocationPubKey  string `json:"revocationpubkey"`
		RevocationPrivKey string `json:"revocationprivkey"`
	} `json:"tests"`
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func pub(t testing.TB, s string) *btcec.PublicKey {
	t.Helper()
	k, err := btcec.ParsePubKey(unhex(t, s))
	if err != nil {
		t.Fatalf("parse pubkey %s: %v", s, err)
	}
	return k
}

func priv(t testing.TB, s string) *btcec.PrivateKey {
	t.Helper()
	b := unhex(t, s)
	k, _ := btcec.PrivKeyFromBytes(b[:32]) // ignores a trailing 01 marker
	return k
}

func TestVectors(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(vectorDir, "bolt03-keys.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v keyVectors
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Tests) != 4 {
		t.Fatalf("got %d vectors, want 4", len(v.Tests))
	}
	baseSecret := priv(t, v.Common.BaseSecret)
	basePoint := pub(t, v.Common.BasePoint)
	point := pub(t, v.Common.PerCommitmentPoint)
	var secret [32]byte
	copy(secret[:], unhex(t, v.Common.PerCommitmentSecret))

	if got := PerCommitmentPoint(secret); !got.IsEqual(point) {
		t.Fatalf("PerCommitmentPoint = %x", got.SerializeCompressed())
	}
	if !baseSecret.PubKey().IsEqual(basePoint) {
		t.Fatal("base_point is not base_secret*G")
	}

	for _, tc := range v.Tests {
		t.Run(tc.Name, func(t *testing.T) {
			var got, want []byte
			switch tc.Output {
			case "localpubkey":
				got = DerivePubKey(basePoint, point).SerializeCompressed()
				want = unhex(t, tc.LocalPubKey)
			case "localprivkey":
				got = DerivePrivKey(baseSecret, point).Serialize()
				want = unhex(t, tc.LocalPrivKey)
				if fast := DerivePrivKeyFromBasepoint(baseSecret, basePoint, point).Serialize(); !bytes.Equal(fast, want) {
					t.Errorf("DerivePrivKeyFromBasepoint = %x", fast)
				}
			case "revocationpubkey":
				want = unhex(t, tc.RevocationPubKey)
				got = RevocationPubKey(basePoint, point).SerializeCompressed()
				// The two faster forms must agree with the formula.
				fromBase := revocationPubKeyBaseSecret(baseSecret,
					basePoint.SerializeCompressed(), point, point.SerializeCompressed())
				var s btcec.ModNScalar
				s.SetBytes(&secret)
				fromPoint := revocationPubKeyPointSecret(basePoint,
					basePoint.SerializeCompressed(), &s, point.SerializeCompressed())
				for name, k := range map[string]*btcec.PublicKey{"base secret": fromBase, "point secret": fromPoint} {
					if !bytes.Equal(k.SerializeCompressed(), want) {
						t.Errorf("%s form = %x", name, k.SerializeCompressed())
					}
				}
			case "revocationprivkey":
				got = RevocationPrivKey(baseSecret, secret).Serialize()
				want = unhex(t, tc.RevocationPrivKey)
				if !RevocationPrivKey(baseSecret, secret).PubKey().IsEqual(RevocationPubKey(basePoint, point)) {
					t.Error("revocation privkey does not match the revocation pubkey")
				}
			default:
				t.Fatalf("unknown output %q", tc.Output)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("got %x, want %x", got, want)
			}
		})
	}
}

// testBasepoints returns basepoints with known secrets derived from tag.
func testBasepoints(tag byte) (*Basepoints, [4]*btcec.PrivateKey) {
	var secrets [4]*btcec.PrivateKey
	for i := range secrets {
		b := bytes.Repeat([]byte{tag + byte(i)}, 32)
		secrets[i], _ = btcec.PrivKeyFromBytes(b)
	}
	return &Basepoints{
		Revocation:     secrets[0].PubKey(),
		Payment:        secrets[1].PubKey(),
		DelayedPayment: secrets[2].PubKey(),
		HTLC:           secrets[3].PubKey(),
	}, secrets
}

func TestCommitmentKeyForms(t *testing.T) {
	alice, aliceSecrets := testBasepoints(0x11)
	bob, bobSecrets := testBasepoints(0x51)
	secret := [32]byte{0xaa, 0xbb, 3}
	point := PerCommitmentPoint(secret)

	general := DeriveCommitmentKeys(point, alice, bob)
	own := DeriveOwnCommitmentKeys(secret, alice, bob)
	peer := DerivePeerCommitmentKeys(point, bobSecrets[0], bob, alice)

	for name, k := range map[string]*CommitmentKeys{"own": own, "peer": peer} {
		pairs := []struct {
			field     string
			got, want *btcec.PublicKey
		}{
			{"PerCommitmentPoint", k.PerCommitmentPoint, general.PerCommitmentPoint},
			{"Revocation", k.Revocation, general.Revocation},
			{"LocalDelayed", k.LocalDelayed, general.LocalDelayed},
			{"LocalHTLC", k.LocalHTLC, general.LocalHTLC},
			{"RemoteHTLC", k.RemoteHTLC, general.RemoteHTLC},
			{"ToRemote", k.ToRemote, general.ToRemote},
		}
		for _, p := range pairs {
			if !p.got.IsEqual(p.want) {
				t.Errorf("%s: %s differs from the general derivation", name, p.field)
			}
		}
	}
	if !general.ToRemote.IsEqual(bob.Payment) {
		t.Error("ToRemote is not the remote payment basepoint")
	}
	// Each derived public key matches the private key derived for it.
	checks := []struct {
		name string
		key  *btcec.PublicKey
		sec  *btcec.PrivateKey
	}{
		{"LocalDelayed", general.LocalDelayed, DerivePrivKey(aliceSecrets[2], point)},
		{"LocalHTLC", general.LocalHTLC, DerivePrivKey(aliceSecrets[3], point)},
		{"RemoteHTLC", general.RemoteHTLC, DerivePrivKey(bobSecrets[3], point)},
		{"Revocation", general.Revocation, RevocationPrivKey(bobSecrets[0], secret)},
	}
	for _, c := range checks {
		if !c.sec.PubKey().IsEqual(c.key) {
			t.Errorf("%s: private key does not match", c.name)
		}
	}
}

func BenchmarkCommitmentKeys(b *testing.B) {
	alice, _ := testBasepoints(0x11)
	bob, bobSecrets := testBasepoints(0x51)
	secret := [32]byte{0xaa, 0xbb, 3}
	point := PerCommitmentPoint(secret)
	b.Run("own", func(b *testing.B) {
		for b.Loop() {
			DeriveOwnCommitmentKeys(secret, alice, bob)
		}
	})
	b.Run("peer", func(b *testing.B) {
		for b.Loop() {
			DerivePeerCommitmentKeys(point, bobSecrets[0], bob, alice)
		}
	})
	// Both commitments of one update round, as a channel derives them.
	b.Run("both", func(b *testing.B) {
		for b.Loop() {
			DeriveOwnCommitmentKeys(secret, alice, bob)
			DerivePeerCommitmentKeys(point, bobSecrets[0], bob, alice)
		}
	})
	// The same through the deriver a channel keeps.
	da := NewChannelDeriver(alice, bob, nil)
	db := NewChannelDeriver(bob, alice, bobSecrets[0])
	da.Own(secret, point, true) // builds the table
	b.Run("deriver own", func(b *testing.B) {
		for b.Loop() {
			da.Own(secret, point, true)
		}
	})
	b.Run("deriver peer", func(b *testing.B) {
		for b.Loop() {
			db.Peer(point, true)
		}
	})
	b.Run("general", func(b *testing.B) {
		for b.Loop() {
			DeriveCommitmentKeys(point, alice, bob)
		}
	})
}
