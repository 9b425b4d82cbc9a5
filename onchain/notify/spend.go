package notify

import (
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

// SpendDetail tells how an outpoint was spent. SpendingTx is shared with
// other registrations and must not be modified.
type SpendDetail struct {
	SpentOutPoint     wire.OutPoint
	SpenderTxHash     chainhash.Hash
	SpendingTx        *wire.MsgTx
	SpenderInputIndex uint32
	SpendingHeight    int32
	// SpendingBlockHash is the block that confirms SpendingTx.
	SpendingBlockHash chainhash.Hash
}

// SpendEvent is a registration for the spend of one outpoint.
type SpendEvent struct {
	// Spend delivers the spending transaction once it is confirmed, and
	// again after each Reorg once the new branch spends the outpoint.
	Spend <-chan SpendDetail
	// Reorg delivers, after Spend, that the spending transaction's block
	// was disconnected. The registration then waits for a spend again.
	Reorg <-chan struct{}
	// Cancel ends the registration and closes its channels.
	Cancel func()

	reg *spendReg
}

// spendWatch is what the notifier knows of one outpoint, shared by all
// registrations on it.
type spendWatch struct {
	op       wire.OutPoint
	pkScript []byte
	// spend is the confirmed spend in the view's main chain, nil while
	// there is none (or none found yet).
	spend       *SpendDetail
	regs        []*spendReg
	coveredFrom int32
	scanQuit    *closer
}

type spendReg struct {
	watch *spendWatch
	// notified is true between a Spend and the next Reorg.
	notified bool

	box   *mailbox[spendItem]
	quit  *closer
	spend chan SpendDetail
	reorg chan struct{}
}

// spendItem is a Spend or, when reorg is set, a Reorg.
type spendItem struct {
	detail SpendDetail
	reorg  bool
}

// RegisterSpend asks for a notification when op is spent by a confirmed
// transaction. pkScript is the script of the output; this notifier matches
// by outpoint and keeps the script for backends that can only match
// scripts. heightHint is the lowest height at which the spend can be
// confirmed (at the latest, the height of the output's own transaction):
// the notifier scans the main chain from there to catch a spend that
// already happened.
func (n *Notifier) RegisterSpend(op wire.OutPoint, pkScript []byte, heightHint int32) (*SpendEvent, error) {
	if op.Index == math.MaxUint32 && op.Hash == (chainhash.Hash{}) {
		return nil, fmt.Errorf("register spend of %v: %w: null outpoint of a coinbase input",
			op, ErrInvalidRegistration)
	}
	if heightHint < 0 {
		return nil, fmt.Errorf("register spend of %v: %w: negative height hint %d",
			op, ErrInvalidRegistration, heightHint)
	}

	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.usable(); err != nil {
		return nil, fmt.Errorf("register spend of %v: %w", op, err)
	}

	w := n.spends[op]
	if w == nil {
		w = &spendWatch{
			op:          op,
			pkScript:    append([]byte(nil), pkScript...),
			coveredFrom: noCoverage,
			scanQuit:    newCloser(),
		}
		n.spends[op] = w
	}
	r := &spendReg{
		watch: w,
		box:   newMailbox[spendItem](0),
		quit:  newCloser(),
		spend: make(chan SpendDetail),
		reorg: make(chan struct{}),
	}
	w.regs = append(w.regs, r)
	n.wg.Add(1)
	go r.deliver(&n.wg)

	if w.spend != nil {
		r.notified = true
		r.box.push(spendItem{detail: *w.spend})
	} else if from, to, ok := n.planScan(&w.coveredFrom, heightHint); ok {
		n.startScan(w.scanQuit, from, to, func(hash chainhash.Hash, height int32, blk *wire.MsgBlock) bool {
			return n.scanSpend(w, hash, height, blk)
		})
	}

	return &SpendEvent{
		Spend:  r.spend,
		Reorg:  r.reorg,
		Cancel: func() { n.cancelSpend(r) },
		reg:    r,
	}, nil
}

// findSpend returns the input of blk that spends op, if any.
func findSpend(blk *wire.MsgBlock, op wire.OutPoint) (tx *wire.MsgTx, input uint32, ok bool) {
	for _, tx := range blk.Transactions {
		for i, in := range tx.TxIn {
			if in.PreviousOutPoint == op {
				return tx, uint32(i), true
			}
		}
	}
	return nil, 0, false
}

// scanSpend looks for the spend of the watched outpoint in one block of a
// historical scan.
func (n *Notifier) scanSpend(w *spendWatch, hash chainhash.Hash, height int32, blk *wire.MsgBlock) bool {
	tx, input, ok := findSpend(blk, w.op)
	if !ok {
		return false
	}
	detail := newSpendDetail(w.op, tx, input, hash, height)
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.spends[w.op] != w || w.spend != nil || !n.view.onMainChain(hash, height) ||
		height > n.view.tipHeight() {
		// Cancelled, already found live, or the block was reorganised
		// out after the scan read it.
		return true
	}
	n.spent(w, detail)
	return true
}

func newSpendDetail(op wire.OutPoint, tx *wire.MsgTx, input uint32, hash chainhash.Hash,
	height int32) *SpendDetail {

	return &SpendDetail{
		SpentOutPoint:     op,
		SpenderTxHash:     tx.TxHash(),
		SpendingTx:        tx,
		SpenderInputIndex: input,
		SpendingHeight:    height,
		SpendingBlockHash: hash,
	}
}

// spendsInBlock records the spends of watched outpoints in a connected
// block. Called with mu held.
func (n *Notifier) spendsInBlock(hash chainhash.Hash, height int32, blk *wire.MsgBlock) {
	if len(n.spends) == 0 {
		return
	}
	for _, tx := range blk.Transactions {
		for i, in := range tx.TxIn {
			w := n.spends[in.PreviousOutPoint]
			if w == nil || w.spend != nil {
				continue
			}
			n.spent(w, newSpendDetail(w.op, tx, uint32(i), hash, height))
		}
	}
}

// spent records the spend of a watched outpoint and tells its
// registrations. Called with mu held.
func (n *Notifier) spent(w *spendWatch, detail *SpendDetail) {
	w.spend = detail
	n.spendsByBlock[detail.SpendingBlockHash] = append(n.spendsByBlock[detail.SpendingBlockHash], w)
	for _, r := range w.regs {
		if !r.notified {
			r.notified = true
			r.box.push(spendItem{detail: *detail})
		}
	}
}

// undoSpends forgets the spends in a disconnected block and re-arms their
// registrations. Called with mu held.
func (n *Notifier) undoSpends(hash chainhash.Hash) {
	watches := n.spendsByBlock[hash]
	delete(n.spendsByBlock, hash)
	for _, w := range watches {
		if w.spend == nil || w.spend.SpendingBlockHash != hash {
			continue
		}
		w.spend = nil
		for _, r := range w.regs {
			if r.notified {
				r.notified = false
				r.box.push(spendItem{reorg: true})
			}
		}
	}
}

func (n *Notifier) cancelSpend(r *spendReg) {
	n.mu.Lock()
	w := r.watch
	if i := slices.Index(w.regs, r); i >= 0 {
		w.regs = slices.Delete(w.regs, i, i+1)
		if len(w.regs) == 0 && n.spends[w.op] == w {
			delete(n.spends, w.op)
			if w.spend != nil {
				b := w.spend.SpendingBlockHash
				n.spendsByBlock[b] = removeWatch(n.spendsByBlock[b], w)
				if len(n.spendsByBlock[b]) == 0 {
					delete(n.spendsByBlock, b)
				}
			}
			w.scanQuit.close()
		}
	}
	n.mu.Unlock()
	r.quit.close()
}

// deliver hands the registration's notifications to the consumer in order.
func (r *spendReg) deliver(wg *sync.WaitGroup) {
	defer wg.Done()
	defer func() {
		close(r.spend)
		close(r.reorg)
	}()
	var head spendItem
	holding := false
	for {
		if !holding {
			head, holding = r.box.pop()
		}
		var spend chan SpendDetail
		var reorg chan struct{}
		if holding {
			if head.reorg {
				reorg = r.reorg
			} else {
				spend = r.spend
			}
		}
		select {
		case spend <- head.detail:
			holding = false
			r.box.delivered()
		case reorg <- struct{}{}:
			holding = false
			r.box.delivered()
		case <-r.box.wake:
		case <-r.quit.ch:
			return
		}
	}
}
