package testnet

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestLineTopology(t *testing.T) {
	tests := []struct {
		n         int
		wantNames []string
		wantErr   string
	}{
		{n: 1, wantNames: []string{"alice"}},
		{n: 3, wantNames: []string{"alice", "bob", "carol"}},
		{n: 8, wantNames: []string{"alice", "bob", "carol", "dave", "erin", "frank", "node7", "node8"}},
		{n: 0, wantErr: "want 1 to"},
		{n: -2, wantErr: "want 1 to"},
		{n: MaxNodes + 1, wantErr: "want 1 to"},
	}
	for _, tc := range tests {
		topo, err := LineTopology(tc.n)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("LineTopology(%d): %v, want an error with %q", tc.n, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("LineTopology(%d): %v", tc.n, err)
		}
		var names []string
		for _, n := range topo.Nodes {
			names = append(names, n.Name)
		}
		if !reflect.DeepEqual(names, tc.wantNames) {
			t.Errorf("LineTopology(%d) names %v, want %v", tc.n, names, tc.wantNames)
		}
		if len(topo.Channels) != tc.n-1 {
			t.Fatalf("LineTopology(%d): %d channels", tc.n, len(topo.Channels))
		}
		for i, c := range topo.Channels {
			if c.From != names[i] || c.To != names[i+1] || c.CapacitySat != DefaultChannelCapacitySat {
				t.Errorf("LineTopology(%d) channel %d: %+v", tc.n, i, c)
			}
		}
		if err := topo.Validate(); err != nil {
			t.Errorf("LineTopology(%d) does not validate: %v", tc.n, err)
		}
	}
}

