package keys

import (
	"sync"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/ecdsa"
)

// serializedBasepoints are Basepoints in compressed form, the form every
// tweak hashes.
type serializedBasepoints struct {
	revocation, delayed, htlc [33]byte
}

func serializeBasepoints(b *Basepoints) serializedBasepoints {
	var s serializedBasepoints
	copy(s.revocation[:], b.Revocation.SerializeCompressed())
	copy(s.delayed[:], b.DelayedPayment.SerializeCompressed())
	copy(s.htlc[:], b.HTLC.SerializeCompressed())
	return s
}

// ChannelDeriver derives the commitment keys of one channel, both ours and
// the peer's. It keeps what stays fixed over the channel's life: the
// basepoints in serialized form, and PointTables of the peer's revocation
// and HTLC basepoints. Each commitment then pays only for its own tweaks:
// our commitment's revocation key costs a fixed-base multiplication and a
// table one instead of a variable-base one, and the peer's signatures by
// its HTLC key are checked without any variable-base multiplication.
// The tables cost about as much as ten variable-base multiplications each
// and hold about 70 KB each; a deriver builds each on first use, so a
// channel builds one deriver and keeps it. It is safe for concurrent use.
type ChannelDeriver struct {
	own, peer        Basepoints
	ownSer, peerSer  serializedBasepoints
	revocationSecret *btcec.PrivateKey
	// The tables are built on first use: a deriver that only derives
	// the peer's keys, to sign a commitment once, needs neither.
	peerRevocationTab func() *PointTable
	peerHTLCTab       func() *PointTable
}

// NewChannelDeriver returns the deriver of a channel whose parties have
// basepoints own (ours) and peer, ownRevocationSecret being the secret of
// own.Revocation.
func NewChannelDeriver(own, peer *Basepoints, ownRevocationSecret *btcec.PrivateKey) *ChannelDeriver {
	return &ChannelDeriver{
		own:               *own,
		peer:              *peer,
		ownSer:            serializeBasepoints(own),
		peerSer:           serializeBasepoints(peer),
		revocationSecret:  ownRevocationSecret,
		peerRevocationTab: sync.OnceValue(func() *PointTable { return NewPointTable(peer.Revocation) }),
		peerHTLCTab:       sync.OnceValue(func() *PointTable { return NewPointTable(peer.HTLC) }),
	}
}

// VerifyPeerHTLCSignature reports whether sig is a valid ECDSA signature of
// hash by the peer's HTLC key of our commitment whose per-commitment point
// is perCommitmentPoint: the RemoteHTLC key of Own's result, with which
// the peer signs our HTLC transactions. It accepts and refuses exactly what
// (*ecdsa.Signature).Verify does with that key, at the cost of a
// fixed-base multiplication and a table one instead of a variable-base
// multiplication, as the key is the peer's HTLC basepoint plus a multiple
// of G.
func (d *ChannelDeriver) VerifyPeerHTLCSignature(perCommitmentPoint *btcec.PublicKey, sig *ecdsa.Signature, hash []byte) bool {
	k := tweak(perCommitmentPoint.SerializeCompressed(), d.peerSer.htlc[:])
	return d.peerHTLCTab().verifyTweaked(sig, hash, &k)
}

// Own derives the keys of our commitment whose per-commitment secret is
// perCommitmentSecret. perCommitmentPoint must be that secret's point, as
// PerCommitmentPoint returns it; a caller that already computed it to send
// it saves a multiplication, and nil makes Own compute it. The result is
// DeriveOwnCommitmentKeys(perCommitmentSecret, own, peer), except that
// without htlcKeys LocalHTLC and RemoteHTLC are left nil: a commitment
// without HTLCs has no use for them, and they cost two of the four
// fixed-base multiplications.
func (d *ChannelDeriver) Own(perCommitmentSecret [32]byte, perCommitmentPoint *btcec.PublicKey, htlcKeys bool) *CommitmentKeys {
	var s btcec.ModNScalar
	s.SetBytes(&perCommitmentSecret)
	defer s.Zero()
	if perCommitmentPoint == nil {
		var pj btcec.JacobianPoint
		baseMult(&s, &pj)
		perCommitmentPoint = toPubKey(&pj)
	}
	point := perCommitmentPoint.SerializeCompressed()

	// revocationpubkey = R*h1 + P*h2 = R*h1 + (secret*h2)*G, with R the
	// peer's revocation basepoint, whose multiple comes from the table.
	h1 := tweak(d.peerSer.revocation[:], point)
	h2 := tweak(point, d.peerSer.revocation[:])
	h2.Mul(&s)
	var rev btcec.JacobianPoint
	baseMult(&h2, &rev)
	d.peerRevocationTab().mulAdd(&h1, &rev, &rev)
	return deriveWithRevocationSer(perCommitmentPoint, point, &d.own, &d.ownSer, &d.peer, &d.peerSer, &rev, htlcKeys)
}

