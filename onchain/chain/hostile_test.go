package chain

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/peer"
	"github.com/btcsuite/btcd/wire"
)

// dialPeer connects a stock btcd peer to c and waits for the handshake.
func dialPeer(t *testing.T, c *Chain) *peer.Peer {
	t.Helper()
	return dialPeerWith(t, c, peer.MessageListeners{})
}

// dialPeerWith is dialPeer with message listeners.
func dialPeerWith(t *testing.T, c *Chain, listeners peer.MessageListeners) *peer.Peer {
	t.Helper()
	addr := c.ListenAddr().String()
	p, err := peer.NewOutboundPeer(&peer.Config{
		UserAgentName:    "hostile",
		UserAgentVersion: "1.0.0",
		ChainParams:      &chaincfg.RegressionNetParams,
		Services:         wire.SFNodeNetwork | wire.SFNodeWitness,
		AllowSelfConns:   true,
		Listeners:        listeners,
	}, addr)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	p.AssociateConnection(conn)
	t.Cleanup(func() { p.Disconnect(); p.WaitForDisconnect() })
	waitFor(t, "hostile peer handshake", func() bool { return p.VerAckReceived() && c.NumPeers() == 1 })
	return p
}

// validBlock mines a block on a separate chain with the same genesis: a
// valid child of the regtest genesis block, to be spoiled by the tests.
func validBlock(t *testing.T) *wire.MsgBlock {
	t.Helper()
	src := newTestChain(t, noListen)
	h := mine(t, src, 1, nil)[0]
	b, err := src.BlockByHash(h)
	if err != nil {
		t.Fatal(err)
	}
	msg := b.MsgBlock().Copy()
	return msg
}

// failPoW sets a nonce under which the header misses its target.
func failPoW(h *wire.BlockHeader) {
	target := blockchain.CompactToBig(h.Bits)
	for n := uint32(0); ; n++ {
		h.Nonce = n
		hash := h.BlockHash()
		if blockchain.HashToBig(&hash).Cmp(target) > 0 {
			return
		}
	}
}

func TestHostilePeerIsBanned(t *testing.T) {
	tests := []struct {
		name string
		// send misbehaves; a nil peer means a raw connection is used.
		send func(t *testing.T, c *Chain, p *peer.Peer, raw net.Conn)
		raw  bool
	}{
		{
			name: "block with bad merkle root",
			send: func(t *testing.T, c *Chain, p *peer.Peer, _ net.Conn) {
				b := validBlock(t)
				b.Header.MerkleRoot = chainhash.Hash{1}
				solve(&b.Header)
				p.QueueMessage(b, nil)
			},
		},
		{
			name: "block with bad proof of work",
			send: func(t *testing.T, c *Chain, p *peer.Peer, _ net.Conn) {
				b := validBlock(t)
				failPoW(&b.Header)
				p.QueueMessage(b, nil)
			},
		},
		{
			name: "header with bad proof of work",
			send: func(t *testing.T, c *Chain, p *peer.Peer, _ net.Conn) {
				b := validBlock(t)
				failPoW(&b.Header)
				msg := wire.NewMsgHeaders()
				_ = msg.AddBlockHeader(&b.Header)
				p.QueueMessage(msg, nil)
			},
		},
		{
			name: "transaction with negative output",
			send: func(t *testing.T, c *Chain, p *peer.Peer, _ net.Conn) {
				tx := wire.NewMsgTx(2)
				tx.AddTxIn(wire.NewTxIn(&wire.OutPoint{Hash: chainhash.Hash{9}}, []byte{0x51}, nil))
				tx.AddTxOut(wire.NewTxOut(-1, []byte{0x51}))
				p.QueueMessage(tx, nil)
			},
		},
		{
			name: "message with bad checksum",
			raw:  true,
			send: func(t *testing.T, c *Chain, _ *peer.Peer, raw net.Conn) {
				var hdr bytes.Buffer
				_ = binary.Write(&hdr, binary.LittleEndian, uint32(chaincfg.RegressionNetParams.Net))
				var cmd [wire.CommandSize]byte
				copy(cmd[:], "version")
				hdr.Write(cmd[:])
				_ = binary.Write(&hdr, binary.LittleEndian, uint32(4))
				hdr.Write([]byte{0xde, 0xad, 0xbe, 0xef}) // checksum
				hdr.Write([]byte{1, 2, 3, 4})             // payload
				if _, err := raw.Write(hdr.Bytes()); err != nil {
					t.Fatal(err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestChain(t)
			mine(t, c, 3, nil)
			tip := tipOf(c)

			var (
				p   *peer.Peer
				raw net.Conn
			)
			if tt.raw {
				var err error
				raw, err = net.Dial("tcp", c.ListenAddr().String())
				if err != nil {
					t.Fatal(err)
				}
				defer raw.Close()
			} else {
				p = dialPeer(t, c)
			}
			tt.send(t, c, p, raw)

			waitFor(t, "ban", func() bool { return c.IsBanned("127.0.0.1") })
			if p != nil {
				waitFor(t, "disconnect", func() bool { return !p.Connected() })
			} else {
				assertClosed(t, raw)
			}
			waitFor(t, "peer gone", func() bool { return c.NumPeers() == 0 })

			// A new connection from the banned address is closed at once.
			conn, err := net.Dial("tcp", c.ListenAddr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			assertClosed(t, conn)

			// The chain is untouched and still works.
			if got := tipOf(c); got != tip {
				t.Fatalf("tip moved to %s", got)
			}
			mine(t, c, 1, nil)
		})
	}
}

// assertClosed checks that the remote end closes conn without sending a
// version message.
func assertClosed(t *testing.T, conn net.Conn) {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(waitTimeout))
	buf := make([]byte, 1024)
	for {
		_, err := conn.Read(buf)
		if err == nil {
			continue // a reject message before the close is fine
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatal("connection from a banned address stayed open")
		}
		if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
			var oe *net.OpError
			if !errors.As(err, &oe) {
				t.Fatalf("read: %v", err)
			}
		}
		return
	}
}
