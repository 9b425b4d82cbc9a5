// Package resolve decides what a spend of a channel's funding output means
// and how to bring our money back from it (BOLT 5).
//
// It is the pure core of the on-chain enforcement of a closed channel: it
// reads the channel's state through ChannelView, takes the spending
// transaction and the heights the chain reported as plain inputs, and
// returns transactions and descriptions of outputs. It does no I/O; a
// driver in the daemon watches the chain, persists what it learns, and
// broadcasts what this package builds.
//
// The steps are:
//
//   - Classify names the spend: a cooperative close, our current
//     commitment, the peer's current or pending commitment, a revoked
//     commitment of the peer, a commitment of the peer newer than anything
//     we know (we lost state), or one of our own revoked commitments.
//   - NewPlan turns a classified spend into a Plan: one Resolution per
//     output we can claim, each saying from which height it can be spent
//     and how to sign its input. Our own HTLC outputs are resolved by
//     their pre-signed HTLC transactions; Plan.SecondLevel then claims the
//     outputs of those once confirmed, or, after a breach, the outputs of
//     the cheater's HTLC transactions through the revocation key.
//   - SweepTx spends mature resolutions in one transaction whose only
//     output pays our wallet script; for a breach, Plan.Sweepable and
//     SweepTx make the justice transaction.
//   - PastDeadlines tells, on every block while the channel is open,
//     which HTLCs are past the BOLT 2 deadlines that require going to
//     chain before an incoming HTLC can be lost.
//   - PreimageFromSpend finds the preimage the peer revealed when it
//     claimed one of our HTLCs, to settle the incoming HTLC upstream.
//
// Plans are deterministic functions of the channel state, the keyring and
// the spending transaction, so a driver that restarts rebuilds them rather
// than storing them; it needs to persist only the spend, the heights at
// which the transactions it waits for confirmed, and what it broadcast.
//
// Every transaction built here pays only the sweep script the caller
// passes, and every input is checked with the script engine before it is
// returned: a bug must fail here, not on the network.
package resolve
