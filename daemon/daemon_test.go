package daemon

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flash-ln/flash/daemon/rpc"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		modify  func(*Config)
		wantErr string
	}{
		{"defaults", func(*Config) {}, ""},
		{"port zero", func(c *Config) { c.Listen, c.RPCListen, c.ChainListen = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0" }, ""},
		{"localhost rpc", func(c *Config) { c.RPCListen = "localhost:1" }, ""},
		{"ipv6 loopback rpc", func(c *Config) { c.RPCListen = "[::1]:0" }, ""},
		{"no data dir", func(c *Config) { c.DataDir = "" }, "data directory"},
		{"public rpc", func(c *Config) { c.RPCListen = "0.0.0.0:10009" }, "loopback"},
		{"rpc without port", func(c *Config) { c.RPCListen = "127.0.0.1" }, "rpc-listen"},
		{"bad port", func(c *Config) { c.Listen = "127.0.0.1:99999" }, "port"},
		{"empty chain listen", func(c *Config) { c.ChainListen = "" }, "chain-listen"},
		{"bad chain peer", func(c *Config) { c.ChainConnect = []string{"nohost"} }, "chain-connect"},
		{"long alias", func(c *Config) { c.Alias = strings.Repeat("a", 33) }, "alias"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.DataDir = t.TempDir()
			tc.modify(&cfg)
			err := cfg.validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want one mentioning %q", err, tc.wantErr)
			}
		})
	}
}

func TestParseLogLevel(t *testing.T) {
	for in, want := range map[string]slog.Level{
		"debug": slog.LevelDebug, "INFO": slog.LevelInfo,
		"warn": slog.LevelWarn, "Error": slog.LevelError,
	} {
		if got, err := ParseLogLevel(in); err != nil || got != want {
			t.Errorf("ParseLogLevel(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "loud", "info+2", "warning"} {
		if _, err := ParseLogLevel(in); err == nil {
			t.Errorf("ParseLogLevel(%q) accepted", in)
		}
	}
}

// syncBuffer is a log sink safe for the daemon's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func testConfig(dir string, log *syncBuffer) Config {
	cfg := DefaultConfig()
	cfg.DataDir = dir
	cfg.Listen, cfg.RPCListen, cfg.ChainListen = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.LogLevel = slog.LevelDebug
	cfg.LogOutput = log
	return cfg
}

// runDaemon runs a daemon in the background and waits until its endpoint
// file appears.
func runDaemon(t *testing.T, cfg Config) (*Daemon, <-chan error) {
	t.Helper()
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- d.Run(context.Background()) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := rpc.ReadEndpoint(cfg.DataDir); err == nil {
			return d, done
		}
		select {
		case err := <-done:
			t.Fatalf("daemon exited: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			d.Stop()
			t.Fatal("daemon not ready in time")
		}
	}
}

// TestRunLifecycle runs a daemon in-process: its data directory holds the
// documented files with their modes, a second daemon on it fails clearly,
// the RPC stop method ends Run and the endpoint file goes away.
func TestRunLifecycle(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "node")
	var log syncBuffer
	_, done := runDaemon(t, testConfig(dir, &log))

	for name, mode := range map[string]fs.FileMode{
		dbFileName: 0o600, seedFileName: 0o600, rpc.EndpointFile: 0o600,
	} {
		info, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != mode {
			t.Errorf("%s: mode %v, want %v", name, info.Mode().Perm(), mode)
		}
	}
	if info, err := os.Stat(filepath.Join(dir, chainDirName)); err != nil || !info.IsDir() {
		t.Errorf("chain directory: %v", err)
	}

	// A second daemon on the same directory.
	var log2 syncBuffer
	second, err := New(testConfig(dir, &log2))
	if err != nil {
		t.Fatal(err)
	}
	if err := second.Run(context.Background()); !errors.Is(err, ErrDataDirInUse) {
		t.Fatalf("second daemon: %v, want ErrDataDirInUse", err)
	}

	c, err := rpc.NewClientFromDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	info, err := c.GetInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(info.NodeID) != 66 || !strings.HasPrefix(info.URI, info.NodeID+"@127.0.0.1:") ||
		info.Alias != info.NodeID[:10] || info.BlockHeight != 0 {
		t.Errorf("getinfo %+v", info)
	}
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("daemon did not stop")
	}
	if _, err := os.Stat(filepath.Join(dir, rpc.EndpointFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("endpoint file after stop: %v", err)
	}
	if !strings.Contains(log.String(), "stopped cleanly") {
		t.Errorf("log lacks the clean stop:\n%s", log.String())
	}
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestRPCValidation calls the wallet and chain methods with bad arguments
// on a fresh node: each is refused with invalid_argument or
// insufficient_funds and nothing changes.
func TestRPCValidation(t *testing.T) {
	var log syncBuffer
	d, done := runDaemon(t, testConfig(t.TempDir(), &log))
	defer func() {
		d.Stop()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	c, err := rpc.NewClientFromDataDir(d.cfg.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	addr, err := c.NewAddress(ctx)
	if err != nil || !strings.HasPrefix(addr, "bcrt1q") {
		t.Fatalf("new address %q, %v", addr, err)
	}
	tests := []struct {
		name string
		call func() error
		want rpc.Code
	}{
		{"mine 0", func() error { _, err := c.ChainMine(ctx, 0, ""); return err }, rpc.CodeInvalidArgument},
		{"mine too many", func() error { _, err := c.ChainMine(ctx, rpc.MaxMineBlocks+1, ""); return err }, rpc.CodeInvalidArgument},
		{"mine to testnet address", func() error {
			_, err := c.ChainMine(ctx, 1, "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx")
			return err
		}, rpc.CodeInvalidArgument},
		{"connect no port", func() error { return c.ChainConnect(ctx, "127.0.0.1") }, rpc.CodeInvalidArgument},
		{"connect port 0", func() error { return c.ChainConnect(ctx, "127.0.0.1:0") }, rpc.CodeInvalidArgument},
		{"send no address", func() error {
			_, err := c.Send(ctx, rpc.SendRequest{AmountSat: 1000})
			return err
		}, rpc.CodeInvalidArgument},
		{"send negative", func() error {
			_, err := c.Send(ctx, rpc.SendRequest{Address: addr, AmountSat: -1})
			return err
		}, rpc.CodeInvalidArgument},
		{"send fee rate", func() error {
			_, err := c.Send(ctx, rpc.SendRequest{Address: addr, AmountSat: 1000, SatPerVByte: -3})
			return err
		}, rpc.CodeInvalidArgument},
		{"send empty wallet", func() error {
			_, err := c.Send(ctx, rpc.SendRequest{Address: addr, AmountSat: 1000})
			return err
		}, rpc.CodeInsufficientFunds},
	}
	for _, tc := range tests {
		if err := tc.call(); rpc.ErrorCode(err) != tc.want {
			t.Errorf("%s: %v (code %q), want %q", tc.name, err, rpc.ErrorCode(err), tc.want)
		}
	}
	info, err := c.ChainInfo(ctx)
	if err != nil || info.Height != 0 {
		t.Fatalf("chain after refused calls: %+v, %v", info, err)
	}
	res, err := c.ChainMine(ctx, 3, "")
	if err != nil || len(res.BlockHashes) != 3 {
		t.Fatalf("mine 3: %+v, %v", res, err)
	}
	// chain/mine returns once the wallet has applied the blocks.
	b, err := c.Balance(ctx)
	if err != nil || b.ImmatureSat != 3*50*100_000_000 {
		t.Fatalf("balance right after mining: %+v, %v", b, err)
	}
}
