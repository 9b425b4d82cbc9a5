package keys

import (
	"crypto/sha256"

	"github.com/btcsuite/btcd/btcec/v2"
)

// tweak returns SHA256(a || b) as a scalar modulo the group order, with both
// points in compressed form.
func tweak(a, b []byte) btcec.ModNScalar {
	h := sha256.New()
	h.Write(a)
	h.Write(b)
	var sum [32]byte
	h.Sum(sum[:0])
	var s btcec.ModNScalar
	// A hash at or above the group order is reduced; the spec's formulas
	// are all modulo the order, so this is the intended value.
	s.SetBytes(&sum)
	return s
}

// toPubKey converts a Jacobian point to an affine public key.
func toPubKey(p *btcec.JacobianPoint) *btcec.PublicKey {
	p.ToAffine()
	return btcec.NewPublicKey(&p.X, &p.Y)
}

// PerCommitmentPoint returns the point of a per-commitment secret,
// per_commitment_point = per_commitment_secret*G.
func PerCommitmentPoint(perCommitmentSecret [32]byte) *btcec.PublicKey {
	var s btcec.ModNScalar
	s.SetBytes(&perCommitmentSecret)
	var p btcec.JacobianPoint
	baseMult(&s, &p)
	s.Zero()
	return toPubKey(&p)
}

// addTweakG sets result to basepoint + k*G.
func addTweakG(basepoint *btcec.PublicKey, k btcec.ModNScalar, result *btcec.JacobianPoint) {
	var kG, base btcec.JacobianPoint
	baseMult(&k, &kG)
	basepoint.AsJacobian(&base)
	// The affine operand second: the addition is cheaper that way.
	btcec.AddNonConst(&kG, &base, result)
}

// toPubKeys converts Jacobian points to affine public keys with a single
// field inversion. No point may be the point at infinity, which a sum
// involving a hash output cannot be short of a broken hash function.
func toPubKeys(ps ...*btcec.JacobianPoint) []*btcec.PublicKey {
	out := make([]*btcec.PublicKey, len(ps))
	batchAffine(len(ps), func(i int) *btcec.JacobianPoint { return ps[i] })
	for i, p := range ps {
		out[i] = btcec.NewPublicKey(&p.X, &p.Y)
	}
	return out
}

// toAffine converts points to affine form in place (Z = 1) with a single
// field inversion. No point may be the point at infinity.
func toAffine(ps []btcec.JacobianPoint) {
	batchAffine(len(ps), func(i int) *btcec.JacobianPoint { return &ps[i] })
}

// batchAffine converts the n points at(0), ..., at(n-1) to affine form in
// place with Montgomery's trick: one field inversion for all of them
// instead of one each, an inversion costing about as much as a third of a
// fixed-base multiplication.
func batchAffine(n int, at func(int) *btcec.JacobianPoint) {
	if n == 0 {
		return
	}
	prefix := make([]btcec.FieldVal, n)
	prefix[0].Set(&at(0).Z)
	for i := 1; i < n; i++ {
		prefix[i].Mul2(&prefix[i-1], &at(i).Z)
	}
	var inv btcec.FieldVal
	inv.Set(&prefix[n-1]).Inverse()
	for i := n - 1; i >= 0; i-- {
		// inv holds 1/(Z0*...*Zi); peel Zi off it.
		p := at(i)
		var zInv, z2 btcec.FieldVal
		if i > 0 {
			zInv.Mul2(&inv, &prefix[i-1])
			inv.Mul(&p.Z)
		} else {
			zInv.Set(&inv)
		}
		z2.SquareVal(&zInv)
		p.X.Mul(&z2)
		p.Y.Mul(z2.Mul(&zInv))
		p.Z.SetInt(1)
		p.X.Normalize()
		p.Y.Normalize()
	}
}

// DerivePubKey returns basepoint + SHA256(per_commitment_point || basepoint)*G:
// localpubkey, remotepubkey, local_htlcpubkey, remote_htlcpubkey,
// local_delayedpubkey or remote_delayedpubkey, depending on the basepoint.
func DerivePubKey(basepoint, perCommitmentPoint *btcec.PublicKey) *btcec.PublicKey {
	return derivePubKey(basepoint, perCommitmentPoint.SerializeCompressed())
}

// derivePubKey is DerivePubKey with the per-commitment point already
// serialized, so that a key set serializes it once.
func derivePubKey(basepoint *btcec.PublicKey, point []byte) *btcec.PublicKey {
	var r btcec.JacobianPoint
	derivePubKeyJacobian(basepoint, point, &r)
	return toPubKey(&r)
}

func derivePubKeyJacobian(basepoint *btcec.PublicKey, point []byte, result *btcec.JacobianPoint) {
	addTweakG(basepoint, tweak(point, basepoint.SerializeCompressed()), result)
}

// DerivePrivKey returns basepoint_secret + SHA256(per_commitment_point ||
// basepoint), the private key of DerivePubKey(basepoint, perCommitmentPoint).
// It recomputes the basepoint from its secret; DerivePrivKeyFromBasepoint
// saves that multiplication when the caller has the basepoint at hand.
func DerivePrivKey(basepointSecret *btcec.PrivateKey, perCommitmentPoint *btcec.PublicKey) *btcec.PrivateKey {
	return DerivePrivKeyFromBasepoint(basepointSecret, basepointSecret.PubKey(), perCommitmentPoint)
}

