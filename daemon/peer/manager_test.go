package peer

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/flash-ln/flash/channel/lnwire"
)

func TestConnectAndList(t *testing.T) {
	a := startNode(t, nil, nil, "")
	b := startNode(t, nil, nil, "")
	connect(t, a, b, false)

	pa := a.m.Peers()
	if len(pa) != 1 || !pa[0].NodeID.IsEqual(b.pub()) || pa[0].Inbound || pa[0].Address != b.addr {
		t.Fatalf("a's peers: %+v", pa)
	}
	if !pa[0].Features.Equal(DefaultFeatures()) {
		t.Fatalf("a sees features %v", pa[0].Features)
	}
	pb := b.m.Peers()
	if len(pb) != 1 || !pb[0].NodeID.IsEqual(a.pub()) || !pb[0].Inbound {
		t.Fatalf("b's peers: %+v", pb)
	}
	waitFor(t, "handlers told", func() bool {
		return a.h.peer(b.pub()) != nil && b.h.peer(a.pub()) != nil
	})

	// Connecting again is a no-op.
	if err := a.m.Connect(context.Background(), b.pub(), b.addr, false); err != nil {
		t.Fatal(err)
	}
	if err := a.m.Disconnect(b.pub()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "both sides disconnected", func() bool {
		return len(a.m.Peers()) == 0 && len(b.m.Peers()) == 0
	})
	if err := a.m.Disconnect(b.pub()); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("second disconnect: %v", err)
	}
	waitFor(t, "PeerDisconnected", func() bool { return len(b.h.eventList()) == 2 })
	a.h.checkEvents(t)
	b.h.checkEvents(t)
}

func TestConnectErrors(t *testing.T) {
	a := startNode(t, nil, nil, "")
	b := startNode(t, nil, nil, "")
	other, _ := btcec.NewPrivateKey()

	wrongChain := startNode(t, nil, nil, "", func(c *Config) {
		c.ChainHash = *chaincfg.TestNet3Params.GenesisHash
	})
	weird := DefaultFeatures()
	weird.Set(100) // a required bit nobody knows
	strange := startNode(t, nil, nil, "", func(c *Config) { c.Features = weird })
	noDep := lnwire.NewFeatureVector(lnwire.BasicMPP.Optional()) // basic_mpp without payment_secret
	broken := startNode(t, nil, nil, "", func(c *Config) { c.Features = noDep })

	// A port nothing listens on, taken after every node above is up: a
	// port freed earlier can be handed to the next node listening on
	// port 0, which turned the dial failure into a handshake failure.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := ln.Addr().String()
	ln.Close()

	tests := []struct {
		name string
		id   *btcec.PublicKey
		addr string
		want error
	}{
		{"self", a.pub(), a.addr, ErrSelfConnect},
		{"dial", b.pub(), deadAddr, ErrDialFailed},
		{"wrong node id", other.PubKey(), b.addr, ErrHandshakeFailed},
		{"wrong chain", wrongChain.pub(), wrongChain.addr, ErrWrongChain},
		{"unknown required feature", strange.pub(), strange.addr, ErrIncompatibleFeatures},
		{"missing dependency", broken.pub(), broken.addr, ErrIncompatibleFeatures},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			defer cancel()
			err := a.m.Connect(ctx, tc.id, tc.addr, true)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	if len(a.m.Peers()) != 0 || len(a.m.PersistentPeers()) != 0 {
		t.Fatalf("failed connects left state: %v %v", a.m.Peers(), a.m.PersistentPeers())
	}
	// The refused side drops us too.
	for _, n := range []*testNode{wrongChain, strange, broken} {
		waitFor(t, "refused peer gone", func() bool { return len(n.m.Peers()) == 0 })
	}
}

func TestRemoteRefusesOurFeatures(t *testing.T) {
	weird := DefaultFeatures()
	weird.Set(100)
	a := startNode(t, nil, nil, "", func(c *Config) { c.Features = weird })
	b := startNode(t, nil, nil, "")
	// b refuses a after both sent init; a may see the connection come
	// up briefly but it must go.
	a.m.Connect(context.Background(), b.pub(), b.addr, false)
	waitFor(t, "connection refused", func() bool {
		return len(a.m.Peers()) == 0 && len(b.m.Peers()) == 0
	})
}

func TestMessagesInOrder(t *testing.T) {
	a := startNode(t, nil, nil, "")
	b := startNode(t, nil, nil, "")
	connect(t, a, b, false)

	const n = 500
	ctx := context.Background()
	for i := range n {
		msg := &lnwire.UpdateFee{FeeratePerKw: uint32(i)}
		if err := a.m.Send(ctx, b.pub(), msg); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "all messages", func() bool { return len(b.h.messages(a.pub())) == n })
	for i, m := range b.h.messages(a.pub()) {
		if fee := m.(*lnwire.UpdateFee).FeeratePerKw; fee != uint32(i) {
			t.Fatalf("message %d carries %d", i, fee)
		}
	}
	if err := a.m.Send(ctx, a.pub(), &lnwire.UpdateFee{}); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("send to unknown: %v", err)
	}
}

