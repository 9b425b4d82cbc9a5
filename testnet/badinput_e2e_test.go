package testnet

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flash-ln/flash/daemon/rpc"
)

// TestCLIBadInput drives the flash binary with every kind of bad input a
// user can type: each gets a one-line error and a non-zero exit, and the
// node's chain and wallet are left exactly as they were.
func TestCLIBadInput(t *testing.T) {
	nw := newNetwork(t)
	alice := startNode(t, nw, "alice")
	mine(t, alice, 101, "")
	before := balance(t, alice)
	tipBefore := sameTip(t, 101, alice)
	dir := alice.DataDir()
	bobAddr := outsiderAddress

	// A data directory with an endpoint file but no daemon behind it.
	stale := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := l.Addr().String()
	l.Close()
	token, _ := rpc.NewToken()
	if err := rpc.WriteEndpoint(stale, rpc.Endpoint{Address: closedAddr, Token: token}); err != nil {
		t.Fatal(err)
	}
	// The real daemon's address with a forged token.
	forged := t.TempDir()
	ep, err := rpc.ReadEndpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	ep.Token = token
	if err := rpc.WriteEndpoint(forged, ep); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		args     []string
		wantCode rpc.Code
		wantMsg  string
	}{
		{"no daemon", []string{"--datadir", t.TempDir(), "getinfo"}, rpc.CodeUnavailable, "no daemon running"},
		{"missing datadir", []string{"--datadir", filepath.Join(dir, "nope"), "getinfo"}, rpc.CodeUnavailable, "does not exist"},
		{"unknown node", []string{"--node", "zed", "getinfo"}, rpc.CodeUnavailable, "does not exist"},
		{"bad node name", []string{"--node", "../alice", "getinfo"}, rpc.CodeInvalidArgument, "node name"},
		{"stale endpoint", []string{"--datadir", stale, "wallet", "balance"}, rpc.CodeUnavailable, "connection refused"},
		{"forged token", []string{"--datadir", forged, "wallet", "send", bobAddr, "1000"}, rpc.CodeUnauthenticated, "auth token"},
		{"malformed address", []string{"--datadir", dir, "wallet", "send", "bcrt1qnotanaddress", "1000"}, rpc.CodeInvalidArgument, "malformed address"},
		{"mainnet address", []string{"--datadir", dir, "wallet", "send", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh", "1000"}, rpc.CodeInvalidArgument, "address"},
		{"amount zero", []string{"--datadir", dir, "wallet", "send", bobAddr, "0"}, rpc.CodeInvalidArgument, "positive"},
		{"amount negative", []string{"--datadir", dir, "wallet", "send", bobAddr, "-1"}, rpc.CodeInvalidArgument, "negative"},
		{"amount negative after --", []string{"--datadir", dir, "wallet", "send", "--", bobAddr, "-1"}, rpc.CodeInvalidArgument, "positive"},
		{"amount not a number", []string{"--datadir", dir, "wallet", "send", bobAddr, "abc"}, rpc.CodeInvalidArgument, "not a whole number"},
		{"amount fraction", []string{"--datadir", dir, "wallet", "send", bobAddr, "1.5"}, rpc.CodeInvalidArgument, "not a whole number"},
		{"amount overflow", []string{"--datadir", dir, "wallet", "send", bobAddr, "99999999999999999999"}, rpc.CodeInvalidArgument, "out of range"},
		{"amount above money supply", []string{"--datadir", dir, "wallet", "send", bobAddr, "2100000000000001"}, rpc.CodeInvalidArgument, "amount"},
		{"amount above balance", []string{"--datadir", dir, "wallet", "send", bobAddr, "1000000000000"}, rpc.CodeInsufficientFunds, "insufficient funds"},
		{"dust amount", []string{"--datadir", dir, "wallet", "send", bobAddr, "1"}, rpc.CodeInvalidArgument, "dust"},
		{"fee rate zero", []string{"--datadir", dir, "wallet", "send", bobAddr, "1000", "--fee-rate", "0"}, rpc.CodeInvalidArgument, "fee rate"},
		{"fee rate absurd", []string{"--datadir", dir, "wallet", "send", bobAddr, "1000", "--fee-rate", "1000000"}, rpc.CodeInvalidArgument, "fee rate"},
		{"missing amount", []string{"--datadir", dir, "wallet", "send", bobAddr}, rpc.CodeInvalidArgument, "arg"},
		{"mine zero", []string{"--datadir", dir, "chain", "mine", "0"}, rpc.CodeInvalidArgument, "number of blocks"},
		{"mine too many", []string{"--datadir", dir, "chain", "mine", "10001"}, rpc.CodeInvalidArgument, "number of blocks"},
		{"mine to bad address", []string{"--datadir", dir, "chain", "mine", "1", "--address", "xyz"}, rpc.CodeInvalidArgument, "malformed address"},
		{"connect bad address", []string{"--datadir", dir, "chain", "connect", "nocolon"}, rpc.CodeInvalidArgument, "HOST:PORT"},
		{"unknown command", []string{"--datadir", dir, "wallet", "steal"}, rpc.CodeInvalidArgument, "unknown command"},
		{"unknown flag", []string{"--datadir", dir, "getinfo", "--frobnicate"}, rpc.CodeInvalidArgument, "unknown flag"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := runCLI(t, tc.args...)
			if res.exitCode == 0 {
				t.Fatalf("succeeded: %v", res)
			}
			line := strings.TrimSuffix(res.stderr, "\n")
			if line == "" || strings.Contains(line, "\n") {
				t.Errorf("stderr is not one line: %q", res.stderr)
			}
			if !strings.Contains(line, tc.wantMsg) {
				t.Errorf("stderr %q does not mention %q", line, tc.wantMsg)
			}

			// The same with --json: the error document on stdout.
			res = runCLI(t, append([]string{"--json"}, tc.args...)...)
			var doc struct {
				Error *rpc.Error `json:"error"`
			}
			if err := json.Unmarshal([]byte(res.stdout), &doc); err != nil || doc.Error == nil {
				t.Fatalf("--json: stdout is not an error document: %v", res)
			}
			if res.exitCode == 0 || doc.Error.Code != tc.wantCode {
				t.Errorf("--json: %v; code %q, want %q", res, doc.Error.Code, tc.wantCode)
			}
		})
	}

	// Nothing moved.
	if after := balance(t, alice); after != before {
		t.Errorf("balance changed by bad input: %+v, was %+v", after, before)
	}
	if tip := sameTip(t, 0, alice); tip != tipBefore {
		t.Errorf("tip changed by bad input: %+v, was %+v", tip, tipBefore)
	}

	// The good path still works, with the documented field names.
	res := runCLI(t, "--datadir", dir, "--json", "getinfo")
	var info map[string]any
	if err := json.Unmarshal([]byte(res.stdout), &info); err != nil || res.exitCode != 0 {
		t.Fatalf("getinfo: %v", res)
	}
	for _, f := range []string{"node_id", "alias", "uri", "block_height", "block_hash",
		"synced_to_chain", "num_peers", "num_active_channels", "num_pending_channels"} {
		if _, ok := info[f]; !ok {
			t.Errorf("getinfo --json lacks %q: %s", f, res.stdout)
		}
	}
	res = runCLI(t, "--testnet-dir", nw.Dir, "--node", "alice", "--json", "chain", "info")
	var chainInfo rpc.ChainInfoResponse
	if err := json.Unmarshal([]byte(res.stdout), &chainInfo); err != nil || res.exitCode != 0 ||
		chainInfo.Height != tipBefore.Height || chainInfo.BestHash != tipBefore.Hash {
		t.Fatalf("chain info --node alice: %v", res)
	}
	res = runCLI(t, "--datadir", dir, "wallet", "balance")
	if res.exitCode != 0 || !strings.Contains(res.stdout, "confirmed") || !strings.Contains(res.stdout, " sat") {
		t.Errorf("wallet balance: %v", res)
	}
}

