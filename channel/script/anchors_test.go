package script

import (
	"encoding/hex"
	"testing"

	"github.com/btcsuite/btcd/btcutil"
)

type anchorVectors struct {
	Tests []struct {
		Name          string `json:"Name"`
		LocalBalance  uint64 `json:"LocalBalance"`
		RemoteBalance uint64 `json:"RemoteBalance"`
		DustLimit     int64  `json:"DustLimitSatoshis"`
		FeePerKw      uint32 `json:"FeePerKw"`
		UseTestHTLCs  bool   `json:"UseTestHtlcs"`
		ExpectedTx    string `json:"ExpectedCommitmentTxHex"`
		RemoteSig     string `json:"RemoteSigHex"`
		HTLCDescs     []struct {
			RemoteSig string `json:"RemoteSigHex"`
			Tx        string `json:"ResolutionTxHex"`
		} `json:"HtlcDescs"`
	} `json:"tests"`
}

// TestAnchorVectors checks the option_anchors cases of BOLT 3 Appendix F,
// on the channel of Appendix C.
func TestAnchorVectors(t *testing.T) {
	c := loadVectorChannel(t)
	var v anchorVectors
	readVectors(t, "bolt03-commitments-anchors.json", &v)
	if len(v.Tests) != 9 {
		t.Fatalf("got %d cases, want 9", len(v.Tests))
	}
	fundingOut := c.fundingTxOut(t)
	for _, tc := range v.Tests {
		t.Run(tc.Name, func(t *testing.T) {
			var htlcs []vectorHTLC
			if tc.UseTestHTLCs {
				ids := []int{0, 1, 2, 3, 4}
				if tc.LocalBalance+tc.RemoteBalance+12_000_001 == 10_000_000_000 {
					ids = []int{1, 5, 6} // the "same amount and preimage" case
				}
				for _, id := range ids {
					htlcs = append(htlcs, c.v.HTLCs[id])
				}
			}
			p, preimages := c.params(t, tc.FeePerKw, tc.LocalBalance, tc.RemoteBalance, htlcs)
			p.Type = Anchors
			p.DustLimit = btcutil.Amount(tc.DustLimit)
			com, err := CommitmentTx(p)
			if err != nil {
				t.Fatal(err)
			}
			remoteSig, err := com.SignCommitment(p.FundingAmount, c.remoteFunding)
			if err != nil {
				t.Fatal(err)
			}
			localSig, err := com.SignCommitment(p.FundingAmount, c.localFunding)
			if err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(remoteSig.Serialize()) != tc.RemoteSig {
				t.Errorf("remote signature %x", remoteSig.Serialize())
			}
			com.SetFundingWitness(c.localFunding.PubKey(), localSig, c.remoteFunding.PubKey(), remoteSig)
			if got := txHex(t, com.Tx); got != tc.ExpectedTx {
				t.Fatalf("commitment tx\n got %s\nwant %s", got, tc.ExpectedTx)
			}
			verifyInput(t, com.Tx, 0, fundingOut)

			if len(com.HTLCTxs) != len(tc.HTLCDescs) {
				t.Fatalf("%d HTLC txs, want %d", len(com.HTLCTxs), len(tc.HTLCDescs))
			}
			for i, want := range tc.HTLCDescs {
				h := com.HTLCTxs[i]
				rs, err := h.SignRemote(c.remoteHTLCKey)
				if err != nil {
					t.Fatal(err)
				}
				if hex.EncodeToString(rs.Serialize()) != want.RemoteSig {
					t.Errorf("htlc tx %d remote signature %x", i, rs.Serialize())
				}
				ls, err := h.SignLocal(c.localHTLCKey)
				if err != nil {
					t.Fatal(err)
				}
				h.SetWitness(rs, ls, preimages[h.HTLCIndex])
				if got := txHex(t, h.Tx); got != want.Tx {
					t.Fatalf("htlc tx %d\n got %s\nwant %s", i, got, want.Tx)
				}
				verifyInput(t, h.Tx, 0, com.Tx.TxOut[h.Tx.TxIn[0].PreviousOutPoint.Index])
			}
		})
	}
}
