package wallet

import (
	"bytes"
	"errors"
	"fmt"
	"sort"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
	"github.com/flash-ln/flash/onchain"
	"go.etcd.io/bbolt"
)

// catchUpBatch is how many blocks one database transaction applies while
// catching up: large enough that a long catch-up is not bound by fsync,
// small enough that a crash loses little work.
const catchUpBatch = 256

// catchUp moves the wallet to the chain's tip by querying the chain: it
// undoes our blocks that left the main chain, then applies the missing
// ones. Each batch is committed together with the tip it leads to.
func (w *Wallet) catchUp() error {
	stalled := 0
	for {
		var (
			tip  chainTip
			done bool
		)
		before := w.syncedTip()
		err := w.db.Update(func(tx *bbolt.Tx) error {
			b, err := openBuckets(tx)
			if err != nil {
				return err
			}
			tip, done, err = w.syncStep(b, catchUpBatch)
			return err
		})
		if err != nil {
			return err
		}
		w.setTip(tip)
		if done {
			return nil
		}
		// A chain that keeps contradicting itself (a hash at a height
		// that it then does not have) must not spin the wallet forever.
		if tip == before {
			if stalled++; stalled >= maxStalledSteps {
				return fmt.Errorf("no progress past height %d: the chain keeps changing", tip.Height)
			}
		} else {
			stalled = 0
		}
	}
}

// maxStalledSteps bounds the catch-up steps in a row that make no progress.
const maxStalledSteps = 50

// syncStep applies at most limit block connections or disconnections and
// reports whether the wallet reached the chain's tip.
func (w *Wallet) syncStep(b *buckets, limit int) (chainTip, bool, error) {
	tip, err := readTip(b)
	if err != nil {
		return tip, false, err
	}
	done := false
	for n := 0; n < limit && !done; n++ {
		if !w.cfg.Chain.MainChainHasBlock(tip.Hash) {
			if tip, err = w.disconnectTip(b, tip); err != nil {
				return tip, false, err
			}
			continue
		}
		_, best := w.cfg.Chain.BestBlock()
		if tip.Height >= best {
			done = true
			break
		}
		hash, err := w.cfg.Chain.BlockHashByHeight(tip.Height + 1)
		if errors.Is(err, onchain.ErrNotFound) {
			continue // the chain is reorganising under us; look again
		}
		if err != nil {
			return tip, false, fmt.Errorf("block hash at %d: %w", tip.Height+1, err)
		}
		blk, err := w.cfg.Chain.BlockByHash(hash)
		if err != nil {
			return tip, false, fmt.Errorf("block %s: %w", hash, err)
		}
		if blk.MsgBlock().Header.PrevBlock != tip.Hash {
			continue // the same race: our tip left the main chain meanwhile
		}
		if tip, err = w.connectBlock(b, blk, tip.Height+1); err != nil {
			return tip, false, err
		}
	}
	return tip, done, writeTip(b, tip)
}

// handleEvents applies chain events in order, as many as possible in one
// database transaction. Events only advance the wallet by one block when
// they fit its tip exactly; anything else (a gap, a block of another
// branch, an event older than what catch-up already applied) falls back to
// catchUp, which asks the chain for the truth.
func (w *Wallet) handleEvents(evs []onchain.Event) error {
	blocks := false
	for len(evs) > 0 {
		var (
			n        int
			needSync bool
			tip      chainTip
		)
		err := w.db.Update(func(tx *bbolt.Tx) error {
			b, err := openBuckets(tx)
			if err != nil {
				return err
			}
			if tip, err = readTip(b); err != nil {
				return err
			}
			for n < len(evs) && !needSync {
				ev := evs[n]
				n++
				blocks = blocks || ev.Kind != onchain.TxAccepted
				if needSync, err = w.applyEvent(b, &tip, ev); err != nil {
					return fmt.Errorf("%s at %d (%s): %w", ev.Kind, ev.Height, ev.Hash, err)
				}
			}
			return writeTip(b, tip)
		})
		if err != nil {
			return err
		}
		w.setTip(tip)
		evs = evs[n:]
		if needSync {
			if err := w.catchUp(); err != nil {
				return err
			}
		}
	}
	if blocks && w.reorged.Load() {
		if best, _ := w.cfg.Chain.BestBlock(); w.syncedTip().Hash == best {
			return w.reconcileMempool()
		}
	}
	return nil
}

