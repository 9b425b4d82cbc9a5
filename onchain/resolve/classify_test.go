package resolve

import (
	"bytes"
	"errors"
	"testing"

	"github.com/btcsuite/btcd/wire"

	"github.com/flash-ln/flash/channel"
	"github.com/flash-ln/flash/onchain/notify"
)

// HTLC expiries lie after the commitments confirm (testConfHeight), so
// that the timelocks matter.
const (
	expiryA1 = 1100 // alice offers 500 000 sat
	expiryB1 = 1110 // bob offers 400 000 sat
	expiryA2 = 1120 // alice offers 200 000 sat, after the snapshot
)

// history is a channel that went through two states with HTLCs in both
// directions, and what each side could broadcast along the way.
type history struct {
	*pair
	hashA1, hashB1, hashA2 [32]byte
	// bobOld and aliceOld are the commitments of the first state, now
	// revoked; bobOldHTLC the HTLC transactions bob could broadcast
	// with bobOld.
	bobOld, aliceOld *wire.MsgTx
	bobOldHTLC       []channel.LocalHTLCTx
	// aliceSnapshot is alice's stored state at the first state.
	aliceSnapshot []byte
}

func newHistory(t testing.TB) *history {
	t.Helper()
	h := &history{pair: newPair(t)}
	h.hashA1 = h.addHTLC(true, 500_000, expiryA1, "a1")
	h.hashB1 = h.addHTLC(false, 400_000, expiryB1, "b1")
	h.bobOld = commitmentTx(t, h.bob)
	h.aliceOld = commitmentTx(t, h.alice)
	var err error
	h.bobOldHTLC, err = h.bob.LocalHTLCTxs(func(hash [32]byte) ([32]byte, bool) {
		p, ok := h.bobPre[hash]
		return p, ok
	})
	if err != nil {
		t.Fatal(err)
	}
	h.aliceSnapshot = h.alice.Marshal()
	h.hashA2 = h.addHTLC(true, 200_000, expiryA2, "a2")
	return h
}

// closingView overrides the cooperative closing transaction of a view.
type closingView struct {
	ChannelView
	closing *wire.MsgTx
}

func (v closingView) ClosingTx() *wire.MsgTx { return v.closing }

func TestClassify(t *testing.T) {
	h := newHistory(t)
	old, err := channel.Unmarshal(h.aliceSnapshot, h.ka)
	if err != nil {
		t.Fatal(err)
	}
	funding := h.alice.Params().FundingOutpoint

	coop := wire.NewMsgTx(2)
	coop.AddTxIn(&wire.TxIn{PreviousOutPoint: funding, Sequence: wire.MaxTxInSequenceNum})
	coop.AddTxOut(wire.NewTxOut(5_000_000, sweepScript))

	tampered := commitmentTx(t, h.bob).Copy()
	tampered.TxOut[0].Value--

	unrelated := commitmentTx(t, h.bob).Copy()
	unrelated.TxIn[0].PreviousOutPoint.Index++

	// A closing transaction we signed during the negotiation could carry
	// any locktime; its txid alone identifies it.
	oddClosing := h.aliceOld.Copy()
	oddClosing.TxOut = oddClosing.TxOut[:1]

	tests := []struct {
		name    string
		view    ChannelView
		tx      *wire.MsgTx
		want    CloseKind
		paysUs  bool
		wantErr error
	}{
		{"cooperative", h.alice, coop, Cooperative, false, nil},
		{"our closing txid", closingView{h.alice, oddClosing}, oddClosing, Cooperative, false, nil},
		{"our commitment", h.alice, commitmentTx(t, h.alice), LocalCommit, false, nil},
		{"their commitment", h.alice, commitmentTx(t, h.bob), RemoteCommit, false, nil},
		{"their revoked commitment", h.alice, h.bobOld, Breach, true, nil},
		{"our revoked commitment", h.alice, h.aliceOld, LocalRevokedCommit, false, nil},
		{"their future commitment", old, commitmentTx(t, h.bob), RemoteFutureCommit, true, nil},
		{"known number, unknown txid", h.alice, tampered, UnknownSpend, true, nil},
		{"not a funding spend", h.alice, unrelated, 0, false, ErrNotFundingSpend},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Classify(tc.tx, tc.view)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Kind != tc.want {
				t.Fatalf("kind = %v, want %v", c.Kind, tc.want)
			}
			if c.TxID != tc.tx.TxHash() {
				t.Errorf("txid = %v", c.TxID)
			}
			if (tc.want == Breach || tc.want == RemoteFutureCommit || tc.want == UnknownSpend) && c.PaysUs != tc.paysUs {
				t.Errorf("PaysUs = %v, want %v", c.PaysUs, tc.paysUs)
			}
		})
	}
}

func TestClassifyPendingCommitment(t *testing.T) {
	p := newPair(t)
	p.addHTLC(true, 300_000, expiryA1, "x")
	// Alice signs a new commitment for bob; bob's revoke_and_ack never
	// reaches her, so the commitment stays pending on her side.
	_, out, err := p.alice.AddHTLC(channel.AddHTLC{Amount: 250_000_000, PaymentHash: [32]byte{7}, CLTVExpiry: expiryA2})
	p.take(true, out, err)
	out, err = p.alice.SignCommitment()
	p.take(true, out, err)
	for p.deliverOne(true) {
	}
	if _, pending := p.alice.RemoteCommitment(); pending == nil {
		t.Fatal("no pending commitment")
	}
	tx := commitmentTx(t, p.bob)
	c, err := Classify(tx, p.alice)
	if err != nil {
		t.Fatal(err)
	}
	if c.Kind != RemotePendingCommit || c.Remote == nil {
		t.Fatalf("kind = %v", c.Kind)
	}
	plan, err := NewPlan(c, p.alice, p.inputs(p.alicePre))
	if err != nil {
		t.Fatal(err)
	}
	kinds := countKinds(plan.Resolutions)
	if kinds[RemoteToRemote] != 1 || kinds[RemoteHTLCTimeout] != 2 {
		t.Fatalf("resolutions %v", kinds)
	}
	sweep, err := SweepTx(plan.Resolutions, sweepScript, testFeeRate, expiryA2+1)
	if err != nil {
		t.Fatal(err)
	}
	if err := verifyTx(sweep, outputsOf(tx)); err != nil {
		t.Fatal(err)
	}
}