// TestRPCBadInput talks raw HTTP to a daemon: a missing or wrong token gets
// 401, malformed JSON 400 with a message, and the daemon keeps running.
func TestRPCBadInput(t *testing.T) {
	nw := newNetwork(t)
	alice := startNode(t, nw, "alice")
	ep, err := rpc.ReadEndpoint(alice.DataDir())
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ep.Address + "/v1/"
	tests := []struct {
		name       string
		method     string
		auth       string
		body       string
		wantStatus int
		wantCode   rpc.Code
	}{
		{"no token", "getinfo", "", `{}`, 401, rpc.CodeUnauthenticated},
		{"wrong token", "getinfo", "Bearer " + strings.Repeat("0", 64), `{}`, 401, rpc.CodeUnauthenticated},
		{"malformed JSON", "wallet/send", "Bearer " + ep.Token, `{"address": "x", "amount_sat": }`, 400, rpc.CodeInvalidRequest},
		{"wrong type", "wallet/send", "Bearer " + ep.Token, `{"address": 5}`, 400, rpc.CodeInvalidRequest},
		{"unknown field", "chain/mine", "Bearer " + ep.Token, `{"blocks": 5}`, 400, rpc.CodeInvalidRequest},
		{"negative amount", "wallet/send", "Bearer " + ep.Token, `{"address":"bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080","amount_sat":-5}`, 400, rpc.CodeInvalidArgument},
		{"mine too many", "chain/mine", "Bearer " + ep.Token, `{"num_blocks": 1000000}`, 400, rpc.CodeInvalidArgument},
		{"unknown method", "wallet/steal", "Bearer " + ep.Token, `{}`, 404, rpc.CodeNotFound},
		{"huge body", "getinfo", "Bearer " + ep.Token, `{"x":"` + strings.Repeat("a", 2<<20) + `"}`, 400, rpc.CodeInvalidRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), "POST", url+tc.method, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			data, _ := io.ReadAll(resp.Body)
			var doc struct {
				Error *rpc.Error `json:"error"`
			}
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.wantStatus, data)
			}
			if err := json.Unmarshal(data, &doc); err != nil || doc.Error == nil ||
				doc.Error.Code != tc.wantCode || doc.Error.Message == "" {
				t.Fatalf("body %s, want code %q and a message", data, tc.wantCode)
			}
		})
	}
	if _, err := alice.Client().GetInfo(ctxCall(t)); err != nil || alice.Exited() {
		t.Fatalf("daemon after bad input: %v (exited %v)", err, alice.Exited())
	}
}

