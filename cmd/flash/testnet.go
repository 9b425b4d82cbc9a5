package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/flash-ln/flash/daemon/rpc"
	"github.com/flash-ln/flash/testnet"
)

func (a *app) testnetCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "testnet",
		Short: "A local test network of flash daemons",
		Long: "testnet runs a whole network of flash daemons on this machine, each in\n" +
			"DIR/NAME, where DIR is --testnet-dir, else $" + envTestnetDir +
			", else ./" + defaultTestnetDir + ".\nClient commands reach node NAME with --node NAME.",
		Args: cobra.ArbitraryArgs,
		RunE: groupRun,
	}
	cmd.AddCommand(a.testnetUpCommand(), a.testnetStatusCommand(),
		a.testnetMineCommand(), a.testnetDownCommand(), a.testnetMinerCommand())
	return cmd
}

// testnetError gives the errors scripts branch on their code.
func testnetError(err error) error {
	if errors.Is(err, testnet.ErrNoNetwork) {
		return rpc.Errorf(rpc.CodeNotFound, "%v", err)
	}
	return err
}

// resolveTestnetDir picks the test network's directory.
func (a *app) resolveTestnetDir() string {
	if a.testnetDir != "" {
		return a.testnetDir
	}
	if dir := os.Getenv(envTestnetDir); dir != "" {
		return dir
	}
	return defaultTestnetDir
}

// progressWriter is where long operations narrate: the terminal, unless
// the output is for a program.
func (a *app) progressWriter() io.Writer {
	if a.jsonOut {
		return io.Discard
	}
	f, ok := a.stderr.(*os.File)
	if !ok {
		return io.Discard
	}
	info, err := f.Stat()
	if err != nil || info.Mode()&os.ModeCharDevice == 0 {
		return io.Discard
	}
	return f
}

func (a *app) testnetUpCommand() *cobra.Command {
	var (
		nodes         int
		topologyFile  string
		blockInterval time.Duration
	)
	cmd := &cobra.Command{
		Use:   "up [--nodes N | --topology FILE]",
		Short: "Start the test network, building it on first use",
		Long: "Start the test network. A new one is built: N nodes in a line\n" +
			"(alice→bob→carol→..., default " + strconv.Itoa(testnet.DefaultNodes) +
			") or the nodes and channels of a JSON topology file; every wallet\n" +
			"funded, every channel open and active. A stopped one is restarted with its data.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := cmd.Flags()
			if f.Changed("nodes") && f.Changed("topology") {
				return usagef("--nodes and --topology are exclusive")
			}
			if blockInterval < 0 {
				return usagef("--block-interval %v: must not be negative", blockInterval)
			}
			var topo *testnet.Topology
			var err error
			switch {
			case f.Changed("nodes"):
				if topo, err = testnet.LineTopology(nodes); err != nil {
					return usagef("--nodes: %v", err)
				}
			case f.Changed("topology"):
				file, err := os.Open(topologyFile)
				if err != nil {
					return usagef("--topology: %v", err)
				}
				topo, err = testnet.ParseTopology(file)
				file.Close()
				if err != nil {
					return usagef("%s: %v", topologyFile, err)
				}
			}
			binary, err := os.Executable()
			if err != nil {
				return fmt.Errorf("find the flash binary: %w", err)
			}
			status, err := testnet.Up(cmd.Context(), testnet.UpConfig{
				Dir:           a.resolveTestnetDir(),
				Topology:      topo,
				Binary:        binary,
				BlockInterval: blockInterval,
				Progress:      a.progressWriter(),
			})
			if err != nil {
				return err
			}
			a.output(status, func(w io.Writer) { _ = testnet.WriteTable(w, status) })
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&nodes, "nodes", testnet.DefaultNodes, "number of nodes of a new line network")
	f.StringVar(&topologyFile, "topology", "", "JSON topology `FILE` of a new network")
	f.DurationVar(&blockInterval, "block-interval", 0,
		"mine one block every `D` (for example 5s) until down; 0: none")
	return cmd
}

func (a *app) testnetStatusCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show each node: running or not, height, channels, balances",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			status, err := testnet.Status(cmd.Context(), a.resolveTestnetDir())
			if err != nil {
				return testnetError(err)
			}
			a.output(status, func(w io.Writer) { _ = testnet.WriteTable(w, status) })
			return nil
		},
	}
}

func (a *app) testnetMineCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "mine N",
		Short: "Mine N blocks on the test network",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := strconv.Atoi(args[0])
			if err != nil || n < 1 || n > rpc.MaxMineBlocks {
				return usagef("number of blocks %q: want 1 to %d", args[0], rpc.MaxMineBlocks)
			}
			hashes, err := testnet.Mine(cmd.Context(), a.resolveTestnetDir(), n)
			if err != nil {
				return testnetError(err)
			}
			a.output(rpc.ChainMineResponse{BlockHashes: hashes}, func(w io.Writer) {
				fmt.Fprintf(w, "mined %d blocks, tip %s\n", len(hashes), hashes[len(hashes)-1])
			})
			return nil
		},
	}
}

func (a *app) testnetDownCommand() *cobra.Command {
	var purge bool
	cmd := &cobra.Command{
		Use:   "down [--purge]",
		Short: "Stop every process of the test network",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir := a.resolveTestnetDir()
			if err := testnet.Down(cmd.Context(), dir, purge); err != nil {
				return testnetError(err)
			}
			a.output(struct{}{}, func(w io.Writer) {
				if purge {
					fmt.Fprintf(w, "test network stopped; %s deleted\n", dir)
				} else {
					fmt.Fprintln(w, "test network stopped")
				}
			})
			return nil
		},
	}
	cmd.Flags().BoolVar(&purge, "purge", false, "delete the network's directory")
	return cmd
}

// testnetMinerCommand is the auto-miner that `up --block-interval` runs
// in the background; it is not meant to be run by hand.
func (a *app) testnetMinerCommand() *cobra.Command {
	var interval time.Duration
	cmd := &cobra.Command{
		Use:    "miner",
		Short:  "Mine one block per interval until stopped",
		Hidden: true,
		Args:   noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if interval <= 0 {
				return usagef("--block-interval %v: must be positive", interval)
			}
			log := slog.New(slog.NewTextHandler(a.stderr, nil))
			return testnet.RunMiner(cmd.Context(), a.resolveTestnetDir(), interval, log)
		},
	}
	cmd.Flags().DurationVar(&interval, "block-interval", 5*time.Second, "mine one block every `D`")
	return cmd
}
