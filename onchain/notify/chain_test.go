package notify_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/flash-ln/flash/onchain/chain"
	"github.com/flash-ln/flash/onchain/notify"
)

type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

func startChain(t *testing.T) *chain.Chain {
	t.Helper()
	c, err := chain.New(chain.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop() })
	return c
}

func mine(t *testing.T, c *chain.Chain, n int) []chainhash.Hash {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	hashes, err := c.Mine(ctx, n, nil)
	if err != nil {
		t.Fatalf("mine %d: %v", n, err)
	}
	return hashes
}

func coinbaseOf(t *testing.T, c *chain.Chain, hash chainhash.Hash) chainhash.Hash {
	t.Helper()
	blk, err := c.BlockByHash(hash)
	if err != nil {
		t.Fatal(err)
	}
	return blk.MsgBlock().Transactions[0].TxHash()
}

func receive[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v, ok := <-ch:
		if !ok {
			t.Fatalf("%s: channel closed", what)
		}
		return v
	case <-time.After(30 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
	panic("unreachable")
}

// TestBuiltInChainReorg follows the built-in chain through a real
// reorganisation: blocks of a longer, independently mined branch are
// submitted to a chain that confirmed a transaction on its own branch.
func TestBuiltInChainReorg(t *testing.T) {
	ours := startChain(t)
	theirs := startChain(t)
	ourBlocks := mine(t, ours, 2)
	theirBlocks := mine(t, theirs, 3)

	n := notify.New(notify.Config{Chain: ours, Logger: slog.New(slog.NewTextHandler(logWriter{t}, nil))})
	if err := n.Start(); err != nil {
		t.Fatal(err)
	}
	defer n.Stop()

	ourTx := coinbaseOf(t, ours, ourBlocks[1])
	theirTx := coinbaseOf(t, theirs, theirBlocks[1])
	ourConf, err := n.RegisterConf(ourTx, nil, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	theirConf, err := n.RegisterConf(theirTx, nil, 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	epochs, err := n.RegisterBlockEpochs()
	if err != nil {
		t.Fatal(err)
	}
	if c := receive(t, ourConf.Confirmed, "historical confirmation"); c.BlockHash != ourBlocks[1] || c.BlockHeight != 2 {
		t.Fatalf("confirmed in %s at %d, want %s at 2", c.BlockHash, c.BlockHeight, ourBlocks[1])
	}
	if e := receive(t, epochs.Epochs, "tip"); e.Hash != ourBlocks[1] {
		t.Fatalf("first epoch %s, want %s", e.Hash, ourBlocks[1])
	}

	for _, h := range theirBlocks {
		blk, err := theirs.BlockByHash(h)
		if err != nil {
			t.Fatal(err)
		}
		if err := ours.SubmitBlock(btcutil.NewBlock(blk.MsgBlock())); err != nil {
			t.Fatalf("submit %s: %v", h, err)
		}
	}
	if d := receive(t, ourConf.NegativeConf, "negative confirmation"); d != 1 {
		t.Errorf("reorganisation depth %d, want 1", d)
	}
	if c := receive(t, theirConf.Confirmed, "confirmation on the new branch"); c.BlockHash != theirBlocks[1] {
		t.Errorf("confirmed in %s, want %s", c.BlockHash, theirBlocks[1])
	}
	for {
		e := receive(t, epochs.Epochs, "epoch")
		if e.Hash == theirBlocks[2] {
			if e.Height != 3 {
				t.Errorf("new tip at %d, want 3", e.Height)
			}
			break
		}
	}
	if got := n.BestHeight(); got != 3 {
		t.Errorf("best height %d, want 3", got)
	}
}
