package rpc

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
)

// EndpointFile is the name, inside a data directory, of the file through
// which a running daemon tells clients where and how to call it.
const EndpointFile = "rpc.json"

// tokenBytes is the entropy of an auth token.
const tokenBytes = 32

// ErrDaemonNotRunning says that no daemon answers for a data directory: its
// endpoint file is missing, or nothing listens at the address it names.
var ErrDaemonNotRunning = errors.New("no daemon running")

// Endpoint is the content of the endpoint file.
type Endpoint struct {
	// Address is the host:port of the RPC listener.
	Address string `json:"address"`
	// Token is the bearer token, hex.
	Token string `json:"token"`
	// PID is the process id of the daemon, so that a supervisor can tell
	// a fresh file from a stale one left by a killed process.
	PID int `json:"pid"`
}

// NewToken returns a fresh random auth token, hex-encoded.
func NewToken() (string, error) {
	var b [tokenBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate rpc token: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

func (e Endpoint) validate() error {
	if _, _, err := net.SplitHostPort(e.Address); err != nil {
		return fmt.Errorf("address %q: %w", e.Address, err)
	}
	if b, err := hex.DecodeString(e.Token); err != nil || len(b) != tokenBytes {
		return fmt.Errorf("token is not %d hex-encoded bytes", tokenBytes)
	}
	return nil
}

// WriteEndpoint writes the endpoint file of dir with mode 0600. It writes a
// temporary file and renames it, so that a reader never sees half a file.
func WriteEndpoint(dir string, e Endpoint) error {
	if err := e.validate(); err != nil {
		return fmt.Errorf("write %s: %w", EndpointFile, err)
	}
	data, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return fmt.Errorf("write %s: %w", EndpointFile, err)
	}
	path := filepath.Join(dir, EndpointFile)
	tmp, err := os.CreateTemp(dir, EndpointFile+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// ReadEndpoint reads the endpoint file of dir. A missing directory or file
// yields an error wrapping ErrDaemonNotRunning that says which.
func ReadEndpoint(dir string) (Endpoint, error) {
	var e Endpoint
	info, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return e, fmt.Errorf("%w: data directory %s does not exist",
			ErrDaemonNotRunning, dir)
	case err != nil:
		return e, fmt.Errorf("data directory %s: %w", dir, err)
	case !info.IsDir():
		return e, fmt.Errorf("data directory %s is not a directory", dir)
	}
	path := filepath.Join(dir, EndpointFile)
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return e, fmt.Errorf("%w for data directory %s (no %s)",
			ErrDaemonNotRunning, dir, EndpointFile)
	case err != nil:
		return e, fmt.Errorf("read %s: %w", path, err)
	}
	if err := json.Unmarshal(data, &e); err != nil {
		return e, fmt.Errorf("read %s: %w", path, err)
	}
	if err := e.validate(); err != nil {
		return e, fmt.Errorf("read %s: %w", path, err)
	}
	return e, nil
}

// RemoveEndpoint deletes the endpoint file of dir, if any.
func RemoveEndpoint(dir string) error {
	err := os.Remove(filepath.Join(dir, EndpointFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", EndpointFile, err)
	}
	return nil
}
