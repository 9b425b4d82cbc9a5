package chain

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/peer"
	"github.com/btcsuite/btcd/wire"
)

// TestReadersDuringSync reads the chain from several goroutines, and serves
// a peer's getdata, while every mined block forces the block database to
// disk (closing and reopening it). Run under -race, it checks that readers
// never race with Sync, nor with the first block written to the reopened
// database (which opens its block file).
func TestReadersDuringSync(t *testing.T) {
	c := newTestChain(t)
	key := newTestKey(t)

	var (
		hashesMu sync.Mutex
		hashes   = mine(t, c, 5, key.addr)
	)
	snapshot := func() []chainhash.Hash {
		hashesMu.Lock()
		defer hashesMu.Unlock()
		return append([]chainhash.Hash(nil), hashes...)
	}

	var received atomic.Int64
	p := dialPeerWith(t, c, peer.MessageListeners{
		OnBlock: func(_ *peer.Peer, _ *wire.MsgBlock, _ []byte) { received.Add(1) },
	})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	reader := func(read func([]chainhash.Hash) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if err := read(snapshot()); err != nil {
					errs <- err
					return
				}
			}
		}()
	}

	// Unknown hashes miss btcd's block index and go to the database
	// directly.
	unknown := chainhash.Hash{1}
	reader(func(hs []chainhash.Hash) error {
		for _, h := range hs {
			if _, err := c.BlockByHash(h); err != nil {
				return err
			}
		}
		_, _ = c.BlockByHash(unknown)
		return nil
	})
	reader(func(hs []chainhash.Hash) error {
		for _, h := range hs {
			b, err := c.BlockByHash(h)
			if err != nil {
				return err
			}
			cb := b.Transactions()[0].Hash()
			if _, err := c.FetchUtxo(wire.OutPoint{Hash: *cb}); err != nil {
				return err
			}
		}
		return nil
	})
	reader(func([]chainhash.Hash) error {
		c.BestBlock()
		c.MempoolTxs()
		c.IsCurrent()
		return nil
	})
	reader(func(hs []chainhash.Hash) error {
		getData := wire.NewMsgGetData()
		for _, h := range hs {
			_ = getData.AddInvVect(wire.NewInvVect(wire.InvTypeWitnessBlock, &h))
		}
		done := make(chan struct{}, 1)
		p.QueueMessage(getData, done)
		select {
		case <-done:
		case <-ctx.Done():
		}
		return nil
	})

	// Each Mine ends with a Sync.
	const rounds = 30
	for range rounds {
		h := mine(t, c, 1, key.addr)
		hashesMu.Lock()
		hashes = append(hashes, h...)
		hashesMu.Unlock()
	}
	waitFor(t, "the peer to receive blocks", func() bool { return received.Load() > rounds })
	cancel()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
