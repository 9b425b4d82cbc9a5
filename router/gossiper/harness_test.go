package gossiper

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/router/gossip"
	"github.com/flash-ln/flash/router/graph"
	"go.etcd.io/bbolt"
)

var testChain = lnwire.ChainHash{0x06, 0x22, 0x6e, 0x46}

// fakeChain is a chain of funding outputs only.
type fakeChain struct {
	mu    sync.Mutex
	best  uint32
	txs   map[[2]uint32]chainhash.Hash
	utxos map[wire.OutPoint]*wire.TxOut
}

func newFakeChain() *fakeChain {
	return &fakeChain{best: 100, txs: make(map[[2]uint32]chainhash.Hash), utxos: make(map[wire.OutPoint]*wire.TxOut)}
}

func (c *fakeChain) TxIDAt(height, txIndex uint32) (chainhash.Hash, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if height > c.best {
		return chainhash.Hash{}, fmt.Errorf("no block %d", height)
	}
	h, ok := c.txs[[2]uint32{height, txIndex}]
	if !ok {
		return chainhash.Hash{}, fmt.Errorf("no tx %d in block %d", txIndex, height)
	}
	return h, nil
}

func (c *fakeChain) FetchUtxo(op wire.OutPoint) (*wire.TxOut, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.utxos[op], nil
}

func (c *fakeChain) BestHeight() uint32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.best
}

func (c *fakeChain) setBest(h uint32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.best = h
}

// fund puts an output paying pkScript at (height, index, 0).
func (c *fakeChain) fund(height, index uint32, pkScript []byte, value int64) (lnwire.ShortChannelID, wire.OutPoint) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b [8]byte
	binary.BigEndian.PutUint32(b[:], height)
	binary.BigEndian.PutUint32(b[4:], index)
	txid := chainhash.Hash(sha256.Sum256(b[:]))
	c.txs[[2]uint32{height, index}] = txid
	op := wire.OutPoint{Hash: txid, Index: 0}
	c.utxos[op] = &wire.TxOut{Value: value, PkScript: pkScript}
	return lnwire.ShortChannelID{BlockHeight: height, TxIndex: index}, op
}

func (c *fakeChain) spend(op wire.OutPoint) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.utxos, op)
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// delivery is one message in flight.
type delivery struct {
	from, to NodeID
	raw      []byte
}

// network connects gossipers through encoded messages, delivered when
// the test pumps it.
type network struct {
	t     testing.TB
	chain *fakeChain
	clock *fakeClock
	nodes map[NodeID]*node

	mu      sync.Mutex
	links   map[[2]NodeID]bool
	inFlows []delivery
	log     []delivery
	// drop, when set, loses the messages it returns true for.
	drop func(d delivery) bool
}

type node struct {
	id    NodeID
	key   *btcec.PrivateKey
	net   *network
	graph *graph.Graph
	g     *Gossiper
	name  string
	lim   Limits
}

func newNetwork(t testing.TB) *network {
	return &network{
		t: t, chain: newFakeChain(),
		clock: &fakeClock{now: time.Unix(1_700_000_000, 0)},
		nodes: make(map[NodeID]*node), links: make(map[[2]NodeID]bool),
	}
}

func (n *network) addNode(name string, lim Limits) *node {
	n.t.Helper()
	key, err := btcec.NewPrivateKey()
	if err != nil {
		n.t.Fatal(err)
	}
	db, err := bbolt.Open(filepath.Join(n.t.TempDir(), "graph.db"), 0o600, &bbolt.Options{NoSync: true})
	if err != nil {
		n.t.Fatal(err)
	}
	n.t.Cleanup(func() { db.Close() })
	gr, err := graph.Open(db, nil)
	if err != nil {
		n.t.Fatal(err)
	}
	nd := &node{id: gossip.NewNodeID(key.PubKey()), key: key, net: n, graph: gr, name: name, lim: lim}
	nd.start()
	n.nodes[nd.id] = nd
	return nd
}

