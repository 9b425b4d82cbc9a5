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

// obscurer is the channel's commitment number obscuring factor: the
// funder's payment basepoint comes first.
func obscurer(p *channel.Params) uint64 {
	if p.LocalFunder {
		return script.ObscuringFactor(p.Local.Basepoints.Payment, p.Remote.Basepoints.Payment)
	}
	return script.ObscuringFactor(p.Remote.Basepoints.Payment, p.Local.Basepoints.Payment)
}

func commitmentType(p *channel.Params) (script.CommitmentType, error) {
	if p.Type != channel.ChannelTypeStaticRemoteKey {
		return 0, fmt.Errorf("%w: %d", ErrUnsupportedChannel, p.Type)
	}
	return script.StaticRemoteKey, nil
}

// commitmentParams describes commitment index of the channel for package
// script, owned by us (localOwner) or by the peer, with the keys ck of that
// commitment. It must agree byte for byte with how package channel builds
// the commitments it signs: the rebuilt txid is compared with the one on
// chain before anything is signed.
func commitmentParams(p *channel.Params, localOwner bool, index uint64, ck *keys.CommitmentKeys,
	spec *channel.CommitmentSpec) (script.CommitmentParams, error) {

	t, err := commitmentType(p)
	if err != nil {
		return script.CommitmentParams{}, err
	}
	cp := script.CommitmentParams{
		Type:             t,
		FundingOutpoint:  p.FundingOutpoint,
		FundingAmount:    p.Capacity,
		Keys:             ck,
		CommitmentNumber: index,
		Obscurer:         obscurer(p),
		FeePerKw:         spec.FeePerKw,
		HTLCs:            make([]script.HTLC, len(spec.HTLCs)),
	}
	if localOwner {
		cp.LocalFundingKey, cp.RemoteFundingKey = p.Local.FundingKey, p.Remote.FundingKey
		cp.ToSelfDelay = p.Remote.ToSelfDelay
		cp.DustLimit = p.Local.DustLimit
		cp.LocalIsFunder = p.LocalFunder
		cp.LocalMsat, cp.RemoteMsat = uint64(spec.LocalBalance), uint64(spec.RemoteBalance)
	} else {
		cp.LocalFundingKey, cp.RemoteFundingKey = p.Remote.FundingKey, p.Local.FundingKey
		cp.ToSelfDelay = p.Local.ToSelfDelay
		cp.DustLimit = p.Remote.DustLimit
		cp.LocalIsFunder = !p.LocalFunder
		cp.LocalMsat, cp.RemoteMsat = uint64(spec.RemoteBalance), uint64(spec.LocalBalance)
	}
	for i := range spec.HTLCs {
		h := &spec.HTLCs[i]
		cp.HTLCs[i] = script.HTLC{
			// The owner offered the HTLC when it flows away from it.
			Offered:     h.Incoming != localOwner,
			AmountMsat:  uint64(h.Amount),
			PaymentHash: h.PaymentHash,
			CLTVExpiry:  h.CLTVExpiry,
		}
	}
	return cp, nil
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
