package wallet

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
	"github.com/flash-ln/flash/onchain"
	"go.etcd.io/bbolt"
)

// Errors callers branch on.
var (
	// ErrInsufficientFunds: the spendable coins do not cover the outputs
	// and the fee. The concrete error is an *InsufficientFundsError.
	ErrInsufficientFunds = errors.New("insufficient funds")
	// ErrInvalidAmount: an output amount is zero, negative or above the
	// money supply.
	ErrInvalidAmount = errors.New("invalid amount")
	// ErrDustAmount: an output is below the relay dust limit of its
	// script, so the network would refuse the transaction.
	ErrDustAmount = errors.New("amount below dust limit")
	// ErrFeeRateTooLow: the fee rate is below onchain.FeePerKwFloor.
	ErrFeeRateTooLow = errors.New("fee rate below relay floor")
	// ErrFeeRateTooHigh: the fee rate is above MaxFeeRate, most likely a
	// unit mistake that would burn the funds in fees.
	ErrFeeRateTooHigh = errors.New("fee rate above the sanity limit")
	// ErrNoOutputs: CreateTransaction was given nothing to pay.
	ErrNoOutputs = errors.New("transaction has no outputs")
)

// MaxFeeRate is the highest fee rate CreateTransaction accepts:
// 1000 sat/vB.
const MaxFeeRate onchain.FeeRate = 250_000

// InsufficientFundsError says how much was needed (outputs plus the fee of
// spending every spendable coin) and how much is spendable.
type InsufficientFundsError struct {
	Need, Have btcutil.Amount
}

func (e *InsufficientFundsError) Error() string {
	return fmt.Sprintf("insufficient funds: need %d sat, have %d sat spendable",
		int64(e.Need), int64(e.Have))
}

// Is makes errors.Is(err, ErrInsufficientFunds) true.
func (e *InsufficientFundsError) Is(target error) bool { return target == ErrInsufficientFunds }

// AuthoredTx is a signed transaction built by CreateTransaction.
type AuthoredTx struct {
	Tx *wire.MsgTx
	// PrevOuts are the outputs spent, input by input.
	PrevOuts []*wire.TxOut
	// Fee is the sum of the inputs minus the sum of the outputs.
	Fee btcutil.Amount
	// ChangeIndex is the index of the change output, -1 if none.
	ChangeIndex int
}

// Weight units of the parts of a P2WPKH-spending transaction. A signature
// is counted at its maximum DER size (72 bytes with the sighash byte) so
// the estimate never undershoots the real weight.
const (
	txOverheadWeight   = 4*(4+4) + 2      // version, lock time; segwit marker and flag
	p2wpkhInputWeight  = 4 * (36 + 1 + 4) // outpoint, empty script, sequence
	p2wpkhWitnessWeght = 1 + 1 + 72 + 1 + 33
	p2wpkhScriptLen    = 22
)

// estimateWeight is an upper bound of the weight of a transaction spending
// numInputs P2WPKH outputs to outputs (plus a P2WPKH change if withChange).
func estimateWeight(numInputs int, outputs []*wire.TxOut, withChange bool) int64 {
	numOutputs := len(outputs)
	size := int64(wire.VarIntSerializeSize(uint64(numInputs)))
	for _, out := range outputs {
		size += int64(out.SerializeSize())
	}
	if withChange {
		numOutputs++
		size += 8 + 1 + p2wpkhScriptLen
	}
	size += int64(wire.VarIntSerializeSize(uint64(numOutputs)))
	return txOverheadWeight + 4*size +
		int64(numInputs)*(p2wpkhInputWeight+p2wpkhWitnessWeght)
}

func feeForWeight(rate onchain.FeeRate, weight int64) btcutil.Amount {
	return rate.FeeForVSize((weight + 3) / 4)
}

// txWeight is the BIP141 weight of tx.
func txWeight(tx *wire.MsgTx) int64 {
	return int64(tx.SerializeSizeStripped()*3 + tx.SerializeSize())
}

// dustLimit is the smallest amount out may carry under the default relay
// policy (a minimum relay fee of 1 sat/vB, dust being an output costing
// more than a third of its value to spend).
func dustLimit(pkScript []byte) btcutil.Amount {
	out := wire.TxOut{PkScript: pkScript}
	size := out.SerializeSize() + 41
	if txscript.IsWitnessProgram(pkScript) {
		size += 107 / 4
	} else {
		size += 107
	}
	return btcutil.Amount(3 * size)
}