func TestPingPong(t *testing.T) {
	a := startNode(t, nil, nil, "")
	b := startNode(t, nil, nil, "")
	connect(t, a, b, false)
	pa, _ := a.m.Peer(b.pub())
	pb, _ := b.m.Peer(a.pub())
	waitFor(t, "several pongs both ways", func() bool {
		return pa.live.pongCount() >= 3 && pb.live.pongCount() >= 3
	})
	if !pa.alive() || !pb.alive() {
		t.Fatal("healthy connection dropped")
	}
}

func TestSilentPeerDropped(t *testing.T) {
	b := startNode(t, nil, nil, "", func(c *Config) {
		c.PingInterval = 20 * time.Millisecond
		c.PongTimeout = 100 * time.Millisecond
	})
	r := dialRaw(t, b)
	r.init()
	// r never answers b's pings.
	waitFor(t, "silent peer dropped", func() bool {
		p := b.h.peer(r.pub())
		return p != nil && errors.Is(p.Err(), ErrPongTimeout)
	})
	waitFor(t, "peer list empty", func() bool { return len(b.m.Peers()) == 0 })
}

func TestPingAnswers(t *testing.T) {
	b := startNode(t, nil, nil, "", noPings, func(c *Config) {
		c.PingBurst = 5
		c.PingRefill = time.Hour
	})
	r := dialRaw(t, b)
	r.init()

	// num_pong_bytes of 65532 and above asks for no pong.
	r.send(&lnwire.Ping{NumPongBytes: 65532})
	r.send(&lnwire.Ping{NumPongBytes: 7})
	for {
		msg := r.read()
		if pong, ok := msg.(*lnwire.Pong); ok {
			if len(pong.Ignored) != 7 || !bytes.Equal(pong.Ignored, make([]byte, 7)) {
				t.Fatalf("pong of %d bytes", len(pong.Ignored))
			}
			break
		}
	}
	// A flood exceeds the rate limit: a warning and the door.
	ping, _ := lnwire.EncodeMessage(&lnwire.Ping{NumPongBytes: 1})
	for range 20 {
		if r.c.WriteMessage(ping) != nil {
			break // already disconnected
		}
	}
	if got := r.readUntilClosed(); !hasWarning(got) {
		t.Fatalf("no warning before close, got %s", describe(got))
	}
}

func TestUnknownMessages(t *testing.T) {
	b := startNode(t, nil, nil, "", noPings)
	r := dialRaw(t, b)
	r.init()

	typed := func(typ uint16, payload ...byte) []byte {
		return append(binary.BigEndian.AppendUint16(nil, typ), payload...)
	}
	r.sendRaw(typed(32769, 1, 2, 3)) // unknown odd: ignored
	r.send(&lnwire.UpdateFee{FeeratePerKw: 1})
	r.sendRaw(typed(32771))
	r.send(&lnwire.UpdateFee{FeeratePerKw: 2})
	waitFor(t, "known messages", func() bool { return len(b.h.messages(r.pub())) == 2 })
	if !connected(b, r.pub()) {
		t.Fatal("unknown odd message closed the connection")
	}

	r.sendRaw(typed(32768, 9)) // unknown even: close
	if got := r.readUntilClosed(); !hasWarning(got) {
		t.Fatalf("no warning before close, got %s", describe(got))
	}
	waitFor(t, "peer gone", func() bool { return !connected(b, r.pub()) })
	if n := len(b.h.messages(r.pub())); n != 2 {
		t.Fatalf("handler got %d messages, want 2", n)
	}
}

