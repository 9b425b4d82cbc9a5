package gossip

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
)

// Errors of the on-chain check of a channel_announcement.
var (
	// ErrFundingMissing is returned when the short channel id names no
	// transaction output, or the output is already spent.
	ErrFundingMissing = errors.New("funding output missing or spent")
	// ErrFundingScript is returned when the output is not the 2-of-2
	// P2WSH of the announced bitcoin keys.
	ErrFundingScript = errors.New("funding output does not pay the announced keys")
)

// TxLocator resolves a short channel id's block height and transaction
// index to a transaction id on the best chain.
type TxLocator interface {
	// TxIDAt returns the id of the transaction at position txIndex in
	// the block at height, or an error when there is no such block or
	// transaction.
	TxIDAt(height, txIndex uint32) (chainhash.Hash, error)
}

// UTXOLookup returns the unspent output at op, or nil and no error when
// the output does not exist or is spent.
type UTXOLookup func(op wire.OutPoint) (*wire.TxOut, error)

// Funding is the on-chain output behind an announced channel.
type Funding struct {
	OutPoint wire.OutPoint
	// Capacity is the output's value in satoshis.
	Capacity int64
}

// FundingScript returns the BOLT 3 funding witness script for two
// bitcoin keys: 2 <key1> <key2> 2 OP_CHECKMULTISIG with the keys in
// lexicographic order.
func FundingScript(k1, k2 NodeID) ([]byte, error) {
	if bytes.Compare(k1[:], k2[:]) > 0 {
		k1, k2 = k2, k1
	}
	return txscript.NewScriptBuilder().
		AddOp(txscript.OP_2).AddData(k1[:]).AddData(k2[:]).
		AddOp(txscript.OP_2).AddOp(txscript.OP_CHECKMULTISIG).Script()
}

// FundingPkScript returns the P2WSH output script of the funding script.
func FundingPkScript(k1, k2 NodeID) ([]byte, error) {
	ws, err := FundingScript(k1, k2)
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256(ws)
	return txscript.NewScriptBuilder().AddOp(txscript.OP_0).AddData(h[:]).Script()
}

// ValidateFunding checks that the announcement's short channel id points
// to an unspent output paying the P2WSH of its two bitcoin keys, and
// returns that output. A short channel id that loc cannot resolve, or an
// output utxo reports absent, yields ErrFundingMissing; other errors from
// utxo are returned wrapped, as the chain rather than the peer is at fault.
func ValidateFunding(m *ChannelAnnouncement, loc TxLocator, utxo UTXOLookup) (Funding, error) {
	scid := m.ShortChannelID
	txid, err := loc.TxIDAt(scid.BlockHeight, scid.TxIndex)
	if err != nil {
		return Funding{}, fmt.Errorf("channel_announcement %v: %w: %v", scid, ErrFundingMissing, err)
	}
	op := wire.OutPoint{Hash: txid, Index: uint32(scid.TxPosition)}
	out, err := utxo(op)
	if err != nil {
		return Funding{}, fmt.Errorf("channel_announcement %v: look up %v: %w", scid, op, err)
	}
	if out == nil {
		return Funding{}, fmt.Errorf("channel_announcement %v: %w: %v", scid, ErrFundingMissing, op)
	}
	want, err := FundingPkScript(m.BitcoinKey1, m.BitcoinKey2)
	if err != nil {
		return Funding{}, fmt.Errorf("channel_announcement %v: %w", scid, err)
	}
	if !bytes.Equal(out.PkScript, want) {
		return Funding{}, fmt.Errorf("channel_announcement %v: %w", scid, ErrFundingScript)
	}
	return Funding{OutPoint: op, Capacity: out.Value}, nil
}
