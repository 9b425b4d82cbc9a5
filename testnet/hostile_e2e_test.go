package testnet

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/wire"

	"github.com/flash-ln/flash/channel"
	"github.com/flash-ln/flash/channel/funding"
	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/channel/shachain"
	"github.com/flash-ln/flash/daemon/noise"
	"github.com/flash-ln/flash/daemon/peer"
	"github.com/flash-ln/flash/daemon/rpc"
)

// rawPeer is a hand-driven Lightning connection to a daemon, to send it
// what a correct node never would.
type rawPeer struct {
	t    *testing.T
	key  *btcec.PrivateKey
	conn *noise.Conn
}

func (p *rawPeer) nodeID() string { return hex.EncodeToString(p.key.PubKey().SerializeCompressed()) }

func rpcOpen(nodeID string) rpc.ChannelOpenRequest {
	return rpc.ChannelOpenRequest{NodeID: nodeID, AmountSat: 200_000}
}

func dialRaw(t *testing.T, n *Node) *rawPeer {
	t.Helper()
	uri, err := URI(ctxCall(t), n)
	if err != nil {
		t.Fatal(err)
	}
	id, addr, _ := strings.Cut(uri, "@")
	raw, _ := hex.DecodeString(id)
	pub, err := btcec.ParsePubKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := btcec.NewPrivateKey()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := noise.Client(ctxCall(t), nc, key, pub)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	p := &rawPeer{t: t, key: key, conn: conn}
	p.send(&lnwire.Init{Features: *peer.DefaultFeatures(),
		Networks: []lnwire.ChainHash{lnwire.ChainHash(*chaincfg.RegressionNetParams.GenesisHash)}})
	if _, ok := p.recv().(*lnwire.Init); !ok {
		t.Fatal("no init from the daemon")
	}
	return p
}

func (p *rawPeer) send(msg lnwire.Message) {
	p.t.Helper()
	raw, err := lnwire.EncodeMessage(msg)
	if err != nil {
		p.t.Fatal(err)
	}
	if err := p.conn.WriteMessage(raw); err != nil {
		p.t.Fatalf("send %s: %v", msg.MsgType(), err)
	}
}

// recv returns the next message other than ping and pong.
func (p *rawPeer) recv() lnwire.Message {
	p.t.Helper()
	deadline := time.Now().Add(syncTimeout)
	for time.Now().Before(deadline) {
		raw, err := p.conn.ReadMessage()
		if err != nil {
			p.t.Fatalf("read: %v", err)
		}
		msg, err := lnwire.ParseMessage(raw)
		if err != nil {
			p.t.Fatalf("parse: %v", err)
		}
		switch m := msg.(type) {
		case *lnwire.Ping:
			p.send(&lnwire.Pong{Ignored: make([]byte, m.NumPongBytes)})
			continue
		case *lnwire.Pong:
			continue
		}
		return msg
	}
	p.t.Fatal("no message in time")
	return nil
}

// expectError reads an error for channel id cid.
func (p *rawPeer) expectError(what string, cid lnwire.ChannelID) {
	p.t.Helper()
	msg := p.recv()
	e, ok := msg.(*lnwire.Error)
	if !ok || e.ChannelID != cid {
		p.t.Fatalf("%s: got %T %+v, want an error for %s", what, msg, msg, cid)
	}
}

// maxPendingAccepted is the daemon's limit of channels a peer opened to it
// that wait for their funding transaction.
const maxPendingAccepted = 4

func testKeyring(seed string) *channel.Keyring {
	key := func(s string) *btcec.PrivateKey {
		h := sha256.Sum256([]byte(seed + s))
		k, _ := btcec.PrivKeyFromBytes(h[:])
		return k
	}
	return &channel.Keyring{
		FundingKey:           key("funding"),
		RevocationBaseSecret: key("revocation"),
		PaymentBaseSecret:    key("payment"),
		DelayedBaseSecret:    key("delayed"),
		HTLCBaseSecret:       key("htlc"),
		Secrets:              shachain.NewProducer(sha256.Sum256([]byte(seed + "shachain"))),
	}
}

