package peer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/daemon/noise"
)

var regtest = *chaincfg.RegressionNetParams.GenesisHash

const waitTimeout = 15 * time.Second

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// recorder is a Handler that records what it is given.
type recorder struct {
	mu     sync.Mutex
	events []string // "+node" and "-node", in order
	msgs   map[nodeKey][]lnwire.Message
	peers  map[nodeKey]*Peer // most recent connection per node

	// gate, if set, is waited on before each message of the node in
	// gateNode is handled.
	gate     chan struct{}
	gateNode nodeKey
}

func newRecorder() *recorder {
	return &recorder{msgs: make(map[nodeKey][]lnwire.Message), peers: make(map[nodeKey]*Peer)}
}

func (r *recorder) PeerConnected(p *Peer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, "+"+p.String())
	r.peers[p.key] = p
}

func (r *recorder) HandleMessage(p *Peer, msg lnwire.Message) {
	r.mu.Lock()
	gate := r.gate
	gated := gate != nil && r.gateNode == p.key
	r.mu.Unlock()
	if gated {
		<-gate
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs[p.key] = append(r.msgs[p.key], msg)
}

func (r *recorder) PeerDisconnected(nodeID *btcec.PublicKey) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, "-"+hexKey(nodeID))
}

func (r *recorder) messages(pub *btcec.PublicKey) []lnwire.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]lnwire.Message(nil), r.msgs[keyOf(pub)]...)
}

func (r *recorder) peer(pub *btcec.PublicKey) *Peer {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.peers[keyOf(pub)]
}

func (r *recorder) eventList() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.events...)
}

// checkEvents verifies that connects and disconnects of each node alternate,
// starting with a connect.
func (r *recorder) checkEvents(t *testing.T) {
	t.Helper()
	up := make(map[string]bool)
	for _, e := range r.eventList() {
		node, connect := e[1:], e[0] == '+'
		if up[node] == connect {
			t.Fatalf("handler events out of order: %v", r.eventList())
		}
		up[node] = connect
	}
}

func hexKey(pub *btcec.PublicKey) string { return keyHex(pub) }

// testNode is a running Manager on 127.0.0.1.
type testNode struct {
	key   *btcec.PrivateKey
	store *MemoryStore
	h     *recorder
	m     *Manager
	addr  string
}

func (n *testNode) pub() *btcec.PublicKey { return n.key.PubKey() }

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return nil
}

func testConfig(t *testing.T, key *btcec.PrivateKey, h Handler, store PeerStore) Config {
	return Config{
		NodeKey:      key,
		ChainHash:    regtest,
		Handler:      h,
		Store:        store,
		InitTimeout:  5 * time.Second,
		PingInterval: 100 * time.Millisecond,
		PongTimeout:  2 * time.Second,
		// Our own pings come far faster than in production; the
		// peer's limit must allow them.
		PingRefill:   10 * time.Millisecond,
		WriteTimeout: 5 * time.Second,
		MinBackoff:   10 * time.Millisecond,
		MaxBackoff:   200 * time.Millisecond,
		StableAfter:  time.Second,
		Logger:       testLogger(t),
	}
}

// startNode starts a node listening on addr ("" for a free port).
func startNode(t *testing.T, key *btcec.PrivateKey, store *MemoryStore, addr string,
	opts ...func(*Config)) *testNode {

	t.Helper()
	if key == nil {
		var err error
		if key, err = btcec.NewPrivateKey(); err != nil {
			t.Fatal(err)
		}
	}
	if store == nil {
		store = NewMemoryStore()
	}
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var ln net.Listener
	var err error
	// A port just released by a stopped node may linger briefly.
	waitFor(t, "listen on "+addr, func() bool {
		ln, err = net.Listen("tcp", addr)
		return err == nil
	})
	n := &testNode{key: key, store: store, h: newRecorder()}
	cfg := testConfig(t, key, n.h, store)
	cfg.Listener = ln
	for _, o := range opts {
		o(&cfg)
	}
	n.m, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.m.Start(); err != nil {
		t.Fatal(err)
	}
	n.addr = n.m.Addr().String()
	t.Cleanup(func() { n.m.Stop() })
	return n
}

// noPings keeps a node from pinging, for tests whose raw peers do not
// answer pings and must stay connected however slow the machine.
func noPings(c *Config) { c.PingInterval = time.Hour }

func connected(n *testNode, to *btcec.PublicKey) bool {
	_, ok := n.m.Peer(to)
	return ok
}

func connect(t *testing.T, from, to *testNode, permanent bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := from.m.Connect(ctx, to.pub(), to.addr, permanent); err != nil {
		t.Fatalf("connect: %v", err)
	}
	waitFor(t, "both sides connected", func() bool {
		return connected(from, to.pub()) && connected(to, from.pub())
	})
}

// rawPeer is a hand-driven BOLT 8 connection, for playing a misbehaving
// node.
type rawPeer struct {
	t   *testing.T
	key *btcec.PrivateKey
	c   *noise.Conn
}

func dialRaw(t *testing.T, to *testNode) *rawPeer {
	t.Helper()
	key, err := btcec.NewPrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	c, err := noise.Dial(ctx, key, to.pub(), to.addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawPeer{t: t, key: key, c: c}
}

func (r *rawPeer) pub() *btcec.PublicKey { return r.key.PubKey() }

func (r *rawPeer) send(msg lnwire.Message) {
	r.t.Helper()
	b, err := lnwire.EncodeMessage(msg)
	if err != nil {
		r.t.Fatal(err)
	}
	r.sendRaw(b)
}

func (r *rawPeer) sendRaw(b []byte) {
	r.t.Helper()
	if err := r.c.WriteMessage(b); err != nil {
		r.t.Fatalf("raw write: %v", err)
	}
}

// init sends a valid init and reads the node's.
func (r *rawPeer) init() {
	r.t.Helper()
	r.send(&lnwire.Init{Features: *DefaultFeatures(), Networks: []lnwire.ChainHash{lnwire.ChainHash(regtest)}})
	msg := r.read()
	if _, ok := msg.(*lnwire.Init); !ok {
		r.t.Fatalf("expected init, got %T", msg)
	}
}

func (r *rawPeer) read() lnwire.Message {
	r.t.Helper()
	msg, err := r.tryRead()
	if err != nil {
		r.t.Fatalf("raw read: %v", err)
	}
	return msg
}

func (r *rawPeer) tryRead() (lnwire.Message, error) {
	r.c.SetReadDeadline(time.Now().Add(waitTimeout))
	b, err := r.c.ReadMessage()
	if err != nil {
		return nil, err
	}
	return lnwire.ParseMessage(b)
}

// readUntilClosed reads until the node closes the connection and returns
// what it sent meanwhile, pings excluded.
func (r *rawPeer) readUntilClosed() []lnwire.Message {
	r.t.Helper()
	var got []lnwire.Message
	deadline := time.Now().Add(waitTimeout)
	for {
		if time.Now().After(deadline) {
			r.t.Fatalf("connection not closed; got %v", describe(got))
		}
		msg, err := r.tryRead()
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				r.t.Fatalf("connection not closed; got %v", describe(got))
			}
			return got
		}
		if _, ok := msg.(*lnwire.Ping); !ok {
			got = append(got, msg)
		}
	}
}

func describe(msgs []lnwire.Message) string {
	s := ""
	for _, m := range msgs {
		s += fmt.Sprintf("%s ", m.MsgType())
	}
	return s
}

func hasWarning(msgs []lnwire.Message) bool {
	for _, m := range msgs {
		if _, ok := m.(*lnwire.Warning); ok {
			return true
		}
	}
	return false
}
