package testnet

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/flash-ln/flash/daemon/rpc"
)

// daemonSpec is one start of a background daemon of a network.
type daemonSpec struct {
	binary   string
	dataDir  string
	alias    string
	logLevel string
	// listen and chainListen are the addresses to bind; empty picks
	// free ports.
	listen, chainListen string
	chainConnect        []string
	killWithParent      bool
	timeout             time.Duration
}

// startedDaemon is what a start learned about the daemon.
type startedDaemon struct {
	pid                 int
	client              *rpc.Client
	nodeID              string
	listen, chainListen string
}

// startDaemon starts a daemon that outlives the caller and returns once
// its RPC answers. Unlike Node, which belongs to the process that started
// it, the daemon is detached: `flash testnet up` exits and leaves it
// running, and down finds it again through its pid and endpoint file.
func startDaemon(ctx context.Context, s daemonSpec) (*startedDaemon, error) {
	if err := os.MkdirAll(s.dataDir, 0o700); err != nil {
		return nil, err
	}
	logPath := filepath.Join(s.dataDir, LogFileName)
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	listen, chainListen := s.listen, s.chainListen
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	if chainListen == "" {
		chainListen = "127.0.0.1:0"
	}
	args := []string{"daemon",
		"--datadir", s.dataDir,
		"--alias", s.alias,
		"--listen", listen,
		"--rpc-listen", "127.0.0.1:0",
		"--chain-listen", chainListen,
		"--log-level", s.logLevel,
	}
	for _, peer := range s.chainConnect {
		args = append(args, "--chain-connect", peer)
	}
	cmd := exec.Command(s.binary, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = detachedProcAttr(s.killWithParent)
	err = cmd.Start()
	logFile.Close() // the child holds its own descriptor
	if err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	// Reaped here while this process lives, so that a daemon stopped by
	// the same process (down after up, in a test) does not linger as a
	// zombie; once this process exits, init reaps it.
	go func() { exited <- cmd.Wait() }()

	pid := cmd.Process.Pid
	var started *startedDaemon
	err = WaitFor(ctx, s.timeout, "rpc ready", func(ctx context.Context) (bool, error) {
		select {
		case err := <-exited:
			exited <- err
			return false, fmt.Errorf("daemon exited: %v", err)
		default:
		}
		ep, err := rpc.ReadEndpoint(s.dataDir)
		if err != nil || ep.PID != pid {
			return false, nil // a killed predecessor's file
		}
		c := rpc.NewClient(ep.Address, ep.Token)
		info, err := c.GetInfo(ctx)
		if err != nil {
			c.Close()
			return false, err
		}
		started = &startedDaemon{pid: pid, client: c, nodeID: info.NodeID,
			chainListen: info.ChainListenAddress}
		if i := strings.LastIndex(info.URI, "@"); i >= 0 {
			started.listen = info.URI[i+1:]
		}
		return true, nil
	})
	if err != nil {
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("%w\n%s", err, logTail(logPath))
	}
	if _, _, err := net.SplitHostPort(started.chainListen); err != nil {
		started.chainListen = ""
	}
	return started, nil
}

// logTail is the end of a log file, for error messages.
func logTail(path string) string {
	const maxTail = 2 << 10
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	if len(data) > maxTail {
		data = data[len(data)-maxTail:]
	}
	return "--- " + path + " (tail) ---\n" + string(data)
}
