package forward

import (
	"context"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/flash-ln/flash/htlc/invoice"
	"github.com/flash-ln/flash/htlc/invoices"
	"github.com/flash-ln/flash/htlc/onion"
)

// Carol's final hop is the real invoice registry: the payment settles her
// invoice, and a second payment of it fails back to alice.
func TestPaymentToRegistry(t *testing.T) {
	ctx := context.Background()
	r := newRoute(t)
	now := time.Unix(1_700_000_000, 0)
	reg, err := invoices.New(invoices.Config{
		DB: r.carol.db, Net: &chaincfg.RegressionNetParams,
		Signer: invoice.SignerFromKey(r.carol.key), NodeID: r.carol.key.PubKey(),
		Now: func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	r.carol.sw.cfg.FinalHop = reg
	rec, err := reg.Add(ctx, invoices.AddRequest{AmountMsat: r.bcAmt, Memo: "coffee"})
	if err != nil {
		t.Fatal(err)
	}
	r.preimage, r.hash, r.secret = rec.Preimage, rec.PaymentHash, rec.PaymentSecret
	r.build(t, r.bcAmt, r.bcExp)

	toCarol := r.forwardAtBob(t, r.send(t))
	d, err := r.carol.sw.HandleIncoming(ctx, toCarol, testHeight)
	if d = mustAction(t, d, err, ActionSettle); d.Preimage != rec.Preimage {
		t.Fatal("registry settled with another preimage")
	}
	if got, err := reg.Lookup(rec.PaymentHash); err != nil || got.State != invoices.StateSettled {
		t.Fatalf("invoice after payment: %+v, %v", got, err)
	}

	// A second HTLC for the same invoice, on another id, is refused.
	again := toCarol
	again.HTLC.ID = 1
	again.Restored = true // the same onion, read without the replay log
	d, err = r.carol.sw.HandleIncoming(ctx, again, testHeight)
	d = mustAction(t, d, err, ActionFail)
	if _, ok := d.Failure.(*onion.IncorrectOrUnknownPaymentDetails); !ok {
		t.Fatalf("second payment failed with %v", d.Failure)
	}
}
