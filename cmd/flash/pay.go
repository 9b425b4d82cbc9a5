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

// maxPayTimeout mirrors the node's bound on --timeout.
const maxPayTimeout = 24 * time.Hour

func (a *app) payCommand() *cobra.Command {
	var (
		amountMsat int64
		maxFeeSat  int64
		timeout    time.Duration
		keysend    bool
	)
	cmd := &cobra.Command{
		Use:   "pay INVOICE | pay --keysend NODE_ID AMOUNT_SAT",
		Short: "Pay an invoice, or a node directly, and wait for the outcome",
		Long: "Pay a BOLT 11 invoice, or with --keysend pay AMOUNT_SAT to NODE_ID without\n" +
			"an invoice. The command waits until the payment succeeds or fails.",
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			req := rpc.PayRequest{}
			if keysend {
				if len(args) != 2 {
					return usagef("pay --keysend: want NODE_ID AMOUNT_SAT")
				}
				sat, err := parsePositiveSat("amount", args[1])
				if err != nil {
					return err
				}
				if amountMsat != 0 {
					return usagef("--amount-msat: not with --keysend; give AMOUNT_SAT")
				}
				req.KeysendNodeID = args[0]
				req.AmountMsat = uint64(sat) * 1000
			} else {
				if len(args) != 1 {
					return usagef("pay: want one INVOICE")
				}
				req.Invoice = strings.TrimSpace(args[0])
				if req.Invoice == "" {
					return usagef("invoice: empty")
				}
				if amountMsat < 0 {
					return usagef("--amount-msat %d: must not be negative", amountMsat)
				}
				req.AmountMsat = uint64(amountMsat)
			}
			if cmd.Flags().Changed("max-fee-sat") {
				if maxFeeSat < 0 || maxFeeSat > 21_000_000*100_000_000 {
					return usagef("--max-fee-sat %d: out of range", maxFeeSat)
				}
				fee := uint64(maxFeeSat) * 1000
				req.MaxFeeMsat = &fee
			}
			if timeout < 0 || timeout > maxPayTimeout || (timeout != 0 && timeout < time.Second) {
				return usagef("--timeout %v: want 1s to %v", timeout, maxPayTimeout)
			}
			req.TimeoutSeconds = int64((timeout + time.Second - 1) / time.Second)
			c, err := a.client()
			if err != nil {
				return err
			}
			defer c.Close()
			res, err := c.Pay(cmd.Context(), req)
			if err != nil {
				return err
			}
			a.output(res, func(w io.Writer) {
				fields := []field{
					{"status", res.Status},
					{"payment hash", res.PaymentHash},
				}
				if res.Preimage != "" {
					fields = append(fields, field{"preimage", res.Preimage})
				}
				fields = append(fields,
					field{"amount", strconv.FormatUint(res.AmountMsat, 10) + " msat"},
					field{"fee", strconv.FormatUint(res.FeeMsat, 10) + " msat"},
					field{"route", strings.Join(res.Route, " -> ")},
					field{"attempts", strconv.Itoa(len(res.Attempts))},
				)
				if res.FailureReason != "" {
					fields = append(fields, field{"failure reason", res.FailureReason})
				}
				writeFields(w, fields...)
			})
			return nil
		},
	}
	f := cmd.Flags()
	f.Int64Var(&amountMsat, "amount-msat", 0, "amount for an invoice without one, in millisatoshis")
	f.Int64Var(&maxFeeSat, "max-fee-sat", 0, "most paid in routing fees (default 5% of the amount)")
	f.DurationVar(&timeout, "timeout", 0, "stop trying new routes after this long (default 60s)")
	f.BoolVar(&keysend, "keysend", false, "pay NODE_ID AMOUNT_SAT without an invoice")
	return cmd
}

func (a *app) paymentCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "payment",
		Short: "The payments the node sent",
		Args:  cobra.ArbitraryArgs,
		RunE:  groupRun,
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List the sent payments",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			defer c.Close()
			res, err := c.PaymentList(cmd.Context())
			if err != nil {
				return err
			}
			if a.jsonOut {
				writeJSON(a.stdout, res.Payments)
				return nil
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "PAYMENT HASH\tSTATUS\tAMOUNT (msat)\tFEE (msat)\tCREATED AT")
			for _, p := range res.Payments {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\n", p.PaymentHash, p.Status, p.AmountMsat,
					p.FeeMsat, time.Unix(p.CreatedAt, 0).UTC().Format(time.RFC3339))
			}
			return tw.Flush()
		},
	}
	cmd.AddCommand(list)
	return cmd
}
