package chain

import (
	"errors"
	"fmt"
	"time"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/mempool"
	"github.com/btcsuite/btcd/wire"

	"github.com/flash-ln/flash/onchain"
)

// maxRememberedTxs bounds the sets of requested and rejected transaction
// hashes kept to avoid asking for (or validating) the same one twice.
const maxRememberedTxs = 5000

// Messages handled by the worker.
type (
	sendTxMsg struct {
		tx    *btcutil.Tx
		reply chan error
	}
	mineMsg struct {
		payTo btcutil.Address
		reply chan mineResult
	}
	mineResult struct {
		hash chainhash.Hash
		err  error
	}
	submitBlockMsg struct {
		block *btcutil.Block
		reply chan error
	}
	fetchUtxoMsg struct {
		op    wire.OutPoint
		reply chan fetchUtxoResult
	}
	fetchUtxoResult struct {
		out *wire.TxOut
		err error
	}
	syncMsg      struct{ reply chan error }
	peerReadyMsg struct{ cp *chainPeer }
	peerDoneMsg  struct{ cp *chainPeer }
	invMsg       struct {
		cp  *chainPeer
		inv *wire.MsgInv
	}
	headersMsg struct {
		cp      *chainPeer
		headers *wire.MsgHeaders
	}
	notFoundMsg struct {
		cp *chainPeer
		nf *wire.MsgNotFound
	}
	blockMsg struct {
		cp    *chainPeer
		block *btcutil.Block
		done  chan struct{}
	}
	txMsg struct {
		cp   *chainPeer
		tx   *btcutil.Tx
		done chan struct{}
	}
)

// worker is the single goroutine that changes the chain and the mempool.
// All fields are owned by it.
type worker struct {
	c    *Chain
	msgs chan any
	quit chan struct{}
	done chan struct{}

	peers        map[*chainPeer]struct{}       // handshake done
	pending      map[chainhash.Hash]*chainPeer // blocks queued or in flight
	requestedTxs map[chainhash.Hash]struct{}   // txs asked for with getdata
	rejectedTxs  map[chainhash.Hash]struct{}   // txs the mempool refused
	announced    chainhash.Hash                // last tip announced to peers
	catchingUp   bool                          // a sizeable download is logged
}

func newWorker(c *Chain) *worker {
	best := c.chain.BestSnapshot()
	return &worker{
		c:            c,
		msgs:         make(chan any, 256),
		quit:         make(chan struct{}),
		done:         make(chan struct{}),
		peers:        make(map[*chainPeer]struct{}),
		pending:      make(map[chainhash.Hash]*chainPeer),
		requestedTxs: make(map[chainhash.Hash]struct{}),
		rejectedTxs:  make(map[chainhash.Hash]struct{}),
		announced:    best.Hash,
	}
}

// send hands m to the worker; false once the worker has stopped. Callers
// waiting for a reply must also watch w.done.
func (w *worker) send(m any) bool {
	select {
	case w.msgs <- m:
		return true
	case <-w.done:
		return false
	case <-w.quit:
		return false
	}
}

func (w *worker) stop() {
	close(w.quit)
	<-w.done
}

func (w *worker) run() {
	defer close(w.done)
	ticker := time.NewTicker(syncInterval / 4)
	defer ticker.Stop()
	for {
		select {
		case m := <-w.msgs:
			w.handle(m)
			w.c.current.Store(!w.syncing())
			w.logProgress()
		case <-ticker.C:
		case <-w.quit:
			return
		}
		if w.c.db.due() {
			w.syncDB()
		}
	}
}

// catchUpThreshold is how many pending blocks make a download worth
// logging at info level; single new blocks are routine.
const catchUpThreshold = 16

// logProgress logs the start and the end of a sizeable download.
func (w *worker) logProgress() {
	switch {
	case !w.catchingUp && len(w.pending) >= catchUpThreshold:
		w.catchingUp = true
		_, height := w.c.BestBlock()
		w.c.log.Info("catching up", "height", height, "blocks_pending", len(w.pending))
	case w.catchingUp && !w.syncing():
		w.catchingUp = false
		hash, height := w.c.BestBlock()
		w.c.log.Info("caught up", "tip", hash, "height", height)
		// A node that just caught up holds many blocks only in ffldb's
		// cache; make them durable now rather than within syncInterval,
		// so a kill -9 right after a sync does not send it back to the
		// start of the chain. syncDB logs its own failure.
		_ = w.syncDB()
	}
}

