package resolve

import (
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/wire"

	"github.com/flash-ln/flash/channel"
	"github.com/flash-ln/flash/channel/keys"
	"github.com/flash-ln/flash/channel/script"
)

// ChannelView is what the resolvers read of one channel. *channel.Channel
// implements it; tests and a watchtower-like store may provide their own.
type ChannelView interface {
	// Params are the channel's static parameters.
	Params() channel.Params
	// LocalCommitment is our current commitment with the peer's
	// signatures of it and of its HTLC transactions.
	LocalCommitment() channel.LocalCommitment
	// RemoteCommitment is the peer's current commitment and, when we
	// signed a newer one the peer has not revoked the current one for
	// yet, that pending commitment.
	RemoteCommitment() (channel.RemoteCommitment, *channel.RemoteCommitment)
	// RemoteSecret is the per-commitment secret the peer revealed for its
	// commitment number n, an error when it has not revealed it.
	RemoteSecret(n uint64) ([32]byte, error)
	// ClosingTx is the signed cooperative closing transaction, nil when
	// no negotiation completed.
	ClosingTx() *wire.MsgTx
}

var _ ChannelView = (*channel.Channel)(nil)

// ErrUnsupportedChannel is returned for a channel type this package cannot
// rebuild commitments for.
var ErrUnsupportedChannel = errors.New("resolve: unsupported channel type")

// ErrMismatch is returned when a commitment rebuilt from the channel's
// state is not the transaction that reached the chain: the state or the
// keyring does not belong to that transaction, and nothing built from them
// could be trusted to spend it.
var ErrMismatch = errors.New("resolve: rebuilt commitment does not match the transaction on chain")

func commitmentType(p *channel.Params) (script.CommitmentType, error) {
	if p.Type != channel.ChannelTypeStaticRemoteKey {
		return 0, fmt.Errorf("%w: %d", ErrUnsupportedChannel, p.Type)
	}
	return script.StaticRemoteKey, nil
}

// commitmentParams describes commitment index of the channel for package
// script, as package channel builds the commitments it signs: the rebuilt
// txid is compared with the one on chain before anything is signed.
func commitmentParams(p *channel.Params, localOwner bool, index uint64, ck *keys.CommitmentKeys,
	spec *channel.CommitmentSpec) (script.CommitmentParams, error) {

	if _, err := commitmentType(p); err != nil {
		return script.CommitmentParams{}, err
	}
	return p.CommitmentParams(localOwner, index, ck, spec)
}

// rebuild builds a commitment and checks that it is tx.
func rebuild(p *channel.Params, localOwner bool, index uint64, ck *keys.CommitmentKeys,
	spec *channel.CommitmentSpec, tx *wire.MsgTx) (*script.Commitment, error) {

	cp, err := commitmentParams(p, localOwner, index, ck, spec)
	if err != nil {
		return nil, err
	}
	cm, err := script.CommitmentTx(cp)
	if err != nil {
		return nil, fmt.Errorf("rebuild commitment %d: %w", index, err)
	}
	if got, want := cm.Tx.TxHash(), tx.TxHash(); got != want {
		return nil, fmt.Errorf("%w: commitment %d rebuilt as %v, chain has %v", ErrMismatch, index, got, want)
	}
	return cm, nil
}

// spendsFunding reports whether tx spends the channel's funding output.
func spendsFunding(tx *wire.MsgTx, p *channel.Params) bool {
	for _, in := range tx.TxIn {
		if in.PreviousOutPoint == p.FundingOutpoint {
			return true
		}
	}
	return false
}
