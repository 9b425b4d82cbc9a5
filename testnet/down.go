package testnet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/flash-ln/flash/daemon/rpc"
)

// Deadlines of down, per process: a clean stop through the RPC, then
// SIGTERM, then SIGKILL.
const (
	downStopTimeout = 20 * time.Second
	downTermTimeout = 10 * time.Second
	downKillTimeout = 5 * time.Second
	// downPortTimeout bounds the wait for a stopped daemon's ports to
	// close.
	downPortTimeout = 10 * time.Second
)

// Down stops every process of the network in dir: the auto-miner, then
// the nodes in parallel, each through its RPC, else SIGTERM, else
// SIGKILL; and waits until their ports are closed. purge then deletes the
// directory. A directory without a network is refused, even with purge:
// it is not ours to delete.
func Down(ctx context.Context, dir string, purge bool) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	st, err := LoadState(dir)
	if err != nil {
		return fmt.Errorf("testnet down: %w", err)
	}
	var errs []error
	if processRuns(st.MinerPID, dir) {
		if err := endProcess(ctx, st.MinerPID, dir, nil); err != nil {
			errs = append(errs, fmt.Errorf("auto-miner: %w", err))
		}
	}
	nodeErrs := make([]error, len(st.Nodes))
	var wg sync.WaitGroup
	for i, n := range st.Nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nodeErrs[i] = stopNode(ctx, dir, n)
		}()
	}
	wg.Wait()
	errs = append(errs, nodeErrs...)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("testnet down %s: %w", dir, err)
	}
	if purge {
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("testnet down: purge: %w", err)
		}
		return nil
	}
	st.MinerPID = 0
	for i := range st.Nodes {
		st.Nodes[i].PID = 0
	}
	return st.save(dir)
}

// stopNode ends node n's daemon, whichever of the recorded pid and the
// endpoint file's names it, and waits until its ports are closed.
func stopNode(ctx context.Context, dir string, n NodeState) error {
	dataDir := nodeDir(dir, n.Name)
	ports := []string{n.Listen, n.ChainListen}
	pids := []int{n.PID}
	var client *rpc.Client
	epPID := 0
	if ep, err := rpc.ReadEndpoint(dataDir); err == nil {
		ports = append(ports, ep.Address)
		epPID = ep.PID
		if ep.PID != n.PID {
			pids = append(pids, ep.PID)
		}
		client = rpc.NewClient(ep.Address, ep.Token)
		defer client.Close()
	}
	for _, pid := range pids {
		if !processRuns(pid, dataDir) {
			continue
		}
		// Only the process that wrote the endpoint file answers there.
		var stop *rpc.Client
		if pid == epPID {
			stop = client
		}
		if err := endProcess(ctx, pid, dataDir, stop); err != nil {
			return fmt.Errorf("%s: %w", n.Name, err)
		}
	}
	return waitPortsClosed(ctx, n.Name, ports)
}

// endProcess asks pid to exit, through client when there is one, else
// with SIGTERM; kills it if it lingers, and waits until it is gone. arg
// is an argument of its command line, checked before every signal.
func endProcess(ctx context.Context, pid int, arg string, client *rpc.Client) error {
	// Exit is judged by liveness alone: an exiting process's command line
	// reads empty before the process is gone, so processRuns would report
	// it gone too early. Its identity was checked before any signal.
	gone := func(timeout time.Duration) bool {
		return WaitFor(ctx, timeout, "exit", func(context.Context) (bool, error) {
			return !processAlive(pid), nil
		}) == nil
	}
	if client != nil {
		callCtx, cancel := context.WithTimeout(ctx, statusCallTimeout)
		err := client.Stop(callCtx)
		cancel()
		if err == nil && gone(downStopTimeout) {
			return nil
		}
	}
	if processRuns(pid, arg) {
		if err := signalProcess(pid, sigTerm); err != nil {
			return fmt.Errorf("signal pid %d: %w", pid, err)
		}
	}
	if gone(downTermTimeout) {
		return nil
	}
	if processRuns(pid, arg) {
		if err := signalProcess(pid, sigKill); err != nil {
			return fmt.Errorf("kill pid %d: %w", pid, err)
		}
	}
	// Killed: what the daemon had not written is lost, which it
	// survives by design.
	if !gone(downKillTimeout) {
		return fmt.Errorf("pid %d still alive after SIGKILL", pid)
	}
	return nil
}

// waitPortsClosed waits until nothing accepts connections on ports.
func waitPortsClosed(ctx context.Context, name string, ports []string) error {
	for _, addr := range ports {
		if addr == "" {
			continue
		}
		err := WaitFor(ctx, downPortTimeout, name+" port "+addr+" closed",
			func(ctx context.Context) (bool, error) {
				return !portOpen(ctx, addr), nil
			})
		if err != nil {
			return err
		}
	}
	return nil
}

// portOpen reports whether something accepts connections at addr.
func portOpen(ctx context.Context, addr string) bool {
	d := net.Dialer{Timeout: time.Second}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}
