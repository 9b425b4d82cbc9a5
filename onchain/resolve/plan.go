package resolve

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/wire"

	"github.com/flash-ln/flash/channel"
	"github.com/flash-ln/flash/channel/script"
)

// PlanInputs is what a plan needs besides the channel and the spend.
type PlanInputs struct {
	// Keyring holds our channel keys.
	Keyring *channel.Keyring
	// ConfHeight is the height of the block that confirmed the
	// commitment (notify.SpendDetail.SpendingHeight).
	ConfHeight int32
	// Preimage returns the preimage of a payment hash when we know it.
	// Nil means none is known.
	Preimage func(hash [32]byte) ([32]byte, bool)
	// RevokedSpec returns the content of the peer's revoked commitment
	// number n, as recorded from channel.RemoteCommitmentRevoked. Without
	// it a breach plan recognises to_local and to_remote only.
	RevokedSpec func(n uint64) (*channel.CommitmentSpec, bool)
}

func (in *PlanInputs) preimage(hash [32]byte) ([32]byte, bool) {
	if in.Preimage == nil {
		return [32]byte{}, false
	}
	p, ok := in.Preimage(hash)
	// A wrong preimage would only make an invalid transaction; refuse it
	// here so that it is never broadcast.
	if !ok || sha256.Sum256(p[:]) != hash {
		return [32]byte{}, false
	}
	return p, true
}

// Plan is how to bring back our money from one funding spend.
type Plan struct {
	Close Classification
	// Resolutions are the outputs we can claim, each from its
	// MaturityHeight on.
	Resolutions []Resolution
	// AwaitingPreimage are HTLCs offered to us whose outputs we could
	// claim with a preimage we do not know yet: plan again when one is
	// learnt, before the peer times them out.
	AwaitingPreimage []channel.HTLC
	// Unrecognised are outputs of a breach we could not attribute (HTLC
	// outputs of a revoked commitment whose content was not recorded).
	Unrecognised []wire.OutPoint

	second *secondLevel
}

// secondLevel is how to spend the output of an HTLC transaction that
// spends one of the plan's HTLC outputs.
type secondLevel struct {
	kind          ResolutionKind
	witnessScript []byte
	key           *btcec.PrivateKey
	delay         uint16 // zero for the revocation path
	spends        map[wire.OutPoint]*channel.HTLC
}

// Sequence numbers: nonFinal lets a locktime apply and signals
// replaceability; a CSV delay is the number of blocks itself (BIP 68).
const nonFinal = wire.MaxTxInSequenceNum - 2

// ErrKeyringMismatch is returned when the keyring's secrets are not those
// of the channel's basepoints.
var ErrKeyringMismatch = errors.New("resolve: keyring does not match the channel's basepoints")

// NewPlan builds the plan for a classified funding spend. A cooperative
// close, one of our revoked commitments or an unknown spend without an
// output paying us give an empty plan.
func NewPlan(c Classification, view ChannelView, in PlanInputs) (*Plan, error) {
	if in.Keyring == nil || in.Keyring.RevocationBaseSecret == nil || in.Keyring.PaymentBaseSecret == nil ||
		in.Keyring.DelayedBaseSecret == nil || in.Keyring.HTLCBaseSecret == nil {
		return nil, errors.New("resolve: plan: incomplete keyring")
	}
	if c.Tx == nil || view == nil {
		return nil, errors.New("resolve: plan: classification without transaction, or no view")
	}
	p := view.Params()
	if _, err := commitmentType(&p); err != nil {
		return nil, err
	}
	// Keys that do not belong to the channel would sign transactions the
	// network refuses; fail before building any.
	kr, bp, peer := in.Keyring, &p.Local.Basepoints, &p.Remote.Basepoints
	if peer.Revocation == nil || peer.Payment == nil || peer.DelayedPayment == nil || peer.HTLC == nil ||
		p.Local.FundingKey == nil || p.Remote.FundingKey == nil {
		return nil, errors.New("resolve: plan: channel parameters lack a key")
	}
	if bp.Revocation == nil || bp.Payment == nil || bp.DelayedPayment == nil || bp.HTLC == nil ||
		!kr.RevocationBaseSecret.PubKey().IsEqual(bp.Revocation) ||
		!kr.PaymentBaseSecret.PubKey().IsEqual(bp.Payment) ||
		!kr.DelayedBaseSecret.PubKey().IsEqual(bp.DelayedPayment) ||
		!kr.HTLCBaseSecret.PubKey().IsEqual(bp.HTLC) {
		return nil, ErrKeyringMismatch
	}
	var (
		plan *Plan
		err  error
	)
	switch c.Kind {
	case LocalCommit:
		plan, err = localPlan(c, view, &p, &in)
	case RemoteCommit, RemotePendingCommit:
		plan, err = remotePlan(c, &p, &in)
	case Breach:
		plan, err = breachPlan(c, &p, &in)
	case RemoteFutureCommit, UnknownSpend:
		plan = &Plan{Close: c}
		plan.Resolutions, err = toRemoteResolutions(c.Tx, &p, &in)
	default:
		plan = &Plan{Close: c}
	}
	if err != nil {
		return nil, fmt.Errorf("plan %v close %v: %w", c.Kind, c.TxID, err)
	}
	return plan, nil
}

