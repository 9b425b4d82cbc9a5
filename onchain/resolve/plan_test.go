package resolve

import (
	"errors"
	"testing"
	"time"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
)

// finalAt reports whether tx's absolute locktime lets it into a block at
// height, by the consensus rule.
func finalAt(tx *wire.MsgTx, height int32) bool {
	return blockchain.IsFinalizedTransaction(btcutil.NewTx(tx), height, time.Unix(1<<31, 0))
}

// sequenceLockActive reports whether input 0 of a transaction, spending an
// output confirmed at confHeight with a relative block delay of sequence,
// can be in a block at height (BIP 68: the lock's last height is
// confHeight + delay - 1).
func sequenceLockActive(sequence uint32, confHeight, height int32) bool {
	lock := &blockchain.SequenceLock{Seconds: -1, BlockHeight: confHeight + int32(sequence&wire.SequenceLockTimeMask) - 1}
	return blockchain.SequenceLockActive(lock, height, time.Unix(0, 0))
}

func onlyKind(t *testing.T, rs []Resolution, k ResolutionKind) []Resolution {
	t.Helper()
	var out []Resolution
	for _, r := range rs {
		if r.Kind == k {
			out = append(out, r)
		}
	}
	return out
}

func TestLocalCommitPlan(t *testing.T) {
	h := newHistory(t)
	commit := commitmentTx(t, h.alice)
	if err := verifyTx(commit, map[wire.OutPoint]*wire.TxOut{h.alice.Params().FundingOutpoint: h.funding}); err != nil {
		t.Fatal(err)
	}
	c, err := Classify(commit, h.alice)
	if err != nil || c.Kind != LocalCommit {
		t.Fatalf("classified %v, %v", c.Kind, err)
	}
	plan, err := NewPlan(c, h.alice, h.inputs(h.alicePre))
	if err != nil {
		t.Fatal(err)
	}
	kinds := countKinds(plan.Resolutions)
	if kinds[LocalToLocal] != 1 || kinds[LocalHTLCTimeout] != 2 || kinds[LocalHTLCSuccess] != 1 || len(plan.AwaitingPreimage) != 0 {
		t.Fatalf("resolutions %v, awaiting %d", kinds, len(plan.AwaitingPreimage))
	}

	t.Run("to_local after to_self_delay", func(t *testing.T) {
		r := onlyKind(t, plan.Resolutions, LocalToLocal)[0]
		mature := testConfHeight + bobDelay
		if r.MaturityHeight != mature || r.Sequence != bobDelay {
			t.Fatalf("matures at %d with sequence %d", r.MaturityHeight, r.Sequence)
		}
		if _, err := SweepTx([]Resolution{r}, sweepScript, testFeeRate, mature-1); !errors.Is(err, ErrNotMature) {
			t.Fatalf("sweep one block early: %v", err)
		}
		sweep, err := SweepTx([]Resolution{r}, sweepScript, testFeeRate, mature)
		if err != nil {
			t.Fatal(err)
		}
		if err := verifyTx(sweep, outputsOf(commit)); err != nil {
			t.Fatal(err)
		}
		if sequenceLockActive(sweep.TxIn[0].Sequence, testConfHeight, mature-1) ||
			!sequenceLockActive(sweep.TxIn[0].Sequence, testConfHeight, mature) {
			t.Error("BIP 68 lock disagrees with the maturity height")
		}
		// A sequence below to_self_delay fails OP_CHECKSEQUENCEVERIFY.
		short := r
		short.Sequence = bobDelay - 1
		_, err = SweepTx([]Resolution{short}, sweepScript, testFeeRate, mature)
		if !isScriptError(err, txscript.ErrUnsatisfiedLockTime) {
			t.Fatalf("short sequence: %v", err)
		}
		// A sweep that does not pay our script is never built.
		if _, err := SweepTx([]Resolution{r}, []byte{txscript.OP_TRUE}, testFeeRate, mature); !errors.Is(err, ErrBadSweepScript) {
			t.Fatalf("foreign script: %v", err)
		}
	})

	t.Run("HTLC transactions and their outputs", func(t *testing.T) {
		prev := outputsOf(commit)
		for _, r := range plan.Resolutions {
			if r.SecondLevel == nil {
				continue
			}
			if _, err := SweepTx([]Resolution{r}, sweepScript, testFeeRate, 1<<30); !errors.Is(err, ErrNotSweepable) {
				t.Errorf("%v swept directly: %v", r.Kind, err)
			}
			tx := r.SecondLevel
			if err := verifyTx(tx, prev); err != nil {
				t.Fatalf("%v: %v", r.Kind, err)
			}
			if r.Kind == LocalHTLCTimeout {
				if tx.LockTime != r.HTLC.CLTVExpiry || r.MaturityHeight != int32(r.HTLC.CLTVExpiry)+1 {
					t.Errorf("timeout locktime %d, matures at %d, expiry %d", tx.LockTime, r.MaturityHeight, r.HTLC.CLTVExpiry)
				}
				if finalAt(tx, r.MaturityHeight-1) || !finalAt(tx, r.MaturityHeight) {
					t.Error("HTLC-timeout finality disagrees with the maturity height")
				}
			} else if r.MaturityHeight != testConfHeight {
				t.Errorf("HTLC-success matures at %d", r.MaturityHeight)
			}
			conf := r.MaturityHeight
			out, ok := plan.SecondLevel(tx, conf)
			if !ok {
				t.Fatalf("%v output not recognised", r.Kind)
			}
			if out.MaturityHeight != conf+bobDelay || out.Sequence != bobDelay {
				t.Errorf("second level matures at %d", out.MaturityHeight)
			}
			sweep, err := SweepTx([]Resolution{out}, sweepScript, testFeeRate, out.MaturityHeight)
			if err != nil {
				t.Fatal(err)
			}
			if err := verifyTx(sweep, outputsOf(tx)); err != nil {
				t.Fatal(err)
			}
		}
		if txs := plan.SecondLevelTxs(testConfHeight); len(txs) != 1 {
			t.Errorf("%d HTLC transactions at the confirmation height, want the success only", len(txs))
		}
		if txs := plan.SecondLevelTxs(expiryA2 + 1); len(txs) != 3 {
			t.Errorf("%d HTLC transactions after every expiry", len(txs))
		}
	})

	t.Run("without the preimage", func(t *testing.T) {
		in := h.inputs(nil)
		// A wrong preimage is as good as none.
		in.Preimage = func([32]byte) ([32]byte, bool) { return [32]byte{1}, true }
		plan, err := NewPlan(c, h.alice, in)
		if err != nil {
			t.Fatal(err)
		}
		if n := countKinds(plan.Resolutions)[LocalHTLCSuccess]; n != 0 || len(plan.AwaitingPreimage) != 1 ||
			plan.AwaitingPreimage[0].PaymentHash != h.hashB1 {
			t.Fatalf("%d HTLC-success, awaiting %v", n, plan.AwaitingPreimage)
		}
	})
}

