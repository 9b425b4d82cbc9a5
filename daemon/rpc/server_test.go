package rpc

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const testToken = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

func newTestServer(t *testing.T) (*Server, *httptest.Server) {
	t.Helper()
	s := NewServer(testToken, slog.New(slog.DiscardHandler))
	Handle(s, MethodWalletSend, func(_ context.Context, req *SendRequest) (*SendResponse, error) {
		if req.AmountSat <= 0 {
			return nil, Errorf(CodeInvalidArgument, "amount must be positive")
		}
		return &SendResponse{Txid: req.Address, FeeSat: 141}, nil
	})
	Handle(s, "panic", func(context.Context, *Empty) (*Empty, error) {
		panic("boom")
	})
	Handle(s, "fail", func(context.Context, *Empty) (*Empty, error) {
		return nil, errors.New("secret internal detail")
	})
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts
}

func TestServerRefusals(t *testing.T) {
	_, ts := newTestServer(t)
	tests := []struct {
		name       string
		httpMethod string
		path       string
		auth       string
		body       string
		wantStatus int
		wantCode   Code
		wantInMsg  string
	}{
		{"no token", "POST", "/v1/wallet/send", "", `{}`, 401, CodeUnauthenticated, "token"},
		{"wrong token", "POST", "/v1/wallet/send", "Bearer " + strings.Repeat("0", 64), `{}`, 401, CodeUnauthenticated, "token"},
		{"token prefix", "POST", "/v1/wallet/send", "Bearer " + testToken[:10], `{}`, 401, CodeUnauthenticated, "token"},
		{"basic scheme", "POST", "/v1/wallet/send", "Basic " + testToken, `{}`, 401, CodeUnauthenticated, "token"},
		{"unauthenticated unknown method", "POST", "/v1/nope", "", `{}`, 401, CodeUnauthenticated, "token"},
		{"GET", "GET", "/v1/wallet/send", "Bearer " + testToken, ``, 405, CodeMethodNotAllowed, "POST"},
		{"unknown method", "POST", "/v1/nope", "Bearer " + testToken, `{}`, 404, CodeNotFound, "nope"},
		{"outside prefix", "POST", "/wallet/send", "Bearer " + testToken, `{}`, 404, CodeNotFound, "unknown"},
		{"malformed JSON", "POST", "/v1/wallet/send", "Bearer " + testToken, `{"address":`, 400, CodeInvalidRequest, "malformed JSON"},
		{"syntax error", "POST", "/v1/wallet/send", "Bearer " + testToken, `{address}`, 400, CodeInvalidRequest, "malformed JSON"},
		{"wrong type", "POST", "/v1/wallet/send", "Bearer " + testToken, `{"amount_sat":"abc"}`, 400, CodeInvalidRequest, "amount_sat"},
		{"float amount", "POST", "/v1/wallet/send", "Bearer " + testToken, `{"amount_sat":1.5}`, 400, CodeInvalidRequest, "amount_sat"},
		{"not an object", "POST", "/v1/wallet/send", "Bearer " + testToken, `[1,2]`, 400, CodeInvalidRequest, "object"},
		{"unknown field", "POST", "/v1/wallet/send", "Bearer " + testToken, `{"amount":5}`, 400, CodeInvalidRequest, "amount"},
		{"trailing data", "POST", "/v1/wallet/send", "Bearer " + testToken, `{} {}`, 400, CodeInvalidRequest, "trailing"},
		{"too large", "POST", "/v1/wallet/send", "Bearer " + testToken, `{"address":"` + strings.Repeat("a", MaxRequestBytes) + `"}`, 400, CodeInvalidRequest, "larger"},
		{"handler refusal", "POST", "/v1/wallet/send", "Bearer " + testToken, `{"amount_sat":0}`, 400, CodeInvalidArgument, "positive"},
		{"panic", "POST", "/v1/panic", "Bearer " + testToken, ``, 500, CodeInternal, "internal"},
		{"internal error hidden", "POST", "/v1/fail", "Bearer " + testToken, ``, 500, CodeInternal, "internal error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.httpMethod, ts.URL+tc.path, strings.NewReader(tc.body))
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
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d (%s)", resp.StatusCode, tc.wantStatus, data)
			}
			var eb errorBody
			if err := json.Unmarshal(data, &eb); err != nil || eb.Error == nil {
				t.Fatalf("body %q is not an error object: %v", data, err)
			}
			if eb.Error.Code != tc.wantCode {
				t.Errorf("code %q, want %q", eb.Error.Code, tc.wantCode)
			}
			if !strings.Contains(eb.Error.Message, tc.wantInMsg) {
				t.Errorf("message %q does not mention %q", eb.Error.Message, tc.wantInMsg)
			}
			if strings.Contains(eb.Error.Message, "secret") {
				t.Errorf("message %q leaks an internal error", eb.Error.Message)
			}
		})
	}
}

