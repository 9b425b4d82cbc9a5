package testnet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/chaincfg"

	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/daemon/rpc"
	"github.com/flash-ln/flash/router/gossip"
)

// channelSat is the size of every channel of the graph tests, routeSat the
// amount routed over them.
const (
	channelSat = 1_000_000
	routeSat   = 100_000
)

// graphNet is five nodes with two paths from alice to erin:
// alice-bob-erin, one forwarding fee, and alice-carol-dave-erin, two.
type graphNet struct {
	nw                            *Network
	alice, bob, carol, dave, erin *Node
	ids                           map[*Node]string
	aliceBob, bobErin, aliceCarol string // channel points
	carolDave, daveErin           string
	aliceBobPrivate               string
	points                        []string
	// height is the tip once the channels are announced.
	height int32
}

func (g *graphNet) nodes() []*Node { return []*Node{g.alice, g.bob, g.carol, g.dave, g.erin} }

func newGraphNet(t *testing.T) *graphNet {
	nw := newNetwork(t)
	g := &graphNet{nw: nw, ids: map[*Node]string{}}
	g.alice = startNode(t, nw, "alice")
	g.bob = startNode(t, nw, "bob", g.alice)
	g.carol = startNode(t, nw, "carol", g.alice)
	g.dave = startNode(t, nw, "dave", g.alice)
	g.erin = startNode(t, nw, "erin", g.alice)
	for _, n := range g.nodes() {
		g.ids[n] = nodeID(t, n)
	}
	// A coinbase for each opener other than alice, then alice's blocks
	// mature them and activate segwit.
	for _, n := range []*Node{g.bob, g.carol, g.dave} {
		mine(t, g.alice, 1, newAddress(t, n))
	}
	mine(t, g.alice, fundedHeight-3, "")
	sameTip(t, fundedHeight, g.nodes()...)

	type edge struct {
		from, to *Node
		point    *string
		private  bool
	}
	// And a private channel from alice to bob, which no graph may show.
	edges := []edge{
		{g.alice, g.bob, &g.aliceBob, false}, {g.bob, g.erin, &g.bobErin, false},
		{g.alice, g.carol, &g.aliceCarol, false}, {g.carol, g.dave, &g.carolDave, false},
		{g.dave, g.erin, &g.daveErin, false}, {g.alice, g.bob, &g.aliceBobPrivate, true},
	}
	for _, e := range edges {
		connectPeers(t, e.from, e.to)
	}
	for _, e := range edges {
		var res *rpc.ChannelOpenResponse
		err := WaitFor(t.Context(), syncTimeout, e.from.Name()+" open to "+e.to.Name(),
			func(ctx context.Context) (bool, error) {
				var err error
				res, err = e.from.Client().ChannelOpen(ctx, rpc.ChannelOpenRequest{
					NodeID: g.ids[e.to], AmountSat: channelSat, Private: e.private,
				})
				// The peer may still be connecting, or the wallet
				// still applying the last block.
				switch rpc.ErrorCode(err) {
				case rpc.CodePeerNotConnected, rpc.CodeInsufficientFunds:
					return false, nil
				}
				return err == nil, err
			})
		if err != nil {
			t.Fatal(err)
		}
		*e.point = res.ChannelPoint
		if !e.private {
			g.points = append(g.points, res.ChannelPoint)
		}
	}
	// A funding transaction reaches alice's mempool, where blocks are
	// mined, a little after its open returns: mine one block at a time
	// until every funding transaction is deep enough for a short
	// channel id, then up to six confirmations of the last one, when
	// channels are announced.
	height := int32(fundedHeight)
	var fundedAt int32
	for fundedAt == 0 {
		if height > fundedHeight+20 {
			t.Fatal("funding transactions not confirmed after 20 blocks")
		}
		mine(t, g.alice, 1, outsiderAddress)
		height++
		sameTip(t, height, g.nodes()...)
		fundedAt = g.lastFunding(t, edges[0].from, *edges[0].point)
		for _, e := range edges[1:] {
			h := g.lastFunding(t, e.from, *e.point)
			if h == 0 {
				fundedAt = 0
				break
			}
			fundedAt = max(fundedAt, h)
		}
	}
	if more := fundedAt + 5 - height; more > 0 {
		mine(t, g.alice, int(more), outsiderAddress)
		height += more
	}
	sameTip(t, height, g.nodes()...)
	for _, e := range edges {
		waitChannel(t, e.from, *e.point, inState(rpc.ChannelActive))
		waitChannel(t, e.to, *e.point, inState(rpc.ChannelActive))
	}
	g.height = height
	return g
}

