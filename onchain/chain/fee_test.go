package chain

import (
	"errors"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/mempool"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/flash-ln/flash/onchain"
)

// TestRelayFeeFloorByVirtualSize checks the relay floor of 1 sat/vB,
// computed on the virtual size as Bitcoin Core does: a segwit transaction
// paying exactly 1 sat/vB (less than 1 sat per serialized byte) relays.
func TestRelayFeeFloorByVirtualSize(t *testing.T) {
	c := newTestChain(t, noListen)
	legacy := newTestKey(t)
	segwit := newSegwitKey(t)
	var funding []*wire.MsgTx
	for _, addr := range []btcutil.Address{legacy.addr, legacy.addr, segwit.addr, segwit.addr} {
		h := mine(t, c, 1, addr)[0]
		funding = append(funding, coinbaseOf(t, c, h))
	}
	mine(t, c, SegwitActivationHeight-1-len(funding), nil)

	tests := []struct {
		name   string
		sign   func(prev *wire.MsgTx, fee int64, lockTime uint32) *wire.MsgTx
		prev   *wire.MsgTx
		under  int64 // sats below 1 sat/vB
		reject bool
	}{
		{"legacy one sat short", legacySigner(t, legacy), funding[0], 1, true},
		{"legacy at the floor", legacySigner(t, legacy), funding[1], 0, false},
		{"segwit one sat short", segwit.sign(t), funding[2], 1, true},
		{"segwit at the floor", segwit.sign(t), funding[3], 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The signature length moves the size by a byte either
			// way; the lock time (ignored: the input is final)
			// changes the signature but not the size.
			fee := mempool.GetTxVirtualSize(btcutil.NewTx(tt.sign(tt.prev, 1000, 0))) - tt.under
			var tx *wire.MsgTx
			for lockTime := uint32(0); ; lockTime++ {
				tx = tt.sign(tt.prev, fee, lockTime)
				if mempool.GetTxVirtualSize(btcutil.NewTx(tx))-tt.under == fee {
					break
				}
				if lockTime == 100 {
					t.Fatal("no signature of the expected size")
				}
			}
			err := c.SendTransaction(tx)
			var rej *onchain.TxRejectError
			switch {
			case tt.reject && !errors.As(err, &rej):
				t.Fatalf("want a rejection, got %v", err)
			case tt.reject && !strings.Contains(rej.Reason, "relay floor"):
				t.Fatalf("rejection %q does not name the relay floor", rej.Reason)
			case !tt.reject && err != nil:
				t.Fatalf("rejected: %v", err)
			}
			if got := c.mempool.IsTransactionInPool(ptr(tx.TxHash())); got == tt.reject {
				t.Fatalf("in mempool: %v, want %v", got, !tt.reject)
			}
		})
	}
	// What is in the mempool gets mined, however low its fee per byte.
	h := mine(t, c, 1, nil)[0]
	if blk, _ := c.BlockByHash(h); len(blk.Transactions()) != 3 {
		t.Fatalf("block has %d transactions, want 3", len(blk.Transactions()))
	}
}

func ptr[T any](v T) *T { return &v }

func legacySigner(t *testing.T, k *testKey) func(*wire.MsgTx, int64, uint32) *wire.MsgTx {
	return func(prev *wire.MsgTx, fee int64, lockTime uint32) *wire.MsgTx {
		tx := wire.NewMsgTx(2)
		tx.LockTime = lockTime
		tx.AddTxIn(wire.NewTxIn(&wire.OutPoint{Hash: prev.TxHash()}, nil, nil))
		tx.AddTxOut(wire.NewTxOut(prev.TxOut[0].Value-fee, k.pkScript))
		sig, err := txscript.SignatureScript(tx, 0, k.pkScript, txscript.SigHashAll, k.priv, true)
		if err != nil {
			t.Fatal(err)
		}
		tx.TxIn[0].SignatureScript = sig
		return tx
	}
}

// segwitKey pays to P2WPKH.
type segwitKey struct {
	priv     *btcec.PrivateKey
	addr     btcutil.Address
	pkScript []byte
}

func newSegwitKey(t *testing.T) *segwitKey {
	priv, err := btcec.NewPrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	addr, err := btcutil.NewAddressWitnessPubKeyHash(
		btcutil.Hash160(priv.PubKey().SerializeCompressed()), &chaincfg.RegressionNetParams)
	if err != nil {
		t.Fatal(err)
	}
	pkScript, err := txscript.PayToAddrScript(addr)
	if err != nil {
		t.Fatal(err)
	}
	return &segwitKey{priv: priv, addr: addr, pkScript: pkScript}
}

func (k *segwitKey) sign(t *testing.T) func(*wire.MsgTx, int64, uint32) *wire.MsgTx {
	return func(prev *wire.MsgTx, fee int64, lockTime uint32) *wire.MsgTx {
		value := prev.TxOut[0].Value
		tx := wire.NewMsgTx(2)
		tx.LockTime = lockTime
		tx.AddTxIn(wire.NewTxIn(&wire.OutPoint{Hash: prev.TxHash()}, nil, nil))
		tx.AddTxOut(wire.NewTxOut(value-fee, k.pkScript))
		fetcher := txscript.NewCannedPrevOutputFetcher(k.pkScript, value)
		wit, err := txscript.WitnessSignature(tx, txscript.NewTxSigHashes(tx, fetcher), 0,
			value, k.pkScript, txscript.SigHashAll, k.priv, true)
		if err != nil {
			t.Fatal(err)
		}
		tx.TxIn[0].Witness = wit
		return tx
	}
}