// syncDB forces the block database to disk. A failure leaves the database
// unusable; it is logged loudly and every later write reports it.
func (w *worker) syncDB() error {
	err := w.c.db.Sync()
	if err != nil {
		w.c.log.Error("block database sync failed", "err", err)
	}
	return err
}

func (w *worker) handle(m any) {
	switch m := m.(type) {
	case *sendTxMsg:
		m.reply <- w.sendTx(m.tx)
	case *mineMsg:
		hash, err := w.mineBlock(m.payTo)
		m.reply <- mineResult{hash: hash, err: err}
	case *fetchUtxoMsg:
		out, err := w.fetchUtxo(m.op)
		m.reply <- fetchUtxoResult{out: out, err: err}
	case *syncMsg:
		m.reply <- w.syncDB()
	case *submitBlockMsg:
		m.reply <- w.submitBlock(m.block)
	case *peerReadyMsg:
		w.peerReady(m.cp)
	case *peerDoneMsg:
		w.peerDone(m.cp)
	case *invMsg:
		w.handleInv(m.cp, m.inv)
	case *headersMsg:
		w.handleHeaders(m.cp, m.headers.Headers)
	case *notFoundMsg:
		w.handleNotFound(m.cp, m.nf)
	case *blockMsg:
		w.handleBlock(m.cp, m.block)
		close(m.done)
	case *txMsg:
		w.handleTx(m.cp, m.tx)
		close(m.done)
	case func(): // tests run code on the worker
		m()
	}
}

// sendTx is SendTransaction on the worker.
func (w *worker) sendTx(tx *btcutil.Tx) error {
	if w.c.mempool.IsTransactionInPool(tx.Hash()) {
		w.relayTx(tx, nil)
		return nil
	}
	accepted, err := w.c.mempool.ProcessTransaction(tx, false, true, 0)
	if err != nil {
		return rejectError(tx, err)
	}
	accepted, err = w.enforceFeeFloor(accepted, tx)
	w.txsAccepted(accepted, nil, true)
	return err
}

// enforceFeeFloor takes back out of the mempool every newly accepted
// transaction paying less than 1 sat/vB (see the mempool policy in New),
// with its descendants, and returns the ones that stay. If tx is among the
// evicted, the error says why.
func (w *worker) enforceFeeFloor(accepted []*mempool.TxDesc, tx *btcutil.Tx) ([]*mempool.TxDesc, error) {
	var err error
	evicted := false
	for _, d := range accepted {
		vsize := mempool.GetTxVirtualSize(d.Tx)
		floor := int64(onchain.FeePerKwFloor.FeeForVSize(vsize))
		if d.Fee >= floor {
			continue
		}
		evicted = true
		w.c.mempool.RemoveTransaction(d.Tx, true)
		if tx != nil && *d.Tx.Hash() == *tx.Hash() {
			err = &onchain.TxRejectError{Txid: *tx.Hash(), Reason: fmt.Sprintf(
				"fee of %d sat is below the relay floor of %d sat (1 sat/vB for %d vB)",
				d.Fee, floor, vsize)}
		}
	}
	if !evicted {
		return accepted, nil
	}
	// Descendants left with their ancestors.
	var kept []*mempool.TxDesc
	for _, d := range accepted {
		if w.c.mempool.IsTransactionInPool(d.Tx.Hash()) {
			kept = append(kept, d)
		}
	}
	return kept, err
}

// rejectError turns a mempool rule violation into an *onchain.TxRejectError;
// anything else (a database failure) stays a plain error.
func rejectError(tx *btcutil.Tx, err error) error {
	var rerr mempool.RuleError
	if errors.As(err, &rerr) {
		return &onchain.TxRejectError{Txid: *tx.Hash(), Reason: rerr.Error()}
	}
	return fmt.Errorf("send transaction %s: %w", tx.Hash(), err)
}

// txsAccepted publishes mempool acceptances and, if relay is set, announces
// them to every peer but the one they came from.
func (w *worker) txsAccepted(descs []*mempool.TxDesc, from *chainPeer, relay bool) {
	for _, d := range descs {
		w.c.publish(onchain.Event{Kind: onchain.TxAccepted, Tx: d.Tx})
		if relay {
			w.relayTx(d.Tx, from)
		}
	}
}

