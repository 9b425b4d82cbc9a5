package script

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/flash-ln/flash/channel/keys"
)

func sha256Sum(b []byte) [32]byte { return sha256.Sum256(b) }

// party is one side of a test channel with all its secrets.
type party struct {
	funding    *btcec.PrivateKey
	revocation *btcec.PrivateKey
	payment    *btcec.PrivateKey
	delayed    *btcec.PrivateKey
	htlc       *btcec.PrivateKey
	seed       byte
}

func newParty(tag byte) *party {
	k := func(i byte) *btcec.PrivateKey {
		p, _ := btcec.PrivKeyFromBytes(bytes.Repeat([]byte{tag + i}, 32))
		return p
	}
	return &party{funding: k(0), revocation: k(1), payment: k(2), delayed: k(3), htlc: k(4), seed: tag}
}

func (p *party) basepoints() *keys.Basepoints {
	return &keys.Basepoints{
		Revocation:     p.revocation.PubKey(),
		Payment:        p.payment.PubKey(),
		DelayedPayment: p.delayed.PubKey(),
		HTLC:           p.htlc.PubKey(),
	}
}

func (p *party) commitmentSecret(n uint64) [32]byte {
	return sha256Sum([]byte{p.seed, byte(n), byte(n >> 8)})
}

// testCommitment is Alice's commitment of a test channel with Bob, holding
// one offered and one received HTLC, with every secret at hand.
type testCommitment struct {
	alice, bob *party
	params     CommitmentParams
	com        *Commitment
	secret     [32]byte
	preimages  [][32]byte
	fundingOut *wire.TxOut
}

const (
	testToSelfDelay = 144
	testFunding     = 1_000_000
)

func newTestCommitment(t testing.TB, ct CommitmentType, numHTLCs int) *testCommitment {
	t.Helper()
	alice, bob := newParty(0x10), newParty(0x40)
	secret := alice.commitmentSecret(7)
	ck := keys.DeriveOwnCommitmentKeys(secret, alice.basepoints(), bob.basepoints())
	tc := &testCommitment{alice: alice, bob: bob, secret: secret}
	p := CommitmentParams{
		Type:             ct,
		FundingOutpoint:  wire.OutPoint{Hash: chainhash.Hash{1, 2, 3}, Index: 1},
		FundingAmount:    testFunding,
		LocalFundingKey:  alice.funding.PubKey(),
		RemoteFundingKey: bob.funding.PubKey(),
		Keys:             ck,
		CommitmentNumber: 7,
		Obscurer:         ObscuringFactor(alice.payment.PubKey(), bob.payment.PubKey()),
		ToSelfDelay:      testToSelfDelay,
		DustLimit:        546,
		FeePerKw:         2500,
		LocalIsFunder:    true,
	}
	var inHTLCs uint64
	for i := 0; i < numHTLCs; i++ {
		pre := sha256Sum([]byte{byte(i), 0xee})
		h := HTLC{
			Offered:     i%2 == 0,
			AmountMsat:  uint64(20_000_000 + 1000*i),
			PaymentHash: sha256Sum(pre[:]),
			CLTVExpiry:  uint32(500_000 + i),
		}
		p.HTLCs = append(p.HTLCs, h)
		tc.preimages = append(tc.preimages, pre)
		inHTLCs += h.AmountMsat
	}
	p.LocalMsat = 600_000_000 - inHTLCs/2
	p.RemoteMsat = testFunding*1000 - p.LocalMsat - inHTLCs
	com, err := CommitmentTx(p)
	if err != nil {
		t.Fatal(err)
	}
	as, err := com.SignCommitment(p.FundingAmount, alice.funding)
	if err != nil {
		t.Fatal(err)
	}
	bs, err := com.SignCommitment(p.FundingAmount, bob.funding)
	if err != nil {
		t.Fatal(err)
	}
	com.SetFundingWitness(alice.funding.PubKey(), as, bob.funding.PubKey(), bs)
	_, pk, _ := FundingScript(alice.funding.PubKey(), bob.funding.PubKey())
	tc.fundingOut = wire.NewTxOut(int64(p.FundingAmount), pk)
	tc.params, tc.com = p, com
	return tc
}

func (tc *testCommitment) point() *btcec.PublicKey { return tc.params.Keys.PerCommitmentPoint }

// outputOf returns the index of the first commitment output of kind.
func (tc *testCommitment) outputOf(t testing.TB, kind OutputKind) int {
	t.Helper()
	for i, o := range tc.com.Outputs {
		if o.Kind == kind {
			return i
		}
	}
	t.Fatalf("no %v output", kind)
	return -1
}

