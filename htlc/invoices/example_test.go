package invoices_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/chaincfg"
	"go.etcd.io/bbolt"

	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/htlc/invoice"
	"github.com/flash-ln/flash/htlc/invoices"
)

func Example() {
	dir, err := os.MkdirTemp("", "invoices")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := bbolt.Open(filepath.Join(dir, "node.db"), 0o600, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	key, err := btcec.NewPrivateKey()
	if err != nil {
		log.Fatal(err)
	}
	reg, err := invoices.New(invoices.Config{
		DB:     db,
		Net:    &chaincfg.RegressionNetParams,
		Signer: invoice.SignerFromKey(key),
		NodeID: key.PubKey(),
	})
	if err != nil {
		log.Fatal(err)
	}

	// The payee issues an invoice for 50,000 sat.
	rec, err := reg.Add(context.Background(), invoices.AddRequest{
		AmountMsat: lnwire.NewMSatFromSatoshis(50_000),
		Memo:       "coffee",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(rec.Invoice[:11], rec.State)

	// An HTLC arrives whose onion pays it.
	secret := rec.PaymentSecret
	res, err := reg.Accept(context.Background(), invoices.IncomingHTLC{
		PaymentHash:   rec.PaymentHash,
		AmountMsat:    rec.AmountMsat,
		Expiry:        200,
		CurrentHeight: 100,
		AmtToForward:  rec.AmountMsat,
		OutgoingCLTV:  200,
		PaymentSecret: &secret,
	})
	if err != nil {
		log.Fatal(err)
	}
	if s, ok := res.(*invoices.Settle); ok {
		fmt.Println("settle with the invoice's preimage:", s.Preimage == rec.Preimage)
	}
	paid, err := reg.Lookup(rec.PaymentHash)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(paid.State, paid.AmountPaidMsat)
	// Output:
	// lnbcrt500u1 open
	// settle with the invoice's preimage: true
	// settled 50000000 mSAT
}
