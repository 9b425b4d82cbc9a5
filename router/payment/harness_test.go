package payment

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/rand"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"go.etcd.io/bbolt"

	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/htlc/invoice"
	"github.com/flash-ln/flash/htlc/onion"
	"github.com/flash-ln/flash/router/gossip"
	"github.com/flash-ln/flash/router/graph"
	"github.com/flash-ln/flash/router/pathfind"
)

var testChain = lnwire.ChainHash{0x0f, 0x91, 0x88}

// baseTime is the tests' clock: channel_updates must not lie far in its
// future.
var baseTime = time.Unix(1_750_000_000, 0).UTC()

const testHeight = 800_000

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// node is a test node with a real key, so onions and signatures work.
type node struct {
	name string
	key  *btcec.PrivateKey
	id   graph.NodeID
}

func newNode(name string, seed byte) *node {
	var b [32]byte
	b[0], b[31] = 0x42, seed
	k, _ := btcec.PrivKeyFromBytes(b[:])
	return &node{name: name, key: k, id: gossip.NewNodeID(k.PubKey())}
}

// network is a diamond of real keys:
//
//	alice -1- bob   -2- dave
//	alice -3- carol -4- dave
//
// bob's side is cheaper; erin exists but has no channel.
type network struct {
	t                             testing.TB
	alice, bob, carol, dave, erin *node
	nodes                         map[graph.NodeID]*node
	g                             *graph.Graph
	ts                            uint32 // last channel_update timestamp
	// private channels are known to the fake network but not the graph,
	// like those of route hints.
	private map[lnwire.ShortChannelID][2]*node
}

func scid(n uint32) lnwire.ShortChannelID {
	return lnwire.ShortChannelID{BlockHeight: 700_000 + n, TxIndex: 1}
}

func newNetwork(t testing.TB) *network {
	n := &network{
		t:     t,
		alice: newNode("alice", 1), bob: newNode("bob", 2), carol: newNode("carol", 3),
		dave: newNode("dave", 4), erin: newNode("erin", 5),
		g:  graph.New(nil),
		ts: uint32(baseTime.Unix()) - 1000,
	}
	n.nodes = map[graph.NodeID]*node{}
	n.private = map[lnwire.ShortChannelID][2]*node{}
	for _, x := range []*node{n.alice, n.bob, n.carol, n.dave, n.erin} {
		n.nodes[x.id] = x
	}
	n.channel(1, n.alice, n.bob, 1_000_000)
	n.channel(2, n.bob, n.dave, 1_000_000)
	n.channel(3, n.alice, n.carol, 1_000_000)
	n.channel(4, n.carol, n.dave, 1_000_000)
	// Fees: bob charges 1000 msat + 100 ppm, carol 5000 msat + 1000 ppm.
	for _, c := range []struct {
		id       uint32
		a, b     *node
		base     uint32
		ppm      uint32
		dx, dy   uint16
		baseBack uint32
	}{
		{1, n.alice, n.bob, 0, 0, 40, 40, 1000},
		{2, n.bob, n.dave, 1000, 100, 40, 40, 1000},
		{3, n.alice, n.carol, 0, 0, 40, 40, 1000},
		{4, n.carol, n.dave, 5000, 1000, 40, 40, 1000},
	} {
		n.policy(c.id, c.a, c.base, c.ppm, c.dx)
		n.policy(c.id, c.b, c.baseBack, 0, c.dy)
	}
	return n
}

func (n *network) channel(id uint32, a, b *node, capSat int64) {
	ann := gossip.NewChannelAnnouncement(testChain, scid(id), nil, a.id, b.id, a.id, b.id)
	var f gossip.Funding
	f.OutPoint.Index = id
	f.Capacity = capSat
	if err := n.g.AddChannel(ann, f); err != nil {
		n.t.Fatal(err)
	}
}

// signedUpdate builds from's channel_update for channel id, signed, with
// a timestamp later than any before.
func (n *network) signedUpdate(id uint32, from *node, base, ppm uint32, delta uint16) *gossip.ChannelUpdate {
	n1, _, ok := n.g.ChannelNodes(scid(id))
	if !ok {
		n.t.Fatalf("no channel %d", id)
	}
	var flags gossip.ChannelFlags
	if from.id != n1 {
		flags = 1
	}
	n.ts++
	u := &gossip.ChannelUpdate{
		ChainHash:                 testChain,
		ShortChannelID:            scid(id),
		Timestamp:                 n.ts,
		MessageFlags:              gossip.MsgFlagMustBeOne,
		ChannelFlags:              flags,
		CltvExpiryDelta:           delta,
		HTLCMinimumMsat:           1,
		FeeBaseMsat:               base,
		FeeProportionalMillionths: ppm,
		HTLCMaximumMsat:           lnwire.NewMSatFromSatoshis(1_000_000),
	}
	if err := u.Sign(from.key); err != nil {
		n.t.Fatal(err)
	}
	return u
}

