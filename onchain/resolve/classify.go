package resolve

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/flash-ln/flash/channel"
	"github.com/flash-ln/flash/channel/script"
	"github.com/flash-ln/flash/onchain/notify"
)

// CloseKind names what spent a channel's funding output.
type CloseKind uint8

// The kinds of funding spends.
const (
	// Cooperative is a closing transaction: it carries no commitment
	// number, or is the closing transaction we signed last. Our balance
	// went straight to our close script; nothing is left to resolve.
	Cooperative CloseKind = iota + 1
	// LocalCommit is our current commitment.
	LocalCommit
	// RemoteCommit is the peer's current commitment.
	RemoteCommit
	// RemotePendingCommit is the peer's next commitment, which we signed
	// and the peer has not yet acknowledged by revoking its current one.
	RemotePendingCommit
	// Breach is a revoked commitment of the peer whose per-commitment
	// secret we hold: every output is ours through the revocation key.
	Breach
	// RemoteFutureCommit is a commitment of the peer newer than any we
	// know: we lost state. Only our to_remote output, paid to our static
	// payment basepoint, can be recovered.
	RemoteFutureCommit
	// LocalRevokedCommit is one of our own older commitments: we
	// broadcast a revoked state, and the peer can take every output.
	LocalRevokedCommit
	// UnknownSpend is a commitment-shaped spend we cannot place: its
	// number is one we know but its txid is not. It is logged; nothing can
	// be claimed from it.
	UnknownSpend
)

func (k CloseKind) String() string {
	switch k {
	case Cooperative:
		return "cooperative"
	case LocalCommit:
		return "local_commitment"
	case RemoteCommit:
		return "remote_commitment"
	case RemotePendingCommit:
		return "remote_pending_commitment"
	case Breach:
		return "breach"
	case RemoteFutureCommit:
		return "remote_future_commitment"
	case LocalRevokedCommit:
		return "local_revoked_commitment"
	case UnknownSpend:
		return "unknown"
	}
	return fmt.Sprintf("CloseKind(%d)", uint8(k))
}

// Classification is what Classify learnt about a funding spend.
type Classification struct {
	Kind CloseKind
	Tx   *wire.MsgTx
	TxID chainhash.Hash
	// CommitmentNumber is the number carried in the locktime and
	// sequence; zero for a cooperative close.
	CommitmentNumber uint64
	// Remote is the peer's commitment that was broadcast, for
	// RemoteCommit and RemotePendingCommit.
	Remote *channel.RemoteCommitment
	// Secret is the peer's per-commitment secret of a Breach.
	Secret [32]byte
	// PaysUs reports, for a Breach, a RemoteFutureCommit or an
	// UnknownSpend, that an output pays our static payment basepoint:
	// the transaction is a commitment of the peer's.
	PaysUs bool
}

// ErrNotFundingSpend is returned when the transaction given to Classify
// does not spend the channel's funding output.
var ErrNotFundingSpend = errors.New("resolve: transaction does not spend the funding output")

// Classify tells what spend, a transaction spending the channel's funding
// output, is. The obscured commitment number in its locktime and sequence
// places a commitment; txids tell ours from the peer's among the numbers we
// signed. It never panics on any transaction.
func Classify(spend *wire.MsgTx, view ChannelView) (Classification, error) {
	if spend == nil || view == nil {
		return Classification{}, errors.New("resolve: classify: nil transaction or view")
	}
	p := view.Params()
	if p.Local.Basepoints.Payment == nil || p.Remote.Basepoints.Payment == nil {
		return Classification{}, errors.New("resolve: classify: channel has no payment basepoints")
	}
	if !spendsFunding(spend, &p) {
		return Classification{}, fmt.Errorf("%w %v", ErrNotFundingSpend, p.FundingOutpoint)
	}
	c := Classification{Tx: spend, TxID: spend.TxHash()}

	if closing := view.ClosingTx(); closing != nil && closing.TxHash() == c.TxID {
		c.Kind = Cooperative
		return c, nil
	}
	n, ok := script.CommitmentNumber(spend, p.Obscurer())
	if !ok {
		// Only a transaction both sides signed can spend the 2-of-2
		// output; without the commitment shape it is one of the
		// closing transactions we offered during the negotiation.
		c.Kind = Cooperative
		return c, nil
	}
	c.CommitmentNumber = n

	local := view.LocalCommitment()
	remote, pending := view.RemoteCommitment()
	switch {
	case c.TxID == local.TxID:
		c.Kind = LocalCommit
		return c, nil
	case c.TxID == remote.TxID:
		c.Kind = RemoteCommit
		c.Remote = &remote
		return c, nil
	case pending != nil && c.TxID == pending.TxID:
		c.Kind = RemotePendingCommit
		c.Remote = pending
		return c, nil
	}

	c.PaysUs = paysTo(spend, script.P2WPKH(p.Local.Basepoints.Payment))
	paysPeer := paysTo(spend, script.P2WPKH(p.Remote.Basepoints.Payment))
	latest := remote.Index
	if pending != nil {
		latest = pending.Index
	}
	switch {
	case n < remote.Index:
		// A commitment paying the peer's static key is one of ours;
		// any other with a number the peer revoked is its breach.
		secret, err := view.RemoteSecret(n)
		if err == nil && (c.PaysUs || !paysPeer) {
			c.Kind = Breach
			c.Secret = secret
			return c, nil
		}
		if paysPeer || n < local.Index {
			c.Kind = LocalRevokedCommit
			return c, nil
		}
		c.Kind = UnknownSpend
	case n > latest && !paysPeer:
		c.Kind = RemoteFutureCommit
	case n < local.Index && !c.PaysUs:
		c.Kind = LocalRevokedCommit
	default:
		c.Kind = UnknownSpend
	}
	return c, nil
}

func paysTo(tx *wire.MsgTx, pkScript []byte) bool {
	for _, o := range tx.TxOut {
		if bytes.Equal(o.PkScript, pkScript) {
			return true
		}
	}
	return false
}

// ClassifySpend classifies the spend of the funding outpoint the notifier
// reported. The spend's height is the ConfHeight of the plan.
func ClassifySpend(d notify.SpendDetail, view ChannelView) (Classification, error) {
	if view == nil || d.SpendingTx == nil {
		return Classification{}, errors.New("resolve: classify: nil spend or view")
	}
	p := view.Params()
	if d.SpentOutPoint != p.FundingOutpoint {
		return Classification{}, fmt.Errorf("%w: notified spend of %v, funding is %v",
			ErrNotFundingSpend, d.SpentOutPoint, p.FundingOutpoint)
	}
	return Classify(d.SpendingTx, view)
}