// TestHostilePeer sends a daemon channel messages out of place and a
// funding_created with a bad signature: each gets an error for its channel,
// nothing is stored, and the daemon keeps serving its other peer.
func TestHostilePeer(t *testing.T) {
	nw := newNetwork(t)
	alice := startNode(t, nw, "alice")
	bob := startNode(t, nw, "bob")
	connectPeers(t, bob, alice)
	p := dialRaw(t, alice)

	unknown := lnwire.ChannelID{1, 2, 3}
	point, _ := btcec.NewPrivateKey()
	p.send(&lnwire.ChannelReestablish{ChannelID: unknown, NextCommitmentNumber: 1,
		MyCurrentPerCommitmentPoint: point.PubKey()})
	p.expectError("reestablish of an unknown channel", unknown)
	p.send(&lnwire.FundingCreated{TemporaryChannelID: unknown})
	p.expectError("funding_created without open_channel", unknown)

	kr := testKeyring("mallory")
	localKeys, err := funding.KeysFromKeyring(kr)
	if err != nil {
		t.Fatal(err)
	}
	closeScript := append([]byte{0x00, 0x14}, make([]byte, 20)...)
	params := funding.OpenerParams{
		TempChanID:   lnwire.ChannelID{9},
		ChainHash:    *chaincfg.MainNetParams.GenesisHash,
		Capacity:     100_000,
		FeePerKw:     2500,
		LocalKeys:    localKeys,
		Policy:       funding.DefaultPolicy(),
		PeerFeatures: peer.DefaultFeatures(),
		CloseScript:  closeScript,
	}
	_, open, err := funding.NewOpener(params)
	if err != nil {
		t.Fatal(err)
	}
	p.send(open)
	p.expectError("open_channel on another chain", params.TempChanID)

	params.TempChanID = lnwire.ChannelID{10}
	params.ChainHash = *chaincfg.RegressionNetParams.GenesisHash
	op, open, err := funding.NewOpener(params)
	if err != nil {
		t.Fatal(err)
	}
	p.send(open)
	accept, ok := p.recv().(*lnwire.AcceptChannel)
	if !ok {
		t.Fatal("no accept_channel")
	}
	req, err := op.ReceiveAcceptChannel(accept)
	if err != nil {
		t.Fatal(err)
	}
	ftx := wire.NewMsgTx(2)
	ftx.AddTxIn(wire.NewTxIn(&wire.OutPoint{Index: 1}, nil, nil))
	ftx.AddTxOut(wire.NewTxOut(int64(req.Amount), req.PkScript))
	created, err := op.FundingCreated(ftx, kr)
	if err != nil {
		t.Fatal(err)
	}
	created.Signature[10] ^= 0xff
	p.send(created)
	p.expectError("funding_created with a bad signature", params.TempChanID)

	// Nothing stored, and the other peer is still served.
	if l, err := alice.Client().ChannelList(ctxCall(t)); err != nil || len(l.Channels) != 0 {
		t.Fatalf("channels after a bad funding_created: %+v, %v", l, err)
	}

	// Channels whose funding never comes: a few are accepted, then the
	// peer is refused, and they are forgotten after 2016 blocks.
	for i := range maxPendingAccepted + 1 {
		params.TempChanID = lnwire.ChannelID{20, byte(i)}
		op, open, err := funding.NewOpener(params)
		if err != nil {
			t.Fatal(err)
		}
		p.send(open)
		if i == maxPendingAccepted {
			p.expectError("open_channel beyond the pending limit", params.TempChanID)
			break
		}
		accept, ok := p.recv().(*lnwire.AcceptChannel)
		if !ok {
			t.Fatal("no accept_channel")
		}
		req, err := op.ReceiveAcceptChannel(accept)
		if err != nil {
			t.Fatal(err)
		}
		ftx := wire.NewMsgTx(2)
		ftx.AddTxIn(wire.NewTxIn(&wire.OutPoint{Index: uint32(100 + i)}, nil, nil))
		ftx.AddTxOut(wire.NewTxOut(int64(req.Amount), req.PkScript))
		created, err := op.FundingCreated(ftx, kr)
		if err != nil {
			t.Fatal(err)
		}
		p.send(created)
		if _, ok := p.recv().(*lnwire.FundingSigned); !ok {
			t.Fatal("no funding_signed")
		}
		if _, ok := p.recv().(*lnwire.ChannelReestablish); !ok {
			t.Fatal("no channel_reestablish")
		}
	}
	if l, err := alice.Client().ChannelList(ctxCall(t)); err != nil || len(l.Channels) != maxPendingAccepted {
		t.Fatalf("pending channels: %+v, %v", l, err)
	}
	mine(t, alice, 2016, outsiderAddress)
	err = WaitFor(t.Context(), syncTimeout, "unfunded channels forgotten", func(ctx context.Context) (bool, error) {
		l, err := alice.Client().ChannelList(ctx)
		return err == nil && len(l.Channels) == 0, err
	})
	if err != nil {
		t.Fatal(err)
	}
	aliceID := nodeID(t, alice)
	err = WaitFor(t.Context(), syncTimeout, "bob still connected", func(ctx context.Context) (bool, error) {
		res, err := bob.Client().PeerList(ctx)
		return err == nil && len(res.Peers) == 1 && res.Peers[0].NodeID == aliceID, err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// acceptAsRawPeer answers alice's open_channel as a fundee would, up to
// receiving funding_created, and returns that message.
func acceptAsRawPeer(t *testing.T, p *rawPeer, seed string) *lnwire.FundingCreated {
	t.Helper()
	open, ok := p.recv().(*lnwire.OpenChannel)
	if !ok {
		t.Fatal("no open_channel")
	}
	localKeys, err := funding.KeysFromKeyring(testKeyring(seed))
	if err != nil {
		t.Fatal(err)
	}
	_, accept, err := funding.AcceptOpen(funding.AcceptParams{
		Open:         open,
		ChainHash:    *chaincfg.RegressionNetParams.GenesisHash,
		LocalKeys:    localKeys,
		Policy:       funding.DefaultPolicy(),
		PeerFeatures: peer.DefaultFeatures(),
		CloseScript:  append([]byte{0x00, 0x14}, make([]byte, 20)...),
	})
	if err != nil {
		t.Fatal(err)
	}
	p.send(accept)
	created, ok := p.recv().(*lnwire.FundingCreated)
	if !ok {
		t.Fatal("no funding_created")
	}
	return created
}

// TestFundeeVanishes leaves alice's open without funding_signed, once by
// dropping the connection and once by killing alice in that window: the
// open fails or is forgotten, nothing is broadcast, no coin stays locked.
func TestFundeeVanishes(t *testing.T) {
	nw := newNetwork(t)
	alice := startNode(t, nw, "alice")
	mine(t, alice, fundedHeight, "")
	before := balance(t, alice)

	openAsync := func(peerID string) <-chan error {
		done := make(chan error, 1)
		go func() {
			_, err := alice.Client().ChannelOpen(t.Context(), rpcOpen(peerID))
			done <- err
		}()
		return done
	}

	// Dropped after funding_created: the call fails at once.
	p := dialRaw(t, alice)
	done := openAsync(p.nodeID())
	acceptAsRawPeer(t, p, "vanish-1")
	p.conn.Close()
	if err := <-done; err == nil || !strings.Contains(err.Error(), "funding") {
		t.Fatalf("open with a vanished fundee: %v", err)
	}
	if b := balance(t, alice); b.LockedSat != 0 || total(b) != total(before) {
		t.Fatalf("balance after a failed open %+v, before %+v", b, before)
	}

	// Alice killed after funding_created: the restart releases the inputs.
	p = dialRaw(t, alice)
	done = openAsync(p.nodeID())
	acceptAsRawPeer(t, p, "vanish-2")
	if b := balance(t, alice); b.LockedSat == 0 {
		t.Fatalf("no input leased during the funding: %+v", b)
	}
	if err := alice.Kill(); err != nil {
		t.Fatal(err)
	}
	<-done
	if err := alice.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if b := balance(t, alice); b.LockedSat != 0 || total(b) != total(before) {
		t.Fatalf("balance after a restart mid-funding %+v, before %+v", b, before)
	}
	if l, err := alice.Client().ChannelList(ctxCall(t)); err != nil || len(l.Channels) != 0 {
		t.Fatalf("channels after abandoned fundings: %+v, %v", l, err)
	}
}
