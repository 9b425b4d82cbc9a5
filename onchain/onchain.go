package onchain

import (
	"errors"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

// EventKind tells what happened to the chain.
type EventKind int

const (
	// BlockConnected: Block was appended to the main chain at Height.
	BlockConnected EventKind = iota
	// BlockDisconnected: Block, at Height, was removed from the tip of the
	// main chain by a reorganisation. Disconnections arrive tip first,
	// before the connections of the new branch.
	BlockDisconnected
	// TxAccepted: Tx entered the mempool.
	TxAccepted
)

func (k EventKind) String() string {
	switch k {
	case BlockConnected:
		return "block_connected"
	case BlockDisconnected:
		return "block_disconnected"
	case TxAccepted:
		return "tx_accepted"
	default:
		return "unknown"
	}
}

// Event is one change of the chain, delivered in the order it happened.
type Event struct {
	Kind   EventKind
	Hash   chainhash.Hash // block hash, for block events
	Height int32          // block height, for block events
	Block  *btcutil.Block // for block events
	Tx     *btcutil.Tx    // for TxAccepted
}

// Subscription delivers chain events in order. Delivery never blocks the
// chain: events queue per subscriber until they are read.
type Subscription interface {
	// Events is closed after Cancel or when the chain stops.
	Events() <-chan Event
	Cancel()
}

// BlockSource is what chain consumers (wallet, notifier) read.
//
// A consumer subscribes first and then reads the tip, so that no event falls
// between the two; it must therefore treat an event for a block it already
// processed as a no-op.
type BlockSource interface {
	// BestBlock is the tip of the main chain.
	BestBlock() (chainhash.Hash, int32)
	// BlockHashByHeight is the main-chain block at height.
	BlockHashByHeight(height int32) (chainhash.Hash, error)
	// BlockByHash returns any stored block, including blocks no longer on
	// the main chain (needed to undo them after a reorganisation).
	BlockByHash(hash chainhash.Hash) (*btcutil.Block, error)
	// MainChainHasBlock reports whether hash is on the main chain.
	MainChainHasBlock(hash chainhash.Hash) bool
	// MempoolTxs is a snapshot of the transactions in the mempool.
	MempoolTxs() []*btcutil.Tx
	// Subscribe starts a stream of events.
	Subscribe() Subscription
}

// Broadcaster hands a transaction to the network.
type Broadcaster interface {
	// SendTransaction validates tx against the mempool policy and relays
	// it. A rejected transaction yields a *TxRejectError.
	SendTransaction(tx *wire.MsgTx) error
}

// TxRejectError says why the mempool refused a transaction.
type TxRejectError struct {
	Txid   chainhash.Hash
	Reason string
}

func (e *TxRejectError) Error() string {
	return "transaction " + e.Txid.String() + " rejected: " + e.Reason
}

// ErrNotFound is returned for blocks or transactions the chain does not have.
var ErrNotFound = errors.New("not found")
