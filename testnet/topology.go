package testnet

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
)

// Limits of a topology.
const (
	// MaxNodes bounds a network: every node is a process with its own
	// chain, and a laptop runs out of memory long before a topology of
	// thousands makes sense.
	MaxNodes = 100
	// MaxChannelCapacitySat is the largest channel without
	// option_support_large_channel (BOLT 2): 2^24 - 1 satoshis.
	MaxChannelCapacitySat = 1<<24 - 1
	// DefaultChannelCapacitySat is the capacity of the channels of a
	// default topology.
	DefaultChannelCapacitySat = 1_000_000
	// maxTopologyBytes bounds a topology document.
	maxTopologyBytes = 1 << 20
)

// defaultNames are the names of the first nodes of a default topology;
// the following ones are node7, node8...
var defaultNames = []string{"alice", "bob", "carol", "dave", "erin", "frank"}

// namePattern is the shape of a node name. It is also a directory name
// under the network's directory, and `--node NAME` accepts the same
// names, so it must not be able to escape the directory.
var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// Topology describes a network: its nodes and the channels between them.
type Topology struct {
	Nodes    []TopologyNode    `json:"nodes"`
	Channels []TopologyChannel `json:"channels"`
}

// TopologyNode is one node of a topology.
type TopologyNode struct {
	// Name is the node's name: lower-case letters, digits, '-' and '_',
	// starting with a letter or a digit, at most 32 characters.
	Name string `json:"name"`
	// Alias is the node's public alias; empty means its name.
	Alias string `json:"alias,omitempty"`
}

// TopologyChannel is one channel, funded by From.
type TopologyChannel struct {
	From        string `json:"from"`
	To          string `json:"to"`
	CapacitySat int64  `json:"capacity_sat"`
	// PushSat is given to To at opening.
	PushSat int64 `json:"push_sat,omitempty"`
	// The routing policy From announces for the channel; nil means the
	// node's default.
	BaseFeeMsat *int64  `json:"base_fee_msat,omitempty"`
	FeePPM      *int64  `json:"fee_ppm,omitempty"`
	CLTVDelta   *uint16 `json:"cltv_delta,omitempty"`
	// Private channels are not announced.
	Private bool `json:"private,omitempty"`
}

// HasPolicy reports whether the channel sets any routing policy field.
func (c TopologyChannel) HasPolicy() bool {
	return c.BaseFeeMsat != nil || c.FeePPM != nil || c.CLTVDelta != nil
}

// TopologyError is a topology that cannot be built; Path locates the
// faulty part, as in "channels[2].to".
type TopologyError struct {
	Path string
	Msg  string
}

func (e *TopologyError) Error() string {
	if e.Path == "" {
		return "topology: " + e.Msg
	}
	return "topology: " + e.Path + ": " + e.Msg
}

func topoErr(path, format string, args ...any) error {
	return &TopologyError{Path: path, Msg: fmt.Sprintf(format, args...)}
}

// DefaultNodeName is the name of the i-th node (from 0) of a default
// topology.
func DefaultNodeName(i int) string {
	if i < len(defaultNames) {
		return defaultNames[i]
	}
	return "node" + strconv.Itoa(i+1)
}

// LineTopology is n nodes with default names, each funding a channel of
// DefaultChannelCapacitySat to the next: alice→bob→carol→...
func LineTopology(n int) (*Topology, error) {
	if n < 1 || n > MaxNodes {
		return nil, topoErr("", "%d nodes: want 1 to %d", n, MaxNodes)
	}
	t := &Topology{Nodes: make([]TopologyNode, n)}
	for i := range n {
		t.Nodes[i] = TopologyNode{Name: DefaultNodeName(i)}
		if i > 0 {
			t.Channels = append(t.Channels, TopologyChannel{
				From:        t.Nodes[i-1].Name,
				To:          t.Nodes[i].Name,
				CapacitySat: DefaultChannelCapacitySat,
			})
		}
	}
	return t, nil
}

