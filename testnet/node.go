package testnet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/flash-ln/flash/daemon/rpc"
)

// LogFileName is the file, inside a node's data directory, that receives
// the daemon's standard output and error.
const LogFileName = "daemon.log"

// Default deadlines.
const (
	// DefaultStartTimeout bounds a start: a first start creates the
	// block database and the wallet, and a race-enabled binary is slow.
	DefaultStartTimeout = 60 * time.Second
	// DefaultStopTimeout bounds a clean stop before the process is
	// killed.
	DefaultStopTimeout = 30 * time.Second
)

// NodeConfig describes one daemon.
type NodeConfig struct {
	// Name identifies the node in errors and logs; it is also its alias.
	Name string
	// DataDir is the node's data directory.
	DataDir string
	// Binary is the flash executable.
	Binary string
	// ChainConnect lists chain peers (host:port) to dial at start.
	ChainConnect []string
	// LogLevel is passed to --log-level; empty means info.
	LogLevel string
	// KillWithParent makes the kernel kill the daemon when the process
	// that started it dies (Linux only), so that a crashed test leaves
	// no daemon behind. A background network must not set it.
	KillWithParent bool
	// StartTimeout bounds each start; zero means DefaultStartTimeout.
	StartTimeout time.Duration
}

// Node is one daemon process, started and restarted on the same data
// directory.
type Node struct {
	cfg NodeConfig

	mu sync.Mutex
	// proc is the running process, nil when stopped.
	proc *process
	// client calls the running process.
	client *rpc.Client
	// listen and chainListen are the addresses bound at the last start.
	// Restarts bind them again, so that peers that dial the node find it.
	listen, chainListen string
}

// process is one run of the daemon.
type process struct {
	cmd     *exec.Cmd
	logFile *os.File
	exited  chan struct{} // closed when the process has been reaped
	err     error         // exit status, set before exited closes
}

// NewNode prepares a node; Start runs it.
func NewNode(cfg NodeConfig) (*Node, error) {
	switch {
	case cfg.Name == "":
		return nil, errors.New("testnet: node without a name")
	case cfg.DataDir == "":
		return nil, fmt.Errorf("testnet: node %s: no data directory", cfg.Name)
	case cfg.Binary == "":
		return nil, fmt.Errorf("testnet: node %s: no flash binary", cfg.Name)
	}
	if cfg.LogLevel == "" {
		cfg.LogLevel = "info"
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = DefaultStartTimeout
	}
	return &Node{cfg: cfg, listen: "127.0.0.1:0", chainListen: "127.0.0.1:0"}, nil
}

// Name is the node's name.
func (n *Node) Name() string { return n.cfg.Name }

// DataDir is the node's data directory.
func (n *Node) DataDir() string { return n.cfg.DataDir }

// LogPath is the file that receives the daemon's output.
func (n *Node) LogPath() string { return filepath.Join(n.cfg.DataDir, LogFileName) }

// SetChainConnect replaces the chain peers dialled at the next start.
func (n *Node) SetChainConnect(addrs []string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.cfg.ChainConnect = append([]string(nil), addrs...)
}

// Client calls the running daemon; nil when it is not running.
func (n *Node) Client() *rpc.Client {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.client
}

// ChainAddress is the host:port of the node's chain listener, as bound at
// the last start.
func (n *Node) ChainAddress() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.chainListen
}

// PID is the process id of the running daemon, 0 when it is not running.
func (n *Node) PID() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.proc == nil {
		return 0
	}
	return n.proc.cmd.Process.Pid
}

// Start runs the daemon and returns once its RPC answers. On failure the
// process is killed and the error carries the tail of its log.
func (n *Node) Start(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.proc != nil {
		return fmt.Errorf("testnet: node %s already running", n.cfg.Name)
	}
	if err := os.MkdirAll(n.cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("testnet: node %s: %w", n.cfg.Name, err)
	}
	logFile, err := os.OpenFile(n.LogPath(),
		os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("testnet: node %s: %w", n.cfg.Name, err)
	}

	args := []string{"daemon",
		"--datadir", n.cfg.DataDir,
		"--alias", n.cfg.Name,
		"--listen", n.listen,
		"--rpc-listen", "127.0.0.1:0",
		"--chain-listen", n.chainListen,
		"--log-level", n.cfg.LogLevel,
	}
	for _, peer := range n.cfg.ChainConnect {
		args = append(args, "--chain-connect", peer)
	}
	// Not CommandContext: the daemon must outlive the context of the
	// call that starts it.
	cmd := exec.Command(n.cfg.Binary, args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = sysProcAttr(n.cfg.KillWithParent)
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("testnet: start node %s: %w", n.cfg.Name, err)
	}
	p := &process{cmd: cmd, logFile: logFile, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logFile.Close()
		close(p.exited)
	}()

	client, err := n.waitReady(ctx, p)
	if err != nil {
		_ = cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("testnet: start node %s: %w\n%s", n.cfg.Name, err,
			n.logTail())
	}
	n.proc, n.client = p, client
	return nil
}

