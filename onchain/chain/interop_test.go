package chain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// btcdNode is a stock btcd process driven over its JSON-RPC interface.
type btcdNode struct {
	rpcURL string
	cmd    *exec.Cmd
	log    string
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startBtcd builds btcd (a tool of this module) and runs it on regtest,
// connected only to connect.
func startBtcd(t *testing.T, connect string) *btcdNode {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "btcd")
	build := exec.Command("go", "build", "-o", bin, "github.com/btcsuite/btcd")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build btcd: %v\n%s", err, out)
	}

	rpcPort := freePort(t)
	logFile := filepath.Join(dir, "stdout.log")
	out, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin,
		"--regtest",
		"--connect="+connect,
		"--datadir="+filepath.Join(dir, "data"),
		"--logdir="+filepath.Join(dir, "logs"),
		fmt.Sprintf("--listen=127.0.0.1:%d", freePort(t)),
		fmt.Sprintf("--rpclisten=127.0.0.1:%d", rpcPort),
		"--rpcuser=user", "--rpcpass=pass", "--notls",
		"--debuglevel=info",
	)
	cmd.Env = append(os.Environ(), "HOME="+dir)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start btcd: %v", err)
	}
	n := &btcdNode{rpcURL: fmt.Sprintf("http://127.0.0.1:%d/", rpcPort), cmd: cmd, log: logFile}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		out.Close()
		if t.Failed() || os.Getenv("FLASH_CHAIN_DEBUG") != "" {
			tail, _ := os.ReadFile(logFile)
			if len(tail) > 20000 {
				tail = tail[len(tail)-20000:]
			}
			t.Logf("btcd output (tail):\n%s", tail)
		}
	})
	return n
}

// call makes one JSON-RPC call; an error means btcd is not (yet) answering
// or refused.
func (n *btcdNode) call(method string, result any) error {
	body, _ := json.Marshal(map[string]any{"jsonrpc": "1.0", "id": 1, "method": method, "params": []any{}})
	req, err := http.NewRequest(http.MethodPost, n.rpcURL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.SetBasicAuth("user", "pass")
	client := http.Client{Timeout: 5 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var reply struct {
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&reply); err != nil {
		return fmt.Errorf("%s: %s: %w", method, resp.Status, err)
	}
	if reply.Error != nil {
		return fmt.Errorf("%s: %s", method, reply.Error.Message)
	}
	return json.Unmarshal(reply.Result, result)
}

func (n *btcdNode) bestBlockHash() string {
	var h string
	if err := n.call("getbestblockhash", &h); err != nil {
		return ""
	}
	return h
}

func (n *btcdNode) mempool() []string {
	var txids []string
	_ = n.call("getrawmempool", &txids)
	return txids
}

// waitLong is for a separate process that starts, syncs and validates.
func waitLong(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestStockBtcdFollowsChain proves the chain speaks Bitcoin's P2P protocol:
// an unmodified btcd syncs from it, follows new blocks and takes its
// transactions into its mempool.
func TestStockBtcdFollowsChain(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs btcd")
	}
	c := newTestChain(t)
	key := newTestKey(t)
	// More than one getblocks answer (500 hashes): btcd syncs blocks
	// first, and only continues when told about our tip.
	hashes := mine(t, c, 1, key.addr)
	mine(t, c, 1100, nil)

	btcd := startBtcd(t, c.ListenAddr().String())
	waitLong(t, "btcd to sync 1,101 blocks", func() bool { return btcd.bestBlockHash() == tipOf(c).String() })

	for range 3 {
		h := mine(t, c, 1, nil)[0]
		waitLong(t, "btcd to follow a new block", func() bool { return btcd.bestBlockHash() == h.String() })
	}

	tx := key.spend(t, coinbaseOf(t, c, hashes[0]), key.pkScript, 1, 5000)
	if err := c.SendTransaction(tx); err != nil {
		t.Fatal(err)
	}
	waitLong(t, "btcd to take our transaction", func() bool {
		return strings.Contains(strings.Join(btcd.mempool(), ","), tx.TxHash().String())
	})

	h := mine(t, c, 1, nil)[0]
	waitLong(t, "btcd to confirm it", func() bool {
		return btcd.bestBlockHash() == h.String() && len(btcd.mempool()) == 0
	})
}