func TestHandledTypes(t *testing.T) {
	const gossip = lnwire.MsgChannelAnnouncement // even, not decoded by lnwire
	b := startNode(t, nil, nil, "", noPings, func(c *Config) {
		c.HandledTypes = []lnwire.MessageType{gossip}
	})
	r := dialRaw(t, b)
	r.init()
	r.sendRaw(binary.BigEndian.AppendUint16(nil, uint16(gossip)))
	waitFor(t, "gossip delivered", func() bool { return len(b.h.messages(r.pub())) == 1 })
	if m, ok := b.h.messages(r.pub())[0].(*lnwire.UnknownMessage); !ok || m.Type != gossip {
		t.Fatalf("delivered %#v", b.h.messages(r.pub())[0])
	}
}

func TestErrorsAndWarnings(t *testing.T) {
	b := startNode(t, nil, nil, "", noPings)
	r := dialRaw(t, b)
	r.init()

	r.send(&lnwire.Warning{Data: []byte("careful")})
	r.send(&lnwire.Error{ChannelID: lnwire.ChannelID{1}, Data: []byte("channel 1 failed")})
	waitFor(t, "both delivered", func() bool { return len(b.h.messages(r.pub())) == 2 })
	if !connected(b, r.pub()) {
		t.Fatal("a channel error closed the connection")
	}
	r.send(&lnwire.Error{Data: []byte("all channels failed")})
	r.readUntilClosed()
	waitFor(t, "error delivered", func() bool { return len(b.h.messages(r.pub())) == 3 })
	if _, ok := b.h.messages(r.pub())[2].(*lnwire.Error); !ok {
		t.Fatal("connection-wide error not handed to the handler")
	}
}