// ParseTopology decodes and validates a JSON topology document. Unknown
// fields are refused: a misspelt "capacity" must not silently become a
// zero.
func ParseTopology(r io.Reader) (*Topology, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxTopologyBytes+1))
	if err != nil {
		return nil, fmt.Errorf("topology: read: %w", err)
	}
	if len(data) > maxTopologyBytes {
		return nil, topoErr("", "document larger than %d bytes", maxTopologyBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var t Topology
	if err := dec.Decode(&t); err != nil {
		return nil, &TopologyError{Msg: "invalid JSON: " + err.Error()}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, topoErr("", "trailing data after the document")
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	return &t, nil
}

// Validate checks the topology; the error is a *TopologyError naming the
// first fault.
func (t *Topology) Validate() error {
	if len(t.Nodes) < 1 || len(t.Nodes) > MaxNodes {
		return topoErr("nodes", "%d nodes: want 1 to %d", len(t.Nodes), MaxNodes)
	}
	index := make(map[string]int, len(t.Nodes))
	for i, n := range t.Nodes {
		path := fmt.Sprintf("nodes[%d]", i)
		if !namePattern.MatchString(n.Name) {
			return topoErr(path+".name", "%q: use 1 to 32 lower-case letters, "+
				"digits, '-' and '_', starting with a letter or a digit", n.Name)
		}
		if j, dup := index[n.Name]; dup {
			return topoErr(path+".name", "duplicate name %q (also nodes[%d])", n.Name, j)
		}
		index[n.Name] = i
		if len(n.Alias) > 32 {
			return topoErr(path+".alias", "longer than 32 bytes")
		}
	}
	pairs := make(map[[2]string]int)
	for i, c := range t.Channels {
		path := fmt.Sprintf("channels[%d]", i)
		if _, ok := index[c.From]; !ok {
			return topoErr(path+".from", "unknown node %q", c.From)
		}
		if _, ok := index[c.To]; !ok {
			return topoErr(path+".to", "unknown node %q", c.To)
		}
		if c.From == c.To {
			return topoErr(path, "channel from %s to itself", c.From)
		}
		switch {
		case c.CapacitySat <= 0:
			return topoErr(path+".capacity_sat", "%d: must be positive", c.CapacitySat)
		case c.CapacitySat > MaxChannelCapacitySat:
			return topoErr(path+".capacity_sat", "%d: above the maximum of %d",
				c.CapacitySat, MaxChannelCapacitySat)
		case c.PushSat < 0:
			return topoErr(path+".push_sat", "%d: must not be negative", c.PushSat)
		case c.PushSat >= c.CapacitySat:
			return topoErr(path+".push_sat", "%d: must be below the capacity of %d",
				c.PushSat, c.CapacitySat)
		case c.BaseFeeMsat != nil && *c.BaseFeeMsat < 0:
			return topoErr(path+".base_fee_msat", "%d: must not be negative", *c.BaseFeeMsat)
		case c.FeePPM != nil && (*c.FeePPM < 0 || *c.FeePPM > 1_000_000):
			return topoErr(path+".fee_ppm", "%d: want 0 to 1000000", *c.FeePPM)
		case c.CLTVDelta != nil && *c.CLTVDelta == 0:
			return topoErr(path+".cltv_delta", "must be positive")
		}
		// Parallel channels are legal in Lightning, but a topology
		// naming the same pair twice is far more often a mistake, and
		// the table of the network could not tell them apart.
		key := [2]string{c.From, c.To}
		if c.To < c.From {
			key = [2]string{c.To, c.From}
		}
		if j, dup := pairs[key]; dup {
			return topoErr(path, "second channel between %s and %s (also channels[%d])",
				c.From, c.To, j)
		}
		pairs[key] = i
	}
	return nil
}

// alias is the node's alias: its own, else its name.
func (n TopologyNode) alias() string {
	if n.Alias != "" {
		return n.Alias
	}
	return n.Name
}
