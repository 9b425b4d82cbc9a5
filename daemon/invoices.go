package daemon

import (
	"fmt"

	"github.com/flash-ln/flash/htlc/invoice"
	"github.com/flash-ln/flash/htlc/invoices"
)

// startInvoices opens the invoice registry, which signs with the node key.
// It comes before the channels: an HTLC restored at start may end here.
func (d *Daemon) startInvoices() error {
	key, err := d.wallet.NodeKey()
	if err != nil {
		return fmt.Errorf("derive node key: %w", err)
	}
	reg, err := invoices.New(invoices.Config{
		DB:     d.db,
		Net:    d.cfg.Params,
		Signer: invoice.SignerFromKey(key),
		NodeID: key.PubKey(),
		Logger: d.logger("invoices"),
	})
	if err != nil {
		return fmt.Errorf("open invoice registry: %w", err)
	}
	d.invoices = reg
	return nil
}
