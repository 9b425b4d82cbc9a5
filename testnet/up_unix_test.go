//go:build unix

package testnet

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A daemon that lives but does not answer is shown as such, and up
// refuses to start a twin on its data.
func TestUpRefusesTwinOfHungNode(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "net")
	topo, err := LineTopology(1)
	if err != nil {
		t.Fatal(err)
	}
	status := upNetwork(t, UpConfig{Dir: dir, Topology: topo})
	pid := status.Nodes[0].PID
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(pid, syscall.SIGCONT)

	status, err = Status(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if n := status.Nodes[0]; n.Running || n.PID != pid || !strings.Contains(n.Error, "does not answer") {
		t.Fatalf("status of a frozen node: %+v", n)
	}
	_, err = Up(t.Context(), UpConfig{Dir: dir, Binary: flashBinary(t), KillWithParent: true})
	if err == nil || !strings.Contains(err.Error(), "does not answer") {
		t.Fatalf("up beside a frozen node: %v", err)
	}
	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if s, err := Status(t.Context(), dir); err != nil || !s.AllRunning() {
		t.Fatalf("status after thawing: %+v, %v", s, err)
	}
}
