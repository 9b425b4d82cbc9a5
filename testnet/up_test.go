package testnet

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flash-ln/flash/daemon/rpc"
)

// upNetwork builds a network in a temporary directory, taken down (and
// its daemons killed, whatever happens) when the test ends.
func upNetwork(t *testing.T, cfg UpConfig) *NetworkStatus {
	t.Helper()
	cfg.Binary = flashBinary(t)
	cfg.KillWithParent = true
	cfg.Progress = testWriter{t}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := Down(ctx, cfg.Dir, true); err != nil && !errors.Is(err, ErrNoNetwork) {
			t.Errorf("cleanup: %v", err)
		}
	})
	status, err := Up(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return status
}

// testWriter sends Up's progress to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func TestUpKillResumeDown(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "net")
	topo, err := LineTopology(3)
	if err != nil {
		t.Fatal(err)
	}
	status := upNetwork(t, UpConfig{Dir: dir, Topology: topo})
	wantActive := map[string]int{"alice": 1, "bob": 2, "carol": 1}
	checkUp := func(when string, s *NetworkStatus) {
		t.Helper()
		if !s.Ready || len(s.Nodes) != 3 {
			t.Fatalf("%s: status %+v", when, s)
		}
		for _, n := range s.Nodes {
			if !n.Running || n.Error != "" || n.OnChainSat <= 0 ||
				n.ActiveChannels != wantActive[n.Name] || n.Channels != wantActive[n.Name] ||
				!strings.HasPrefix(n.URI, n.NodeID+"@") {
				t.Fatalf("%s: node %+v", when, n)
			}
		}
	}
	checkUp("after up", status)
	if a, b := status.Nodes[0], status.Nodes[1]; a.ChannelMsat <= 0 || b.ChannelMsat <= 0 {
		t.Fatalf("funders hold nothing in their channels: %+v, %+v", a, b)
	}

	// A running network is not started twice.
	_, err = Up(t.Context(), UpConfig{Dir: dir, Binary: flashBinary(t), KillWithParent: true})
	if !errors.Is(err, ErrAlreadyRunning) {
		t.Fatalf("second up: %v, want ErrAlreadyRunning", err)
	}

	// Kill bob as a crash would: status sees it down, up restarts only
	// him, on his data.
	st, err := LoadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	pids := map[string]int{}
	for _, n := range st.Nodes {
		pids[n.Name] = n.PID
	}
	proc, err := os.FindProcess(pids["bob"])
	if err != nil {
		t.Fatal(err)
	}
	if err := proc.Kill(); err != nil {
		t.Fatal(err)
	}
	err = WaitFor(t.Context(), syncTimeout, "bob down", func(ctx context.Context) (bool, error) {
		s, err := Status(ctx, dir)
		if err != nil {
			return false, err
		}
		return !s.Node("bob").Running && s.Node("alice").Running && s.Node("carol").Running, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	status, err = Up(t.Context(), UpConfig{Dir: dir, Binary: flashBinary(t), KillWithParent: true,
		Progress: testWriter{t}})
	if err != nil {
		t.Fatal(err)
	}
	checkUp("after bob's restart", status)
	for _, n := range status.Nodes {
		restarted := n.PID != pids[n.Name]
		if restarted != (n.Name == "bob") {
			t.Errorf("%s: pid %d, was %d", n.Name, n.PID, pids[n.Name])
		}
	}

	// Blocks mined reach every node.
	before := status.Nodes[2].Height
	if hashes, err := Mine(t.Context(), dir, 2); err != nil || len(hashes) != 2 {
		t.Fatalf("mine: %v, %v", hashes, err)
	}
	if s, err := Status(t.Context(), dir); err != nil || s.Node("carol").Height != before+2 {
		t.Fatalf("after mining 2 on height %d: %+v, %v", before, s, err)
	}

	// Down leaves no process and no listening port.
	st, err = LoadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	var ports []string
	for _, n := range st.Nodes {
		ep, err := rpc.ReadEndpoint(nodeDir(dir, n.Name))
		if err != nil {
			t.Fatal(err)
		}
		ports = append(ports, n.Listen, n.ChainListen, ep.Address)
	}
	if err := Down(t.Context(), dir, false); err != nil {
		t.Fatal(err)
	}
	for _, n := range st.Nodes {
		if processAlive(n.PID) {
			t.Errorf("%s: pid %d alive after down", n.Name, n.PID)
		}
	}
	for _, addr := range ports {
		if portOpen(t.Context(), addr) {
			t.Errorf("port %s still accepts connections after down", addr)
		}
	}
	status, err = Status(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range status.Nodes {
		if n.Running {
			t.Errorf("%s running after down", n.Name)
		}
	}
	if err := Down(t.Context(), dir, true); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("purged directory: %v", err)
	}
}

func TestUpAutoMiner(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "net")
	topo, err := LineTopology(1)
	if err != nil {
		t.Fatal(err)
	}
	status := upNetwork(t, UpConfig{Dir: dir, Topology: topo, BlockInterval: 50 * time.Millisecond})
	if !status.MinerRunning || status.BlockInterval != "50ms" {
		t.Fatalf("status %+v", status)
	}
	start := status.Nodes[0].Height
	err = WaitFor(t.Context(), syncTimeout, "blocks mined", func(ctx context.Context) (bool, error) {
		s, err := Status(ctx, dir)
		if err != nil {
			return false, err
		}
		return s.Nodes[0].Height >= start+2, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	st, err := LoadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := Down(t.Context(), dir, false); err != nil {
		t.Fatal(err)
	}
	if processAlive(st.MinerPID) {
		t.Fatalf("auto-miner pid %d alive after down", st.MinerPID)
	}
}

func TestUpRefusesForeignDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "precious"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Up(t.Context(), UpConfig{Dir: dir, Binary: "flash"})
	if err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("up in a non-empty directory: %v", err)
	}
	if err := Down(t.Context(), dir, true); !errors.Is(err, ErrNoNetwork) {
		t.Fatalf("down --purge of a directory without a network: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "precious")); err != nil {
		t.Fatalf("foreign file gone: %v", err)
	}
	if _, err := Status(t.Context(), dir); !errors.Is(err, ErrNoNetwork) {
		t.Fatalf("status: %v", err)
	}
	if _, err := Mine(t.Context(), dir, 1); !errors.Is(err, ErrNoNetwork) {
		t.Fatalf("mine: %v", err)
	}
}

// The command line drives the same network: up, status and down through
// the flash binary, whose daemons outlive the command that started them.
func TestTestnetCommandLine(t *testing.T) {
	bin := flashBinary(t)
	dir := filepath.Join(t.TempDir(), "net")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := Down(ctx, dir, true); err != nil && !errors.Is(err, ErrNoNetwork) {
			t.Errorf("cleanup: %v", err)
		}
	})
	flash := func(args ...string) []byte {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, append([]string{"--testnet-dir", dir}, args...)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("flash %v: %v\nstdout %s\nstderr %s", args, err, out, stderr.Bytes())
		}
		if stderr.Len() != 0 {
			t.Errorf("flash %v: progress on a non-terminal: %q", args, stderr.Bytes())
		}
		return out
	}
	var up NetworkStatus
	if err := json.Unmarshal(flash("testnet", "up", "--nodes", "2", "--json"), &up); err != nil {
		t.Fatal(err)
	}
	if !up.AllRunning() || len(up.Nodes) != 2 || up.Nodes[0].ActiveChannels != 1 {
		t.Fatalf("up: %+v", up)
	}
	table := string(flash("testnet", "status"))
	for _, want := range []string{"alice", "bob", "running", "1/1 active", up.Nodes[1].URI} {
		if !strings.Contains(table, want) {
			t.Errorf("status table lacks %q:\n%s", want, table)
		}
	}
	if out := flash("--node", "bob", "getinfo", "--json"); !strings.Contains(string(out), up.Nodes[1].NodeID) {
		t.Errorf("--node bob getinfo: %s", out)
	}
	flash("testnet", "down", "--purge")
	for _, n := range up.Nodes {
		if processAlive(n.PID) {
			t.Errorf("%s: pid %d alive after down", n.Name, n.PID)
		}
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("purged directory: %v", err)
	}
}
