package keys

import (
	"github.com/btcsuite/btcd/btcec/v2"
)

// Basepoints are the public basepoints one party announces in open_channel
// or accept_channel. They stay fixed for the life of the channel.
type Basepoints struct {
	Revocation     *btcec.PublicKey // revocation_basepoint
	Payment        *btcec.PublicKey // payment_basepoint
	DelayedPayment *btcec.PublicKey // delayed_payment_basepoint
	HTLC           *btcec.PublicKey // htlc_basepoint
}

// CommitmentKeys are the keys of one commitment transaction, named as
// BOLT 3 names them from the point of view of the commitment's owner: the
// "local" party is the one who holds the commitment and can broadcast it;
// the "remote" party is its counterparty, who can punish it once revoked.
type CommitmentKeys struct {
	// PerCommitmentPoint is the owner's point for this commitment.
	PerCommitmentPoint *btcec.PublicKey

	// Revocation is revocationpubkey: the remote party's revocation
	// basepoint blinded with the owner's per-commitment point.
	Revocation *btcec.PublicKey

	// LocalDelayed is local_delayedpubkey, which receives to_local and
	// the outputs of the owner's HTLC transactions after to_self_delay.
	LocalDelayed *btcec.PublicKey

	// LocalHTLC and RemoteHTLC are local_htlcpubkey and
	// remote_htlcpubkey, the two keys of the HTLC outputs.
	LocalHTLC  *btcec.PublicKey
	RemoteHTLC *btcec.PublicKey

	// ToRemote is remotepubkey. With option_static_remotekey it is the
	// remote party's payment basepoint itself, not tweaked, so the remote
	// party can sweep its output without any per-commitment data.
	ToRemote *btcec.PublicKey
}

// DeriveCommitmentKeys derives the keys of the commitment owned by the party
// with basepoints local, for the owner's per-commitment point. It knows no
// secret and so pays two variable-base multiplications for the revocation
// key; prefer DeriveOwnCommitmentKeys or DerivePeerCommitmentKeys.
func DeriveCommitmentKeys(perCommitmentPoint *btcec.PublicKey, local, remote *Basepoints) *CommitmentKeys {
	point := perCommitmentPoint.SerializeCompressed()
	var rev btcec.JacobianPoint
	r := remote.Revocation.SerializeCompressed()
	h1 := tweak(r, point)
	h2 := tweak(point, r)
	var rj, pj, a, b btcec.JacobianPoint
	remote.Revocation.AsJacobian(&rj)
	perCommitmentPoint.AsJacobian(&pj)
	btcec.ScalarMultNonConst(&h1, &rj, &a)
	btcec.ScalarMultNonConst(&h2, &pj, &b)
	btcec.AddNonConst(&a, &b, &rev)
	return deriveWithRevocation(perCommitmentPoint, point, local, remote, &rev)
}

// DeriveOwnCommitmentKeys derives the keys of our own commitment (the one we
// hold and may broadcast) from our per-commitment secret for it. own and
// peer are the two parties' basepoints.
func DeriveOwnCommitmentKeys(perCommitmentSecret [32]byte, own, peer *Basepoints) *CommitmentKeys {
	var s btcec.ModNScalar
	s.SetBytes(&perCommitmentSecret)
	var pj btcec.JacobianPoint
	baseMult(&s, &pj)
	perCommitmentPoint := toPubKey(&pj)
	point := perCommitmentPoint.SerializeCompressed()

	var rev btcec.JacobianPoint
	revocationPointSecretJacobian(peer.Revocation, peer.Revocation.SerializeCompressed(), &s, point, &rev)
	s.Zero()
	return deriveWithRevocation(perCommitmentPoint, point, own, peer, &rev)
}

// DerivePeerCommitmentKeys derives the keys of the peer's commitment (the one
// the peer holds and we may punish) from the peer's per-commitment point and
// our revocation basepoint secret, whose public key must be
// own.Revocation. own and peer are the two parties' basepoints.
func DerivePeerCommitmentKeys(perCommitmentPoint *btcec.PublicKey, ownRevocationSecret *btcec.PrivateKey,
	own, peer *Basepoints) *CommitmentKeys {

	point := perCommitmentPoint.SerializeCompressed()
	var rev btcec.JacobianPoint
	revocationBaseSecretJacobian(ownRevocationSecret, own.Revocation.SerializeCompressed(),
		perCommitmentPoint, point, &rev)
	return deriveWithRevocation(perCommitmentPoint, point, peer, own, &rev)
}

// deriveWithRevocation derives the keys of the commitment owned by local
// other than the revocation key, already computed as rev, and converts all
// four to affine form at once.
func deriveWithRevocation(perCommitmentPoint *btcec.PublicKey, point []byte, local, remote *Basepoints,
	rev *btcec.JacobianPoint) *CommitmentKeys {

	var delayed, localHTLC, remoteHTLC btcec.JacobianPoint
	derivePubKeyJacobian(local.DelayedPayment, point, &delayed)
	derivePubKeyJacobian(local.HTLC, point, &localHTLC)
	derivePubKeyJacobian(remote.HTLC, point, &remoteHTLC)
	pub := toPubKeys(rev, &delayed, &localHTLC, &remoteHTLC)
	return &CommitmentKeys{
		PerCommitmentPoint: perCommitmentPoint,
		Revocation:         pub[0],
		LocalDelayed:       pub[1],
		LocalHTLC:          pub[2],
		RemoteHTLC:         pub[3],
		ToRemote:           remote.Payment,
	}
}