// spendTx returns a one-input, one-output transaction spending out.
func spendTx(out wire.OutPoint, value btcutil.Amount, sequence, lockTime uint32) *wire.MsgTx {
	tx := wire.NewMsgTx(2)
	tx.LockTime = lockTime
	tx.AddTxIn(&wire.TxIn{PreviousOutPoint: out, Sequence: sequence})
	tx.AddTxOut(wire.NewTxOut(int64(value-1000), P2WPKH(newParty(0x70).payment.PubKey())))
	return tx
}

func sign(t testing.TB, tx *wire.MsgTx, script []byte, amount btcutil.Amount, key *btcec.PrivateKey) []byte {
	t.Helper()
	sig, err := Sign(tx, 0, script, amount, txscript.SigHashAll, key)
	if err != nil {
		t.Fatal(err)
	}
	return WitnessSig(sig, txscript.SigHashAll)
}

// engineErr runs the script engine and returns its verdict.
func engineErr(tx *wire.MsgTx, idx int, prevOut *wire.TxOut) error {
	fetcher := txscript.NewCannedPrevOutputFetcher(prevOut.PkScript, prevOut.Value)
	hashes := txscript.NewTxSigHashes(tx, fetcher)
	vm, err := txscript.NewEngine(prevOut.PkScript, tx, idx, txscript.StandardVerifyFlags,
		nil, hashes, prevOut.Value, fetcher)
	if err != nil {
		return err
	}
	return vm.Execute()
}

// TestSpendPaths spends every output of a commitment, and of its HTLC
// transactions, by every path BOLT 3 defines, and checks each spend with
// the script engine; each path is also tried with a wrong key or preimage,
// which must fail.
func TestSpendPaths(t *testing.T) {
	for _, ct := range []CommitmentType{StaticRemoteKey, Anchors} {
		t.Run(ct.String(), func(t *testing.T) {
			testSpendPaths(t, ct)
		})
	}
}

