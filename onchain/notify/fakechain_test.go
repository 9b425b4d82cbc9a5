package notify

import (
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
	"github.com/flash-ln/flash/onchain"
)

// fakeChain is an in-memory onchain.BlockSource whose blocks the test
// connects and disconnects explicitly, so that every reorganisation is
// deterministic. Blocks are not validated: only their linkage matters.
type fakeChain struct {
	mu     sync.Mutex
	blocks map[chainhash.Hash]*btcutil.Block
	main   []chainhash.Hash
	subs   map[*fakeSub]struct{}
	nonce  uint32
	// mempool is never emptied: mining does not need it to be.
	mempool []*btcutil.Tx
	// silent suppresses events, to drive the notifier out of step.
	silent bool
	// blockHook, when set, runs in BlockByHash before the block is
	// returned, outside the lock: a test can hold a reader there.
	blockHook func(hash chainhash.Hash)
	// onSubscribe runs after a subscription is made, before Subscribe
	// returns: it lets a test change the chain in the window between a
	// consumer subscribing and reading the tip.
	onSubscribe func()
}

func newFakeChain() *fakeChain {
	c := &fakeChain{
		blocks: make(map[chainhash.Hash]*btcutil.Block),
		subs:   make(map[*fakeSub]struct{}),
	}
	genesis := &wire.MsgBlock{Header: wire.BlockHeader{
		Version: 1, Timestamp: time.Unix(1231006505, 0),
	}}
	genesis.AddTransaction(coinbaseTx(0, 0))
	hash := genesis.BlockHash()
	gb := btcutil.NewBlock(genesis)
	gb.SetHeight(0)
	c.blocks[hash] = gb
	c.main = []chainhash.Hash{hash}
	return c
}

// coinbaseTx is a unique coinbase for a block at height.
func coinbaseTx(height int32, nonce uint32) *wire.MsgTx {
	tx := wire.NewMsgTx(2)
	script := make([]byte, 8)
	binary.LittleEndian.PutUint32(script, uint32(height))
	binary.LittleEndian.PutUint32(script[4:], nonce)
	tx.AddTxIn(&wire.TxIn{
		PreviousOutPoint: wire.OutPoint{Index: wire.MaxPrevOutIndex},
		SignatureScript:  script,
	})
	tx.AddTxOut(wire.NewTxOut(50e8, []byte{0x51}))
	return tx
}

// testTx is a transaction spending the given outpoints, made unique by tag.
func testTx(tag string, spends ...wire.OutPoint) *wire.MsgTx {
	tx := wire.NewMsgTx(2)
	if len(spends) == 0 {
		spends = []wire.OutPoint{{Hash: chainhash.HashH([]byte("funding " + tag))}}
	}
	for _, op := range spends {
		tx.AddTxIn(&wire.TxIn{PreviousOutPoint: op})
	}
	tx.AddTxOut(wire.NewTxOut(1000, append([]byte{0x00, 0x14}, []byte(fmt.Sprintf("%-20.20s", tag))...)))
	tx.AddTxOut(wire.NewTxOut(2000, []byte{0x51}))
	return tx
}

func (c *fakeChain) tipLocked() (chainhash.Hash, int32) {
	return c.main[len(c.main)-1], int32(len(c.main) - 1)
}

// Mine connects a block with txs on top of the tip.
func (c *fakeChain) Mine(txs ...*wire.MsgTx) *wire.MsgBlock {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mineLocked(txs)
}

func (c *fakeChain) mineLocked(txs []*wire.MsgTx) *wire.MsgBlock {
	tipHash, tipHeight := c.tipLocked()
	c.nonce++
	blk := &wire.MsgBlock{Header: wire.BlockHeader{
		Version:   1,
		PrevBlock: tipHash,
		Timestamp: time.Unix(1231006505+int64(c.nonce)*600, 0),
		Nonce:     c.nonce,
	}}
	blk.AddTransaction(coinbaseTx(tipHeight+1, c.nonce))
	for _, tx := range txs {
		blk.AddTransaction(tx)
	}
	hash := blk.BlockHash()
	ub := btcutil.NewBlock(blk)
	ub.SetHeight(tipHeight + 1)
	c.blocks[hash] = ub
	c.main = append(c.main, hash)
	c.emitLocked(onchain.Event{Kind: onchain.BlockConnected, Hash: hash, Height: tipHeight + 1, Block: ub})
	return blk
}

// MineN connects n empty blocks.
func (c *fakeChain) MineN(n int) {
	for range n {
		c.Mine()
	}
}

// Disconnect removes the k blocks at the tip.
func (c *fakeChain) Disconnect(k int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.disconnectLocked(k)
}

func (c *fakeChain) disconnectLocked(k int) {
	for range k {
		hash, height := c.tipLocked()
		if height == 0 {
			panic("fake chain: disconnect genesis")
		}
		c.main = c.main[:len(c.main)-1]
		c.emitLocked(onchain.Event{Kind: onchain.BlockDisconnected, Hash: hash, Height: height,
			Block: c.blocks[hash]})
	}
}

