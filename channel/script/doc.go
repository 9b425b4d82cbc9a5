// Package script builds the scripts and transactions of BOLT 3: the funding
// output, commitment transactions with their to_local, to_remote and HTLC
// outputs, the second-stage HTLC-timeout and HTLC-success transactions, the
// cooperative closing transaction, and the justice transaction that sweeps
// a revoked commitment. It also signs and verifies their inputs.
//
// Everything here is described from the point of view of the owner of a
// commitment transaction, as BOLT 3 does: "local" is the party who holds
// the commitment and can broadcast it, "remote" its counterparty. A channel
// builds its own commitment with itself as local, and the peer's commitment
// with the peer as local.
//
// The main entry point is CommitmentTx:
//
//	c, err := script.CommitmentTx(script.CommitmentParams{...})
//	sig, err := c.SignCommitment(fundingAmount, fundingKey)
//	for _, h := range c.HTLCTxs { // in commitment output order, as commitment_signed wants
//		htlcSig, err := h.SignRemote(htlcKey)
//	}
//
// and the receiving side rebuilds the same commitment and checks them with
// c.VerifyCommitment and h.VerifyRemote.
//
// The returned Commitment says which output each HTLC got (HTLCOutputs,
// -1 when trimmed), describes every output (Outputs), and lists the
// unsigned HTLC transactions in output order. Signatures are RFC 6979
// deterministic ECDSA over the BIP 143 digest; the caller converts them to
// the 64-byte wire form.
//
// Once the owner of a commitment has revealed its per-commitment secret,
// RevokedOutputs lists what the revocation key can take and JusticeTx
// builds and signs the sweep. The witness functions cover every other
// spending path of the BOLT 3 scripts.
//
// Two commitment formats exist: StaticRemoteKey (option_static_remotekey,
// to_remote paid to the counterparty's untweaked payment basepoint) and
// Anchors (option_anchors: to_remote and HTLC outputs delayed by one block,
// two 330-satoshi anchor outputs, zero-fee HTLC transactions signed by the
// counterparty with SIGHASH_SINGLE|SIGHASH_ANYONECANPAY).
package script
