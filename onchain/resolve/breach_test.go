package resolve

import (
	"errors"
	"testing"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/wire"

	"github.com/flash-ln/flash/channel"
	"github.com/flash-ln/flash/onchain"
)

const testFeeRate onchain.FeeRate = 2500

func breachPlanOf(t *testing.T, h *history, in PlanInputs) *Plan {
	t.Helper()
	c, err := Classify(h.bobOld, h.alice)
	if err != nil {
		t.Fatal(err)
	}
	if c.Kind != Breach {
		t.Fatalf("kind = %v", c.Kind)
	}
	plan, err := NewPlan(c, h.alice, in)
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

func TestJustice(t *testing.T) {
	h := newHistory(t)
	if err := verifyTx(h.bobOld, map[wire.OutPoint]*wire.TxOut{h.alice.Params().FundingOutpoint: h.funding}); err != nil {
		t.Fatalf("the revoked commitment does not spend the funding output: %v", err)
	}
	noSpec := h.inputs(h.alicePre)
	noSpec.RevokedSpec = nil

	tests := []struct {
		name         string
		in           PlanInputs
		want         map[ResolutionKind]int
		unrecognised int
	}{
		{"with the revoked HTLC set", h.inputs(h.alicePre),
			map[ResolutionKind]int{RevokedToLocal: 1, RevokedHTLC: 2, RemoteToRemote: 1}, 0},
		{"scripts only", noSpec,
			map[ResolutionKind]int{RevokedToLocal: 1, RemoteToRemote: 1}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			plan := breachPlanOf(t, h, tc.in)
			got := countKinds(plan.Resolutions)
			for k, n := range tc.want {
				if got[k] != n {
					t.Errorf("%d %v resolutions, want %d (%v)", got[k], k, n, got)
				}
			}
			if len(plan.Unrecognised) != tc.unrecognised {
				t.Errorf("%d unrecognised outputs, want %d", len(plan.Unrecognised), tc.unrecognised)
			}
			rs := plan.Sweepable(testConfHeight)
			if len(rs) != len(plan.Resolutions) {
				t.Fatalf("%d of %d resolutions sweepable at once", len(rs), len(plan.Resolutions))
			}
			justice, err := SweepTx(rs, sweepScript, testFeeRate, testConfHeight)
			if err != nil {
				t.Fatal(err)
			}
			if err := verifyTx(justice, outputsOf(h.bobOld)); err != nil {
				t.Fatal(err)
			}
			var total btcutil.Amount
			for _, r := range rs {
				total += r.Value
			}
			if len(justice.TxOut) != 1 || justice.TxOut[0].Value >= int64(total) {
				t.Fatalf("justice pays %v", justice.TxOut)
			}
			fee := total - btcutil.Amount(justice.TxOut[0].Value)
			weight := justice.SerializeSizeStripped()*3 + justice.SerializeSize()
			if fee < testFeeRate.FeeForWeight(int64(weight)) || fee > testFeeRate.FeeForWeight(int64(weight)+100) {
				t.Errorf("fee %d for weight %d", fee, weight)
			}
			if tc.unrecognised == 0 && len(justice.TxIn) != len(h.bobOld.TxOut) {
				t.Errorf("justice spends %d of %d outputs", len(justice.TxIn), len(h.bobOld.TxOut))
			}
		})
	}
}

// TestSecondLevelJustice: bob gets his HTLC transactions of the revoked
// commitment confirmed before the justice transaction; alice takes their
// outputs with the revocation key, and the rest of the commitment in one
// transaction.
func TestSecondLevelJustice(t *testing.T) {
	h := newHistory(t)
	plan := breachPlanOf(t, h, h.inputs(h.alicePre))
	prev := outputsOf(h.bobOld)
	if len(h.bobOldHTLC) != 2 {
		t.Fatalf("bob has %d HTLC transactions", len(h.bobOldHTLC))
	}
	spent := make(map[wire.OutPoint]bool)
	var second []Resolution
	for _, ht := range h.bobOldHTLC {
		if ht.Tx == nil {
			t.Fatalf("bob cannot sign the HTLC transaction of %x", ht.HTLC.PaymentHash[:4])
		}
		if err := verifyTx(ht.Tx, prev); err != nil {
			t.Fatalf("bob's HTLC transaction is invalid: %v", err)
		}
		op := ht.Tx.TxIn[0].PreviousOutPoint
		spent[op] = true
		r, ok := plan.SecondLevel(ht.Tx, testConfHeight+1)
		if !ok {
			t.Fatal("second-level output not recognised")
		}
		if r.Kind != RevokedSecondLevel || !r.Mature(testConfHeight+1) {
			t.Fatalf("resolution %v matures at %d", r.Kind, r.MaturityHeight)
		}
		second = append(second, r)
		if !ht.Timeout {
			// Bob's HTLC-success reveals the preimage of alice's HTLC.
			pre, ok := PreimageFromSpend(ht.Tx, op, h.hashA1)
			if !ok || pre != h.bobPre[h.hashA1] {
				t.Error("preimage not found in bob's HTLC-success")
			}
		}
	}
	if _, ok := plan.SecondLevel(h.bobOld, testConfHeight); ok {
		t.Error("the commitment itself taken for an HTLC transaction")
	}

	var rs []Resolution
	for _, r := range plan.Resolutions {
		if !spent[r.OutPoint] {
			rs = append(rs, r)
		}
	}
	rs = append(rs, second...)
	justice, err := SweepTx(rs, sweepScript, testFeeRate, testConfHeight+1)
	if err != nil {
		t.Fatal(err)
	}
	all := outputsOf(h.bobOld)
	for _, ht := range h.bobOldHTLC {
		for op, o := range outputsOf(ht.Tx) {
			all[op] = o
		}
	}
	if err := verifyTx(justice, all); err != nil {
		t.Fatal(err)
	}
}

// TestJusticeWrongKeyring: a keyring that is not the channel's builds no
// justice transaction rather than an invalid one.
func TestJusticeWrongKeyring(t *testing.T) {
	h := newHistory(t)
	c, err := Classify(h.bobOld, h.alice)
	if err != nil {
		t.Fatal(err)
	}
	in := h.inputs(h.alicePre)
	in.Keyring = h.kb
	if _, err := NewPlan(c, h.alice, in); !errors.Is(err, ErrKeyringMismatch) {
		t.Fatal("plan built with the peer's keyring")
	}
	in.Keyring = &channel.Keyring{}
	if _, err := NewPlan(c, h.alice, in); err == nil {
		t.Fatal("plan built with an empty keyring")
	}
}
