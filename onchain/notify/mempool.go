package notify

import (
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

// mempoolBacklog bounds the unread mempool spenders kept for one
// registration; beyond it the oldest are dropped.
const mempoolBacklog = 1024

// MempoolSpendEvent is a registration for transactions in the mempool that
// spend an outpoint.
//
// It is advisory: a transaction seen here may be replaced, evicted or never
// confirmed, and nothing is said when that happens. It serves to learn
// early what a spender reveals (a payment preimage in a witness, for
// example). Decisions that move money wait for RegisterSpend, which reports
// only confirmed spends.
type MempoolSpendEvent struct {
	// Spenders delivers each distinct transaction seen in the mempool
	// spending the outpoint, starting with those already there. The
	// transactions are shared and must not be modified.
	Spenders <-chan *wire.MsgTx
	// Cancel ends the registration and closes Spenders.
	Cancel func()
}

type mempoolReg struct {
	op   wire.OutPoint
	seen map[chainhash.Hash]struct{}

	box      *mailbox[*wire.MsgTx]
	quit     *closer
	spenders chan *wire.MsgTx
}

// RegisterMempoolSpend asks for the mempool transactions spending op. See
// MempoolSpendEvent for what they are good for, and what not.
func (n *Notifier) RegisterMempoolSpend(op wire.OutPoint) (*MempoolSpendEvent, error) {
	if op.Index == math.MaxUint32 && op.Hash == (chainhash.Hash{}) {
		return nil, fmt.Errorf("register mempool spend of %v: %w: null outpoint of a coinbase input",
			op, ErrInvalidRegistration)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.usable(); err != nil {
		return nil, fmt.Errorf("register mempool spend of %v: %w", op, err)
	}
	r := &mempoolReg{
		op:       op,
		seen:     make(map[chainhash.Hash]struct{}),
		box:      newMailbox[*wire.MsgTx](mempoolBacklog),
		quit:     newCloser(),
		spenders: make(chan *wire.MsgTx),
	}
	n.mempoolSpends[op] = append(n.mempoolSpends[op], r)
	n.wg.Add(1)
	go r.deliver(&n.wg)

	// Transactions accepted before now are in the snapshot; those whose
	// events are still queued come again and are recognised as seen.
	for _, tx := range n.cfg.Chain.MempoolTxs() {
		msg := tx.MsgTx()
		for _, in := range msg.TxIn {
			if in.PreviousOutPoint == op {
				r.offer(msg)
				break
			}
		}
	}
	return &MempoolSpendEvent{
		Spenders: r.spenders,
		Cancel:   func() { n.cancelMempoolSpend(r) },
	}, nil
}

// mempoolTx tells the registrations on the outpoints tx spends. Called
// with mu held.
func (n *Notifier) mempoolTx(tx *wire.MsgTx) {
	if len(n.mempoolSpends) == 0 {
		return
	}
	for _, in := range tx.TxIn {
		for _, r := range n.mempoolSpends[in.PreviousOutPoint] {
			r.offer(tx)
		}
	}
}

// offer queues tx unless the registration has seen it. Called with mu held.
func (r *mempoolReg) offer(tx *wire.MsgTx) {
	txid := tx.TxHash()
	if _, ok := r.seen[txid]; ok {
		return
	}
	r.seen[txid] = struct{}{}
	r.box.push(tx)
}

func (n *Notifier) cancelMempoolSpend(r *mempoolReg) {
	n.mu.Lock()
	regs := n.mempoolSpends[r.op]
	if i := slices.Index(regs, r); i >= 0 {
		regs = slices.Delete(regs, i, i+1)
		if len(regs) == 0 {
			delete(n.mempoolSpends, r.op)
		} else {
			n.mempoolSpends[r.op] = regs
		}
	}
	n.mu.Unlock()
	r.quit.close()
}

func (r *mempoolReg) deliver(wg *sync.WaitGroup) {
	defer wg.Done()
	defer close(r.spenders)
	var head *wire.MsgTx
	holding := false
	for {
		if !holding {
			head, holding = r.box.pop()
		}
		var spenders chan *wire.MsgTx
		if holding {
			spenders = r.spenders
		}
		select {
		case spenders <- head:
			holding = false
			r.box.delivered()
		case <-r.box.wake:
		case <-r.quit.ch:
			return
		}
	}
}
