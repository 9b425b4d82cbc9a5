package testnet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"time"

	"github.com/flash-ln/flash/daemon/rpc"
)

// DefaultNodes is the size of the network up builds when given no
// topology.
const DefaultNodes = 3

// DefaultUpTimeout bounds a whole up.
const DefaultUpTimeout = 5 * time.Minute

// Heights and depths of a network's bootstrap.
const (
	// coinbaseMaturity is the depth at which a coinbase can be spent.
	coinbaseMaturity = 100
	// segwitHeight is where the regtest chain activates segwit: the
	// wallets pay from P2WPKH, so nothing is spent below it. Mirrors
	// chain.SegwitActivationHeight.
	segwitHeight = 432
	// announceDepth is the confirmations mined on top of the channels:
	// BOLT 7 announces a channel at six, and the nodes activate one at
	// three.
	announceDepth = 6
	// waitTimeout bounds each wait for the network to agree on a state.
	waitTimeout = 60 * time.Second
)

// burnAddress receives the coinbases that fund nobody: the filler blocks
// that mature the funding and the confirmations, so that the balances of
// the nodes say what they were given. It is BIP 173's P2WPKH example, in
// the regtest encoding.
const burnAddress = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080"

// Errors of Up that the caller branches on.
var (
	// ErrAlreadyRunning: every node of the network runs; up starts no
	// twin.
	ErrAlreadyRunning = errors.New("test network already running")
	// ErrNotReady: an earlier up did not finish building the network;
	// it can only be taken down.
	ErrNotReady = errors.New("test network was not completely built")
)

// UpConfig describes the network Up builds or resumes.
type UpConfig struct {
	// Dir holds the network: its state file and one data directory per
	// node.
	Dir string
	// Topology is the network to build; nil means the stored one for an
	// existing network, else a line of DefaultNodes nodes. Given for an
	// existing network, it must be the stored one.
	Topology *Topology
	// Binary is the flash executable the daemons run.
	Binary string
	// BlockInterval, when positive, starts an auto-miner process that
	// mines one block per interval until down.
	BlockInterval time.Duration
	// Progress receives one line per step; nil is quiet.
	Progress io.Writer
	// LogLevel is the daemons' log level; empty means info.
	LogLevel string
	// KillWithParent ties the processes' lives to the caller's (Linux
	// only), for tests. A network meant to outlive `up` must not set it.
	KillWithParent bool
	// Timeout bounds the whole up; zero means DefaultUpTimeout.
	Timeout time.Duration
}

// upRun is one execution of Up.
type upRun struct {
	cfg     UpConfig
	dir     string
	state   *State
	clients []*rpc.Client // by node index; nil when not running
	began   time.Time
}