// DerivePrivKeyFromBasepoint is DerivePrivKey for a caller that knows the
// basepoint, which must be basepointSecret*G. It does no curve operation.
func DerivePrivKeyFromBasepoint(basepointSecret *btcec.PrivateKey, basepoint, perCommitmentPoint *btcec.PublicKey) *btcec.PrivateKey {
	k := tweak(perCommitmentPoint.SerializeCompressed(), basepoint.SerializeCompressed())
	k.Add(&basepointSecret.Key)
	return btcec.PrivKeyFromScalar(&k)
}

// RevocationPubKey returns the revocationpubkey of a commitment from the
// revocation basepoint of the party that may punish it and the
// per-commitment point of the commitment's owner. It needs two
// variable-base multiplications; when one of the two secrets is known,
// DeriveOwnCommitmentKeys and DerivePeerCommitmentKeys are faster.
func RevocationPubKey(revocationBasepoint, perCommitmentPoint *btcec.PublicKey) *btcec.PublicKey {
	r := revocationBasepoint.SerializeCompressed()
	p := perCommitmentPoint.SerializeCompressed()
	h1 := tweak(r, p)
	h2 := tweak(p, r)

	var rj, pj, a, b, sum btcec.JacobianPoint
	revocationBasepoint.AsJacobian(&rj)
	perCommitmentPoint.AsJacobian(&pj)
	btcec.ScalarMultNonConst(&h1, &rj, &a)
	btcec.ScalarMultNonConst(&h2, &pj, &b)
	btcec.AddNonConst(&a, &b, &sum)
	return toPubKey(&sum)
}

// revocationPubKeyBaseSecret computes the revocation key knowing the
// revocation basepoint secret: (secret*h1)*G + P*h2.
func revocationPubKeyBaseSecret(basepointSecret *btcec.PrivateKey, basepoint []byte,
	perCommitmentPoint *btcec.PublicKey, point []byte) *btcec.PublicKey {

	var r btcec.JacobianPoint
	revocationBaseSecretJacobian(basepointSecret, basepoint, perCommitmentPoint, point, &r)
	return toPubKey(&r)
}

func revocationBaseSecretJacobian(basepointSecret *btcec.PrivateKey, basepoint []byte,
	perCommitmentPoint *btcec.PublicKey, point []byte, result *btcec.JacobianPoint) {

	h1 := tweak(basepoint, point)
	h2 := tweak(point, basepoint)
	h1.Mul(&basepointSecret.Key)

	var pj, a, b btcec.JacobianPoint
	perCommitmentPoint.AsJacobian(&pj)
	baseMult(&h1, &a)
	btcec.ScalarMultNonConst(&h2, &pj, &b)
	btcec.AddNonConst(&a, &b, result)
}

// revocationPubKeyPointSecret computes the revocation key knowing the
// per-commitment secret: R*h1 + (secret*h2)*G.
func revocationPubKeyPointSecret(revocationBasepoint *btcec.PublicKey, basepoint []byte,
	perCommitmentSecret *btcec.ModNScalar, point []byte) *btcec.PublicKey {

	var r btcec.JacobianPoint
	revocationPointSecretJacobian(revocationBasepoint, basepoint, perCommitmentSecret, point, &r)
	return toPubKey(&r)
}

func revocationPointSecretJacobian(revocationBasepoint *btcec.PublicKey, basepoint []byte,
	perCommitmentSecret *btcec.ModNScalar, point []byte, result *btcec.JacobianPoint) {

	h1 := tweak(basepoint, point)
	h2 := tweak(point, basepoint)
	h2.Mul(perCommitmentSecret)

	var rj, a, b btcec.JacobianPoint
	revocationBasepoint.AsJacobian(&rj)
	btcec.ScalarMultNonConst(&h1, &rj, &a)
	baseMult(&h2, &b)
	btcec.AddNonConst(&a, &b, result)
}

// RevocationPrivKey returns the revocationprivkey of a revoked commitment:
// revocation_basepoint_secret*SHA256(revocation_basepoint || per_commitment_point)
// + per_commitment_secret*SHA256(per_commitment_point || revocation_basepoint).
// It is what a justice transaction signs with, once the owner of the
// commitment has revealed its per-commitment secret.
func RevocationPrivKey(revocationBasepointSecret *btcec.PrivateKey, perCommitmentSecret [32]byte) *btcec.PrivateKey {
	var s btcec.ModNScalar
	s.SetBytes(&perCommitmentSecret)
	var pj btcec.JacobianPoint
	baseMult(&s, &pj)
	point := toPubKey(&pj).SerializeCompressed()
	basepoint := revocationBasepointSecret.PubKey().SerializeCompressed()

	h1 := tweak(basepoint, point)
	h2 := tweak(point, basepoint)
	h1.Mul(&revocationBasepointSecret.Key)
	h2.Mul(&s)
	h1.Add(&h2)
	s.Zero()
	return btcec.PrivKeyFromScalar(&h1)
}