func (n *network) policy(id uint32, from *node, base, ppm uint32, delta uint16) {
	if err := n.g.ApplyChannelUpdate(n.signedUpdate(id, from, base, ppm, delta)); err != nil {
		n.t.Fatal(err)
	}
}

// wireUpdate is a channel_update as a failure carries it: with its type.
func wireUpdate(t testing.TB, u *gossip.ChannelUpdate) []byte {
	var b bytes.Buffer
	b.Write(binary.BigEndian.AppendUint16(nil, uint16(lnwire.MsgChannelUpdate)))
	if err := u.Encode(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// peer returns the node at the other end of channel c from n.
func (n *network) peer(c lnwire.ShortChannelID, from graph.NodeID) (*node, bool) {
	if p, ok := n.private[c]; ok {
		switch from {
		case p[0].id:
			return p[1], true
		case p[1].id:
			return p[0], true
		}
		return nil, false
	}
	n1, n2, ok := n.g.ChannelNodes(c)
	switch {
	case !ok:
		return nil, false
	case n1 == from:
		return n.nodes[n2], true
	case n2 == from:
		return n.nodes[n1], true
	}
	return nil, false
}

// hopView is what a node saw of an HTLC.
type hopView struct {
	node    *node
	amount  lnwire.MilliSatoshi
	expiry  uint32
	payload *onion.Payload
	final   bool
}

// fakeNet is the Sender: it carries each HTLC through real onion
// processing at every hop and answers with a settlement or a failure
// encrypted at the failing hop and wrapped on the way back.
type fakeNet struct {
	t       testing.TB
	net     *network
	routers map[graph.NodeID]*onion.Router

	mu sync.Mutex
	// fail decides, at each hop, whether it fails the HTLC; nil passes.
	fail func(attempt int, hop hopView) onion.FailureMessage
	// invoices maps a payment hash to the payee's preimage and secret.
	invoices map[[32]byte]testInvoice
	// hold keeps results instead of delivering them.
	hold    bool
	held    []Result
	sent    []*HTLC
	views   [][]hopView
	payer   *Payer
	sendErr error
	onSend  func()
}

type testInvoice struct {
	preimage [32]byte
	secret   [32]byte
}

func newFakeNet(t testing.TB, n *network) *fakeNet {
	f := &fakeNet{t: t, net: n, routers: map[graph.NodeID]*onion.Router{}, invoices: map[[32]byte]testInvoice{}}
	for id, x := range n.nodes {
		r, err := onion.NewRouter(x.key, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(r.Stop)
		f.routers[id] = r
	}
	return f
}

func (f *fakeNet) SendHTLC(_ context.Context, h *HTLC) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.onSend != nil {
		f.onSend()
	}
	if f.sendErr != nil {
		return f.sendErr
	}
	f.sent = append(f.sent, h)
	res, views := f.carry(len(f.sent)-1, h)
	f.views = append(f.views, views)
	if f.hold {
		f.held = append(f.held, res)
		return nil
	}
	p := f.payer
	go func() {
		if err := p.HandleResult(res); err != nil {
			f.t.Errorf("HandleResult: %v", err)
		}
	}()
	return nil
}

// carry runs the HTLC along its onion.
func (f *fakeNet) carry(attempt int, h *HTLC) (Result, []hopView) {
	t := f.t
	res := Result{AttemptID: h.AttemptID, PaymentHash: h.PaymentHash}
	at, ok := f.net.peer(h.ShortChannelID, f.net.alice.id)
	if !ok {
		t.Fatalf("first hop %v is not alice's channel", h.ShortChannelID)
	}
	pkt, amt, expiry := h.Onion, h.AmountMsat, h.Expiry
	var encs []*onion.ErrorEncrypter
	var views []hopView
	failWith := func(msg onion.FailureMessage) (Result, []hopView) {
		reason := encs[len(encs)-1].EncryptFailure(msg)
		for i := len(encs) - 2; i >= 0; i-- {
			reason = encs[i].Wrap(reason)
		}
		res.Reason = reason
		return res, views
	}
	for {
		r := f.routers[at.id]
		ph, err := r.Process(pkt[:], h.PaymentHash[:], expiry)
		if err != nil {
			t.Fatalf("%s cannot process the onion: %v", at.name, err)
		}
		enc, err := r.ErrorEncrypter(ph.EphemeralKey)
		if err != nil {
			t.Fatal(err)
		}
		// The encrypter a node restores from its stored secret must do
		// the same as the live one.
		encs = append(encs, onion.NewErrorEncrypterFromSecret(enc.SharedSecret()))
		v := hopView{node: at, amount: amt, expiry: expiry, payload: ph.Payload, final: ph.Final}
		views = append(views, v)
		if f.fail != nil {
			if msg := f.fail(attempt, v); msg != nil {
				return failWith(msg)
			}
		}
		if ph.Final {
			if ph.Payload.AmtToForward != amt || ph.Payload.OutgoingCLTV != expiry {
				return failWith(&onion.FinalIncorrectHtlcAmount{IncomingHtlcAmt: amt})
			}
			if ph.Payload.KeysendPreimage != nil {
				pre := *ph.Payload.KeysendPreimage
				if sha256.Sum256(pre[:]) != h.PaymentHash {
					return failWith(&onion.IncorrectOrUnknownPaymentDetails{HtlcMsat: amt, Height: testHeight})
				}
				res.Preimage = &pre
				return res, views
			}
			inv, ok := f.invoices[h.PaymentHash]
			if !ok || ph.Payload.PaymentData == nil || ph.Payload.PaymentData.PaymentSecret != inv.secret ||
				ph.Payload.PaymentData.TotalMsat != amt {
				return failWith(&onion.IncorrectOrUnknownPaymentDetails{HtlcMsat: amt, Height: testHeight})
			}
			pre := inv.preimage
			res.Preimage = &pre
			return res, views
		}
		next, ok := f.net.peer(*ph.Payload.ShortChannelID, at.id)
		if !ok {
			return failWith(&onion.UnknownNextPeer{})
		}
		at, pkt, amt, expiry = next, ph.NextPacket, ph.Payload.AmtToForward, ph.Payload.OutgoingCLTV
	}
}

func (f *fakeNet) numSent() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.sent)
}

