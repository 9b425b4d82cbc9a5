package peer

import (
	"encoding/binary"
	"io"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/flash-ln/flash/channel/lnwire"
)

// nopConn is a connection that accepts writes and has nothing to read.
type nopConn struct{}

func (nopConn) ReadMessage() ([]byte, error)     { return nil, io.EOF }
func (nopConn) WriteMessage([]byte) error        { return nil }
func (nopConn) SetWriteDeadline(time.Time) error { return nil }
func (nopConn) Close() error                     { return nil }

type nopHandler struct{}

func (nopHandler) PeerConnected(*Peer)                 {}
func (nopHandler) HandleMessage(*Peer, lnwire.Message) {}
func (nopHandler) PeerDisconnected(*btcec.PublicKey)   {}

// frames joins messages as the fuzz input encodes them: each with a
// two-byte length prefix.
func frames(msgs ...[]byte) []byte {
	var out []byte
	for _, m := range msgs {
		out = binary.BigEndian.AppendUint16(out, uint16(len(m)))
		out = append(out, m...)
	}
	return out
}

func mustEncode(f *testing.F, msg lnwire.Message) []byte {
	b, err := lnwire.EncodeMessage(msg)
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// FuzzHandleRaw feeds arbitrary decrypted messages to a connection's read
// path: it must never panic, never hand a control message to the Handler,
// and stop reading only while closing the connection.
func FuzzHandleRaw(f *testing.F) {
	key, err := btcec.NewPrivateKey()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(frames(mustEncode(f, &lnwire.Ping{NumPongBytes: 4, Ignored: []byte{0}})))
	f.Add(frames(mustEncode(f, &lnwire.Ping{NumPongBytes: 65532})))
	f.Add(frames(mustEncode(f, &lnwire.Pong{Ignored: make([]byte, 3)})))
	f.Add(frames(mustEncode(f, &lnwire.Warning{Data: []byte("w")}),
		mustEncode(f, &lnwire.Error{ChannelID: lnwire.ChannelID{1}, Data: []byte("e")}),
		mustEncode(f, &lnwire.Error{})))
	f.Add(frames(mustEncode(f, &lnwire.Init{Features: *DefaultFeatures()})))
	f.Add(frames(mustEncode(f, &lnwire.UpdateFee{FeeratePerKw: 253}),
		mustEncode(f, &lnwire.Shutdown{ScriptPubKey: []byte{0, 20}})))
	f.Add(frames([]byte{0x80, 0x01, 1, 2}, []byte{0x80, 0x00}))
	f.Add(frames([]byte{0x01, 0x00}, []byte{0x00}, []byte{}))

	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Config{NodeKey: key, Handler: nopHandler{},
			HandledTypes: []lnwire.MessageType{lnwire.MsgChannelUpdate}}.withDefaults()
		if err != nil {
			t.Fatal(err)
		}
		p := newPeer(&cfg, nopConn{}, key.PubKey(), "fuzz", true, DefaultFeatures())
		now := time.Unix(1700000000, 0)
		for len(data) >= 2 {
			n := int(binary.BigEndian.Uint16(data))
			data = data[2:]
			n = min(n, len(data))
			raw := data[:n]
			data = data[n:]

			keep := p.handleRaw(raw, now)
			now = now.Add(time.Second)
			select {
			case msg := <-p.recvQ:
				switch msg.(type) {
				case *lnwire.Init, *lnwire.Ping, *lnwire.Pong:
					t.Fatalf("control message %s delivered", msg.MsgType())
				}
			default:
			}
			if !keep {
				if p.Err() == nil {
					t.Fatal("stopped reading without a reason")
				}
				return
			}
		}
	})
}
