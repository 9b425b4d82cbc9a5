// Package channel is the state machine of one Lightning channel in normal
// operation: the BOLT 2 update protocol (update_add_htlc, update_fulfill_htlc,
// update_fail_htlc, update_fail_malformed_htlc, update_fee, commitment_signed,
// revoke_and_ack), channel_reestablish after a reconnection, and the
// cooperative close (shutdown, closing_signed with fee_range), over the BOLT 3
// transactions built by package script.
//
// The machine is pure, in the style of etcd's raft: it has no goroutines,
// sockets, clocks, randomness or storage. The driver feeds it local commands
// (AddHTLC, FulfillHTLC, FailHTLC, UpdateFee, SignCommitment,
// InitiateShutdown...), peer messages (Receive) and connection changes
// (Connected, Disconnected), and each call returns an Output: whether the
// state must be stored (Marshal), the messages to send in order, and
// events (an incoming HTLC irrevocably committed, an outgoing HTLC settled or
// failed, a revoked commitment to watch for, the closing transaction). The
// driver stores the state before sending the messages, so that no signature
// or revocation reaches the peer before the state it commits to is durable.
//
// Updates are kept in two logs, one per side, each update moving through the
// states of BOLT 2 "Normal Operation": proposed, in the receiver's commitment
// (signed), acknowledged by its revocation (acked), and finally in both
// commitments with the previous ones revoked: irrevocably committed. The
// content of any commitment is obtained by applying a log's entries to the
// previous commitment of the same side (reduce), in an order that does not
// depend on how the two sides' messages interleaved, so both peers build
// byte-identical transactions while updates flow in both directions at once.
//
// Every input is validated before anything changes: methods work on a copy
// of the state and keep it only on success, so a rejected message (a
// ProtocolError, with a code the daemon maps to a BOLT 1 warning or error) or
// a refused command (a CommandError) leaves the channel exactly as it was.
//
// Private keys never enter the stored state: the driver passes a Keyring to
// New and Unmarshal.
package channel