// applyEvent applies one event on top of *tip, or reports that the event
// does not fit and the wallet must ask the chain.
func (w *Wallet) applyEvent(b *buckets, tip *chainTip, ev onchain.Event) (bool, error) {
	switch ev.Kind {
	case onchain.BlockConnected:
		if ev.Height <= tip.Height {
			rec, err := getBlock(b, ev.Height)
			if err != nil {
				return false, err
			}
			return rec == nil || rec.Hash != ev.Hash, nil
		}
		if ev.Block == nil || ev.Height != tip.Height+1 ||
			ev.Block.MsgBlock().Header.PrevBlock != tip.Hash {
			return true, nil
		}
		next, err := w.connectBlock(b, ev.Block, ev.Height)
		if err != nil {
			return false, err
		}
		*tip = next
		return false, nil

	case onchain.BlockDisconnected:
		if ev.Hash != tip.Hash {
			rec, err := getBlock(b, ev.Height)
			if err != nil {
				return false, err
			}
			return rec != nil && rec.Hash == ev.Hash, nil
		}
		prev, err := w.disconnectTip(b, *tip)
		if err != nil {
			return false, err
		}
		*tip = prev
		return false, nil

	case onchain.TxAccepted:
		return false, w.applyMempoolTx(b, ev.Tx)
	}
	return false, nil
}

// applyMempoolTx records a transaction that entered the mempool if it
// concerns the wallet.
func (w *Wallet) applyMempoolTx(b *buckets, tx *btcutil.Tx) error {
	if tx == nil {
		return nil
	}
	msg := tx.MsgTx()
	txid := msg.TxHash()
	if !concernsNew(b, msg, txid) {
		return nil
	}
	// The event may be stale: catch-up may have taken the wallet past
	// it, and the transaction been mined, orphaned and dropped since.
	// Only what the mempool holds now is unconfirmed.
	if !w.inMempool(txid) {
		return nil
	}
	_, err := w.applyTx(b, msg, txid, unconfirmedHeight, chainhash.Hash{}, false)
	return err
}

// concernsNew reports whether a transaction the wallet does not know yet
// pays or spends something of the wallet, or conflicts with one of its
// transactions.
func concernsNew(b *buckets, msg *wire.MsgTx, txid chainhash.Hash) bool {
	if b.txs.Get(txid[:]) != nil {
		return false
	}
	for _, in := range msg.TxIn {
		k := outpointKey(in.PreviousOutPoint)
		if b.spends.Get(k) != nil || b.credits.Get(k) != nil {
			return true
		}
	}
	for _, out := range msg.TxOut {
		if b.scripts.Get(out.PkScript) != nil {
			return true
		}
	}
	return false
}

func (w *Wallet) inMempool(txid chainhash.Hash) bool {
	for _, tx := range w.cfg.Chain.MempoolTxs() {
		if tx.MsgTx().TxHash() == txid {
			return true
		}
	}
	return false
}

// connectBlock applies the wallet transactions of blk, at height, on top of
// the current tip, and records the block for a later undo.
//
// Hashes are computed from the wire messages rather than taken from the
// btcutil wrappers: those cache them lazily and are shared with the chain's
// other readers.
func (w *Wallet) connectBlock(b *buckets, blk *btcutil.Block, height int32) (chainTip, error) {
	msg := blk.MsgBlock()
	hash := msg.BlockHash()
	rec := &blockRecord{Hash: hash, Prev: msg.Header.PrevBlock}
	for i, tx := range msg.Transactions {
		txid := tx.TxHash()
		relevant, err := w.applyTx(b, tx, txid, height, hash, i == 0)
		if err != nil {
			return chainTip{}, fmt.Errorf("block %s tx %s: %w", hash, txid, err)
		}
		if relevant {
			rec.Txids = append(rec.Txids, txid)
		}
	}
	if err := b.blocks.Put(heightKey(height), encodeBlockRecord(rec)); err != nil {
		return chainTip{}, err
	}
	if len(rec.Txids) > 0 {
		w.log.Debug("wallet block", "height", height, "hash", hash, "txs", len(rec.Txids))
	}
	return chainTip{Hash: hash, Height: height}, nil
}

