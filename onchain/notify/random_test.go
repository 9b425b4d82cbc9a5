package notify

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

// TestRandomReorgs drives random sequences of blocks, reorganisations of
// any depth (including deeper than the followed depth), missed events,
// registrations and cancellations, and after every step checks each
// registration's notifications against a naive reading of the fake chain.
func TestRandomReorgs(t *testing.T) {
	for seed := range uint64(6) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			depth := int32(0)
			if seed%2 == 1 {
				depth = 3 // makes some reorganisations deeper than followed
			}
			runRandom(t, seed, depth, 200)
		})
	}
}

// randomWorld is the pool of transactions the random test mines: watched
// transactions, and for each watched outpoint several rival spenders.
type randomWorld struct {
	txs      []*wire.MsgTx
	ops      []wire.OutPoint
	spenders [][]*wire.MsgTx
}

func newRandomWorld() *randomWorld {
	w := &randomWorld{}
	for i := range 16 {
		w.txs = append(w.txs, testTx(fmt.Sprint("watched ", i)))
	}
	for i := range 16 {
		op := wire.OutPoint{Hash: chainhash.HashH([]byte(fmt.Sprint("coin ", i))), Index: uint32(i)}
		w.ops = append(w.ops, op)
		var rivals []*wire.MsgTx
		for j := range 3 {
			extra := wire.OutPoint{Hash: chainhash.HashH([]byte(fmt.Sprint("fee ", i, j)))}
			if j%2 == 0 {
				rivals = append(rivals, testTx(fmt.Sprint("spender ", i, j), op, extra))
			} else {
				rivals = append(rivals, testTx(fmt.Sprint("spender ", i, j), extra, op))
			}
		}
		w.spenders = append(w.spenders, rivals)
	}
	return w
}

// chainContent is what the fake chain's main chain holds now.
type chainContent struct {
	tip     int32
	txAt    map[chainhash.Hash]TxConfirmation
	spentBy map[wire.OutPoint]SpendDetail
}

func readChain(c *fakeChain) chainContent {
	c.mu.Lock()
	defer c.mu.Unlock()
	cc := chainContent{
		tip:     int32(len(c.main) - 1),
		txAt:    make(map[chainhash.Hash]TxConfirmation),
		spentBy: make(map[wire.OutPoint]SpendDetail),
	}
	for height, hash := range c.main {
		for i, tx := range c.blocks[hash].MsgBlock().Transactions {
			cc.txAt[tx.TxHash()] = TxConfirmation{BlockHash: hash, BlockHeight: int32(height),
				TxIndex: uint32(i), Tx: tx}
			for j, in := range tx.TxIn {
				cc.spentBy[in.PreviousOutPoint] = SpendDetail{SpentOutPoint: in.PreviousOutPoint,
					SpenderTxHash: tx.TxHash(), SpenderInputIndex: uint32(j),
					SpendingHeight: int32(height), SpendingBlockHash: hash}
			}
		}
	}
	return cc
}

// randomBlocks builds n blocks' worth of transactions that keep the chain
// consistent on top of cc: each watched transaction at most once, each
// watched outpoint spent at most once.
func (w *randomWorld) randomBlocks(rng *rand.Rand, cc chainContent, n int) [][]*wire.MsgTx {
	inChain := make(map[chainhash.Hash]bool)
	for h := range cc.txAt {
		inChain[h] = true
	}
	spent := make(map[wire.OutPoint]bool)
	for op := range cc.spentBy {
		spent[op] = true
	}
	blocks := make([][]*wire.MsgTx, n)
	for b := range blocks {
		for _, tx := range w.txs {
			if !inChain[tx.TxHash()] && rng.IntN(12) == 0 {
				inChain[tx.TxHash()] = true
				blocks[b] = append(blocks[b], tx)
			}
		}
		for i, op := range w.ops {
			if !spent[op] && rng.IntN(12) == 0 {
				spent[op] = true
				blocks[b] = append(blocks[b], w.spenders[i][rng.IntN(len(w.spenders[i]))])
			}
		}
	}
	return blocks
}

