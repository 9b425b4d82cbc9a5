package channel

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/wire"

	"github.com/flash-ln/flash/channel/keys"
	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/channel/script"
	"github.com/flash-ln/flash/channel/shachain"
)

// testKey derives a private key from a label, so tests are deterministic.
func testKey(label string) *btcec.PrivateKey {
	h := sha256.Sum256([]byte(label))
	k, _ := btcec.PrivKeyFromBytes(h[:])
	return k
}

func testKeyring(name string) *Keyring {
	return &Keyring{
		FundingKey:           testKey(name + "/funding"),
		RevocationBaseSecret: testKey(name + "/revocation"),
		PaymentBaseSecret:    testKey(name + "/payment"),
		DelayedBaseSecret:    testKey(name + "/delayed"),
		HTLCBaseSecret:       testKey(name + "/htlc"),
		Secrets:              shachain.NewProducer(sha256.Sum256([]byte(name + "/seed"))),
	}
}

func partyConfig(k *Keyring) PartyConfig {
	return PartyConfig{
		DustLimit:            546,
		MaxHTLCValueInFlight: lnwire.NewMSatFromSatoshis(5_000_000),
		ChannelReserve:       100_000,
		HTLCMinimum:          1000,
		ToSelfDelay:          144,
		MaxAcceptedHTLCs:     483,
		FundingKey:           k.FundingKey.PubKey(),
		Basepoints: keys.Basepoints{
			Revocation:     k.RevocationBaseSecret.PubKey(),
			Payment:        k.PaymentBaseSecret.PubKey(),
			DelayedPayment: k.DelayedBaseSecret.PubKey(),
			HTLC:           k.HTLCBaseSecret.PubKey(),
		},
	}
}

func p2wpkhOf(k *btcec.PrivateKey) []byte { return script.P2WPKH(k.PubKey()) }

type pairOptions struct {
	capacity     btcutil.Amount
	localBalance btcutil.Amount // the funder's
	feePerKw     uint32
	tweak        func(a, b *PartyConfig)
}

// newPair creates two connected machines: a is the funder.
func newPair(t testing.TB, opt pairOptions) (*Channel, *Channel) {
	t.Helper()
	if opt.capacity == 0 {
		opt.capacity = 10_000_000
		opt.localBalance = 7_000_000
	}
	if opt.feePerKw == 0 {
		opt.feePerKw = 2500
	}
	ka, kb := testKeyring("alice"), testKeyring("bob")
	pa, pb := partyConfig(ka), partyConfig(kb)
	if opt.tweak != nil {
		opt.tweak(&pa, &pb)
	}
	op := wire.OutPoint{Hash: sha256.Sum256([]byte("funding")), Index: 1}
	point := func(k *Keyring, n uint64) *btcec.PublicKey {
		s, _ := k.Secrets.ForCommitment(n)
		return keys.PerCommitmentPoint(s)
	}
	cfgA := Config{
		Params: Params{FundingOutpoint: op, Capacity: opt.capacity, LocalFunder: true,
			Type: ChannelTypeStaticRemoteKey, Local: pa, Remote: pb, CloseScript: p2wpkhOf(testKey("alice/close"))},
		Keyring: ka, FeePerKw: opt.feePerKw,
		LocalBalance:     lnwire.NewMSatFromSatoshis(uint64(opt.localBalance)),
		RemoteBalance:    lnwire.NewMSatFromSatoshis(uint64(opt.capacity - opt.localBalance)),
		RemoteFirstPoint: point(kb, 0), RemoteSecondPoint: point(kb, 1),
	}
	cfgB := Config{
		Params: Params{FundingOutpoint: op, Capacity: opt.capacity, LocalFunder: false,
			Type: ChannelTypeStaticRemoteKey, Local: pb, Remote: pa, CloseScript: p2wpkhOf(testKey("bob/close"))},
		Keyring: kb, FeePerKw: opt.feePerKw,
		LocalBalance:     cfgA.RemoteBalance,
		RemoteBalance:    cfgA.LocalBalance,
		RemoteFirstPoint: point(ka, 0), RemoteSecondPoint: point(ka, 1),
	}
	sigA, err := SignInitialCommitment(cfgA)
	if err != nil {
		t.Fatal(err)
	}
	sigB, err := SignInitialCommitment(cfgB)
	if err != nil {
		t.Fatal(err)
	}
	cfgA.RemoteSig, cfgB.RemoteSig = sigB, sigA
	a, err := New(cfgA)
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(cfgB)
	if err != nil {
		t.Fatal(err)
	}
	l := &link{t: t, a: a, b: b}
	l.connect()
	l.flush()
	return a, b
}