// TestSecondDaemonSameDataDir starts a second daemon on a data directory in
// use: it must fail at once with a clear error and leave the first alone.
func TestSecondDaemonSameDataDir(t *testing.T) {
	nw := newNetwork(t)
	alice := startNode(t, nw, "alice")
	cmd := exec.CommandContext(t.Context(), flashBinary(t), "daemon",
		"--datadir", alice.DataDir(), "--listen", "127.0.0.1:0",
		"--rpc-listen", "127.0.0.1:0", "--chain-listen", "127.0.0.1:0")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("second daemon ran: %s", out)
	}
	if !strings.Contains(string(out), "in use") {
		t.Errorf("second daemon's error does not say the directory is in use: %s", out)
	}
	if _, err := alice.Client().GetInfo(ctxCall(t)); err != nil {
		t.Fatalf("first daemon after the attempt: %v", err)
	}
	if _, err := os.Stat(filepath.Join(alice.DataDir(), rpc.EndpointFile)); err != nil {
		t.Fatalf("first daemon's endpoint file: %v", err)
	}

	// flash stop: the daemon exits cleanly and removes its endpoint file.
	if res := runCLI(t, "--datadir", alice.DataDir(), "stop"); res.exitCode != 0 {
		t.Fatalf("flash stop: %v", res)
	}
	err = WaitFor(t.Context(), syncTimeout, "daemon exit", func(context.Context) (bool, error) {
		return alice.Exited(), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.Stop(t.Context()); err != nil {
		t.Fatalf("daemon after flash stop: %v", err)
	}
	if _, err := os.Stat(filepath.Join(alice.DataDir(), rpc.EndpointFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("endpoint file after flash stop: %v", err)
	}
}
