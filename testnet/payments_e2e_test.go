package testnet

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/flash-ln/flash/daemon/rpc"
)

func TestInvoiceAddListDecode(t *testing.T) {
	nw := newNetwork(t)
	alice := startNode(t, nw, "alice")
	aliceID := nodeID(t, alice)

	res := runCLI(t, "--datadir", alice.DataDir(), "--json", "invoice", "add", "50000",
		"--msat", "7", "--memo", "coffee  beans", "--expiry", "90s")
	var added rpc.InvoiceAddResponse
	if err := json.Unmarshal([]byte(res.stdout), &added); err != nil || res.exitCode != 0 ||
		!strings.HasPrefix(added.Invoice, "lnbcrt500000070p1") || len(added.PaymentHash) != 64 {
		t.Fatalf("invoice add: %v; %v", res, err)
	}

	res = runCLI(t, "--datadir", alice.DataDir(), "--json", "invoice", "decode", added.Invoice)
	var dec rpc.InvoiceDecodeResponse
	if err := json.Unmarshal([]byte(res.stdout), &dec); err != nil || res.exitCode != 0 {
		t.Fatalf("invoice decode: %v; %v", res, err)
	}
	if dec.Payee != aliceID || dec.PaymentHash != added.PaymentHash || dec.AmountMsat != 50_000_007 ||
		dec.Description != "coffee  beans" || dec.Expiry != 90 || dec.Timestamp == 0 ||
		dec.MinFinalCLTVExpiry == 0 || dec.RouteHints == nil {
		t.Fatalf("decoded %+v", dec)
	}

	if _, err := alice.Client().InvoiceAdd(ctxCall(t), rpc.InvoiceAddRequest{}); err != nil {
		t.Fatalf("invoice of any amount: %v", err)
	}
	res = runCLI(t, "--datadir", alice.DataDir(), "--json", "invoice", "list")
	var list []map[string]any
	if err := json.Unmarshal([]byte(res.stdout), &list); err != nil || res.exitCode != 0 || len(list) != 2 {
		t.Fatalf("invoice list: %v; %v", res, err)
	}
	first := list[0]
	if first["payment_hash"] != added.PaymentHash || first["amount_msat"] != float64(50_000_007) ||
		first["memo"] != "coffee  beans" || first["state"] != "open" || first["settled_at"] != float64(0) {
		t.Fatalf("invoice list: %v", list)
	}

	// Bad input: clear errors, nothing stored.
	for _, args := range [][]string{
		{"invoice", "add", "-1"},
		{"invoice", "add", "abc"},
		{"invoice", "add", "1", "--msat", "1000"},
		{"invoice", "add", "1", "--expiry", "1500ms"},
		{"invoice", "add", "1", "--expiry", "9000h"},
		{"invoice", "decode", "lnbc1garbage"},
		{"invoice", "decode", ""},
		{"invoice", "decode", added.Invoice[:len(added.Invoice)-1] + "q"},
	} {
		res := runCLI(t, append([]string{"--datadir", alice.DataDir()}, args...)...)
		if res.exitCode == 0 || res.stderr == "" {
			t.Errorf("flash %v: %v, want an error", args, res)
		}
	}
	if _, err := alice.Client().InvoiceAdd(ctxCall(t), rpc.InvoiceAddRequest{
		AmountMsat: 1000, Memo: strings.Repeat("x", 700),
	}); rpc.ErrorCode(err) != rpc.CodeInvalidArgument {
		t.Errorf("memo too long: %v, want %s", err, rpc.CodeInvalidArgument)
	}
	if l, err := alice.Client().InvoiceList(ctxCall(t)); err != nil || len(l.Invoices) != 2 {
		t.Fatalf("after bad input: %+v, %v", l, err)
	}
}

// openAnnounced opens a channel from -> to of capacity sat, mines it deep
// enough to be announced and waits until both ends list it active. It
// returns the channel point.
func openAnnounced(t *testing.T, from, to *Node, capacity int64, all ...*Node) string {
	t.Helper()
	open, err := from.Client().ChannelOpen(ctxCall(t), rpc.ChannelOpenRequest{
		NodeID: nodeID(t, to), AmountSat: capacity,
	})
	if err != nil {
		t.Fatalf("open %s -> %s: %v", from.Name(), to.Name(), err)
	}
	waitChannel(t, to, open.ChannelPoint, inState(rpc.ChannelPendingOpen))
	tip, _ := ChainTip(ctxCall(t), from)
	mine(t, from, 6, outsiderAddress)
	sameTip(t, tip.Height+6, all...)
	waitChannel(t, from, open.ChannelPoint, inState(rpc.ChannelActive))
	waitChannel(t, to, open.ChannelPoint, inState(rpc.ChannelActive))
	return open.ChannelPoint
}

