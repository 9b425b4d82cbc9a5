package peer

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/daemon/noise"
)

// errStopping is the reason connections close when the Manager stops.
var errStopping = errors.New("peer manager stopping")

// Info describes a connected peer.
type Info struct {
	NodeID      *btcec.PublicKey
	Address     string
	Inbound     bool
	Features    *lnwire.FeatureVector
	ConnectedAt time.Time
}

// Manager owns every peer connection of a node; see the package
// documentation. Its methods are safe for concurrent use.
type Manager struct {
	cfg      Config
	log      *slog.Logger
	localPub *btcec.PublicKey
	localKey nodeKey
	initSem  chan struct{}

	ctx    context.Context // cancelled by Stop
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	state    int // stateNew, stateRunning or stateStopped
	listener *noise.Listener
	// active holds the live connection per node; latest the most recent
	// connection per node until its Handler calls are over, so that the
	// next one can wait for them.
	active     map[nodeKey]*Peer
	latest     map[nodeKey]*Peer
	dialing    map[nodeKey]*dialAttempt
	persistent map[nodeKey]*persistentPeer

	// redialers counts the running redial goroutines, for tests.
	redialers atomic.Int32
}

const (
	stateNew = iota
	stateRunning
	stateStopped
)

// dialAttempt lets concurrent Connects to one node share a single dial.
type dialAttempt struct {
	done chan struct{}
	err  error
}

// New returns a Manager; Start sets it running.
func New(cfg Config) (*Manager, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	pub := cfg.NodeKey.PubKey()
	return &Manager{
		cfg:        cfg,
		log:        cfg.Logger,
		localPub:   pub,
		localKey:   keyOf(pub),
		initSem:    make(chan struct{}, cfg.MaxPendingInits),
		ctx:        ctx,
		cancel:     cancel,
		active:     make(map[nodeKey]*Peer),
		latest:     make(map[nodeKey]*Peer),
		dialing:    make(map[nodeKey]*dialAttempt),
		persistent: make(map[nodeKey]*persistentPeer),
	}, nil
}

// NodeID returns our node id.
func (m *Manager) NodeID() *btcec.PublicKey { return m.localPub }

// Addr returns the address inbound connections arrive on, or nil without a
// listener or before Start.
func (m *Manager) Addr() net.Addr {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.listener == nil {
		return nil
	}
	return m.listener.Addr()
}

// Start opens the listener, begins accepting, and starts redialling the
// persistent peers of the store. A Manager runs once: after Stop, make a new
// one.
func (m *Manager) Start() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.state != stateNew {
		return fmt.Errorf("start: %w", ErrNotRunning)
	}
	stored, err := m.cfg.Store.Load()
	if err != nil {
		return fmt.Errorf("load persistent peers: %w", err)
	}
	ln := m.cfg.Listener
	if ln == nil && m.cfg.ListenAddr != "" {
		if ln, err = net.Listen("tcp", m.cfg.ListenAddr); err != nil {
			return fmt.Errorf("listen: %w", err)
		}
	}
	if ln != nil {
		m.listener, err = noise.NewListener(ln, m.cfg.NodeKey, noise.ListenerConfig{
			HandshakeTimeout: m.cfg.InitTimeout,
			Logger:           m.log,
		})
		if err != nil {
			ln.Close()
			return fmt.Errorf("listen: %w", err)
		}
		m.wg.Add(1)
		go m.acceptLoop(m.listener)
	}
	m.state = stateRunning
	for _, pp := range stored {
		if pp.NodeID == nil || keyOf(pp.NodeID) == m.localKey {
			continue
		}
		m.addPersistentLocked(pp, true)
	}
	listen := "none"
	if m.listener != nil {
		listen = m.listener.Addr().String()
	}
	m.log.Info("peer manager started", "node_id", hex.EncodeToString(m.localKey[:]),
		"listen", listen, "persistent_peers", len(m.persistent))
	return nil
}

// Stop closes the listener and every connection, stops redialling, and
// returns once the Handler has seen PeerDisconnected for every peer.
func (m *Manager) Stop() error {
	m.mu.Lock()
	if m.state != stateRunning {
		m.state = stateStopped
		m.mu.Unlock()
		m.cancel()
		return nil
	}
	m.state = stateStopped
	peers := make([]*Peer, 0, len(m.active))
	for _, p := range m.active {
		peers = append(peers, p)
	}
	ln := m.listener
	m.mu.Unlock()

	m.cancel()
	var err error
	if ln != nil {
		err = ln.Close()
	}
	for _, p := range peers {
		p.close(errStopping)
	}
	m.wg.Wait()
	m.log.Info("peer manager stopped")
	return err
}