// Reorg disconnects depth blocks, then connects one block per entry of
// branch, with that entry's transactions.
func (c *fakeChain) Reorg(depth int, branch ...[]*wire.MsgTx) []*wire.MsgBlock {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.disconnectLocked(depth)
	var out []*wire.MsgBlock
	for _, txs := range branch {
		out = append(out, c.mineLocked(txs))
	}
	return out
}

func (c *fakeChain) Tip() (chainhash.Hash, int32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tipLocked()
}

// Close ends every subscription, as a chain that shuts down does.
func (c *fakeChain) Close() {
	c.mu.Lock()
	subs := c.subs
	c.subs = make(map[*fakeSub]struct{})
	c.mu.Unlock()
	for s := range subs {
		s.Cancel()
	}
}

func (c *fakeChain) emitLocked(ev onchain.Event) {
	if c.silent {
		return
	}
	for s := range c.subs {
		s.push(ev)
	}
}

func (c *fakeChain) BestBlock() (chainhash.Hash, int32) { return c.Tip() }

func (c *fakeChain) BlockHashByHeight(height int32) (chainhash.Hash, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if height < 0 || int(height) >= len(c.main) {
		return chainhash.Hash{}, fmt.Errorf("height %d: %w", height, onchain.ErrNotFound)
	}
	return c.main[height], nil
}

func (c *fakeChain) BlockByHash(hash chainhash.Hash) (*btcutil.Block, error) {
	c.mu.Lock()
	b, ok := c.blocks[hash]
	hook := c.blockHook
	c.mu.Unlock()
	if hook != nil {
		hook(hash)
	}
	if !ok {
		return nil, fmt.Errorf("block %s: %w", hash, onchain.ErrNotFound)
	}
	return b, nil
}

func (c *fakeChain) MainChainHasBlock(hash chainhash.Hash) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.blocks[hash]
	if !ok {
		return false
	}
	h := b.Height()
	return int(h) < len(c.main) && c.main[h] == hash
}

func (c *fakeChain) MempoolTxs() []*btcutil.Tx {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.mempool)
}

// Accept puts tx in the mempool, as the chain does with a relayed
// transaction.
func (c *fakeChain) Accept(tx *wire.MsgTx) {
	c.mu.Lock()
	defer c.mu.Unlock()
	utx := btcutil.NewTx(tx)
	c.mempool = append(c.mempool, utx)
	c.emitLocked(onchain.Event{Kind: onchain.TxAccepted, Tx: utx})
}

func (c *fakeChain) Subscribe() onchain.Subscription {
	s := &fakeSub{
		ch:   make(chan onchain.Event),
		wake: make(chan struct{}, 1),
		quit: make(chan struct{}),
		done: make(chan struct{}),
	}
	c.mu.Lock()
	c.subs[s] = struct{}{}
	hook := c.onSubscribe
	c.mu.Unlock()
	go s.pump()
	if hook != nil {
		hook()
	}
	return &fakeSubHandle{s: s, c: c}
}

// fakeSub queues events without bound and hands them over in order.
type fakeSub struct {
	mu    sync.Mutex
	queue []onchain.Event
	// pushed counts the events emitted to this subscription.
	pushed uint64
	ch     chan onchain.Event
	wake   chan struct{}
	quit   chan struct{}
	done   chan struct{}
	once   sync.Once
}

func (s *fakeSub) push(ev onchain.Event) {
	s.mu.Lock()
	s.pushed++
	s.queue = append(s.queue, ev)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *fakeSub) pump() {
	defer close(s.done)
	defer close(s.ch)
	for {
		s.mu.Lock()
		var ev onchain.Event
		ok := len(s.queue) > 0
		if ok {
			ev = s.queue[0]
			s.queue = s.queue[1:]
		}
		s.mu.Unlock()
		if !ok {
			select {
			case <-s.wake:
				continue
			case <-s.quit:
				return
			}
		}
		select {
		case s.ch <- ev:
		case <-s.quit:
			return
		}
	}
}

func (s *fakeSub) Events() <-chan onchain.Event { return s.ch }

func (s *fakeSub) Cancel() {
	s.once.Do(func() { close(s.quit) })
	<-s.done
}

type fakeSubHandle struct {
	s *fakeSub
	c *fakeChain
}

func (h *fakeSubHandle) Events() <-chan onchain.Event { return h.s.Events() }

func (h *fakeSubHandle) Cancel() {
	h.c.mu.Lock()
	delete(h.c.subs, h.s)
	h.c.mu.Unlock()
	h.s.Cancel()
}

func mempoolEvent(tx *wire.MsgTx) onchain.Event {
	return onchain.Event{Kind: onchain.TxAccepted, Tx: btcutil.NewTx(tx)}
}

// emitted is the number of events emitted to the chain's only subscriber.
func (c *fakeChain) emitted() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var total uint64
	for s := range c.subs {
		s.mu.Lock()
		total += s.pushed
		s.mu.Unlock()
	}
	return total
}