// lastFunding returns the block height of a channel's funding
// transaction, or zero while n has no short channel id for it.
func (g *graphNet) lastFunding(t *testing.T, n *Node, point string) int32 {
	t.Helper()
	res, err := n.Client().ChannelList(ctxCall(t))
	if err != nil {
		t.Fatalf("%s: channel list: %v", n.Name(), err)
	}
	for _, c := range res.Channels {
		if c.ChannelPoint != point || c.ShortChannelID == "" {
			continue
		}
		var h, tx, out int32
		if _, err := fmt.Sscanf(c.ShortChannelID, "%dx%dx%d", &h, &tx, &out); err != nil {
			t.Fatalf("short channel id %q: %v", c.ShortChannelID, err)
		}
		return h
	}
	return 0
}

// waitGraph polls n's graph until ok accepts it.
func waitGraph(t *testing.T, n *Node, what string, ok func(*rpc.GraphResponse) bool) *rpc.GraphResponse {
	t.Helper()
	var last *rpc.GraphResponse
	err := WaitFor(t.Context(), syncTimeout, n.Name()+" graph: "+what, func(ctx context.Context) (bool, error) {
		g, err := n.Client().Graph(ctx)
		if err != nil {
			return false, err
		}
		last = g
		return ok(g), nil
	})
	if err != nil {
		t.Fatalf("%v; last graph %s", err, describeGraph(last))
	}
	return last
}

func describeGraph(g *rpc.GraphResponse) string {
	if g == nil {
		return "none"
	}
	b, _ := json.Marshal(g)
	return string(b)
}

// hasChannels accepts a graph holding exactly the channels at points, with
// both directions' policies and every node announced.
func hasChannels(points ...string) func(*rpc.GraphResponse) bool {
	return func(g *rpc.GraphResponse) bool {
		if len(g.Channels) != len(points) {
			return false
		}
		for _, c := range g.Channels {
			if !slices.Contains(points, c.ChannelPoint) || c.Node1Policy == nil || c.Node2Policy == nil {
				return false
			}
		}
		for _, n := range g.Nodes {
			if n.Alias == "" {
				return false
			}
		}
		return true
	}
}

// routeVia returns a check that alice's route to erin goes through the
// nodes via, in order, then erin.
func (g *graphNet) routeVia(t *testing.T, via ...*Node) {
	t.Helper()
	want := make([]string, 0, len(via)+1)
	names := make([]string, 0, len(via)+1)
	for _, n := range append(via, g.erin) {
		want = append(want, g.ids[n])
		names = append(names, n.Name())
	}
	var last *rpc.RouteResponse
	var lastErr error
	err := WaitFor(t.Context(), syncTimeout, "alice's route via "+strings.Join(names, ","),
		func(ctx context.Context) (bool, error) {
			r, err := g.alice.Client().Route(ctx, rpc.RouteRequest{
				NodeID: g.ids[g.erin], AmountSat: routeSat,
			})
			if lastErr = err; err != nil {
				return false, nil
			}
			last = r
			got := make([]string, len(last.Hops))
			for i, h := range last.Hops {
				got[i] = h.NodeID
			}
			return slices.Equal(got, want), nil
		})
	if err != nil {
		t.Fatalf("%v; last route %+v, err %v", err, last, lastErr)
	}
	// The payee gets the amount; every hop before carries its fees.
	if h := last.Hops[len(last.Hops)-1]; h.AmountMsat != routeSat*1000 {
		t.Fatalf("last hop carries %d msat, want %d", h.AmountMsat, routeSat*1000)
	}
	if last.Hops[0].AmountMsat != routeSat*1000+last.TotalFeeMsat {
		t.Fatalf("first hop %d msat, fee %d msat", last.Hops[0].AmountMsat, last.TotalFeeMsat)
	}
}