// Up builds the network described by cfg in cfg.Dir, or restarts the
// nodes of a stopped one with their data, and returns its status once
// every channel is active on both ends.
//
// A network whose nodes all run yields ErrAlreadyRunning. A build that
// fails stops the nodes it started and leaves the directory for
// inspection and `down --purge`.
func Up(ctx context.Context, cfg UpConfig) (*NetworkStatus, error) {
	if cfg.Binary == "" {
		return nil, errors.New("testnet up: no flash binary")
	}
	if cfg.Dir == "" {
		return nil, errors.New("testnet up: no directory")
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("testnet up: %w", err)
	}
	if cfg.LogLevel == "" {
		cfg.LogLevel = "info"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultUpTimeout
	}
	if cfg.Progress == nil {
		cfg.Progress = io.Discard
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()

	r := &upRun{cfg: cfg, dir: dir, began: time.Now()}
	st, err := LoadState(dir)
	switch {
	case err == nil:
		r.state = st
		err = r.resume(ctx)
	case errors.Is(err, ErrNoNetwork):
		err = r.create(ctx)
	}
	for _, c := range r.clients {
		if c != nil {
			c.Close()
		}
	}
	if err != nil {
		return nil, fmt.Errorf("testnet up %s: %w", dir, err)
	}
	return Status(ctx, dir)
}

// progress narrates a step, with the time since up began.
func (r *upRun) progress(format string, args ...any) {
	elapsed := time.Since(r.began).Seconds()
	fmt.Fprintf(r.cfg.Progress, "[%5.1fs] "+format+"\n", append([]any{elapsed}, args...)...)
}

// resume restarts the nodes of an existing network that are down.
func (r *upRun) resume(ctx context.Context) error {
	st := r.state
	if !st.Ready {
		return fmt.Errorf("%w: take it down with `flash testnet down --purge`", ErrNotReady)
	}
	if r.cfg.Topology != nil && !reflect.DeepEqual(*r.cfg.Topology, st.Topology) {
		return errors.New("the network there has another topology; " +
			"take it down with `flash testnet down --purge` first")
	}
	// The caller's binary: the one recorded may be gone, as the
	// temporary build of `go run` is.
	st.Binary = r.cfg.Binary
	r.clients = make([]*rpc.Client, len(st.Nodes))
	var down []int
	for i, n := range st.Nodes {
		c, _, ok := connectRunning(ctx, r.dir, n)
		switch {
		case ok:
			r.clients[i] = c
		case livePID(r.dir, n) != 0:
			// A twin on the same data would fight it for the
			// database, or worse, for the channels.
			return fmt.Errorf("%s: process %d alive but its RPC does not answer "+
				"(see %s); stop it with `flash testnet down`", n.Name, livePID(r.dir, n),
				filepath.Join(nodeDir(r.dir, n.Name), LogFileName))
		default:
			down = append(down, i)
		}
	}
	minerRuns := processRuns(st.MinerPID, r.dir)
	if iv := Duration(r.cfg.BlockInterval); iv > 0 && iv != st.BlockInterval {
		// A new period replaces the running miner's.
		if minerRuns {
			if err := endProcess(ctx, st.MinerPID, r.dir, nil); err != nil {
				return fmt.Errorf("stop auto-miner: %w", err)
			}
			minerRuns = false
		}
		st.BlockInterval = iv
	}
	minerDown := st.BlockInterval > 0 && !minerRuns
	if len(down) == 0 && !minerDown {
		return ErrAlreadyRunning
	}
	for _, i := range down {
		name := st.Nodes[i].Name
		// Linked to the first node, or the first to the second: the
		// others keep dialling the address it binds again.
		var connect []string
		if i != 0 {
			connect = []string{st.Nodes[0].ChainListen}
		} else if len(st.Nodes) > 1 {
			connect = []string{st.Nodes[1].ChainListen}
		}
		r.progress("restarting %s", name)
		if err := r.startNode(ctx, i, connect); err != nil {
			// Keeps the pids of the nodes restarted so far for down.
			return errors.Join(err, st.save(r.dir))
		}
	}
	if err := st.save(r.dir); err != nil {
		return err
	}
	if err := r.waitSynced(ctx); err != nil {
		return err
	}
	if err := r.waitChannelsActive(ctx); err != nil {
		return err
	}
	if minerDown {
		return r.startMiner()
	}
	return nil
}

// create builds a new network.
func (r *upRun) create(ctx context.Context) error {
	topo := r.cfg.Topology
	if topo == nil {
		var err error
		if topo, err = LineTopology(DefaultNodes); err != nil {
			return err
		}
	}
	if err := topo.Validate(); err != nil {
		return err
	}
	if err := prepareDir(r.dir); err != nil {
		return err
	}
	r.state = &State{
		Version:       stateVersion,
		Binary:        r.cfg.Binary,
		Topology:      *topo,
		BlockInterval: Duration(r.cfg.BlockInterval),
		Nodes:         make([]NodeState, len(topo.Nodes)),
	}
	for i, n := range topo.Nodes {
		r.state.Nodes[i].Name = n.Name
	}
	// Written before the first process starts: down must be able to
	// find whatever a failed build leaves running.
	if err := r.state.save(r.dir); err != nil {
		return err
	}
	err := r.build(ctx)
	if err != nil {
		stopCtx, cancel := context.WithTimeout(context.Background(), DefaultStopTimeout)
		defer cancel()
		if derr := Down(stopCtx, r.dir, false); derr != nil {
			err = errors.Join(err, derr)
		}
		return fmt.Errorf("%w\n(the nodes' logs are in %s; `flash testnet down --purge` removes it)",
			err, r.dir)
	}
	return nil
}

// prepareDir makes dir, refusing one that already holds something: it
// is not ours to fill, nor, later, to purge.
func prepareDir(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return os.MkdirAll(dir, 0o700)
	case err != nil:
		return err
	case len(entries) > 0:
		return fmt.Errorf("%s is not empty and holds no %s: choose another directory",
			dir, StateFileName)
	}
	return nil
}

func (r *upRun) build(ctx context.Context) error {
	st := r.state
	r.clients = make([]*rpc.Client, len(st.Nodes))
	r.progress("starting %d nodes in %s", len(st.Nodes), r.dir)
	if err := r.startNode(ctx, 0, nil); err != nil {
		return err
	}
	err := r.parallel(len(st.Nodes)-1, func(j int) error {
		return r.startNode(ctx, j+1, []string{st.Nodes[0].ChainListen})
	})
	if err := errors.Join(err, st.save(r.dir)); err != nil {
		return err
	}
	if err := r.fund(ctx); err != nil {
		return err
	}
	if err := r.openChannels(ctx); err != nil {
		return err
	}
	if err := r.waitChannelsActive(ctx); err != nil {
		return err
	}
	st.Ready = true
	if err := st.save(r.dir); err != nil {
		return err
	}
	if r.cfg.BlockInterval > 0 {
		if err := r.startMiner(); err != nil {
			return err
		}
	}
	r.progress("network ready")
	return nil
}

