// Package peer runs the BOLT 1 peer layer of a Flash node on top of the
// BOLT 8 transport of package noise: one authenticated connection per remote
// node, the init exchange and feature negotiation, ping/pong liveness, the
// connection-level handling of error and warning, and redialling of
// persistent peers.
//
// A Manager owns every connection. It accepts inbound connections from its
// listener, dials outbound ones on Connect, and hands each established peer
// and its messages to a Handler that the node implements (channel state
// machines, gossip). Control messages (init, ping, pong) never reach the
// Handler.
//
// # Delivery guarantees
//
// For one connection the Handler sees PeerConnected, then every message the
// peer sent, in the order it sent them, then PeerDisconnected, each call made
// from a single goroutine belonging to that connection. When a node
// reconnects, PeerDisconnected for the old connection returns before
// PeerConnected for the new one is called, so a Handler never sees two live
// connections to the same node. A Handler that is slow holds up only its own
// peer: the connection's receive queue fills, the connection stops reading,
// and TCP flow control pushes back on that peer alone. Other peers, and the
// liveness check of the stalled one, are unaffected.
//
// Messages handed to Send are queued and written in order; a nil error means
// queued, not delivered. A peer that stops reading is disconnected when a
// write exceeds its deadline.
//
// # Misbehaving peers
//
// A peer whose init requires a feature we do not know, breaks a feature
// dependency, or names no chain of ours is refused with a warning. After
// init, a malformed message, an unknown even message type, a second init or
// a ping flood earns a warning and a closed connection; an error whose
// channel id is all zero closes the connection after the Handler got it.
// Unknown odd messages are ignored. A peer that does not answer our ping
// within Config.PongTimeout is disconnected. Every connection has its own
// goroutines and bounded queues, and every write a deadline, so no peer can
// hold up another.
//
// # One connection per node
//
// BOLT 1 allows a single connection per peer. When a second connection to a
// connected node completes its init exchange, both nodes keep the same one
// without talking to each other:
//
//   - if the two connections were opened by different nodes, the one opened
//     by the node with the smaller node id (compressed public key, compared
//     bytewise) survives;
//   - if the same node opened both, the newer survives, because a node only
//     dials again once it has given up on its previous connection (a Manager
//     never dials the same node twice at once).
//
// # Persistent peers
//
// Connect with permanent set stores the peer's address in the PeerStore once
// the connection is up. A persistent peer is redialled when its connection
// drops and when the Manager starts, with exponential backoff (from
// Config.MinBackoff, doubling to Config.MaxBackoff, randomised so that many
// nodes restarting together do not dial in lock step). A connection that
// stayed up for Config.StableAfter resets the backoff. Disconnect forgets the
// peer and stops the redialling.
package peer