// chainAfterDisconnect is cc with the blocks above height removed.
func chainAfterDisconnect(cc chainContent, height int32) chainContent {
	out := chainContent{tip: height, txAt: make(map[chainhash.Hash]TxConfirmation),
		spentBy: make(map[wire.OutPoint]SpendDetail)}
	for h, c := range cc.txAt {
		if c.BlockHeight <= height {
			out.txAt[h] = c
		}
	}
	for op, s := range cc.spentBy {
		if s.SpendingHeight <= height {
			out.spentBy[op] = s
		}
	}
	return out
}

type randomConf struct {
	ev       *ConfEvent
	txid     chainhash.Hash
	numConfs uint32
	// seen is the sequence received: Confirmed values, and nil for each
	// NegativeConf.
	seen []*TxConfirmation
}

type randomSpend struct {
	ev   *SpendEvent
	op   wire.OutPoint
	seen []*SpendDetail // nil for each Reorg
}

func runRandom(t *testing.T, seed uint64, depth int32, steps int) {
	rng := rand.New(rand.NewPCG(seed, 0x666c617368))
	h := newHarness(t, depth)
	world := newRandomWorld()
	h.chain.MineN(3)
	epochs, err := h.n.RegisterBlockEpochs()
	if err != nil {
		t.Fatal(err)
	}
	var confs []*randomConf
	var spends []*randomSpend
	// Tally what was exercised, so that a change that makes the test
	// trivial shows in its log.
	var confirmed, negative, spent, reorged int
	defer func() {
		t.Logf("confirmed %d, negative %d, spent %d, reorged %d, final height %d",
			confirmed, negative, spent, reorged, h.n.BestHeight())
	}()
	tally := func(confSeen, spendSeen int, seenConf []*TxConfirmation, seenSpend []*SpendDetail) {
		for _, c := range seenConf[confSeen:] {
			if c != nil {
				confirmed++
			} else {
				negative++
			}
		}
		for _, s := range seenSpend[spendSeen:] {
			if s != nil {
				spent++
			} else {
				reorged++
			}
		}
	}

	for step := range steps {
		cc := readChain(h.chain)
		action := rng.IntN(10)
		if step < 20 {
			action = 8 // start with registrations
		}
		connected := true
		switch {
		case action < 4:
			h.chain.Mine(world.randomBlocks(rng, cc, 1)[0]...)
		case action < 7 && cc.tip > 1:
			d := 1 + rng.IntN(min(int(cc.tip)-1, 6))
			base := chainAfterDisconnect(cc, cc.tip-int32(d))
			n := d + rng.IntN(3) - 1
			h.chain.Reorg(d, world.randomBlocks(rng, base, n)...)
			connected = n > 0
		case action < 8 && cc.tip > 2:
			// Missed events: a silent reorganisation, then a block
			// the notifier sees and cannot place.
			d := 1 + rng.IntN(min(int(cc.tip)-1, 3))
			base := chainAfterDisconnect(cc, cc.tip-int32(d))
			h.chain.mu.Lock()
			h.chain.silent = true
			h.chain.mu.Unlock()
			blocks := world.randomBlocks(rng, base, d+1)
			h.chain.Reorg(d, blocks[:d]...)
			h.chain.mu.Lock()
			h.chain.silent = false
			h.chain.mu.Unlock()
			h.chain.Mine(blocks[d]...)
		case action < 9:
			cc = readChain(h.chain)
			if rng.IntN(2) == 0 {
				tx := world.txs[rng.IntN(len(world.txs))]
				hint := randomHint(rng, cc, cc.txAt[tx.TxHash()].BlockHeight, cc.txAt[tx.TxHash()].Tx != nil)
				ev, err := h.n.RegisterConf(tx.TxHash(), nil, uint32(1+rng.IntN(4)), hint)
				if err != nil {
					t.Fatal(err)
				}
				confs = append(confs, &randomConf{ev: ev, txid: tx.TxHash(), numConfs: ev.reg.numConfs})
			} else {
				op := world.ops[rng.IntN(len(world.ops))]
				s, spent := cc.spentBy[op]
				hint := randomHint(rng, cc, s.SpendingHeight, spent)
				ev, err := h.n.RegisterSpend(op, nil, hint)
				if err != nil {
					t.Fatal(err)
				}
				spends = append(spends, &randomSpend{ev: ev, op: op})
			}
			connected = false
		default:
			if len(confs) > 0 && rng.IntN(2) == 0 {
				i := rng.IntN(len(confs))
				confs[i].ev.Cancel()
				waitClosed(t, confs[i].ev.Confirmed, "cancelled Confirmed")
				confs = append(confs[:i], confs[i+1:]...)
			} else if len(spends) > 0 {
				i := rng.IntN(len(spends))
				spends[i].ev.Cancel()
				waitClosed(t, spends[i].ev.Spend, "cancelled Spend")
				spends = append(spends[:i], spends[i+1:]...)
			}
			connected = false
		}
		h.sync()
		cc = readChain(h.chain)
		for _, r := range confs {
			before := len(r.seen)
			drainConf(t, r)
			tally(before, 0, r.seen, nil)
			checkRandomConf(t, step, r, cc)
		}
		for _, r := range spends {
			before := len(r.seen)
			drainSpend(t, r)
			tally(0, before, nil, r.seen)
			checkRandomSpend(t, step, r, cc)
		}
		var last *BlockEpoch
		for {
			select {
			case e := <-epochs.Epochs:
				last = &e
				continue
			default:
			}
			if h.n.backlog() == 0 {
				break
			}
			time.Sleep(50 * time.Microsecond)
		}
		tipHash, _ := h.chain.Tip()
		if connected && (last == nil || last.Hash != tipHash) {
			t.Fatalf("step %d: last epoch %+v, tip %s", step, last, tipHash)
		}
		if got := h.n.BestHeight(); got != cc.tip {
			t.Fatalf("step %d: best height %d, want %d", step, got, cc.tip)
		}
	}
}

