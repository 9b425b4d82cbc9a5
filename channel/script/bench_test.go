package script

import (
	"fmt"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2/ecdsa"

	"github.com/flash-ln/flash/channel/keys"
)

// BenchmarkCommitment measures the two halves of a commitment_signed:
// the sender builds the peer's commitment and signs it and every HTLC
// transaction; the receiver builds the same commitment and verifies every
// signature.
func BenchmarkCommitment(b *testing.B) {
	for _, n := range []int{1, 10} {
		tc := newTestCommitment(b, StaticRemoteKey, n)
		bobHTLC := keys.DerivePrivKey(tc.bob.htlc, tc.point())
		if got := len(tc.com.HTLCTxs); got != n {
			b.Fatalf("%d untrimmed HTLCs, want %d", got, n)
		}
		b.Run(fmt.Sprintf("htlcs=%d/build", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := CommitmentTx(tc.params); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("htlcs=%d/build+sign", n), func(b *testing.B) {
			for b.Loop() {
				com, err := CommitmentTx(tc.params)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := com.SignCommitment(tc.params.FundingAmount, tc.bob.funding); err != nil {
					b.Fatal(err)
				}
				for _, h := range com.HTLCTxs {
					if _, err := h.SignRemote(bobHTLC); err != nil {
						b.Fatal(err)
					}
				}
			}
		})

		sig, _ := tc.com.SignCommitment(tc.params.FundingAmount, tc.bob.funding)
		htlcSigs := make([]*ecdsa.Signature, len(tc.com.HTLCTxs))
		for i, h := range tc.com.HTLCTxs {
			htlcSigs[i], _ = h.SignRemote(bobHTLC)
		}
		b.Run(fmt.Sprintf("htlcs=%d/build+verify", n), func(b *testing.B) {
			for b.Loop() {
				com, err := CommitmentTx(tc.params)
				if err != nil {
					b.Fatal(err)
				}
				if err := com.VerifyCommitment(tc.params.FundingAmount, sig, tc.bob.funding.PubKey()); err != nil {
					b.Fatal(err)
				}
				for i, h := range com.HTLCTxs {
					if err := h.VerifyRemote(htlcSigs[i], tc.params.Keys.RemoteHTLC); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