func TestGraphGossipAndRoute(t *testing.T) {
	g := newGraphNet(t)
	for _, n := range g.nodes() {
		waitGraph(t, n, "all channels", hasChannels(g.points...))
	}

	// The CLI's graph and route, in JSON and for humans.
	res := runCLI(t, "--datadir", g.alice.DataDir(), "--json", "graph")
	var graph rpc.GraphResponse
	if err := json.Unmarshal([]byte(res.stdout), &graph); err != nil || res.exitCode != 0 ||
		len(graph.Channels) != 5 || len(graph.Nodes) != 5 || graph.Channels[0].CapacitySat != channelSat {
		t.Fatalf("flash graph --json: %v; %v", res, err)
	}
	if res := runCLI(t, "--datadir", g.alice.DataDir(), "graph"); res.exitCode != 0 ||
		!strings.Contains(res.stdout, "SHORT CHANNEL ID") || !strings.Contains(res.stdout, g.ids[g.erin]) {
		t.Fatalf("flash graph: %v", res)
	}

	// Default policies everywhere: one forwarding fee beats two.
	g.routeVia(t, g.bob)
	res = runCLI(t, "--datadir", g.alice.DataDir(), "--json", "route", g.ids[g.erin], fmt.Sprint(routeSat))
	var route rpc.RouteResponse
	if err := json.Unmarshal([]byte(res.stdout), &route); err != nil || res.exitCode != 0 ||
		len(route.Hops) != 2 || route.TotalFeeMsat == 0 {
		t.Fatalf("flash route --json: %v; %v", res, err)
	}

	// Bob makes his channel to erin expensive: the other path wins once
	// his channel_update reaches alice. (1000 sat: well above what the
	// probability model gives for the shorter path's likelier success.)
	res = runCLI(t, "--datadir", g.bob.DataDir(), "--json", "channel", "policy", g.bobErin,
		"--base-fee-msat", "1000000", "--fee-ppm", "1000")
	if res.exitCode != 0 {
		t.Fatalf("flash channel policy: %v", res)
	}
	g.routeVia(t, g.carol, g.dave)

	// Dave goes offline: carol disables her channel to him, and alice
	// falls back on bob's expensive path.
	if err := g.dave.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	waitGraph(t, g.alice, "carol-dave disabled", func(gr *rpc.GraphResponse) bool {
		for _, c := range gr.Channels {
			if c.ChannelPoint == g.carolDave {
				p := c.Node1Policy
				if c.Node2 == g.ids[g.carol] {
					p = c.Node2Policy
				}
				return p != nil && p.Disabled
			}
		}
		return false
	})
	g.routeVia(t, g.bob)
	if err := g.dave.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	g.routeVia(t, g.carol, g.dave)

	// A restarted node has its graph from disk as soon as it answers.
	if err := g.erin.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := g.erin.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	gr, err := g.erin.Client().Graph(ctxCall(t))
	if err != nil || len(gr.Channels) != 5 {
		t.Fatalf("erin's graph after restart: %s, %v", describeGraph(gr), err)
	}

	// Bob's policy outlives his restart: the update he publishes when he
	// comes back still carries it, and is not disabled.
	bobPolicy := func(gr *rpc.GraphResponse) *rpc.GraphPolicy {
		for _, c := range gr.Channels {
			if c.ChannelPoint == g.bobErin {
				if c.Node1 == g.ids[g.bob] {
					return c.Node1Policy
				}
				return c.Node2Policy
			}
		}
		return nil
	}
	before := bobPolicy(waitGraph(t, g.alice, "bob's policy", func(gr *rpc.GraphResponse) bool {
		return bobPolicy(gr) != nil
	}))
	if err := g.bob.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := g.bob.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	waitGraph(t, g.alice, "bob's update after his restart", func(gr *rpc.GraphResponse) bool {
		p := bobPolicy(gr)
		return p != nil && p.Timestamp > before.Timestamp && !p.Disabled
	})
	if p := bobPolicy(waitGraph(t, g.alice, "", hasChannels(g.points...))); p.FeeBaseMsat != 1_000_000 || p.FeePPM != 1000 {
		t.Fatalf("bob's policy after his restart: %+v", p)
	}

	// A node that joins late learns the whole graph from one peer.
	frank := startNode(t, g.nw, "frank", g.alice)
	sameTip(t, g.height, g.alice, frank)
	connectPeers(t, frank, g.alice)
	waitGraph(t, frank, "all channels", hasChannels(g.points...))

	// A cooperatively closed channel leaves every graph once the close
	// confirms.
	if _, err := g.alice.Client().ChannelClose(ctxCall(t), rpc.ChannelCloseRequest{
		ChannelPoint: g.aliceBob,
	}); err != nil {
		t.Fatalf("close alice-bob: %v", err)
	}
	tip, _ := ChainTip(ctxCall(t), g.alice)
	mine(t, g.alice, 1, outsiderAddress)
	remaining := slices.DeleteFunc(slices.Clone(g.points), func(p string) bool { return p == g.aliceBob })
	for _, n := range append(g.nodes(), frank) {
		sameTip(t, tip.Height+1, g.alice, n)
		waitGraph(t, n, "alice-bob pruned", hasChannels(remaining...))
	}
}