// Connect connects to the node at addr (host:port) unless it is connected
// already, and returns once the init exchange has succeeded or failed. With
// permanent set the peer is stored and redialled whenever it drops; a peer
// is stored only after a successful connection.
//
// Errors wrap ErrDialFailed, ErrHandshakeFailed, ErrInitFailed,
// ErrIncompatibleFeatures, ErrWrongChain, ErrSelfConnect or ErrNotRunning.
func (m *Manager) Connect(ctx context.Context, nodeID *btcec.PublicKey, addr string, permanent bool) error {
	if nodeID == nil {
		return errors.New("connect: no node id")
	}
	if keyOf(nodeID) == m.localKey {
		return fmt.Errorf("connect %s: %w", addr, ErrSelfConnect)
	}
	if err := m.connect(ctx, nodeID, addr); err != nil {
		return err
	}
	if !permanent {
		return nil
	}
	pp := PersistentPeer{NodeID: nodeID, Address: addr}
	if err := m.cfg.Store.Save(pp); err != nil {
		return fmt.Errorf("connect %x: save persistent peer: %w",
			nodeID.SerializeCompressed(), err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.state != stateRunning {
		return fmt.Errorf("connect: %w", ErrNotRunning)
	}
	m.addPersistentLocked(pp, false)
	return nil
}

// connect dials the node unless it is connected or being dialled.
func (m *Manager) connect(ctx context.Context, pub *btcec.PublicKey, addr string) error {
	key := keyOf(pub)
	m.mu.Lock()
	if m.state != stateRunning {
		m.mu.Unlock()
		return fmt.Errorf("connect: %w", ErrNotRunning)
	}
	if p := m.active[key]; p != nil && p.alive() {
		m.mu.Unlock()
		return nil
	}
	if a := m.dialing[key]; a != nil {
		m.mu.Unlock()
		select {
		case <-a.done:
			return a.err
		case <-ctx.Done():
			return fmt.Errorf("connect %x@%s: %w", key[:], addr, context.Cause(ctx))
		}
	}
	a := &dialAttempt{done: make(chan struct{})}
	m.dialing[key] = a
	m.mu.Unlock()

	a.err = m.dial(ctx, pub, addr)

	m.mu.Lock()
	delete(m.dialing, key)
	m.mu.Unlock()
	close(a.done)
	return a.err
}

// dial opens, authenticates and initialises one outbound connection.
func (m *Manager) dial(ctx context.Context, pub *btcec.PublicKey, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, m.cfg.InitTimeout)
	defer cancel()
	stop := context.AfterFunc(m.ctx, cancel)
	defer stop()

	id := hex.EncodeToString(pub.SerializeCompressed())
	nc, err := m.cfg.Dial(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("connect %s@%s: %w: %w", id, addr, ErrDialFailed, err)
	}
	c, err := noise.Client(ctx, nc, m.cfg.NodeKey, pub)
	if err != nil {
		return fmt.Errorf("connect %s@%s: %w: %w", id, addr, ErrHandshakeFailed, err)
	}
	if err := m.setup(ctx, c, pub, false, addr, nil); err != nil {
		return fmt.Errorf("connect %s@%s: %w", id, addr, err)
	}
	return nil
}

// acceptLoop takes authenticated inbound connections and runs their init
// exchange, a bounded number at a time.
func (m *Manager) acceptLoop(l *noise.Listener) {
	defer m.wg.Done()
	for {
		c, err := l.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				m.log.Error("accept failed", "err", err)
			}
			return
		}
		select {
		case m.initSem <- struct{}{}:
		default:
			m.log.Debug("too many connections in init, dropping one",
				"remote", c.RemoteAddr())
			c.Close()
			continue
		}
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			defer func() { <-m.initSem }()
			ctx, cancel := context.WithTimeout(m.ctx, m.cfg.InitTimeout)
			defer cancel()
			addr := c.RemoteAddr().String()
			err := m.setup(ctx, c, c.RemotePub(), true, addr, remoteAddrTLV(c.RemoteAddr()))
			if err != nil {
				m.log.Debug("inbound connection failed", "remote", addr, "err", err)
			}
		}()
	}
}

