package wallet

import (
	"encoding/binary"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
	"github.com/flash-ln/flash/onchain"
)

// fakeChain is an in-memory onchain.BlockSource and onchain.Broadcaster. It
// validates nothing: tests build the blocks they want, including invalid
// ones, and the wallet must follow. Like btcd, it takes the transactions
// of disconnected blocks back into its mempool without announcing them.
type fakeChain struct {
	mu      sync.Mutex
	params  *chaincfg.Params
	blocks  map[chainhash.Hash]*btcutil.Block
	main    []chainhash.Hash // main[h] is the main-chain block at height h
	mempool []*btcutil.Tx
	subs    []*fakeSub
	nonce   uint32

	// refuse, when set, is what SendTransaction returns.
	refuse error
	// forgetOnReorg drops disconnected transactions instead of taking
	// them back into the mempool.
	forgetOnReorg bool
	sent          []*wire.MsgTx
	// fetchBudget, when positive, is how many more BlockByHash calls
	// succeed before the chain starts failing them (a disk error, say).
	fetchBudget int
}

func newFakeChain(params *chaincfg.Params) *fakeChain {
	genesis := btcutil.NewBlock(params.GenesisBlock)
	genesis.SetHeight(0)
	genesis.Hash()
	genesis.Transactions()[0].Hash()
	c := &fakeChain{
		params: params,
		blocks: map[chainhash.Hash]*btcutil.Block{*genesis.Hash(): genesis},
		main:   []chainhash.Hash{*genesis.Hash()},
	}
	return c
}

func (c *fakeChain) BestBlock() (chainhash.Hash, int32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.main[len(c.main)-1], int32(len(c.main) - 1)
}

func (c *fakeChain) BlockHashByHeight(h int32) (chainhash.Hash, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if h < 0 || int(h) >= len(c.main) {
		return chainhash.Hash{}, onchain.ErrNotFound
	}
	return c.main[h], nil
}

func (c *fakeChain) BlockByHash(hash chainhash.Hash) (*btcutil.Block, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fetchBudget > 0 {
		c.fetchBudget--
		if c.fetchBudget == 0 {
			c.fetchBudget = 1
			return nil, errors.New("fake chain: read error")
		}
	}
	b, ok := c.blocks[hash]
	if !ok {
		return nil, onchain.ErrNotFound
	}
	return b, nil
}

func (c *fakeChain) MainChainHasBlock(hash chainhash.Hash) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.onMain(hash)
}

func (c *fakeChain) onMain(hash chainhash.Hash) bool {
	b, ok := c.blocks[hash]
	if !ok {
		return false
	}
	h := b.Height()
	return h >= 0 && int(h) < len(c.main) && c.main[h] == hash
}

func (c *fakeChain) MempoolTxs() []*btcutil.Tx {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*btcutil.Tx(nil), c.mempool...)
}

func (c *fakeChain) Subscribe() onchain.Subscription {
	s := &fakeSub{
		ch:     make(chan onchain.Event),
		notify: make(chan struct{}, 1),
		quit:   make(chan struct{}),
	}
	go s.deliver()
	c.mu.Lock()
	c.subs = append(c.subs, s)
	c.mu.Unlock()
	return s
}

func (c *fakeChain) SendTransaction(tx *wire.MsgTx) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent = append(c.sent, tx)
	if c.refuse != nil {
		return c.refuse
	}
	txid := tx.TxHash()
	// Like a real mempool, refuse what the main chain already has or
	// spends.
	for _, hash := range c.main {
		for _, mined := range c.blocks[hash].Transactions() {
			if *mined.Hash() == txid {
				return &onchain.TxRejectError{Txid: txid, Reason: "already in the chain"}
			}
			for _, a := range mined.MsgTx().TxIn {
				for _, b := range tx.TxIn {
					if a.PreviousOutPoint == b.PreviousOutPoint {
						return &onchain.TxRejectError{Txid: txid, Reason: "input spent in the chain"}
					}
				}
			}
		}
	}
	for _, m := range c.mempool {
		if *m.Hash() == txid {
			return &onchain.TxRejectError{Txid: txid, Reason: "already have transaction"}
		}
		for _, a := range m.MsgTx().TxIn {
			for _, b := range tx.TxIn {
				if a.PreviousOutPoint == b.PreviousOutPoint {
					return &onchain.TxRejectError{Txid: txid, Reason: "double spend"}
				}
			}
		}
	}
	btx := btcutil.NewTx(tx)
	btx.Hash()
	c.mempool = append(c.mempool, btx)
	c.emit(onchain.Event{Kind: onchain.TxAccepted, Tx: btx})
	return nil
}

// acceptToMempool is SendTransaction without the policy, for payments
// from the outside world.
func (c *fakeChain) acceptToMempool(tx *wire.MsgTx) {
	c.mu.Lock()
	defer c.mu.Unlock()
	btx := btcutil.NewTx(tx)
	btx.Hash()
	c.mempool = append(c.mempool, btx)
	c.emit(onchain.Event{Kind: onchain.TxAccepted, Tx: btx})
}

func (c *fakeChain) emit(ev onchain.Event) {
	for _, s := range c.subs {
		s.push(ev)
	}
}