func TestGraphBadInput(t *testing.T) {
	alice, bob := fundedPair(t)
	bobID := nodeID(t, bob)
	aliceID := nodeID(t, alice)
	routes := []struct {
		name string
		req  rpc.RouteRequest
		code rpc.Code
	}{
		{"malformed node", rpc.RouteRequest{NodeID: "02ab", AmountSat: 1000}, rpc.CodeInvalidArgument},
		{"ourselves", rpc.RouteRequest{NodeID: aliceID, AmountSat: 1000}, rpc.CodeInvalidArgument},
		{"zero amount", rpc.RouteRequest{NodeID: bobID, AmountSat: 0}, rpc.CodeInvalidArgument},
		{"negative amount", rpc.RouteRequest{NodeID: bobID, AmountSat: -5}, rpc.CodeInvalidArgument},
		{"above supply", rpc.RouteRequest{NodeID: bobID, AmountSat: 1 << 62}, rpc.CodeInvalidArgument},
		{"no channel", rpc.RouteRequest{NodeID: bobID, AmountSat: 1000}, rpc.CodeNoRoute},
	}
	for _, tc := range routes {
		if _, err := alice.Client().Route(ctxCall(t), tc.req); rpc.ErrorCode(err) != tc.code {
			t.Errorf("route %s: %v, want %s", tc.name, err, tc.code)
		}
	}
	neg, big, small := int64(-1), int64(1)<<33, int64(3)
	unknown := strings.Repeat("ab", 32) + ":0"
	policies := []struct {
		name string
		req  rpc.ChannelPolicyRequest
		code rpc.Code
	}{
		{"malformed point", rpc.ChannelPolicyRequest{ChannelPoint: "xyz", FeePPM: &small}, rpc.CodeInvalidArgument},
		{"nothing to change", rpc.ChannelPolicyRequest{ChannelPoint: unknown}, rpc.CodeInvalidArgument},
		{"negative base fee", rpc.ChannelPolicyRequest{ChannelPoint: unknown, BaseFeeMsat: &neg}, rpc.CodeInvalidArgument},
		{"base fee too large", rpc.ChannelPolicyRequest{ChannelPoint: unknown, BaseFeeMsat: &big}, rpc.CodeInvalidArgument},
		{"fee rate too large", rpc.ChannelPolicyRequest{ChannelPoint: unknown, FeePPM: &big}, rpc.CodeInvalidArgument},
		{"cltv delta too small", rpc.ChannelPolicyRequest{ChannelPoint: unknown, CltvDelta: &small}, rpc.CodeInvalidArgument},
		{"unknown channel", rpc.ChannelPolicyRequest{ChannelPoint: unknown, FeePPM: &small}, rpc.CodeNotFound},
	}
	for _, tc := range policies {
		if _, err := alice.Client().ChannelPolicy(ctxCall(t), tc.req); rpc.ErrorCode(err) != tc.code {
			t.Errorf("policy %s: %v, want %s", tc.name, err, tc.code)
		}
	}
	for _, args := range [][]string{
		{"route", bobID},
		{"route", bobID, "ten"},
		{"route", bobID, "0"},
		{"channel", "policy", unknown},
		{"channel", "policy", unknown, "--cltv-delta", "-1"},
	} {
		if res := runCLI(t, append([]string{"--datadir", alice.DataDir()}, args...)...); res.exitCode == 0 {
			t.Errorf("flash %v succeeded: %v", args, res)
		}
	}
}

