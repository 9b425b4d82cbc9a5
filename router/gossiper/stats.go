package gossiper

import "github.com/flash-ln/flash/channel/lnwire"

// Reason says why a message was rejected.
type Reason uint8

// Reasons of rejection.
const (
	// ReasonNone means the message was accepted.
	ReasonNone Reason = iota
	// ReasonWrongChain: the message is about another chain.
	ReasonWrongChain
	// ReasonBadSignature: a signature does not verify.
	ReasonBadSignature
	// ReasonMalformed: a field breaks a rule of BOLT 7 (node order,
	// addresses) or the message is from the wrong peer.
	ReasonMalformed
	// ReasonFundingMissing: the funding output does not exist or is
	// spent.
	ReasonFundingMissing
	// ReasonFundingScript: the funding output does not pay the
	// announced bitcoin keys.
	ReasonFundingScript
	// ReasonPremature: the funding block is beyond our tip by more than
	// we hold for, or the hold for premature messages is full.
	ReasonPremature
	// ReasonFarFuture: the timestamp is too far past our clock.
	ReasonFarFuture
	// ReasonStale: older than what the graph holds.
	ReasonStale
	// ReasonDuplicate: already known.
	ReasonDuplicate
	// ReasonConflict: a different policy under a timestamp already
	// used.
	ReasonConflict
	// ReasonUnknownChannel: an update of a channel we do not know and
	// could not hold.
	ReasonUnknownChannel
	// ReasonUnknownNode: a node_announcement of a node without a
	// channel that we could not hold.
	ReasonUnknownNode
	// ReasonRateLimited: the channel direction has used up its updates
	// for the window.
	ReasonRateLimited
	// ReasonUnexpected: a message the Gossiper does not handle, or an
	// announcement_signatures for a channel that is not ours with the
	// peer.
	ReasonUnexpected
	// ReasonInternal: our chain or database failed; not the peer's
	// fault.
	ReasonInternal

	numReasons
)

var reasonNames = [numReasons]string{
	"accepted", "wrong chain", "bad signature", "malformed", "funding missing",
	"funding script", "premature", "far future", "stale", "duplicate", "conflict",
	"unknown channel", "unknown node", "rate limited", "unexpected", "internal",
}

func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return "unknown reason"
}

// penalty is the misbehaviour score a rejection adds to the sending peer.
// Races and our own failures cost nothing; what an honest node never
// sends costs most.
func (r Reason) penalty() int {
	switch r {
	case ReasonBadSignature, ReasonMalformed, ReasonFundingScript:
		return 25
	case ReasonConflict, ReasonFarFuture:
		return 10
	case ReasonRateLimited, ReasonFundingMissing, ReasonPremature:
		return 1
	}
	return 0
}

// Result is the outcome of one inbound message.
type Result struct {
	// Accepted is true when the message changed our state: stored in
	// the graph, held until its channel is known, or (for
	// gossip_timestamp_filter and announcement_signatures) taken in.
	Accepted bool
	// Held is true when the message waits for its channel or block.
	Held bool
	// Reason says why it was rejected.
	Reason Reason
	// Penalty is the misbehaviour this message adds to the peer's
	// score; when it is positive the caller should send the peer a
	// warning carrying the error.
	Penalty int
	// Score is the peer's misbehaviour score after this message.
	Score int
	// Disconnect is true once Score has reached
	// Limits.DisconnectScore.
	Disconnect bool
}

// Stats counts what the Gossiper did since it started.
type Stats struct {
	// Accepted counts accepted messages by type.
	Accepted map[lnwire.MessageType]uint64
	// Rejected counts rejected messages by reason.
	Rejected map[Reason]uint64
	// Relayed counts messages sent to peers by relay and sync.
	Relayed uint64
	// RelayDropped counts, per peer, queued messages that left the
	// queue before that peer was sent them: the queue overflowed while
	// the peer's rate held it back.
	RelayDropped uint64
	// Queued is the relay queue's length now; Held the number of
	// premature and orphaned messages held now.
	Queued int
	Held   int
}
