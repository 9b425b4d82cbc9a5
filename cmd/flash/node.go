package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/flash-ln/flash/daemon"
)

func (a *app) daemonCommand() *cobra.Command {
	cfg := daemon.DefaultConfig()
	var logLevel string
	cmd := &cobra.Command{
		Use:   "daemon",
		Short: "Run a node in the foreground until SIGINT or SIGTERM",
		Long: "Run a node in the foreground until SIGINT, SIGTERM or `flash stop`.\n" +
			"Addresses are HOST:PORT; port 0 picks a free port. Defaults bind to 127.0.0.1.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := a.resolveDataDir()
			if err != nil {
				return err
			}
			level, err := daemon.ParseLogLevel(logLevel)
			if err != nil {
				return usagef("%v", err)
			}
			cfg.DataDir = dir
			cfg.LogLevel = level
			cfg.LogOutput = a.stderr
			cfg.Version = version
			d, err := daemon.New(cfg)
			if err != nil {
				return usagef("%v", err)
			}
			return d.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Alias, "alias", "", "node alias (default: derived from the node id)")
	f.StringVar(&cfg.Listen, "listen", cfg.Listen, "Lightning P2P listen `ADDR`")
	f.StringVar(&cfg.RPCListen, "rpc-listen", cfg.RPCListen, "RPC listen `ADDR` (loopback only)")
	f.StringVar(&cfg.ChainListen, "chain-listen", cfg.ChainListen, "chain P2P listen `ADDR`")
	f.StringArrayVar(&cfg.ChainConnect, "chain-connect", nil,
		"chain peer `ADDR` to keep connected (repeatable)")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	f.Uint32Var(&cfg.ChannelMinDepth, "channel-min-depth", 3,
		"confirmations of a funding transaction before a channel we accept is active")
	return cmd
}

func (a *app) stopCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "stop",
		Short: "Ask the daemon to shut down cleanly",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			defer c.Close()
			if err := c.Stop(cmd.Context()); err != nil {
				return err
			}
			a.output(struct{}{}, func(w io.Writer) {
				fmt.Fprintln(w, "daemon stopping")
			})
			return nil
		},
	}
}

func (a *app) getInfoCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "getinfo",
		Short: "Show the node's status",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			defer c.Close()
			info, err := c.GetInfo(cmd.Context())
			if err != nil {
				return err
			}
			a.output(info, func(w io.Writer) {
				writeFields(w,
					field{"node id", info.NodeID},
					field{"alias", info.Alias},
					field{"uri", info.URI},
					field{"block height", strconv.Itoa(int(info.BlockHeight))},
					field{"block hash", info.BlockHash},
					field{"synced to chain", yesNo(info.SyncedToChain)},
					field{"peers", strconv.Itoa(info.NumPeers)},
					field{"active channels", strconv.Itoa(info.NumActiveChannels)},
					field{"pending channels", strconv.Itoa(info.NumPendingChannels)},
					field{"chain listen", info.ChainListenAddress},
					field{"version", info.Version},
				)
			})
			return nil
		},
	}
}

// parsePositiveSat parses a satoshi amount given on the command line.
func parsePositiveSat(what, s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		var numErr *strconv.NumError
		if errors.As(err, &numErr) && errors.Is(numErr.Err, strconv.ErrRange) {
			return 0, usagef("%s %q: out of range", what, s)
		}
		return 0, usagef("%s %q: not a whole number of satoshis", what, s)
	}
	if n <= 0 {
		return 0, usagef("%s %d: must be positive", what, n)
	}
	return n, nil
}
