package testnet

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/flash-ln/flash/channel/script"
	"github.com/flash-ln/flash/daemon/rpc"
	"github.com/flash-ln/flash/onchain/chain"
)

func nodeID(t *testing.T, n *Node) string {
	t.Helper()
	info, err := n.Client().GetInfo(ctxCall(t))
	if err != nil {
		t.Fatalf("%s: getinfo: %v", n.Name(), err)
	}
	return info.NodeID
}

func connectPeers(t *testing.T, from, to *Node) {
	t.Helper()
	if err := ConnectPeers(ctxCall(t), from, to); err != nil {
		t.Fatal(err)
	}
}

// waitPeers polls until n lists exactly the given node ids as peers.
func waitPeers(t *testing.T, n *Node, want ...string) []rpc.Peer {
	t.Helper()
	var last []rpc.Peer
	err := WaitFor(t.Context(), syncTimeout, n.Name()+" peers", func(ctx context.Context) (bool, error) {
		res, err := n.Client().PeerList(ctx)
		if err != nil {
			return false, err
		}
		last = res.Peers
		if len(last) != len(want) {
			return false, nil
		}
		for i, p := range last {
			if p.NodeID != want[i] {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("%v; last peers %+v", err, last)
	}
	return last
}

func waitChannel(t *testing.T, n *Node, point string, ok func(rpc.Channel) bool) rpc.Channel {
	t.Helper()
	ch, err := WaitChannel(t.Context(), syncTimeout, n, point, ok)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

func inState(state string) func(rpc.Channel) bool {
	return func(c rpc.Channel) bool { return c.State == state }
}

func TestPeersConnectAndReconnect(t *testing.T) {
	nw := newNetwork(t)
	alice := startNode(t, nw, "alice")
	bob := startNode(t, nw, "bob")
	aliceID, bobID := nodeID(t, alice), nodeID(t, bob)

	connectPeers(t, alice, bob)
	if p := waitPeers(t, alice, bobID); p[0].Inbound {
		t.Errorf("alice sees bob as inbound: %+v", p)
	}
	if p := waitPeers(t, bob, aliceID); !p[0].Inbound {
		t.Errorf("bob sees alice as outbound: %+v", p)
	}
	info, err := alice.Client().GetInfo(ctxCall(t))
	if err != nil || info.NumPeers != 1 {
		t.Fatalf("alice getinfo num_peers: %+v, %v", info, err)
	}
	// The CLI prints the list as a JSON array with --json.
	res := runCLI(t, "--datadir", alice.DataDir(), "--json", "peer", "list")
	var listed []map[string]any
	if err := json.Unmarshal([]byte(res.stdout), &listed); err != nil || res.exitCode != 0 ||
		len(listed) != 1 || listed[0]["node_id"] != bobID || listed[0]["inbound"] != false ||
		listed[0]["address"] == "" {
		t.Fatalf("flash peer list --json: %v; %v", res, err)
	}
	if res := runCLI(t, "--datadir", bob.DataDir(), "channel", "list"); res.exitCode != 0 ||
		!strings.Contains(res.stdout, "CHANNEL POINT") {
		t.Fatalf("flash channel list: %v", res)
	}

	if err := alice.Client().PeerDisconnect(ctxCall(t), bobID); err != nil {
		t.Fatal(err)
	}
	waitPeers(t, alice)
	waitPeers(t, bob)
	err = alice.Client().PeerDisconnect(ctxCall(t), bobID)
	if rpc.ErrorCode(err) != rpc.CodeNotFound {
		t.Fatalf("second disconnect: %v, want %s", err, rpc.CodeNotFound)
	}

	// A persistent peer is redialled after the other side restarts.
	connectPeers(t, alice, bob)
	waitPeers(t, bob, aliceID)
	if err := bob.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := bob.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	waitPeers(t, bob, aliceID)
	waitPeers(t, alice, bobID)

	// ... and after our own restart, from the stored peer.
	if err := alice.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := alice.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	waitPeers(t, alice, bobID)

	for _, bad := range []string{"", "nohost", bobID, "02@127.0.0.1:1", aliceID + "@127.0.0.1:1"} {
		if err := alice.Client().PeerConnect(ctxCall(t), bad); rpc.ErrorCode(err) != rpc.CodeInvalidArgument {
			t.Errorf("connect %q: %v, want %s", bad, err, rpc.CodeInvalidArgument)
		}
	}
}

// fundedPair starts alice and bob with linked chains, alice's wallet
// funded, and the two connected as Lightning peers.
func fundedPair(t *testing.T) (alice, bob *Node) {
	nw := newNetwork(t)
	alice = startNode(t, nw, "alice")
	bob = startNode(t, nw, "bob", alice)
	alice.SetChainConnect([]string{bob.ChainAddress()})
	mine(t, alice, fundedHeight, "")
	sameTip(t, fundedHeight, alice, bob)
	connectPeers(t, alice, bob)
	waitPeers(t, bob, nodeID(t, alice))
	return alice, bob
}

func TestChannelOpenRestartClose(t *testing.T) {
	alice, bob := fundedPair(t)
	const capacity, push = 1_000_000, 100_000
	started := time.Now()
	open, err := alice.Client().ChannelOpen(ctxCall(t), rpc.ChannelOpenRequest{
		NodeID: nodeID(t, bob), AmountSat: capacity, PushSat: push,
	})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Logf("channel open to funding broadcast: %v", time.Since(started))
	if !strings.HasPrefix(open.ChannelPoint, open.FundingTxid+":") {
		t.Fatalf("open response %+v", open)
	}
	point := open.ChannelPoint
	waitChannel(t, alice, point, inState(rpc.ChannelPendingOpen))
	waitChannel(t, bob, point, inState(rpc.ChannelPendingOpen))
	if b := balance(t, alice); b.LockedSat != 0 {
		t.Errorf("alice's locked balance after open: %+v", b)
	}

	height, _ := ChainTip(ctxCall(t), alice)
	mine(t, alice, 3, outsiderAddress)
	mined := time.Now()
	sameTip(t, height.Height+3, alice, bob)

	commitFee := int64(script.StaticRemoteKey.FunderCost(uint32(chain.DefaultFeeRate), 0))
	wantAlice := (capacity - push - commitFee) * 1000
	check := func(when string) {
		t.Helper()
		for _, n := range []*Node{alice, bob} {
			ch := waitChannel(t, n, point, inState(rpc.ChannelActive))
			local, remote := ch.LocalBalanceMsat, ch.RemoteBalanceMsat
			if n == bob {
				local, remote = remote, local
			}
			if local != wantAlice || remote != push*1000 || ch.CapacitySat != capacity ||
				ch.ShortChannelID == "" || ch.NumPendingHTLCs != 0 {
				t.Fatalf("%s: %s lists %+v; want alice %d msat, bob %d msat",
					when, n.Name(), ch, wantAlice, push*1000)
			}
		}
	}
	check("after 3 blocks")
	t.Logf("third block mined to active on both nodes: %v (polling every %v)", time.Since(mined), pollInterval)
	info, err := bob.Client().GetInfo(ctxCall(t))
	if err != nil || info.NumActiveChannels != 1 || info.NumPendingChannels != 0 {
		t.Fatalf("bob getinfo: %+v, %v", info, err)
	}

	// Clean restart of alice, kill -9 of bob: same channel, same balances.
	if err := alice.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	waitChannel(t, bob, point, inState(rpc.ChannelInactive))
	if err := alice.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	check("after alice restarted")
	if err := bob.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := bob.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	check("after bob was killed")

	// Cooperative close.
	aliceBefore, bobBefore := total(balance(t, alice)), total(balance(t, bob))
	started = time.Now()
	res, err := alice.Client().ChannelClose(ctxCall(t), rpc.ChannelCloseRequest{ChannelPoint: point})
	if err != nil {
		t.Fatalf("close: %v", err)
	}
	t.Logf("channel close to closing transaction broadcast: %v", time.Since(started))
	tip, _ := ChainTip(ctxCall(t), alice)
	mine(t, alice, 1, outsiderAddress)
	mined = time.Now()
	sameTip(t, tip.Height+1, alice, bob)
	closed := map[string]rpc.ClosedChannel{}
	for _, n := range []*Node{alice, bob} {
		err := WaitFor(t.Context(), syncTimeout, n.Name()+" channel closed", func(ctx context.Context) (bool, error) {
			r, err := n.Client().ChannelClosed(ctx)
			if err != nil || len(r.Channels) != 1 {
				return false, err
			}
			closed[n.Name()] = r.Channels[0]
			return true, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		c := closed[n.Name()]
		if c.ChannelPoint != point || c.CloseType != rpc.CloseCooperative ||
			c.ClosingTxid != res.ClosingTxid || !c.Resolved {
			t.Fatalf("%s closed channel %+v, closing txid %s", n.Name(), c, res.ClosingTxid)
		}
		if l, err := n.Client().ChannelList(ctxCall(t)); err != nil || len(l.Channels) != 0 {
			t.Fatalf("%s still lists %+v, %v", n.Name(), l, err)
		}
	}
	t.Logf("closing block mined to closed on both nodes: %v", time.Since(mined))
	aliceSettled, bobSettled := closed["alice"].SettledSat, closed["bob"].SettledSat
	closingFee := capacity - aliceSettled - bobSettled
	if bobSettled != push || closingFee <= 0 || closingFee > commitFee {
		t.Fatalf("settled alice %d, bob %d: closing fee %d", aliceSettled, bobSettled, closingFee)
	}
	if aliceSettled != capacity-push-closingFee {
		t.Fatalf("alice settled %d, want %d", aliceSettled, capacity-push-closingFee)
	}
	waitBalance(t, bob, "closing output", func(b rpc.BalanceResponse) bool {
		return total(b) == bobBefore+push
	})
	waitBalance(t, alice, "closing output", func(b rpc.BalanceResponse) bool {
		return total(b) == aliceBefore+capacity-push-closingFee
	})
}

func TestChannelOpenBadInput(t *testing.T) {
	alice, bob := fundedPair(t)
	nw := &Network{Dir: t.TempDir(), Binary: flashBinary(t), KillWithParent: true}
	carol := startNode(t, nw, "carol", alice)
	t.Cleanup(func() { _ = nw.Stop(context.Background()) })
	aliceID, bobID, carolID := nodeID(t, alice), nodeID(t, bob), nodeID(t, carol)

	tests := []struct {
		name string
		from *Node
		req  rpc.ChannelOpenRequest
		code rpc.Code
	}{
		{"not connected", alice, rpc.ChannelOpenRequest{NodeID: carolID, AmountSat: 100_000}, rpc.CodePeerNotConnected},
		{"ourselves", alice, rpc.ChannelOpenRequest{NodeID: aliceID, AmountSat: 100_000}, rpc.CodeInvalidArgument},
		{"below minimum", alice, rpc.ChannelOpenRequest{NodeID: bobID, AmountSat: 19_999}, rpc.CodeInvalidArgument},
		{"above maximum", alice, rpc.ChannelOpenRequest{NodeID: bobID, AmountSat: 1 << 24}, rpc.CodeInvalidArgument},
		{"push above amount", alice, rpc.ChannelOpenRequest{NodeID: bobID, AmountSat: 100_000, PushSat: 100_000}, rpc.CodeInvalidArgument},
		{"malformed node id", alice, rpc.ChannelOpenRequest{NodeID: "02ab", AmountSat: 100_000}, rpc.CodeInvalidArgument},
		{"above wallet funds", bob, rpc.ChannelOpenRequest{NodeID: aliceID, AmountSat: 100_000}, rpc.CodeInsufficientFunds},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.from.Client().ChannelOpen(ctxCall(t), tc.req)
			if rpc.ErrorCode(err) != tc.code {
				t.Fatalf("open %+v: %v, want %s", tc.req, err, tc.code)
			}
			if b := balance(t, tc.from); b.LockedSat != 0 {
				t.Fatalf("locked after a failed open: %+v", b)
			}
		})
	}
	for _, n := range []*Node{alice, bob} {
		if l, err := n.Client().ChannelList(ctxCall(t)); err != nil || len(l.Channels) != 0 {
			t.Fatalf("%s lists channels after failed opens: %+v, %v", n.Name(), l, err)
		}
	}
	_, err := alice.Client().ChannelClose(ctxCall(t), rpc.ChannelCloseRequest{
		ChannelPoint: strings.Repeat("ab", 32) + ":0", Force: true,
	})
	if rpc.ErrorCode(err) != rpc.CodeNotFound {
		t.Fatalf("force close of an unknown channel: %v, want %s", err, rpc.CodeNotFound)
	}
}