// randomHint is a height hint that does not hide the current inclusion
// (at height, when included) from the registration.
func randomHint(rng *rand.Rand, cc chainContent, height int32, included bool) int32 {
	if included {
		return rng.Int32N(height + 1)
	}
	return rng.Int32N(cc.tip + 2)
}

func drainConf(t *testing.T, r *randomConf) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		select {
		case c := <-r.ev.Confirmed:
			r.seen = append(r.seen, &c)
			continue
		case d := <-r.ev.NegativeConf:
			if d < 1 {
				t.Fatalf("negative confirmation depth %d", d)
			}
			r.seen = append(r.seen, nil)
			continue
		default:
		}
		if r.ev.reg.box.backlog() == 0 {
			return
		}
		time.Sleep(50 * time.Microsecond)
	}
	t.Fatal("timed out draining confirmations")
}

func drainSpend(t *testing.T, r *randomSpend) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		select {
		case s := <-r.ev.Spend:
			r.seen = append(r.seen, &s)
			continue
		case <-r.ev.Reorg:
			r.seen = append(r.seen, nil)
			continue
		default:
		}
		if r.ev.reg.box.backlog() == 0 {
			return
		}
		time.Sleep(50 * time.Microsecond)
	}
	t.Fatal("timed out draining spends")
}

func checkRandomConf(t *testing.T, step int, r *randomConf, cc chainContent) {
	t.Helper()
	for i, c := range r.seen {
		if (c != nil) != (i%2 == 0) {
			t.Fatalf("step %d: conf notifications do not alternate Confirmed, NegativeConf: %v", step, r.seen)
		}
	}
	var last *TxConfirmation
	if n := len(r.seen); n > 0 {
		last = r.seen[n-1]
	}
	loc, in := cc.txAt[r.txid]
	switch {
	case !in:
		if last != nil {
			t.Fatalf("step %d: tx %s not in the chain, last notification confirmed it at %d",
				step, r.txid, last.BlockHeight)
		}
	case uint32(cc.tip-loc.BlockHeight+1) >= r.numConfs:
		if last == nil || last.BlockHash != loc.BlockHash || last.BlockHeight != loc.BlockHeight ||
			last.TxIndex != loc.TxIndex {
			t.Fatalf("step %d: tx %s has %d confirmations of %d, last notification %+v",
				step, r.txid, cc.tip-loc.BlockHeight+1, r.numConfs, last)
		}
	default:
		// Not deep enough now: it may have fired at this block before
		// blocks above it were disconnected, never for another block.
		if last != nil && last.BlockHash != loc.BlockHash {
			t.Fatalf("step %d: tx %s confirmed in %s, now in %s", step, r.txid, last.BlockHash, loc.BlockHash)
		}
	}
}