func checkOutputs(outputs []*wire.TxOut) (btcutil.Amount, error) {
	if len(outputs) == 0 {
		return 0, ErrNoOutputs
	}
	var total btcutil.Amount
	for i, out := range outputs {
		if out == nil || len(out.PkScript) == 0 {
			return 0, fmt.Errorf("output %d: empty script", i)
		}
		amt := btcutil.Amount(out.Value)
		if amt <= 0 || amt > btcutil.MaxSatoshi {
			return 0, fmt.Errorf("output %d: %w: %d sat", i, ErrInvalidAmount, out.Value)
		}
		if limit := dustLimit(out.PkScript); amt < limit {
			return 0, fmt.Errorf("output %d: %w: %d sat < %d sat", i, ErrDustAmount,
				out.Value, int64(limit))
		}
		total += amt
		if total > btcutil.MaxSatoshi {
			return 0, fmt.Errorf("%w: outputs sum above the money supply", ErrInvalidAmount)
		}
	}
	return total, nil
}

// coin is a spendable output of ours.
type coin struct {
	OutPoint wire.OutPoint
	key      []byte
	credit
}

// spendableCoins are the unspent, unleased outputs with at least one
// confirmation, coinbases only once mature, in selection order: largest
// first, ties by outpoint, so that selection is deterministic.
func (w *Wallet) spendableCoins(b *buckets, tip chainTip) ([]coin, error) {
	now := w.cfg.Now().UnixNano()
	var coins []coin
	err := b.credits.ForEach(func(k, v []byte) error {
		if b.spends.Get(k) != nil || leaseActive(b, k, now) {
			return nil
		}
		c, err := decodeCredit(v)
		if err != nil {
			return err
		}
		if c.Height == unconfirmedHeight || (c.Coinbase && !w.mature(c.Height, tip.Height)) {
			return nil
		}
		op, err := outpointFromKey(k)
		if err != nil {
			return err
		}
		coins = append(coins, coin{OutPoint: op, key: append([]byte(nil), k...), credit: *c})
		return nil
	})
	sort.Slice(coins, func(i, j int) bool {
		if coins[i].Amount != coins[j].Amount {
			return coins[i].Amount > coins[j].Amount
		}
		return bytes.Compare(coins[i].key, coins[j].key) < 0
	})
	return coins, err
}

// mature reports whether a coinbase mined at height may be spent in the
// block after tipHeight, the earliest block a new transaction can enter.
func (w *Wallet) mature(height, tipHeight int32) bool {
	return tipHeight+1-height >= int32(w.cfg.Params.CoinbaseMaturity)
}

func leaseActive(b *buckets, k []byte, now int64) bool {
	v := b.leases.Get(k)
	return len(v) == 8 && int64(binary.BigEndian.Uint64(v)) > now
}