// start gives the node a new gossiper over its graph, as a restart does.
func (nd *node) start() {
	g, err := New(Config{
		Graph: nd.graph, ChainHash: testChain, Chain: nd.net.chain, Peers: nd,
		NodeKey: KeySigner{Key: nd.key}, Node: NodeInfo{Alias: nd.name},
		Now: nd.net.clock.Now, Limits: nd.lim,
	})
	if err != nil {
		nd.net.t.Fatal(err)
	}
	nd.g = g
}

func linkKey(a, b NodeID) [2]NodeID {
	if b.Less(a) {
		a, b = b, a
	}
	return [2]NodeID{a, b}
}

// Send encodes msg and queues it, so every message crosses the codec.
func (nd *node) Send(peer NodeID, msg lnwire.Message) error {
	n := nd.net
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.links[linkKey(nd.id, peer)] {
		return fmt.Errorf("not connected to %v", peer)
	}
	raw, err := lnwire.EncodeMessage(msg)
	if err != nil {
		n.t.Errorf("encode %v: %v", msg.MsgType(), err)
		return err
	}
	d := delivery{from: nd.id, to: peer, raw: raw}
	if n.drop != nil && n.drop(d) {
		return nil
	}
	n.inFlows = append(n.inFlows, d)
	n.log = append(n.log, d)
	return nil
}

func (nd *node) Peers() []NodeID {
	n := nd.net
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []NodeID
	for k := range n.links {
		if k[0] == nd.id {
			out = append(out, k[1])
		} else if k[1] == nd.id {
			out = append(out, k[0])
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Less(out[j]) })
	return out
}

var gossipFeatures = lnwire.NewFeatureVector(lnwire.GossipQueries.Optional())

func (n *network) connect(a, b *node) {
	n.mu.Lock()
	n.links[linkKey(a.id, b.id)] = true
	n.mu.Unlock()
	a.g.PeerConnected(b.id, gossipFeatures)
	b.g.PeerConnected(a.id, gossipFeatures)
}

func (n *network) disconnect(a, b *node) {
	n.mu.Lock()
	delete(n.links, linkKey(a.id, b.id))
	n.mu.Unlock()
	a.g.PeerDisconnected(b.id)
	b.g.PeerDisconnected(a.id)
}

// pump delivers messages and ticks every node until nothing moves.
func (n *network) pump() {
	n.t.Helper()
	for round := 0; round < 200; round++ {
		n.mu.Lock()
		batch := n.inFlows
		n.inFlows = nil
		n.mu.Unlock()
		for _, d := range batch {
			msg, err := gossip.ParseMessage(d.raw)
			if err != nil {
				n.t.Fatalf("decode message from %v: %v", d.from, err)
			}
			to := n.nodes[d.to]
			res, err := to.g.HandleMessage(d.from, msg)
			if res.Penalty > 0 {
				n.t.Errorf("honest %v penalised by %v: %v", msg.MsgType(), d.to, err)
			}
		}
		for _, nd := range n.nodes {
			nd.g.Tick(n.clock.Now())
		}
		n.mu.Lock()
		idle := len(n.inFlows) == 0
		n.mu.Unlock()
		if idle {
			return
		}
	}
	n.t.Fatal("gossip did not settle")
}

// sent counts the logged messages of type t from one node to another.
func (n *network) sent(from, to *node, t lnwire.MessageType) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	c := 0
	for _, d := range n.log {
		if d.from == from.id && d.to == to.id && lnwire.MessageType(binary.BigEndian.Uint16(d.raw)) == t {
			c++
		}
	}
	return c
}

var testPolicy = Policy{FeeBaseMsat: 1000, FeeRatePPM: 100, CltvExpiryDelta: 40,
	HTLCMinimumMsat: 1, HTLCMaximumMsat: 900_000_000}

type testChannel struct {
	scid lnwire.ShortChannelID
	op   wire.OutPoint
	a, b *node
	// local is what a and b told their gossipers.
	local [2]LocalChannel
}

var nextTx uint32

