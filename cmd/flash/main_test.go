package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

func runArgs(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestClientCommandErrors(t *testing.T) {
	t.Setenv(envTestnetDir, t.TempDir())
	empty := t.TempDir()
	tests := []struct {
		name     string
		args     []string
		wantCode string
		wantMsg  string
	}{
		{"no daemon", []string{"--datadir", empty, "getinfo"}, "unavailable", "no daemon running"},
		{"no datadir", []string{"--datadir", filepath.Join(empty, "x"), "stop"}, "unavailable", "does not exist"},
		{"node and datadir", []string{"--datadir", empty, "--node", "alice", "getinfo"}, "invalid_argument", "exclusive"},
		{"bad node name", []string{"--node", "A/B", "getinfo"}, "invalid_argument", "node name"},
		{"amount abc", []string{"--datadir", empty, "wallet", "send", "addr", "abc"}, "invalid_argument", "not a whole number"},
		{"amount zero", []string{"--datadir", empty, "wallet", "send", "addr", "0"}, "invalid_argument", "positive"},
		{"amount negative", []string{"--datadir", empty, "wallet", "send", "addr", "-5"}, "invalid_argument", "negative"},
		{"fee rate", []string{"--datadir", empty, "wallet", "send", "addr", "5", "--fee-rate", "-1"}, "invalid_argument", "fee rate"},
		{"mine", []string{"--datadir", empty, "chain", "mine", "x"}, "invalid_argument", "number of blocks"},
		{"args", []string{"--datadir", empty, "chain", "mine"}, "invalid_argument", "arg"},
		{"unknown sub-command", []string{"wallet", "steal"}, "invalid_argument", "unknown command"},
		{"peer connect args", []string{"--datadir", empty, "peer", "connect"}, "invalid_argument", "arg"},
		{"peer connect no daemon", []string{"--datadir", empty, "peer", "connect", "x@y:1"}, "unavailable", "no daemon running"},
		{"peer unknown", []string{"peer", "steal"}, "invalid_argument", "unknown command"},
		{"open amount", []string{"--datadir", empty, "channel", "open", "id", "lots"}, "invalid_argument", "not a whole number"},
		{"open push", []string{"--datadir", empty, "channel", "open", "id", "100000", "--push-sat", "100000"}, "invalid_argument", "push"},
		{"open negative push", []string{"--datadir", empty, "channel", "open", "id", "100000", "--push-sat", "-1"}, "invalid_argument", "push"},
		{"close args", []string{"--datadir", empty, "channel", "close"}, "invalid_argument", "arg"},
		{"channel unknown", []string{"channel", "steal"}, "invalid_argument", "unknown command"},
		{"channel min depth", []string{"daemon", "--datadir", empty, "--channel-min-depth", "x"}, "invalid_argument", "channel-min-depth"},
		{"unknown command", []string{"steal"}, "invalid_argument", "unknown command"},
		{"log level", []string{"daemon", "--datadir", empty, "--log-level", "loud"}, "invalid_argument", "log level"},
		{"public rpc", []string{"daemon", "--datadir", empty, "--rpc-listen", "0.0.0.0:0"}, "invalid_argument", "loopback"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runArgs(t, tc.args...)
			if code == 0 {
				t.Fatalf("exit 0; stdout %q", stdout)
			}
			if !strings.HasSuffix(stderr, "\n") || strings.Count(stderr, "\n") != 1 ||
				!strings.Contains(stderr, tc.wantMsg) {
				t.Errorf("stderr %q: want one line mentioning %q", stderr, tc.wantMsg)
			}
			if stdout != "" {
				t.Errorf("stdout without --json: %q", stdout)
			}
			_, stdout, _ = runArgs(t, append([]string{"--json"}, tc.args...)...)
			var doc struct {
				Error struct{ Code, Message string }
			}
			if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
				t.Fatalf("--json stdout %q: %v", stdout, err)
			}
			if doc.Error.Code != tc.wantCode || !strings.Contains(doc.Error.Message, tc.wantMsg) {
				t.Errorf("--json error %+v, want code %q mentioning %q", doc.Error, tc.wantCode, tc.wantMsg)
			}
		})
	}
}

func TestResolveDataDir(t *testing.T) {
	t.Setenv(envTestnetDir, "/env/net")
	tests := []struct {
		app  app
		want string
	}{
		{app{dataDir: "/d"}, "/d"},
		{app{node: "alice"}, "/env/net/alice"},
		{app{node: "bob", testnetDir: "/flag/net"}, "/flag/net/bob"},
	}
	for _, tc := range tests {
		got, err := tc.app.resolveDataDir()
		if err != nil || got != tc.want {
			t.Errorf("%+v: %q, %v; want %q", tc.app, got, err, tc.want)
		}
	}
	t.Setenv(envTestnetDir, "")
	a := app{node: "carol"}
	if got, _ := a.resolveDataDir(); got != filepath.Join(defaultTestnetDir, "carol") {
		t.Errorf("default testnet dir: %q", got)
	}
}

func TestHelpAndCompletion(t *testing.T) {
	for _, args := range [][]string{{}, {"--help"}, {"wallet"}, {"chain", "--help"},
		{"peer"}, {"channel"}, {"channel", "close", "--help"},
		{"completion", "bash"}, {"completion", "zsh"}, {"completion", "fish"}} {
		code, stdout, stderr := runArgs(t, args...)
		if code != 0 || stdout == "" {
			t.Errorf("flash %v: exit %d, stdout %d bytes, stderr %q", args, code, len(stdout), stderr)
		}
	}
}

func TestFormatSat(t *testing.T) {
	tests := []struct {
		sat  int64
		want string
	}{
		{0, "0 sat (0.00000000 BTC)"},
		{999, "999 sat (0.00000999 BTC)"},
		{1000, "1,000 sat (0.00001000 BTC)"},
		{123456789, "123,456,789 sat (1.23456789 BTC)"},
		{-5000000000, "-5,000,000,000 sat (-50.00000000 BTC)"},
	}
	for _, tc := range tests {
		if got := formatSat(tc.sat); got != tc.want {
			t.Errorf("formatSat(%d) = %q, want %q", tc.sat, got, tc.want)
		}
	}
}