// harness ties a payer to the fake network.
type harness struct {
	t       testing.TB
	net     *network
	fake    *fakeNet
	clock   *clock
	mission *pathfind.MissionControl
	dbPath  string
	db      *bbolt.DB
	payer   *Payer
}

func newHarness(t testing.TB) *harness {
	n := newNetwork(t)
	h := &harness{
		t:       t,
		net:     n,
		fake:    newFakeNet(t, n),
		clock:   &clock{now: baseTime},
		mission: pathfind.NewMissionControl(pathfind.DefaultMissionConfig()),
		dbPath:  filepath.Join(t.TempDir(), "payments.db"),
	}
	h.open()
	return h
}

func (h *harness) open() {
	db, err := bbolt.Open(h.dbPath, 0o600, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { db.Close() })
	p, err := New(Config{
		DB:      db,
		Graph:   h.net.g,
		Mission: h.mission,
		Self:    h.net.alice.id,
		Chain:   testChain,
		Sender:  h.fake,
		Height:  func() uint32 { return testHeight },
		Now:     h.clock.Now,
		Rand:    rand.New(rand.NewSource(int64(len(h.dbPath)))),
	})
	if err != nil {
		h.t.Fatal(err)
	}
	h.db, h.payer = db, p
	h.fake.mu.Lock()
	h.fake.payer = p
	h.fake.mu.Unlock()
}

// reopen simulates a restart: the database is closed and opened again
// and a new Payer is built on it.
func (h *harness) reopen() {
	if err := h.db.Close(); err != nil {
		h.t.Fatal(err)
	}
	h.open()
}

// invoice makes dave's invoice for amt msat.
func (h *harness) invoice(amt lnwire.MilliSatoshi, seed byte) *invoice.Invoice {
	var pre, secret [32]byte
	pre[0], secret[0] = seed, seed+100
	hash := sha256.Sum256(pre[:])
	h.fake.mu.Lock()
	h.fake.invoices[hash] = testInvoice{preimage: pre, secret: secret}
	h.fake.mu.Unlock()
	inv := &invoice.Invoice{
		Timestamp:     h.clock.Now().Add(-time.Minute),
		PaymentHash:   hash,
		PaymentSecret: secret,
		Payee:         h.net.dave.key.PubKey(),
		Expiry:        time.Hour,

		MinFinalCLTVExpiryDelta: 40,
	}
	if amt != 0 {
		inv.Amount = &amt
	}
	return inv
}

func (h *harness) pay(req *Request) *Payment {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pay, err := h.payer.Pay(ctx, req)
	if err != nil {
		h.t.Fatalf("pay: %v", err)
	}
	return pay
}

func names(n *network, ids []graph.NodeID) string {
	var b bytes.Buffer
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		if x, ok := n.nodes[id]; ok {
			b.WriteString(x.name)
		} else {
			fmt.Fprintf(&b, "%x", id[:4])
		}
	}
	return b.String()
}
