package chain

import (
	"bytes"
	"testing"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/peer"
	"github.com/btcsuite/btcd/wire"
)

// FuzzPeerMessage feeds arbitrary bytes, decoded as Bitcoin P2P messages,
// to the handlers a peer reaches. Whatever arrives, the chain must not
// panic and its tip must stay valid.
func FuzzPeerMessage(f *testing.F) {
	c := newTestChain(f, noListen)
	key := newTestKey(f)
	hashes := mine(f, c, 3, key.addr)

	net := chaincfg.RegressionNetParams.Net
	seed := func(msg wire.Message) {
		var buf bytes.Buffer
		if err := wire.WriteMessage(&buf, msg, wire.ProtocolVersion, net); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	headers := wire.NewMsgHeaders()
	inv := wire.NewMsgInv()
	for _, h := range hashes {
		b, err := c.BlockByHash(h)
		if err != nil {
			f.Fatal(err)
		}
		hdr := b.MsgBlock().Header
		_ = headers.AddBlockHeader(&hdr)
		_ = inv.AddInvVect(wire.NewInvVect(wire.InvTypeBlock, &h))
		seed(b.MsgBlock())
		seed(b.MsgBlock().Transactions[0])
	}
	seed(headers)
	seed(inv)
	seed(wire.NewMsgNotFound())

	f.Fuzz(func(t *testing.T, data []byte) {
		msg, _, err := wire.ReadMessage(bytes.NewReader(data), wire.ProtocolVersion, net)
		if err != nil {
			return
		}
		cp := &chainPeer{}
		cp.Peer = peer.NewInboundPeer(c.peerConfig(cp))
		done := make(chan struct{})
		c.worker.send(func() {
			defer close(done)
			w := c.worker
			w.peers[cp] = struct{}{}
			cp.sync.inFlight = make(map[chainhash.Hash]struct{})
			switch m := msg.(type) {
			case *wire.MsgHeaders:
				w.handleHeaders(cp, m.Headers)
			case *wire.MsgInv:
				w.handleInv(cp, m)
			case *wire.MsgNotFound:
				w.handleNotFound(cp, m)
			case *wire.MsgBlock:
				w.handleBlock(cp, btcutil.NewBlock(m))
			case *wire.MsgTx:
				w.handleTx(cp, btcutil.NewTx(m))
			}
			w.peerDone(cp)
		})
		<-done
		if _, h := c.BestBlock(); h < 3 {
			t.Fatalf("tip went back to %d", h)
		}
	})
}
