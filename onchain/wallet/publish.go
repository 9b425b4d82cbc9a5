package wallet

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
	"github.com/flash-ln/flash/onchain"
	"go.etcd.io/bbolt"
)

// ErrConflict: a transaction to publish spends an output that another
// wallet transaction already spends.
var ErrConflict = errors.New("conflicts with a wallet transaction")

// SendToAddress pays amt to addr at feeRate and publishes the payment.
//
// If the network refuses the transaction, the wallet forgets it and the
// error wraps the *onchain.TxRejectError. If the broadcast fails for any
// other reason, the transaction stays the wallet's (its inputs spent) and
// is rebroadcast at the next start: both the transaction and the error
// are returned, and the caller must not pay again.
func (w *Wallet) SendToAddress(ctx context.Context, addr btcutil.Address,
	amt btcutil.Amount, feeRate onchain.FeeRate) (*wire.MsgTx, error) {

	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if addr == nil || !addr.IsForNet(w.cfg.Params) {
		return nil, fmt.Errorf("wallet: send: address is not for %s", w.cfg.Params.Name)
	}
	if amt <= 0 {
		return nil, fmt.Errorf("wallet: send: %w: %d sat", ErrInvalidAmount, int64(amt))
	}
	script, err := txscript.PayToAddrScript(addr)
	if err != nil {
		return nil, fmt.Errorf("wallet: send: %w", err)
	}
	authored, err := w.CreateTransaction([]*wire.TxOut{wire.NewTxOut(int64(amt), script)}, feeRate)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		if rerr := w.ReleaseTransaction(authored.Tx); rerr != nil {
			w.log.Error("wallet: release inputs", "err", rerr)
		}
		return nil, err
	}
	err = w.PublishTransaction(authored.Tx)
	var rej *onchain.TxRejectError
	switch {
	case err == nil:
		return authored.Tx, nil
	case errors.As(err, &rej), errors.Is(err, ErrConflict):
		return nil, err
	default:
		return authored.Tx, err
	}
}

// ReleaseTransaction lifts the leases CreateTransaction put on the inputs
// of tx, which will not be published. Inputs of a published transaction
// are spent, not leased, and stay so.
func (w *Wallet) ReleaseTransaction(tx *wire.MsgTx) error {
	err := w.db.Update(func(btx *bbolt.Tx) error {
		b, err := openBuckets(btx)
		if err != nil {
			return err
		}
		for _, in := range tx.TxIn {
			if err := b.leases.Delete(outpointKey(in.PreviousOutPoint)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("wallet: release transaction: %w", err)
	}
	return nil
}

// PublishTransaction records tx as the wallet's own unconfirmed transaction
// (its inputs of ours spent, its outputs to us unconfirmed credits), commits
// that, and only then broadcasts it. The wallet rebroadcasts it at every
// start until it confirms or a conflicting transaction confirms. tx may be
// any transaction, not only one from CreateTransaction: a channel close,
// for instance, is kept and rebroadcast just the same.
//
// A transaction the network refuses (and that is not in the mempool
// already) is forgotten again and the error wraps *onchain.TxRejectError.
// Any other broadcast error leaves the transaction recorded.
func (w *Wallet) PublishTransaction(tx *wire.MsgTx) error {
	txid := tx.TxHash()
	alreadyMined := false
	err := w.db.Update(func(dbtx *bbolt.Tx) error {
		b, err := openBuckets(dbtx)
		if err != nil {
			return err
		}
		existing, err := getTx(b, txid)
		if err != nil {
			return err
		}
		if existing != nil {
			alreadyMined = existing.confirmed()
			if !existing.Ours {
				existing.Ours = true
				return putTx(b, txid, existing)
			}
			return nil
		}
		for _, in := range tx.TxIn {
			if s := b.spends.Get(outpointKey(in.PreviousOutPoint)); s != nil &&
				!bytes.Equal(s, txid[:]) {
				var other chainhash.Hash
				copy(other[:], s)
				return fmt.Errorf("input %v: %w %s", in.PreviousOutPoint, ErrConflict, other)
			}
		}
		// applyTx records only what concerns us; a transaction that
		// does not is still kept, for rebroadcast.
		if _, err := w.applyTx(b, tx, txid, unconfirmedHeight, chainhash.Hash{}, false); err != nil {
			return err
		}
		rec, err := getTx(b, txid)
		if err != nil {
			return err
		}
		if rec == nil {
			seq, err := nextSeq(b)
			if err != nil {
				return err
			}
			rec = &txRecord{Seq: seq, Height: unconfirmedHeight, Tx: tx}
			for _, in := range tx.TxIn {
				if err := b.spends.Put(outpointKey(in.PreviousOutPoint), txid[:]); err != nil {
					return err
				}
			}
		}
		rec.Ours = true
		return putTx(b, txid, rec)
	})
	if err != nil {
		return fmt.Errorf("wallet: publish %s: %w", txid, err)
	}
	if alreadyMined {
		return nil
	}
	if w.cfg.Broadcaster == nil {
		return fmt.Errorf("wallet: publish %s: no broadcaster; kept for rebroadcast", txid)
	}
	err = w.cfg.Broadcaster.SendTransaction(tx)
	if err == nil {
		w.log.Info("wallet published tx", "tx", txid)
		return nil
	}
	var rej *onchain.TxRejectError
	if !errors.As(err, &rej) {
		return fmt.Errorf("wallet: publish %s: broadcast failed, kept for rebroadcast: %w", txid, err)
	}
	for _, ptx := range w.cfg.Chain.MempoolTxs() {
		if ptx.MsgTx().TxHash() == txid {
			return nil
		}
	}
	ferr := w.db.Update(func(dbtx *bbolt.Tx) error {
		b, err := openBuckets(dbtx)
		if err != nil {
			return err
		}
		return w.removeTx(b, txid, "refused by the network")
	})
	if ferr != nil {
		return fmt.Errorf("wallet: publish %s: %w (and forgetting it failed: %v)", txid, err, ferr)
	}
	return fmt.Errorf("wallet: publish %s: %w", txid, err)
}