func TestRemoteCommitPlan(t *testing.T) {
	h := newHistory(t)
	commit := commitmentTx(t, h.bob)
	c, err := Classify(commit, h.alice)
	if err != nil || c.Kind != RemoteCommit {
		t.Fatalf("classified %v, %v", c.Kind, err)
	}
	plan, err := NewPlan(c, h.alice, h.inputs(h.alicePre))
	if err != nil {
		t.Fatal(err)
	}
	kinds := countKinds(plan.Resolutions)
	if kinds[RemoteToRemote] != 1 || kinds[RemoteHTLCTimeout] != 2 || kinds[RemoteHTLCPreimage] != 1 {
		t.Fatalf("resolutions %v", kinds)
	}
	prev := outputsOf(commit)

	tests := []struct {
		name   string
		kind   ResolutionKind
		mature int32
	}{
		{"to_remote at once", RemoteToRemote, testConfHeight},
		{"preimage at once", RemoteHTLCPreimage, testConfHeight},
		{"timeout after expiry", RemoteHTLCTimeout, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, r := range onlyKind(t, plan.Resolutions, tc.kind) {
				mature := tc.mature
				if mature == 0 {
					mature = int32(r.HTLC.CLTVExpiry) + 1
				}
				if r.MaturityHeight != mature {
					t.Fatalf("matures at %d, want %d", r.MaturityHeight, mature)
				}
				if _, err := SweepTx([]Resolution{r}, sweepScript, testFeeRate, mature-1); !errors.Is(err, ErrNotMature) {
					t.Fatalf("early sweep: %v", err)
				}
				sweep, err := SweepTx([]Resolution{r}, sweepScript, testFeeRate, mature)
				if err != nil {
					t.Fatal(err)
				}
				if err := verifyTx(sweep, prev); err != nil {
					t.Fatal(err)
				}
				if !finalAt(sweep, mature) || (r.LockTime > 0 && finalAt(sweep, mature-1)) {
					t.Error("finality disagrees with the maturity height")
				}
				if tc.kind == RemoteHTLCTimeout {
					// A locktime below the expiry fails
					// OP_CHECKLOCKTIMEVERIFY.
					early := r
					early.LockTime--
					if _, err := SweepTx([]Resolution{early}, sweepScript, testFeeRate, mature); !isScriptError(err, txscript.ErrUnsatisfiedLockTime) {
						t.Fatalf("early locktime: %v", err)
					}
				}
			}
		})
	}

	t.Run("everything in one sweep", func(t *testing.T) {
		sweep, err := SweepTx(plan.Sweepable(expiryA2+1), sweepScript, testFeeRate, expiryA2+1)
		if err != nil {
			t.Fatal(err)
		}
		if len(sweep.TxIn) != 4 || sweep.LockTime != expiryA2 {
			t.Fatalf("%d inputs, locktime %d", len(sweep.TxIn), sweep.LockTime)
		}
		if err := verifyTx(sweep, prev); err != nil {
			t.Fatal(err)
		}
	})
}

