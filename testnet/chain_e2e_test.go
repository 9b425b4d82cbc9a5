package testnet

import (
	"testing"
	"time"

	"github.com/flash-ln/flash/daemon/rpc"
)

// TestChainRelayAndPayment links three chains in a line (alice <- bob <-
// carol), checks that blocks mined at either end reach every node, and
// pays from alice's wallet to bob's address, accounting for every satoshi.
func TestChainRelayAndPayment(t *testing.T) {
	nw := newNetwork(t)
	alice := startNode(t, nw, "alice")
	bob := startNode(t, nw, "bob", alice)
	carol := startNode(t, nw, "carol", bob)

	hashes := mine(t, alice, fundedHeight, "")
	tip := sameTip(t, fundedHeight, alice, bob, carol)
	if tip.Height != fundedHeight || tip.Hash != hashes[fundedHeight-1] {
		t.Fatalf("tip %+v, want %d %s", tip, fundedHeight, hashes[fundedHeight-1])
	}
	// And from the other end of the line. The relay time is logged, not
	// asserted: the machine may be loaded.
	hashes = mine(t, carol, 1, "")
	mined := time.Now()
	if tip = sameTip(t, fundedHeight+1, alice, bob, carol); tip.Hash != hashes[0] {
		t.Fatalf("tip %+v, want carol's block %s", tip, hashes[0])
	}
	t.Logf("carol's block reached alice across bob within %v", time.Since(mined).Round(time.Millisecond))

	// A coinbase has 100 confirmations, and is spendable, once the tip
	// is 99 blocks above it.
	aliceBefore := balance(t, alice)
	want := rpc.BalanceResponse{
		ConfirmedSat: subsidies(1, tip.Height-99),
		ImmatureSat:  subsidies(tip.Height-98, fundedHeight),
	}
	if aliceBefore != want {
		t.Fatalf("alice's balance after mining: %+v, want %+v", aliceBefore, want)
	}

	const amount = 123_456_789
	bobAddr := newAddress(t, bob)
	sent, err := alice.Client().Send(ctxCall(t), rpc.SendRequest{
		Address: bobAddr, AmountSat: amount, SatPerVByte: 2,
	})
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	if sent.FeeSat <= 0 || sent.FeeSat > 10_000 {
		t.Fatalf("fee %d sat for a one-input payment at 2 sat/vB", sent.FeeSat)
	}
	t.Logf("txid %s, fee %d sat", sent.Txid, sent.FeeSat)

	// Spent at once on alice's side; relayed to bob as unconfirmed.
	aliceSent := balance(t, alice)
	if got, want := total(aliceSent), total(aliceBefore)-amount-sent.FeeSat; got != want {
		t.Fatalf("alice's total after send %d, want %d (%+v)", got, want, aliceSent)
	}
	waitBalance(t, bob, "sees the unconfirmed payment", func(b rpc.BalanceResponse) bool {
		return b.UnconfirmedSat == amount
	})

	// Confirm in a block whose coinbase goes to carol, so that only the
	// payment (and one more coinbase maturing) moves alice's funds.
	hashes = mine(t, alice, 1, newAddress(t, carol))
	if tip = sameTip(t, fundedHeight+2, alice, bob, carol); tip.Hash != hashes[0] {
		t.Fatalf("tip %+v, want %s", tip, hashes[0])
	}
	if b := balance(t, bob); b != (rpc.BalanceResponse{ConfirmedSat: amount}) {
		t.Fatalf("bob's balance %+v, want %d sat confirmed", b, amount)
	}
	aliceAfter := balance(t, alice)
	if aliceAfter.UnconfirmedSat != 0 || aliceAfter.LockedSat != 0 {
		t.Fatalf("alice's change still unconfirmed or locked: %+v", aliceAfter)
	}
	if got, want := total(aliceAfter), total(aliceBefore)-amount-sent.FeeSat; got != want {
		t.Fatalf("alice's total after confirmation %d, want %d (%+v)", got, want, aliceAfter)
	}
	if got, want := aliceAfter.ImmatureSat, subsidies(tip.Height-98, fundedHeight); got != want {
		t.Fatalf("alice's immature funds %d, want %d", got, want)
	}
}

