// Package keys derives the per-commitment keys of BOLT 3 ("Key Derivation").
//
// Every commitment transaction uses its own keys, derived from the
// basepoints each party announced at channel opening and the
// per-commitment point of the commitment's owner:
//
//	pubkey           = basepoint + SHA256(per_commitment_point || basepoint)*G
//	privkey          = basepoint_secret + SHA256(per_commitment_point || basepoint)
//	revocationpubkey = revocation_basepoint*SHA256(revocation_basepoint || per_commitment_point)
//	                 + per_commitment_point*SHA256(per_commitment_point || revocation_basepoint)
//
// DerivePubKey, DerivePrivKey, RevocationPubKey and RevocationPrivKey are the
// formulas one by one. CommitmentKeys collects every key one commitment
// needs; derive it once per commitment with DeriveOwnCommitmentKeys (the
// commitment we hold, whose per-commitment secret we know) or
// DerivePeerCommitmentKeys (the commitment the peer holds, whose revocation
// basepoint secret is ours). Knowing one secret turns one of the two
// variable-base multiplications of the revocation key into a much cheaper
// fixed-base one; DeriveCommitmentKeys is the general form for when neither
// secret is at hand (a watcher, or a test).
//
// A channel derives keys for every commitment of its life from the same
// basepoints, so ChannelDeriver keeps what never changes: the serialized
// basepoints and a PointTable (precomputed multiples) of the peer's
// revocation and HTLC basepoints, which turns the variable-base
// multiplications by those points into a third of their cost.
//
// The arithmetic stays in Jacobian coordinates and converts to affine form
// once per key set, with a single field inversion, since the curve
// operations dominate the cost of a payment. Fixed-base multiplications use
// a process-wide table of multiples of G, wider than btcec's, built on first
// use.
package keys
