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
)

const (
	// maxBlocksInFlight bounds the blocks requested from one peer and not
	// yet received. Requests are topped up when half have arrived, so
	// that getdata messages stay few and the pipe stays full.
	maxBlocksInFlight = 1024

	// maxNonConnecting is how many headers messages in a row may fail to
	// connect to anything we know before the peer is banned. Some are
	// normal: while we are behind, every new block the peer announces
	// lands on a parent we do not have yet.
	maxNonConnecting = 50

	// headersTimeout is how long a getheaders may stay unanswered before
	// another is sent (a stock btcd ignores getheaders while it syncs).
	headersTimeout = 30 * time.Second
)

// syncState is the worker-owned download state of one peer.
type syncState struct {
	queue          []chainhash.Hash // announced by headers, not requested yet
	inFlight       map[chainhash.Hash]struct{}
	headersSent    time.Time // zero when no getheaders is outstanding
	missedAnnounce bool      // a block was announced while headersSent was set
	lastHeader     *chainhash.Hash
	nonConnecting  int
}

func (w *worker) peerReady(cp *chainPeer) {
	if !cp.Connected() {
		return
	}
	w.peers[cp] = struct{}{}
	cp.sync.inFlight = make(map[chainhash.Hash]struct{})
	if cp.ProtocolVersion() >= wire.SendHeadersVersion {
		cp.QueueMessage(wire.NewMsgSendHeaders(), nil)
	}
	// Ask a peer that is not behind us for what we lack. One that is
	// behind has nothing to give (difficulty is constant on regtest, so
	// height is work), and a stock btcd that is still syncing ignores
	// getheaders, which would end in a stall disconnect. Anything the peer
	// mines later is announced and fetched then.
	if cp.LastBlock() >= w.c.chain.BestSnapshot().Height {
		w.requestHeaders(cp)
	}
}

func (w *worker) peerDone(cp *chainPeer) {
	if _, ok := w.peers[cp]; !ok {
		return
	}
	delete(w.peers, cp)
	dropped := false
	for hash, owner := range w.pending {
		if owner == cp {
			delete(w.pending, hash)
			dropped = true
		}
	}
	// Blocks we counted on from this peer may be had from another one.
	if dropped {
		for p := range w.peers {
			w.requestHeaders(p)
		}
	}
}

// requestHeaders asks cp for the headers after what we know, unless a
// request is already outstanding; then the wish is remembered and sent when
// the answer comes.
func (w *worker) requestHeaders(cp *chainPeer) {
	s := &cp.sync
	if !s.headersSent.IsZero() && time.Since(s.headersSent) < headersTimeout {
		s.missedAnnounce = true
		return
	}
	locator, err := w.c.chain.LatestBlockLocator()
	if err != nil {
		w.c.log.Error("build block locator", "err", err)
		return
	}
	// Continue from the last header this peer gave us, which we may not
	// have stored yet; the peer skips it if it left its main chain.
	if s.lastHeader != nil && *s.lastHeader != *locator[0] {
		locator = append(blockchain.BlockLocator{s.lastHeader}, locator...)
		if len(locator) > wire.MaxBlockLocatorsPerMsg {
			locator = locator[:wire.MaxBlockLocatorsPerMsg]
		}
	}
	msg := wire.NewMsgGetHeaders()
	for _, h := range locator {
		_ = msg.AddBlockLocatorHash(h)
	}
	cp.QueueMessage(msg, nil)
	s.headersSent = time.Now()
	s.missedAnnounce = false
}

// known reports whether a block is stored (or an orphan) or being fetched.
func (w *worker) known(hash *chainhash.Hash) bool {
	if _, ok := w.pending[*hash]; ok {
		return true
	}
	have, err := w.c.chain.HaveBlock(hash)
	return err == nil && have
}

