package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/flash-ln/flash/daemon/rpc"
)

// maxInvoiceExpiry mirrors the registry's limit, so that the CLI can refuse
// a silly expiry before calling the node.
const maxInvoiceExpiry = 365 * 24 * time.Hour

func (a *app) invoiceCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "invoice",
		Short: "The node's BOLT 11 invoices",
		Args:  cobra.ArbitraryArgs,
		RunE:  groupRun,
	}
	cmd.AddCommand(a.invoiceAddCommand(), a.invoiceListCommand(), a.invoiceDecodeCommand())
	return cmd
}

func (a *app) invoiceAddCommand() *cobra.Command {
	var msat int64
	var memo string
	var expiry time.Duration
	cmd := &cobra.Command{
		Use:   "add AMOUNT_SAT",
		Short: "Create an invoice",
		Long: "Create a BOLT 11 invoice for AMOUNT_SAT satoshis (0: the payer chooses).\n" +
			"--msat adds millisatoshis to the amount.",
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sat, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || sat < 0 || sat > 21_000_000*100_000_000 {
				return usagef("amount %q: want a whole number of satoshis, 0 to 21,000,000 BTC", args[0])
			}
			if msat < 0 || msat > 999 {
				return usagef("--msat %d: want 0 to 999", msat)
			}
			if expiry < 0 || expiry > maxInvoiceExpiry || expiry%time.Second != 0 ||
				(expiry != 0 && expiry < time.Second) {
				return usagef("--expiry %v: want whole seconds, 1s to %v", expiry, maxInvoiceExpiry)
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			defer c.Close()
			res, err := c.InvoiceAdd(cmd.Context(), rpc.InvoiceAddRequest{
				AmountMsat:    uint64(sat)*1000 + uint64(msat),
				Memo:          memo,
				ExpirySeconds: int64(expiry / time.Second),
			})
			if err != nil {
				return err
			}
			a.output(res, func(w io.Writer) {
				writeFields(w,
					field{"invoice", res.Invoice},
					field{"payment hash", res.PaymentHash},
				)
			})
			return nil
		},
	}
	cmd.Flags().Int64Var(&msat, "msat", 0, "millisatoshis added to the amount (0 to 999)")
	cmd.Flags().StringVar(&memo, "memo", "", "description shown to the payer")
	cmd.Flags().DurationVar(&expiry, "expiry", 0, "how long the invoice is payable (default 1h)")
	return cmd
}

func (a *app) invoiceListCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the invoices and whether they are paid",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			defer c.Close()
			res, err := c.InvoiceList(cmd.Context())
			if err != nil {
				return err
			}
			if a.jsonOut {
				writeJSON(a.stdout, res.Invoices)
				return nil
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "PAYMENT HASH\tAMOUNT (msat)\tSTATE\tSETTLED AT\tMEMO")
			for _, inv := range res.Invoices {
				settled := "-"
				if inv.SettledAt != 0 {
					settled = time.Unix(inv.SettledAt, 0).UTC().Format(time.RFC3339)
				}
				fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", inv.PaymentHash, inv.AmountMsat,
					inv.State, settled, oneLine(inv.Memo))
			}
			return tw.Flush()
		},
	}
}

func (a *app) invoiceDecodeCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "decode INVOICE",
		Short: "Decode any BOLT 11 invoice",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s := strings.TrimSpace(args[0])
			if s == "" {
				return usagef("invoice: empty")
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			defer c.Close()
			res, err := c.InvoiceDecode(cmd.Context(), s)
			if err != nil {
				return err
			}
			a.output(res, func(w io.Writer) {
				amount := "any"
				if res.AmountMsat != 0 {
					amount = strconv.FormatUint(res.AmountMsat, 10) + " msat"
				}
				writeFields(w,
					field{"payee", res.Payee},
					field{"payment hash", res.PaymentHash},
					field{"amount", amount},
					field{"description", oneLine(res.Description)},
					field{"timestamp", time.Unix(res.Timestamp, 0).UTC().Format(time.RFC3339)},
					field{"expiry", (time.Duration(res.Expiry) * time.Second).String()},
					field{"min final cltv expiry", strconv.FormatUint(res.MinFinalCLTVExpiry, 10)},
					field{"route hints", strconv.Itoa(len(res.RouteHints))},
				)
			})
			return nil
		},
	}
}
