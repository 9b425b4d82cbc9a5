package script

import (
	"bytes"
	"errors"
	"testing"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/wire"
)

func TestCommitmentParamsRejected(t *testing.T) {
	base := newTestCommitment(t, StaticRemoteKey, 2).params
	tests := []struct {
		name   string
		modify func(p *CommitmentParams)
		want   error
	}{
		{"unknown type", func(p *CommitmentParams) { p.Type = 9 }, ErrInvalidParams},
		{"no keys", func(p *CommitmentParams) { p.Keys = nil }, ErrInvalidParams},
		{"no funding key", func(p *CommitmentParams) { p.RemoteFundingKey = nil }, ErrInvalidParams},
		{"commitment number too large", func(p *CommitmentParams) { p.CommitmentNumber = 1 << 48 }, ErrInvalidParams},
		{"zero funding", func(p *CommitmentParams) { p.FundingAmount = 0 }, ErrInvalidParams},
		{"negative dust limit", func(p *CommitmentParams) { p.DustLimit = -1 }, ErrInvalidParams},
		{"huge balance", func(p *CommitmentParams) { p.LocalMsat = 1 << 63 }, ErrInvalidParams},
		{"one msat missing", func(p *CommitmentParams) { p.LocalMsat-- }, ErrUnbalanced},
		{"one msat too many", func(p *CommitmentParams) { p.RemoteMsat++ }, ErrUnbalanced},
		{"htlcs without htlc keys", func(p *CommitmentParams) {
			k := *p.Keys
			k.LocalHTLC = nil
			p.Keys = &k
		}, ErrInvalidParams},
		{"huge htlc", func(p *CommitmentParams) {
			p.HTLCs = append(append([]HTLC(nil), p.HTLCs...), HTLC{AmountMsat: 1 << 63})
		}, ErrInvalidParams},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := base
			p.HTLCs = append([]HTLC(nil), base.HTLCs...)
			tc.modify(&p)
			if _, err := CommitmentTx(p); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

// A commitment without HTLCs does not need HTLC keys, and leaving them out
// changes nothing in it.
func TestCommitmentWithoutHTLCKeys(t *testing.T) {
	p := newTestCommitment(t, StaticRemoteKey, 0).params
	p.HTLCs = nil
	want, err := CommitmentTx(p)
	if err != nil {
		t.Fatal(err)
	}
	k := *p.Keys
	k.LocalHTLC, k.RemoteHTLC = nil, nil
	p.Keys = &k
	got, err := CommitmentTx(p)
	if err != nil {
		t.Fatalf("no HTLCs, no HTLC keys: %v", err)
	}
	if got.Tx.TxHash() != want.Tx.TxHash() {
		t.Fatal("HTLC keys changed a commitment without HTLCs")
	}
}

// TestCommitmentAccounting checks, over a range of fee rates and both
// funders, that every satoshi is either in an output or in the fee, that
// the fee helpers agree with the builder, and that the HTLC transactions
// built alone equal those of the commitment.
func TestCommitmentAccounting(t *testing.T) {
	for _, ct := range []CommitmentType{StaticRemoteKey, Anchors} {
		tc := newTestCommitment(t, ct, 6)
		for _, funder := range []bool{true, false} {
			for _, fee := range []uint32{0, 253, 1000, 5000, 20000, 40000, 1_000_000} {
				p := tc.params
				p.FeePerKw, p.LocalIsFunder = fee, funder
				com, err := CommitmentTx(p)
				if err != nil {
					t.Fatal(err)
				}
				var out btcutil.Amount
				for i, o := range com.Tx.TxOut {
					out += btcutil.Amount(o.Value)
					if btcutil.Amount(o.Value) != com.Outputs[i].Amount || !bytes.Equal(o.PkScript, com.Outputs[i].PkScript) {
						t.Fatalf("output %d does not match its description", i)
					}
				}
				if out+com.Fee != p.FundingAmount {
					t.Fatalf("%v fee %d: outputs %d + fee %d != funding", ct, fee, out, com.Fee)
				}
				untrimmed := 0
				for i, h := range p.HTLCs {
					trimmed := ct.IsTrimmed(h.Offered, h.AmountMsat, fee, p.DustLimit)
					if trimmed != (com.HTLCOutputs[i] < 0) {
						t.Fatalf("htlc %d: IsTrimmed=%v, output %d", i, trimmed, com.HTLCOutputs[i])
					}
					if !trimmed {
						untrimmed++
						if com.Outputs[com.HTLCOutputs[i]].HTLCIndex != i {
							t.Fatalf("htlc %d: output says %d", i, com.Outputs[com.HTLCOutputs[i]].HTLCIndex)
						}
					}
				}
				if len(com.HTLCTxs) != untrimmed {
					t.Fatalf("%d HTLC txs for %d untrimmed HTLCs", len(com.HTLCTxs), untrimmed)
				}
				funderSat := btcutil.Amount(p.RemoteMsat / 1000)
				if funder {
					funderSat = btcutil.Amount(p.LocalMsat / 1000)
				}
				// The fee falls short of the base fee only when the
				// funder's whole balance went to it.
				if com.Fee < ct.CommitmentFee(fee, untrimmed) && funderSat >= ct.FunderCost(fee, untrimmed) {
					t.Fatalf("%v fee rate %d: fee %d below the base fee", ct, fee, com.Fee)
				}
				for _, h := range com.HTLCTxs {
					o := h.Tx.TxIn[0].PreviousOutPoint
					htlc := p.HTLCs[h.HTLCIndex]
					var alone *wire.MsgTx
					if h.Timeout {
						alone, err = HTLCTimeoutTx(ct, o, h.Amount, htlc.CLTVExpiry, fee, p.ToSelfDelay, p.Keys.Revocation, p.Keys.LocalDelayed)
					} else {
						alone, err = HTLCSuccessTx(ct, o, h.Amount, fee, p.ToSelfDelay, p.Keys.Revocation, p.Keys.LocalDelayed)
					}
					if err != nil {
						t.Fatal(err)
					}
					if alone.TxHash() != h.Tx.TxHash() {
						t.Fatalf("htlc tx built alone differs")
					}
				}
			}
		}
	}
}

func TestCommitmentNumber(t *testing.T) {
	tc := newTestCommitment(t, StaticRemoteKey, 0)
	for _, n := range []uint64{0, 1, 42, 1 << 24, 1<<24 - 1, MaxCommitmentNumber} {
		p := tc.params
		p.CommitmentNumber = n
		com, err := CommitmentTx(p)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := CommitmentNumber(com.Tx, p.Obscurer); !ok || got != n {
			t.Fatalf("commitment %d read back as %d, %v", n, got, ok)
		}
	}
	other := wire.NewMsgTx(2)
	other.AddTxIn(&wire.TxIn{Sequence: wire.MaxTxInSequenceNum})
	if _, ok := CommitmentNumber(other, 0); ok {
		t.Fatal("an ordinary transaction read as a commitment")
	}
}

// TestDustOutputs checks that to_local and to_remote below the dust limit
// are left out, and the fee floor at zero when the funder cannot pay.
func TestDustOutputs(t *testing.T) {
	tc := newTestCommitment(t, StaticRemoteKey, 0)
	p := tc.params
	p.LocalMsat, p.RemoteMsat = 545_999, testFunding*1000-545_999
	p.FeePerKw = 0
	com, err := CommitmentTx(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(com.Outputs) != 1 || com.Outputs[0].Kind != ToRemote {
		t.Fatalf("outputs %+v, want to_remote only", com.Outputs)
	}
	if com.Fee != 546 { // 545 sat trimmed plus the msat rounded off both balances
		t.Fatalf("fee %d, want 546 sat", com.Fee)
	}
	p.FeePerKw = 10_000 // base fee 7240 > funder's 545 sat
	if com, err = CommitmentTx(p); err != nil || com.Fee != 546 {
		t.Fatalf("fee %d, %v; want 546 sat", com.Fee, err)
	}
}

func TestAnchorsUnpaid(t *testing.T) {
	tc := newTestCommitment(t, Anchors, 0)
	p := tc.params
	p.LocalMsat, p.RemoteMsat = 0, testFunding*1000
	if _, err := CommitmentTx(p); !errors.Is(err, ErrAnchorsUnpaid) {
		t.Fatalf("got %v, want ErrAnchorsUnpaid", err)
	}
}

func TestClosingTx(t *testing.T) {
	local, remote := []byte{0x00, 0x14, 1, 2}, []byte{0x00, 0x14, 3, 4}
	base := ClosingParams{LocalScript: local, RemoteScript: remote,
		LocalMsat: 600_000_999, RemoteMsat: 400_000_000, Fee: 1000, LocalIsFunder: true, DustLimit: 546}
	tests := []struct {
		name   string
		modify func(p *ClosingParams)
		want   []int64 // output values in order; nil for an error
		err    error
	}{
		{"both outputs, funder pays", func(*ClosingParams) {}, []int64{400_000, 599_000}, nil},
		{"remote funder", func(p *ClosingParams) { p.LocalIsFunder = false }, []int64{399_000, 600_000}, nil},
		{"local dust", func(p *ClosingParams) { p.LocalMsat = 1_545_999 }, []int64{400_000}, nil},
		{"omit own output", func(p *ClosingParams) { p.OmitLocal = true }, []int64{400_000}, nil},
		{"fee too high", func(p *ClosingParams) { p.Fee = 600_001 }, nil, ErrFeeTooHigh},
		{"negative fee", func(p *ClosingParams) { p.Fee = -1 }, nil, ErrInvalidParams},
		{"no script", func(p *ClosingParams) { p.RemoteScript = nil }, nil, ErrInvalidParams},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := base
			tc.modify(&p)
			tx, err := ClosingTx(p)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("got %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tx.Version != 2 || tx.LockTime != 0 || tx.TxIn[0].Sequence != wire.MaxTxInSequenceNum {
				t.Fatal("wrong version, locktime or sequence")
			}
			var got []int64
			for _, o := range tx.TxOut {
				got = append(got, o.Value)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("outputs %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("outputs %v, want %v", got, tc.want)
				}
			}
		})
	}
}

// TestClosingTxSpendsFunding signs a closing transaction with both funding
// keys and runs it through the script engine.
func TestClosingTxSpendsFunding(t *testing.T) {
	tc := newTestCommitment(t, StaticRemoteKey, 0)
	a, b := tc.alice, tc.bob
	tx, err := ClosingTx(ClosingParams{
		FundingOutpoint: tc.params.FundingOutpoint,
		LocalScript:     P2WPKH(a.payment.PubKey()), RemoteScript: P2WPKH(b.payment.PubKey()),
		LocalMsat: tc.params.LocalMsat, RemoteMsat: tc.params.RemoteMsat,
		Fee: 700, LocalIsFunder: true, DustLimit: 546,
	})
	if err != nil {
		t.Fatal(err)
	}
	ws := tc.com.FundingScript
	sa := sign(t, tx, ws, tc.params.FundingAmount, a.funding)
	sb := sign(t, tx, ws, tc.params.FundingAmount, b.funding)
	tx.TxIn[0].Witness = FundingWitness(ws, b.funding.PubKey(), sb, a.funding.PubKey(), sa)
	if err := engineErr(tx, 0, tc.fundingOut); err != nil {
		t.Fatalf("closing tx: %v", err)
	}
	// Signatures in the wrong order do not verify.
	tx.TxIn[0].Witness = wire.TxWitness{nil, sb, sa, ws}
	if bytes.Compare(a.funding.PubKey().SerializeCompressed(), b.funding.PubKey().SerializeCompressed()) < 0 {
		if err := engineErr(tx, 0, tc.fundingOut); err == nil {
			t.Fatal("swapped signatures verify")
		}
	}
}

func TestAppendInt(t *testing.T) {
	tests := []struct {
		v    uint32
		want []byte
	}{
		{0, []byte{0x00}},
		{1, []byte{0x51}},
		{16, []byte{0x60}},
		{17, []byte{0x01, 0x11}},
		{127, []byte{0x01, 0x7f}},
		{128, []byte{0x02, 0x80, 0x00}},
		{144, []byte{0x02, 0x90, 0x00}},
		{500, []byte{0x02, 0xf4, 0x01}},
		{0xffff, []byte{0x03, 0xff, 0xff, 0x00}},
		{500_000_000, []byte{0x04, 0x00, 0x65, 0xcd, 0x1d}},
		{0xffffffff, []byte{0x05, 0xff, 0xff, 0xff, 0xff, 0x00}},
	}
	for _, tc := range tests {
		if got := appendInt(nil, tc.v); !bytes.Equal(got, tc.want) {
			t.Errorf("appendInt(%d) = %x, want %x", tc.v, got, tc.want)
		}
	}
}

// FuzzCommitmentTx builds commitments from arbitrary balances, fee rates,
// dust limits and HTLCs: the builder must never panic, and what it builds
// must account for every satoshi.
func FuzzCommitmentTx(f *testing.F) {
	f.Add(uint64(600_000_000), uint32(2500), int64(546), uint16(144), true, []byte{1, 2, 3})
	f.Add(uint64(0), uint32(0), int64(0), uint16(0), false, []byte{})
	f.Add(uint64(5), uint32(0), int64(0), uint16(1), true, []byte{0, 0, 0, 1})
	f.Add(uint64(1_000_000_000), uint32(1<<31), int64(1<<40), uint16(65535), true, []byte{0xff, 0xff})
	tc := newTestCommitment(f, StaticRemoteKey, 0)
	f.Fuzz(func(t *testing.T, local uint64, fee uint32, dust int64, delay uint16, anchors bool, htlcBytes []byte) {
		p := tc.params
		p.FeePerKw, p.DustLimit, p.ToSelfDelay = fee, btcutil.Amount(dust), delay
		if anchors {
			p.Type = Anchors
		}
		var inHTLCs uint64
		for i := 0; i+1 < len(htlcBytes) && len(p.HTLCs) < 50; i += 2 {
			amt := uint64(htlcBytes[i]) * 100_000_000 / 7 * uint64(htlcBytes[i+1]%8+1)
			p.HTLCs = append(p.HTLCs, HTLC{Offered: htlcBytes[i+1]&1 == 1, AmountMsat: amt,
				CLTVExpiry: uint32(htlcBytes[i]), PaymentHash: [32]byte{htlcBytes[i] % 3}})
			inHTLCs += amt
		}
		total := uint64(p.FundingAmount) * 1000
		if inHTLCs > total {
			p.HTLCs = nil
			inHTLCs = 0
		}
		p.LocalMsat = local % (total - inHTLCs + 1)
		p.RemoteMsat = total - inHTLCs - p.LocalMsat
		com, err := CommitmentTx(p)
		if errors.Is(err, ErrAnchorsUnpaid) && anchors {
			return
		}
		if err != nil {
			if dust >= 0 {
				t.Fatalf("valid parameters rejected: %v", err)
			}
			return
		}
		for _, h := range com.HTLCTxs {
			if h.Tx.TxOut[0].Value <= 0 {
				t.Fatalf("htlc tx output of %d sat", h.Tx.TxOut[0].Value)
			}
		}
		var out btcutil.Amount
		for _, o := range com.Tx.TxOut {
			if o.Value <= 0 {
				t.Fatalf("output of %d sat", o.Value)
			}
			out += btcutil.Amount(o.Value)
		}
		if out+com.Fee != p.FundingAmount || com.Fee < 0 {
			t.Fatalf("outputs %d + fee %d != funding %d", out, com.Fee, p.FundingAmount)
		}
		for i := 1; i < len(com.Tx.TxOut); i++ {
			a, b := com.Tx.TxOut[i-1], com.Tx.TxOut[i]
			if a.Value > b.Value || (a.Value == b.Value && bytes.Compare(a.PkScript, b.PkScript) > 0) {
				t.Fatal("outputs not in BIP 69 order")
			}
		}
	})
}
