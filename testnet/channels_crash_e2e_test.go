package testnet

import (
	"context"
	"testing"

	"github.com/flash-ln/flash/daemon/rpc"
)

func restart(t *testing.T, n *Node, kill bool) {
	t.Helper()
	var err error
	if kill {
		err = n.Kill()
	} else {
		err = n.Stop(t.Context())
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// TestChannelSurvivesKills kills the fundee right after the funding
// broadcast, both nodes while the channel is active, and the closer right
// after the closing transaction is broadcast: every time the channel comes
// back to where it was and the close completes.
func TestChannelSurvivesKills(t *testing.T) {
	alice, bob := fundedPair(t)
	const capacity, push = 500_000, 20_000
	open, err := alice.Client().ChannelOpen(ctxCall(t), rpc.ChannelOpenRequest{
		NodeID: nodeID(t, bob), AmountSat: capacity, PushSat: push,
	})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	point := open.ChannelPoint

	// The fundee dies before any confirmation; the blocks come while it
	// is down.
	if err := bob.Kill(); err != nil {
		t.Fatal(err)
	}
	tip, _ := ChainTip(ctxCall(t), alice)
	mine(t, alice, 3, outsiderAddress)
	if err := bob.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	sameTip(t, tip.Height+3, alice, bob)
	a := waitChannel(t, alice, point, inState(rpc.ChannelActive))
	b := waitChannel(t, bob, point, inState(rpc.ChannelActive))
	if a.LocalBalanceMsat != b.RemoteBalanceMsat || b.LocalBalanceMsat != push*1000 {
		t.Fatalf("balances disagree: alice %+v, bob %+v", a, b)
	}

	// Both killed, restarted in the other order.
	if err := alice.Kill(); err != nil {
		t.Fatal(err)
	}
	restart(t, bob, true)
	if err := alice.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	a2 := waitChannel(t, alice, point, inState(rpc.ChannelActive))
	b2 := waitChannel(t, bob, point, inState(rpc.ChannelActive))
	if a2 != a || b2 != b {
		t.Fatalf("after kills: alice %+v (was %+v), bob %+v (was %+v)", a2, a, b2, b)
	}

	// A dropped connection: inactive on both sides, then active again
	// with the same balances once reconnected.
	if err := alice.Client().PeerDisconnect(ctxCall(t), nodeID(t, bob)); err != nil {
		t.Fatal(err)
	}
	waitChannel(t, alice, point, inState(rpc.ChannelInactive))
	waitChannel(t, bob, point, inState(rpc.ChannelInactive))
	connectPeers(t, alice, bob)
	if a3 := waitChannel(t, alice, point, inState(rpc.ChannelActive)); a3 != a {
		t.Fatalf("after reconnection: alice %+v (was %+v)", a3, a)
	}
	if b3 := waitChannel(t, bob, point, inState(rpc.ChannelActive)); b3 != b {
		t.Fatalf("after reconnection: bob %+v (was %+v)", b3, b)
	}

	// The closer dies right after broadcasting the closing transaction.
	bobBefore := total(balance(t, bob))
	res, err := bob.Client().ChannelClose(ctxCall(t), rpc.ChannelCloseRequest{ChannelPoint: point})
	if err != nil {
		t.Fatalf("close: %v", err)
	}
	waitChannel(t, alice, point, inState(rpc.ChannelClosing))
	restart(t, bob, true)
	tip, _ = ChainTip(ctxCall(t), alice)
	// Bob's wallet rebroadcasts the closing transaction at start; wait
	// for alice's mempool (where she mines) to hold it before mining.
	mineUntilClosed(t, alice, bob, point, res.ClosingTxid, tip.Height)
	waitBalance(t, bob, "closing output", func(b rpc.BalanceResponse) bool {
		return total(b) == bobBefore+push
	})
}

// mineUntilClosed mines one block at a time until both nodes list the
// channel as closed by closingTxid.
func mineUntilClosed(t *testing.T, miner, other *Node, point, closingTxid string, height int32) {
	t.Helper()
	closedBy := func(ctx context.Context, n *Node) (bool, error) {
		r, err := n.Client().ChannelClosed(ctx)
		if err != nil {
			return false, err
		}
		for _, c := range r.Channels {
			if c.ChannelPoint == point {
				if c.ClosingTxid != closingTxid || c.CloseType != rpc.CloseCooperative {
					t.Fatalf("%s: closed %+v, want closing txid %s", n.Name(), c, closingTxid)
				}
				return true, nil
			}
		}
		return false, nil
	}
	for i := 0; ; i++ {
		if i == 5 {
			t.Fatalf("channel %s not closed after %d blocks", point, i)
		}
		mine(t, miner, 1, outsiderAddress)
		height++
		sameTip(t, height, miner, other)
		err := WaitFor(t.Context(), syncTimeout/3, "closed", func(ctx context.Context) (bool, error) {
			a, err := closedBy(ctx, miner)
			if err != nil || !a {
				return false, err
			}
			return closedBy(ctx, other)
		})
		if err == nil {
			return
		}
	}
}

// TestKillDuringClose kills the funder while its close request is in
// flight: whatever point it reached, after the restart the channel is
// either still active or finishes its close, and bob is paid exactly his
// balance.
func TestKillDuringClose(t *testing.T) {
	alice, bob := fundedPair(t)
	const capacity, push = 300_000, 30_000
	open, err := alice.Client().ChannelOpen(ctxCall(t), rpc.ChannelOpenRequest{
		NodeID: nodeID(t, bob), AmountSat: capacity, PushSat: push,
	})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	point := open.ChannelPoint
	tip, _ := ChainTip(ctxCall(t), alice)
	mine(t, alice, 3, outsiderAddress)
	sameTip(t, tip.Height+3, alice, bob)
	waitChannel(t, alice, point, inState(rpc.ChannelActive))
	waitChannel(t, bob, point, inState(rpc.ChannelActive))
	bobBefore := total(balance(t, bob))

	done := make(chan error, 1)
	client := alice.Client()
	go func() {
		_, err := client.ChannelClose(t.Context(), rpc.ChannelCloseRequest{ChannelPoint: point})
		done <- err
	}()
	if err := alice.Kill(); err != nil {
		t.Fatal(err)
	}
	<-done
	if err := alice.Start(t.Context()); err != nil {
		t.Fatal(err)
	}

	// Either the shutdown never left alice (the channel is active again)
	// or the negotiation resumes by itself after the reconnection.
	var closingTxid string
	err = WaitFor(t.Context(), syncTimeout, "close resumed or channel active", func(ctx context.Context) (bool, error) {
		res, err := alice.Client().ChannelList(ctx)
		if err != nil || len(res.Channels) != 1 {
			return false, err
		}
		if res.Channels[0].State == rpc.ChannelActive {
			r, err := alice.Client().ChannelClose(ctx, rpc.ChannelCloseRequest{ChannelPoint: point})
			if err != nil {
				return false, err
			}
			closingTxid = r.ClosingTxid
			return true, nil
		}
		if res.Channels[0].State != rpc.ChannelClosing {
			return false, nil
		}
		r, err := alice.Client().ChannelClose(ctx, rpc.ChannelCloseRequest{ChannelPoint: point})
		if err != nil {
			return false, nil // negotiation still running
		}
		closingTxid = r.ClosingTxid
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	tip, _ = ChainTip(ctxCall(t), alice)
	mineUntilClosed(t, alice, bob, point, closingTxid, tip.Height)
	waitBalance(t, bob, "closing output", func(b rpc.BalanceResponse) bool {
		return total(b) == bobBefore+push
	})
}
