package main

import (
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/flash-ln/flash/daemon/rpc"
)

func (a *app) graphCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "graph",
		Short: "Show the network graph as the node knows it",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			defer c.Close()
			res, err := c.Graph(cmd.Context())
			if err != nil {
				return err
			}
			a.output(res, func(w io.Writer) { writeGraph(w, res) })
			return nil
		},
	}
}

func writeGraph(w io.Writer, g *rpc.GraphResponse) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "NODES (%d)\n", len(g.Nodes))
	fmt.Fprintln(tw, "NODE ID\tALIAS")
	for _, n := range g.Nodes {
		fmt.Fprintf(tw, "%s\t%s\n", n.NodeID, n.Alias)
	}
	fmt.Fprintf(tw, "\nCHANNELS (%d)\n", len(g.Channels))
	fmt.Fprintln(tw, "SHORT CHANNEL ID\tNODE 1\tNODE 2\tCAPACITY SAT")
	for _, ch := range g.Channels {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", ch.ShortChannelID, ch.Node1, ch.Node2,
			groupDigits(ch.CapacitySat))
	}
	_ = tw.Flush()
}

func (a *app) routeCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "route NODE_ID AMOUNT_SAT",
		Short: "Show the route the node would take now to pay a node",
		Long: "Find the route to pay AMOUNT_SAT satoshis to NODE_ID now: the node's own\n" +
			"balances, the graph's policies and what past payments taught. The fee limit\n" +
			"is 5% of the amount plus 100 sat.",
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			amount, err := parsePositiveSat("amount", args[1])
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			defer c.Close()
			res, err := c.Route(cmd.Context(), rpc.RouteRequest{NodeID: args[0], AmountSat: amount})
			if err != nil {
				return err
			}
			a.output(res, func(w io.Writer) {
				tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "HOP\tNODE ID\tSHORT CHANNEL ID\tAMOUNT MSAT\tEXPIRY")
				for i, h := range res.Hops {
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\n", i+1, h.NodeID, h.ShortChannelID,
						groupDigits(int64(h.AmountMsat)), h.Expiry)
				}
				_ = tw.Flush()
				writeFields(w, field{"total fee", groupDigits(int64(res.TotalFeeMsat)) + " msat"})
			})
			return nil
		},
	}
}

func (a *app) channelPolicyCommand() *cobra.Command {
	var base, ppm, delta int64
	cmd := &cobra.Command{
		Use:   "policy CHANNEL_POINT",
		Short: "Change our forwarding policy on a channel",
		Long: "Change the fees and CLTV delta we charge for forwarding over the channel at\n" +
			"CHANNEL_POINT (TXID:VOUT) and announce them in a new channel_update. Values\n" +
			"not given keep their current setting.",
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := rpc.ChannelPolicyRequest{ChannelPoint: args[0]}
			f := cmd.Flags()
			if f.Changed("base-fee-msat") {
				if base < 0 {
					return usagef("base fee %d msat: must not be negative", base)
				}
				req.BaseFeeMsat = &base
			}
			if f.Changed("fee-ppm") {
				if ppm < 0 {
					return usagef("fee rate %d ppm: must not be negative", ppm)
				}
				req.FeePPM = &ppm
			}
			if f.Changed("cltv-delta") {
				if delta <= 0 {
					return usagef("cltv delta %d: must be positive", delta)
				}
				req.CltvDelta = &delta
			}
			if req.BaseFeeMsat == nil && req.FeePPM == nil && req.CltvDelta == nil {
				return usagef("nothing to change: give --base-fee-msat, --fee-ppm or --cltv-delta")
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			defer c.Close()
			res, err := c.ChannelPolicy(cmd.Context(), req)
			if err != nil {
				return err
			}
			a.output(res, func(w io.Writer) {
				writeFields(w,
					field{"channel point", res.ChannelPoint},
					field{"short channel id", res.ShortChannelID},
					field{"base fee", strconv.FormatUint(uint64(res.BaseFeeMsat), 10) + " msat"},
					field{"fee rate", strconv.FormatUint(uint64(res.FeePPM), 10) + " ppm"},
					field{"cltv delta", strconv.FormatUint(uint64(res.CltvDelta), 10)},
				)
			})
			return nil
		},
	}
	f := cmd.Flags()
	f.Int64Var(&base, "base-fee-msat", 0, "base fee in millisatoshis")
	f.Int64Var(&ppm, "fee-ppm", 0, "proportional fee in millionths of the amount")
	f.Int64Var(&delta, "cltv-delta", 0, "CLTV expiry delta in blocks")
	return cmd
}