// newBlock builds a block on prev (at height) with a coinbase paying
// 50 BTC to payTo (an unspendable script if nil) and txs.
func (c *fakeChain) newBlock(prev chainhash.Hash, height int32, payTo []byte, txs []*wire.MsgTx) *btcutil.Block {
	c.mu.Lock()
	c.nonce++
	nonce := c.nonce
	c.mu.Unlock()
	if payTo == nil {
		payTo = []byte{0x6a} // OP_RETURN
	}
	sig := make([]byte, 8)
	binary.BigEndian.PutUint32(sig, uint32(height))
	binary.BigEndian.PutUint32(sig[4:], nonce)
	cb := wire.NewMsgTx(1)
	cb.AddTxIn(wire.NewTxIn(wire.NewOutPoint(&chainhash.Hash{}, wire.MaxPrevOutIndex), sig, nil))
	cb.AddTxOut(wire.NewTxOut(50e8, payTo))
	msg := &wire.MsgBlock{Header: wire.BlockHeader{
		Version:   1,
		PrevBlock: prev,
		Timestamp: time.Unix(1e9+int64(nonce), 0),
		Bits:      0x207fffff,
		Nonce:     nonce,
	}}
	msg.AddTransaction(cb)
	for _, tx := range txs {
		msg.AddTransaction(tx)
	}
	utxs := make([]*btcutil.Tx, len(msg.Transactions))
	for i, tx := range msg.Transactions {
		utxs[i] = btcutil.NewTx(tx)
	}
	msg.Header.MerkleRoot = blockchain.CalcMerkleRoot(utxs, false)
	blk := btcutil.NewBlock(msg)
	blk.SetHeight(height)
	// btcutil caches hashes lazily; fill the caches before the block is
	// shared between goroutines.
	blk.Hash()
	for _, tx := range blk.Transactions() {
		tx.Hash()
	}
	return blk
}

// mine appends a block with the whole mempool plus extra to the main
// chain, its coinbase paying payTo.
func (c *fakeChain) mine(payTo []byte, extra ...*wire.MsgTx) *btcutil.Block {
	tip, height := c.BestBlock()
	var txs []*wire.MsgTx
	for _, tx := range c.MempoolTxs() {
		txs = append(txs, tx.MsgTx())
	}
	txs = append(txs, extra...)
	blk := c.newBlock(tip, height+1, payTo, txs)
	c.connect(blk)
	return blk
}

// mineOnly appends a block with exactly txs, whatever the mempool holds.
func (c *fakeChain) mineOnly(payTo []byte, txs ...*wire.MsgTx) *btcutil.Block {
	tip, height := c.BestBlock()
	blk := c.newBlock(tip, height+1, payTo, txs)
	c.connect(blk)
	return blk
}

func (c *fakeChain) mineEmpty(n int) {
	for range n {
		c.mineOnly(nil)
	}
}

// connect appends blk, which must build on the tip, and removes what it
// confirms or double-spends from the mempool.
func (c *fakeChain) connect(blk *btcutil.Block) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if blk.MsgBlock().Header.PrevBlock != c.main[len(c.main)-1] {
		panic("fake chain: block does not build on the tip")
	}
	c.blocks[*blk.Hash()] = blk
	c.main = append(c.main, *blk.Hash())
	spent := make(map[wire.OutPoint]bool)
	mined := make(map[chainhash.Hash]bool)
	for _, tx := range blk.Transactions() {
		mined[*tx.Hash()] = true
		for _, in := range tx.MsgTx().TxIn {
			spent[in.PreviousOutPoint] = true
		}
	}
	keep := c.mempool[:0]
	for _, tx := range c.mempool {
		drop := mined[*tx.Hash()]
		for _, in := range tx.MsgTx().TxIn {
			drop = drop || spent[in.PreviousOutPoint]
		}
		if !drop {
			keep = append(keep, tx)
		}
	}
	c.mempool = keep
	c.emit(onchain.Event{Kind: onchain.BlockConnected, Hash: *blk.Hash(),
		Height: blk.Height(), Block: blk})
}

// disconnect removes the n tip blocks, tip first, taking their
// non-coinbase transactions back into the mempool.
func (c *fakeChain) disconnect(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for range n {
		hash := c.main[len(c.main)-1]
		blk := c.blocks[hash]
		c.main = c.main[:len(c.main)-1]
		if !c.forgetOnReorg {
			// Lower blocks come out later but go first: parents
			// before children.
			back := append([]*btcutil.Tx(nil), blk.Transactions()[1:]...)
			c.mempool = append(back, c.mempool...)
		}
		c.emit(onchain.Event{Kind: onchain.BlockDisconnected, Hash: hash,
			Height: blk.Height(), Block: blk})
	}
}

func (c *fakeChain) emittedTo(sub onchain.Subscription) uint64 {
	return sub.(*fakeSub).emitted.Load()
}

// fakeSub queues events without bound so that the chain never waits for a
// slow reader, as the onchain.Subscription contract requires.
type fakeSub struct {
	mu      sync.Mutex
	queue   []onchain.Event
	ch      chan onchain.Event
	notify  chan struct{}
	quit    chan struct{}
	once    sync.Once
	emitted atomic.Uint64
}

func (s *fakeSub) push(ev onchain.Event) {
	s.emitted.Add(1)
	s.mu.Lock()
	s.queue = append(s.queue, ev)
	s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

func (s *fakeSub) deliver() {
	defer close(s.ch)
	for {
		s.mu.Lock()
		if len(s.queue) == 0 {
			s.mu.Unlock()
			select {
			case <-s.notify:
				continue
			case <-s.quit:
				return
			}
		}
		ev := s.queue[0]
		s.queue = s.queue[1:]
		s.mu.Unlock()
		select {
		case s.ch <- ev:
		case <-s.quit:
			return
		}
	}
}

func (s *fakeSub) Events() <-chan onchain.Event { return s.ch }
func (s *fakeSub) Cancel()                      { s.once.Do(func() { close(s.quit) }) }
