package channel

import (
	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/flash-ln/flash/channel/lnwire"
)

// Output is what one step of the machine asks its driver to do, in this
// order: if Persist, store Channel.Marshal() durably; then send Messages to
// the peer in order; then act on Events. Sending before storing could let a
// crash forget a signature or revocation the peer already holds.
type Output struct {
	Persist  bool
	Messages []lnwire.Message
	Events   []Event
}

func (o *Output) send(m lnwire.Message) { o.Messages = append(o.Messages, m) }
func (o *Output) emit(e Event)          { o.Events = append(o.Events, e) }

// Event reports something the rest of the node must act on.
type Event interface{ isEvent() }

// IncomingHTLCLocked: an HTLC offered by the peer is irrevocably committed.
// Only now may it be forwarded or settled.
type IncomingHTLCLocked struct{ HTLC HTLC }

// OutgoingHTLCPreimage: the peer fulfilled one of our HTLCs. The preimage
// is final knowledge, so the matching incoming HTLC may be settled at once,
// before the removal is irrevocably committed.
type OutgoingHTLCPreimage struct {
	ID       uint64
	Preimage [32]byte
}

// OutgoingHTLCSettled: the fulfillment of one of our HTLCs is irrevocably
// committed.
type OutgoingHTLCSettled struct {
	ID       uint64
	Preimage [32]byte
}

// OutgoingHTLCFailed: the failure of one of our HTLCs is irrevocably
// committed; only now may the matching incoming HTLC be failed upstream.
// Malformed failures carry FailureCode and ShaOnion instead of Reason.
type OutgoingHTLCFailed struct {
	ID          uint64
	Reason      []byte
	Malformed   bool
	FailureCode uint16
	ShaOnion    [32]byte
}

// RemoteCommitmentRevoked: the peer revoked one of its commitments. The
// chain watcher records it to punish a broadcast of it with the secret from
// Channel.RemoteSecret.
type RemoteCommitmentRevoked struct {
	Index uint64
	TxID  chainhash.Hash
	Spec  CommitmentSpec
	// Point is the peer's per-commitment point of that commitment.
	Point *btcec.PublicKey
}

// LocalUpdatesDropped: a disconnection erased updates we sent but had not
// signed yet. The peer forgets them too; the driver may issue them again
// after channel_reestablish (a fulfill must be, the preimage is known).
type LocalUpdatesDropped struct{ Updates []Update }

// ShutdownStarted: both sides sent shutdown; no new HTLC will be added.
type ShutdownStarted struct{}

// ClosingTxReady: the closing negotiation converged. Tx is fully signed;
// the driver broadcasts it.
type ClosingTxReady struct {
	Tx  *wire.MsgTx
	Fee btcutil.Amount
}

func (IncomingHTLCLocked) isEvent()      {}
func (OutgoingHTLCPreimage) isEvent()    {}
func (OutgoingHTLCSettled) isEvent()     {}
func (OutgoingHTLCFailed) isEvent()      {}
func (RemoteCommitmentRevoked) isEvent() {}
func (LocalUpdatesDropped) isEvent()     {}
func (ShutdownStarted) isEvent()         {}
func (ClosingTxReady) isEvent()          {}
