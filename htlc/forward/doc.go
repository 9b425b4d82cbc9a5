// Package forward is the node's forwarding switch: it decides what becomes of
// every HTLC that reaches the node, remembers which incoming HTLC each
// outgoing one pays for, and carries settlements and failures back.
//
// The switch is a core driven from outside, like package channel: it starts
// no goroutines and sends nothing. The daemon feeds it events from the
// channels (an incoming HTLC irrevocably committed, an outgoing HTLC
// fulfilled or failed) and carries out the Decision it returns: offer an
// HTLC on another channel, fulfill or fail the incoming one, or nothing.
//
// An incoming HTLC is peeled with htlc/onion. If the node is its destination,
// a FinalHopHandler (the invoice registry) settles or fails it. Otherwise
// CheckForward tests it against the outgoing channel's Policy and state, as
// BOLT 4 and BOLT 7 require, and the HTLC is either refused with an
// encrypted failure or forwarded.
//
// A forward is remembered as a circuit, stored in bbolt before the outgoing
// HTLC exists: a crash can then lose an outgoing HTLC that was never sent,
// which is safe, but never one whose settlement the node would not know how
// to pass back. The circuit is half-open until the outgoing channel assigns
// the HTLC an id (OpenCircuit), open while the outgoing HTLC is pending, and
// is deleted once the incoming HTLC's removal is irrevocably committed
// (IncomingResolved). OpenCircuitTx writes the opening in the same bbolt
// transaction as the outgoing channel's state, so that the two cannot
// disagree after a crash; a daemon that stores them apart calls Reconcile on
// restart to undo openings whose HTLC the channel never stored. A preimage
// learned downstream is stored in the circuit before the switch tells anyone
// to use it, so it survives any crash until the incoming side is settled.
//
// The daemon's side of one forward, from channel X to channel Y:
//
//	d, err := sw.HandleIncoming(ctx, forward.IncomingHTLC{Chan: x, HTLC: h}, height)
//	// d.Action == ActionForward:
//	id, out, err := chY.AddHTLC(d.Add)  // on error: sw.ForwardRefused
//	// store chY's state and sw.OpenCircuitTx(tx, d.Incoming, id) together,
//	// then send out.Messages
//	...
//	// on chY's OutgoingHTLCPreimage / OutgoingHTLCFailed:
//	d, err = sw.HandleOutgoingSettled(ctx, y, id, preimage) // or HandleOutgoingFailed
//	// carry out d on chX; once the removal is irrevocably committed:
//	sw.IncomingResolved(d.Incoming)
//
// Payments the node sends itself use the same circuits with an incoming side
// on LocalChannel; their outcome goes to a PaymentResultSink instead of an
// incoming channel.
//
// Every call is safe to repeat: a retransmitted event, or the channels'
// HTLCs replayed after a restart, yield the decision already taken, marked
// Repeat, instead of a second forward or settlement.
package forward
