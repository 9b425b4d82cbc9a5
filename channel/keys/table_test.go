package keys

import (
	"bytes"
	"crypto/sha256"
	"math/rand/v2"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/ecdsa"
)

// randScalar returns a scalar from r, sometimes a small or extreme one so
// that the digits 0 and 15 and the top windows are exercised.
func randScalar(r *rand.Rand) btcec.ModNScalar {
	var b [32]byte
	switch r.IntN(4) {
	case 0:
		b[31] = byte(r.IntN(256))
	case 1:
		for i := range b {
			b[i] = 0xff
		}
		b[r.IntN(32)] = byte(r.IntN(256))
	default:
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
	}
	var s btcec.ModNScalar
	s.SetBytes(&b)
	return s
}

func affine(p *btcec.JacobianPoint) *btcec.PublicKey {
	if p.Z.IsZero() || (p.X.IsZero() && p.Y.IsZero()) {
		return nil // the point at infinity, in either of btcec's forms
	}
	q := *p
	return toPubKey(&q)
}

func TestPointTableScalarMult(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	_, key := btcec.PrivKeyFromBytes(bytes.Repeat([]byte{0x42}, 32))
	tab := NewPointTable(key)
	var kj btcec.JacobianPoint
	key.AsJacobian(&kj)
	for i := 0; i < 100; i++ {
		k := randScalar(r)
		var got, want btcec.JacobianPoint
		tab.ScalarMult(&k, &got)
		btcec.ScalarMultNonConst(&k, &kj, &want)
		g, w := affine(&got), affine(&want)
		if (g == nil) != (w == nil) || (g != nil && !g.IsEqual(w)) {
			t.Fatalf("scalar %x: table and variable-base multiplication differ", k.Bytes())
		}
	}
	var zero btcec.ModNScalar
	var got btcec.JacobianPoint
	tab.ScalarMult(&zero, &got)
	if !got.Z.IsZero() {
		t.Error("0*P is not the point at infinity")
	}
}

func TestPointTableVerifySignature(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	priv, key := btcec.PrivKeyFromBytes(bytes.Repeat([]byte{0x17}, 32))
	_, other := btcec.PrivKeyFromBytes(bytes.Repeat([]byte{0x18}, 32))
	tab, otherTab := NewPointTable(key), NewPointTable(other)
	for i := 0; i < 40; i++ {
		hash := sha256.Sum256([]byte{byte(i), byte(i >> 8)})
		sig := ecdsa.Sign(priv, hash[:])
		rs, ss := sig.R(), sig.S()
		cases := []struct {
			name string
			sig  *ecdsa.Signature
			hash []byte
			key  *btcec.PublicKey
		}{
			{"valid", sig, hash[:], key},
			{"other hash", sig, bytes.Repeat([]byte{byte(i)}, 32), key},
			{"short hash", sig, hash[:20], key},
		}
		var s2, r2 btcec.ModNScalar
		s2.Set(&ss)
		s2.Negate() // the high-S twin verifies too
		cases = append(cases, struct {
			name string
			sig  *ecdsa.Signature
			hash []byte
			key  *btcec.PublicKey
		}{"negated s", ecdsa.NewSignature(&rs, &s2), hash[:], key})
		r2 = randScalar(r)
		cases = append(cases, struct {
			name string
			sig  *ecdsa.Signature
			hash []byte
			key  *btcec.PublicKey
		}{"random r", ecdsa.NewSignature(&r2, &ss), hash[:], key})
		var zero btcec.ModNScalar
		cases = append(cases, struct {
			name string
			sig  *ecdsa.Signature
			hash []byte
			key  *btcec.PublicKey
		}{"zero r", ecdsa.NewSignature(&zero, &ss), hash[:], key}, struct {
			name string
			sig  *ecdsa.Signature
			hash []byte
			key  *btcec.PublicKey
		}{"zero s", ecdsa.NewSignature(&rs, &zero), hash[:], key})
		for _, c := range cases {
			want := c.sig.Verify(c.hash, c.key)
			if got := tab.VerifySignature(c.sig, c.hash); got != want {
				t.Fatalf("%d %s: table says %v, ecdsa says %v", i, c.name, got, want)
			}
			if got, want := otherTab.VerifySignature(c.sig, c.hash), c.sig.Verify(c.hash, other); got != want {
				t.Fatalf("%d %s, other key: table says %v, ecdsa says %v", i, c.name, got, want)
			}
		}
	}
}

