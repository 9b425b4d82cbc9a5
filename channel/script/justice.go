package script

import (
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
)

// ErrSweepBelowDust is returned when the outputs to sweep cannot pay the
// fee and still leave a relayable output.
var ErrSweepBelowDust = errors.New("script: sweep output would be dust")

// RevokedOutput is an output of a revoked commitment, or of a second-stage
// HTLC transaction spent from one, that the revocation key can take.
type RevokedOutput struct {
	OutPoint      wire.OutPoint
	Amount        btcutil.Amount
	WitnessScript []byte
	// Kind is ToLocal for a to_local output or an HTLC transaction's
	// output (both use the to_local script), OfferedHTLC or ReceivedHTLC
	// for an HTLC output of the commitment.
	Kind OutputKind
}

// RevokedOutputs lists the outputs of c that the revocation key can spend:
// to_local and every HTLC output.
func (c *Commitment) RevokedOutputs() []RevokedOutput {
	txid := c.Tx.TxHash()
	var outs []RevokedOutput
	for i, o := range c.Outputs {
		switch o.Kind {
		case ToLocal, OfferedHTLC, ReceivedHTLC:
			outs = append(outs, RevokedOutput{
				OutPoint:      wire.OutPoint{Hash: txid, Index: uint32(i)},
				Amount:        o.Amount,
				WitnessScript: o.WitnessScript,
				Kind:          o.Kind,
			})
		}
	}
	return outs
}

// maxWitnessSigLen is the largest DER signature plus its sighash byte.
const maxWitnessSigLen = 73

// JusticeTx builds and signs a transaction that sweeps every given revoked
// output to sweepScript with the revocation private key, paying feePerKw
// on its weight.
func JusticeTx(outputs []RevokedOutput, revocationKey *btcec.PrivateKey, sweepScript []byte, feePerKw uint32) (*wire.MsgTx, error) {
	if len(outputs) == 0 {
		return nil, fmt.Errorf("%w: nothing to sweep", ErrInvalidParams)
	}
	if revocationKey == nil {
		return nil, ErrMissingKey
	}
	revocationPub := revocationKey.PubKey()
	tx := wire.NewMsgTx(2)
	var total btcutil.Amount
	fetcher := txscript.NewMultiPrevOutFetcher(nil)
	for _, o := range outputs {
		switch o.Kind {
		case ToLocal, OfferedHTLC, ReceivedHTLC:
		default:
			return nil, fmt.Errorf("%w: a %v output is not revocable", ErrInvalidParams, o.Kind)
		}
		tx.AddTxIn(&wire.TxIn{PreviousOutPoint: o.OutPoint, Sequence: wire.MaxTxInSequenceNum})
		fetcher.AddPrevOut(o.OutPoint, wire.NewTxOut(int64(o.Amount), P2WSH(o.WitnessScript)))
		total += o.Amount
	}
	tx.AddTxOut(wire.NewTxOut(0, sweepScript))

	// Size the fee on witnesses of the largest possible signatures.
	placeholder := make([]byte, maxWitnessSigLen)
	for i, o := range outputs {
		tx.TxIn[i].Witness = revokeWitness(o, placeholder, revocationPub)
	}
	weight := int64(tx.SerializeSizeStripped())*3 + int64(tx.SerializeSize())
	fee := FeeForWeight(feePerKw, weight)
	value := total - fee
	if value < DustLimit(sweepScript) {
		return nil, fmt.Errorf("%w: %d sat swept, fee %d sat", ErrSweepBelowDust, total, fee)
	}
	tx.TxOut[0].Value = int64(value)

	hashes := txscript.NewTxSigHashes(tx, fetcher)
	for i, o := range outputs {
		h, err := txscript.CalcWitnessSigHash(o.WitnessScript, hashes, txscript.SigHashAll, tx, i, int64(o.Amount))
		if err != nil {
			return nil, fmt.Errorf("justice input %d: %w", i, err)
		}
		sig := signHash(revocationKey, h)
		tx.TxIn[i].Witness = revokeWitness(o, sig, revocationPub)
	}
	return tx, nil
}

func revokeWitness(o RevokedOutput, sig []byte, revocation *btcec.PublicKey) wire.TxWitness {
	if o.Kind == ToLocal {
		return ToLocalRevokeWitness(sig, o.WitnessScript)
	}
	return HTLCRevokeWitness(sig, revocation, o.WitnessScript)
}
