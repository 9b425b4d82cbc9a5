package testnet

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flash-ln/flash/channel/funding"
	"github.com/flash-ln/flash/channel/script"
	"github.com/flash-ln/flash/daemon/rpc"
	"github.com/flash-ln/flash/onchain/chain"
)

// maxSweepFee bounds the fee of one sweep at the regtest default rate: a
// sweep of at most two inputs is far below 1000 vbytes.
const maxSweepFee = int64(chain.DefaultFeeRate) * 4

// openActive opens a channel from alice to bob and waits until both list
// it active.
func openActive(t *testing.T, alice, bob *Node, capacity, push int64) string {
	t.Helper()
	open, err := alice.Client().ChannelOpen(ctxCall(t), rpc.ChannelOpenRequest{
		NodeID: nodeID(t, bob), AmountSat: capacity, PushSat: push,
	})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	tip, _ := ChainTip(ctxCall(t), alice)
	mine(t, alice, 3, outsiderAddress)
	sameTip(t, tip.Height+3, alice, bob)
	waitChannel(t, alice, open.ChannelPoint, inState(rpc.ChannelActive))
	waitChannel(t, bob, open.ChannelPoint, inState(rpc.ChannelActive))
	return open.ChannelPoint
}

// waitClosed polls until n lists the channel at point closed and satisfies
// ok, and returns it.
func waitClosed(t *testing.T, n *Node, point string, ok func(rpc.ClosedChannel) bool) rpc.ClosedChannel {
	t.Helper()
	var last rpc.ClosedChannel
	err := WaitFor(t.Context(), syncTimeout, n.Name()+" closed channel", func(ctx context.Context) (bool, error) {
		r, err := n.Client().ChannelClosed(ctx)
		if err != nil {
			return false, err
		}
		for _, c := range r.Channels {
			if c.ChannelPoint == point {
				last = c
				return ok(c), nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("%v; last %+v", err, last)
	}
	return last
}

func resolvedAs(closeType string) func(rpc.ClosedChannel) bool {
	return func(c rpc.ClosedChannel) bool { return c.CloseType == closeType && c.Resolved }
}

// mineAndSync mines n blocks on miner and waits until every node has them.
func mineAndSync(t *testing.T, miner *Node, n int, nodes ...*Node) {
	t.Helper()
	tip, _ := ChainTip(ctxCall(t), miner)
	mine(t, miner, n, outsiderAddress)
	sameTip(t, tip.Height+int32(n), nodes...)
}

// TestForceCloseNoHTLCs force closes a channel without HTLCs, from either
// side: the other side's output is claimed at once, the closer's after
// to_self_delay; each resolving node is killed mid-resolution.
func TestForceCloseNoHTLCs(t *testing.T) {
	for _, byFunder := range []bool{true, false} {
		name := "by funder"
		if !byFunder {
			name = "by fundee"
		}
		t.Run(name, func(t *testing.T) {
			alice, bob := fundedPair(t)
			const capacity, push = 1_000_000, 100_000
			point := openActive(t, alice, bob, capacity, push)
			commitFee := int64(script.StaticRemoteKey.FunderCost(uint32(chain.DefaultFeeRate), 0))
			aliceBefore, bobBefore := total(balance(t, alice)), total(balance(t, bob))

			closer, other := alice, bob
			closerShare, otherShare := int64(capacity-push-commitFee), int64(push)
			if !byFunder {
				closer, other = bob, alice
				closerShare, otherShare = otherShare, closerShare
			}
			res, err := closer.Client().ChannelClose(ctxCall(t), rpc.ChannelCloseRequest{ChannelPoint: point, Force: true})
			if err != nil {
				t.Fatalf("force close: %v", err)
			}
			waitChannel(t, closer, point, inState(rpc.ChannelForceClosing))
			// Asking again returns the same transaction.
			again, err := closer.Client().ChannelClose(ctxCall(t), rpc.ChannelCloseRequest{ChannelPoint: point, Force: true})
			if err != nil || again.ClosingTxid != res.ClosingTxid {
				t.Fatalf("second force close: %+v, %v; first %s", again, err, res.ClosingTxid)
			}

			// The commitment confirms: the other side sweeps its
			// output at once; it is killed before the sweep confirms.
			// Each block is mined by the node that broadcast what it
			// must hold, which does not wait for the relay.
			mineAndSync(t, closer, 1, alice, bob)
			waitClosed(t, other, point, func(c rpc.ClosedChannel) bool {
				return c.CloseType == rpc.CloseRemoteForce && c.ClosingTxid == res.ClosingTxid
			})
			waitBalance(t, other, "swept to_remote", func(b rpc.BalanceResponse) bool {
				return total(b) > otherBefore(aliceBefore, bobBefore, other == alice)
			})
			restart(t, other, true)
			mineAndSync(t, other, 1, alice, bob)
			oc := waitClosed(t, other, point, resolvedAs(rpc.CloseRemoteForce))
			if oc.SettledSat > otherShare || oc.SettledSat < otherShare-maxSweepFee {
				t.Fatalf("%s settled %d sat, its share is %d", other.Name(), oc.SettledSat, otherShare)
			}
			waitBalance(t, other, "settled", func(b rpc.BalanceResponse) bool {
				return total(b) == otherBefore(aliceBefore, bobBefore, other == alice)+oc.SettledSat
			})

			// The closer waits to_self_delay, through a kill -9.
			ch := waitChannel(t, closer, point, inState(rpc.ChannelWaitingResolution))
			delay := int32(funding.DefaultPolicy().ToSelfDelay)
			if ch.BlocksUntilMaturity <= 0 || ch.BlocksUntilMaturity > delay {
				t.Fatalf("%s lists %+v, to_self_delay %d", closer.Name(), ch, delay)
			}
			mineAndSync(t, alice, int(ch.BlocksUntilMaturity)/2, alice, bob)
			restart(t, closer, true)
			waitChannel(t, closer, point, inState(rpc.ChannelWaitingResolution))
			if c := waitClosed(t, closer, point, func(rpc.ClosedChannel) bool { return true }); c.Resolved {
				t.Fatalf("%s resolved before maturity: %+v", closer.Name(), c)
			}
			ch = waitChannel(t, closer, point, inState(rpc.ChannelWaitingResolution))
			mineAndSync(t, alice, int(ch.BlocksUntilMaturity), alice, bob)
			// The sweep is broadcast at maturity, mined in the next
			// block.
			waitBalance(t, closer, "swept to_local", func(b rpc.BalanceResponse) bool {
				return total(b) > otherBefore(aliceBefore, bobBefore, closer == alice)
			})
			mineAndSync(t, closer, 1, alice, bob)
			cc := waitClosed(t, closer, point, resolvedAs(rpc.CloseLocalForce))
			if cc.SettledSat > closerShare || cc.SettledSat < closerShare-maxSweepFee {
				t.Fatalf("%s settled %d sat, its share is %d", closer.Name(), cc.SettledSat, closerShare)
			}
			waitBalance(t, closer, "settled", func(b rpc.BalanceResponse) bool {
				return total(b) == otherBefore(aliceBefore, bobBefore, closer == alice)+cc.SettledSat
			})
			t.Logf("%s settled %d of %d sat, %s settled %d of %d sat", other.Name(), oc.SettledSat, otherShare,
				closer.Name(), cc.SettledSat, closerShare)
			if l, err := closer.Client().ChannelList(ctxCall(t)); err != nil || len(l.Channels) != 0 {
				t.Fatalf("%s still lists %+v, %v", closer.Name(), l, err)
			}
		})
	}
}

// otherBefore picks alice's or bob's balance before the close.
func otherBefore(alice, bob int64, isAlice bool) int64 {
	if isAlice {
		return alice
	}
	return bob
}

// copyDir copies the regular files and directories under src to dst,
// keeping their permission bits.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, info.Mode().Perm())
		case !info.Mode().IsRegular():
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, info.Mode().Perm())
	})
	if err != nil {
		t.Fatalf("copy %s: %v", src, err)
	}
}

