package notify

import (
	"math"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

// noCoverage marks a watch that no historical scan has covered yet.
const noCoverage = math.MaxInt32

// scanVisitor looks at one block of a historical scan and reports whether
// the scan can stop.
type scanVisitor func(hash chainhash.Hash, height int32, blk *wire.MsgBlock) (done bool)

// planScan decides which heights a new registration with heightHint must
// scan, given coveredFrom, the lowest height from which the watch's earlier
// scans started. Those scans cover up to the tip of their time, and every
// block connected since then was seen live, so only the heights below
// coveredFrom are left. Called with mu held; updates coveredFrom.
func (n *Notifier) planScan(coveredFrom *int32, heightHint int32) (from, to int32, needed bool) {
	from = heightHint
	to = n.view.tipHeight()
	if *coveredFrom != noCoverage {
		to = min(to, *coveredFrom-1)
	}
	if heightHint < *coveredFrom {
		*coveredFrom = heightHint
	}
	return from, to, from <= to
}

// startScan reads the main chain's blocks from..to in a goroutine of its
// own, handing each to visit, until visit is done or quit closes.
//
// The scan reads the view's hash for each height when it gets there rather
// than a copy taken at registration. A block replaced by a reorganisation
// meanwhile was connected after the registration and so was seen live;
// reading it again is harmless because visitors ignore what they already
// know, and visitors apply a finding only if its block is still in the view.
// Called with mu held.
func (n *Notifier) startScan(quit *closer, from, to int32, visit scanVisitor) {
	n.scans++
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		defer func() {
			n.mu.Lock()
			n.scans--
			n.mu.Unlock()
		}()
		for height := from; height <= to; height++ {
			select {
			case <-quit.ch:
				return
			case <-n.quit:
				return
			default:
			}
			hash, ok := n.scanHash(height)
			if !ok {
				// The chain is now shorter than height: whatever
				// comes back at these heights is connected live.
				return
			}
			blk, err := n.cfg.Chain.BlockByHash(hash)
			if err != nil {
				n.log.Error("historical scan cannot read block; it may miss a confirmation or spend",
					"hash", hash, "height", height, "err", err)
				continue
			}
			if visit(hash, height, blk.MsgBlock()) {
				return
			}
		}
	}()
}

// scanHash is the main-chain block at height for a historical scan: from
// the view, or from the source below it.
func (n *Notifier) scanHash(height int32) (chainhash.Hash, bool) {
	n.mu.Lock()
	hash, ok := n.view.hashAt(height)
	below := height < n.view.base
	n.mu.Unlock()
	if ok {
		return hash, true
	}
	if !below {
		return chainhash.Hash{}, false
	}
	hash, err := n.cfg.Chain.BlockHashByHeight(height)
	if err != nil {
		n.log.Error("historical scan cannot read main chain", "height", height, "err", err)
		return chainhash.Hash{}, false
	}
	return hash, true
}
