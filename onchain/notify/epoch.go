package notify

import (
	"fmt"
	"log/slog"
	"sync"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

// BlockEpoch is a new tip of the main chain. Header is shared with other
// registrations and must not be modified.
type BlockEpoch struct {
	Hash   chainhash.Hash
	Height int32
	Header *wire.BlockHeader
}

// BlockEpochEvent is a registration for new tips.
type BlockEpochEvent struct {
	// Epochs delivers the tip at registration, then every block connected
	// to the main chain, including the blocks of a new branch after a
	// reorganisation. Heights therefore do not always increase. A
	// reorganisation that only removes blocks is reported with the next
	// connected block.
	Epochs <-chan BlockEpoch
	// Cancel ends the registration and closes Epochs.
	Cancel func()
}

type epochReg struct {
	id     uint64
	box    *mailbox[BlockEpoch]
	quit   *closer
	epochs chan BlockEpoch
}

// RegisterBlockEpochs asks for every new tip, starting with the current one.
func (n *Notifier) RegisterBlockEpochs() (*BlockEpochEvent, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.usable(); err != nil {
		return nil, fmt.Errorf("register block epochs: %w", err)
	}
	tipHash, tipHeight := n.view.tip()
	if n.tipHeader == nil {
		blk, err := n.cfg.Chain.BlockByHash(tipHash)
		if err != nil {
			return nil, fmt.Errorf("register block epochs: read tip %s: %w", tipHash, err)
		}
		header := blk.MsgBlock().Header
		n.tipHeader = &header
	}
	r := &epochReg{
		id:     n.newID(),
		box:    newMailbox[BlockEpoch](epochBacklog),
		quit:   newCloser(),
		epochs: make(chan BlockEpoch),
	}
	n.epochs[r.id] = r
	r.box.push(BlockEpoch{Hash: tipHash, Height: tipHeight, Header: n.tipHeader})
	n.wg.Add(1)
	go r.deliver(&n.wg, n.log)

	return &BlockEpochEvent{
		Epochs: r.epochs,
		Cancel: func() { n.cancelEpochs(r) },
	}, nil
}

// sendEpoch queues a new tip for every registration. Called with mu held.
func (n *Notifier) sendEpoch(e BlockEpoch) {
	for _, r := range n.epochs {
		r.box.push(e)
	}
}

func (n *Notifier) cancelEpochs(r *epochReg) {
	n.mu.Lock()
	delete(n.epochs, r.id)
	n.mu.Unlock()
	r.quit.close()
}

// deliver hands the epochs to the consumer in order.
func (r *epochReg) deliver(wg *sync.WaitGroup, log *slog.Logger) {
	defer wg.Done()
	defer close(r.epochs)
	var head BlockEpoch
	holding := false
	for {
		if !holding {
			head, holding = r.box.pop()
		}
		var epochs chan BlockEpoch
		if holding {
			epochs = r.epochs
		}
		select {
		case epochs <- head:
			holding = false
			r.box.delivered()
			if d := r.box.takeDropped(); d > 0 {
				log.Warn("block epoch consumer too slow; oldest epochs dropped", "dropped", d)
			}
		case <-r.box.wake:
		case <-r.quit.ch:
			return
		}
	}
}
