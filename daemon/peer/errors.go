package peer

import "errors"

// Errors a caller may need to tell apart. Connect wraps them with the node
// and address; test them with errors.Is.
var (
	// ErrDialFailed means the network connection could not be opened.
	ErrDialFailed = errors.New("dial failed")

	// ErrHandshakeFailed means the BOLT 8 handshake did not complete,
	// typically because the node id does not match the address.
	ErrHandshakeFailed = errors.New("transport handshake failed")

	// ErrInitFailed means the init exchange did not complete: the peer
	// sent something else first, nothing in time, or closed.
	ErrInitFailed = errors.New("init exchange failed")

	// ErrIncompatibleFeatures means the peer requires a feature we do
	// not know or violates a feature dependency.
	ErrIncompatibleFeatures = errors.New("incompatible features")

	// ErrWrongChain means the peer's networks share no chain with ours.
	ErrWrongChain = errors.New("no common chain")

	// ErrSelfConnect is returned for a connection to our own node id.
	ErrSelfConnect = errors.New("cannot connect to ourselves")

	// ErrNotConnected is returned for a node that is neither connected
	// nor persistent.
	ErrNotConnected = errors.New("peer not connected")

	// ErrNotRunning is returned when the Manager has not been started or
	// has been stopped.
	ErrNotRunning = errors.New("peer manager not running")

	// ErrPongTimeout is the reason a peer that did not answer our ping in
	// time was disconnected.
	ErrPongTimeout = errors.New("no pong in time")

	// ErrReplaced is the reason a connection closed in favour of another
	// connection to the same node.
	ErrReplaced = errors.New("replaced by another connection")

	// ErrDisconnectRequested is the reason a connection closed by
	// Disconnect.
	ErrDisconnectRequested = errors.New("disconnect requested")

	// ErrPeerClosed is returned by Send on a connection that is gone.
	ErrPeerClosed = errors.New("peer connection closed")
)