// disconnectTip undoes the tip block. Its transactions go back to
// unconfirmed, as the mempool takes them back; a coinbase cannot go back
// and disappears with everything spending it. It returns the new tip.
func (w *Wallet) disconnectTip(b *buckets, tip chainTip) (chainTip, error) {
	rec, err := getBlock(b, tip.Height)
	if err != nil {
		return tip, err
	}
	if rec == nil || rec.Hash != tip.Hash {
		// The wallet was born on this block: nothing of ours is in it
		// or below it, so any main-chain block below will do.
		if tip.Height == 0 {
			return tip, errors.New("genesis block is not on the main chain")
		}
		hash, err := w.cfg.Chain.BlockHashByHeight(tip.Height - 1)
		if err != nil {
			return tip, fmt.Errorf("block hash at %d: %w", tip.Height-1, err)
		}
		return chainTip{Hash: hash, Height: tip.Height - 1}, nil
	}
	for i := len(rec.Txids) - 1; i >= 0; i-- {
		txid := rec.Txids[i]
		t, err := getTx(b, txid)
		if err != nil {
			return tip, err
		}
		if t == nil || t.Block != tip.Hash {
			continue // dropped as a conflict's descendant meanwhile
		}
		t.Height, t.Block = unconfirmedHeight, chainhash.Hash{}
		if err := putTx(b, txid, t); err != nil {
			return tip, err
		}
		for i := range t.Tx.TxOut {
			k := outpointKey(wire.OutPoint{Hash: txid, Index: uint32(i)})
			v := b.credits.Get(k)
			if v == nil {
				continue
			}
			c, err := decodeCredit(v)
			if err != nil {
				return tip, err
			}
			c.Height = unconfirmedHeight
			if err := b.credits.Put(k, encodeCredit(c)); err != nil {
				return tip, err
			}
		}
		if t.Coinbase {
			if err := w.removeTx(b, txid, "coinbase of a disconnected block"); err != nil {
				return tip, err
			}
		}
	}
	if err := b.blocks.Delete(heightKey(tip.Height)); err != nil {
		return tip, err
	}
	w.reorged.Store(true)
	w.log.Info("wallet undid block", "height", tip.Height, "hash", tip.Hash,
		"txs", len(rec.Txids))
	return chainTip{Hash: rec.Prev, Height: tip.Height - 1}, nil
}

// applyTx records tx if it concerns the wallet: it pays one of our scripts,
// spends one of our outputs, is already known, or conflicts with a wallet
// transaction. height is unconfirmedHeight for a mempool transaction.
// A confirmed transaction evicts the unconfirmed wallet transactions it
// double-spends; a mempool transaction evicts them too (they were replaced)
// unless one of them is confirmed, in which case the mempool event is stale
// and ignored.
func (w *Wallet) applyTx(b *buckets, msg *wire.MsgTx, txid chainhash.Hash, height int32,
	block chainhash.Hash, coinbase bool) (bool, error) {

	existing, err := getTx(b, txid)
	if err != nil {
		return false, err
	}
	if existing != nil && (existing.confirmed() || height == unconfirmedHeight) {
		return false, nil // nothing new
	}
	relevant := existing != nil

	var conflicts []chainhash.Hash
	if !coinbase {
		for _, in := range msg.TxIn {
			k := outpointKey(in.PreviousOutPoint)
			if s := b.spends.Get(k); s != nil {
				relevant = true
				if !bytes.Equal(s, txid[:]) {
					var other chainhash.Hash
					copy(other[:], s)
					conflicts = append(conflicts, other)
				}
			} else if b.credits.Get(k) != nil {
				relevant = true
			}
		}
	}
	var mine []int
	for i, out := range msg.TxOut {
		if b.scripts.Get(out.PkScript) != nil {
			mine = append(mine, i)
			relevant = true
		}
	}
	if !relevant {
		return false, nil
	}

	for _, other := range conflicts {
		o, err := getTx(b, other)
		if err != nil {
			return false, err
		}
		if o == nil {
			continue
		}
		if o.confirmed() {
			if height == unconfirmedHeight {
				return false, nil // stale mempool event
			}
			// Two confirmed spends of one output: the chain broke
			// consensus. Keep what we have and say so loudly.
			w.log.Error("wallet: confirmed double spend", "tx", txid, "other", other)
			continue
		}
		reason := "double spent by " + txid.String()
		if err := w.removeTx(b, other, reason); err != nil {
			return false, err
		}
	}

	rec := existing
	if rec == nil {
		seq, err := nextSeq(b)
		if err != nil {
			return false, err
		}
		rec = &txRecord{Seq: seq, Coinbase: coinbase, Tx: msg}
	}
	rec.Height, rec.Block = height, block
	if err := putTx(b, txid, rec); err != nil {
		return false, err
	}
	if !coinbase {
		for _, in := range msg.TxIn {
			k := outpointKey(in.PreviousOutPoint)
			if err := b.spends.Put(k, txid[:]); err != nil {
				return false, err
			}
			if err := b.leases.Delete(k); err != nil {
				return false, err
			}
		}
	}
	for _, i := range mine {
		out := msg.TxOut[i]
		c := &credit{Amount: btcutil.Amount(out.Value), Height: height,
			Coinbase: coinbase, PkScript: out.PkScript}
		k := outpointKey(wire.OutPoint{Hash: txid, Index: uint32(i)})
		if err := b.credits.Put(k, encodeCredit(c)); err != nil {
			return false, err
		}
	}
	return true, nil
}

