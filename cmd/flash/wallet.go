package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/flash-ln/flash/daemon/rpc"
)

func (a *app) walletCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "wallet",
		Short: "The node's on-chain wallet",
		Args:  cobra.ArbitraryArgs,
		RunE:  groupRun,
	}
	cmd.AddCommand(a.newAddressCommand(), a.balanceCommand(), a.sendCommand())
	return cmd
}

func (a *app) newAddressCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "newaddress",
		Short: "Show a new P2WPKH address of the wallet",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			defer c.Close()
			addr, err := c.NewAddress(cmd.Context())
			if err != nil {
				return err
			}
			a.output(rpc.NewAddressResponse{Address: addr}, func(w io.Writer) {
				fmt.Fprintln(w, addr)
			})
			return nil
		},
	}
}

func (a *app) balanceCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "balance",
		Short: "Show the wallet's on-chain funds",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			defer c.Close()
			b, err := c.Balance(cmd.Context())
			if err != nil {
				return err
			}
			a.output(b, func(w io.Writer) {
				writeFields(w,
					field{"confirmed", formatSat(b.ConfirmedSat)},
					field{"unconfirmed", formatSat(b.UnconfirmedSat)},
					field{"locked", formatSat(b.LockedSat)},
					field{"immature", formatSat(b.ImmatureSat)},
				)
			})
			return nil
		},
	}
}

func (a *app) sendCommand() *cobra.Command {
	var feeRate int64
	cmd := &cobra.Command{
		Use:   "send ADDRESS AMOUNT_SAT",
		Short: "Pay AMOUNT_SAT satoshis to ADDRESS on chain",
		Args:  exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			amount, err := parsePositiveSat("amount", args[1])
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("fee-rate") &&
				(feeRate < 1 || feeRate > rpc.MaxFeeRateSatPerVByte) {
				return usagef("fee rate %d sat/vB: want 1 to %d",
					feeRate, rpc.MaxFeeRateSatPerVByte)
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			defer c.Close()
			res, err := c.Send(cmd.Context(), rpc.SendRequest{
				Address:     args[0],
				AmountSat:   amount,
				SatPerVByte: feeRate,
			})
			if err != nil {
				return err
			}
			a.output(res, func(w io.Writer) {
				writeFields(w,
					field{"txid", res.Txid},
					field{"amount", formatSat(amount)},
					field{"fee", formatSat(res.FeeSat)},
				)
			})
			return nil
		},
	}
	cmd.Flags().Int64Var(&feeRate, "fee-rate", 0,
		"fee rate in `SAT_PER_VB` (default: the node's estimate)")
	return cmd
}