// startNode starts node i and records what it bound.
func (r *upRun) startNode(ctx context.Context, i int, chainConnect []string) error {
	n := &r.state.Nodes[i]
	d, err := startDaemon(ctx, daemonSpec{
		binary:         r.state.Binary,
		dataDir:        nodeDir(r.dir, n.Name),
		alias:          r.state.Topology.Nodes[i].alias(),
		logLevel:       r.cfg.LogLevel,
		listen:         n.Listen,
		chainListen:    n.ChainListen,
		chainConnect:   chainConnect,
		killWithParent: r.cfg.KillWithParent,
		timeout:        DefaultStartTimeout,
	})
	if err != nil {
		return fmt.Errorf("start %s: %w", n.Name, err)
	}
	n.PID, n.NodeID, n.Listen, n.ChainListen = d.pid, d.nodeID, d.listen, d.chainListen
	r.clients[i] = d.client
	if n.ChainListen == "" {
		return fmt.Errorf("start %s: no chain listener reported", n.Name)
	}
	return nil
}

// parallel runs f(0..n-1) concurrently and joins their errors.
func (r *upRun) parallel(n int, f func(i int) error) error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f(i)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// mine mines n blocks on node i, paying address.
func (r *upRun) mine(ctx context.Context, i, n int, address string) error {
	for n > 0 {
		batch := min(n, rpc.MaxMineBlocks)
		res, err := r.clients[i].ChainMine(ctx, batch, address)
		if err != nil {
			return fmt.Errorf("%s: mine %d blocks: %w", r.state.Nodes[i].Name, batch, err)
		}
		if len(res.BlockHashes) != batch {
			return fmt.Errorf("%s: mined %d blocks of %d", r.state.Nodes[i].Name,
				len(res.BlockHashes), batch)
		}
		n -= batch
	}
	return nil
}

// height is node i's chain height.
func (r *upRun) height(ctx context.Context, i int) (int32, error) {
	info, err := r.clients[i].ChainInfo(ctx)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", r.state.Nodes[i].Name, err)
	}
	return info.Height, nil
}

// fund gives every node one coinbase per channel it funds, plus one, so
// that each opening spends a confirmed output of its own; then matures
// them, past segwit's activation.
func (r *upRun) fund(ctx context.Context) error {
	st := r.state
	// Every node gets as many as the busiest funder needs, so that
	// the table of balances starts even.
	funds := make(map[string]int)
	coinbases := 1
	for _, c := range st.Topology.Channels {
		funds[c.From]++
		coinbases = max(coinbases, 1+funds[c.From])
	}
	r.progress("funding %d wallets", len(st.Nodes))
	for i, n := range st.Nodes {
		addr, err := r.clients[i].NewAddress(ctx)
		if err != nil {
			return fmt.Errorf("%s: new address: %w", n.Name, err)
		}
		if err := r.mine(ctx, 0, coinbases, addr); err != nil {
			return err
		}
	}
	h, err := r.height(ctx, 0)
	if err != nil {
		return err
	}
	target := max(h+coinbaseMaturity, segwitHeight)
	r.progress("maturing the coinbases: mining to height %d", target)
	defer r.progress("every wallet funded")
	if err := r.mine(ctx, 0, int(target-h), burnAddress); err != nil {
		return err
	}
	if err := r.waitSynced(ctx); err != nil {
		return err
	}
	for i, n := range st.Nodes {
		bal, err := r.clients[i].Balance(ctx)
		if err != nil {
			return fmt.Errorf("%s: balance: %w", n.Name, err)
		}
		if bal.ConfirmedSat <= 0 {
			return fmt.Errorf("%s: wallet not funded: %+v", n.Name, bal)
		}
	}
	return nil
}

// waitSynced waits until every node has the same tip as the highest and
// its wallet has applied it.
func (r *upRun) waitSynced(ctx context.Context) error {
	var top int32
	for i := range r.clients {
		h, err := r.height(ctx, i)
		if err != nil {
			return err
		}
		top = max(top, h)
	}
	return r.parallel(len(r.clients), func(i int) error {
		name := r.state.Nodes[i].Name
		return WaitFor(ctx, waitTimeout, name+" synced", func(ctx context.Context) (bool, error) {
			info, err := r.clients[i].GetInfo(ctx)
			if err != nil {
				return false, err
			}
			return info.BlockHeight >= top && info.SyncedToChain, nil
		})
	})
}