// Peer derives the keys of the peer's commitment whose per-commitment
// point is perCommitmentPoint. The result is
// DerivePeerCommitmentKeys(perCommitmentPoint, ownRevocationSecret, own,
// peer), with LocalHTLC and RemoteHTLC left nil without htlcKeys as for Own.
func (d *ChannelDeriver) Peer(perCommitmentPoint *btcec.PublicKey, htlcKeys bool) *CommitmentKeys {
	point := perCommitmentPoint.SerializeCompressed()
	var rev btcec.JacobianPoint
	revocationBaseSecretJacobian(d.revocationSecret, d.ownSer.revocation[:], perCommitmentPoint, point, &rev)
	return deriveWithRevocationSer(perCommitmentPoint, point, &d.peer, &d.peerSer, &d.own, &d.ownSer, &rev, htlcKeys)
}

// deriveWithRevocationSer is deriveWithRevocation with the basepoints
// already serialized.
func deriveWithRevocationSer(perCommitmentPoint *btcec.PublicKey, point []byte,
	local *Basepoints, localSer *serializedBasepoints, remote *Basepoints, remoteSer *serializedBasepoints,
	rev *btcec.JacobianPoint, htlcKeys bool) *CommitmentKeys {

	var delayed btcec.JacobianPoint
	addTweakG(local.DelayedPayment, tweak(point, localSer.delayed[:]), &delayed)
	ck := &CommitmentKeys{PerCommitmentPoint: perCommitmentPoint, ToRemote: remote.Payment}
	if !htlcKeys {
		pub := toPubKeys(rev, &delayed)
		ck.Revocation, ck.LocalDelayed = pub[0], pub[1]
		return ck
	}
	var localHTLC, remoteHTLC btcec.JacobianPoint
	addTweakG(local.HTLC, tweak(point, localSer.htlc[:]), &localHTLC)
	addTweakG(remote.HTLC, tweak(point, remoteSer.htlc[:]), &remoteHTLC)
	pub := toPubKeys(rev, &delayed, &localHTLC, &remoteHTLC)
	ck.Revocation, ck.LocalDelayed, ck.LocalHTLC, ck.RemoteHTLC = pub[0], pub[1], pub[2], pub[3]
	return ck
}

// SecretMatchesPoint reports whether perCommitmentPoint is the point of
// perCommitmentSecret. It compares in projective coordinates, sparing the
// inversion that PerCommitmentPoint(secret).IsEqual(point) would pay.
func SecretMatchesPoint(perCommitmentSecret [32]byte, perCommitmentPoint *btcec.PublicKey) bool {
	var s btcec.ModNScalar
	s.SetBytes(&perCommitmentSecret)
	var p btcec.JacobianPoint
	baseMult(&s, &p)
	s.Zero()
	if p.Z.IsZero() {
		return false
	}
	// Affine (x, y) equals (X/Z², Y/Z³).
	var q btcec.JacobianPoint
	perCommitmentPoint.AsJacobian(&q)
	var z2, z3, t btcec.FieldVal
	z2.SquareVal(&p.Z)
	z3.Mul2(&z2, &p.Z)
	if !t.Mul2(&q.X, &z2).Normalize().Equals(p.X.Normalize()) {
		return false
	}
	return t.Mul2(&q.Y, &z3).Normalize().Equals(p.Y.Normalize())
}
