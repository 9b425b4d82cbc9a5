package channel

import (
	"bytes"
	"testing"

	"github.com/btcsuite/btcd/btcutil"

	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/channel/script"
)

func testOnion(i uint64) [lnwire.OnionPacketSize]byte {
	var o [lnwire.OnionPacketSize]byte
	o[0] = byte(i)
	o[1] = byte(i >> 8)
	return o
}

// buildOwn rebuilds a machine's current local commitment, or the peer's
// current one as the machine sees it.
func buildCommitmentOf(t testing.TB, c *Channel, local bool) *script.Commitment {
	t.Helper()
	st := c.st
	if local {
		ck, err := c.localKeys(st.LocalCommit.Index, &st.LocalCommit.Spec)
		if err != nil {
			t.Fatal(err)
		}
		cm, err := c.buildCommitment(st, true, st.LocalCommit.Index, ck, &st.LocalCommit.Spec)
		if err != nil {
			t.Fatal(err)
		}
		return cm
	}
	cm, err := c.buildCommitment(st, false, st.RemoteCommit.Index, c.remoteKeys(st.RemoteCommit.Point, &st.RemoteCommit.Spec), &st.RemoteCommit.Spec)
	if err != nil {
		t.Fatal(err)
	}
	return cm
}

func txBytes(t testing.TB, cm *script.Commitment) []byte {
	var b bytes.Buffer
	if err := cm.Tx.Serialize(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// checkAgreement asserts that both machines build the same bytes for each
// of the two current commitments, and that every commitment accounts for
// the whole capacity.
func checkAgreement(t testing.TB, a, b *Channel) {
	t.Helper()
	if a.st.LocalCommit.Index == b.st.RemoteCommit.Index {
		if !bytes.Equal(txBytes(t, buildCommitmentOf(t, a, true)), txBytes(t, buildCommitmentOf(t, b, false))) {
			t.Fatalf("commitment %d of alice differs between the two sides", a.st.LocalCommit.Index)
		}
	}
	if b.st.LocalCommit.Index == a.st.RemoteCommit.Index {
		if !bytes.Equal(txBytes(t, buildCommitmentOf(t, b, true)), txBytes(t, buildCommitmentOf(t, a, false))) {
			t.Fatalf("commitment %d of bob differs between the two sides", b.st.LocalCommit.Index)
		}
	}
	for _, c := range []*Channel{a, b} {
		checkInvariants(t, c)
	}
}

// checkInvariants asserts what must hold of any state: every commitment
// spec adds up to the capacity, and so do its transaction's outputs and fee.
func checkInvariants(t testing.TB, c *Channel) {
	t.Helper()
	capMsat := lnwire.NewMSatFromSatoshis(uint64(c.st.Params.Capacity))
	specs := []*CommitmentSpec{&c.st.LocalCommit.Spec, &c.st.RemoteCommit.Spec}
	if c.st.RemoteNext != nil {
		specs = append(specs, &c.st.RemoteNext.Spec)
	}
	for _, s := range specs {
		sum := s.LocalBalance + s.RemoteBalance
		for _, h := range s.HTLCs {
			sum += h.Amount
		}
		if sum != capMsat {
			t.Fatalf("spec sums to %v, capacity %v", sum, capMsat)
		}
	}
	for _, local := range []bool{true, false} {
		cm := buildCommitmentOf(t, c, local)
		var out btcutil.Amount
		for _, o := range cm.Tx.TxOut {
			out += btcutil.Amount(o.Value)
		}
		if out+cm.Fee != c.st.Params.Capacity {
			t.Fatalf("outputs %v + fee %v != capacity %v", out, cm.Fee, c.st.Params.Capacity)
		}
	}
}

func TestPaymentCycle(t *testing.T) {
	a, b := newPair(t, pairOptions{})
	l := newLink(t, a, b)
	pre, hash := testPreimage(1)
	id, out, err := a.AddHTLC(AddHTLC{Amount: 50_000_000, PaymentHash: hash, CLTVExpiry: 500, Onion: testOnion(1)})
	if err != nil {
		t.Fatal(err)
	}
	l.take(true, out)
	l.settle()
	checkAgreement(t, a, b)

	var locked *HTLC
	for _, e := range l.events[1] {
		if e, ok := e.(IncomingHTLCLocked); ok {
			locked = &e.HTLC
		}
	}
	if locked == nil || locked.ID != id || locked.Amount != 50_000_000 {
		t.Fatalf("bob did not lock in the HTLC: %+v", l.events[1])
	}
	out, err = b.FulfillHTLC(id, pre)
	if err != nil {
		t.Fatal(err)
	}
	l.take(false, out)
	l.settle()
	checkAgreement(t, a, b)
	var settled bool
	for _, e := range l.events[0] {
		if e, ok := e.(OutgoingHTLCSettled); ok && e.ID == id && e.Preimage == pre {
			settled = true
		}
	}
	if !settled {
		t.Fatalf("alice did not see the settlement: %+v", l.events[0])
	}
	if got := a.st.LocalCommit.Spec.LocalBalance; got != lnwire.NewMSatFromSatoshis(7_000_000)-50_000_000 {
		t.Fatalf("alice balance %v", got)
	}
	if a.HasPendingUpdates() || b.HasPendingUpdates() {
		t.Fatal("updates still pending after settle")
	}
}

func TestHTLCsPastDeadline(t *testing.T) {
	a, b := newPair(t, pairOptions{})
	l := lockedHTLC(t, a, b, 50_000_000, 1) // expiry 600
	if got := a.HTLCsPastDeadline(600, 2, 18); len(got) != 0 {
		t.Fatalf("offered HTLC past deadline too early: %v", got)
	}
	if got := a.HTLCsPastDeadline(602, 2, 18); len(got) != 1 || got[0].ID != 0 {
		t.Fatalf("offered HTLC not reported at its deadline: %v", got)
	}
	pre, _ := testPreimage(1)
	out, err := b.FulfillHTLC(0, pre)
	if err != nil {
		t.Fatal(err)
	}
	l.take(false, out)
	if got := b.HTLCsPastDeadline(581, 2, 18); len(got) != 0 {
		t.Fatalf("fulfilled HTLC reported too early: %v", got)
	}
	if got := b.HTLCsPastDeadline(582, 2, 18); len(got) != 1 {
		t.Fatalf("fulfilled HTLC not reported at its deadline: %v", got)
	}
	l.settle()
	if got := b.HTLCsPastDeadline(1000, 2, 18); len(got) != 0 {
		t.Fatalf("settled HTLC still reported: %v", got)
	}
}

func TestDisconnectDropsUnsignedUpdates(t *testing.T) {
	a, b := newPair(t, pairOptions{})
	l := newLink(t, a, b)
	_, hash := testPreimage(1)
	id, out, err := a.AddHTLC(AddHTLC{Amount: 20_000_000, PaymentHash: hash, CLTVExpiry: 700, Onion: testOnion(1)})
	if err != nil {
		t.Fatal(err)
	}
	l.take(true, out)
	l.flush()
	l.disconnect()
	var dropped []Update
	for _, e := range l.events[0] {
		if e, ok := e.(LocalUpdatesDropped); ok {
			dropped = e.Updates
		}
	}
	if len(dropped) != 1 || dropped[0].HTLCID != id {
		t.Fatalf("dropped updates %+v", dropped)
	}
	if a.st.LocalNextHTLCID != id || b.st.RemoteNextHTLCID != id {
		t.Fatal("HTLC ids not rolled back on both sides")
	}
	l.connect()
	l.flush()
	// The same id is used again, as BOLT 2 expects after a reconnection.
	id2, out, err := a.AddHTLC(AddHTLC{Amount: 20_000_000, PaymentHash: hash, CLTVExpiry: 700, Onion: testOnion(1)})
	if err != nil || id2 != id {
		t.Fatalf("re-add: id %d, %v", id2, err)
	}
	l.take(true, out)
	l.settle()
	checkAgreement(t, a, b)
}