// waitReady polls until the process has published a fresh endpoint file
// and answers getinfo, and records the addresses it bound.
func (n *Node) waitReady(ctx context.Context, p *process) (*rpc.Client, error) {
	pid := p.cmd.Process.Pid
	var client *rpc.Client
	var info *rpc.GetInfoResponse
	err := WaitFor(ctx, n.cfg.StartTimeout, "rpc ready", func(ctx context.Context) (bool, error) {
		select {
		case <-p.exited:
			return false, fmt.Errorf("daemon exited: %v", p.err)
		default:
		}
		// A file left by a killed predecessor names another pid.
		ep, err := rpc.ReadEndpoint(n.cfg.DataDir)
		if err != nil || ep.PID != pid {
			return false, nil
		}
		c := rpc.NewClient(ep.Address, ep.Token)
		info, err = c.GetInfo(ctx)
		if err != nil {
			c.Close()
			return false, err
		}
		client = c
		return true, nil
	})
	if err != nil {
		select {
		case <-p.exited:
			return nil, fmt.Errorf("daemon exited: %v", p.err)
		default:
		}
		return nil, err
	}
	if i := strings.LastIndex(info.URI, "@"); i >= 0 {
		n.listen = info.URI[i+1:]
	}
	if _, _, err := net.SplitHostPort(info.ChainListenAddress); err == nil {
		n.chainListen = info.ChainListenAddress
	}
	return client, nil
}

// Stop asks the daemon to shut down through the RPC and waits for the
// process to exit; a daemon that does not exit in time is killed and the
// failure reported.
func (n *Node) Stop(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	p, client := n.proc, n.client
	if p == nil {
		return nil
	}
	n.proc, n.client = nil, nil
	defer client.Close()

	select {
	case <-p.exited:
		// Stopped by other means (flash stop, a signal) or crashed.
		if p.err != nil {
			return fmt.Errorf("testnet: node %s exited: %v\n%s", n.cfg.Name,
				p.err, n.logTail())
		}
		return nil
	default:
	}
	stopErr := client.Stop(ctx)
	if stopErr != nil {
		// Fall back to the signal a terminal would send.
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
	}
	timer := time.NewTimer(DefaultStopTimeout)
	defer timer.Stop()
	select {
	case <-p.exited:
	case <-ctx.Done():
		_ = p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("testnet: stop node %s: %w", n.cfg.Name, ctx.Err())
	case <-timer.C:
		_ = p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("testnet: stop node %s: no exit after %v; killed",
			n.cfg.Name, DefaultStopTimeout)
	}
	if p.err != nil {
		return fmt.Errorf("testnet: node %s exited: %v\n%s", n.cfg.Name,
			p.err, n.logTail())
	}
	if stopErr != nil {
		return fmt.Errorf("testnet: stop node %s: rpc: %w", n.cfg.Name, stopErr)
	}
	return nil
}

// Kill ends the daemon with SIGKILL, as a crash or a power cut would, and
// waits until the process is gone.
func (n *Node) Kill() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	p, client := n.proc, n.client
	if p == nil {
		return nil
	}
	n.proc, n.client = nil, nil
	client.Close()
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("testnet: kill node %s: %w", n.cfg.Name, err)
	}
	<-p.exited
	return nil
}

// Exited reports whether a started daemon has exited on its own; it is
// false for a node that is stopped or was never started.
func (n *Node) Exited() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.proc == nil {
		return false
	}
	select {
	case <-n.proc.exited:
		return true
	default:
		return false
	}
}

// logTail is the end of the daemon's log, for error messages.
func (n *Node) logTail() string {
	const maxTail = 4 << 10
	data, err := os.ReadFile(n.LogPath())
	if err != nil {
		return ""
	}
	if len(data) > maxTail {
		data = data[len(data)-maxTail:]
	}
	return "--- " + n.LogPath() + " (tail) ---\n" + string(data)
}