// waitAnnounced polls until every node's graph holds n channels with both
// directions' policies. Gossip announces a channel at 6 confirmations,
// counted at blocks: a block is mined at each poll that finds it short.
func waitAnnounced(t *testing.T, n int, miner *Node, nodes ...*Node) {
	t.Helper()
	err := WaitFor(t.Context(), syncTimeout, "graph", func(ctx context.Context) (bool, error) {
		for _, node := range nodes {
			g, err := node.Client().Graph(ctx)
			if err != nil {
				return false, err
			}
			full := 0
			for _, c := range g.Channels {
				if c.Node1Policy != nil && c.Node2Policy != nil &&
					c.Node1Policy.Timestamp != 0 && c.Node2Policy.Timestamp != 0 {
					full++
				}
			}
			if full < n {
				tip, err := ChainTip(ctx, miner)
				if err != nil {
					return false, err
				}
				if _, err := miner.Client().ChainMine(ctx, 1, outsiderAddress); err != nil {
					return false, err
				}
				_, err = WaitSameTip(ctx, syncTimeout, tip.Height+1, nodes...)
				return false, err
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// channelBalances returns the local and remote balances n lists for the
// channel at point.
func channelBalances(t *testing.T, n *Node, point string) (local, remote int64) {
	t.Helper()
	ch := waitChannel(t, n, point, func(c rpc.Channel) bool { return c.NumPendingHTLCs == 0 })
	return ch.LocalBalanceMsat, ch.RemoteBalanceMsat
}

// payUntil pays inv from n until the payer finds a route: gossip may not
// have brought the channels into the graph yet, which shows as no_route.
func payUntil(t *testing.T, n *Node, inv string) *rpc.PayResponse {
	t.Helper()
	var last *rpc.PayResponse
	err := WaitFor(t.Context(), syncTimeout, n.Name()+" pays", func(ctx context.Context) (bool, error) {
		res, err := n.Client().Pay(ctx, rpc.PayRequest{Invoice: inv, TimeoutSeconds: 20})
		if err != nil {
			return false, err
		}
		last = res
		return res.Status != "failed" || res.FailureReason != "no_route", nil
	})
	if err != nil {
		t.Fatalf("%v; last %+v", err, last)
	}
	return last
}

func checkSucceeded(t *testing.T, res *rpc.PayResponse, hash string, route ...string) {
	t.Helper()
	pre, err := hex.DecodeString(res.Preimage)
	sum := sha256.Sum256(pre)
	if err != nil || res.Status != "succeeded" || hex.EncodeToString(sum[:]) != hash ||
		res.PaymentHash != hash || strings.Join(res.Route, ",") != strings.Join(route, ",") {
		t.Fatalf("pay: %+v; want succeeded over %v", res, route)
	}
}

func TestPayDirect(t *testing.T) {
	alice, bob := fundedPair(t)
	const capacity = 1_000_000
	point := openAnnounced(t, alice, bob, capacity, alice, bob)
	waitAnnounced(t, 1, alice, alice, bob)
	aliceBefore, _ := channelBalances(t, alice, point)

	inv, err := bob.Client().InvoiceAdd(ctxCall(t), rpc.InvoiceAddRequest{AmountMsat: 20_000_000, Memo: "direct"})
	if err != nil {
		t.Fatal(err)
	}
	res := payUntil(t, alice, inv.Invoice)
	checkSucceeded(t, res, inv.PaymentHash, nodeID(t, bob))
	if res.FeeMsat != 0 || res.AmountMsat != 20_000_000 {
		t.Fatalf("direct payment: %+v", res)
	}
	aliceAfter, _ := channelBalances(t, alice, point)
	bobLocal, _ := channelBalances(t, bob, point)
	if aliceBefore-aliceAfter != 20_000_000 || bobLocal != 20_000_000 {
		t.Fatalf("balances: alice %d -> %d, bob %d", aliceBefore, aliceAfter, bobLocal)
	}
	list, err := bob.Client().InvoiceList(ctxCall(t))
	if err != nil || len(list.Invoices) != 1 || list.Invoices[0].State != "settled" || list.Invoices[0].SettledAt == 0 {
		t.Fatalf("bob's invoices: %+v, %v", list, err)
	}

	// Paying again is refused and moves nothing.
	_, err = alice.Client().Pay(ctxCall(t), rpc.PayRequest{Invoice: inv.Invoice})
	if err == nil || !strings.Contains(err.Error(), "already paid") {
		t.Fatalf("second payment: %v, want a refusal", err)
	}
	if a, _ := channelBalances(t, alice, point); a != aliceAfter {
		t.Fatalf("second payment moved money: %d -> %d", aliceAfter, a)
	}

	// Keysend, and the CLI's view of the payments.
	r := runCLI(t, "--datadir", alice.DataDir(), "--json", "pay", "--keysend", nodeID(t, bob), "1000")
	var ks rpc.PayResponse
	if err := json.Unmarshal([]byte(r.stdout), &ks); err != nil || r.exitCode != 0 || ks.Status != "succeeded" {
		t.Fatalf("keysend: %v; %v", r, err)
	}
	r = runCLI(t, "--datadir", alice.DataDir(), "--json", "payment", "list")
	var pays []rpc.Payment
	if err := json.Unmarshal([]byte(r.stdout), &pays); err != nil || r.exitCode != 0 || len(pays) != 2 {
		t.Fatalf("payment list: %v; %v", r, err)
	}

	// An invoice bob never issued fails at bob with a clear reason.
	alien, err := alice.Client().InvoiceAdd(ctxCall(t), rpc.InvoiceAddRequest{AmountMsat: 1000})
	if err != nil {
		t.Fatal(err)
	}
	// alice's own invoice pays alice: refused by the payer, nothing moves.
	if res, err := alice.Client().Pay(ctxCall(t), rpc.PayRequest{Invoice: alien.Invoice}); err == nil && res.Status != "failed" {
		t.Fatalf("paying ourselves: %+v", res)
	}
	if a, _ := channelBalances(t, alice, point); a != aliceAfter-1_000_000 {
		t.Fatalf("after keysend and a refused payment: alice %d, want %d", a, aliceAfter-1_000_000)
	}
}

// lineNet is alice -> bob -> carol -> dave, each channel opened by its
// left end, all announced.
type lineNet struct {
	alice, bob, carol, dave *Node
	ids                     map[*Node]string
	// points are the channel points alice-bob, bob-carol, carol-dave.
	points [3]string
}

func (l *lineNet) nodes() []*Node { return []*Node{l.alice, l.bob, l.carol, l.dave} }

func newLineNet(t *testing.T) *lineNet {
	nw := newNetwork(t)
	l := &lineNet{ids: map[*Node]string{}}
	l.alice = startNode(t, nw, "alice")
	l.bob = startNode(t, nw, "bob", l.alice)
	l.carol = startNode(t, nw, "carol", l.alice)
	l.dave = startNode(t, nw, "dave", l.alice)
	for _, n := range l.nodes() {
		l.ids[n] = nodeID(t, n)
	}
	for _, n := range []*Node{l.bob, l.carol} {
		mine(t, l.alice, 1, newAddress(t, n))
	}
	mine(t, l.alice, fundedHeight-2, "")
	sameTip(t, fundedHeight, l.nodes()...)

	hops := [][2]*Node{{l.alice, l.bob}, {l.bob, l.carol}, {l.carol, l.dave}}
	for _, h := range hops {
		connectPeers(t, h[0], h[1])
	}
	for i, h := range hops {
		var res *rpc.ChannelOpenResponse
		err := WaitFor(t.Context(), syncTimeout, h[0].Name()+" open to "+h[1].Name(),
			func(ctx context.Context) (bool, error) {
				var err error
				res, err = h[0].Client().ChannelOpen(ctx, rpc.ChannelOpenRequest{
					NodeID: l.ids[h[1]], AmountSat: channelSat,
				})
				switch rpc.ErrorCode(err) {
				case rpc.CodePeerNotConnected, rpc.CodeInsufficientFunds:
					return false, nil
				}
				return err == nil, err
			})
		if err != nil {
			t.Fatal(err)
		}
		l.points[i] = res.ChannelPoint
		waitChannel(t, h[1], res.ChannelPoint, inState(rpc.ChannelPendingOpen))
	}
	// A funding transaction reaches alice's mempool, where blocks are
	// mined, a little after its open returns: mine a block at a time
	// until every channel is active at both ends.
	err := WaitFor(t.Context(), syncTimeout, "channels active", func(ctx context.Context) (bool, error) {
		for i, h := range hops {
			for _, n := range h {
				res, err := n.Client().ChannelList(ctx)
				if err != nil {
					return false, err
				}
				active := false
				for _, c := range res.Channels {
					active = active || c.ChannelPoint == l.points[i] && c.State == rpc.ChannelActive
				}
				if !active {
					tip, err := ChainTip(ctx, l.alice)
					if err != nil {
						return false, err
					}
					if _, err := l.alice.Client().ChainMine(ctx, 1, outsiderAddress); err != nil {
						return false, err
					}
					_, err = WaitSameTip(ctx, syncTimeout, tip.Height+1, l.nodes()...)
					return false, err
				}
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	waitAnnounced(t, 3, l.alice, l.nodes()...)
	return l
}

// forwardFee is what node charges, by its policy in alice's graph, to
// forward amt over the channel at point.
func forwardFee(t *testing.T, alice *Node, node, point string, amt int64) int64 {
	t.Helper()
	g, err := alice.Client().Graph(ctxCall(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range g.Channels {
		if c.ChannelPoint != point {
			continue
		}
		p := c.Node1Policy
		if c.Node2 == node {
			p = c.Node2Policy
		}
		return int64(p.FeeBaseMsat) + amt*int64(p.FeePPM)/1_000_000
	}
	t.Fatalf("channel %s not in alice's graph", point)
	return 0
}

func TestPayMultiHop(t *testing.T) {
	l := newLineNet(t)
	const amount = 50_000_000 // msat
	feeCarol := forwardFee(t, l.alice, l.ids[l.carol], l.points[2], amount)
	feeBob := forwardFee(t, l.alice, l.ids[l.bob], l.points[1], amount+feeCarol)
	want := [3]int64{amount + feeCarol + feeBob, amount + feeCarol, amount}
	openers := [3]*Node{l.alice, l.bob, l.carol}
	peers := [3]*Node{l.bob, l.carol, l.dave}
	var before [3]int64
	for i := range before {
		before[i], _ = channelBalances(t, openers[i], l.points[i])
	}

	inv, err := l.dave.Client().InvoiceAdd(ctxCall(t), rpc.InvoiceAddRequest{AmountMsat: amount, Memo: "line"})
	if err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, "--datadir", l.alice.DataDir(), "--json", "pay", inv.Invoice)
	var res rpc.PayResponse
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || r.exitCode != 0 {
		t.Fatalf("pay: %v; %v", r, err)
	}
	checkSucceeded(t, &res, inv.PaymentHash, l.ids[l.bob], l.ids[l.carol], l.ids[l.dave])
	if res.AmountMsat != amount || int64(res.FeeMsat) != feeBob+feeCarol || len(res.Attempts) != 1 {
		t.Fatalf("pay: %+v; want fee %d", res, feeBob+feeCarol)
	}
	var after [3]int64
	for i := range after {
		after[i], _ = channelBalances(t, openers[i], l.points[i])
		peerLocal, _ := channelBalances(t, peers[i], l.points[i])
		if before[i]-after[i] != want[i] || peerLocal != want[i] {
			t.Errorf("channel %s-%s moved %d (peer holds %d), want %d", openers[i].Name(),
				peers[i].Name(), before[i]-after[i], peerLocal, want[i])
		}
	}
	list, err := l.dave.Client().InvoiceList(ctxCall(t))
	if err != nil || len(list.Invoices) != 1 || list.Invoices[0].State != "settled" {
		t.Fatalf("dave's invoices: %+v, %v", list, err)
	}

	// The same invoice again: refused, nothing moves.
	r = runCLI(t, "--datadir", l.alice.DataDir(), "pay", inv.Invoice)
	if r.exitCode == 0 || !strings.Contains(r.stderr, "already paid") {
		t.Fatalf("second pay: %v", r)
	}

	// An expired invoice fails with a clear reason, nothing moves.
	expiring, err := l.dave.Client().InvoiceAdd(ctxCall(t), rpc.InvoiceAddRequest{AmountMsat: 1000, ExpirySeconds: 1})
	if err != nil {
		t.Fatal(err)
	}
	err = WaitFor(t.Context(), syncTimeout, "invoice expiry", func(ctx context.Context) (bool, error) {
		res, err := l.dave.Client().InvoiceList(ctx)
		return err == nil && res.Invoices[1].State == "expired", err
	})
	if err != nil {
		t.Fatal(err)
	}
	exp, err := l.alice.Client().Pay(ctxCall(t), rpc.PayRequest{Invoice: expiring.Invoice})
	if err != nil || exp.Status != "failed" || !strings.Contains(exp.FailureReason, "expired") {
		t.Fatalf("expired invoice: %+v, %v", exp, err)
	}

	// A wrong amount is refused.
	other, err := l.dave.Client().InvoiceAdd(ctxCall(t), rpc.InvoiceAddRequest{AmountMsat: 5000})
	if err != nil {
		t.Fatal(err)
	}
	wrong, err := l.alice.Client().Pay(ctxCall(t), rpc.PayRequest{Invoice: other.Invoice, AmountMsat: 4000})
	if err != nil || wrong.Status != "failed" || wrong.FailureReason == "" {
		t.Fatalf("wrong amount: %+v, %v", wrong, err)
	}

	for i := range after {
		a, _ := channelBalances(t, openers[i], l.points[i])
		if a != after[i] {
			t.Errorf("channel %s-%s moved after the refused payments: %d -> %d",
				openers[i].Name(), peers[i].Name(), after[i], a)
		}
	}
}

// TestPayConcurrentAndKill sends payments at once over the line, kills
// the first forwarder with HTLCs in flight and restarts it: every payment
// ends succeeded or failed, the invoices settled are exactly the payments
// succeeded, each channel's balances still add up, no HTLC stays pending.
func TestPayConcurrentAndKill(t *testing.T) {
	l := newLineNet(t)
	const n, amount = 12, 1_000_000 // msat
	var totals [3]int64
	openers := [3]*Node{l.alice, l.bob, l.carol}
	for i := range totals {
		a, b := channelBalances(t, openers[i], l.points[i])
		totals[i] = a + b
	}
	invs := make([]*rpc.InvoiceAddResponse, n)
	for i := range invs {
		inv, err := l.dave.Client().InvoiceAdd(ctxCall(t), rpc.InvoiceAddRequest{AmountMsat: amount})
		if err != nil {
			t.Fatal(err)
		}
		invs[i] = inv
	}
	type outcome struct {
		res *rpc.PayResponse
		err error
	}
	pay := func(from, to int) []outcome {
		out := make([]outcome, to-from)
		done := make(chan struct{})
		for i := from; i < to; i++ {
			go func() {
				defer func() { done <- struct{}{} }()
				ctx, cancel := context.WithTimeout(t.Context(), 2*syncTimeout)
				defer cancel()
				res, err := l.alice.Client().Pay(ctx, rpc.PayRequest{Invoice: invs[i].Invoice, TimeoutSeconds: 20})
				out[i-from] = outcome{res, err}
			}()
		}
		for range to - from {
			<-done
		}
		return out
	}

	succeeded := map[string]bool{}
	check := func(first int, outs []outcome) {
		t.Helper()
		for i, o := range outs {
			if o.err != nil || o.res.Status != "succeeded" && o.res.Status != "failed" {
				t.Fatalf("payment %d: %+v, %v", first+i, o.res, o.err)
			}
			if o.res.Status == "succeeded" {
				succeeded[o.res.PaymentHash] = true
			}
		}
	}

	// Half at once on a healthy line.
	check(0, pay(0, n/2))
	if len(succeeded) == 0 {
		t.Fatal("no concurrent payment succeeded")
	}
	t.Logf("%d of %d concurrent payments succeeded", len(succeeded), n/2)

	// The other half while bob dies and comes back.
	results := make(chan []outcome, 1)
	var finished atomic.Bool
	go func() {
		outs := pay(n/2, n)
		finished.Store(true)
		results <- outs
	}()
	// Kill bob as soon as alice has an HTLC out to him (unless the
	// payments are all over by then).
	err := WaitFor(t.Context(), syncTimeout, "an HTLC in flight", func(ctx context.Context) (bool, error) {
		if finished.Load() {
			return true, nil
		}
		res, err := l.alice.Client().ChannelList(ctx)
		if err != nil {
			return false, err
		}
		for _, c := range res.Channels {
			if c.ChannelPoint == l.points[0] && c.NumPendingHTLCs > 0 {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.bob.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := l.bob.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	before := len(succeeded)
	check(n/2, <-results)
	t.Logf("%d of %d payments succeeded across bob's kill", len(succeeded)-before, n-n/2)

	for i := range totals {
		a, b := channelBalances(t, openers[i], l.points[i])
		if a+b != totals[i] {
			t.Errorf("channel %d: balances add up to %d, was %d", i, a+b, totals[i])
		}
	}
	list, err := l.dave.Client().InvoiceList(ctxCall(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, inv := range list.Invoices {
		if (inv.State == "settled") != succeeded[inv.PaymentHash] {
			t.Errorf("invoice %s is %s, payment succeeded: %v", inv.PaymentHash, inv.State, succeeded[inv.PaymentHash])
		}
	}
}