func (w *worker) relayTx(tx *btcutil.Tx, from *chainPeer) {
	iv := wire.NewInvVect(wire.InvTypeTx, tx.Hash())
	for p := range w.peers {
		if p != from {
			p.QueueInventory(iv)
		}
	}
}

// afterBlocks brings the mempool in line with the blocks btcd connected and
// disconnected during the last ProcessBlock, and returns the connected ones.
//
// Transactions of disconnected blocks go back to the mempool, oldest block
// first so that parents precede children; those the new tip makes invalid
// are dropped with their descendants. Then the transactions of connected
// blocks, and whatever they double spend, leave the mempool, and orphans
// they unblock are accepted.
func (w *worker) afterBlocks() []*btcutil.Block {
	disconnected, connected := w.c.takeNotifications()
	mp := w.c.mempool
	for i := len(disconnected) - 1; i >= 0; i-- {
		for _, tx := range disconnected[i].Transactions()[1:] {
			_, desc, err := mp.MaybeAcceptTransaction(tx, false, false)
			if err != nil || desc == nil {
				mp.RemoveTransaction(tx, true)
				continue
			}
			w.txsAccepted([]*mempool.TxDesc{desc}, nil, false)
		}
	}
	for _, block := range connected {
		for _, tx := range block.Transactions()[1:] {
			mp.RemoveTransaction(tx, false)
			mp.RemoveDoubleSpends(tx)
			mp.RemoveOrphan(tx)
			accepted, _ := w.enforceFeeFloor(mp.ProcessOrphans(tx), nil)
			w.txsAccepted(accepted, nil, true)
		}
	}
	return connected
}

// maxAnnounceHeaders is how many newly connected blocks are announced by
// headers at once; beyond that only the tip is, and peers catch up with
// getheaders.
const maxAnnounceHeaders = 8

// announce tells peers about a new tip, unless a download is under way (the
// tip will move again) or the tip is already announced.
func (w *worker) announce(connected []*btcutil.Block, from *chainPeer) {
	if w.syncing() {
		return
	}
	best := w.c.chain.BestSnapshot()
	if best.Hash == w.announced {
		return
	}
	w.announced = best.Hash

	var headers []*wire.BlockHeader
	if n := len(connected); n > 0 && n <= maxAnnounceHeaders &&
		*connected[n-1].Hash() == best.Hash {
		for _, b := range connected {
			h := b.MsgBlock().Header
			headers = append(headers, &h)
		}
	} else if h, err := w.c.chain.HeaderByHash(&best.Hash); err == nil {
		headers = append(headers, &h)
	}
	for p := range w.peers {
		if p == from {
			continue
		}
		if p.WantsHeaders() && len(headers) > 0 {
			msg := wire.NewMsgHeaders()
			for _, h := range headers {
				_ = msg.AddBlockHeader(h)
			}
			p.QueueMessage(msg, nil)
			continue
		}
		inv := wire.NewMsgInv()
		_ = inv.AddInvVect(wire.NewInvVect(wire.InvTypeBlock, &best.Hash))
		p.QueueMessage(inv, nil)
	}
}

// syncing reports whether blocks are being downloaded from some peer.
func (w *worker) syncing() bool {
	return len(w.pending) > 0
}

// remember adds hash to a bounded set, evicting an arbitrary entry when
// full: the sets only save work, losing an entry is harmless.
func remember(set map[chainhash.Hash]struct{}, hash chainhash.Hash) {
	if len(set) >= maxRememberedTxs {
		for h := range set {
			delete(set, h)
			break
		}
	}
	set[hash] = struct{}{}
}

func (w *worker) submitBlock(block *btcutil.Block) error {
	_, isOrphan, err := w.c.chain.ProcessBlock(block, blockchain.BFNone)
	connected := w.afterBlocks()
	w.announce(connected, nil)
	if err != nil {
		return fmt.Errorf("submit block %s: %w", block.Hash(), err)
	}
	if isOrphan {
		return fmt.Errorf("submit block %s: parent %s unknown", block.Hash(),
			block.MsgBlock().Header.PrevBlock)
	}
	return nil
}