func TestChannelDeriver(t *testing.T) {
	alice, aliceSecrets := testBasepoints(0x11)
	bob, bobSecrets := testBasepoints(0x51)
	da := NewChannelDeriver(alice, bob, aliceSecrets[0])
	db := NewChannelDeriver(bob, alice, bobSecrets[0])
	for i := byte(0); i < 20; i++ {
		secret := sha256.Sum256([]byte{i})
		point := PerCommitmentPoint(secret)
		want := DeriveCommitmentKeys(point, alice, bob)
		for name, k := range map[string]*CommitmentKeys{
			"own":            da.Own(secret, point, true),
			"own, no point":  da.Own(secret, nil, true),
			"peer":           db.Peer(point, true),
			"own, old style": DeriveOwnCommitmentKeys(secret, alice, bob),
		} {
			if !keysEqual(k, want) {
				t.Fatalf("commitment %d: %s keys differ from the general derivation", i, name)
			}
		}
		for name, k := range map[string]*CommitmentKeys{
			"own":  da.Own(secret, point, false),
			"peer": db.Peer(point, false),
		} {
			if k.LocalHTLC != nil || k.RemoteHTLC != nil {
				t.Fatalf("commitment %d: %s keys without HTLC keys have them", i, name)
			}
			k.LocalHTLC, k.RemoteHTLC = want.LocalHTLC, want.RemoteHTLC
			if !keysEqual(k, want) {
				t.Fatalf("commitment %d: %s keys without HTLC keys differ from the general derivation", i, name)
			}
		}
		if !SecretMatchesPoint(secret, point) {
			t.Fatalf("commitment %d: secret does not match its point", i)
		}
		if SecretMatchesPoint(sha256.Sum256([]byte{i, i}), point) {
			t.Fatalf("commitment %d: another secret matches the point", i)
		}
		if SecretMatchesPoint([32]byte{}, point) {
			t.Fatalf("commitment %d: the zero secret matches the point", i)
		}
	}
}

func keysEqual(a, b *CommitmentKeys) bool {
	return a.PerCommitmentPoint.IsEqual(b.PerCommitmentPoint) && a.Revocation.IsEqual(b.Revocation) &&
		a.LocalDelayed.IsEqual(b.LocalDelayed) && a.LocalHTLC.IsEqual(b.LocalHTLC) &&
		a.RemoteHTLC.IsEqual(b.RemoteHTLC) && a.ToRemote.IsEqual(b.ToRemote)
}

func BenchmarkPointTable(b *testing.B) {
	_, key := btcec.PrivKeyFromBytes(bytes.Repeat([]byte{0x42}, 32))
	b.Run("build", func(b *testing.B) {
		for b.Loop() {
			NewPointTable(key)
		}
	})
	tab := NewPointTable(key)
	var k btcec.ModNScalar
	k.SetByteSlice(bytes.Repeat([]byte{0x5a, 0xc3}, 16))
	b.Run("mult", func(b *testing.B) {
		var r btcec.JacobianPoint
		for b.Loop() {
			tab.ScalarMult(&k, &r)
		}
	})
}

func TestVerifyPeerHTLCSignature(t *testing.T) {
	alice, aliceSecrets := testBasepoints(0x11)
	bob, bobSecrets := testBasepoints(0x51)
	da := NewChannelDeriver(alice, bob, aliceSecrets[0])
	for i := byte(0); i < 10; i++ {
		secret := sha256.Sum256([]byte{i, 0xcc})
		point := PerCommitmentPoint(secret)
		ck := da.Own(secret, point, true)
		// Bob signs Alice's HTLC transactions with his HTLC key of her
		// commitment.
		bobKey := DerivePrivKey(bobSecrets[3], point)
		if !bobKey.PubKey().IsEqual(ck.RemoteHTLC) {
			t.Fatal("derived private key does not match RemoteHTLC")
		}
		hash := sha256.Sum256([]byte{i})
		good := ecdsa.Sign(bobKey, hash[:])
		wrongKey := ecdsa.Sign(bobSecrets[3], hash[:]) // untweaked basepoint
		otherPoint := PerCommitmentPoint(sha256.Sum256([]byte{i, 0xdd}))
		cases := []struct {
			name  string
			sig   *ecdsa.Signature
			hash  []byte
			point *btcec.PublicKey
		}{
			{"valid", good, hash[:], point},
			{"basepoint signature", wrongKey, hash[:], point},
			{"other hash", good, bytes.Repeat([]byte{1}, 32), point},
			{"other commitment", good, hash[:], otherPoint},
		}
		for _, c := range cases {
			want := c.sig.Verify(c.hash, DerivePubKey(bob.HTLC, c.point))
			if got := da.VerifyPeerHTLCSignature(c.point, c.sig, c.hash); got != want {
				t.Fatalf("%d %s: got %v, ecdsa says %v", i, c.name, got, want)
			}
			if c.name == "valid" && !want {
				t.Fatalf("%d: valid signature refused by ecdsa", i)
			}
		}
	}
}

func TestBaseMult(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	var nMinus1 btcec.ModNScalar
	nMinus1.SetInt(1)
	nMinus1.Negate()
	scalars := []btcec.ModNScalar{nMinus1}
	for i := 0; i < 100; i++ {
		scalars = append(scalars, randScalar(r))
	}
	_, key := btcec.PrivKeyFromBytes(bytes.Repeat([]byte{0x42}, 32))
	tab := NewPointTable(key)
	var kj btcec.JacobianPoint
	key.AsJacobian(&kj)
	for _, k := range scalars {
		var got, want btcec.JacobianPoint
		baseMult(&k, &got)
		btcec.ScalarBaseMultNonConst(&k, &want)
		if g, w := affine(&got), affine(&want); (g == nil) != (w == nil) || (g != nil && !g.IsEqual(w)) {
			t.Fatalf("scalar %x: baseMult differs from btcec", k.Bytes())
		}
		tab.ScalarMult(&k, &got)
		btcec.ScalarMultNonConst(&k, &kj, &want)
		if g, w := affine(&got), affine(&want); (g == nil) != (w == nil) || (g != nil && !g.IsEqual(w)) {
			t.Fatalf("scalar %x: table multiplication differs from btcec", k.Bytes())
		}
	}
}
