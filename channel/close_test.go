package channel

import (
	"bytes"
	"testing"

	"github.com/btcsuite/btcd/wire"

	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/channel/script"
)

func closingTxs(l *link) [2]*ClosingTxReady {
	var out [2]*ClosingTxReady
	for i := range l.events {
		for _, e := range l.events[i] {
			if e, ok := e.(ClosingTxReady); ok {
				out[i] = &e
			}
		}
	}
	return out
}

func TestCooperativeCloseWaitsForHTLCs(t *testing.T) {
	a, b := newPair(t, pairOptions{})
	l := lockedHTLC(t, a, b, 50_000_000, 1)

	out, err := b.InitiateShutdown(p2wpkhOf(testKey("bob/closing")))
	if err != nil {
		t.Fatal(err)
	}
	l.take(false, out)
	l.flush()
	if a.Phase() != PhaseShutdown || b.Phase() != PhaseShutdown {
		t.Fatalf("phases %v %v, want shutdown", a.Phase(), b.Phase())
	}
	if _, _, err := a.AddHTLC(AddHTLC{Amount: 5_000_000, CLTVExpiry: 10}); !IsCode(err, CodeChannelClosing) {
		t.Fatalf("add after shutdown: %v", err)
	}
	// The HTLC still settles, then the funder opens the negotiation.
	pre, _ := testPreimage(1)
	out, err = b.FulfillHTLC(0, pre)
	if err != nil {
		t.Fatal(err)
	}
	l.take(false, out)
	l.settle()
	txs := closingTxs(l)
	if txs[0] == nil || txs[1] == nil {
		t.Fatal("negotiation did not complete")
	}
	var ba, bb bytes.Buffer
	txs[0].Tx.Serialize(&ba)
	txs[1].Tx.Serialize(&bb)
	if !bytes.Equal(ba.Bytes(), bb.Bytes()) {
		t.Fatal("the two sides hold different closing transactions")
	}
	_, pk, _ := script.FundingScript(a.st.Params.Local.FundingKey, a.st.Params.Remote.FundingKey)
	verifySpends(t, txs[0].Tx, map[wire.OutPoint]*wire.TxOut{
		a.st.Params.FundingOutpoint: wire.NewTxOut(int64(a.st.Params.Capacity), pk)})
	if a.Phase() != PhaseClosed || b.Phase() != PhaseClosed {
		t.Fatal("channel not closed")
	}
	restored, err := Unmarshal(a.Marshal(), a.keys)
	if err != nil {
		t.Fatal(err)
	}
	if tx := restored.ClosingTx(); tx == nil || tx.TxHash() != txs[0].Tx.TxHash() {
		t.Fatal("closing transaction lost across a restart")
	}
	if _, err := a.Receive(&lnwire.UpdateFee{ChannelID: a.ID(), FeeratePerKw: 300}); !IsCode(err, CodeUnexpectedMessage) {
		t.Fatalf("message after close: %v", err)
	}
}

func TestClosingNegotiationCounterProposal(t *testing.T) {
	a, b := newPair(t, pairOptions{})
	l := newLink(t, a, b)
	out, err := a.InitiateShutdown(p2wpkhOf(testKey("alice/closing")))
	if err != nil {
		t.Fatal(err)
	}
	l.take(true, out)
	l.deliver(true)  // bob gets shutdown, replies
	l.deliver(false) // alice gets shutdown, proposes
	cs := l.ab[0].(*lnwire.ClosingSigned)
	if cs.FeeRange == nil || cs.FeeSatoshis < cs.FeeRange.MinFeeSatoshis || cs.FeeSatoshis > cs.FeeRange.MaxFeeSatoshis {
		t.Fatalf("bad proposal %+v", cs)
	}
	// Replace alice's proposal by one below bob's range: bob must answer
	// with the lowest fee he accepts, and alice, the funder, agree.
	lo, _ := b.st.closingFeeRange()
	low, err := a.signClosing(a.st, lo-1)
	if err != nil {
		t.Fatal(err)
	}
	low.FeeRange = &lnwire.FeeRange{MinFeeSatoshis: uint64(lo - 1), MaxFeeSatoshis: cs.FeeRange.MaxFeeSatoshis}
	a.st.Close.LastSentFee = lo - 1
	l.ab[0] = low
	l.deliver(true)
	counter := l.ba[0].(*lnwire.ClosingSigned)
	if counter.FeeSatoshis != uint64(lo) {
		t.Fatalf("bob counters with %d, want %d", counter.FeeSatoshis, lo)
	}
	l.flush()
	txs := closingTxs(l)
	if txs[0] == nil || txs[1] == nil || txs[0].Fee != lo || txs[1].Fee != lo {
		t.Fatalf("negotiation did not converge on %d: %+v", lo, txs)
	}
}

func TestShutdownRetransmittedAfterReconnect(t *testing.T) {
	a, b := newPair(t, pairOptions{})
	l := newLink(t, a, b)
	out, err := a.InitiateShutdown(p2wpkhOf(testKey("alice/closing")))
	if err != nil {
		t.Fatal(err)
	}
	l.take(true, out)
	l.disconnect()
	l.connect()
	l.flush()
	if txs := closingTxs(l); txs[0] == nil || txs[1] == nil {
		t.Fatal("close did not complete after reconnection")
	}
}

func TestClosingNegotiationWithoutFeeRange(t *testing.T) {
	a, b := newPair(t, pairOptions{})
	l := newLink(t, a, b)
	out, err := a.InitiateShutdown(nil)
	if err != nil {
		t.Fatal(err)
	}
	l.take(true, out)
	l.deliver(true)
	l.deliver(false)
	// An older peer sends no fee_range and a fee bob finds too low.
	lo, _ := b.st.closingFeeRange()
	legacy, err := a.signClosing(a.st, lo/2)
	if err != nil {
		t.Fatal(err)
	}
	a.st.Close.LastSentFee = lo / 2
	l.ab[0] = legacy
	l.deliver(true)
	if got := l.ba[0].(*lnwire.ClosingSigned).FeeSatoshis; got != uint64(lo) {
		t.Fatalf("bob counters with %d, want %d", got, lo)
	}
	l.flush()
	if ta, tb := a.ClosingTx(), b.ClosingTx(); ta == nil || tb == nil || ta.TxHash() != tb.TxHash() {
		t.Fatal("negotiation did not converge")
	}
}

func TestClosingWithDifferentDustLimits(t *testing.T) {
	// Bob's 400 sat are above his dust limit and below alice's: each
	// signs a different variant, and they must still agree on one.
	a, b := newPair(t, pairOptions{capacity: 1_000_000, localBalance: 999_600,
		tweak: func(pa, pb *PartyConfig) { pb.DustLimit = 354 }})
	l := newLink(t, a, b)
	out, err := a.InitiateShutdown(nil)
	if err != nil {
		t.Fatal(err)
	}
	l.take(true, out)
	l.flush()
	ta, tb := a.ClosingTx(), b.ClosingTx()
	if ta == nil || tb == nil || ta.TxHash() != tb.TxHash() {
		t.Fatal("negotiation did not converge")
	}
	if len(ta.TxOut) != 1 {
		t.Fatalf("closing transaction has %d outputs, want alice's only", len(ta.TxOut))
	}
	_, pk, _ := script.FundingScript(a.st.Params.Local.FundingKey, a.st.Params.Remote.FundingKey)
	verifySpends(t, ta, map[wire.OutPoint]*wire.TxOut{
		a.st.Params.FundingOutpoint: wire.NewTxOut(int64(a.st.Params.Capacity), pk)})
}
