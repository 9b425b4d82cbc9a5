package testnet

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/flash-ln/flash/daemon/rpc"
)

// TestKillAndRestart kills a daemon with SIGKILL right after it mined and
// right after it paid, restarts it on the same data directory, and checks
// that its chain and wallet come back consistent and catch up.
func TestKillAndRestart(t *testing.T) {
	nw := newNetwork(t)
	alice := startNode(t, nw, "alice")
	bob := startNode(t, nw, "bob", alice)
	// Alice dials bob too, so that whichever restarts finds the other.
	alice.SetChainConnect([]string{bob.ChainAddress()})

	mine(t, alice, fundedHeight, "")
	sameTip(t, fundedHeight, alice, bob)

	// Killed right after mining.
	hashes := mine(t, alice, 5, "")
	if err := alice.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := alice.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	height := int32(fundedHeight + 5)
	tip := sameTip(t, height, alice, bob)
	if tip.Height != height || tip.Hash != hashes[4] {
		t.Fatalf("tip after restart %+v, want %d %s", tip, height, hashes[4])
	}
	// Every block so far was alice's: her wallet holds every subsidy.
	mined := subsidies(1, height)
	if b := balance(t, alice); total(b) != mined || b.UnconfirmedSat != 0 {
		t.Fatalf("alice's balance after restart %+v, want %d sat in all", b, mined)
	}

	// Killed right after paying.
	const amount = 77_777_777
	sent, err := alice.Client().Send(ctxCall(t), rpc.SendRequest{
		Address: newAddress(t, bob), AmountSat: amount, SatPerVByte: 3,
	})
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	if err := alice.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := alice.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	// The wallet recorded the payment before broadcasting it, and
	// rebroadcasts it at start: it is spent, not forgotten.
	if b := balance(t, alice); total(b) != mined-amount-sent.FeeSat {
		t.Fatalf("alice's balance after restart %+v, want %d sat in all",
			b, mined-amount-sent.FeeSat)
	}
	// Alice's mempool has it again; a block of hers confirms it.
	mine(t, alice, 1, newAddress(t, bob))
	sameTip(t, height+1, alice, bob)
	waitBalance(t, bob, "payment confirmed", func(b rpc.BalanceResponse) bool {
		return b.ConfirmedSat == amount
	})
	if b := balance(t, alice); total(b) != mined-amount-sent.FeeSat || b.UnconfirmedSat != 0 {
		t.Fatalf("alice's balance after confirmation %+v", b)
	}

	// A clean stop removes the endpoint file; the next start is quick to
	// answer again.
	if err := bob.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(bob.DataDir(), rpc.EndpointFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("%s after a clean stop: %v", rpc.EndpointFile, err)
	}
	if err := bob.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if b := balance(t, bob); b.ConfirmedSat != amount {
		t.Fatalf("bob's balance after restart %+v", b)
	}
}

// TestKillWhileMining kills a daemon while it mines a long run of blocks
// and relays them: after the restart its chain, its wallet and its peer's
// chain agree, whatever block the kill interrupted.
func TestKillWhileMining(t *testing.T) {
	nw := newNetwork(t)
	alice := startNode(t, nw, "alice")
	bob := startNode(t, nw, "bob", alice)
	alice.SetChainConnect([]string{bob.ChainAddress()})
	mine(t, alice, 10, "")
	sameTip(t, 10, alice, bob)

	// The call fails when the daemon dies under it; that is the point.
	mining := make(chan error, 1)
	go func() {
		_, err := alice.Client().ChainMine(t.Context(), 2000, "")
		mining <- err
	}()
	err := WaitFor(t.Context(), syncTimeout, "mining under way", func(ctx context.Context) (bool, error) {
		tip, err := ChainTip(ctx, bob)
		return tip.Height > 50, err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := <-mining; err == nil {
		t.Fatal("mining of 2000 blocks finished before the kill; nothing was tested")
	}
	bobTip, err := ChainTip(t.Context(), bob)
	if err != nil {
		t.Fatal(err)
	}

	if err := alice.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	tip := sameTip(t, bobTip.Height, alice, bob)
	// Every block is alice's: her wallet holds every subsidy, once.
	if b := balance(t, alice); total(b) != subsidies(1, tip.Height) || b.UnconfirmedSat != 0 {
		t.Fatalf("alice's balance at height %d: %+v, want %d sat in all",
			tip.Height, b, subsidies(1, tip.Height))
	}
	t.Logf("killed at bob's height %d; both restarted on height %d", bobTip.Height, tip.Height)

	// And the chain goes on.
	hashes := mine(t, alice, 1, "")
	if next := sameTip(t, tip.Height+1, alice, bob); next.Hash != hashes[0] {
		t.Fatalf("tip %+v, want %s", next, hashes[0])
	}
}

// BenchmarkDaemonStart measures a daemon's start on an existing data
// directory, from the process start to the first answered RPC call.
//
//	go test -run '^$' -bench DaemonStart -benchtime 10x ./testnet/
func BenchmarkDaemonStart(b *testing.B) {
	n, err := NewNode(NodeConfig{
		Name:           "bench",
		DataDir:        b.TempDir(),
		Binary:         flashBinary(b),
		KillWithParent: true,
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	// First start creates the data directory; 500 blocks give the chain
	// and the wallet something to load.
	if err := n.Start(ctx); err != nil {
		b.Fatal(err)
	}
	if _, err := n.Client().ChainMine(ctx, 500, ""); err != nil {
		b.Fatal(err)
	}
	if err := n.Stop(ctx); err != nil {
		b.Fatal(err)
	}
	var worst time.Duration
	for b.Loop() {
		start := time.Now()
		if err := n.Start(ctx); err != nil {
			b.Fatal(err)
		}
		worst = max(worst, time.Since(start))
		b.StopTimer()
		if err := n.Stop(ctx); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(worst.Milliseconds()), "worst-ms")
}