// toRemoteResolutions finds the outputs of a peer's commitment paid to
// our static payment basepoint, spendable at once.
func toRemoteResolutions(tx *wire.MsgTx, p *channel.Params, in *PlanInputs) ([]Resolution, error) {
	key := in.Keyring.PaymentBaseSecret
	if !key.PubKey().IsEqual(p.Local.Basepoints.Payment) {
		return nil, errors.New("payment basepoint secret does not match the channel")
	}
	pub := key.PubKey()
	pk := script.P2WPKH(pub)
	txid := tx.TxHash()
	var out []Resolution
	for i, o := range tx.TxOut {
		if !bytes.Equal(o.PkScript, pk) || o.Value <= 0 {
			continue
		}
		r := Resolution{
			Kind:           RemoteToRemote,
			OutPoint:       wire.OutPoint{Hash: txid, Index: uint32(i)},
			Value:          btcutil.Amount(o.Value),
			PkScript:       pk,
			MaturityHeight: in.ConfHeight,
			Sequence:       nonFinal,
		}
		r.setSigner(key, func(sig []byte) wire.TxWitness { return script.ToRemoteWitness(sig, pub) })
		out = append(out, r)
	}
	return out, nil
}

// SecondLevel returns the resolution of the output of htlcTx, an HTLC
// transaction confirmed at confHeight that spends one of the plan's HTLC
// outputs: on our commitment, our delayed claim of our HTLC-timeout or
// HTLC-success output; on a breach, the revocation claim of the cheater's.
// It returns false when htlcTx spends none of the plan's HTLC outputs or
// does not pay the expected script (the peer spent the HTLC its own way).
func (pl *Plan) SecondLevel(htlcTx *wire.MsgTx, confHeight int32) (Resolution, bool) {
	s := pl.second
	if s == nil || htlcTx == nil || len(htlcTx.TxIn) != 1 || len(htlcTx.TxOut) != 1 {
		return Resolution{}, false
	}
	htlc, ok := s.spends[htlcTx.TxIn[0].PreviousOutPoint]
	if !ok {
		return Resolution{}, false
	}
	pk := script.P2WSH(s.witnessScript)
	o := htlcTx.TxOut[0]
	if !bytes.Equal(o.PkScript, pk) || o.Value <= 0 {
		return Resolution{}, false
	}
	h := *htlc
	r := Resolution{
		Kind:           s.kind,
		OutPoint:       wire.OutPoint{Hash: htlcTx.TxHash(), Index: 0},
		Value:          btcutil.Amount(o.Value),
		PkScript:       pk,
		WitnessScript:  s.witnessScript,
		MaturityHeight: addHeight(confHeight, uint32(s.delay)),
		Sequence:       nonFinal,
		HTLC:           &h,
	}
	ws := s.witnessScript
	if s.delay > 0 {
		r.Sequence = uint32(s.delay)
		r.setSigner(s.key, func(sig []byte) wire.TxWitness { return script.ToLocalDelayedWitness(sig, ws) })
	} else {
		r.setSigner(s.key, func(sig []byte) wire.TxWitness { return script.ToLocalRevokeWitness(sig, ws) })
	}
	return r, true
}

// PreimageFromSpend looks for the preimage of hash in the witness of the
// input of tx that spends op: the peer's claim of an HTLC we offered
// reveals it, and it settles the matching incoming HTLC upstream.
func PreimageFromSpend(tx *wire.MsgTx, op wire.OutPoint, hash [32]byte) ([32]byte, bool) {
	if tx == nil {
		return [32]byte{}, false
	}
	for _, in := range tx.TxIn {
		if in.PreviousOutPoint != op {
			continue
		}
		for _, item := range in.Witness {
			if len(item) == 32 && sha256.Sum256(item) == hash {
				var p [32]byte
				copy(p[:], item)
				return p, true
			}
		}
	}
	return [32]byte{}, false
}

// Sweepable returns the resolutions SweepTx can spend in a block at
// height: mature, and not resolved by a pre-signed HTLC transaction. For a
// breach they are the inputs of the justice transaction.
func (pl *Plan) Sweepable(height int32) []Resolution {
	var out []Resolution
	for _, r := range pl.Resolutions {
		if r.SecondLevel == nil && r.Sign != nil && r.Mature(height) {
			out = append(out, r)
		}
	}
	return out
}

// SecondLevelTxs returns the pre-signed HTLC transactions of our
// commitment that can be mined in a block at height.
func (pl *Plan) SecondLevelTxs(height int32) []*wire.MsgTx {
	var out []*wire.MsgTx
	for _, r := range pl.Resolutions {
		if r.SecondLevel != nil && r.Mature(height) {
			out = append(out, r.SecondLevel)
		}
	}
	return out
}
