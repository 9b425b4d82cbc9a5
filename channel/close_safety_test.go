package channel

import (
	"bytes"
	"testing"

	"github.com/btcsuite/btcd/btcutil"

	"github.com/flash-ln/flash/channel/lnwire"
)

// negotiatingPair runs the shutdown exchange: alice (the funder) has sent
// her first closing_signed, which is left undelivered.
func negotiatingPair(t *testing.T) (*Channel, *Channel, *link) {
	t.Helper()
	a, b := newPair(t, pairOptions{})
	l := newLink(t, a, b)
	out, err := a.InitiateShutdown(nil)
	if err != nil {
		t.Fatal(err)
	}
	l.take(true, out)
	if err := l.deliver(true); err != nil {
		t.Fatal(err)
	}
	if err := l.deliver(false); err != nil {
		t.Fatal(err)
	}
	if a.st.Phase != PhaseNegotiating || b.st.Phase != PhaseNegotiating || !a.st.Close.HaveSent {
		t.Fatal("negotiation did not start")
	}
	return a, b, l
}

// A peer may drop its own output from the closing transaction, never ours:
// a signature over a transaction without our output is refused whatever
// the fee, and the refusal changes nothing.
func TestClosingRefusesTxWithoutOurOutput(t *testing.T) {
	tests := []struct {
		name string
		fee  func(a *Channel) btcutil.Amount
	}{
		{"fee equal to our last offer", func(a *Channel) btcutil.Amount { return a.st.Close.LastSentFee }},
		{"fee inside our range", func(a *Channel) btcutil.Amount { lo, hi := a.st.closingFeeRange(); return (lo + hi) / 2 }},
		{"fee at our minimum", func(a *Channel) btcutil.Amount { lo, _ := a.st.closingFeeRange(); return lo }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b, _ := negotiatingPair(t)
			fee := tc.fee(a)
			// Bob's variant, then alice's output removed from it.
			tx, err := b.st.closingTx(fee, false, b.st.Params.Local.DustLimit)
			if err != nil {
				t.Fatal(err)
			}
			kept := tx.TxOut[:0]
			for _, o := range tx.TxOut {
				if !bytes.Equal(o.PkScript, a.st.Close.LocalScript) {
					kept = append(kept, o)
				}
			}
			tx.TxOut = kept
			if len(tx.TxOut) != 1 {
				t.Fatalf("crafted tx has %d outputs, want 1", len(tx.TxOut))
			}
			sig, err := b.signClosingTx(b.st, tx)
			if err != nil {
				t.Fatal(err)
			}
			m := &lnwire.ClosingSigned{ChannelID: b.st.Params.ChannelID(), FeeSatoshis: uint64(fee), Signature: toWireSig(sig)}
			before := a.Marshal()
			out, err := a.Receive(wireRoundTrip(t, m))
			if err == nil {
				t.Fatalf("accepted a closing tx without our output: %+v", out)
			}
			if len(out.Messages) != 0 || len(out.Events) != 0 || a.ClosingTx() != nil {
				t.Fatal("refused closing_signed produced output")
			}
			if !bytes.Equal(before, a.Marshal()) {
				t.Fatal("refused closing_signed changed the state")
			}
		})
	}
}

// A legacy peer (no fee_range) repeating a huge fee must not drag the
// funder above its maximum: the repeated offer is not strictly between the
// previous two and is refused.
func TestClosingLegacyRepeatedHighFee(t *testing.T) {
	a, b, _ := negotiatingPair(t)
	_, hi := a.st.closingFeeRange()
	huge := a.st.funderBalance() / 2
	if huge <= hi {
		t.Fatalf("test needs a fee above %d", hi)
	}
	var refused bool
	for i := 0; i < 64 && !refused; i++ {
		m, err := b.signClosing(b.st, huge)
		if err != nil {
			t.Fatal(err)
		}
		before := a.Marshal()
		out, err := a.Receive(wireRoundTrip(t, m))
		if err != nil {
			pe, ok := err.(*ProtocolError)
			if !ok || !pe.FailChannel() && pe.Code != CodeBadClosingFee {
				t.Fatalf("got %v, want a protocol error", err)
			}
			if !bytes.Equal(before, a.Marshal()) {
				t.Fatal("refused closing_signed changed the state")
			}
			refused = true
			break
		}
		for _, msg := range out.Messages {
			if cs, ok := msg.(*lnwire.ClosingSigned); ok && btcutil.Amount(cs.FeeSatoshis) > hi {
				t.Fatalf("round %d: funder offered %d above its maximum %d", i, cs.FeeSatoshis, hi)
			}
		}
		for _, e := range out.Events {
			if r, ok := e.(ClosingTxReady); ok && r.Fee > hi {
				t.Fatalf("round %d: funder agreed to %d above its maximum %d", i, r.Fee, hi)
			}
		}
		if a.ClosingTx() != nil {
			t.Fatalf("round %d: funder agreed to a fee outside its range", i)
		}
	}
	if !refused {
		t.Fatal("a repeated out-of-range offer was never refused")
	}
}

// An honest legacy peer that moves strictly towards us still converges.
func TestClosingLegacyConverges(t *testing.T) {
	a, b, _ := negotiatingPair(t)
	_, hi := a.st.closingFeeRange()
	fee := hi * 3
	for i := 0; i < 64 && a.ClosingTx() == nil; i++ {
		m, err := b.signClosing(b.st, fee)
		if err != nil {
			t.Fatal(err)
		}
		out, err := a.Receive(wireRoundTrip(t, m))
		if err != nil {
			t.Fatalf("round %d fee %d: %v", i, fee, err)
		}
		for _, msg := range out.Messages {
			if cs, ok := msg.(*lnwire.ClosingSigned); ok {
				fee = (fee + btcutil.Amount(cs.FeeSatoshis)) / 2
			}
		}
	}
	if a.ClosingTx() == nil {
		t.Fatal("negotiation did not converge")
	}
}

// The peer may drop its own output (BOLT 3): that variant is accepted and
// pays us in full.
func TestClosingAcceptsPeerOmittingItsOutput(t *testing.T) {
	a, b, _ := negotiatingPair(t)
	fee := a.st.Close.LastSentFee
	tx, err := b.st.closingTx(fee, false, b.st.Params.Local.DustLimit)
	if err != nil {
		t.Fatal(err)
	}
	kept := tx.TxOut[:0]
	for _, o := range tx.TxOut {
		if !bytes.Equal(o.PkScript, b.st.Close.LocalScript) {
			kept = append(kept, o)
		}
	}
	tx.TxOut = kept
	sig, err := b.signClosingTx(b.st, tx)
	if err != nil {
		t.Fatal(err)
	}
	m := &lnwire.ClosingSigned{ChannelID: b.st.Params.ChannelID(), FeeSatoshis: uint64(fee), Signature: toWireSig(sig)}
	if _, err := a.Receive(wireRoundTrip(t, m)); err != nil {
		t.Fatal(err)
	}
	final := a.ClosingTx()
	want := int64(a.st.LocalCommit.Spec.LocalBalance/1000) - int64(fee)
	if final == nil || len(final.TxOut) != 1 || final.TxOut[0].Value != want {
		t.Fatalf("closing tx %v, want one output of %d to us", final, want)
	}
}
