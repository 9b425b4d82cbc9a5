package wallet

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
	"go.etcd.io/bbolt"
)

// killDirEnv tells the test binary it runs as the process TestKill9 kills.
const killDirEnv = "FLASH_WALLET_KILL_DIR"

// killChainLen bounds the blocks the killed process mines; the parent
// rebuilds the same chain, block for block, to that length.
const killChainLen = 1500

const killSeed = "8f3a0b1c2d3e4f5061728394a5b6c7d8e9fa0b1c2d3e4f5061728394a5b6c7d8"

// mineKillBlock appends block i of a deterministic history: every third
// block pays the wallet 1000+i sat.
func mineKillBlock(c *fakeChain, i int, script []byte) {
	if i%3 != 0 {
		c.mineOnly(nil)
		return
	}
	var prev chainhash.Hash
	binary.BigEndian.PutUint32(prev[:], uint32(i))
	prev[31] = 0xcc
	tx := wire.NewMsgTx(2)
	tx.AddTxIn(wire.NewTxIn(wire.NewOutPoint(&prev, 0), []byte{0x51}, nil))
	tx.AddTxOut(wire.NewTxOut(int64(1000+i), script))
	c.mineOnly(nil, tx)
}

// killPaid is what the history pays the wallet up to height.
func killPaid(height int32) btcutil.Amount {
	var sum btcutil.Amount
	for i := 0; i < int(height); i += 3 {
		sum += btcutil.Amount(1000 + i)
	}
	return sum
}

func openKillWallet(t testing.TB, dir string, c *fakeChain) (*Wallet, *bbolt.DB) {
	t.Helper()
	db, err := bbolt.Open(filepath.Join(dir, "flash.db"), 0o600, &bbolt.Options{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	w, err := Open(Config{DB: db, SeedFile: filepath.Join(dir, "seed"),
		Params: c.params, Chain: c, Broadcaster: c})
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	return w, db
}

// TestKill9 kills a process while its wallet follows a chain, at a random
// moment, and checks that the database it leaves is the state of one
// block boundary and that the next start completes the history.
func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes")
	}
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	for round := range 3 {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "seed"), []byte(killSeed), 0o600); err != nil {
			t.Fatal(err)
		}
		// Born at genesis, with its first address handed out.
		w, db := openKillWallet(t, dir, newFakeChain(&chaincfg.RegressionNetParams))
		addr, err := w.NewAddress()
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
		_, script, _ := w.keys.addressScript(branchExternal, 0)
		if addr == nil || script == nil {
			t.Fatal("no address")
		}

		cmd := exec.Command(os.Args[0], "-test.run=^TestKill9Child$")
		cmd.Env = append(os.Environ(), killDirEnv+"="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		killAfter := 1 + rng.Intn(150)
		lines := bufio.NewScanner(out)
		for n := 0; n < killAfter && lines.Scan(); n++ {
		}
		// Let it run on a little so that the kill may land inside a
		// database transaction.
		time.Sleep(time.Duration(rng.Intn(3000)) * time.Microsecond)
		cmd.Process.Kill()
		cmd.Wait()

		c := newFakeChain(&chaincfg.RegressionNetParams)
		for i := range killChainLen {
			mineKillBlock(c, i, script)
		}
		w, db = openKillWallet(t, dir, c)
		hash, height := w.SyncedTo()
		if got, err := c.BlockHashByHeight(height); err != nil || got != hash {
			t.Fatalf("round %d: stored tip %d %s is not the chain's block", round, height, hash)
		}
		bal, err := w.Balance()
		if err != nil {
			t.Fatal(err)
		}
		if bal != (Balance{ConfirmedSat: killPaid(height)}) {
			t.Fatalf("round %d: killed at height %d with %+v, want %d confirmed",
				round, height, bal, killPaid(height))
		}
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		bal, err = w.Balance()
		if err != nil {
			t.Fatal(err)
		}
		if bal != (Balance{ConfirmedSat: killPaid(killChainLen)}) {
			t.Fatalf("round %d: after catching up from %d: %+v, want %d confirmed",
				round, height, bal, killPaid(killChainLen))
		}
		w.Stop()
		db.Close()
		t.Logf("round %d: killed at height %d", round, height)
	}
}

// TestKill9Child is the process TestKill9 kills: its wallet follows a
// chain that grows one block at a time, and it reports every block the
// wallet has applied.
func TestKill9Child(t *testing.T) {
	dir := os.Getenv(killDirEnv)
	if dir == "" {
		t.Skip("helper process of TestKill9")
	}
	c := newFakeChain(&chaincfg.RegressionNetParams)
	w, _ := openKillWallet(t, dir, c)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	_, script, err := w.keys.addressScript(branchExternal, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range killChainLen {
		mineKillBlock(c, i, script)
		for {
			best, _ := c.BestBlock()
			if hash, _ := w.SyncedTo(); hash == best {
				break
			}
			time.Sleep(100 * time.Microsecond)
		}
		fmt.Println(i)
	}
	time.Sleep(time.Hour) // wait for the kill
}
