package resolve

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/flash-ln/flash/channel/script"
	"github.com/flash-ln/flash/onchain"
)

var (
	// ErrNotMature is returned by SweepTx for a resolution that cannot be
	// spent in a block at the given height yet.
	ErrNotMature = errors.New("resolve: output not mature")
	// ErrSweepDust is returned when the fee leaves less than the dust
	// limit of the sweep script.
	ErrSweepDust = errors.New("resolve: sweep output would be dust")
	// ErrBadSweepScript is returned for a sweep script that is not a
	// standard single-key or script-hash witness program.
	ErrBadSweepScript = errors.New("resolve: sweep script is not a witness program")
	// ErrNotSweepable is returned for a resolution SweepTx cannot spend:
	// one resolved by its own pre-signed transaction, or without signer.
	ErrNotSweepable = errors.New("resolve: resolution cannot be swept")
)

// SweepTx builds and signs one transaction spending every resolution to
// sweepScript, paying feeRate on its weight, to be mined in a block at
// height. Its only output pays sweepScript: it refuses anything that would
// let money go elsewhere, and checks every input with the script engine.
func SweepTx(resolutions []Resolution, sweepScript []byte, feeRate onchain.FeeRate, height int32) (*wire.MsgTx, error) {
	if len(resolutions) == 0 {
		return nil, fmt.Errorf("%w: nothing to sweep", ErrNotSweepable)
	}
	if !isWitnessProgram(sweepScript) {
		return nil, ErrBadSweepScript
	}
	if feeRate < 0 {
		return nil, fmt.Errorf("resolve: negative fee rate %d", feeRate)
	}
	tx := wire.NewMsgTx(2)
	fetcher := txscript.NewMultiPrevOutFetcher(nil)
	seen := make(map[wire.OutPoint]bool, len(resolutions))
	var total btcutil.Amount
	witnessSize := 0
	for i := range resolutions {
		r := &resolutions[i]
		switch {
		case r.SecondLevel != nil || r.Sign == nil:
			return nil, fmt.Errorf("%w: %v %v", ErrNotSweepable, r.Kind, r.OutPoint)
		case seen[r.OutPoint]:
			return nil, fmt.Errorf("%w: %v listed twice", ErrNotSweepable, r.OutPoint)
		case r.Value <= 0 || r.Value > btcutil.MaxSatoshi:
			return nil, fmt.Errorf("%w: %v worth %d", ErrNotSweepable, r.OutPoint, r.Value)
		case !r.Mature(height):
			return nil, fmt.Errorf("%w: %v %v matures at %d, not %d", ErrNotMature, r.Kind, r.OutPoint, r.MaturityHeight, height)
		case r.LockTime >= txscript.LockTimeThreshold:
			return nil, fmt.Errorf("%w: %v locktime %d is a timestamp", ErrNotSweepable, r.OutPoint, r.LockTime)
		}
		seen[r.OutPoint] = true
		total += r.Value
		if total > btcutil.MaxSatoshi {
			return nil, fmt.Errorf("%w: total above 21 million bitcoin", ErrNotSweepable)
		}
		tx.LockTime = max(tx.LockTime, r.LockTime)
		tx.AddTxIn(&wire.TxIn{PreviousOutPoint: r.OutPoint, Sequence: r.Sequence})
		fetcher.AddPrevOut(r.OutPoint, wire.NewTxOut(int64(r.Value), r.PkScript))
		witnessSize += r.MaxWitnessSize
	}
	if tx.LockTime > 0 {
		for _, in := range tx.TxIn {
			if in.Sequence == wire.MaxTxInSequenceNum {
				in.Sequence = nonFinal
			}
		}
	}
	tx.AddTxOut(wire.NewTxOut(0, append([]byte(nil), sweepScript...)))

	// Weight: the stripped size counts four times; the segwit marker and
	// flag and the witnesses once.
	weight := int64(tx.SerializeSizeStripped())*4 + 2 + int64(witnessSize)
	fee := feeRate.FeeForWeight(weight)
	value := total - fee
	if value < script.DustLimit(sweepScript) {
		return nil, fmt.Errorf("%w: %d sat swept, fee %d sat", ErrSweepDust, total, fee)
	}
	tx.TxOut[0].Value = int64(value)

	hashes := txscript.NewTxSigHashes(tx, fetcher)
	for i := range resolutions {
		w, err := resolutions[i].Sign(tx, i, hashes)
		if err != nil {
			return nil, err
		}
		tx.TxIn[i].Witness = w
	}
	for i := range resolutions {
		if err := verifyInputFetcher(tx, i, resolutions[i].PkScript, resolutions[i].Value, fetcher, hashes); err != nil {
			return nil, fmt.Errorf("sweep input %d (%v): %w", i, resolutions[i].Kind, err)
		}
	}
	if err := checkPaysOnly(tx, sweepScript); err != nil {
		return nil, err
	}
	return tx, nil
}

// checkPaysOnly enforces that tx pays nothing but sweepScript.
func checkPaysOnly(tx *wire.MsgTx, sweepScript []byte) error {
	for i, o := range tx.TxOut {
		if !bytes.Equal(o.PkScript, sweepScript) {
			return fmt.Errorf("resolve: output %d pays a script that is not ours", i)
		}
	}
	return nil
}

// isWitnessProgram accepts P2WPKH, P2WSH and P2TR output scripts, the ones
// a wallet gives out.
func isWitnessProgram(s []byte) bool {
	switch {
	case len(s) == 22 && s[0] == txscript.OP_0 && s[1] == 20:
	case len(s) == 34 && s[0] == txscript.OP_0 && s[1] == 32:
	case len(s) == 34 && s[0] == txscript.OP_1 && s[1] == 32:
	default:
		return false
	}
	return true
}

// verifyInput runs the script engine on input idx of a transaction with a
// single previous output (the HTLC transactions).
func verifyInput(tx *wire.MsgTx, idx int, pkScript []byte, value btcutil.Amount) error {
	fetcher := txscript.NewCannedPrevOutputFetcher(pkScript, int64(value))
	return verifyInputFetcher(tx, idx, pkScript, value, fetcher, txscript.NewTxSigHashes(tx, fetcher))
}

func verifyInputFetcher(tx *wire.MsgTx, idx int, pkScript []byte, value btcutil.Amount,
	fetcher txscript.PrevOutputFetcher, hashes *txscript.TxSigHashes) error {

	vm, err := txscript.NewEngine(pkScript, tx, idx, txscript.StandardVerifyFlags, nil, hashes, int64(value), fetcher)
	if err != nil {
		return fmt.Errorf("script engine: %w", err)
	}
	if err := vm.Execute(); err != nil {
		return fmt.Errorf("script check: %w", err)
	}
	return nil
}
