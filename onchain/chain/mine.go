package chain

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

// errNotSolved is returned when a whole extra-nonce range fails, which on
// regtest difficulty does not happen in practice.
var errNotSolved = errors.New("no proof of work found")

// Mine mines n blocks on the current tip, each with as many mempool
// transactions as fit, paying the coinbase to payTo (nil: an
// anyone-can-spend output). It returns the hashes of the blocks mined, also
// when ctx ends early.
func (c *Chain) Mine(ctx context.Context, n int, payTo btcutil.Address) ([]chainhash.Hash, error) {
	if n < 0 {
		return nil, fmt.Errorf("mine: negative block count %d", n)
	}
	if !c.params.GenerateSupported {
		return nil, fmt.Errorf("mine: not supported on %s", c.params.Name)
	}
	hashes := make([]chainhash.Hash, 0, n)
	err := c.mine(ctx, n, payTo, &hashes)
	// Mined blocks exist nowhere else yet: make them survive a crash
	// before reporting them, also when mining stopped early.
	if len(hashes) > 0 {
		if serr := c.syncDB(); serr != nil && err == nil {
			err = fmt.Errorf("mine: %w", serr)
		}
	}
	return hashes, err
}

func (c *Chain) mine(ctx context.Context, n int, payTo btcutil.Address, hashes *[]chainhash.Hash) error {
	for range n {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("mine: %w", err)
		}
		reply := make(chan mineResult, 1)
		if !c.worker.send(&mineMsg{payTo: payTo, reply: reply}) {
			return errStopped
		}
		var res mineResult
		select {
		case res = <-reply:
		case <-c.worker.done:
			return errStopped
		}
		if res.err != nil {
			return fmt.Errorf("mine block %d of %d: %w", len(*hashes)+1, n, res.err)
		}
		*hashes = append(*hashes, res.hash)
	}
	return nil
}

// syncDB asks the worker to force the block database to disk.
func (c *Chain) syncDB() error {
	reply := make(chan error, 1)
	if !c.worker.send(&syncMsg{reply: reply}) {
		return errStopped
	}
	select {
	case err := <-reply:
		return err
	case <-c.worker.done:
		return errStopped
	}
}

// mineBlock builds a template on the tip, solves it and connects it. It runs
// on the worker.
func (w *worker) mineBlock(payTo btcutil.Address) (chainhash.Hash, error) {
	tmpl, err := w.c.gen.NewBlockTemplate(payTo)
	if err != nil {
		return chainhash.Hash{}, fmt.Errorf("block template: %w", err)
	}
	msg := tmpl.Block
	// A random extra nonce keeps blocks mined by different nodes at the
	// same height to the same address distinct.
	extraNonce, err := wire.RandomUint64()
	if err != nil {
		return chainhash.Hash{}, fmt.Errorf("extra nonce: %w", err)
	}
	if err := w.c.gen.UpdateExtraNonce(msg, tmpl.Height, extraNonce); err != nil {
		return chainhash.Hash{}, fmt.Errorf("extra nonce: %w", err)
	}
	if !solve(&msg.Header) {
		return chainhash.Hash{}, errNotSolved
	}

	block := btcutil.NewBlock(msg)
	isMain, isOrphan, err := w.c.chain.ProcessBlock(block, blockchain.BFNone)
	connected := w.afterBlocks()
	if err != nil {
		return chainhash.Hash{}, fmt.Errorf("connect mined block: %w", err)
	}
	if isOrphan || !isMain {
		return chainhash.Hash{}, fmt.Errorf("mined block %s did not extend the main chain", block.Hash())
	}
	w.announce(connected, nil)
	return *block.Hash(), nil
}

// solve searches the nonce space for a header hash under its target.
func solve(header *wire.BlockHeader) bool {
	target := blockchain.CompactToBig(header.Bits)
	for nonce := uint64(0); nonce <= math.MaxUint32; nonce++ {
		header.Nonce = uint32(nonce)
		hash := header.BlockHash()
		if blockchain.HashToBig(&hash).Cmp(target) <= 0 {
			return true
		}
	}
	return false
}
