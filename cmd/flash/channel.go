package main

import (
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/flash-ln/flash/daemon/rpc"
)

func (a *app) peerCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "peer",
		Short: "The node's Lightning peers",
		Args:  cobra.ArbitraryArgs,
		RunE:  groupRun,
	}
	connect := &cobra.Command{
		Use:   "connect NODE_ID@HOST:PORT",
		Short: "Connect to a node and keep reconnecting to it",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			defer c.Close()
			if err := c.PeerConnect(cmd.Context(), args[0]); err != nil {
				return err
			}
			a.output(struct{}{}, func(w io.Writer) { fmt.Fprintln(w, "connected") })
			return nil
		},
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List the connected peers",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			defer c.Close()
			res, err := c.PeerList(cmd.Context())
			if err != nil {
				return err
			}
			if a.jsonOut {
				writeJSON(a.stdout, res.Peers)
				return nil
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "NODE ID\tADDRESS\tDIRECTION")
			for _, p := range res.Peers {
				dir := "outbound"
				if p.Inbound {
					dir = "inbound"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\n", p.NodeID, p.Address, dir)
			}
			return tw.Flush()
		},
	}
	disconnect := &cobra.Command{
		Use:   "disconnect NODE_ID",
		Short: "Drop the connection to a node and stop reconnecting to it",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			defer c.Close()
			if err := c.PeerDisconnect(cmd.Context(), args[0]); err != nil {
				return err
			}
			a.output(struct{}{}, func(w io.Writer) { fmt.Fprintln(w, "disconnected") })
			return nil
		},
	}
	cmd.AddCommand(connect, list, disconnect)
	return cmd
}

func (a *app) channelCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "channel",
		Short: "The node's payment channels",
		Args:  cobra.ArbitraryArgs,
		RunE:  groupRun,
	}
	cmd.AddCommand(a.channelOpenCommand(), a.channelListCommand(),
		a.channelCloseCommand(), a.channelClosedCommand(), a.channelPolicyCommand())
	return cmd
}

func (a *app) channelOpenCommand() *cobra.Command {
	var push int64
	var private bool
	cmd := &cobra.Command{
		Use:   "open NODE_ID AMOUNT_SAT",
		Short: "Open a channel to a connected peer",
		Long: "Open a channel of AMOUNT_SAT satoshis to a connected peer, funded by the\n" +
			"wallet. Returns once the funding transaction is broadcast; the channel is\n" +
			"active after its confirmations.",
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			amount, err := parsePositiveSat("amount", args[1])
			if err != nil {
				return err
			}
			if push < 0 || push >= amount {
				return usagef("push %d sat: want 0 to less than the channel size", push)
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			defer c.Close()
			res, err := c.ChannelOpen(cmd.Context(), rpc.ChannelOpenRequest{
				NodeID: args[0], AmountSat: amount, PushSat: push, Private: private,
			})
			if err != nil {
				return err
			}
			a.output(res, func(w io.Writer) {
				writeFields(w,
					field{"channel point", res.ChannelPoint},
					field{"funding txid", res.FundingTxid},
				)
			})
			return nil
		},
	}
	cmd.Flags().Int64Var(&push, "push-sat", 0, "satoshis given to the peer at opening")
	cmd.Flags().BoolVar(&private, "private", false, "do not announce the channel")
	return cmd
}

func (a *app) channelListCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the open and pending channels",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			defer c.Close()
			res, err := c.ChannelList(cmd.Context())
			if err != nil {
				return err
			}
			if a.jsonOut {
				writeJSON(a.stdout, res.Channels)
				return nil
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "CHANNEL POINT\tSCID\tPEER\tCAPACITY\tLOCAL MSAT\tREMOTE MSAT\tSTATE")
			for _, ch := range res.Channels {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", ch.ChannelPoint, ch.ShortChannelID,
					ch.Peer, groupDigits(ch.CapacitySat), groupDigits(ch.LocalBalanceMsat),
					groupDigits(ch.RemoteBalanceMsat), ch.State)
			}
			return tw.Flush()
		},
	}
}

func (a *app) channelCloseCommand() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "close CHANNEL_POINT",
		Short: "Close a channel cooperatively, or unilaterally with --force",
		Long: "Close the channel at CHANNEL_POINT (TXID:VOUT) cooperatively: shutdown, fee\n" +
			"negotiation, then broadcast of the closing transaction. Returns its txid.\n" +
			"--force broadcasts our latest commitment instead (unilateral close); our\n" +
			"outputs are then claimed on chain as they mature (see channel list).",
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			defer c.Close()
			res, err := c.ChannelClose(cmd.Context(), rpc.ChannelCloseRequest{
				ChannelPoint: args[0], Force: force,
			})
			if err != nil {
				return err
			}
			a.output(res, func(w io.Writer) {
				writeFields(w, field{"closing txid", res.ClosingTxid})
			})
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "unilateral close: broadcast our latest commitment")
	return cmd
}

func (a *app) channelClosedCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "closed",
		Short: "List the closed channels and how they ended",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			defer c.Close()
			res, err := c.ChannelClosed(cmd.Context())
			if err != nil {
				return err
			}
			if a.jsonOut {
				writeJSON(a.stdout, res.Channels)
				return nil
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "CHANNEL POINT\tCLOSE TYPE\tCLOSING TXID\tSETTLED SAT\tRESOLVED")
			for _, ch := range res.Channels {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", ch.ChannelPoint, ch.CloseType,
					ch.ClosingTxid, groupDigits(ch.SettledSat), strconv.FormatBool(ch.Resolved))
			}
			return tw.Flush()
		},
	}
}
