package peer

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/flash-ln/flash/channel/lnwire"
)

// msgConn is the part of a noise.Conn a Peer uses; tests substitute an
// in-memory connection.
type msgConn interface {
	ReadMessage() ([]byte, error)
	WriteMessage(msg []byte) error
	SetWriteDeadline(t time.Time) error
	Close() error
}

// outMsg is one encoded message waiting for the writer.
type outMsg struct {
	raw []byte
	// closeAfter closes the connection, with reason, once raw is
	// written: how a warning or error goes out before a disconnect.
	closeAfter bool
	reason     error
}

// closeLinger is how long a connection stays open after its final warning
// or error was written, reading and discarding, so that the message reaches
// the peer: closing a socket with unread input resets the connection, and
// the peer may lose what it had not read yet.
const closeLinger = time.Second

// maxControlQueue bounds queued pings, pongs and final warnings; a pong
// that does not fit is dropped, which only a peer pinging far faster than
// it reads can cause.
const maxControlQueue = 16

// Peer is one established connection to a remote node, after a successful
// init exchange. Its methods are safe for concurrent use.
type Peer struct {
	cfg     *Config
	log     *slog.Logger
	conn    msgConn
	pub     *btcec.PublicKey
	key     nodeKey
	addr    string
	inbound bool
	// features is the union of the peer's init feature fields.
	features    *lnwire.FeatureVector
	connectedAt time.Time

	sendQ chan outMsg
	ctrlQ chan outMsg
	recvQ chan lnwire.Message // closed by the read loop when it exits

	// failing is set once a final message is queued: the connection is
	// closing and what the peer still sends is read and discarded.
	failing atomic.Bool

	quit      chan struct{}
	closeOnce sync.Once
	errMu     sync.Mutex
	err       error

	// finished is closed after PeerDisconnected returned.
	finished chan struct{}

	live  liveness
	pings tokenBucket // read loop only
}

func newPeer(cfg *Config, conn msgConn, pub *btcec.PublicKey, addr string,
	inbound bool, features *lnwire.FeatureVector) *Peer {

	now := time.Now()
	p := &Peer{
		cfg:         cfg,
		conn:        conn,
		pub:         pub,
		key:         keyOf(pub),
		addr:        addr,
		inbound:     inbound,
		features:    features,
		connectedAt: now,
		sendQ:       make(chan outMsg, cfg.SendQueueSize),
		ctrlQ:       make(chan outMsg, maxControlQueue),
		recvQ:       make(chan lnwire.Message, cfg.RecvQueueSize),
		quit:        make(chan struct{}),
		finished:    make(chan struct{}),
		live:        liveness{timeout: cfg.PongTimeout, sentAt: now},
		pings: tokenBucket{
			tokens: float64(cfg.PingBurst), burst: float64(cfg.PingBurst),
			refill: cfg.PingRefill, last: now,
		},
	}
	p.log = cfg.Logger.With("peer", p.String(), "inbound", inbound)
	return p
}

// NodeID returns the peer's node id, its authenticated static key.
func (p *Peer) NodeID() *btcec.PublicKey { return p.pub }

// String returns the node id in hex.
func (p *Peer) String() string { return hex.EncodeToString(p.key[:]) }

// Address returns the network address of the connection: the one dialled
// for an outbound connection, the remote socket address for an inbound one.
func (p *Peer) Address() string { return p.addr }

// Inbound reports whether the peer opened the connection.
func (p *Peer) Inbound() bool { return p.inbound }

// Features returns a copy of the features the peer sent in init (both of
// its fields combined, as BOLT 1 asks).
func (p *Peer) Features() *lnwire.FeatureVector { return p.features.Clone() }

// ConnectedAt returns when the init exchange completed.
func (p *Peer) ConnectedAt() time.Time { return p.connectedAt }

// Done is closed when the connection is closing; Err then says why.
func (p *Peer) Done() <-chan struct{} { return p.quit }

// Err returns why the connection closed or is closing, or nil while it is
// up.
func (p *Peer) Err() error {
	p.errMu.Lock()
	defer p.errMu.Unlock()
	return p.err
}

// alive reports whether the connection is up and not on its way out.
func (p *Peer) alive() bool {
	if p.failing.Load() {
		return false
	}
	select {
	case <-p.quit:
		return false
	default:
		return true
	}
}