// readUntilClosed reads what the daemon sends a raw peer until it closes
// the connection, and counts its warnings.
func readUntilClosed(t *testing.T, p *rawPeer) (warnings int) {
	t.Helper()
	if err := p.conn.SetReadDeadline(time.Now().Add(syncTimeout)); err != nil {
		t.Fatal(err)
	}
	for {
		raw, err := p.conn.ReadMessage()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("connection still open after %v (%d warnings)", syncTimeout, warnings)
			}
			return warnings
		}
		if msg, err := gossip.ParseMessage(raw); err == nil {
			if _, ok := msg.(*lnwire.Warning); ok {
				warnings++
			}
		}
	}
}

func TestGraphHostileGossip(t *testing.T) {
	nw := newNetwork(t)
	alice := startNode(t, nw, "alice")
	chainHash := lnwire.ChainHash(*chaincfg.RegressionNetParams.GenesisHash)

	// Announcements signed by the wrong keys: each costs the peer a
	// warning, a few of them the connection.
	p := dialRaw(t, alice)
	forger, _ := btcec.NewPrivateKey()
	for i := range 8 {
		keys := make([]gossip.NodeID, 4)
		for k := range keys {
			priv, _ := btcec.NewPrivateKey()
			keys[k] = gossip.NewNodeID(priv.PubKey())
		}
		scid := lnwire.NewShortChanIDFromInt(uint64(100+i)<<40 | 1<<16)
		ann := gossip.NewChannelAnnouncement(chainHash, scid, nil, keys[0], keys[1], keys[2], keys[3])
		h, err := ann.SigHash()
		if err != nil {
			t.Fatal(err)
		}
		sig, _ := gossip.SignHash(forger, h)
		ann.NodeSig1, ann.NodeSig2, ann.BitcoinSig1, ann.BitcoinSig2 = sig, sig, sig, sig
		raw, err := lnwire.EncodeMessage(ann)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.conn.WriteMessage(raw); err != nil {
			break // dropped already
		}
	}
	if w := readUntilClosed(t, p); w == 0 {
		t.Fatal("forged announcements: connection closed without a warning")
	}

	// A gossip message that does not decode closes the connection too.
	p = dialRaw(t, alice)
	p.send(&lnwire.UnknownMessage{Type: lnwire.MsgChannelUpdate, Payload: []byte{1, 2, 3}})
	if w := readUntilClosed(t, p); w != 1 {
		t.Fatalf("malformed channel_update: %d warnings, want 1", w)
	}

	// Nothing of it reached the graph; the node still serves.
	gr, err := alice.Client().Graph(ctxCall(t))
	if err != nil || len(gr.Channels) != 0 || len(gr.Nodes) != 0 {
		t.Fatalf("graph after hostile gossip: %s, %v", describeGraph(gr), err)
	}
}