// outdatedBob opens a channel where alice pushes 400 000 sat to bob, copies
// bob's data directory, has bob pay alice 300 000 sat, stops both and puts
// bob's old copy back: bob's latest commitment is then revoked. It returns
// the channel point and alice's wallet total before the stop.
func outdatedBob(t *testing.T) (alice, bob *Node, point string, aliceBefore int64) {
	t.Helper()
	alice, bob = fundedPair(t)
	const capacity, push = 1_000_000, 400_000
	point = openActive(t, alice, bob, capacity, push)
	waitAnnounced(t, 1, alice, alice, bob)

	// Bob's copy holds the state where he owns push sat.
	if err := bob.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	backup := t.TempDir()
	copyDir(t, bob.DataDir(), backup)
	if err := bob.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	waitChannel(t, bob, point, inState(rpc.ChannelActive))

	// Bob pays alice: his commitment where he owns push sat is revoked.
	inv, err := alice.Client().InvoiceAdd(ctxCall(t), rpc.InvoiceAddRequest{AmountMsat: 300_000_000, Memo: "outdated"})
	if err != nil {
		t.Fatal(err)
	}
	checkSucceeded(t, payUntil(t, bob, inv.Invoice), inv.PaymentHash, nodeID(t, alice))
	if local, _ := channelBalances(t, bob, point); local != (push-300_000)*1000 {
		t.Fatalf("bob's balance after paying: %d msat", local)
	}

	aliceBefore = total(balance(t, alice))
	for _, n := range []*Node{alice, bob} {
		if err := n.Stop(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.RemoveAll(bob.DataDir()); err != nil {
		t.Fatal(err)
	}
	copyDir(t, backup, bob.DataDir())
	return alice, bob, point, aliceBefore
}

// TestBreachJusticeTransaction has bob broadcast a revoked commitment from
// an old copy of his data directory: alice, started after it confirmed,
// takes the whole channel through the revocation path, and a kill -9 of
// alice in the middle does not stop her.
func TestBreachJusticeTransaction(t *testing.T) {
	alice, bob, point, aliceBefore := outdatedBob(t)
	const capacity = 1_000_000
	commitFee := int64(script.StaticRemoteKey.FunderCost(uint32(chain.DefaultFeeRate), 0))

	// Bob, alone, broadcasts his revoked commitment and mines it.
	if err := bob.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	bobBefore := total(balance(t, bob))
	res, err := bob.Client().ChannelClose(ctxCall(t), rpc.ChannelCloseRequest{ChannelPoint: point, Force: true})
	if err != nil {
		t.Fatalf("bob's force close: %v", err)
	}
	tip, _ := ChainTip(ctxCall(t), bob)
	mine(t, bob, 1, outsiderAddress)
	sameTip(t, tip.Height+1, bob)

	// Alice comes back: she sees the revoked commitment and sweeps
	// everything at once; she is killed before her sweep confirms.
	if err := alice.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	sameTip(t, tip.Height+1, alice, bob)
	waitClosed(t, alice, point, func(c rpc.ClosedChannel) bool {
		return c.CloseType == rpc.CloseBreach && c.ClosingTxid == res.ClosingTxid && !c.Resolved
	})
	waitBalance(t, alice, "justice sweep", func(b rpc.BalanceResponse) bool { return total(b) > aliceBefore })
	restart(t, alice, true)
	mineAndSync(t, alice, 1, alice, bob)

	ac := waitClosed(t, alice, point, resolvedAs(rpc.CloseBreach))
	want := int64(capacity - commitFee)
	if ac.SettledSat > want || ac.SettledSat < want-maxSweepFee {
		t.Fatalf("alice settled %d sat, the channel less the commitment fee is %d", ac.SettledSat, want)
	}
	waitBalance(t, alice, "justice settled", func(b rpc.BalanceResponse) bool {
		return total(b) == aliceBefore+ac.SettledSat
	})
	// Bob's own view ends too, with nothing for him.
	bc := waitClosed(t, bob, point, resolvedAs(rpc.CloseLocalForce))
	if bc.SettledSat != 0 {
		t.Fatalf("bob settled %d sat from his revoked commitment", bc.SettledSat)
	}
	if got := total(balance(t, bob)); got != bobBefore {
		t.Fatalf("bob's wallet %d sat, %d before the breach", got, bobBefore)
	}
	t.Logf("alice settled %d of %d sat", ac.SettledSat, capacity)
}

// TestLostStateNeverBroadcasts starts bob from an outdated copy while alice
// is online: alice's channel_reestablish proves bob's state lost, bob
// refuses to force close (his commitment is revoked), alice fails the
// channel and broadcasts her commitment, and bob gets his balance from it.
func TestLostStateNeverBroadcasts(t *testing.T) {
	alice, bob, point, _ := outdatedBob(t)
	if err := alice.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := bob.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	connectPeers(t, bob, alice)
	// Alice fails the channel: bob is behind.
	waitChannel(t, alice, point, inState(rpc.ChannelForceClosing))
	err := WaitFor(t.Context(), syncTimeout, "bob learns his state is lost", func(ctx context.Context) (bool, error) {
		data, err := os.ReadFile(bob.LogPath())
		return strings.Contains(string(data), "peer proved our channel state outdated"), err
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = bob.Client().ChannelClose(ctxCall(t), rpc.ChannelCloseRequest{ChannelPoint: point, Force: true})
	if rpc.ErrorCode(err) != rpc.CodeInvalidArgument || !strings.Contains(err.Error(), "outdated") {
		t.Fatalf("bob's force close with a lost state: %v, want %s", err, rpc.CodeInvalidArgument)
	}
	restart(t, bob, true)
	if _, err := bob.Client().ChannelClose(ctxCall(t), rpc.ChannelCloseRequest{ChannelPoint: point, Force: true}); rpc.ErrorCode(err) != rpc.CodeInvalidArgument {
		t.Fatalf("bob's force close after a restart: %v, want %s", err, rpc.CodeInvalidArgument)
	}

	bobBefore := total(balance(t, bob))
	mineAndSync(t, alice, 1, alice, bob)
	// Bob's output on alice's commitment is his current balance.
	waitBalance(t, bob, "swept to_remote", func(b rpc.BalanceResponse) bool { return total(b) > bobBefore })
	mineAndSync(t, bob, 1, alice, bob)
	bc := waitClosed(t, bob, point, resolvedAs(rpc.CloseRemoteForce))
	if want := int64(100_000); bc.SettledSat > want || bc.SettledSat < want-maxSweepFee {
		t.Fatalf("bob settled %d sat, his balance is %d", bc.SettledSat, want)
	}
	waitBalance(t, bob, "settled", func(b rpc.BalanceResponse) bool { return total(b) == bobBefore+bc.SettledSat })
}
