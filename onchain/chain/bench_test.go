package chain

import (
	"context"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

// BenchmarkMineEmpty mines b.N empty blocks in one Mine call
// (-benchtime=1000x for the figure in the docs).
func BenchmarkMineEmpty(b *testing.B) {
	c := newTestChain(b, noListen)
	key := newTestKey(b)
	b.ResetTimer()
	if _, err := c.Mine(context.Background(), b.N, key.addr); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "blocks/s")
}

// BenchmarkMineBlock100Tx mines blocks of 100 transactions each; sending
// the transactions is not timed. "Mine" is the public call, which ends by
// forcing the block database to disk; "NoSync" is template, proof of work
// and validation alone.
func BenchmarkMineBlock100Tx(b *testing.B) {
	for _, sync := range []bool{true, false} {
		name := "Mine"
		if !sync {
			name = "NoSync"
		}
		b.Run(name, func(b *testing.B) { benchMineBlock100Tx(b, sync) })
	}
}

func benchMineBlock100Tx(b *testing.B, sync bool) {
	c := newTestChain(b, noListen)
	key := newTestKey(b)
	hashes := mine(b, c, b.N+100, key.addr)
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		fan := key.spend(b, coinbaseOf(b, c, hashes[i]), key.pkScript, 100, 20_000)
		if err := c.SendTransaction(fan); err != nil {
			b.Fatal(err)
		}
		mine(b, c, 1, nil)
		for j := range 100 {
			tx := key.spendOutput(b, wire.OutPoint{Hash: fan.TxHash(), Index: uint32(j)},
				fan.TxOut[j].Value, key.pkScript, 1, 1000)
			if err := c.SendTransaction(tx); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		var hash chainhash.Hash
		if sync {
			hash = mine(b, c, 1, nil)[0]
		} else {
			reply := make(chan mineResult, 1)
			c.worker.send(&mineMsg{reply: reply})
			res := <-reply
			if res.err != nil {
				b.Fatal(res.err)
			}
			hash = res.hash
		}
		b.StopTimer()
		if blk, _ := c.BlockByHash(hash); len(blk.Transactions()) != 101 {
			b.Fatalf("block has %d transactions", len(blk.Transactions()))
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "blocks/s")
	b.ReportMetric(float64(100*b.N)/b.Elapsed().Seconds(), "txs/s")
}

// BenchmarkSync2000 has a fresh chain catch up 2,000 empty blocks from a
// peer over loopback TCP.
func BenchmarkSync2000(b *testing.B) {
	const blocks = 2000
	src := newTestChain(b)
	mine(b, src, blocks, nil)
	tip := tipOf(src)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		dst := newTestChain(b, noListen)
		b.StartTimer()
		if err := dst.ConnectPeer(src.ListenAddr().String(), false); err != nil {
			b.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Minute)
		for tipOf(dst) != tip {
			if time.Now().After(deadline) {
				_, h := dst.BestBlock()
				b.Fatalf("sync stalled at height %d", h)
			}
			time.Sleep(time.Millisecond)
		}
		b.StopTimer()
		dst.Stop()
		b.StartTimer()
	}
	b.ReportMetric(float64(blocks*b.N)/b.Elapsed().Seconds(), "blocks/s")
}
