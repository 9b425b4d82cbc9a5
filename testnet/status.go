package testnet

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/flash-ln/flash/daemon/rpc"
)

// statusCallTimeout bounds the calls made to one node for its status: a
// hung daemon must not hang status.
const statusCallTimeout = 5 * time.Second

// NetworkStatus is the state of a network's processes and nodes.
type NetworkStatus struct {
	Dir   string `json:"dir"`
	Ready bool   `json:"ready"`
	// BlockInterval is the auto-miner's period, empty without one.
	BlockInterval string       `json:"block_interval,omitempty"`
	MinerRunning  bool         `json:"miner_running"`
	Nodes         []NodeStatus `json:"nodes"`
}

// NodeStatus is one node's state. Fields past LogPath are known only
// when it runs; a node that does not run may still have a live process
// (PID), that does not answer (Error).
type NodeStatus struct {
	Name    string `json:"name"`
	Running bool   `json:"running"`
	PID     int    `json:"pid,omitempty"`
	LogPath string `json:"log_path"`
	NodeID  string `json:"node_id,omitempty"`
	URI     string `json:"uri,omitempty"`
	Height  int32  `json:"height,omitempty"`
	Synced  bool   `json:"synced"`
	Peers   int    `json:"peers"`
	// Channels counts the listed channels, ActiveChannels those usable.
	Channels       int `json:"channels"`
	ActiveChannels int `json:"active_channels"`
	// OnChainSat is the wallet's confirmed balance; the rest of its
	// funds (unconfirmed, locked, immature) is in OtherOnChainSat.
	OnChainSat      int64 `json:"onchain_sat"`
	OtherOnChainSat int64 `json:"onchain_other_sat"`
	// ChannelMsat is our side of every listed channel.
	ChannelMsat int64 `json:"channel_msat"`
	// Error says why a node that runs could not be fully queried.
	Error string `json:"error,omitempty"`
}

// AllRunning reports whether every node runs.
func (s *NetworkStatus) AllRunning() bool {
	for _, n := range s.Nodes {
		if !n.Running {
			return false
		}
	}
	return true
}

// Node returns the status of node name, nil if there is none.
func (s *NetworkStatus) Node(name string) *NodeStatus {
	for i := range s.Nodes {
		if s.Nodes[i].Name == name {
			return &s.Nodes[i]
		}
	}
	return nil
}

// Status queries every node of the network in dir, in parallel.
func Status(ctx context.Context, dir string) (*NetworkStatus, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	st, err := LoadState(dir)
	if err != nil {
		return nil, err
	}
	ns := &NetworkStatus{
		Dir:          dir,
		Ready:        st.Ready,
		MinerRunning: processRuns(st.MinerPID, dir),
		Nodes:        make([]NodeStatus, len(st.Nodes)),
	}
	if st.BlockInterval > 0 {
		ns.BlockInterval = time.Duration(st.BlockInterval).String()
	}
	var wg sync.WaitGroup
	for i, n := range st.Nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ns.Nodes[i] = nodeStatus(ctx, dir, n)
		}()
	}
	wg.Wait()
	return ns, nil
}

// connectRunning returns a client of node n when its daemon runs and
// answers, and the daemon's pid.
func connectRunning(ctx context.Context, dir string, n NodeState) (*rpc.Client, int, bool) {
	dataDir := nodeDir(dir, n.Name)
	ep, err := rpc.ReadEndpoint(dataDir)
	if err != nil || !processRuns(ep.PID, dataDir) {
		return nil, 0, false
	}
	c := rpc.NewClient(ep.Address, ep.Token)
	ctx, cancel := context.WithTimeout(ctx, statusCallTimeout)
	defer cancel()
	if _, err := c.GetInfo(ctx); err != nil {
		c.Close()
		return nil, 0, false
	}
	return c, ep.PID, true
}

// livePID is the pid of a live daemon process of node n, whether or not
// it answers, 0 when there is none.
func livePID(dir string, n NodeState) int {
	dataDir := nodeDir(dir, n.Name)
	if ep, err := rpc.ReadEndpoint(dataDir); err == nil && processRuns(ep.PID, dataDir) {
		return ep.PID
	}
	if processRuns(n.PID, dataDir) {
		return n.PID
	}
	return 0
}

func nodeStatus(ctx context.Context, dir string, n NodeState) NodeStatus {
	s := NodeStatus{Name: n.Name, NodeID: n.NodeID,
		LogPath: filepath.Join(nodeDir(dir, n.Name), LogFileName)}
	c, pid, ok := connectRunning(ctx, dir, n)
	if !ok {
		if pid := livePID(dir, n); pid != 0 {
			s.PID = pid
			s.Error = fmt.Sprintf("process %d alive but its RPC does not answer", pid)
		}
		return s
	}
	defer c.Close()
	s.Running, s.PID = true, pid
	ctx, cancel := context.WithTimeout(ctx, statusCallTimeout)
	defer cancel()
	info, err := c.GetInfo(ctx)
	if err != nil {
		s.Error = err.Error()
		return s
	}
	s.NodeID, s.URI, s.Height = info.NodeID, info.URI, info.BlockHeight
	s.Synced, s.Peers = info.SyncedToChain, info.NumPeers
	bal, err := c.Balance(ctx)
	if err != nil {
		s.Error = err.Error()
		return s
	}
	s.OnChainSat = bal.ConfirmedSat
	s.OtherOnChainSat = bal.UnconfirmedSat + bal.LockedSat + bal.ImmatureSat
	chans, err := c.ChannelList(ctx)
	if err != nil {
		s.Error = err.Error()
		return s
	}
	for _, ch := range chans.Channels {
		s.Channels++
		if ch.State == rpc.ChannelActive {
			s.ActiveChannels++
		}
		s.ChannelMsat += ch.LocalBalanceMsat
	}
	return s
}

// WriteTable prints the network as a table, one node per row.
func WriteTable(w io.Writer, s *NetworkStatus) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATE\tHEIGHT\tCHANNELS\tON-CHAIN SAT\tIN CHANNELS SAT\tURI")
	for _, n := range s.Nodes {
		if !n.Running {
			state := "down"
			if n.Error != "" {
				state = "not answering"
			}
			fmt.Fprintf(tw, "%s\t%s\t-\t-\t-\t-\t%s\n", n.Name, state, n.LogPath)
			continue
		}
		state := "running"
		if n.Error != "" {
			state = "error: " + n.Error
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d/%d active\t%s\t%s\t%s\n", n.Name, state,
			n.Height, n.ActiveChannels, n.Channels, groupDigits(n.OnChainSat),
			groupDigits(n.ChannelMsat/1000), n.URI)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if s.BlockInterval != "" {
		state := "running"
		if !s.MinerRunning {
			state = "down"
		}
		_, err := fmt.Fprintf(w, "auto-miner: one block every %s, %s\n", s.BlockInterval, state)
		return err
	}
	return nil
}

// groupDigits writes n with thousands separators: 1,000,000.
func groupDigits(n int64) string {
	s := strconv.FormatInt(n, 10)
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return sign + b.String()
}
