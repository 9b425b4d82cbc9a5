package main

import (
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/flash-ln/flash/daemon/rpc"
)

func (a *app) chainCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "chain",
		Short: "The built-in regtest chain",
		Args:  cobra.ArbitraryArgs,
		RunE:  groupRun,
	}
	cmd.AddCommand(a.chainInfoCommand(), a.chainMineCommand(), a.chainConnectCommand())
	return cmd
}

func (a *app) chainInfoCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "info",
		Short: "Show the tip of the built-in chain",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			defer c.Close()
			info, err := c.ChainInfo(cmd.Context())
			if err != nil {
				return err
			}
			a.output(info, func(w io.Writer) {
				writeFields(w,
					field{"height", strconv.Itoa(int(info.Height))},
					field{"best hash", info.BestHash},
					field{"chain peers", strconv.Itoa(info.NumChainPeers)},
					field{"listen address", info.ListenAddress},
					field{"current", yesNo(info.IsCurrent)},
				)
			})
			return nil
		},
	}
}

func (a *app) chainMineCommand() *cobra.Command {
	var address string
	cmd := &cobra.Command{
		Use:   "mine N",
		Short: "Mine N regtest blocks (to the node's wallet by default)",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := strconv.Atoi(args[0])
			if err != nil || n < 1 || n > rpc.MaxMineBlocks {
				return usagef("number of blocks %q: want 1 to %d",
					args[0], rpc.MaxMineBlocks)
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			defer c.Close()
			res, err := c.ChainMine(cmd.Context(), n, address)
			if err != nil {
				return err
			}
			a.output(res, func(w io.Writer) {
				fmt.Fprintf(w, "mined %d blocks\n", len(res.BlockHashes))
				for _, h := range res.BlockHashes {
					fmt.Fprintln(w, h)
				}
			})
			return nil
		},
	}
	cmd.Flags().StringVar(&address, "address", "", "pay the coinbases to `ADDR`")
	return cmd
}

func (a *app) chainConnectCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "connect HOST:PORT",
		Short: "Add a chain peer and keep it connected",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			defer c.Close()
			if err := c.ChainConnect(cmd.Context(), args[0]); err != nil {
				return err
			}
			a.output(struct{}{}, func(w io.Writer) {
				fmt.Fprintf(w, "connecting to chain peer %s\n", args[0])
			})
			return nil
		},
	}
}
