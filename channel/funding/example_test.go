package funding_test

import (
	"crypto/sha256"
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/wire"

	"github.com/flash-ln/flash/channel"
	"github.com/flash-ln/flash/channel/funding"
	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/channel/script"
	"github.com/flash-ln/flash/channel/shachain"
)

func exampleKeyring(name string) *channel.Keyring {
	key := func(label string) *btcec.PrivateKey {
		h := sha256.Sum256([]byte(name + "/" + label))
		k, _ := btcec.PrivKeyFromBytes(h[:])
		return k
	}
	return &channel.Keyring{
		FundingKey:           key("funding"),
		RevocationBaseSecret: key("revocation"),
		PaymentBaseSecret:    key("payment"),
		DelayedBaseSecret:    key("delayed"),
		HTLCBaseSecret:       key("htlc"),
		Secrets:              shachain.NewProducer(sha256.Sum256([]byte(name + "/seed"))),
	}
}

// The whole establishment between a funder, alice, and a fundee, bob. In a
// node each message crosses the network, and each side stores its state
// where the comments say before sending.
func Example() {
	aliceKR, bobKR := exampleKeyring("alice"), exampleKeyring("bob")
	aliceKeys, _ := funding.KeysFromKeyring(aliceKR)
	bobKeys, _ := funding.KeysFromKeyring(bobKR)
	features := lnwire.NewFeatureVector(lnwire.StaticRemoteKey, lnwire.ChannelTypeFeature.Optional())
	genesis := *chaincfg.RegressionNetParams.GenesisHash

	opener, open, err := funding.NewOpener(funding.OpenerParams{
		TempChanID:   lnwire.ChannelID{1},
		ChainHash:    genesis,
		Capacity:     1_000_000,
		PushMsat:     100_000_000,
		FeePerKw:     253,
		LocalKeys:    aliceKeys,
		Policy:       funding.DefaultPolicy(),
		PeerFeatures: features,
		CloseScript:  script.P2WPKH(aliceKeys.Basepoints.Payment),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	accepter, accept, err := funding.AcceptOpen(funding.AcceptParams{
		Open:         open,
		ChainHash:    genesis,
		LocalKeys:    bobKeys,
		Policy:       funding.DefaultPolicy(),
		FeeEstimate:  253,
		PeerFeatures: features,
		CloseScript:  script.P2WPKH(bobKeys.Basepoints.Payment),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	req, err := opener.ReceiveAcceptChannel(accept)
	if err != nil {
		fmt.Println(err)
		return
	}
	// The wallet funds req.Amount to req.PkScript.
	tx := wire.NewMsgTx(2)
	tx.AddTxIn(wire.NewTxIn(&wire.OutPoint{Index: 7}, nil, nil))
	tx.AddTxOut(wire.NewTxOut(int64(req.Amount), req.PkScript))

	created, _ := opener.FundingCreated(tx, aliceKR) // alice stores opener.Marshal()
	bobChannel, signed, err := accepter.ReceiveFundingCreated(created, bobKR)
	if err != nil { // bob stores bobChannel and accepter.Pending()
		fmt.Println(err)
		return
	}
	aliceChannel, err := opener.ReceiveFundingSigned(signed, aliceKR)
	if err != nil { // alice stores aliceChannel and opener.Pending(), then broadcasts
		fmt.Println(err)
		return
	}
	pending := opener.Pending()
	fmt.Println("same channel:", aliceChannel.ID() == bobChannel.ID())
	fmt.Println("bob's balance:", bobChannel.LocalCommitment().Spec.LocalBalance)
	fmt.Println("channel_ready after", pending.MinimumDepth, "confirmations")
	// Output:
	// same channel: true
	// bob's balance: 100000000 mSAT
	// channel_ready after 3 confirmations
}
