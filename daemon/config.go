package daemon

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/btcsuite/btcd/chaincfg"
)

// Default listen addresses. They bind to loopback: exposing a node is a
// decision its operator makes explicitly.
const (
	DefaultListen      = "127.0.0.1:9735"
	DefaultRPCListen   = "127.0.0.1:10009"
	DefaultChainListen = "127.0.0.1:18444"
)

// Config is what a daemon needs to run.
type Config struct {
	// DataDir is the node's data directory, created if missing.
	DataDir string
	// Alias is the node's human-readable name; empty picks one derived
	// from the node id.
	Alias string
	// Listen is the host:port of the Lightning P2P listener.
	Listen string
	// RPCListen is the host:port of the RPC server. It must be a loopback
	// address: the token travels in clear over HTTP.
	RPCListen string
	// ChainListen is the host:port of the built-in chain's P2P listener.
	ChainListen string
	// ChainConnect lists host:port chain peers to dial and keep dialling.
	ChainConnect []string
	// LogLevel is the minimum level logged.
	LogLevel slog.Level
	// LogOutput receives the log; nil means standard error.
	LogOutput io.Writer
	// Params are the chain parameters; nil means regtest, the only
	// network the built-in chain runs.
	Params *chaincfg.Params
	// Version is reported by getinfo.
	Version string
	// ChannelMinDepth is the number of confirmations of a funding
	// transaction we ask for as fundee; zero means 3.
	ChannelMinDepth uint32
}

// DefaultConfig is a configuration with every default filled in but the
// data directory.
func DefaultConfig() Config {
	return Config{
		Listen:      DefaultListen,
		RPCListen:   DefaultRPCListen,
		ChainListen: DefaultChainListen,
		LogLevel:    slog.LevelInfo,
	}
}

// ParseLogLevel parses debug, info, warn or error (any case).
func ParseLogLevel(s string) (slog.Level, error) {
	var l slog.Level
	switch strings.ToLower(s) {
	case "debug", "info", "warn", "error":
		if err := l.UnmarshalText([]byte(s)); err != nil {
			return 0, err
		}
		return l, nil
	}
	return 0, fmt.Errorf("log level %q: want debug, info, warn or error", s)
}

// validate checks the configuration and fills in the defaults.
func (c *Config) validate() error {
	if c.DataDir == "" {
		return errors.New("no data directory")
	}
	if c.Params == nil {
		c.Params = &chaincfg.RegressionNetParams
	}
	if c.Params.Net != chaincfg.RegressionNetParams.Net {
		return fmt.Errorf("network %s: the built-in chain runs regtest only",
			c.Params.Name)
	}
	if c.LogOutput == nil {
		c.LogOutput = os.Stderr
	}
	if len(c.Alias) > 32 {
		return fmt.Errorf("alias %q: longer than 32 bytes", c.Alias)
	}
	for name, addr := range map[string]*string{
		"listen": &c.Listen, "rpc-listen": &c.RPCListen,
		"chain-listen": &c.ChainListen,
	} {
		if *addr == "" {
			return fmt.Errorf("%s: empty address", name)
		}
		if err := checkHostPort(*addr); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	if !isLoopback(c.RPCListen) {
		return fmt.Errorf("rpc-listen %s: not a loopback address "+
			"(the auth token travels in clear over HTTP)", c.RPCListen)
	}
	for _, addr := range c.ChainConnect {
		if err := checkHostPort(addr); err != nil {
			return fmt.Errorf("chain-connect: %w", err)
		}
	}
	return nil
}

// checkHostPort accepts host:port with a port in 0..65535.
func checkHostPort(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("address %q: %w", addr, err)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("address %q: port %q is not a number in 0..65535",
			addr, port)
	}
	return nil
}

func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
