package rpc

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"
)

// MaxRequestBytes bounds a request body. No method needs more than a few
// hundred bytes; the bound keeps a hostile client from filling memory.
const MaxRequestBytes = 1 << 20

// pathPrefix is the URL prefix of every method.
const pathPrefix = "/v1/"

// HandlerFunc serves one method. params is the raw JSON request body ("{}"
// when the body was empty). The returned value is encoded as the response;
// an error that is not an *Error is reported as CodeInternal without its
// text leaking to the client.
type HandlerFunc func(ctx context.Context, params json.RawMessage) (any, error)

// Server answers RPC calls. Register every method before calling Serve.
type Server struct {
	token []byte
	log   *slog.Logger

	mu       sync.RWMutex
	handlers map[string]HandlerFunc

	http *http.Server
	// cancel ends the context of the calls in flight at Shutdown.
	cancel context.CancelFunc
}

// NewServer makes a server that accepts calls carrying token.
func NewServer(token string, log *slog.Logger) *Server {
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		token:    []byte(token),
		log:      log,
		handlers: make(map[string]HandlerFunc),
		cancel:   cancel,
	}
	s.http = &http.Server{
		Handler:           s,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ReadHeaderTimeout: 10 * time.Second,
		// No write timeout: chain/mine of many blocks may take a while,
		// and the caller's context bounds it instead.
		IdleTimeout:    2 * time.Minute,
		MaxHeaderBytes: 16 << 10,
		ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	return s
}

// Register serves method with h, replacing any earlier handler.
func (s *Server) Register(method string, h HandlerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers[method] = h
}

// Handle registers a typed handler: the request body is decoded strictly
// into a Req (unknown fields and trailing data are refused) before fn runs.
func Handle[Req, Resp any](s *Server, method string, fn func(context.Context, *Req) (*Resp, error)) {
	s.Register(method, func(ctx context.Context, params json.RawMessage) (any, error) {
		req := new(Req)
		if err := decodeStrict(params, req); err != nil {
			return nil, err
		}
		return fn(ctx, req)
	})
}

// Serve accepts connections on l until Shutdown. It returns nil after a
// clean shutdown.
func (s *Server) Serve(l net.Listener) error {
	err := s.http.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting calls, cancels the context of the calls in
// flight (a long chain/mine gives up) and waits, until ctx is done, for them
// to finish; their responses are delivered.
func (s *Server) Shutdown(ctx context.Context) error {
	s.cancel()
	return s.http.Shutdown(ctx)
}

// ServeHTTP authenticates, routes and decodes one call.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	method := strings.TrimPrefix(r.URL.Path, pathPrefix)
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("rpc handler panicked", "method", method,
				"panic", v, "stack", string(debug.Stack()))
			writeError(w, Errorf(CodeInternal, "internal error"))
		}
	}()

	// Authenticate before anything else so that an unauthenticated client
	// learns nothing, not even which methods exist.
	if !s.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="flash"`)
		writeError(w, Errorf(CodeUnauthenticated,
			"missing or wrong auth token"))
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, Errorf(CodeMethodNotAllowed,
			"method %s not allowed: use POST", r.Method))
		return
	}
	s.mu.RLock()
	h, ok := s.handlers[method]
	s.mu.RUnlock()
	if !strings.HasPrefix(r.URL.Path, pathPrefix) || !ok {
		writeError(w, Errorf(CodeNotFound, "unknown method %q", r.URL.Path))
		return
	}

	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRequestBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeError(w, Errorf(CodeInvalidRequest,
				"request body larger than %d bytes", MaxRequestBytes))
			return
		}
		writeError(w, Errorf(CodeInvalidRequest, "read request: %v", err))
		return
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		body = []byte("{}")
	}

	start := time.Now()
	resp, err := h(r.Context(), body)
	if err != nil {
		var rpcErr *Error
		if !errors.As(err, &rpcErr) {
			s.log.Error("rpc call failed", "method", method, "err", err)
			rpcErr = Errorf(CodeInternal, "internal error: %s", method)
		} else {
			s.log.Debug("rpc call refused", "method", method,
				"code", rpcErr.Code, "err", rpcErr.Message)
		}
		writeError(w, rpcErr)
		return
	}
	s.log.Debug("rpc call", "method", method, "took", time.Since(start))
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) authorized(r *http.Request) bool {
	const scheme = "Bearer "
	auth := r.Header.Get("Authorization")
	if len(auth) < len(scheme) || !strings.EqualFold(auth[:len(scheme)], scheme) {
		return false
	}
	given := []byte(strings.TrimSpace(auth[len(scheme):]))
	return len(s.token) > 0 && subtle.ConstantTimeCompare(given, s.token) == 1
}

// decodeStrict decodes one JSON object into v, refusing unknown fields and
// trailing data, and turns decoding failures into CodeInvalidRequest errors
// that name the offending field.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return Errorf(CodeInvalidRequest, "malformed JSON request: %s",
			describeJSONError(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return Errorf(CodeInvalidRequest,
			"malformed JSON request: trailing data after the object")
	}
	return nil
}

func describeJSONError(err error) string {
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntaxErr):
		return fmt.Sprintf("%v at byte %d", syntaxErr, syntaxErr.Offset)
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return fmt.Sprintf("expected a JSON object, got %s", typeErr.Value)
		}
		return fmt.Sprintf("field %q: expected %s, got %s",
			typeErr.Field, typeErr.Type, typeErr.Value)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "unexpected end of input"
	default:
		return err.Error()
	}
}

func writeError(w http.ResponseWriter, e *Error) {
	writeJSON(w, e.Code.HTTPStatus(), errorBody{Error: e})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		data, _ = json.Marshal(errorBody{Error: Errorf(CodeInternal,
			"encode response: %v", err)})
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(data, '\n'))
}
