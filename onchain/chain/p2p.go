package chain

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/connmgr"
	"github.com/btcsuite/btcd/peer"
	"github.com/btcsuite/btcd/wire"
)

const (
	userAgentName    = "flash"
	userAgentVersion = "0.1.0"

	// trickleInterval is how often queued transaction announcements go
	// out; short, because a local network wants its transactions relayed
	// at once.
	trickleInterval = 50 * time.Millisecond

	dialTimeout = 5 * time.Second

	// maxPeers bounds the connections, inbound and outbound together, so
	// that a flood of connections cannot exhaust the node.
	maxPeers = 125
)

// chainPeer is one Bitcoin P2P connection.
type chainPeer struct {
	*peer.Peer
	connReq *connmgr.ConnReq // nil for inbound connections

	// continueHash is the last block of a full getblocks answer; when the
	// peer fetches it, it is told about our tip so that it asks for more
	// (the blocks-first dance of stock btcd).
	continueHash atomic.Pointer[chainhash.Hash]

	sync syncState // owned by the worker
}

// ListenAddr is the bound P2P address (port 0 resolved), nil if the chain
// does not listen or has not started.
func (c *Chain) ListenAddr() net.Addr {
	if c.listener == nil {
		return nil
	}
	return c.listener.Addr()
}

// NumPeers is the number of peers that completed the handshake.
func (c *Chain) NumPeers() int {
	return len(c.readyPeers())
}

func (c *Chain) readyPeers() []*chainPeer {
	c.peersMu.Lock()
	defer c.peersMu.Unlock()
	var out []*chainPeer
	for cp := range c.peers {
		if cp.VerAckReceived() && cp.Connected() {
			out = append(out, cp)
		}
	}
	return out
}

// ConnectPeer dials addr (host:port). A permanent peer is redialled with
// growing delays whenever the connection fails or drops.
func (c *Chain) ConnectPeer(addr string, permanent bool) error {
	if !c.started.Load() || c.stopping() {
		return errors.New("chain: connect peer: not running")
	}
	if _, port, err := net.SplitHostPort(addr); err != nil || port == "" || port == "0" {
		return fmt.Errorf("chain: connect peer %q: want host:port", addr)
	}
	tcpAddr, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return fmt.Errorf("chain: connect peer %q: %w", addr, err)
	}
	if c.isBanned(tcpAddr.IP.String()) {
		return fmt.Errorf("chain: connect peer %s: banned", addr)
	}
	go c.connMgr.Connect(&connmgr.ConnReq{Addr: tcpAddr, Permanent: permanent})
	return nil
}

// IsBanned reports whether an IP address is currently banned.
func (c *Chain) IsBanned(ip string) bool { return c.isBanned(ip) }

func (c *Chain) startNetwork() error {
	var listeners []net.Listener
	if c.cfg.Listen != "" {
		l, err := net.Listen("tcp", c.cfg.Listen)
		if err != nil {
			return fmt.Errorf("chain: listen on %s: %w", c.cfg.Listen, err)
		}
		c.listener = l
		listeners = append(listeners, l)
		c.log.Info("listening for chain peers", "addr", l.Addr())
	}
	cm, err := connmgr.New(&connmgr.Config{
		Listeners:     listeners,
		OnAccept:      c.acceptConn,
		RetryDuration: c.cfg.retryDuration,
		OnConnection:  c.outboundConnected,
		Dial:          c.dial,
	})
	if err != nil {
		for _, l := range listeners {
			l.Close()
		}
		return fmt.Errorf("chain: connection manager: %w", err)
	}
	c.connMgr = cm
	cm.Start()
	c.started.Store(true)
	for _, addr := range c.cfg.ConnectPeers {
		if err := c.ConnectPeer(addr, true); err != nil {
			return err
		}
	}
	return nil
}

func (c *Chain) stopNetwork() {
	if c.connMgr != nil {
		c.connMgr.Stop()
		c.connMgr.Wait()
	}
	c.peersMu.Lock()
	peers := make([]*chainPeer, 0, len(c.peers))
	for cp := range c.peers {
		peers = append(peers, cp)
	}
	c.peersMu.Unlock()
	for _, cp := range peers {
		cp.Disconnect()
	}
	c.peersWg.Wait()
}

func (c *Chain) stopping() bool {
	select {
	case <-c.quit:
		return true
	default:
		return false
	}
}

func (c *Chain) dial(addr net.Addr) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr.String())
	if err == nil && c.isBanned(host) {
		return nil, fmt.Errorf("dial %s: peer is banned", addr)
	}
	return net.DialTimeout(addr.Network(), addr.String(), dialTimeout)
}

func (c *Chain) acceptConn(conn net.Conn) {
	host, _, err := net.SplitHostPort(conn.RemoteAddr().String())
	if err != nil || c.isBanned(host) {
		conn.Close()
		return
	}
	cp := &chainPeer{}
	cp.Peer = peer.NewInboundPeer(c.peerConfig(cp))
	c.runPeer(cp, conn)
}

func (c *Chain) outboundConnected(req *connmgr.ConnReq, conn net.Conn) {
	cp := &chainPeer{connReq: req}
	p, err := peer.NewOutboundPeer(c.peerConfig(cp), req.Addr.String())
	if err != nil {
		c.log.Warn("outbound peer", "addr", req.Addr, "err", err)
		conn.Close()
		c.connMgr.Disconnect(req.ID())
		return
	}
	cp.Peer = p
	c.runPeer(cp, conn)
}