func (w *worker) handleInv(cp *chainPeer, inv *wire.MsgInv) {
	if _, ok := w.peers[cp]; !ok {
		return
	}
	wantHeaders := false
	getData := wire.NewMsgGetData()
	for _, iv := range inv.InvList {
		switch iv.Type {
		case wire.InvTypeBlock, wire.InvTypeWitnessBlock:
			cp.AddKnownInventory(iv)
			if !w.known(&iv.Hash) {
				wantHeaders = true
			}
		case wire.InvTypeTx, wire.InvTypeWitnessTx:
			cp.AddKnownInventory(iv)
			if _, ok := w.rejectedTxs[iv.Hash]; ok {
				continue
			}
			if _, ok := w.requestedTxs[iv.Hash]; ok {
				continue
			}
			if w.c.mempool.HaveTransaction(&iv.Hash) {
				continue
			}
			remember(w.requestedTxs, iv.Hash)
			typ := wire.InvTypeTx
			if cp.IsWitnessEnabled() {
				typ = wire.InvTypeWitnessTx
			}
			_ = getData.AddInvVect(wire.NewInvVect(typ, &iv.Hash))
		}
	}
	if len(getData.InvList) > 0 {
		cp.QueueMessage(getData, nil)
	}
	if wantHeaders {
		w.requestHeaders(cp)
	}
}

func (w *worker) handleHeaders(cp *chainPeer, headers []*wire.BlockHeader) {
	if _, ok := w.peers[cp]; !ok {
		return
	}
	s := &cp.sync
	s.headersSent = time.Time{}
	missed := s.missedAnnounce
	s.missedAnnounce = false
	if len(headers) == 0 {
		if missed {
			w.requestHeaders(cp)
		}
		return
	}

	if !w.known(&headers[0].PrevBlock) {
		// Either we are far behind (an announcement of a block whose
		// parent we lack) or the peer is talking nonsense; ask from
		// our locator, and give up on it if this keeps happening.
		s.nonConnecting++
		if s.nonConnecting > maxNonConnecting {
			w.c.ban(cp, "headers that never connect to our chain")
			return
		}
		s.lastHeader = nil
		w.requestHeaders(cp)
		return
	}
	s.nonConnecting = 0

	powLimit := w.c.params.PowLimit
	prev := headers[0].PrevBlock
	for _, h := range headers {
		if h.PrevBlock != prev {
			w.c.ban(cp, "headers do not form a chain")
			return
		}
		if err := blockchain.CheckBlockHeaderSanity(h, powLimit, w.c.timeSource, blockchain.BFNone); err != nil {
			if banworthy(err) {
				w.c.ban(cp, fmt.Sprintf("invalid header: %v", err))
			}
			return
		}
		prev = h.BlockHash()
		if w.known(&prev) {
			continue
		}
		w.pending[prev] = cp
		s.queue = append(s.queue, prev)
	}
	last := prev
	s.lastHeader = &last
	cp.UpdateLastAnnouncedBlock(&last)

	if len(headers) == wire.MaxBlockHeadersPerMsg || missed {
		w.requestHeaders(cp)
	}
	w.requestBlocks(cp)
}

// requestBlocks tops up the blocks in flight from cp.
func (w *worker) requestBlocks(cp *chainPeer) {
	s := &cp.sync
	if len(s.inFlight) > maxBlocksInFlight/2 || len(s.queue) == 0 {
		return
	}
	typ := wire.InvTypeBlock
	if cp.IsWitnessEnabled() {
		typ = wire.InvTypeWitnessBlock
	}
	getData := wire.NewMsgGetData()
	for len(s.queue) > 0 && len(s.inFlight) < maxBlocksInFlight {
		hash := s.queue[0]
		s.queue = s.queue[1:]
		if w.pending[hash] != cp {
			continue // arrived unasked, or the peer gave up on it
		}
		if have, err := w.c.chain.HaveBlock(&hash); err == nil && have {
			delete(w.pending, hash)
			continue
		}
		s.inFlight[hash] = struct{}{}
		_ = getData.AddInvVect(wire.NewInvVect(typ, &hash))
	}
	if len(s.queue) == 0 {
		s.queue = nil
	}
	if len(getData.InvList) > 0 {
		cp.QueueMessage(getData, nil)
	}
}