func testSpendPaths(t *testing.T, ct CommitmentType) {
	tc := newTestCommitment(t, ct, 2)
	a, b := tc.alice, tc.bob
	k := tc.params.Keys
	point := tc.point()
	if err := engineErr(tc.com.Tx, 0, tc.fundingOut); err != nil {
		t.Fatalf("commitment: %v", err)
	}
	txid := tc.com.Tx.TxHash()
	htlcSeq := uint32(0)
	if ct == Anchors {
		htlcSeq = 1
	}

	aliceDelayed := keys.DerivePrivKey(a.delayed, point)
	aliceHTLC := keys.DerivePrivKey(a.htlc, point)
	bobHTLC := keys.DerivePrivKey(b.htlc, point)
	revocation := keys.RevocationPrivKey(b.revocation, tc.secret)
	wrong := newParty(0x99).payment

	type spendCase struct {
		name    string
		output  int
		seq     uint32
		lock    uint32
		witness func(tx *wire.MsgTx, o Output, key *btcec.PrivateKey) wire.TxWitness
		key     *btcec.PrivateKey
	}
	offered := tc.com.HTLCOutputs[0]
	received := tc.com.HTLCOutputs[1]
	if offered < 0 || received < 0 {
		t.Fatal("test HTLCs were trimmed")
	}
	cases := []spendCase{
		{"to_local delayed", tc.outputOf(t, ToLocal), testToSelfDelay, 0,
			func(tx *wire.MsgTx, o Output, key *btcec.PrivateKey) wire.TxWitness {
				return ToLocalDelayedWitness(sign(t, tx, o.WitnessScript, o.Amount, key), o.WitnessScript)
			}, aliceDelayed},
		{"to_local revoked", tc.outputOf(t, ToLocal), 0, 0,
			func(tx *wire.MsgTx, o Output, key *btcec.PrivateKey) wire.TxWitness {
				return ToLocalRevokeWitness(sign(t, tx, o.WitnessScript, o.Amount, key), o.WitnessScript)
			}, revocation},
		{"offered htlc revoked", offered, 0, 0,
			func(tx *wire.MsgTx, o Output, key *btcec.PrivateKey) wire.TxWitness {
				return HTLCRevokeWitness(sign(t, tx, o.WitnessScript, o.Amount, key), key.PubKey(), o.WitnessScript)
			}, revocation},
		{"received htlc revoked", received, 0, 0,
			func(tx *wire.MsgTx, o Output, key *btcec.PrivateKey) wire.TxWitness {
				return HTLCRevokeWitness(sign(t, tx, o.WitnessScript, o.Amount, key), key.PubKey(), o.WitnessScript)
			}, revocation},
		{"offered htlc claimed by remote with preimage", offered, htlcSeq, 0,
			func(tx *wire.MsgTx, o Output, key *btcec.PrivateKey) wire.TxWitness {
				return OfferedHTLCPreimageWitness(sign(t, tx, o.WitnessScript, o.Amount, key),
					tc.preimages[0], o.WitnessScript)
			}, bobHTLC},
		{"received htlc timed out by remote", received, htlcSeq, tc.params.HTLCs[1].CLTVExpiry,
			func(tx *wire.MsgTx, o Output, key *btcec.PrivateKey) wire.TxWitness {
				return ReceivedHTLCTimeoutWitness(sign(t, tx, o.WitnessScript, o.Amount, key), o.WitnessScript)
			}, bobHTLC},
	}
	if ct == Anchors {
		cases = append(cases,
			spendCase{"to_remote after one block", tc.outputOf(t, ToRemote), 1, 0,
				func(tx *wire.MsgTx, o Output, key *btcec.PrivateKey) wire.TxWitness {
					return ToRemoteAnchorWitness(sign(t, tx, o.WitnessScript, o.Amount, key), o.WitnessScript)
				}, b.payment},
			spendCase{"local anchor", tc.outputOf(t, LocalAnchor), 0, 0,
				func(tx *wire.MsgTx, o Output, key *btcec.PrivateKey) wire.TxWitness {
					return AnchorWitness(sign(t, tx, o.WitnessScript, o.Amount, key), o.WitnessScript)
				}, a.funding},
			spendCase{"remote anchor", tc.outputOf(t, RemoteAnchor), 0, 0,
				func(tx *wire.MsgTx, o Output, key *btcec.PrivateKey) wire.TxWitness {
					return AnchorWitness(sign(t, tx, o.WitnessScript, o.Amount, key), o.WitnessScript)
				}, b.funding},
		)
	} else {
		cases = append(cases, spendCase{"to_remote", tc.outputOf(t, ToRemote), 0, 0,
			func(tx *wire.MsgTx, o Output, key *btcec.PrivateKey) wire.TxWitness {
				code := P2WPKHScriptCode(key.PubKey())
				return ToRemoteWitness(sign(t, tx, code, o.Amount, key), key.PubKey())
			}, b.payment})
	}

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := tc.com.Outputs[c.output]
			prev := tc.com.Tx.TxOut[c.output]
			op := wire.OutPoint{Hash: txid, Index: uint32(c.output)}

			// Anchors are worth less than the test fee; spend them whole.
			tx := spendTx(op, o.Amount+1000, c.seq, c.lock)
			tx.TxOut[0].Value = int64(o.Amount) / 2
			tx.TxIn[0].Witness = c.witness(tx, o, c.key)
			if err := engineErr(tx, 0, prev); err != nil {
				t.Fatalf("spend fails: %v", err)
			}
			tx.TxIn[0].Witness = c.witness(tx, o, wrong)
			if err := engineErr(tx, 0, prev); err == nil {
				t.Fatal("spend with a wrong key verifies")
			}
		})
	}

	// The second-stage transactions, completed with both signatures, and
	// then their outputs, by the delayed key and by the revocation key.
	for i, h := range tc.com.HTLCTxs {
		rs, err := h.SignRemote(bobHTLC)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.VerifyRemote(rs, k.RemoteHTLC); err != nil {
			t.Fatalf("htlc tx %d: %v", i, err)
		}
		ls, err := h.SignLocal(aliceHTLC)
		if err != nil {
			t.Fatal(err)
		}
		prevIdx := h.Tx.TxIn[0].PreviousOutPoint.Index
		prev := tc.com.Tx.TxOut[prevIdx]
		if !h.Timeout {
			// A wrong preimage must not unlock the HTLC-success path.
			h.SetWitness(rs, ls, [32]byte{1})
			if err := engineErr(h.Tx, 0, prev); err == nil {
				t.Fatalf("htlc-success tx %d verifies with a wrong preimage", i)
			}
		}
		h.SetWitness(rs, ls, tc.preimages[h.HTLCIndex])
		if err := engineErr(h.Tx, 0, prev); err != nil {
			t.Fatalf("htlc tx %d (timeout=%v): %v", i, h.Timeout, err)
		}
		if h.Timeout && h.Tx.LockTime != tc.params.HTLCs[h.HTLCIndex].CLTVExpiry {
			t.Fatalf("htlc-timeout locktime %d", h.Tx.LockTime)
		}

		out := h.Tx.TxOut[0]
		op := wire.OutPoint{Hash: h.Tx.TxHash(), Index: 0}
		amt := btcutil.Amount(out.Value)
		delayed := spendTx(op, amt, testToSelfDelay, 0)
		delayed.TxIn[0].Witness = ToLocalDelayedWitness(sign(t, delayed, h.OutputScript, amt, aliceDelayed), h.OutputScript)
		if err := engineErr(delayed, 0, out); err != nil {
			t.Fatalf("delayed sweep of htlc tx %d: %v", i, err)
		}
		early := spendTx(op, amt, testToSelfDelay-1, 0)
		early.TxIn[0].Witness = ToLocalDelayedWitness(sign(t, early, h.OutputScript, amt, aliceDelayed), h.OutputScript)
		if err := engineErr(early, 0, out); err == nil {
			t.Fatalf("sweep of htlc tx %d before to_self_delay verifies", i)
		}

		justice, err := JusticeTx([]RevokedOutput{{OutPoint: op, Amount: amt, WitnessScript: h.OutputScript, Kind: ToLocal}},
			revocation, P2WPKH(b.payment.PubKey()), 2500)
		if err != nil {
			t.Fatal(err)
		}
		if err := engineErr(justice, 0, out); err != nil {
			t.Fatalf("justice on htlc tx %d: %v", i, err)
		}
	}
}

