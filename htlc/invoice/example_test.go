package invoice_test

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/chaincfg"

	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/htlc/invoice"
)

func Example() {
	nodeKey, _ := btcec.PrivKeyFromBytes(bytes.Repeat([]byte{1}, 32))
	amount := lnwire.MilliSatoshi(50_000_000)
	desc := "50k sat for dave"
	inv := &invoice.Invoice{
		Net:                     &chaincfg.RegressionNetParams,
		Amount:                  &amount,
		Timestamp:               time.Unix(1_700_000_000, 0),
		PaymentHash:             sha256.Sum256([]byte("preimage")),
		PaymentSecret:           sha256.Sum256([]byte("secret")),
		Description:             &desc,
		Payee:                   nodeKey.PubKey(),
		MinFinalCLTVExpiryDelta: 40,
		Features:                lnwire.NewFeatureVector(lnwire.VarOnionOptin, lnwire.PaymentSecret),
	}
	s, err := invoice.Encode(inv, invoice.SignerFromKey(nodeKey))
	if err != nil {
		panic(err)
	}
	fmt.Println(s[:12])

	got, err := invoice.Decode(s, invoice.WithNetwork(&chaincfg.RegressionNetParams))
	if err != nil {
		panic(err)
	}
	fmt.Println(*got.Amount, *got.Description, got.Payee.IsEqual(nodeKey.PubKey()))
	// Output:
	// lnbcrt500u1p
	// 50000000 mSAT 50k sat for dave true
}
