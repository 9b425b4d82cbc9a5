package funding

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/flash-ln/flash/channel"
	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/channel/script"
)

// verifySpend runs the script engine on input 0 of tx against the funding
// output, with every standard verification flag.
func verifySpend(t *testing.T, tx *wire.MsgTx, fundingOut *wire.TxOut) {
	t.Helper()
	fetcher := txscript.NewCannedPrevOutputFetcher(fundingOut.PkScript, fundingOut.Value)
	vm, err := txscript.NewEngine(fundingOut.PkScript, tx, 0, txscript.StandardVerifyFlags, nil,
		txscript.NewTxSigHashes(tx, fetcher), fundingOut.Value, fetcher)
	if err != nil {
		t.Fatalf("script engine: %v", err)
	}
	if err := vm.Execute(); err != nil {
		t.Fatalf("commitment does not spend the funding output: %v", err)
	}
}

// outputValue returns the value of the output of tx paying pkScript, or -1.
func outputValue(tx *wire.MsgTx, pkScript []byte) int64 {
	for _, o := range tx.TxOut {
		if bytes.Equal(o.PkScript, pkScript) {
			return o.Value
		}
	}
	return -1
}

func TestOpenFlow(t *testing.T) {
	for _, tc := range []struct {
		name     string
		capacity btcutil.Amount
		push     lnwire.MilliSatoshi
		feePerKw uint32
		private  bool
	}{
		{"issue example", 1_000_000, 100_000_000, 2500, false},
		{"no push", 1_000_000, 0, 253, false},
		{"odd msat push, private", 500_000, 123_456_789, 1000, true},
		{"smallest channel", 20_000, 0, 253, false},
		{"largest channel", MaxStandardChannelSize, 1, 5000, false},
		{"large channel", 100_000_000, 0, 5000, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			op := openerParams(newParty(t, "alice"))
			op.Capacity, op.PushMsat, op.FeePerKw, op.Private = tc.capacity, tc.push, tc.feePerKw, tc.private
			large := func(p *Policy) { p.LargeChannels, p.MaxChannelSize = true, 1<<30 }
			if tc.capacity > MaxStandardChannelSize {
				large(&op.Policy)
				op.PeerFeatures.Set(lnwire.LargeChannels.Optional())
			}
			f := runFlow(t, op, func(ap *AcceptParams) {
				ap.FeeEstimate = tc.feePerKw
				if tc.capacity > MaxStandardChannelSize {
					large(&ap.Policy)
				}
			})

			fundingIdx := f.created.FundingOutputIndex
			outpoint := wire.OutPoint{Hash: f.tx.TxHash(), Index: uint32(fundingIdx)}
			fundingOut := f.tx.TxOut[fundingIdx]
			if fundingIdx != 1 || btcutil.Amount(fundingOut.Value) != tc.capacity {
				t.Fatalf("funding output %d of %d sat", fundingIdx, fundingOut.Value)
			}
			if f.chAlice.ID() != lnwire.NewChannelID(outpoint) || f.chBob.ID() != f.chAlice.ID() ||
				f.signed.ChannelID != f.chAlice.ID() {
				t.Fatal("channel ids differ")
			}

			// Balances: the push is exact and the funder keeps the rest;
			// the commitment fee comes out of the funder's output only.
			capMsat := lnwire.NewMSatFromSatoshis(uint64(tc.capacity))
			a, b := f.chAlice.LocalCommitment(), f.chBob.LocalCommitment()
			if b.Spec.LocalBalance != tc.push || b.Spec.RemoteBalance != capMsat-tc.push {
				t.Fatalf("bob balances %v/%v", b.Spec.LocalBalance, b.Spec.RemoteBalance)
			}
			if a.Spec.LocalBalance != capMsat-tc.push || a.Spec.RemoteBalance != tc.push {
				t.Fatalf("alice balances %v/%v", a.Spec.LocalBalance, a.Spec.RemoteBalance)
			}
			if !f.chAlice.Params().LocalFunder || f.chBob.Params().LocalFunder {
				t.Fatal("funder flags")
			}

			fee := int64(script.StaticRemoteKey.CommitmentFee(tc.feePerKw, 0))
			bobPay := script.P2WPKH(f.bob.kr.PaymentBaseSecret.PubKey())
			alicePay := script.P2WPKH(f.alice.kr.PaymentBaseSecret.PubKey())
			dust := int64(DefaultPolicy().DustLimit)
			for _, side := range []struct {
				name      string
				ch        *channel.Channel
				toRemote  []byte
				remoteSat int64
				localSat  int64
			}{
				{"alice", f.chAlice, bobPay, int64(tc.push / 1000), int64((capMsat-tc.push)/1000) - fee},
				{"bob", f.chBob, alicePay, int64((capMsat-tc.push)/1000) - fee, int64(tc.push / 1000)},
			} {
				tx, err := side.ch.LocalCommitmentTx()
				if err != nil {
					t.Fatalf("%s commitment: %v", side.name, err)
				}
				if len(tx.TxIn) != 1 || tx.TxIn[0].PreviousOutPoint != outpoint {
					t.Fatalf("%s commitment does not spend the funding outpoint", side.name)
				}
				verifySpend(t, tx, fundingOut)
				want := side.remoteSat
				if want < dust {
					want = -1
				}
				if got := outputValue(tx, side.toRemote); got != want {
					t.Errorf("%s to_remote %d sat, want %d", side.name, got, want)
				}
				var total int64
				for _, o := range tx.TxOut {
					total += o.Value
				}
				wantTotal := int64(0)
				for _, v := range []int64{side.localSat, side.remoteSat} {
					if v >= dust {
						wantTotal += v
					}
				}
				if total != wantTotal {
					t.Errorf("%s commitment outputs total %d sat, want %d", side.name, total, wantTotal)
				}
			}

			// Both sides watch the same output for the same depth.
			pa, pb := f.opener.Pending(), f.accepter.Pending()
			if pa == nil || pb == nil {
				t.Fatal("no pending record")
			}
			for _, p := range []*Pending{pa, pb} {
				if p.FundingOutpoint != outpoint || p.MinimumDepth != 3 || p.Capacity != tc.capacity ||
					p.Announce == tc.private || p.ChannelID() != f.chAlice.ID() {
					t.Fatalf("pending %+v", p)
				}
				if err := p.CheckFundingOutput(f.tx); err != nil {
					t.Fatal(err)
				}
				if p.DeepEnough(2) || !p.DeepEnough(3) {
					t.Fatal("DeepEnough")
				}
			}
			if !pa.LocalFunder || pb.LocalFunder || pa.FundingTx.TxHash() != f.tx.TxHash() || pb.FundingTx != nil {
				t.Fatal("pending funder fields")
			}

			// channel_ready both ways.
			for _, dir := range [][2]*channel.Channel{{f.chAlice, f.chBob}, {f.chBob, f.chAlice}} {
				ready, err := ChannelReady(dir[0])
				if err != nil {
					t.Fatal(err)
				}
				if _, err := dir[1].ReceiveChannelReady(roundTrip(t, ready)); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func TestOpenerMarshal(t *testing.T) {
	f := runFlow(t, openerParams(newParty(t, "alice")), nil)
	data, err := f.opener.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := UnmarshalOpener(data)
	if err != nil {
		t.Fatal(err)
	}
	again, err := got.Marshal()
	if err != nil || !bytes.Equal(again, data) {
		t.Fatalf("second marshal differs: %v", err)
	}
	if !samePending(got.Pending(), f.opener.Pending()) {
		t.Fatal("pending differs after restore")
	}

	// Restored while waiting for funding_signed, the flow can finish.
	f2 := &flow{alice: newParty(t, "alice"), bob: newParty(t, "bob")}
	var open *lnwire.OpenChannel
	op := openerParams(f2.alice)
	f2.opener, open, err = NewOpener(op)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f2.opener.Marshal(); !IsCode(err, CodeUnexpectedMessage) {
		t.Fatalf("marshal before funding_created: %v", err)
	}
	acc, accept, err := AcceptOpen(acceptParams(f2.bob, open))
	if err != nil {
		t.Fatal(err)
	}
	req, err := f2.opener.ReceiveAcceptChannel(accept)
	if err != nil {
		t.Fatal(err)
	}
	created, err := f2.opener.FundingCreated(fundingTx(req), f2.alice.kr)
	if err != nil {
		t.Fatal(err)
	}
	data, err = f2.opener.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	restored, err := UnmarshalOpener(data)
	if err != nil {
		t.Fatal(err)
	}
	if restored.FundingTx().TxHash() != created.FundingTxid {
		t.Fatal("restored funding transaction")
	}
	_, signed, err := acc.ReceiveFundingCreated(created, f2.bob.kr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := restored.ReceiveFundingSigned(signed, f2.alice.kr); err != nil {
		t.Fatalf("restored opener: %v", err)
	}

	for i := range data {
		if _, err := UnmarshalOpener(data[:i]); err == nil {
			t.Fatalf("truncated to %d bytes accepted", i)
		}
	}
	if _, err := UnmarshalOpener(append(bytes.Clone(data), 0)); err == nil {
		t.Fatal("trailing byte accepted")
	}
}

func TestPendingMarshal(t *testing.T) {
	f := runFlow(t, openerParams(newParty(t, "alice")), nil)
	for _, p := range []*Pending{f.opener.Pending(), f.accepter.Pending()} {
		data, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		got, err := UnmarshalPending(data)
		if err != nil {
			t.Fatal(err)
		}
		if !samePending(got, p) {
			t.Fatalf("round trip: %+v != %+v", got, p)
		}
		for i := range data {
			if _, err := UnmarshalPending(data[:i]); err == nil {
				t.Fatalf("truncated to %d bytes accepted", i)
			}
		}
	}
}

func TestCheckFundingOutput(t *testing.T) {
	f := runFlow(t, openerParams(newParty(t, "alice")), nil)
	p := f.accepter.Pending()
	bad := []func(tx *wire.MsgTx){
		func(tx *wire.MsgTx) { tx.TxOut[1].Value-- },
		func(tx *wire.MsgTx) { tx.TxOut[1].PkScript = tx.TxOut[0].PkScript },
		func(tx *wire.MsgTx) { tx.TxOut = tx.TxOut[:1] },
		func(tx *wire.MsgTx) { tx.LockTime++ },
	}
	for i, mutate := range bad {
		tx := f.tx.Copy()
		mutate(tx)
		// Keep the outpoint pointing at the mutated transaction where
		// the mutation is not about the txid, so the output check runs.
		q := *p
		if i < 3 {
			q.FundingOutpoint.Hash = tx.TxHash()
		}
		if err := q.CheckFundingOutput(tx); !IsCode(err, CodeFundingOutput) {
			t.Errorf("mutation %d: %v", i, err)
		}
	}
	if err := p.CheckFundingOutput(nil); !IsCode(err, CodeFundingOutput) {
		t.Error("nil transaction")
	}
}

func TestShortChannelID(t *testing.T) {
	scid, err := ShortChannelID(539268, 845, 1)
	if err != nil || scid.String() != "539268x845x1" || scid.ToUint64() != 0x83a8400034d0001 {
		t.Fatalf("%v %v %x", scid, err, scid.ToUint64())
	}
	for _, c := range [][3]uint32{{1 << 24, 0, 0}, {0, 1 << 24, 0}, {0, 0, 1 << 16}} {
		if _, err := ShortChannelID(c[0], c[1], c[2]); err == nil {
			t.Errorf("%v accepted", c)
		}
	}
}

func TestFundeeForgets(t *testing.T) {
	f := runFlow(t, openerParams(newParty(t, "alice")), nil)
	if f.opener.Pending().FundeeShouldForget(1 << 20) {
		t.Error("funder must never forget")
	}
	if f.accepter.Pending().FundeeShouldForget(2015) || !f.accepter.Pending().FundeeShouldForget(2016) {
		t.Error("fundee forgets after 2016 blocks")
	}
}

func txBytes(tx *wire.MsgTx) []byte {
	if tx == nil {
		return nil
	}
	var b bytes.Buffer
	_ = tx.Serialize(&b)
	return b.Bytes()
}

// samePending compares two records, transactions by their serialization.
func samePending(a, b *Pending) bool {
	x, y := *a, *b
	x.FundingTx, y.FundingTx = nil, nil
	return reflect.DeepEqual(x, y) && bytes.Equal(txBytes(a.FundingTx), txBytes(b.FundingTx))
}
