package forward

import (
	"bytes"
	"context"
	"crypto/sha256"
	"path/filepath"
	"sync"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	sphinx "github.com/lightningnetwork/lightning-onion"
	bolt "go.etcd.io/bbolt"

	"github.com/flash-ln/flash/channel"
	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/htlc/invoices"
	"github.com/flash-ln/flash/htlc/onion"
)

const testHeight = 100

// channels is a ChannelSource over a fixed set of channels.
type channels struct {
	mu sync.Mutex
	m  map[lnwire.ShortChannelID]ChannelInfo
}

func newChannels(infos ...ChannelInfo) *channels {
	c := &channels{m: make(map[lnwire.ShortChannelID]ChannelInfo)}
	for _, i := range infos {
		c.m[i.SCID] = i
	}
	return c
}

func (c *channels) ChannelByShortID(scid lnwire.ShortChannelID) (ChannelInfo, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i, ok := c.m[scid]
	return i, ok
}

func (c *channels) set(scid lnwire.ShortChannelID, f func(*ChannelInfo)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := c.m[scid]
	f(&i)
	c.m[scid] = i
}

// payee is a FinalHopHandler that knows one preimage and asks for a
// minimum amount; it counts its calls.
type payee struct {
	mu       sync.Mutex
	preimage [32]byte
	minAmt   lnwire.MilliSatoshi
	calls    int
	last     invoices.IncomingHTLC
}

func (p *payee) Accept(_ context.Context, h invoices.IncomingHTLC) (invoices.Resolution, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	p.last = h
	if sha256.Sum256(p.preimage[:]) != h.PaymentHash || h.AmountMsat < p.minAmt || h.AmountMsat < h.AmtToForward {
		return &invoices.Fail{Message: &onion.IncorrectOrUnknownPaymentDetails{HtlcMsat: h.AmountMsat, Height: h.CurrentHeight}}, nil
	}
	return &invoices.Settle{Preimage: p.preimage}, nil
}

// results is a PaymentResultSink that keeps what it gets.
type results struct {
	mu sync.Mutex
	m  map[uint64][]PaymentResult
}

func (r *results) PaymentResult(_ context.Context, res PaymentResult) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = make(map[uint64][]PaymentResult)
	}
	r.m[res.AttemptID] = append(r.m[res.AttemptID], res)
	return nil
}

func (r *results) get(id uint64) []PaymentResult {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.m[id]
}

// node is one switch with its database, which a test can restart.
type node struct {
	t      testing.TB
	key    *btcec.PrivateKey
	path   string
	db     *bolt.DB
	router *onion.Router
	chans  *channels
	payee  *payee
	sink   *results
	sw     *Switch
}

func newNode(t testing.TB, seed byte, chans *channels) *node {
	t.Helper()
	key, _ := btcec.PrivKeyFromBytes(bytes.Repeat([]byte{seed}, 32))
	n := &node{
		t: t, key: key, chans: chans,
		path:  filepath.Join(t.TempDir(), "node.db"),
		payee: &payee{},
		sink:  &results{},
	}
	n.start()
	t.Cleanup(n.stop)
	return n
}

func (n *node) start() {
	n.t.Helper()
	db, err := bolt.Open(n.path, 0o600, nil)
	if err != nil {
		n.t.Fatal(err)
	}
	n.db = db
	// A fresh replay log, as after a real restart.
	n.router, err = onion.NewRouter(n.key, nil)
	if err != nil {
		n.t.Fatal(err)
	}
	n.sw, err = New(Config{DB: db, Onion: n.router, Channels: n.chans, FinalHop: n.payee, Payments: n.sink})
	if err != nil {
		n.t.Fatal(err)
	}
}

func (n *node) stop() {
	if n.db != nil {
		n.router.Stop()
		_ = n.db.Close()
		n.db = nil
	}
}

func (n *node) restart() {
	n.stop()
	n.start()
}