// removeTx forgets an unconfirmed transaction and, transitively, every
// wallet transaction spending its outputs: the outputs it created vanish
// and the outputs it spent are unspent again.
func (w *Wallet) removeTx(b *buckets, txid chainhash.Hash, reason string) error {
	work := []chainhash.Hash{txid}
	for len(work) > 0 {
		id := work[len(work)-1]
		work = work[:len(work)-1]
		t, err := getTx(b, id)
		if err != nil {
			return err
		}
		if t == nil {
			continue
		}
		if t.confirmed() {
			w.log.Error("wallet: not removing confirmed tx", "tx", id, "reason", reason)
			continue
		}
		for i := range t.Tx.TxOut {
			k := outpointKey(wire.OutPoint{Hash: id, Index: uint32(i)})
			if s := b.spends.Get(k); s != nil {
				var child chainhash.Hash
				copy(child[:], s)
				work = append(work, child)
			}
			if err := b.credits.Delete(k); err != nil {
				return err
			}
			if err := b.leases.Delete(k); err != nil {
				return err
			}
		}
		if !t.Coinbase {
			for _, in := range t.Tx.TxIn {
				k := outpointKey(in.PreviousOutPoint)
				if bytes.Equal(b.spends.Get(k), id[:]) {
					if err := b.spends.Delete(k); err != nil {
						return err
					}
				}
			}
		}
		if err := b.txs.Delete(id[:]); err != nil {
			return err
		}
		w.log.Info("wallet dropped unconfirmed tx", "tx", id, "reason", reason)
	}
	return nil
}

// reconcileMempool aligns the wallet's unconfirmed transactions with the
// chain's mempool: it picks up relevant mempool transactions it missed
// (while stopped), forgets other people's unconfirmed transactions that
// are no longer in the mempool (after a restart or a reorganisation), and
// rebroadcasts its own that are missing, parents first.
func (w *Wallet) reconcileMempool() error {
	w.reorged.Store(false)
	pool := w.cfg.Chain.MempoolTxs()
	inPool := make(map[chainhash.Hash]bool, len(pool))
	ids := make([]chainhash.Hash, len(pool))
	for i, tx := range pool {
		ids[i] = tx.MsgTx().TxHash()
		inPool[ids[i]] = true
	}
	var resend []*wire.MsgTx
	err := w.db.Update(func(tx *bbolt.Tx) error {
		b, err := openBuckets(tx)
		if err != nil {
			return err
		}
		for i, ptx := range pool {
			if _, err := w.applyTx(b, ptx.MsgTx(), ids[i], unconfirmedHeight, chainhash.Hash{}, false); err != nil {
				return err
			}
		}
		var gone []chainhash.Hash
		var ours []*txRecord
		err = b.txs.ForEach(func(k, v []byte) error {
			var id chainhash.Hash
			copy(id[:], k)
			if inPool[id] {
				return nil
			}
			r, err := decodeTxRecord(v)
			if err != nil {
				return err
			}
			switch {
			case r.confirmed():
			case r.Ours:
				ours = append(ours, r)
			default:
				gone = append(gone, id)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, id := range gone {
			if err := w.removeTx(b, id, "no longer in the mempool"); err != nil {
				return err
			}
		}
		// Ours spending what was just forgotten went with it.
		sort.Slice(ours, func(i, j int) bool { return ours[i].Seq < ours[j].Seq })
		for _, r := range ours {
			if id := r.Tx.TxHash(); b.txs.Get(id[:]) != nil {
				resend = append(resend, r.Tx)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, tx := range resend {
		w.broadcast(tx)
	}
	return nil
}

// broadcast hands tx to the network and only logs a refusal: the
// transaction stays ours until it confirms or a conflict confirms.
func (w *Wallet) broadcast(tx *wire.MsgTx) {
	if w.cfg.Broadcaster == nil {
		return
	}
	if err := w.cfg.Broadcaster.SendTransaction(tx); err != nil {
		w.log.Warn("wallet: rebroadcast refused", "tx", tx.TxHash(), "err", err)
		return
	}
	w.log.Info("wallet rebroadcast", "tx", tx.TxHash())
}