// TestReorgUndoesPayment pays from alice to bob in blocks that a longer
// branch mined apart replaces: both nodes end on the longer branch, and the
// payment is unconfirmed again or gone, never counted twice.
func TestReorgUndoesPayment(t *testing.T) {
	nw := newNetwork(t)
	alice := startNode(t, nw, "alice")
	mine(t, alice, fundedHeight, "")
	bob := startNode(t, nw, "bob", alice)
	common := sameTip(t, fundedHeight, alice, bob)

	// Split: bob restarts without its chain peer; alice never dials bob.
	ctx := ctxCall(t)
	if err := bob.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	bob.SetChainConnect(nil)
	if err := bob.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if info, err := bob.Client().ChainInfo(ctx); err != nil || info.NumChainPeers != 0 {
		t.Fatalf("bob after restart: %+v, %v; want no chain peer", info, err)
	}

	aliceBefore := balance(t, alice)
	const amount = 250_000_000
	sent, err := alice.Client().Send(ctx, rpc.SendRequest{
		Address: newAddress(t, bob), AmountSat: amount, SatPerVByte: 5,
	})
	if err != nil {
		t.Fatalf("send: %v", err)
	}

	// Alice's side: 2 blocks, the first confirming the payment. Their
	// coinbases (which collect the fee) go to neither wallet.
	mine(t, alice, 2, outsiderAddress)
	aliceSide := balance(t, alice)
	if aliceSide.UnconfirmedSat != 0 {
		t.Fatalf("payment not confirmed on alice's side: %+v", aliceSide)
	}
	if got, want := total(aliceSide), total(aliceBefore)-amount-sent.FeeSat; got != want {
		t.Fatalf("alice's total on her branch %d, want %d", got, want)
	}

	// Bob's side: 3 blocks, more work.
	bobHashes := mine(t, bob, 3, "")
	bobCoinbases := subsidies(common.Height+1, common.Height+3)
	if b := balance(t, bob); b != (rpc.BalanceResponse{ImmatureSat: bobCoinbases}) {
		t.Fatalf("bob's balance on his branch: %+v", b)
	}

	if err := bob.Client().ChainConnect(ctx, alice.ChainAddress()); err != nil {
		t.Fatalf("chain connect: %v", err)
	}
	tip := sameTip(t, common.Height+3, alice, bob)
	if tip.Hash != bobHashes[2] || tip.Height != common.Height+3 {
		t.Fatalf("tip after rejoining %+v, want bob's %d %s", tip, common.Height+3, bobHashes[2])
	}

	// Alice's branch is gone. The payment is
	// back in the mempool (alice's total keeps it spent) or dropped
	// (alice has her coins back); never both, never confirmed.
	aliceAfter := balance(t, alice)
	pending := total(aliceBefore) - amount - sent.FeeSat
	switch total(aliceAfter) {
	case pending:
		if aliceAfter.UnconfirmedSat == 0 {
			t.Errorf("alice's change counted as confirmed: %+v", aliceAfter)
		}
		t.Logf("payment back in the mempool: %+v", aliceAfter)
	case total(aliceBefore):
		t.Logf("payment dropped: %+v", aliceAfter)
	default:
		t.Fatalf("alice's total after the reorganisation %d, want %d (payment pending) or %d (payment gone); %+v",
			total(aliceAfter), pending, total(aliceBefore), aliceAfter)
	}
	bobAfter := balance(t, bob)
	if bobAfter.ConfirmedSat != 0 || bobAfter.ImmatureSat != bobCoinbases ||
		(bobAfter.UnconfirmedSat != 0 && bobAfter.UnconfirmedSat != amount) {
		t.Fatalf("bob's balance after the reorganisation %+v: want the payment unconfirmed or gone", bobAfter)
	}
}