func TestClientRoundTrip(t *testing.T) {
	_, ts := newTestServer(t)
	addr := strings.TrimPrefix(ts.URL, "http://")
	ctx := context.Background()

	c := NewClient(addr, testToken)
	defer c.Close()
	resp, err := c.Send(ctx, SendRequest{Address: "bcrt1qxyz", AmountSat: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Txid != "bcrt1qxyz" || resp.FeeSat != 141 {
		t.Fatalf("response %+v", resp)
	}

	_, err = c.Send(ctx, SendRequest{Address: "x", AmountSat: -1})
	if ErrorCode(err) != CodeInvalidArgument {
		t.Fatalf("error %v, code %q, want %q", err, ErrorCode(err), CodeInvalidArgument)
	}

	bad := NewClient(addr, strings.Repeat("ab", 32))
	_, err = bad.Send(ctx, SendRequest{Address: "x", AmountSat: 1})
	if ErrorCode(err) != CodeUnauthenticated {
		t.Fatalf("wrong token: error %v, want %q", err, CodeUnauthenticated)
	}
}

func TestClientNoDaemon(t *testing.T) {
	// A port that was just free is, with overwhelming likelihood, still
	// closed a moment later.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	_, err = NewClient(addr, testToken).GetInfo(context.Background())
	if !errors.Is(err, ErrDaemonNotRunning) || ErrorCode(err) != CodeUnavailable {
		t.Fatalf("error %v, want ErrDaemonNotRunning", err)
	}
}

func TestEndpointFile(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadEndpoint(dir); !errors.Is(err, ErrDaemonNotRunning) {
		t.Fatalf("missing file: %v, want ErrDaemonNotRunning", err)
	}
	if _, err := ReadEndpoint(filepath.Join(dir, "nope")); !errors.Is(err, ErrDaemonNotRunning) ||
		!strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("missing dir: %v", err)
	}

	tok, err := NewToken()
	if err != nil {
		t.Fatal(err)
	}
	want := Endpoint{Address: "127.0.0.1:10009", Token: tok, PID: 42}
	if err := WriteEndpoint(dir, want); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(dir, EndpointFile))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", info.Mode().Perm())
	}
	got, err := ReadEndpoint(dir)
	if err != nil || got != want {
		t.Fatalf("read %+v, %v; want %+v", got, err, want)
	}

	if err := WriteEndpoint(dir, Endpoint{Address: "nope", Token: tok}); err == nil {
		t.Error("wrote an endpoint without a port")
	}
	if err := os.WriteFile(filepath.Join(dir, EndpointFile), []byte(`{"address":"127.0.0.1:1","token":"zz"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadEndpoint(dir); err == nil {
		t.Error("read an endpoint with a malformed token")
	}

	if err := RemoveEndpoint(dir); err != nil {
		t.Fatal(err)
	}
	if err := RemoveEndpoint(dir); err != nil {
		t.Fatalf("second remove: %v", err)
	}
}

// FuzzServeHTTP feeds arbitrary bodies to an authenticated method: the
// server must answer with a well-formed response and never panic.
func FuzzServeHTTP(f *testing.F) {
	for _, seed := range []string{``, `{}`, `{"address":"a","amount_sat":1}`,
		`{"amount_sat":-1}`, `{"amount_sat":1e99}`, `[`, `null`, `"x"`, `{} x`,
		`{"address":null}`, `{"sat_per_vbyte":9223372036854775808}`} {
		f.Add(seed)
	}
	s := NewServer(testToken, slog.New(slog.DiscardHandler))
	Handle(s, MethodWalletSend, func(_ context.Context, req *SendRequest) (*SendResponse, error) {
		if req.AmountSat <= 0 {
			return nil, Errorf(CodeInvalidArgument, "amount must be positive")
		}
		return &SendResponse{Txid: req.Address}, nil
	})
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest("POST", "/v1/wallet/send", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testToken)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK:
			var r SendResponse
			if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
				t.Fatalf("200 with undecodable body %q", rec.Body.Bytes())
			}
		case http.StatusBadRequest:
			var eb errorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &eb); err != nil || eb.Error == nil || eb.Error.Message == "" {
				t.Fatalf("400 without an error object: %q", rec.Body.Bytes())
			}
		default:
			t.Fatalf("status %d for body %q", rec.Code, body)
		}
	})
}
