package notify

import (
	"sync"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

// holdBlock makes the fake chain hold every reader of block hash until
// release is called (at the latest when the test ends); each reader
// announces itself on arrived.
func holdBlock(t *testing.T, c *fakeChain, hash chainhash.Hash) (arrived chan struct{}, release func()) {
	arrived = make(chan struct{}, 16)
	released := make(chan struct{})
	var once sync.Once
	release = func() { once.Do(func() { close(released) }) }
	t.Cleanup(release)
	c.mu.Lock()
	c.blockHook = func(h chainhash.Hash) {
		if h == hash {
			arrived <- struct{}{}
			<-released
		}
	}
	c.mu.Unlock()
	return arrived, release
}

// TestScanFindingReorganisedOut: a historical scan finds the transaction in
// a block that a reorganisation removes before the finding is applied. The
// finding must be dropped, and the new branch decides.
func TestScanFindingReorganisedOut(t *testing.T) {
	tests := []struct {
		name string
		// again puts the transaction back on the new branch.
		again bool
	}{
		{"gone", false},
		{"mined again on the new branch", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, 0)
			h.chain.MineN(3)
			tx := testTx("raced")
			op := wire.OutPoint{Hash: chainhash.HashH([]byte("raced coin"))}
			spender := testTx("raced spender", op)
			blk := h.chain.Mine(tx, spender)
			h.chain.MineN(2)
			h.sync()

			arrived, release := holdBlock(t, h.chain, blk.BlockHash())
			conf, err := h.n.RegisterConf(tx.TxHash(), nil, 1, 0)
			if err != nil {
				t.Fatal(err)
			}
			spend, err := h.n.RegisterSpend(op, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			<-arrived // both scans hold the block, before applying
			<-arrived
			var branch [][]*wire.MsgTx
			if tc.again {
				branch = [][]*wire.MsgTx{nil, {tx, spender}, nil, nil}
			} else {
				branch = [][]*wire.MsgTx{nil, nil, nil, nil}
			}
			blocks := h.chain.Reorg(3, branch...)
			tip, _ := h.chain.Tip()
			eventually(t, "reorganisation processed", func() bool { return h.n.tipHash() == tip })
			release()
			if tc.again {
				c := recv(t, conf.Confirmed, "confirmation on the new branch")
				checkConf(t, c, blocks[1], 5, tx)
				s := recv(t, spend.Spend, "spend on the new branch")
				if s.SpendingBlockHash != blocks[1].BlockHash() {
					t.Errorf("spend in %s, want %s", s.SpendingBlockHash, blocks[1].BlockHash())
				}
			}
			h.quiet()
			h.n.mu.Lock()
			defer h.n.mu.Unlock()
			w, sw := h.n.confs[tx.TxHash()], h.n.spends[op]
			if tc.again {
				if w.loc == nil || w.loc.BlockHash != blocks[1].BlockHash() ||
					sw.spend == nil || sw.spend.SpendingBlockHash != blocks[1].BlockHash() {
					t.Error("watches do not point at the new branch")
				}
			} else if w.loc != nil || sw.spend != nil {
				t.Error("a finding in a reorganised-out block was applied")
			}
		})
	}
}