func TestClassifyNil(t *testing.T) {
	p := newPair(t)
	if _, err := Classify(nil, p.alice); err == nil {
		t.Error("nil transaction accepted")
	}
	if _, err := Classify(wire.NewMsgTx(2), nil); err == nil {
		t.Error("nil view accepted")
	}
	if _, err := Classify(wire.NewMsgTx(2), p.alice); !errors.Is(err, ErrNotFundingSpend) {
		t.Errorf("empty transaction: %v", err)
	}
}

func countKinds(rs []Resolution) map[ResolutionKind]int {
	m := make(map[ResolutionKind]int)
	for _, r := range rs {
		m[r.Kind]++
	}
	return m
}

func FuzzClassify(f *testing.F) {
	h := newHistory(f)
	for _, tx := range []*wire.MsgTx{h.bobOld, h.aliceOld, commitmentTx(f, h.bob), commitmentTx(f, h.alice)} {
		var buf bytes.Buffer
		if err := tx.Serialize(&buf); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes(), true)
	}
	f.Add([]byte{}, false)
	funding := h.alice.Params().FundingOutpoint
	in := h.inputs(h.alicePre)
	f.Fuzz(func(t *testing.T, data []byte, spendFunding bool) {
		var tx wire.MsgTx
		if err := tx.Deserialize(bytes.NewReader(data)); err != nil {
			return
		}
		if spendFunding && len(tx.TxIn) > 0 {
			tx.TxIn[0].PreviousOutPoint = funding
		}
		c, err := Classify(&tx, h.alice)
		if err != nil {
			return
		}
		plan, err := NewPlan(c, h.alice, in)
		if err != nil {
			return
		}
		for _, r := range plan.Resolutions {
			plan.SecondLevel(c.Tx, r.MaturityHeight)
		}
		if rs := plan.Sweepable(1 << 30); len(rs) > 0 {
			if sweep, err := SweepTx(rs, sweepScript, testFeeRate, 1<<30); err == nil {
				if err := checkPaysOnly(sweep, sweepScript); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}

func TestClassifySpend(t *testing.T) {
	h := newHistory(t)
	tx := commitmentTx(t, h.bob)
	d := notify.SpendDetail{SpentOutPoint: h.alice.Params().FundingOutpoint, SpendingTx: tx,
		SpenderTxHash: tx.TxHash(), SpendingHeight: testConfHeight}
	c, err := ClassifySpend(d, h.alice)
	if err != nil || c.Kind != RemoteCommit {
		t.Fatalf("classified %v, %v", c.Kind, err)
	}
	d.SpentOutPoint.Index++
	if _, err := ClassifySpend(d, h.alice); !errors.Is(err, ErrNotFundingSpend) {
		t.Fatalf("spend of another outpoint: %v", err)
	}
	if _, err := ClassifySpend(notify.SpendDetail{}, h.alice); err == nil {
		t.Fatal("empty spend accepted")
	}
}

// FuzzClassifyCommitment mutates real commitments (number, outputs,
// amounts) so that the fuzzer reaches every classification and plan.
func FuzzClassifyCommitment(f *testing.F) {
	h := newHistory(f)
	old := mustUnmarshal(f, h)
	txs := []*wire.MsgTx{h.bobOld, h.aliceOld, commitmentTx(f, h.bob), commitmentTx(f, h.alice)}
	for i := range txs {
		f.Add(uint8(i), false, txs[i].LockTime, txs[i].TxIn[0].Sequence, uint64(0), int64(0), false)
	}
	f.Add(uint8(0), false, uint32(0x20000000), uint32(0x80000000), uint64(1), int64(-5), true)
	in := h.inputs(h.alicePre)
	f.Fuzz(func(t *testing.T, which uint8, oldView bool, lockTime, sequence uint32, drop uint64, delta int64, swap bool) {
		tx := txs[int(which)%len(txs)].Copy()
		tx.LockTime, tx.TxIn[0].Sequence = lockTime, sequence
		var outs []*wire.TxOut
		for i, o := range tx.TxOut {
			if drop&(1<<(i%64)) == 0 {
				outs = append(outs, o)
			}
		}
		tx.TxOut = outs
		if len(tx.TxOut) > 0 {
			tx.TxOut[0].Value += delta
			if swap {
				last := len(tx.TxOut) - 1
				tx.TxOut[0], tx.TxOut[last] = tx.TxOut[last], tx.TxOut[0]
			}
		}
		var view ChannelView = h.alice
		if oldView {
			view = old
		}
		c, err := Classify(tx, view)
		if err != nil {
			t.Fatal(err)
		}
		plan, err := NewPlan(c, view, in)
		if err != nil {
			return
		}
		if rs := plan.Sweepable(1 << 30); len(rs) > 0 {
			if sweep, err := SweepTx(rs, sweepScript, testFeeRate, 1<<30); err == nil {
				if err := checkPaysOnly(sweep, sweepScript); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}