// Send queues msg for the peer. It waits while the send queue is full, until
// ctx is done or the connection closes. A nil error means queued: messages
// queued when the connection closes are dropped.
func (p *Peer) Send(ctx context.Context, msg lnwire.Message) error {
	raw, err := lnwire.EncodeMessage(msg)
	if err != nil {
		return fmt.Errorf("send %s to %s: %w", msg.MsgType(), p, err)
	}
	if !p.alive() {
		return fmt.Errorf("send %s to %s: %w", msg.MsgType(), p, ErrPeerClosed)
	}
	select {
	case p.sendQ <- outMsg{raw: raw}:
		return nil
	case <-p.quit:
		return fmt.Errorf("send %s to %s: %w", msg.MsgType(), p, ErrPeerClosed)
	case <-ctx.Done():
		return fmt.Errorf("send %s to %s: %w", msg.MsgType(), p, context.Cause(ctx))
	}
}

// Disconnect closes the connection at once, giving reason as its Err.
// Queued messages are dropped.
func (p *Peer) Disconnect(reason error) {
	if reason == nil {
		reason = ErrDisconnectRequested
	}
	p.close(reason)
}

// Fail sends msg (typically an lnwire.Warning or lnwire.Error) after the
// messages already queued and then closes the connection with reason. If
// the send queue is full the connection closes without sending msg.
func (p *Peer) Fail(msg lnwire.Message, reason error) {
	if reason == nil {
		reason = ErrDisconnectRequested
	}
	raw, err := lnwire.EncodeMessage(msg)
	if err != nil {
		p.close(reason)
		return
	}
	p.setErr(reason)
	p.failing.Store(true)
	select {
	case p.sendQ <- outMsg{raw: raw, closeAfter: true, reason: reason}:
	default:
		p.close(reason)
	}
}

// failRaw queues raw (nil for nothing) as the last control message and
// closes after it is written. With a full control queue it closes at once.
func (p *Peer) failRaw(raw []byte, reason error) {
	p.setErr(reason)
	p.failing.Store(true)
	select {
	case p.ctrlQ <- outMsg{raw: raw, closeAfter: true, reason: reason}:
	default:
		p.close(reason)
	}
}

// warn sends a connection-wide warning and closes the connection.
func (p *Peer) warn(reason error) {
	p.log.Info("disconnecting misbehaving peer", "reason", reason)
	raw, err := lnwire.EncodeMessage(&lnwire.Warning{Data: []byte(reason.Error())})
	if err != nil {
		raw = nil
	}
	p.failRaw(raw, reason)
}

func (p *Peer) setErr(reason error) {
	p.errMu.Lock()
	defer p.errMu.Unlock()
	if p.err == nil {
		p.err = reason
	}
}

// close closes the connection; the first reason given is kept.
func (p *Peer) close(reason error) {
	p.setErr(reason)
	p.closeOnce.Do(func() {
		close(p.quit)
		p.conn.Close()
	})
}

// sendControl queues a ping or pong ahead of ordinary messages, dropping it
// if the control queue is full.
func (p *Peer) sendControl(msg lnwire.Message) bool {
	raw, err := lnwire.EncodeMessage(msg)
	if err != nil {
		return false
	}
	select {
	case p.ctrlQ <- outMsg{raw: raw}:
		return true
	default:
		return false
	}
}

// writeLoop writes queued messages, control messages first, each under the
// write deadline.
func (p *Peer) writeLoop() {
	for {
		select {
		case <-p.quit:
			return
		default:
		}
		var m outMsg
		select {
		case m = <-p.ctrlQ:
		default:
			select {
			case m = <-p.ctrlQ:
			case m = <-p.sendQ:
			case <-p.quit:
				return
			}
		}
		if m.raw != nil {
			if err := p.conn.SetWriteDeadline(time.Now().Add(p.cfg.WriteTimeout)); err != nil {
				p.close(fmt.Errorf("set write deadline: %w", err))
				return
			}
			if err := p.conn.WriteMessage(m.raw); err != nil {
				p.close(fmt.Errorf("write: %w", err))
				return
			}
		}
		if m.closeAfter {
			t := time.NewTimer(closeLinger)
			select {
			case <-t.C:
			case <-p.quit:
			}
			t.Stop()
			p.close(m.reason)
			return
		}
	}
}