func checkRandomSpend(t *testing.T, step int, r *randomSpend, cc chainContent) {
	t.Helper()
	for i, s := range r.seen {
		if (s != nil) != (i%2 == 0) {
			t.Fatalf("step %d: spend notifications do not alternate Spend, Reorg: %v", step, r.seen)
		}
	}
	var last *SpendDetail
	if n := len(r.seen); n > 0 {
		last = r.seen[n-1]
	}
	want, spent := cc.spentBy[r.op]
	if !spent {
		if last != nil {
			t.Fatalf("step %d: %v unspent, last notification a spend at %d", step, r.op, last.SpendingHeight)
		}
		return
	}
	if last == nil || last.SpenderTxHash != want.SpenderTxHash || last.SpendingBlockHash != want.SpendingBlockHash ||
		last.SpendingHeight != want.SpendingHeight || last.SpenderInputIndex != want.SpenderInputIndex {
		t.Fatalf("step %d: %v spent by %s at %d, last notification %+v", step, r.op,
			want.SpenderTxHash, want.SpendingHeight, last)
	}
}

// TestConcurrentRegistrations registers and cancels while blocks and
// reorganisations arrive, so that historical scans race with live blocks;
// once all is settled every registration must agree with the chain.
func TestConcurrentRegistrations(t *testing.T) {
	for seed := range uint64(3) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			h := newHarness(t, int32(seed%2)*3)
			world := newRandomWorld()
			h.chain.MineN(5)

			done := make(chan struct{})
			go func() {
				defer close(done)
				rng := rand.New(rand.NewPCG(seed, 1))
				for range 120 {
					cc := readChain(h.chain)
					if rng.IntN(3) > 0 || cc.tip < 3 {
						h.chain.Mine(world.randomBlocks(rng, cc, 1)[0]...)
						continue
					}
					d := 1 + rng.IntN(min(int(cc.tip)-1, 4))
					base := chainAfterDisconnect(cc, cc.tip-int32(d))
					h.chain.Reorg(d, world.randomBlocks(rng, base, d+rng.IntN(2))...)
				}
			}()

			rng := rand.New(rand.NewPCG(seed, 2))
			var confs []*randomConf
			var spends []*randomSpend
			for range 80 {
				switch rng.IntN(5) {
				case 0, 1:
					tx := world.txs[rng.IntN(len(world.txs))]
					numConfs := uint32(1 + rng.IntN(3))
					ev, err := h.n.RegisterConf(tx.TxHash(), nil, numConfs, rng.Int32N(3))
					if err != nil {
						t.Fatal(err)
					}
					confs = append(confs, &randomConf{ev: ev, txid: tx.TxHash(), numConfs: numConfs})
				case 2, 3:
					op := world.ops[rng.IntN(len(world.ops))]
					ev, err := h.n.RegisterSpend(op, nil, rng.Int32N(3))
					if err != nil {
						t.Fatal(err)
					}
					spends = append(spends, &randomSpend{ev: ev, op: op})
				default:
					if len(confs) > 0 {
						i := rng.IntN(len(confs))
						confs[i].ev.Cancel()
						confs = append(confs[:i], confs[i+1:]...)
					}
				}
				// Keep the delivery goroutines moving, as consumers do.
				for _, r := range confs {
					drainConfNow(r)
				}
				for _, r := range spends {
					drainSpendNow(r)
				}
				time.Sleep(100 * time.Microsecond)
			}
			<-done
			h.sync()
			cc := readChain(h.chain)
			for _, r := range confs {
				drainConf(t, r)
				checkRandomConf(t, -1, r, cc)
			}
			for _, r := range spends {
				drainSpend(t, r)
				checkRandomSpend(t, -1, r, cc)
			}
		})
	}
}

// drainConfNow takes whatever is ready without waiting.
func drainConfNow(r *randomConf) {
	for {
		select {
		case c := <-r.ev.Confirmed:
			r.seen = append(r.seen, &c)
		case <-r.ev.NegativeConf:
			r.seen = append(r.seen, nil)
		default:
			return
		}
	}
}

func drainSpendNow(r *randomSpend) {
	for {
		select {
		case s := <-r.ev.Spend:
			r.seen = append(r.seen, &s)
		case <-r.ev.Reorg:
			r.seen = append(r.seen, nil)
		default:
			return
		}
	}
}