// route is alice → bob → carol over channels ab and bc.
type route struct {
	alice, bob, carol *node
	ab, bc            ChannelInfo
	preimage, hash    [32]byte
	secret            [32]byte
	circuit           *sphinx.Circuit
	packet            [onion.PacketSize]byte
	// amount and expiry of the HTLC alice offers bob, and of the one bob
	// should offer carol.
	abAmt, bcAmt lnwire.MilliSatoshi
	abExp, bcExp uint32
}

func newRoute(t testing.TB) *route {
	t.Helper()
	r := &route{
		ab: ChannelInfo{
			ChanID: lnwire.ChannelID{0xab}, SCID: lnwire.ShortChannelID{BlockHeight: 50, TxIndex: 1},
			Policy: Policy{CLTVExpiryDelta: 40}, Active: true, AvailableMsat: 10_000_000,
			Update: []byte("ab-update"),
		},
		bc: ChannelInfo{
			ChanID: lnwire.ChannelID{0xbc}, SCID: lnwire.ShortChannelID{BlockHeight: 60, TxIndex: 2},
			Policy: Policy{
				FeeBaseMsat: 1000, FeeProportionalMillionths: 100, CLTVExpiryDelta: 40,
				HTLCMinimumMsat: 1000, HTLCMaximumMsat: 5_000_000,
			},
			Active: true, AvailableMsat: 10_000_000, Update: []byte("bc-update"),
		},
		preimage: [32]byte{0x42},
		secret:   [32]byte{7},
	}
	r.hash = sha256.Sum256(r.preimage[:])
	r.alice = newNode(t, 1, newChannels(r.ab))
	r.bob = newNode(t, 2, newChannels(r.bc))
	r.carol = newNode(t, 3, newChannels())
	r.carol.payee.preimage = r.preimage
	r.carol.payee.minAmt = 1_000_000
	// bob charges 1000 + 1,000,000*100/1e6 = 1100 msat and 40 blocks.
	r.bcAmt, r.bcExp = 1_000_000, testHeight+40
	r.abAmt, r.abExp = r.bcAmt+1100, r.bcExp+40
	r.build(t, r.bcAmt, r.bcExp)
	return r
}

// build makes alice's onion with the given instructions for bob.
func (r *route) build(t testing.TB, fwdAmt lnwire.MilliSatoshi, fwdExp uint32) {
	t.Helper()
	toBob, err := (&onion.Payload{AmtToForward: fwdAmt, OutgoingCLTV: fwdExp, ShortChannelID: &r.bc.SCID}).Encode()
	if err != nil {
		t.Fatal(err)
	}
	toCarol, err := (&onion.Payload{
		AmtToForward: r.bcAmt, OutgoingCLTV: r.bcExp,
		PaymentData: &onion.PaymentData{PaymentSecret: r.secret, TotalMsat: r.bcAmt},
	}).Encode()
	if err != nil {
		t.Fatal(err)
	}
	session, _ := btcec.PrivKeyFromBytes(bytes.Repeat([]byte{9}, 32))
	r.packet, r.circuit, err = onion.NewOnion(session, []onion.Hop{
		{NodePub: r.bob.key.PubKey(), Payload: toBob},
		{NodePub: r.carol.key.PubKey(), Payload: toCarol},
	}, r.hash[:])
	if err != nil {
		t.Fatal(err)
	}
}

// incoming turns a forward decision into the HTLC the next node receives
// on channel ch under id.
func incoming(ch lnwire.ChannelID, id uint64, d Decision) IncomingHTLC {
	return IncomingHTLC{Chan: ch, HTLC: channel.HTLC{
		Incoming: true, ID: id, Amount: d.Add.Amount, PaymentHash: d.Add.PaymentHash,
		CLTVExpiry: d.Add.CLTVExpiry, Onion: append([]byte(nil), d.Add.Onion[:]...),
	}}
}

func mustAction(t testing.TB, d Decision, err error, want Action) Decision {
	t.Helper()
	if err != nil {
		t.Fatalf("decision: %v", err)
	}
	if d.Action != want {
		t.Fatalf("action %s (failure %v), want %s", d.Action, d.Failure, want)
	}
	return d
}

func channelFailed(id uint64, reason []byte) channel.OutgoingHTLCFailed {
	return channel.OutgoingHTLCFailed{ID: id, Reason: reason}
}