// readLoop reads and handles messages until the connection closes. Once a
// final warning or error is queued it only discards what it reads.
func (p *Peer) readLoop() {
	defer close(p.recvQ)
	for {
		raw, err := p.conn.ReadMessage()
		if err != nil {
			p.close(fmt.Errorf("read: %w", err))
			return
		}
		if p.failing.Load() {
			continue
		}
		// When handleRaw gives up on the connection it has either
		// closed it, so the next read fails, or queued a final
		// message, so the next reads are discarded.
		p.handleRaw(raw, time.Now())
	}
}

// handleRaw applies BOLT 1 to one received message and reports whether the
// connection stays usable.
func (p *Peer) handleRaw(raw []byte, now time.Time) bool {
	msg, err := lnwire.ParseMessage(raw)
	if err != nil {
		p.warn(fmt.Errorf("malformed message: %w", err))
		return false
	}
	switch m := msg.(type) {
	case *lnwire.Init:
		p.warn(errors.New("protocol violation: second init"))
		return false

	case *lnwire.Ping:
		if !p.pings.allow(now) {
			p.warn(errors.New("too many pings"))
			return false
		}
		if pong := lnwire.NewPong(m); pong != nil {
			p.sendControl(pong)
		}
		return true

	case *lnwire.Pong:
		if !p.live.pong(len(m.Ignored)) {
			p.log.Debug("ignoring unsolicited pong", "len", len(m.Ignored))
		}
		return true

	case *lnwire.Warning:
		p.log.Warn("peer sent warning", "channel", m.ChannelID,
			"data", lnwire.PrintableData(m.Data))
		return p.deliver(m)

	case *lnwire.Error:
		p.log.Warn("peer sent error", "channel", m.ChannelID,
			"data", lnwire.PrintableData(m.Data))
		if !p.deliver(m) {
			return false
		}
		if m.ChannelID.IsZero() {
			// It fails every channel with us: nothing more can
			// happen on this connection.
			p.close(fmt.Errorf("connection-wide error from peer: %w", m))
			return false
		}
		return true

	case *lnwire.UnknownMessage:
		if p.handles(m.Type) {
			return p.deliver(m)
		}
		if m.Type.IsOdd() {
			p.log.Debug("ignoring unknown odd message", "type", uint16(m.Type))
			return true
		}
		p.warn(fmt.Errorf("unknown even message type %d", uint16(m.Type)))
		return false
	}
	return p.deliver(msg)
}

// handles reports whether the Handler takes messages of type t that lnwire
// does not decode.
func (p *Peer) handles(t lnwire.MessageType) bool {
	for _, h := range p.cfg.HandledTypes {
		if h == t {
			return true
		}
	}
	return false
}

// deliver queues msg for the Handler. When the queue is full it waits, which
// stops the reading of this connection only; the liveness check is
// suspended meanwhile, as an unread pong is then our fault, not the peer's.
func (p *Peer) deliver(msg lnwire.Message) bool {
	select {
	case p.recvQ <- msg:
		return true
	default:
	}
	p.live.setStalled(true, time.Now())
	defer func() { p.live.setStalled(false, time.Now()) }()
	select {
	case p.recvQ <- msg:
		return true
	case <-p.quit:
		return false
	}
}

// dispatch hands the connection and its messages to the Handler, after the
// previous connection to the same node (prev, may be nil) finished.
func (p *Peer) dispatch(h Handler, prev *Peer) {
	if prev != nil {
		<-prev.finished
	}
	h.PeerConnected(p)
	for msg := range p.recvQ {
		h.HandleMessage(p, msg)
	}
}

// pingLoop pings the peer every PingInterval and closes the connection when
// a pong is late.
func (p *Peer) pingLoop() {
	tick := max(min(p.cfg.PingInterval, p.cfg.PongTimeout)/4, time.Millisecond)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-p.quit:
			return
		case now := <-t.C:
			if p.live.expired(now) {
				p.log.Info("disconnecting unresponsive peer")
				p.close(ErrPongTimeout)
				return
			}
			if p.live.due(now, p.cfg.PingInterval) {
				// A random pong length, so that a pong really
				// answers our ping.
				// Recorded before queueing: the pong may be
				// read before sendControl returns.
				n := uint16(rand.IntN(64))
				p.live.pingSent(now, int(n))
				if !p.sendControl(&lnwire.Ping{NumPongBytes: n}) {
					p.live.pingDropped()
				}
			}
		}
	}
}