func (w *worker) handleNotFound(cp *chainPeer, nf *wire.MsgNotFound) {
	for _, iv := range nf.InvList {
		switch iv.Type {
		case wire.InvTypeBlock, wire.InvTypeWitnessBlock:
			if w.pending[iv.Hash] == cp {
				delete(w.pending, iv.Hash)
			}
			delete(cp.sync.inFlight, iv.Hash)
		case wire.InvTypeTx, wire.InvTypeWitnessTx:
			delete(w.requestedTxs, iv.Hash)
		}
	}
	w.requestBlocks(cp)
}

func (w *worker) handleBlock(cp *chainPeer, block *btcutil.Block) {
	if _, ok := w.peers[cp]; !ok {
		return
	}
	hash := block.Hash()
	cp.AddKnownInventory(wire.NewInvVect(wire.InvTypeBlock, hash))
	if owner, ok := w.pending[*hash]; ok {
		delete(w.pending, *hash)
		delete(owner.sync.inFlight, *hash)
	}

	_, isOrphan, err := w.c.chain.ProcessBlock(block, blockchain.BFNone)
	connected := w.afterBlocks()
	switch {
	case err != nil:
		if banworthy(err) {
			w.c.ban(cp, fmt.Sprintf("invalid block %s: %v", hash, err))
			return
		}
		w.c.log.Debug("block not accepted", "block", hash, "peer", cp.Addr(), "err", err)
	case isOrphan:
		// Sent without being asked, on top of blocks we lack.
		w.requestHeaders(cp)
	default:
		if h := block.Height(); h > cp.LastBlock() {
			cp.UpdateLastBlockHeight(h)
		}
	}
	w.requestBlocks(cp)
	if len(connected) > 0 {
		best := w.c.chain.BestSnapshot()
		if !w.syncing() {
			w.c.log.Debug("new tip", "hash", best.Hash, "height", best.Height, "peer", cp.Addr())
		}
	}
	w.announce(connected, cp)
}

func (w *worker) handleTx(cp *chainPeer, tx *btcutil.Tx) {
	if _, ok := w.peers[cp]; !ok {
		return
	}
	hash := *tx.Hash()
	cp.AddKnownInventory(wire.NewInvVect(wire.InvTypeTx, &hash))
	delete(w.requestedTxs, hash)
	if _, ok := w.rejectedTxs[hash]; ok {
		return
	}
	if w.c.mempool.HaveTransaction(&hash) {
		return
	}
	// A transaction that breaks context-free consensus rules cannot be
	// an honest race; policy rejections (fees, conflicts) can be.
	if err := blockchain.CheckTransactionSanity(tx); err != nil {
		w.c.ban(cp, fmt.Sprintf("invalid transaction %s: %v", hash, err))
		return
	}
	accepted, err := w.c.mempool.ProcessTransaction(tx, true, true, mempool.Tag(cp.ID()))
	if err == nil {
		accepted, err = w.enforceFeeFloor(accepted, tx)
	}
	w.txsAccepted(accepted, cp, true)
	if err != nil {
		remember(w.rejectedTxs, hash)
		w.c.log.Debug("transaction not accepted", "tx", hash, "peer", cp.Addr(), "err", err)
	}
}

// banworthy reports whether a validation error proves the sender
// misbehaved. Duplicates and timestamps slightly in the future (clock skew)
// do not.
func banworthy(err error) bool {
	var rerr blockchain.RuleError
	if !errors.As(err, &rerr) {
		return false
	}
	switch rerr.ErrorCode {
	case blockchain.ErrDuplicateBlock, blockchain.ErrTimeTooNew:
		return false
	}
	return true
}
