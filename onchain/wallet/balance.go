package wallet

import (
	"fmt"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/wire"
	"go.etcd.io/bbolt"
)

// Balance splits the wallet's unspent outputs into four disjoint parts; an
// output is counted in the first that applies: Locked, Unconfirmed,
// Immature, Confirmed.
type Balance struct {
	// ConfirmedSat is spendable now: at least one confirmation, and
	// coinbase outputs only once mature.
	ConfirmedSat btcutil.Amount
	// UnconfirmedSat is paid to us by transactions not yet in a block,
	// our own change included.
	UnconfirmedSat btcutil.Amount
	// LockedSat is leased to a transaction being built (CreateTransaction
	// not yet followed by PublishTransaction or ReleaseTransaction).
	LockedSat btcutil.Amount
	// ImmatureSat is coinbase outputs not yet spendable.
	ImmatureSat btcutil.Amount
}

// Utxo is one unspent output of the wallet.
type Utxo struct {
	OutPoint      wire.OutPoint
	Amount        btcutil.Amount
	PkScript      []byte
	Confirmations int32 // 0 when unconfirmed
	Coinbase      bool
	Locked        bool
}

// Balance sums the unspent outputs as of the wallet's synced tip.
func (w *Wallet) Balance() (Balance, error) {
	var bal Balance
	utxos, err := w.ListUnspent()
	if err != nil {
		return bal, err
	}
	maturity := int32(w.cfg.Params.CoinbaseMaturity)
	for _, u := range utxos {
		switch {
		case u.Locked:
			bal.LockedSat += u.Amount
		case u.Confirmations == 0:
			bal.UnconfirmedSat += u.Amount
		case u.Coinbase && u.Confirmations < maturity:
			bal.ImmatureSat += u.Amount
		default:
			bal.ConfirmedSat += u.Amount
		}
	}
	return bal, nil
}

// ListUnspent lists the unspent outputs in outpoint order (txid bytes,
// then index). Outputs spent
// by an unconfirmed wallet transaction are not listed.
func (w *Wallet) ListUnspent() ([]Utxo, error) {
	var utxos []Utxo
	now := w.cfg.Now().UnixNano()
	err := w.db.View(func(tx *bbolt.Tx) error {
		b, err := openBuckets(tx)
		if err != nil {
			return err
		}
		tip, err := readTip(b)
		if err != nil {
			return err
		}
		return b.credits.ForEach(func(k, v []byte) error {
			if b.spends.Get(k) != nil {
				return nil
			}
			c, err := decodeCredit(v)
			if err != nil {
				return err
			}
			op, err := outpointFromKey(k)
			if err != nil {
				return err
			}
			u := Utxo{OutPoint: op, Amount: c.Amount, PkScript: c.PkScript,
				Coinbase: c.Coinbase, Locked: leaseActive(b, k, now)}
			if c.Height != unconfirmedHeight {
				u.Confirmations = tip.Height - c.Height + 1
			}
			utxos = append(utxos, u)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("wallet: list unspent: %w", err)
	}
	return utxos, nil
}
