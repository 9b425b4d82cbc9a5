package peer

import (
	"errors"
	"log/slog"
	"net"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/daemon/noise"
)

// Defaults for the zero fields of Config.
const (
	DefaultInitTimeout     = 15 * time.Second
	DefaultPingInterval    = time.Minute
	DefaultPongTimeout     = 30 * time.Second
	DefaultWriteTimeout    = 30 * time.Second
	DefaultMinBackoff      = time.Second
	DefaultMaxBackoff      = time.Minute
	DefaultStableAfter     = time.Minute
	DefaultSendQueueSize   = 256
	DefaultRecvQueueSize   = 64
	DefaultMaxPendingInits = 64

	// DefaultPingBurst and DefaultPingRefill rate-limit the pings a peer
	// may send: a burst of DefaultPingBurst, then one per
	// DefaultPingRefill. BOLT 1 expects about one ping every 30 seconds.
	DefaultPingBurst  = 10
	DefaultPingRefill = 5 * time.Second
)

// Handler receives established peers and their messages. The node
// implements it; see the package documentation for the order and
// concurrency of the calls.
type Handler interface {
	// PeerConnected is called once the init exchange succeeded, before
	// any of the peer's messages.
	PeerConnected(p *Peer)

	// HandleMessage is called for every message of the peer other than
	// init, ping and pong, in the order received. An error or warning
	// is handed over too, so channels can be failed as BOLT 1 requires;
	// an error with an all-zero channel id is delivered before the
	// connection closes.
	HandleMessage(p *Peer, msg lnwire.Message)

	// PeerDisconnected is called once the connection is gone and after
	// the last HandleMessage for it.
	PeerDisconnected(nodeID *btcec.PublicKey)
}

// PersistentPeer is a peer the node keeps connected.
type PersistentPeer struct {
	NodeID  *btcec.PublicKey
	Address string // host:port
}

// PeerStore keeps the persistent peers across restarts. The daemon backs it
// with its database; MemoryStore serves tests.
type PeerStore interface {
	// Load returns every stored peer.
	Load() ([]PersistentPeer, error)
	// Save stores p, replacing the address of a peer already stored.
	Save(p PersistentPeer) error
	// Delete forgets the node; deleting an unknown node is not an error.
	Delete(nodeID *btcec.PublicKey) error
}

// Config configures a Manager. NodeKey and Handler are required; zero
// values elsewhere take the defaults above.
type Config struct {
	// NodeKey is our static key; its public half is our node id.
	NodeKey *btcec.PrivateKey

	// ChainHash is the genesis hash of the chain we operate on, sent in
	// init's networks and required among the peer's networks.
	ChainHash chainhash.Hash

	// Features are the init features we advertise and understand; nil
	// means DefaultFeatures.
	Features *lnwire.FeatureVector

	// Listener, if set, is where inbound connections arrive. The Manager
	// owns it from Start and closes it on Stop. ListenAddr is used when
	// Listener is nil; both empty means outbound connections only.
	Listener   net.Listener
	ListenAddr string

	// HandledTypes are message types that lnwire does not decode but the
	// Handler does (gossip, for instance). They are delivered as
	// *lnwire.UnknownMessage instead of being ignored (odd) or closing
	// the connection (even).
	HandledTypes []lnwire.MessageType

	// Store keeps persistent peers; nil keeps them in memory only.
	Store PeerStore

	// Handler receives peers and messages.
	Handler Handler

	// Dial opens outbound network connections; nil uses net.Dialer.
	Dial noise.DialFunc

	// InitTimeout bounds the handshake and the init exchange of a new
	// connection.
	InitTimeout time.Duration

	// PingInterval is how often we ping a peer; PongTimeout is how long
	// we wait for its pong before closing the connection.
	PingInterval time.Duration
	PongTimeout  time.Duration

	// WriteTimeout bounds each message write, so a peer that stops
	// reading is disconnected instead of holding our writer.
	WriteTimeout time.Duration

	// MinBackoff and MaxBackoff bound the delay between redials of a
	// persistent peer; StableAfter is how long a connection must last
	// for the delay to start again from MinBackoff.
	MinBackoff  time.Duration
	MaxBackoff  time.Duration
	StableAfter time.Duration

	// SendQueueSize and RecvQueueSize bound each peer's queues of
	// outgoing messages and of received messages awaiting the Handler.
	SendQueueSize int
	RecvQueueSize int

	// MaxPendingInits bounds the inbound connections in their init
	// exchange; more are closed at once.
	MaxPendingInits int

	// PingBurst and PingRefill rate-limit the peer's pings; a peer that
	// exceeds the rate gets a warning and is disconnected.
	PingBurst  int
	PingRefill time.Duration

	// Logger receives connection events; nil discards them.
	Logger *slog.Logger
}

// withDefaults checks cfg and fills in its zero fields.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.NodeKey == nil {
		return cfg, errors.New("peer: config needs a node key")
	}
	if cfg.Handler == nil {
		return cfg, errors.New("peer: config needs a handler")
	}
	if cfg.Features == nil {
		cfg.Features = DefaultFeatures()
	} else {
		cfg.Features = cfg.Features.Clone()
	}
	if cfg.Store == nil {
		cfg.Store = NewMemoryStore()
	}
	if cfg.Dial == nil {
		var d net.Dialer
		cfg.Dial = d.DialContext
	}
	setDur := func(d *time.Duration, def time.Duration) {
		if *d <= 0 {
			*d = def
		}
	}
	setDur(&cfg.InitTimeout, DefaultInitTimeout)
	setDur(&cfg.PingInterval, DefaultPingInterval)
	setDur(&cfg.PongTimeout, DefaultPongTimeout)
	setDur(&cfg.WriteTimeout, DefaultWriteTimeout)
	setDur(&cfg.MinBackoff, DefaultMinBackoff)
	setDur(&cfg.MaxBackoff, DefaultMaxBackoff)
	setDur(&cfg.StableAfter, DefaultStableAfter)
	setDur(&cfg.PingRefill, DefaultPingRefill)
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = cfg.MinBackoff
	}
	setInt := func(n *int, def int) {
		if *n <= 0 {
			*n = def
		}
	}
	setInt(&cfg.SendQueueSize, DefaultSendQueueSize)
	setInt(&cfg.RecvQueueSize, DefaultRecvQueueSize)
	setInt(&cfg.MaxPendingInits, DefaultMaxPendingInits)
	setInt(&cfg.PingBurst, DefaultPingBurst)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg, nil
}