// runPeer starts the protocol on conn and cleans up when it ends.
func (c *Chain) runPeer(cp *chainPeer, conn net.Conn) {
	c.peersMu.Lock()
	if c.stopping() || len(c.peers) >= maxPeers {
		c.peersMu.Unlock()
		conn.Close()
		if cp.connReq != nil && !c.stopping() {
			c.connMgr.Disconnect(cp.connReq.ID())
		}
		return
	}
	c.peers[cp] = struct{}{}
	c.peersWg.Add(1)
	cp.AssociateConnection(conn)
	c.peersMu.Unlock()
	c.log.Debug("chain peer connected", "addr", cp.Addr(), "inbound", cp.Inbound())

	go func() {
		defer c.peersWg.Done()
		cp.WaitForDisconnect()
		c.peersMu.Lock()
		delete(c.peers, cp)
		c.peersMu.Unlock()
		c.worker.send(&peerDoneMsg{cp: cp})
		c.log.Debug("chain peer disconnected", "addr", cp.Addr())
		if cp.connReq != nil && !c.stopping() {
			if cp.connReq.Permanent {
				c.connMgr.Disconnect(cp.connReq.ID())
			} else {
				c.connMgr.Remove(cp.connReq.ID())
			}
		}
	}()
}

// ban disconnects cp and refuses its IP address for the ban duration.
func (c *Chain) ban(cp *chainPeer, reason string) {
	host, _, err := net.SplitHostPort(cp.Addr())
	if err != nil {
		host = cp.Addr()
	}
	c.banMu.Lock()
	c.banned[host] = time.Now().Add(c.cfg.BanDuration)
	c.banMu.Unlock()
	c.log.Warn("banning chain peer", "addr", cp.Addr(), "reason", reason,
		"duration", c.cfg.BanDuration)
	cp.Disconnect()
}

func (c *Chain) isBanned(host string) bool {
	c.banMu.Lock()
	defer c.banMu.Unlock()
	until, ok := c.banned[host]
	if !ok {
		return false
	}
	if time.Now().After(until) {
		delete(c.banned, host)
		return false
	}
	return true
}

// peerConfig wires a peer's messages to the chain. Data messages go to the
// worker; the block and transaction handlers wait for it, which keeps a fast
// peer from queueing unbounded work. Requests for data are served directly
// from the peer's goroutine: they only read.
func (c *Chain) peerConfig(cp *chainPeer) *peer.Config {
	return &peer.Config{
		NewestBlock: func() (*chainhash.Hash, int32, error) {
			best := c.chain.BestSnapshot()
			return &best.Hash, best.Height, nil
		},
		UserAgentName:     userAgentName,
		UserAgentVersion:  userAgentVersion,
		UserAgentComments: []string{c.instance},
		// btcd detects self connections with nonces kept in a
		// process-wide cache, which also rejects two chains of one
		// process talking to each other (as in tests and a local
		// test network run in one process). The instance tag in the
		// user agent does the job per chain instead.
		AllowSelfConns:  true,
		ChainParams:     c.params,
		Services:        wire.SFNodeNetwork | wire.SFNodeWitness,
		TrickleInterval: trickleInterval,
		Listeners: peer.MessageListeners{
			OnVersion: func(_ *peer.Peer, msg *wire.MsgVersion) *wire.MsgReject {
				if strings.Contains(msg.UserAgent, "("+c.instance+")") {
					return wire.NewMsgReject(msg.Command(), wire.RejectDuplicate, "connected to self")
				}
				return nil
			},
			OnVerAck: func(_ *peer.Peer, _ *wire.MsgVerAck) {
				c.worker.send(&peerReadyMsg{cp: cp})
			},
			OnInv: func(_ *peer.Peer, msg *wire.MsgInv) {
				c.worker.send(&invMsg{cp: cp, inv: msg})
			},
			OnHeaders: func(_ *peer.Peer, msg *wire.MsgHeaders) {
				c.worker.send(&headersMsg{cp: cp, headers: msg})
			},
			OnNotFound: func(_ *peer.Peer, msg *wire.MsgNotFound) {
				c.worker.send(&notFoundMsg{cp: cp, nf: msg})
			},
			OnBlock: func(_ *peer.Peer, msg *wire.MsgBlock, buf []byte) {
				done := make(chan struct{})
				block := btcutil.NewBlockFromBlockAndBytes(msg, buf)
				if c.worker.send(&blockMsg{cp: cp, block: block, done: done}) {
					c.waitWorker(done)
				}
			},
			OnTx: func(_ *peer.Peer, msg *wire.MsgTx) {
				done := make(chan struct{})
				if c.worker.send(&txMsg{cp: cp, tx: btcutil.NewTx(msg), done: done}) {
					c.waitWorker(done)
				}
			},
			OnGetData: func(_ *peer.Peer, msg *wire.MsgGetData) {
				c.serveGetData(cp, msg)
			},
			OnGetHeaders: func(_ *peer.Peer, msg *wire.MsgGetHeaders) {
				c.serveGetHeaders(cp, msg)
			},
			OnGetBlocks: func(_ *peer.Peer, msg *wire.MsgGetBlocks) {
				c.serveGetBlocks(cp, msg)
			},
			OnRead: func(_ *peer.Peer, _ int, _ wire.Message, err error) {
				// btcd's peer tolerates malformed messages from
				// localhost on regtest (for its own test harness);
				// we do not.
				var msgErr *wire.MessageError
				if errors.As(err, &msgErr) {
					c.ban(cp, fmt.Sprintf("malformed message: %v", err))
				}
			},
		},
	}
}

func (c *Chain) waitWorker(done chan struct{}) {
	select {
	case <-done:
	case <-c.worker.done:
	}
}