// openChannels connects the peers of every channel, opens the channels
// and mines their confirmations.
func (r *upRun) openChannels(ctx context.Context) error {
	st := r.state
	if len(st.Topology.Channels) == 0 {
		return nil
	}
	index := make(map[string]int, len(st.Nodes))
	for i, n := range st.Nodes {
		index[n.Name] = i
	}
	r.progress("connecting peers")
	chans := st.Topology.Channels
	if err := r.parallel(len(chans), func(k int) error {
		from, to := index[chans[k].From], index[chans[k].To]
		return r.connectPeer(ctx, from, to)
	}); err != nil {
		return err
	}

	// Openings of one funder run in turn, funders in parallel.
	byFunder := make(map[int][]int)
	var funders []int
	for k, c := range chans {
		f := index[c.From]
		if _, ok := byFunder[f]; !ok {
			funders = append(funders, f)
		}
		byFunder[f] = append(byFunder[f], k)
		if c.HasPolicy() {
			r.progress("warning: channel %s→%s: fee policy not applied, "+
				"the node cannot set one yet", c.From, c.To)
		}
	}
	r.progress("opening %d channels", len(chans))
	st.Channels = make([]string, len(chans))
	if err := r.parallel(len(funders), func(j int) error {
		f := funders[j]
		for _, k := range byFunder[f] {
			c := chans[k]
			res, err := r.clients[f].ChannelOpen(ctx, rpc.ChannelOpenRequest{
				NodeID:    st.Nodes[index[c.To]].NodeID,
				AmountSat: c.CapacitySat,
				PushSat:   c.PushSat,
				Private:   c.Private,
			})
			if err != nil {
				return fmt.Errorf("open channel %s→%s: %w", c.From, c.To, err)
			}
			st.Channels[k] = res.ChannelPoint
		}
		return nil
	}); err != nil {
		return err
	}
	if err := st.save(r.dir); err != nil {
		return err
	}

	// Each funder mines a block itself: its funding transactions are in
	// its own mempool for sure, whatever the relay between nodes does.
	r.progress("confirming the channels")
	for _, f := range funders {
		if err := r.waitSynced(ctx); err != nil {
			return err
		}
		if err := r.mine(ctx, f, 1, burnAddress); err != nil {
			return err
		}
	}
	if err := r.waitSynced(ctx); err != nil {
		return err
	}
	if err := r.mine(ctx, 0, announceDepth-1, burnAddress); err != nil {
		return err
	}
	return r.waitSynced(ctx)
}

// connectPeer makes node from dial node to as a persistent peer and
// waits until it lists it.
func (r *upRun) connectPeer(ctx context.Context, from, to int) error {
	st := r.state
	uri := st.Nodes[to].NodeID + "@" + st.Nodes[to].Listen
	if err := r.clients[from].PeerConnect(ctx, uri); err != nil {
		return fmt.Errorf("%s: connect to %s: %w", st.Nodes[from].Name, st.Nodes[to].Name, err)
	}
	what := st.Nodes[from].Name + " peer " + st.Nodes[to].Name
	return WaitFor(ctx, waitTimeout, what, func(ctx context.Context) (bool, error) {
		res, err := r.clients[from].PeerList(ctx)
		if err != nil {
			return false, err
		}
		for _, p := range res.Peers {
			if p.NodeID == st.Nodes[to].NodeID {
				return true, nil
			}
		}
		return false, nil
	})
}

// waitChannelsActive waits until both ends of every channel list it
// active.
//
// The network is ready for payments between channel peers then; routing
// across several hops needs the gossip of the channels, which the nodes
// do not exchange yet, so no wait for it is possible here.
func (r *upRun) waitChannelsActive(ctx context.Context) error {
	st := r.state
	if len(st.Channels) == 0 || len(st.Channels) != len(st.Topology.Channels) {
		return nil // a network without channels
	}
	want := make([]map[string]bool, len(st.Nodes))
	index := make(map[string]int, len(st.Nodes))
	for i, n := range st.Nodes {
		index[n.Name] = i
		want[i] = make(map[string]bool)
	}
	for k, c := range st.Topology.Channels {
		want[index[c.From]][st.Channels[k]] = true
		want[index[c.To]][st.Channels[k]] = true
	}
	r.progress("waiting for %d channels to be active on both ends", len(st.Channels))
	return r.parallel(len(st.Nodes), func(i int) error {
		if len(want[i]) == 0 {
			return nil
		}
		var last []rpc.Channel
		err := WaitFor(ctx, waitTimeout, st.Nodes[i].Name+" channels active",
			func(ctx context.Context) (bool, error) {
				res, err := r.clients[i].ChannelList(ctx)
				if err != nil {
					return false, err
				}
				last = res.Channels
				active := 0
				for _, ch := range res.Channels {
					if want[i][ch.ChannelPoint] && ch.State == rpc.ChannelActive {
						active++
					}
				}
				return active == len(want[i]), nil
			})
		if err != nil {
			return fmt.Errorf("%w; channels listed: %+v", err, last)
		}
		return nil
	})
}
