package notify

import (
	"fmt"
	"slices"
	"sync"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

// TxConfirmation tells where a transaction was confirmed. Tx is shared with
// other registrations and must not be modified.
type TxConfirmation struct {
	BlockHash   chainhash.Hash
	BlockHeight int32
	TxIndex     uint32
	Tx          *wire.MsgTx
}

// ConfEvent is a registration for the confirmations of one transaction.
type ConfEvent struct {
	// Confirmed delivers once the transaction has the requested number of
	// confirmations, and again after each NegativeConf once it has them
	// on the new branch.
	Confirmed <-chan TxConfirmation
	// Updates delivers the number of confirmations still missing while
	// the transaction is in the chain but not deep enough, and the full
	// number when it leaves the chain. Only the latest value is kept.
	Updates <-chan uint32
	// NegativeConf delivers, after Confirmed, that the confirming block
	// was disconnected; the value is the number of blocks disconnected by
	// the reorganisation down to and including that block. The
	// registration then waits for the confirmations again.
	NegativeConf <-chan int32
	// Cancel ends the registration and closes its channels.
	Cancel func()

	reg *confReg
}

// confWatch is what the notifier knows of one transaction, shared by all
// registrations on it.
type confWatch struct {
	txid     chainhash.Hash
	pkScript []byte
	// loc is where the transaction is in the view's main chain, nil
	// while it is not there (or not found yet).
	loc  *TxConfirmation
	regs []*confReg
	// coveredFrom is the lowest height scanned by a historical scan.
	coveredFrom int32
	// scanQuit ends the watch's scans when the watch goes away.
	scanQuit *closer
}

type confReg struct {
	watch    *confWatch
	numConfs uint32
	// fired is true between a Confirmed and the next NegativeConf.
	fired bool

	box       *mailbox[confItem]
	quit      *closer
	confirmed chan TxConfirmation
	negConf   chan int32
	updates   chan uint32
}

// confItem is a Confirmed or, when negative, a NegativeConf.
type confItem struct {
	conf     TxConfirmation
	negative bool
	depth    int32
}

// RegisterConf asks for a notification when txid has numConfs
// confirmations on the main chain. pkScript is a script of one of the
// transaction's outputs; this notifier matches by txid and keeps the script
// for backends that can only match scripts. heightHint is the lowest height
// at which the transaction can be in a block: the notifier scans the main
// chain from there to catch a confirmation that already happened.
func (n *Notifier) RegisterConf(txid chainhash.Hash, pkScript []byte, numConfs uint32,
	heightHint int32) (*ConfEvent, error) {

	if numConfs == 0 {
		return nil, fmt.Errorf("register confirmation of %s: %w: zero confirmations",
			txid, ErrInvalidRegistration)
	}
	if heightHint < 0 {
		return nil, fmt.Errorf("register confirmation of %s: %w: negative height hint %d",
			txid, ErrInvalidRegistration, heightHint)
	}

	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.usable(); err != nil {
		return nil, fmt.Errorf("register confirmation of %s: %w", txid, err)
	}

	w := n.confs[txid]
	if w == nil {
		w = &confWatch{
			txid:        txid,
			pkScript:    append([]byte(nil), pkScript...),
			coveredFrom: noCoverage,
			scanQuit:    newCloser(),
		}
		n.confs[txid] = w
	}
	r := &confReg{
		watch:     w,
		numConfs:  numConfs,
		box:       newMailbox[confItem](0),
		quit:      newCloser(),
		confirmed: make(chan TxConfirmation),
		negConf:   make(chan int32),
		updates:   make(chan uint32, 1),
	}
	w.regs = append(w.regs, r)
	n.wg.Add(1)
	go r.deliver(&n.wg)

	if w.loc != nil {
		n.evalConf(r)
	} else if from, to, ok := n.planScan(&w.coveredFrom, heightHint); ok {
		n.startScan(w.scanQuit, from, to, func(hash chainhash.Hash, height int32, blk *wire.MsgBlock) bool {
			return n.scanConf(w, hash, height, blk)
		})
	}

	return &ConfEvent{
		Confirmed:    r.confirmed,
		Updates:      r.updates,
		NegativeConf: r.negConf,
		Cancel:       func() { n.cancelConf(r) },
		reg:          r,
	}, nil
}

// scanConf looks for the watched transaction in one block of a historical
// scan.
func (n *Notifier) scanConf(w *confWatch, hash chainhash.Hash, height int32, blk *wire.MsgBlock) bool {
	for i, tx := range blk.Transactions {
		if tx.TxHash() != w.txid {
			continue
		}
		n.mu.Lock()
		defer n.mu.Unlock()
		if n.confs[w.txid] != w || w.loc != nil || !n.view.onMainChain(hash, height) ||
			height > n.view.tipHeight() {
			// Cancelled, already found live, or the block
			// was reorganised out after the scan read it.
			return true
		}
		n.locateConf(w, &TxConfirmation{
			BlockHash: hash, BlockHeight: height, TxIndex: uint32(i), Tx: tx,
		})
		for _, r := range w.regs {
			n.evalConf(r)
		}
		return true
	}
	return false
}

// confsInBlock records the watched transactions a connected block contains.
// Called with mu held.
func (n *Notifier) confsInBlock(hash chainhash.Hash, height int32, blk *wire.MsgBlock) {
	if len(n.confs) == 0 {
		return
	}
	// Hash the wire transactions rather than use btcutil's cached
	// hashes: the btcutil.Block is shared with the chain and its caches
	// are not safe for concurrent use.
	for i, tx := range blk.Transactions {
		w := n.confs[tx.TxHash()]
		if w == nil || w.loc != nil {
			continue
		}
		n.locateConf(w, &TxConfirmation{
			BlockHash: hash, BlockHeight: height, TxIndex: uint32(i), Tx: tx,
		})
	}
}

func (n *Notifier) locateConf(w *confWatch, loc *TxConfirmation) {
	w.loc = loc
	n.confsByBlock[loc.BlockHash] = append(n.confsByBlock[loc.BlockHash], w)
}

// updateConfs re-evaluates every registration after the tip moved. Called
// with mu held.
func (n *Notifier) updateConfs() {
	for _, w := range n.confs {
		if w.loc == nil {
			continue
		}
		for _, r := range w.regs {
			n.evalConf(r)
		}
	}
}

// evalConf fires Confirmed when the registration's depth is reached, or
// reports the confirmations still missing. Called with mu held.
func (n *Notifier) evalConf(r *confReg) {
	loc := r.watch.loc
	if loc == nil || r.fired {
		return
	}
	confs := n.view.tipHeight() - loc.BlockHeight + 1
	if confs < 1 {
		return
	}
	if uint32(confs) >= r.numConfs {
		r.fired = true
		r.box.push(confItem{conf: *loc})
		return
	}
	r.box.setLatest(r.numConfs - uint32(confs))
}

// undoConfs forgets the transactions of a disconnected block: fired
// registrations get a NegativeConf with depth and wait again. Called with
// mu held.
func (n *Notifier) undoConfs(hash chainhash.Hash, depth int32) {
	watches := n.confsByBlock[hash]
	delete(n.confsByBlock, hash)
	for _, w := range watches {
		if w.loc == nil || w.loc.BlockHash != hash {
			continue
		}
		w.loc = nil
		for _, r := range w.regs {
			if r.fired {
				r.fired = false
				r.box.push(confItem{negative: true, depth: depth})
			}
			r.box.setLatest(r.numConfs)
		}
	}
}

func (n *Notifier) cancelConf(r *confReg) {
	n.mu.Lock()
	w := r.watch
	if i := slices.Index(w.regs, r); i >= 0 {
		w.regs = slices.Delete(w.regs, i, i+1)
		if len(w.regs) == 0 && n.confs[w.txid] == w {
			delete(n.confs, w.txid)
			if w.loc != nil {
				n.confsByBlock[w.loc.BlockHash] = removeWatch(
					n.confsByBlock[w.loc.BlockHash], w)
				if len(n.confsByBlock[w.loc.BlockHash]) == 0 {
					delete(n.confsByBlock, w.loc.BlockHash)
				}
			}
			w.scanQuit.close()
		}
	}
	n.mu.Unlock()
	r.quit.close()
}

// deliver hands the registration's notifications to the consumer in order.
func (r *confReg) deliver(wg *sync.WaitGroup) {
	defer wg.Done()
	defer func() {
		close(r.confirmed)
		close(r.negConf)
		close(r.updates)
	}()
	var head confItem
	holding := false
	for {
		if !holding {
			head, holding = r.box.pop()
		}
		var confirmed chan TxConfirmation
		var negConf chan int32
		if holding {
			if head.negative {
				negConf = r.negConf
			} else {
				confirmed = r.confirmed
			}
		}
		select {
		case confirmed <- head.conf:
			holding = false
			r.box.delivered()
		case negConf <- head.depth:
			holding = false
			r.box.delivered()
		case <-r.box.wake:
			if v, ok := r.box.takeLatest(); ok {
				sendLatest(r.updates, v)
			}
		case <-r.quit.ch:
			return
		}
	}
}

func removeWatch[W comparable](ws []W, w W) []W {
	for i := range ws {
		if ws[i] == w {
			return append(ws[:i], ws[i+1:]...)
		}
	}
	return ws
}
