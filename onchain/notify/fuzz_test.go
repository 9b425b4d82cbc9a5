package notify

import (
	"bytes"
	"slices"
	"testing"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
	"github.com/flash-ln/flash/onchain"
)

// FuzzRandomReorgs runs the randomised chain of TestRandomReorgs from
// fuzzed seeds.
func FuzzRandomReorgs(f *testing.F) {
	f.Add(uint64(7), uint8(0))
	f.Add(uint64(8), uint8(3))
	f.Fuzz(func(t *testing.T, seed uint64, depth uint8) {
		runRandom(t, seed, int32(depth%6), 40)
	})
}

// FuzzHostileEvents feeds the notifier events that do not describe the
// chain: blocks at wrong heights, disconnections of blocks it never had,
// connections without blocks, stale orphans. It must not panic, and once
// a true event follows, it must agree with the chain again and its
// registrations with the chain's content.
func FuzzHostileEvents(f *testing.F) {
	f.Add([]byte{0, 1, 7, 1, 2, 6, 2, 0, 0})
	f.Add([]byte{1, 9, 5, 1, 8, 4, 0, 3, 4, 0, 4, 5, 3, 0, 0})
	f.Add(bytes.Repeat([]byte{0, 5, 3, 1, 6, 3}, 20))
	f.Fuzz(hostileEvents)
}

func hostileEvents(t *testing.T, data []byte) {
	{
		if len(data) > 600 {
			return
		}
		depth := int32(0)
		if len(data) > 0 && data[0]&0x40 != 0 {
			depth = 3
		}
		h := newHarness(t, depth)
		world := newRandomWorld()
		h.chain.MineN(2)
		h.chain.Mine(world.txs[0], world.spenders[0][0])
		h.chain.Mine(world.txs[1])
		h.chain.MineN(3)
		// Orphans: a branch that lost, with its own content.
		h.chain.Reorg(3, []*wire.MsgTx{world.txs[2], world.spenders[1][1]}, nil)
		h.chain.Reorg(2, nil, []*wire.MsgTx{world.txs[3]}, nil)

		var confs []*randomConf
		var spends []*randomSpend
		for i := range 4 {
			ev, err := h.n.RegisterConf(world.txs[i].TxHash(), nil, uint32(1+i%3), 0)
			if err != nil {
				t.Fatal(err)
			}
			confs = append(confs, &randomConf{ev: ev, txid: world.txs[i].TxHash(), numConfs: uint32(1 + i%3)})
		}
		for i := range 2 {
			ev, err := h.n.RegisterSpend(world.ops[i], nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			spends = append(spends, &randomSpend{ev: ev, op: world.ops[i]})
		}
		h.sync()

		h.chain.mu.Lock()
		var pool []*btcutil.Block
		for _, b := range h.chain.blocks {
			pool = append(pool, b)
		}
		slices.SortFunc(pool, func(a, b *btcutil.Block) int {
			ha, hb := a.MsgBlock().Header.BlockHash(), b.MsgBlock().Header.BlockHash()
			return bytes.Compare(ha[:], hb[:])
		})
		for i := 0; i+2 < len(data); i += 3 {
			blk := pool[int(data[i+1])%len(pool)]
			ev := onchain.Event{
				Hash:   blk.MsgBlock().Header.BlockHash(),
				Height: int32(int8(data[i+2])),
				Block:  blk,
			}
			switch data[i] % 5 {
			case 0:
				ev.Kind = onchain.BlockConnected
			case 1:
				ev.Kind = onchain.BlockDisconnected
			case 2:
				ev.Kind = onchain.BlockConnected
				ev.Block = nil
			case 3:
				ev.Kind = onchain.BlockDisconnected
				ev.Block = nil
				ev.Hash = chainhash.Hash{data[i+1]}
			default:
				ev = mempoolEvent(world.spenders[2][0])
			}
			h.chain.emitLocked(ev)
		}
		h.chain.mu.Unlock()

		// One true event: the notifier must come back to the chain.
		h.chain.Mine()
		h.sync()
		cc := readChain(h.chain)
		for _, r := range confs {
			drainConf(t, r)
			checkRandomConf(t, 0, r, cc)
		}
		for _, r := range spends {
			drainSpend(t, r)
			checkRandomSpend(t, 0, r, cc)
		}
		if got := h.n.BestHeight(); got != cc.tip {
			t.Fatalf("best height %d, want %d", got, cc.tip)
		}
	}
}
