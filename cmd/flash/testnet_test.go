package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTestnetCommandErrors(t *testing.T) {
	empty := t.TempDir()
	t.Setenv(envTestnetDir, empty)
	badTopo := filepath.Join(t.TempDir(), "topo.json")
	if err := os.WriteFile(badTopo, []byte(`{"nodes": [{"name": "alice"}, {"name": "alice"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		wantCode string
		wantMsg  string
	}{
		{"zero nodes", []string{"testnet", "up", "--nodes", "0"}, "invalid_argument", "want 1 to"},
		{"too many nodes", []string{"testnet", "up", "--nodes", "100000"}, "invalid_argument", "want 1 to"},
		{"negative nodes", []string{"testnet", "up", "--nodes", "-3"}, "invalid_argument", "want 1 to"},
		{"nodes and topology", []string{"testnet", "up", "--nodes", "2", "--topology", badTopo}, "invalid_argument", "exclusive"},
		{"missing topology", []string{"testnet", "up", "--topology", filepath.Join(empty, "none.json")}, "invalid_argument", "no such file"},
		{"bad topology", []string{"testnet", "up", "--topology", badTopo}, "invalid_argument", "duplicate name"},
		{"bad interval", []string{"testnet", "up", "--block-interval", "soon"}, "invalid_argument", "block-interval"},
		{"mine word", []string{"testnet", "mine", "x"}, "invalid_argument", "number of blocks"},
		{"mine zero", []string{"testnet", "mine", "0"}, "invalid_argument", "number of blocks"},
		{"mine args", []string{"testnet", "mine"}, "invalid_argument", "arg"},
		{"status without network", []string{"testnet", "status"}, "not_found", "no test network"},
		{"mine without network", []string{"testnet", "mine", "1"}, "not_found", "no test network"},
		{"down without network", []string{"testnet", "down", "--purge"}, "not_found", "no test network"},
		{"unknown", []string{"testnet", "steal"}, "invalid_argument", "unknown command"},
		{"miner interval", []string{"testnet", "miner", "--block-interval", "0s"}, "invalid_argument", "positive"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runArgs(t, tc.args...)
			if code == 0 {
				t.Fatalf("exit 0; stdout %q", stdout)
			}
			if strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tc.wantMsg) {
				t.Errorf("stderr %q: want one line mentioning %q", stderr, tc.wantMsg)
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
	if entries, err := os.ReadDir(empty); err != nil || len(entries) != 0 {
		t.Fatalf("failed commands wrote into the network directory: %v, %v", entries, err)
	}
}

func TestResolveTestnetDir(t *testing.T) {
	t.Setenv(envTestnetDir, "/env/net")
	if got := (&app{testnetDir: "/flag/net"}).resolveTestnetDir(); got != "/flag/net" {
		t.Errorf("flag: %q", got)
	}
	if got := (&app{}).resolveTestnetDir(); got != "/env/net" {
		t.Errorf("environment: %q", got)
	}
	t.Setenv(envTestnetDir, "")
	if got := (&app{}).resolveTestnetDir(); got != defaultTestnetDir {
		t.Errorf("default: %q", got)
	}
}

func TestTestnetHelp(t *testing.T) {
	for _, args := range [][]string{{"testnet"}, {"testnet", "up", "--help"},
		{"testnet", "down", "--help"}, {"testnet", "status", "--help"}} {
		code, stdout, stderr := runArgs(t, args...)
		if code != 0 || stdout == "" {
			t.Errorf("flash %v: exit %d, stdout %d bytes, stderr %q", args, code, len(stdout), stderr)
		}
	}
	_, stdout, _ := runArgs(t, "testnet")
	if strings.Contains(stdout, "miner") {
		t.Errorf("the auto-miner's command is listed: %q", stdout)
	}
}