// TestJusticeTx sweeps every revocable output of a revoked commitment in one
// transaction and checks every input and the fee.
func TestJusticeTx(t *testing.T) {
	for _, ct := range []CommitmentType{StaticRemoteKey, Anchors} {
		t.Run(ct.String(), func(t *testing.T) {
			tc := newTestCommitment(t, ct, 6)
			revoked := tc.com.RevokedOutputs()
			if len(revoked) != 7 {
				t.Fatalf("%d revocable outputs, want 7", len(revoked))
			}
			revocation := keys.RevocationPrivKey(tc.bob.revocation, tc.secret)
			const feePerKw = 5000
			tx, err := JusticeTx(revoked, revocation, P2WPKH(tc.bob.payment.PubKey()), feePerKw)
			if err != nil {
				t.Fatal(err)
			}
			fetcher := txscript.NewMultiPrevOutFetcher(nil)
			var in btcutil.Amount
			for _, r := range revoked {
				fetcher.AddPrevOut(r.OutPoint, tc.com.Tx.TxOut[r.OutPoint.Index])
				in += r.Amount
			}
			for i := range tx.TxIn {
				verifyInputWith(t, tx, i, tc.com.Tx.TxOut[tx.TxIn[i].PreviousOutPoint.Index], fetcher)
			}
			weight := int64(tx.SerializeSizeStripped())*3 + int64(tx.SerializeSize())
			fee := in - btcutil.Amount(tx.TxOut[0].Value)
			if fee < FeeForWeight(feePerKw, weight) {
				t.Fatalf("fee %d below %d for weight %d", fee, FeeForWeight(feePerKw, weight), weight)
			}

			// A key that is not the revocation key makes nothing valid.
			bad, err := JusticeTx(revoked, tc.bob.revocation, P2WPKH(tc.bob.payment.PubKey()), feePerKw)
			if err != nil {
				t.Fatal(err)
			}
			if err := engineErr(bad, 0, tc.com.Tx.TxOut[bad.TxIn[0].PreviousOutPoint.Index]); err == nil {
				t.Fatal("justice with the basepoint secret verifies")
			}
		})
	}
}

func TestJusticeTxErrors(t *testing.T) {
	tc := newTestCommitment(t, StaticRemoteKey, 2)
	revocation := keys.RevocationPrivKey(tc.bob.revocation, tc.secret)
	revoked := tc.com.RevokedOutputs()
	sweep := P2WPKH(tc.bob.payment.PubKey())
	tests := []struct {
		name    string
		outputs []RevokedOutput
		key     *btcec.PrivateKey
		fee     uint32
		want    error
	}{
		{"nothing", nil, revocation, 1000, ErrInvalidParams},
		{"no key", revoked, nil, 1000, ErrMissingKey},
		{"not revocable", []RevokedOutput{{Kind: ToRemote, Amount: 1000}}, revocation, 1000, ErrInvalidParams},
		{"fee eats everything", revoked, revocation, 1 << 31, ErrSweepBelowDust},
	}
	for _, c := range tests {
		t.Run(c.name, func(t *testing.T) {
			if _, err := JusticeTx(c.outputs, c.key, sweep, c.fee); !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}