// openChannel funds a channel between a and b in block 10 and registers
// it with both gossipers at the given depth.
func (n *network) openChannel(a, b *node, private bool, depth uint32) testChannel {
	n.t.Helper()
	ka, _ := btcec.NewPrivateKey()
	kb, _ := btcec.NewPrivateKey()
	script, err := gossip.FundingPkScript(gossip.NewNodeID(ka.PubKey()), gossip.NewNodeID(kb.PubKey()))
	if err != nil {
		n.t.Fatal(err)
	}
	nextTx++
	scid, op := n.chain.fund(10, nextTx, script, 1_000_000)
	cid := lnwire.NewChannelID(op)
	tc := testChannel{scid: scid, op: op, a: a, b: b}
	for i, side := range []struct {
		self, peer *node
		key        *btcec.PrivateKey
		peerKey    *btcec.PrivateKey
	}{{a, b, ka, kb}, {b, a, kb, ka}} {
		tc.local[i] = LocalChannel{
			ShortChannelID: scid, ChannelID: cid, Peer: side.peer.id,
			BitcoinKey: KeySigner{Key: side.key}, PeerBitcoinKey: gossip.NewNodeID(side.peerKey.PubKey()),
			Policy: testPolicy, Private: private,
		}
		if err := side.self.g.AnnounceChannel(tc.local[i]); err != nil {
			n.t.Fatal(err)
		}
		if err := side.self.g.ChannelDepth(scid, depth); err != nil {
			n.t.Fatal(err)
		}
	}
	return tc
}

// signedAnnouncement returns a valid announcement of a new funded
// channel between two fresh keys, with the keys.
func (n *network) signedAnnouncement(height uint32) (*gossip.ChannelAnnouncement, [2]*btcec.PrivateKey, wire.OutPoint) {
	n.t.Helper()
	var nodeKeys, btcKeys [2]*btcec.PrivateKey
	for i := range nodeKeys {
		nodeKeys[i], _ = btcec.NewPrivateKey()
		btcKeys[i], _ = btcec.NewPrivateKey()
	}
	id := func(k *btcec.PrivateKey) NodeID { return gossip.NewNodeID(k.PubKey()) }
	script, _ := gossip.FundingPkScript(id(btcKeys[0]), id(btcKeys[1]))
	nextTx++
	scid, op := n.chain.fund(height, nextTx, script, 500_000)
	ann := gossip.NewChannelAnnouncement(testChain, scid, nil, id(nodeKeys[0]), id(nodeKeys[1]), id(btcKeys[0]), id(btcKeys[1]))
	if ann.NodeID1 != id(nodeKeys[0]) {
		nodeKeys[0], nodeKeys[1] = nodeKeys[1], nodeKeys[0]
		btcKeys[0], btcKeys[1] = btcKeys[1], btcKeys[0]
	}
	for i := range nodeKeys {
		if _, _, err := ann.Sign(nodeKeys[i], btcKeys[i]); err != nil {
			n.t.Fatal(err)
		}
	}
	return ann, nodeKeys, op
}

func signedUpdate(t testing.TB, key *btcec.PrivateKey, scid lnwire.ShortChannelID, dir uint8, ts uint32, fee uint32) *gossip.ChannelUpdate {
	t.Helper()
	u := &gossip.ChannelUpdate{
		ChainHash: testChain, ShortChannelID: scid, Timestamp: ts,
		MessageFlags: gossip.MsgFlagMustBeOne, ChannelFlags: gossip.ChannelFlags(dir),
		CltvExpiryDelta: 40, HTLCMinimumMsat: 1, FeeBaseMsat: fee, HTLCMaximumMsat: 1_000_000,
	}
	if err := u.Sign(key); err != nil {
		t.Fatal(err)
	}
	return u
}

type keyT = btcec.PrivateKey

// wire0 returns the funding outpoint of an announcement made by
// signedAnnouncement.
func wire0(ann *gossip.ChannelAnnouncement, n *network) wire.OutPoint {
	txid, _ := n.chain.TxIDAt(ann.ShortChannelID.BlockHeight, ann.ShortChannelID.TxIndex)
	return wire.OutPoint{Hash: txid}
}
