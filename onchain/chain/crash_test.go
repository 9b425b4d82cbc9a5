package chain

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

const crashDirEnv = "FLASH_CHAIN_CRASH_DIR"

// TestCrashRecovery kills a process with SIGKILL while it mines (the UTXO
// cache unflushed, a block maybe half written) and checks that the chain
// reopens consistent: every reported block is there, the UTXO set matches
// the tip, and mining goes on.
func TestCrashRecovery(t *testing.T) {
	if dir := os.Getenv(crashDirEnv); dir != "" {
		crashChild(dir)
		return
	}
	if testing.Short() {
		t.Skip("runs a subprocess")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashRecovery$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Let it report a few batches, then kill it mid-batch.
	var lastHash chainhash.Hash
	var lastHeight int32
	scanner := bufio.NewScanner(stdout)
	for batches := 0; batches < 3 && scanner.Scan(); {
		var hash string
		if _, err := fmt.Sscanf(scanner.Text(), "tip %s %d", &hash, &lastHeight); err != nil {
			continue
		}
		if err := chainhash.Decode(&lastHash, hash); err != nil {
			t.Fatal(err)
		}
		batches++
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if lastHeight == 0 {
		t.Fatal("child reported no blocks")
	}

	c, err := New(Config{DataDir: dir, Logger: testLogger()})
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer c.Stop()
	_, height := c.BestBlock()
	if height < lastHeight {
		t.Fatalf("tip %d after restart, below the reported %d", height, lastHeight)
	}
	if got, err := c.BlockHashByHeight(lastHeight); err != nil || got != lastHash {
		t.Fatalf("block %d: %s %v, want %s", lastHeight, got, err, lastHash)
	}
	// Nothing was ever spent: every coinbase must be in the UTXO set.
	for h := int32(1); h <= height; h++ {
		hash, err := c.BlockHashByHeight(h)
		if err != nil {
			t.Fatal(err)
		}
		cb := coinbaseOf(t, c, hash)
		if _, err := c.FetchUtxo(wire.OutPoint{Hash: cb.TxHash()}); err != nil {
			t.Fatalf("coinbase of block %d: %v", h, err)
		}
	}
	mine(t, c, 1, nil)
	t.Logf("killed at height >= %d, reopened at %d", lastHeight, height)
}

// crashChild mines in batches forever, reporting each tip, until killed.
func crashChild(dir string) {
	c, err := New(Config{DataDir: dir})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for {
		hashes, err := c.Mine(context.Background(), 50, nil)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		_, height := c.BestBlock()
		fmt.Println(strings.Join([]string{"tip", hashes[len(hashes)-1].String(), fmt.Sprint(height)}, " "))
	}
}