// CreateTransaction builds and signs a transaction paying outputs (kept in
// their order) from the wallet's confirmed coins, with a change output
// appended when the change is above the dust limit (otherwise it goes to
// the fee). The selected inputs are leased, so no other transaction
// selects them, until PublishTransaction, ReleaseTransaction or the lease
// expiry. Nothing is leased when it fails.
func (w *Wallet) CreateTransaction(outputs []*wire.TxOut, feeRate onchain.FeeRate) (*AuthoredTx, error) {
	if feeRate < onchain.FeePerKwFloor {
		return nil, fmt.Errorf("wallet: %w: %d sat/kw < %d sat/kw", ErrFeeRateTooLow,
			feeRate, onchain.FeePerKwFloor)
	}
	if feeRate > MaxFeeRate {
		return nil, fmt.Errorf("wallet: %w: %d sat/kw > %d sat/kw", ErrFeeRateTooHigh,
			feeRate, MaxFeeRate)
	}
	target, err := checkOutputs(outputs)
	if err != nil {
		return nil, fmt.Errorf("wallet: %w", err)
	}
	var authored *AuthoredTx
	err = w.db.Update(func(tx *bbolt.Tx) error {
		b, err := openBuckets(tx)
		if err != nil {
			return err
		}
		tip, err := readTip(b)
		if err != nil {
			return err
		}
		coins, err := w.spendableCoins(b, tip)
		if err != nil {
			return err
		}
		selected, fee, withChange, err := selectCoins(coins, outputs, target, feeRate)
		if err != nil {
			return err
		}
		authored, err = w.authorTx(b, selected, outputs, target, fee, withChange)
		if err != nil {
			return err
		}
		expiry := make([]byte, 8)
		binary.BigEndian.PutUint64(expiry,
			uint64(w.cfg.Now().Add(w.cfg.LeaseDuration).UnixNano()))
		for _, c := range selected {
			if err := b.leases.Put(c.key, expiry); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("wallet: create transaction: %w", err)
	}
	return authored, nil
}

// selectCoins takes coins in order until they pay target plus the fee. It
// returns the fee to pay and whether a change output carries the rest.
func selectCoins(coins []coin, outputs []*wire.TxOut, target btcutil.Amount,
	rate onchain.FeeRate) ([]coin, btcutil.Amount, bool, error) {

	changeDust := dustLimit(make([]byte, p2wpkhScriptLen))
	var sum btcutil.Amount
	for n, c := range coins {
		sum += c.Amount
		feeNoChange := feeForWeight(rate, estimateWeight(n+1, outputs, false))
		if sum < target+feeNoChange {
			continue
		}
		feeChange := feeForWeight(rate, estimateWeight(n+1, outputs, true))
		if sum-target-feeChange >= changeDust {
			return coins[:n+1], feeChange, true, nil
		}
		return coins[:n+1], sum - target, false, nil
	}
	need := target + feeForWeight(rate, estimateWeight(len(coins), outputs, false))
	return nil, 0, false, &InsufficientFundsError{Need: need, Have: sum}
}

// authorTx assembles the transaction, derives a change script if needed,
// signs every input and checks the signatures and the weight estimate.
func (w *Wallet) authorTx(b *buckets, selected []coin, outputs []*wire.TxOut,
	target, fee btcutil.Amount, withChange bool) (*AuthoredTx, error) {

	tx := wire.NewMsgTx(2)
	prevOuts := make([]*wire.TxOut, len(selected))
	fetcher := txscript.NewMultiPrevOutFetcher(nil)
	var in btcutil.Amount
	for i, c := range selected {
		tx.AddTxIn(wire.NewTxIn(&c.OutPoint, nil, nil))
		prevOuts[i] = wire.NewTxOut(int64(c.Amount), c.PkScript)
		fetcher.AddPrevOut(c.OutPoint, prevOuts[i])
		in += c.Amount
	}
	for _, out := range outputs {
		tx.AddTxOut(wire.NewTxOut(out.Value, append([]byte(nil), out.PkScript...)))
	}
	changeIndex := -1
	if withChange {
		_, script, err := w.deriveNextScript(b, branchInternal)
		if err != nil {
			return nil, fmt.Errorf("change address: %w", err)
		}
		changeIndex = len(tx.TxOut)
		tx.AddTxOut(wire.NewTxOut(int64(in-target-fee), script))
	}

	sigHashes := txscript.NewTxSigHashes(tx, fetcher)
	for i, prev := range prevOuts {
		key, err := w.scriptKey(b, prev.PkScript)
		if err != nil {
			return nil, fmt.Errorf("input %d: %w", i, err)
		}
		wit, err := txscript.WitnessSignature(tx, sigHashes, i, prev.Value,
			prev.PkScript, txscript.SigHashAll, key, true)
		if err != nil {
			return nil, fmt.Errorf("sign input %d: %w", i, err)
		}
		tx.TxIn[i].Witness = wit
	}
	// A wrong signature would only show up as a mempool rejection; catch
	// it here, where the cause is known.
	for i, prev := range prevOuts {
		vm, err := txscript.NewEngine(prev.PkScript, tx, i,
			txscript.StandardVerifyFlags, nil, sigHashes, prev.Value, fetcher)
		if err == nil {
			err = vm.Execute()
		}
		if err != nil {
			return nil, fmt.Errorf("verify input %d: %w", i, err)
		}
	}
	if got, est := txWeight(tx), estimateWeight(len(selected), outputs, withChange); got > est {
		return nil, fmt.Errorf("weight %d above estimate %d", got, est)
	}
	return &AuthoredTx{Tx: tx, PrevOuts: prevOuts, Fee: fee, ChangeIndex: changeIndex}, nil
}
