package testnet

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// StateFileName is the file, in a network's directory, that records what
// `up` built and started, so that status, mine and down find it.
const StateFileName = "network.json"

// stateVersion is the layout of the state file.
const stateVersion = 1

// State is the record of a network kept in its directory.
type State struct {
	Version int `json:"version"`
	// Binary is the flash executable the daemons run.
	Binary   string   `json:"binary"`
	Topology Topology `json:"topology"`
	// BlockInterval is the auto-miner's period, zero for none.
	BlockInterval Duration    `json:"block_interval,omitempty"`
	Nodes         []NodeState `json:"nodes"`
	// Channels lists the channel point of each channel of the topology,
	// in its order, once opened.
	Channels []string `json:"channels,omitempty"`
	// MinerPID is the process id of the auto-miner, 0 for none.
	MinerPID int `json:"miner_pid,omitempty"`
	// Ready is set once the network was completely built: nodes
	// funded, channels open and active. A network that is not ready
	// cannot be resumed, only taken down.
	Ready bool `json:"ready"`
}

// NodeState is one node's record.
type NodeState struct {
	Name string `json:"name"`
	// PID is the process id of the daemon's last start.
	PID    int    `json:"pid"`
	NodeID string `json:"node_id,omitempty"`
	// Listen and ChainListen are the addresses bound at the first start
	// and bound again by every restart: peers keep dialling them.
	Listen      string `json:"listen,omitempty"`
	ChainListen string `json:"chain_listen,omitempty"`
}

// Duration is a time.Duration written as "5s" in JSON.
type Duration time.Duration

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// ErrNoNetwork says that a directory holds no network.
var ErrNoNetwork = errors.New("no test network")

// LoadState reads the state file of the network in dir; an error wraps
// ErrNoNetwork when there is none.
func LoadState(dir string) (*State, error) {
	path := filepath.Join(dir, StateFileName)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w in %s (no %s)", ErrNoNetwork, dir, StateFileName)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	var s State
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if s.Version != stateVersion {
		return nil, fmt.Errorf("read %s: version %d, want %d", path, s.Version, stateVersion)
	}
	if err := s.Topology.Validate(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(s.Nodes) != len(s.Topology.Nodes) {
		return nil, fmt.Errorf("read %s: %d nodes for a topology of %d",
			path, len(s.Nodes), len(s.Topology.Nodes))
	}
	for i, n := range s.Nodes {
		if n.Name != s.Topology.Nodes[i].Name {
			return nil, fmt.Errorf("read %s: node %d is %q, topology says %q",
				path, i, n.Name, s.Topology.Nodes[i].Name)
		}
	}
	return &s, nil
}

// save writes the state file atomically: a crash leaves the old or the
// new record, never half of one, and down must always find the pids.
func (s *State) save(dir string) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("write %s: %w", StateFileName, err)
	}
	tmp, err := os.CreateTemp(dir, StateFileName+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", StateFileName, err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(append(data, '\n'))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(dir, StateFileName))
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", StateFileName, err)
	}
	return nil
}

// nodeDir is the data directory of node name.
func nodeDir(dir, name string) string { return filepath.Join(dir, name) }
