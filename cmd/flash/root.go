package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/flash-ln/flash/daemon/rpc"
)

// Environment variable naming the test network's directory.
const envTestnetDir = "FLASH_TESTNET_DIR"

const defaultTestnetDir = "flash-testnet"

// nodeNamePattern keeps --node from escaping the test network's directory.
var nodeNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// app holds the global flags and the output streams of one invocation.
type app struct {
	stdout, stderr io.Writer

	dataDir    string
	node       string
	testnetDir string
	jsonOut    bool
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "flash",
		Short: "A Lightning-style payment channel network node",
		Long: "flash runs a Flash node (flash daemon) and drives it through its RPC.\n" +
			"Client commands find their node with --datadir or --node.",
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          cobra.ArbitraryArgs,
		RunE:          groupRun,
	}
	root.SetFlagErrorFunc(flagError)
	pf := root.PersistentFlags()
	pf.StringVar(&a.dataDir, "datadir", "", "node data directory (default ~/.flash)")
	pf.StringVar(&a.node, "node", "", "use node `NAME` of the local test network")
	pf.StringVar(&a.testnetDir, "testnet-dir", "",
		"test network directory (default $"+envTestnetDir+", else ./"+defaultTestnetDir+")")
	pf.BoolVar(&a.jsonOut, "json", false, "print one JSON document")

	root.AddCommand(
		a.daemonCommand(),
		a.stopCommand(),
		a.getInfoCommand(),
		a.chainCommand(),
		a.walletCommand(),
		a.peerCommand(),
		a.channelCommand(),
		a.graphCommand(),
		a.routeCommand(),
		a.invoiceCommand(),
		a.payCommand(),
		a.paymentCommand(),
		a.testnetCommand(),
	)
	return root
}

// resolveDataDir picks the node's data directory from --datadir or --node.
func (a *app) resolveDataDir() (string, error) {
	if a.node != "" {
		if a.dataDir != "" {
			return "", usagef("--node and --datadir are exclusive")
		}
		if !nodeNamePattern.MatchString(a.node) {
			return "", usagef("node name %q: use lower-case letters, "+
				"digits, '-' and '_'", a.node)
		}
		dir := a.testnetDir
		if dir == "" {
			dir = os.Getenv(envTestnetDir)
		}
		if dir == "" {
			dir = defaultTestnetDir
		}
		return filepath.Join(dir, a.node), nil
	}
	if a.dataDir != "" {
		return a.dataDir, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no --datadir and no home directory: %w", err)
	}
	return filepath.Join(home, ".flash"), nil
}

// client connects to the node chosen by the global flags.
func (a *app) client() (*rpc.Client, error) {
	dir, err := a.resolveDataDir()
	if err != nil {
		return nil, err
	}
	return rpc.NewClientFromDataDir(dir)
}

// groupRun is the action of a command that only groups others: alone it
// shows the help; with an argument that names no sub-command it fails, where
// cobra would show the help and succeed.
func groupRun(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("unknown command %q for %q", args[0], cmd.CommandPath())
	}
	return cmd.Help()
}

// flagError turns flag parsing errors into usage errors, and explains the
// one users meet most: a negative number taken for a flag.
func flagError(_ *cobra.Command, err error) error {
	msg := err.Error()
	if i := strings.LastIndex(msg, " in -"); i >= 0 &&
		strings.HasPrefix(msg, "unknown shorthand flag") {
		arg := msg[i+len(" in "):]
		if _, perr := strconv.ParseFloat(arg, 64); perr == nil {
			return usagef("%s: negative numbers are not accepted", arg)
		}
	}
	return usagef("%v", err)
}

// noArgs and exactArgs are cobra's argument checks, failing with a usage
// error so that the error code says the command line is at fault.
func noArgs(cmd *cobra.Command, args []string) error { return exactArgs(0)(cmd, args) }

func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.ExactArgs(n)(cmd, args); err != nil {
			path := strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ")
			return usagef("%s: %v", path, err)
		}
		return nil
	}
}

// usageError marks an error in the command line itself.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// fail reports err: one line on stderr and, with --json, an error document
// on stdout.
func (a *app) fail(err error) {
	code := rpc.ErrorCode(err)
	var ue *usageError
	if errors.As(err, &ue) || isCobraUsageError(err) {
		code = rpc.CodeInvalidArgument
	}
	msg := oneLine(err.Error())
	fmt.Fprintf(a.stderr, "flash: %s\n", msg)
	if a.jsonOut {
		writeJSON(a.stdout, map[string]any{
			"error": rpc.Error{Code: code, Message: msg},
		})
	}
}

// isCobraUsageError recognises the errors of cobra's own commands (such as
// completion), which cobra returns as plain errors.
func isCobraUsageError(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag",
		"unknown shorthand flag", "accepts ", "requires at least",
		"invalid argument", "flag needs an argument"} {
		if strings.HasPrefix(msg, p) || strings.Contains(msg, " "+p) {
			return true
		}
	}
	return false
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