// link carries messages between two machines in order, one FIFO queue per
// direction, as TCP would; every message crosses its wire encoding.
type link struct {
	t        testing.TB
	a, b     *Channel
	ab, ba   []lnwire.Message
	events   [2][]Event
	onOutput func(fromA bool, out Output)
}

func wireRoundTrip(t testing.TB, m lnwire.Message) lnwire.Message {
	t.Helper()
	var buf bytes.Buffer
	if _, err := lnwire.AppendMessage(&buf, m); err != nil {
		t.Fatalf("encode %T: %v", m, err)
	}
	d, err := lnwire.ParseMessage(buf.Bytes())
	if err != nil {
		t.Fatalf("decode %T: %v", m, err)
	}
	return d
}

// take queues the output of machine a (fromA) or b.
func (l *link) take(fromA bool, out Output) {
	if l.onOutput != nil {
		l.onOutput(fromA, out)
	}
	for _, m := range out.Messages {
		m = wireRoundTrip(l.t, m)
		if fromA {
			l.ab = append(l.ab, m)
		} else {
			l.ba = append(l.ba, m)
		}
	}
	i := 1
	if fromA {
		i = 0
	}
	l.events[i] = append(l.events[i], out.Events...)
}

// deliver hands the oldest message travelling towards b (toB) or a.
func (l *link) deliver(toB bool) error {
	q, dst := &l.ba, l.a
	if toB {
		q, dst = &l.ab, l.b
	}
	if len(*q) == 0 {
		return nil
	}
	m := (*q)[0]
	*q = (*q)[1:]
	out, err := dst.Receive(m)
	if err != nil {
		return fmt.Errorf("%s receiving %T: %w", map[bool]string{true: "bob", false: "alice"}[toB], m, err)
	}
	l.take(!toB, out)
	return nil
}

func (l *link) connect() {
	l.t.Helper()
	l.ab, l.ba = nil, nil
	out, err := l.a.Connected()
	if err != nil {
		l.t.Fatal(err)
	}
	l.take(true, out)
	out, err = l.b.Connected()
	if err != nil {
		l.t.Fatal(err)
	}
	l.take(false, out)
}

func (l *link) disconnect() {
	l.ab, l.ba = nil, nil
	l.take(true, l.a.Disconnected())
	l.take(false, l.b.Disconnected())
	l.ab, l.ba = nil, nil
}

// flush delivers every queued message, alternating directions.
func (l *link) flush() {
	l.t.Helper()
	for len(l.ab)+len(l.ba) > 0 {
		if err := l.deliver(true); err != nil {
			l.t.Fatal(err)
		}
		if err := l.deliver(false); err != nil {
			l.t.Fatal(err)
		}
	}
}

// sign makes the machine sign if it has anything to sign.
func (l *link) sign(fromA bool) {
	l.t.Helper()
	c := l.b
	if fromA {
		c = l.a
	}
	if !c.NeedsSignature() {
		return
	}
	out, err := c.SignCommitment()
	if err != nil {
		l.t.Fatal(err)
	}
	l.take(fromA, out)
}

// settle runs commitment rounds until neither side has anything to sign.
func (l *link) settle() {
	l.t.Helper()
	for i := 0; i < 10; i++ {
		l.flush()
		if !l.a.NeedsSignature() && !l.b.NeedsSignature() {
			return
		}
		l.sign(true)
		l.flush()
		l.sign(false)
	}
	l.flush()
}

func newLink(t testing.TB, a, b *Channel) *link { return &link{t: t, a: a, b: b} }

func testPreimage(i uint64) ([32]byte, [32]byte) {
	p := sha256.Sum256([]byte(fmt.Sprintf("preimage %d", i)))
	return p, sha256.Sum256(p[:])
}