func TestFutureCommitPlan(t *testing.T) {
	h := newHistory(t)
	old := mustUnmarshal(t, h)
	commit := commitmentTx(t, h.bob)
	c, err := Classify(commit, old)
	if err != nil || c.Kind != RemoteFutureCommit {
		t.Fatalf("classified %v, %v", c.Kind, err)
	}
	plan, err := NewPlan(c, old, h.inputs(h.alicePre))
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Resolutions) != 1 || plan.Resolutions[0].Kind != RemoteToRemote {
		t.Fatalf("resolutions %v", countKinds(plan.Resolutions))
	}
	sweep, err := SweepTx(plan.Sweepable(testConfHeight), sweepScript, testFeeRate, testConfHeight)
	if err != nil {
		t.Fatal(err)
	}
	if err := verifyTx(sweep, outputsOf(commit)); err != nil {
		t.Fatal(err)
	}
}

func TestEmptyPlans(t *testing.T) {
	h := newHistory(t)
	for _, tx := range []*wire.MsgTx{h.aliceOld} {
		c, err := Classify(tx, h.alice)
		if err != nil {
			t.Fatal(err)
		}
		plan, err := NewPlan(c, h.alice, h.inputs(h.alicePre))
		if err != nil {
			t.Fatal(err)
		}
		if len(plan.Resolutions) != 0 {
			t.Errorf("%v: %d resolutions", c.Kind, len(plan.Resolutions))
		}
	}
}

// TestPlanMismatch: a state that does not describe the transaction on
// chain builds nothing.
func TestPlanMismatch(t *testing.T) {
	h := newHistory(t)
	c, err := Classify(commitmentTx(t, h.bob), h.alice)
	if err != nil {
		t.Fatal(err)
	}
	other := commitmentTx(t, h.bob).Copy()
	other.TxOut[0].Value--
	c.Tx, c.TxID = other, other.TxHash()
	if _, err := NewPlan(c, h.alice, h.inputs(h.alicePre)); !errors.Is(err, ErrMismatch) {
		t.Fatalf("err = %v", err)
	}
}

func TestSweepTxRefuses(t *testing.T) {
	h := newHistory(t)
	c, err := Classify(commitmentTx(t, h.bob), h.alice)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := NewPlan(c, h.alice, h.inputs(h.alicePre))
	if err != nil {
		t.Fatal(err)
	}
	r := onlyKind(t, plan.Resolutions, RemoteToRemote)[0]
	unsigned := r
	unsigned.Sign = nil
	tiny := r
	tiny.Value = 300
	tests := []struct {
		name   string
		rs     []Resolution
		script []byte
		rate   int64
		want   error
	}{
		{"nothing", nil, sweepScript, 2500, ErrNotSweepable},
		{"twice the same output", []Resolution{r, r}, sweepScript, 2500, ErrNotSweepable},
		{"no signer", []Resolution{unsigned}, sweepScript, 2500, ErrNotSweepable},
		{"empty script", []Resolution{r}, nil, 2500, ErrBadSweepScript},
		{"bare script", []Resolution{r}, []byte{txscript.OP_TRUE}, 2500, ErrBadSweepScript},
		{"fee eats it all", []Resolution{tiny}, sweepScript, 2500, ErrSweepDust},
		{"fee above value", []Resolution{r}, sweepScript, 1 << 40, ErrSweepDust},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := SweepTx(tc.rs, tc.script, onchainRate(tc.rate), testConfHeight); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}
