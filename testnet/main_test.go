package testnet

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/chaincfg"

	"github.com/flash-ln/flash/daemon/rpc"
	"github.com/flash-ln/flash/onchain/chain"
)

// The flash binary is built once per test process, on first use, into a
// directory removed when the tests end.
var (
	buildOnce sync.Once
	binPath   string
	binDir    string
	buildErr  error
)

// Deadlines of the end-to-end tests. Generous: the machine is shared and
// a race-enabled daemon is slow; the tests never assert on timing.
const (
	syncTimeout = 30 * time.Second
	callTimeout = 60 * time.Second
)

// fundedHeight is where the end-to-end tests start paying: segwit, and so
// the wallet's P2WPKH spends, is active from there on regtest, and the
// early coinbases are long mature.
const fundedHeight = chain.SegwitActivationHeight

// outsiderAddress belongs to no node of the tests (BIP 173's P2WPKH test
// vector, regtest encoding): coinbases paid to it move nobody's balance.
const outsiderAddress = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080"

// subsidies sums the regtest block subsidies of heights from to to.
func subsidies(from, to int32) int64 {
	var sum int64
	for h := from; h <= to; h++ {
		sum += blockchain.CalcBlockSubsidy(h, &chaincfg.RegressionNetParams)
	}
	return sum
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// flashBinary returns the path of the flash binary, building it on first
// use. FLASH_E2E_RACE=1 builds it with the race detector.
func flashBinary(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test: skipped with -short")
	}
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "flash-e2e-bin-")
		if buildErr != nil {
			return
		}
		var flags []string
		if os.Getenv("FLASH_E2E_RACE") == "1" {
			flags = append(flags, "-race")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		binPath, buildErr = BuildBinary(ctx, binDir, flags...)
	})
	if buildErr != nil {
		t.Fatalf("build flash: %v", buildErr)
	}
	return binPath
}

// newNetwork makes a network in a temporary directory whose nodes are
// killed when the test ends; a failed test logs the tail of every log.
func newNetwork(t *testing.T) *Network {
	t.Helper()
	nw := &Network{
		Dir:            t.TempDir(),
		Binary:         flashBinary(t),
		LogLevel:       "debug",
		KillWithParent: true,
	}
	t.Cleanup(func() {
		// Stopped first, so that what a daemon reports at exit (a data
		// race, for instance) is in the logs kept.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := nw.Stop(ctx); err != nil {
			t.Errorf("stop network: %v", err)
		}
		if t.Failed() {
			keepLogs(t, nw)
		}
	})
	return nw
}

// keepLogs shows the tail of every node's log and, when FLASH_E2E_LOGS
// names a directory, copies the whole logs there.
func keepLogs(t *testing.T, nw *Network) {
	dest := os.Getenv("FLASH_E2E_LOGS")
	for _, n := range nw.Nodes() {
		t.Log(n.logTail())
		if dest == "" {
			continue
		}
		data, err := os.ReadFile(n.LogPath())
		if err != nil {
			t.Logf("keep log: %v", err)
			continue
		}
		dir := filepath.Join(dest, strings.ReplaceAll(t.Name(), "/", "_"))
		if err := os.MkdirAll(dir, 0o755); err == nil {
			err = os.WriteFile(filepath.Join(dir, n.Name()+".log"), data, 0o644)
		}
		if err != nil {
			t.Logf("keep log: %v", err)
		}
	}
}

func startNode(t *testing.T, nw *Network, name string, peers ...*Node) *Node {
	t.Helper()
	n, err := nw.StartNode(t.Context(), name, peers...)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// ctxCall is a context bounding one RPC call.
func ctxCall(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), callTimeout)
	t.Cleanup(cancel)
	return ctx
}

func mine(t *testing.T, n *Node, blocks int, address string) []string {
	t.Helper()
	res, err := n.Client().ChainMine(ctxCall(t), blocks, address)
	if err != nil {
		t.Fatalf("%s: mine %d: %v", n.Name(), blocks, err)
	}
	if len(res.BlockHashes) != blocks {
		t.Fatalf("%s: mined %d blocks, want %d", n.Name(), len(res.BlockHashes), blocks)
	}
	return res.BlockHashes
}

func sameTip(t *testing.T, minHeight int32, nodes ...*Node) Tip {
	t.Helper()
	tip, err := WaitSameTip(t.Context(), syncTimeout, minHeight, nodes...)
	if err != nil {
		t.Fatal(err)
	}
	return tip
}

func newAddress(t *testing.T, n *Node) string {
	t.Helper()
	addr, err := n.Client().NewAddress(ctxCall(t))
	if err != nil {
		t.Fatalf("%s: new address: %v", n.Name(), err)
	}
	return addr
}

// balance reads a node's balance once its wallet has applied the tip.
func balance(t *testing.T, n *Node) rpc.BalanceResponse {
	t.Helper()
	if err := WaitWalletSynced(t.Context(), syncTimeout, n); err != nil {
		t.Fatal(err)
	}
	b, err := n.Client().Balance(ctxCall(t))
	if err != nil {
		t.Fatalf("%s: balance: %v", n.Name(), err)
	}
	return *b
}

// total is every satoshi the wallet owns; the four parts are disjoint.
func total(b rpc.BalanceResponse) int64 {
	return b.ConfirmedSat + b.UnconfirmedSat + b.LockedSat + b.ImmatureSat
}

// waitBalance polls until a node's balance satisfies ok.
func waitBalance(t *testing.T, n *Node, what string, ok func(rpc.BalanceResponse) bool) rpc.BalanceResponse {
	t.Helper()
	var last rpc.BalanceResponse
	err := WaitFor(t.Context(), syncTimeout, n.Name()+" "+what, func(ctx context.Context) (bool, error) {
		b, err := n.Client().Balance(ctx)
		if err != nil {
			return false, err
		}
		last = *b
		return ok(last), nil
	})
	if err != nil {
		t.Fatalf("%v; last balance %+v", err, last)
	}
	return last
}

// cliResult is the outcome of one run of the flash binary.
type cliResult struct {
	exitCode       int
	stdout, stderr string
}

// runCLI runs the flash binary with args and waits for it.
func runCLI(t *testing.T, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), callTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, flashBinary(t), args...)
	// The environment must not point client commands elsewhere.
	cmd.Env = append(os.Environ(), "FLASH_TESTNET_DIR="+t.TempDir())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := cliResult{stdout: stdout.String(), stderr: stderr.String()}
	if err != nil {
		exitErr, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("run flash %s: %v", strings.Join(args, " "), err)
		}
		res.exitCode = exitErr.ExitCode()
	}
	return res
}

func (r cliResult) String() string {
	return fmt.Sprintf("exit %d, stdout %q, stderr %q", r.exitCode, r.stdout, r.stderr)
}