func TestHostilePeersIsolated(t *testing.T) {
	a := startNode(t, nil, nil, "")
	b := startNode(t, nil, nil, "", noPings)
	connect(t, a, b, false)

	garbage := [][]byte{
		{0x00},                               // shorter than a type
		{0x00, 0x12, 0x00},                   // truncated ping
		{0x00, 0x11, 0x01, 0x02},             // truncated error
		{0x00, 0x10, 0x00, 0x00, 0x00, 0x00}, // a second init
	}
	for _, g := range garbage {
		r := dialRaw(t, b)
		r.init()
		r.sendRaw(g)
		if got := r.readUntilClosed(); !hasWarning(got) {
			t.Fatalf("%x: no warning before close, got %s", g, describe(got))
		}
	}
	// A peer that skips init.
	r := dialRaw(t, b)
	r.send(&lnwire.UpdateFee{})
	r.readUntilClosed()

	// A peer whose messages the handler is slow to take does not hold
	// up a.
	slow := dialRaw(t, b)
	slow.init()
	gate := make(chan struct{})
	var open sync.Once
	release := func() { open.Do(func() { close(gate) }) }
	// A failing test must not leave the handler blocked: Stop waits
	// for it.
	t.Cleanup(release)
	b.h.mu.Lock()
	b.h.gate, b.h.gateNode = gate, keyOf(slow.pub())
	b.h.mu.Unlock()
	for i := range 200 {
		slow.send(&lnwire.UpdateFee{FeeratePerKw: uint32(i)})
	}

	ctx := context.Background()
	for i := range 50 {
		if err := a.m.Send(ctx, b.pub(), &lnwire.UpdateFee{FeeratePerKw: uint32(i)}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "a's messages through", func() bool { return len(b.h.messages(a.pub())) == 50 })
	release()
	waitFor(t, "slow peer's messages through", func() bool {
		return len(b.h.messages(slow.pub())) == 200
	})
	if !connected(b, a.pub()) || !connected(b, slow.pub()) {
		t.Fatal("well-behaved peers dropped")
	}
}

func TestDuplicateConnections(t *testing.T) {
	a := startNode(t, nil, nil, "")
	b := startNode(t, nil, nil, "")
	connect(t, a, b, false)

	aSmaller := bytes.Compare(a.pub().SerializeCompressed(), b.pub().SerializeCompressed()) < 0
	// A second connection the other way: it survives only if b has
	// the smaller id. Then a second one from a, which replaces a's first
	// connection if that one is still kept, and loses otherwise.
	// Either way the survivor is opened by the smaller node id.
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := b.m.dial(ctx, a.pub(), a.addr); err != nil {
		t.Fatal(err)
	}
	if err := a.m.dial(ctx, b.pub(), b.addr); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "one connection, agreed on", func() bool {
		pa, okA := a.m.Peer(b.pub())
		pb, okB := b.m.Peer(a.pub())
		return okA && okB && pa.Inbound() != pb.Inbound() &&
			len(a.m.Peers()) == 1 && len(b.m.Peers()) == 1
	})
	if pa, _ := a.m.Peer(b.pub()); pa.Inbound() == aSmaller {
		t.Fatalf("kept the connection opened by the larger node id")
	}

	// Simultaneous dials from both sides, several times over.
	for range 5 {
		a.m.Disconnect(b.pub())
		waitFor(t, "disconnected", func() bool {
			return len(a.m.Peers()) == 0 && len(b.m.Peers()) == 0
		})
		errs := make(chan error, 2)
		go func() { errs <- a.m.dial(ctx, b.pub(), b.addr) }()
		go func() { errs <- b.m.dial(ctx, a.pub(), a.addr) }()
		<-errs
		<-errs
		waitFor(t, "one connection, agreed on", func() bool {
			pa, okA := a.m.Peer(b.pub())
			pb, okB := b.m.Peer(a.pub())
			return okA && okB && pa.Inbound() != pb.Inbound()
		})
		pa, _ := a.m.Peer(b.pub())
		if opener := !pa.Inbound(); opener != aSmaller {
			t.Fatalf("kept the connection opened by the larger node id")
		}
	}
	a.m.Stop()
	b.m.Stop()
	a.h.checkEvents(t)
	b.h.checkEvents(t)
}

func TestPersistentPeerRedialAfterRemoteRestart(t *testing.T) {
	a := startNode(t, nil, nil, "")
	b := startNode(t, nil, nil, "")
	connect(t, a, b, true)
	if pp, _ := a.store.Load(); len(pp) != 1 || pp[0].Address != b.addr {
		t.Fatalf("store holds %v", pp)
	}

	for range 2 {
		b.m.Stop()
		waitFor(t, "a sees b gone", func() bool { return !connected(a, b.pub()) })
		b = startNode(t, b.key, b.store, b.addr)
		waitFor(t, "a redials b", func() bool {
			return connected(a, b.pub()) && connected(b, a.pub())
		})
		if p, _ := b.m.Peer(a.pub()); !p.Inbound() {
			t.Fatal("b dialled a; a should have")
		}
	}
}

func TestPersistentPeerRedialAfterLocalRestart(t *testing.T) {
	a := startNode(t, nil, nil, "")
	b := startNode(t, nil, nil, "")
	connect(t, a, b, true)

	a.m.Stop()
	waitFor(t, "b sees a gone", func() bool { return !connected(b, a.pub()) })
	a2 := startNode(t, a.key, a.store, "")
	waitFor(t, "a redials b on start", func() bool {
		return connected(a2, b.pub()) && connected(b, a2.pub())
	})
	if len(a2.m.PersistentPeers()) != 1 {
		t.Fatal("persistent peer not loaded")
	}
}