func TestParseTopology(t *testing.T) {
	const twoNodes = `"nodes": [{"name": "alice"}, {"name": "bob"}]`
	tests := []struct {
		name     string
		doc      string
		wantPath string // of the *TopologyError; empty: valid
		wantMsg  string
	}{
		{"valid", `{` + twoNodes + `, "channels": [{"from": "alice", "to": "bob",
			"capacity_sat": 500000, "push_sat": 1000, "base_fee_msat": 1000, "fee_ppm": 1,
			"cltv_delta": 40, "private": true}]}`, "", ""},
		{"no channels", `{` + twoNodes + `}`, "", ""},
		{"alias", `{"nodes": [{"name": "alice", "alias": "Alice's node"}]}`, "", ""},
		{"not json", `nodes: [alice]`, "", "invalid JSON"},
		{"unknown field", `{` + twoNodes + `, "channels": [{"from": "alice", "to": "bob", "capacity": 5}]}`,
			"", "unknown field"},
		{"trailing data", `{` + twoNodes + `} {}`, "", "trailing data"},
		{"no nodes", `{"nodes": []}`, "nodes", "want 1 to"},
		{"too many nodes", `{"nodes": [` + strings.Repeat(`{"name": "x"},`, MaxNodes) + `{"name": "y"}]}`,
			"nodes", "want 1 to"},
		{"duplicate name", `{"nodes": [{"name": "alice"}, {"name": "alice"}]}`,
			"nodes[1].name", "duplicate name"},
		{"empty name", `{"nodes": [{"name": ""}]}`, "nodes[0].name", "lower-case"},
		{"upper case", `{"nodes": [{"name": "Alice"}]}`, "nodes[0].name", "lower-case"},
		{"path in name", `{"nodes": [{"name": "../etc"}]}`, "nodes[0].name", "lower-case"},
		{"slash in name", `{"nodes": [{"name": "a/b"}]}`, "nodes[0].name", "lower-case"},
		{"name too long", `{"nodes": [{"name": "` + strings.Repeat("a", 33) + `"}]}`,
			"nodes[0].name", "lower-case"},
		{"alias too long", `{"nodes": [{"name": "a", "alias": "` + strings.Repeat("a", 33) + `"}]}`,
			"nodes[0].alias", "32 bytes"},
		{"unknown from", `{` + twoNodes + `, "channels": [{"from": "mallory", "to": "bob", "capacity_sat": 100000}]}`,
			"channels[0].from", `unknown node "mallory"`},
		{"unknown to", `{` + twoNodes + `, "channels": [{"from": "alice", "to": "carol", "capacity_sat": 100000}]}`,
			"channels[0].to", `unknown node "carol"`},
		{"to itself", `{` + twoNodes + `, "channels": [{"from": "bob", "to": "bob", "capacity_sat": 100000}]}`,
			"channels[0]", "to itself"},
		{"zero capacity", `{` + twoNodes + `, "channels": [{"from": "alice", "to": "bob"}]}`,
			"channels[0].capacity_sat", "positive"},
		{"negative capacity", `{` + twoNodes + `, "channels": [{"from": "alice", "to": "bob", "capacity_sat": -1}]}`,
			"channels[0].capacity_sat", "positive"},
		{"capacity too large", `{` + twoNodes + `, "channels": [{"from": "alice", "to": "bob", "capacity_sat": 16777216}]}`,
			"channels[0].capacity_sat", "maximum"},
		{"negative push", `{` + twoNodes + `, "channels": [{"from": "alice", "to": "bob", "capacity_sat": 100000, "push_sat": -1}]}`,
			"channels[0].push_sat", "negative"},
		{"push equals capacity", `{` + twoNodes + `, "channels": [{"from": "alice", "to": "bob", "capacity_sat": 100000, "push_sat": 100000}]}`,
			"channels[0].push_sat", "below the capacity"},
		{"negative base fee", `{` + twoNodes + `, "channels": [{"from": "alice", "to": "bob", "capacity_sat": 100000, "base_fee_msat": -1}]}`,
			"channels[0].base_fee_msat", "negative"},
		{"fee ppm too large", `{` + twoNodes + `, "channels": [{"from": "alice", "to": "bob", "capacity_sat": 100000, "fee_ppm": 1000001}]}`,
			"channels[0].fee_ppm", "want 0 to"},
		{"zero cltv delta", `{` + twoNodes + `, "channels": [{"from": "alice", "to": "bob", "capacity_sat": 100000, "cltv_delta": 0}]}`,
			"channels[0].cltv_delta", "positive"},
		{"cltv delta overflow", `{` + twoNodes + `, "channels": [{"from": "alice", "to": "bob", "capacity_sat": 100000, "cltv_delta": 70000}]}`,
			"", "invalid JSON"},
		{"same pair twice", `{` + twoNodes + `, "channels": [{"from": "alice", "to": "bob", "capacity_sat": 100000},
			{"from": "bob", "to": "alice", "capacity_sat": 100000}]}`, "channels[1]", "second channel"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			topo, err := ParseTopology(strings.NewReader(tc.doc))
			if tc.wantMsg == "" {
				if err != nil {
					t.Fatalf("ParseTopology: %v", err)
				}
				if topo == nil || len(topo.Nodes) == 0 {
					t.Fatalf("ParseTopology returned %+v", topo)
				}
				return
			}
			var te *TopologyError
			if !errors.As(err, &te) {
				t.Fatalf("ParseTopology: %v, want a *TopologyError", err)
			}
			if te.Path != tc.wantPath || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("ParseTopology: path %q, %v; want path %q and %q",
					te.Path, err, tc.wantPath, tc.wantMsg)
			}
		})
	}
}

func TestParseTopologyTooLarge(t *testing.T) {
	doc := `{"nodes": [{"name": "a"}], "channels": []}` + strings.Repeat(" ", maxTopologyBytes)
	if _, err := ParseTopology(strings.NewReader(doc)); err == nil ||
		!strings.Contains(err.Error(), "larger than") {
		t.Fatalf("ParseTopology of %d bytes: %v", len(doc), err)
	}
}

func FuzzParseTopology(f *testing.F) {
	f.Add(`{"nodes": [{"name": "alice"}, {"name": "bob"}], "channels": [{"from": "alice", "to": "bob", "capacity_sat": 500000}]}`)
	f.Add(`{"nodes": [{"name": "alice"}]}`)
	f.Add(`{"nodes": [{"name": "a"}, {"name": "a"}]}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, doc string) {
		topo, err := ParseTopology(strings.NewReader(doc))
		if err != nil {
			return
		}
		// Whatever is accepted is valid, and stays so.
		if err := topo.Validate(); err != nil {
			t.Fatalf("accepted topology does not validate: %v", err)
		}
	})
}

// The example shipped beside the code must stay valid.
func TestTopologyExample(t *testing.T) {
	f, err := os.Open("topology_example.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	topo, err := ParseTopology(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(topo.Nodes) != 4 || len(topo.Channels) != 4 {
		t.Fatalf("example: %+v", topo)
	}
}