// register makes p the node's connection, or closes it if the node's
// current connection is the one to keep (see the package documentation).
func (m *Manager) register(ctx context.Context, p *Peer) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.state != stateRunning {
		p.conn.Close()
		return fmt.Errorf("register peer: %w", ErrNotRunning)
	}
	if err := ctx.Err(); err != nil {
		// Disconnect cancels a persistent peer's dial under m.mu, so
		// this check keeps a dial that completed meanwhile from
		// reconnecting the peer.
		p.conn.Close()
		return fmt.Errorf("%w: %w", ErrInitFailed, context.Cause(ctx))
	}
	if old := m.active[p.key]; old != nil && old.alive() {
		if !keepNew(m.localKey, p.key, !p.inbound, !old.inbound) {
			p.log.Debug("closing duplicate connection, keeping the existing one")
			p.conn.Close()
			return nil
		}
		old.log.Debug("replacing connection with a newer one")
		old.close(ErrReplaced)
	}
	prev := m.latest[p.key]
	m.active[p.key] = p
	m.latest[p.key] = p
	p.log.Info("peer connected", "addr", p.addr, "features", p.features)
	m.wg.Add(1)
	go m.runPeer(p, prev)
	return nil
}

// keepNew decides between a new and an existing connection to the same
// node, given which of them we opened. Both ends reach the same answer.
func keepNew(local, remote nodeKey, newOutbound, oldOutbound bool) bool {
	if newOutbound == oldOutbound {
		// Opened by the same node, which would only dial again
		// once it gave up on the old connection.
		return true
	}
	// Opened by different nodes: the smaller node id's connection wins.
	localSmaller := bytes.Compare(local[:], remote[:]) < 0
	return newOutbound == localSmaller
}

// runPeer runs a registered connection to its end, then reports it gone.
func (m *Manager) runPeer(p *Peer, prev *Peer) {
	defer m.wg.Done()
	var wg sync.WaitGroup
	wg.Add(4)
	go func() { defer wg.Done(); p.readLoop() }()
	go func() { defer wg.Done(); p.writeLoop() }()
	go func() { defer wg.Done(); p.pingLoop() }()
	go func() {
		defer wg.Done()
		<-p.quit
		m.mu.Lock()
		if m.active[p.key] == p {
			delete(m.active, p.key)
		}
		m.mu.Unlock()
	}()
	p.dispatch(m.cfg.Handler, prev)
	wg.Wait()
	p.log.Info("peer disconnected", "reason", p.Err())
	m.cfg.Handler.PeerDisconnected(p.pub)

	m.mu.Lock()
	if m.latest[p.key] == p {
		delete(m.latest, p.key)
	}
	m.mu.Unlock()
	close(p.finished)
}

// Disconnect closes the connection to the node and, if it is persistent,
// forgets it so that it is not redialled. It returns ErrNotConnected for a
// node that is neither connected nor persistent.
func (m *Manager) Disconnect(nodeID *btcec.PublicKey) error {
	key := keyOf(nodeID)
	m.mu.Lock()
	pp := m.persistent[key]
	if pp != nil {
		pp.cancel()
		delete(m.persistent, key)
	}
	p := m.active[key]
	m.mu.Unlock()

	var err error
	if pp != nil {
		if err = m.cfg.Store.Delete(nodeID); err != nil {
			err = fmt.Errorf("disconnect %x: forget persistent peer: %w", key[:], err)
		}
	}
	if p == nil || !p.alive() {
		if pp == nil {
			return fmt.Errorf("disconnect %x: %w", key[:], ErrNotConnected)
		}
	}
	if p != nil {
		p.close(ErrDisconnectRequested)
	}
	return err
}

// Peer returns the node's live connection.
func (m *Manager) Peer(nodeID *btcec.PublicKey) (*Peer, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.active[keyOf(nodeID)]
	if p == nil || !p.alive() {
		return nil, false
	}
	return p, true
}

// Peers lists the connected peers, ordered by node id.
func (m *Manager) Peers() []Info {
	m.mu.Lock()
	peers := make([]*Peer, 0, len(m.active))
	for _, p := range m.active {
		if p.alive() {
			peers = append(peers, p)
		}
	}
	m.mu.Unlock()
	slices.SortFunc(peers, func(a, b *Peer) int { return bytes.Compare(a.key[:], b.key[:]) })
	out := make([]Info, len(peers))
	for i, p := range peers {
		out[i] = Info{
			NodeID:      p.pub,
			Address:     p.addr,
			Inbound:     p.inbound,
			Features:    p.Features(),
			ConnectedAt: p.connectedAt,
		}
	}
	return out
}

// Send queues msg for the node; see Peer.Send.
func (m *Manager) Send(ctx context.Context, nodeID *btcec.PublicKey, msg lnwire.Message) error {
	p, ok := m.Peer(nodeID)
	if !ok {
		return fmt.Errorf("send %s to %x: %w", msg.MsgType(),
			nodeID.SerializeCompressed(), ErrNotConnected)
	}
	return p.Send(ctx, msg)
}