func TestDisconnectStopsRedial(t *testing.T) {
	a := startNode(t, nil, nil, "")
	b := startNode(t, nil, nil, "")
	connect(t, a, b, true)
	if n := a.m.redialers.Load(); n != 1 {
		t.Fatalf("%d redialers", n)
	}
	if err := a.m.Disconnect(b.pub()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "redialer gone", func() bool { return a.m.redialers.Load() == 0 })
	if pp, _ := a.store.Load(); len(pp) != 0 {
		t.Fatalf("store still holds %v", pp)
	}
	if len(a.m.PersistentPeers()) != 0 {
		t.Fatal("still persistent")
	}
	waitFor(t, "both sides down", func() bool {
		return !connected(a, b.pub()) && !connected(b, a.pub())
	})
	// A persistent peer that is down: Disconnect forgets it too.
	connect(t, a, b, true)
	b.m.Stop()
	waitFor(t, "a sees b gone", func() bool { return !connected(a, b.pub()) })
	if err := a.m.Disconnect(b.pub()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "redialer gone", func() bool { return a.m.redialers.Load() == 0 })
}

func TestBackoff(t *testing.T) {
	b := backoff{min: time.Second, max: time.Minute}
	prevStep := time.Duration(0)
	for i := range 12 {
		d := b.next()
		if d < b.cur/2 || d > b.cur || b.cur > time.Minute {
			t.Fatalf("step %d: delay %v for step %v", i, d, b.cur)
		}
		if b.cur < prevStep {
			t.Fatalf("step shrank")
		}
		prevStep = b.cur
	}
	if b.cur != time.Minute {
		t.Fatalf("did not reach the cap: %v", b.cur)
	}
	b.reset()
	if d := b.next(); d > time.Second {
		t.Fatalf("after reset: %v", d)
	}
}

func TestKeepNewAgreement(t *testing.T) {
	small, large := nodeKey{2, 1}, nodeKey{3, 1}
	for _, newOut := range []bool{false, true} {
		for _, oldOut := range []bool{false, true} {
			// The same pair of connections seen from the other end:
			// outbound becomes inbound.
			fromSmall := keepNew(small, large, newOut, oldOut)
			fromLarge := keepNew(large, small, !newOut, !oldOut)
			if fromSmall != fromLarge {
				t.Errorf("new out %v old out %v: ends disagree", newOut, oldOut)
			}
		}
	}
}

func TestRemoteAddrTLV(t *testing.T) {
	tests := []struct {
		addr string
		want []byte
	}{
		{"127.0.0.1:9735", nil},
		{"10.1.2.3:9735", nil},
		{"8.8.8.8:9735", []byte{1, 8, 8, 8, 8, 0x26, 0x07}},
		{"[2001:db8::1]:1", append(append([]byte{2}, net.ParseIP("2001:db8::1")...), 0, 1)},
	}
	for _, tc := range tests {
		a, err := net.ResolveTCPAddr("tcp", tc.addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := remoteAddrTLV(a); !bytes.Equal(got, tc.want) {
			t.Errorf("%s: got %x, want %x", tc.addr, got, tc.want)
		}
	}
}

func TestPeerFail(t *testing.T) {
	b := startNode(t, nil, nil, "", noPings)
	r := dialRaw(t, b)
	r.init()
	waitFor(t, "peer up", func() bool { return b.h.peer(r.pub()) != nil })
	p := b.h.peer(r.pub())

	reason := errors.New("channel broken")
	if err := p.Send(context.Background(), &lnwire.UpdateFee{FeeratePerKw: 1}); err != nil {
		t.Fatal(err)
	}
	p.Fail(&lnwire.Error{ChannelID: lnwire.ChannelID{7}}, reason)
	got := r.readUntilClosed()
	if len(got) != 2 || got[0].MsgType() != lnwire.MsgUpdateFee || got[1].MsgType() != lnwire.MsgError {
		t.Fatalf("peer got %s, want update_fee error", describe(got))
	}
	waitFor(t, "closed", func() bool { return !connected(b, r.pub()) })
	if !errors.Is(p.Err(), reason) {
		t.Fatalf("Err() = %v", p.Err())
	}
	if err := p.Send(context.Background(), &lnwire.UpdateFee{}); !errors.Is(err, ErrPeerClosed) {
		t.Fatalf("send after close: %v", err)
	}
}
