package onion_test

import (
	"bytes"
	"crypto/sha256"
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2"

	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/htlc/onion"
)

// Alice pays Carol through Bob; Carol does not know the payment, and the
// failure finds its way back to Alice.
func Example() {
	bob, _ := btcec.PrivKeyFromBytes(bytes.Repeat([]byte{2}, 32))
	carol, _ := btcec.PrivKeyFromBytes(bytes.Repeat([]byte{3}, 32))
	session, _ := btcec.PrivKeyFromBytes(bytes.Repeat([]byte{9}, 32))
	hash := sha256.Sum256([]byte("preimage"))

	scid := lnwire.ShortChannelID{BlockHeight: 101, TxIndex: 1, TxPosition: 0}
	toBob, _ := (&onion.Payload{AmtToForward: 50_000_000, OutgoingCLTV: 140, ShortChannelID: &scid}).Encode()
	toCarol, _ := (&onion.Payload{
		AmtToForward: 50_000_000, OutgoingCLTV: 140,
		PaymentData: &onion.PaymentData{PaymentSecret: [32]byte{7}, TotalMsat: 50_000_000},
	}).Encode()
	packet, circuit, err := onion.NewOnion(session, []onion.Hop{
		{NodePub: bob.PubKey(), Payload: toBob},
		{NodePub: carol.PubKey(), Payload: toCarol},
	}, hash[:])
	if err != nil {
		panic(err)
	}

	bobRouter, _ := onion.NewRouter(bob, nil)
	atBob, err := bobRouter.Process(packet[:], hash[:], 180)
	if err != nil {
		panic(err)
	}
	fmt.Println("bob forwards over", atBob.Payload.ShortChannelID, "final:", atBob.Final)

	carolRouter, _ := onion.NewRouter(carol, nil)
	atCarol, err := carolRouter.Process(atBob.NextPacket[:], hash[:], 140)
	if err != nil {
		panic(err)
	}
	fmt.Println("carol final:", atCarol.Final)

	carolEnc, _ := carolRouter.ErrorEncrypter(atCarol.EphemeralKey)
	reason := carolEnc.EncryptFailure(&onion.IncorrectOrUnknownPaymentDetails{HtlcMsat: 50_000_000, Height: 120})
	bobEnc, _ := bobRouter.ErrorEncrypter(atBob.EphemeralKey)
	reason = bobEnc.Wrap(reason)

	ff, err := onion.DecryptFailure(circuit, reason)
	if err != nil {
		panic(err)
	}
	fmt.Println("hop", ff.HopIndex, "failed:", ff.Failure)
	// Output:
	// bob forwards over 101x1x0 final: false
	// carol final: true
	// hop 1 failed: incorrect_or_unknown_payment_details (htlc 50000000 msat, height 120)
}
