package daemon

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/flash-ln/flash/channel/funding"
	"github.com/flash-ln/flash/daemon/chanstore"
	"github.com/flash-ln/flash/daemon/peer"
	"github.com/flash-ln/flash/daemon/rpc"
	"github.com/flash-ln/flash/htlc/invoices"
	"github.com/flash-ln/flash/onchain/chain"
	"github.com/flash-ln/flash/onchain/notify"
	"github.com/flash-ln/flash/onchain/wallet"
	"github.com/flash-ln/flash/router/graph"
	"github.com/flash-ln/flash/router/pathfind"
)

// File and directory names inside the data directory.
const (
	chainDirName = "chain"
	dbFileName   = "flash.db"
	seedFileName = "seed"
)

// dbLockTimeout is how long Run waits for the database's file lock before
// concluding that another daemon owns the data directory.
const dbLockTimeout = 500 * time.Millisecond

// shutdownTimeout bounds the wait for RPC calls in flight at shutdown. It
// must exceed the 5 s that net/http grants a connection on which no request
// arrived yet (one a client's pool dialled but never used) before Shutdown
// closes it.
const shutdownTimeout = 10 * time.Second

// ErrDataDirInUse says that another daemon runs on the data directory.
var ErrDataDirInUse = errors.New("data directory in use by another flash daemon")

// Daemon is one Flash node. Run it once.
type Daemon struct {
	cfg Config
	log *slog.Logger

	// stop ends Run; the RPC stop method calls it.
	stopOnce sync.Once
	stopCh   chan struct{}
	ran      atomic.Bool

	// Set by Run while starting, read-only afterwards.
	db        *bbolt.DB
	chain     *chain.Chain
	wallet    *wallet.Wallet
	notifier  *notify.Notifier
	nodeKey   *btcec.PublicKey
	alias     string
	lnListen  net.Listener
	rpcServer *rpc.Server
	peers     *peer.Manager
	channels  *chanManager

	// graph is the channel graph gossip fills; mission remembers the
	// outcome of payment attempts. Both are set before the peers start.
	graph   *graph.Graph
	mission *pathfind.MissionControl
	gossip  *gossipNode

	// Payments: the invoice registry, the switch and the payer.
	invoices *invoices.Registry
	pay      *payHub
}

// New checks cfg and prepares a daemon.
func New(cfg Config) (*Daemon, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("daemon config: %w", err)
	}
	handler := slog.NewTextHandler(cfg.LogOutput, &slog.HandlerOptions{
		Level: cfg.LogLevel,
	})
	return &Daemon{
		cfg:    cfg,
		log:    slog.New(handler),
		stopCh: make(chan struct{}),
	}, nil
}

// logger is the logger of one subsystem.
func (d *Daemon) logger(subsystem string) *slog.Logger {
	return d.log.With("sub", subsystem)
}

// Stop asks Run to return. It does not wait.
func (d *Daemon) Stop() {
	d.stopOnce.Do(func() { close(d.stopCh) })
}

// Run starts every subsystem, serves until ctx is done or Stop is called,
// then shuts everything down in reverse order. It returns the first error
// of starting, or of stopping cleanly.
func (d *Daemon) Run(ctx context.Context) (err error) {
	if d.ran.Swap(true) {
		return errors.New("daemon: Run called twice")
	}
	started := time.Now()
	log := d.logger("daemon")

	// Every started subsystem pushes its stop function; they run in
	// reverse order whatever happens, errors are logged and the first one
	// returned.
	var stops []namedStop
	defer func() {
		for i := len(stops) - 1; i >= 0; i-- {
			s := stops[i]
			if stopErr := s.stop(); stopErr != nil {
				log.Error("stop failed", "subsystem", s.name, "err", stopErr)
				if err == nil {
					err = fmt.Errorf("stop %s: %w", s.name, stopErr)
				}
			} else {
				log.Debug("stopped", "subsystem", s.name)
			}
		}
		if err == nil {
			log.Info("stopped cleanly")
		}
	}()
	push := func(name string, stop func() error) {
		stops = append(stops, namedStop{name, stop})
		log.Debug("started", "subsystem", name,
			"since_start", time.Since(started).Round(time.Millisecond))
	}
	log.Info("starting", "datadir", d.cfg.DataDir, "version", d.cfg.Version)

	if err := d.start(push); err != nil {
		return err
	}
	log.Info("ready", "node_id", hex.EncodeToString(d.nodeKey.SerializeCompressed()),
		"alias", d.alias, "listen", d.lnListen.Addr().String(),
		"chain_listen", d.chainListenAddr(),
		"took", time.Since(started).Round(time.Millisecond))

	select {
	case <-ctx.Done():
		log.Info("shutting down", "reason", context.Cause(ctx))
	case <-d.stopCh:
		log.Info("shutting down", "reason", "stop requested")
	}
	return nil
}

type namedStop struct {
	name string
	stop func() error
}

// start brings the subsystems up bottom-up, pushing the stop function of
// each as soon as it runs.
func (d *Daemon) start(push func(string, func() error)) error {
	dir := d.cfg.DataDir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	// The files holding secrets are 0600 whatever the directory's mode;
	// an open directory still lets others list and replace them.
	if info, err := os.Stat(dir); err == nil && info.Mode().Perm()&0o077 != 0 {
		d.logger("daemon").Warn("data directory is accessible to other users",
			"dir", dir, "mode", info.Mode().Perm().String())
	}

	// The database first: its file lock is what keeps a second daemon
	// off this directory, before it can touch the block database.
	dbPath := filepath.Join(dir, dbFileName)
	db, err := bbolt.Open(dbPath, 0o600, &bbolt.Options{Timeout: dbLockTimeout})
	switch {
	case errors.Is(err, bolterrors.ErrTimeout):
		return fmt.Errorf("%w: %s", ErrDataDirInUse, dir)
	case err != nil:
		return fmt.Errorf("open %s: %w", dbPath, err)
	}
	d.db = db
	push("database", db.Close)

	c, err := chain.New(chain.Config{
		DataDir:      filepath.Join(dir, chainDirName),
		Params:       d.cfg.Params,
		Listen:       d.cfg.ChainListen,
		ConnectPeers: d.cfg.ChainConnect,
		Logger:       d.logger("chain"),
	})
	if err != nil {
		return fmt.Errorf("create chain: %w", err)
	}
	// New has opened the block database: Stop closes it, started or not.
	d.chain = c
	push("chain", c.Stop)
	if err := c.Start(); err != nil {
		return fmt.Errorf("start chain: %w", err)
	}

	w, err := wallet.Open(wallet.Config{
		DB:          db,
		SeedFile:    filepath.Join(dir, seedFileName),
		Params:      d.cfg.Params,
		Chain:       c,
		Broadcaster: c,
		Logger:      d.logger("wallet"),
	})
	if err != nil {
		return fmt.Errorf("open wallet: %w", err)
	}
	if err := w.Start(); err != nil {
		return fmt.Errorf("start wallet: %w", err)
	}
	d.wallet = w
	push("wallet", w.Stop)

	n := notify.New(notify.Config{Chain: c, Logger: d.logger("notify")})
	if err := n.Start(); err != nil {
		return fmt.Errorf("start chain notifier: %w", err)
	}
	d.notifier = n
	push("notify", n.Stop)

	if err := d.openGraph(push); err != nil {
		return err
	}

	key, err := w.NodeKey()
	if err != nil {
		return fmt.Errorf("derive node key: %w", err)
	}
	d.nodeKey = key.PubKey()
	d.alias = d.cfg.Alias
	if d.alias == "" {
		d.alias = hex.EncodeToString(d.nodeKey.SerializeCompressed())[:10]
	}

	if err := d.startInvoices(); err != nil {
		return err
	}
	if err := d.startLightningListener(push); err != nil {
		return err
	}
	return d.startRPC(push)
}

// startLightningListener binds the Lightning P2P port, loads the channels
// and starts the peer manager on the port, with the channel manager as the
// handler of every peer's messages.
func (d *Daemon) startLightningListener(push func(string, func() error)) error {
	store, err := chanstore.Open(d.db)
	if err != nil {
		return err
	}
	policy := funding.DefaultPolicy()
	if d.cfg.ChannelMinDepth > 0 {
		policy.MinimumDepth = d.cfg.ChannelMinDepth
		policy.MaxMinimumDepth = max(policy.MaxMinimumDepth, d.cfg.ChannelMinDepth)
	}
	if err := policy.Validate(); err != nil {
		return fmt.Errorf("channel policy: %w", err)
	}
	cm := newChanManager(d.logger("channels"), store, d.wallet, d.chain, d.notifier, policy)
	cm.preimage = d.knownPreimage
	push("channels", cm.stop)
	if err := cm.load(); err != nil {
		return fmt.Errorf("load channels: %w", err)
	}
	d.channels = cm
	if err := d.startPayments(cm, push); err != nil {
		return err
	}

	peerStore, err := newBoltPeerStore(d.db)
	if err != nil {
		return err
	}
	nodeKey, err := d.wallet.NodeKey()
	if err != nil {
		return fmt.Errorf("derive node key: %w", err)
	}
	l, err := net.Listen("tcp", d.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", d.cfg.Listen, err)
	}
	gn, err := d.newGossipNode(cm, l.Addr())
	if err != nil {
		l.Close()
		return err
	}
	pm, err := peer.New(peer.Config{
		NodeKey:      nodeKey,
		ChainHash:    *d.cfg.Params.GenesisHash,
		Listener:     l,
		Store:        peerStore,
		Handler:      gn,
		HandledTypes: gossipTypes,
		Features:     gossipFeatures(),
		Logger:       d.logger("peer"),
	})
	if err != nil {
		l.Close()
		return fmt.Errorf("peer manager: %w", err)
	}
	cm.peers = pm
	cm.markPrivate = d.markPrivate
	gn.peers = pm
	if err := pm.Start(); err != nil {
		return fmt.Errorf("start peer manager: %w", err)
	}
	d.lnListen = l
	d.peers = pm
	push("peers", pm.Stop)
	if err := gn.start(d.notifier); err != nil {
		return err
	}
	d.gossip = gn
	push("gossip", gn.stop)
	return nil
}

// startRPC serves the RPC and publishes its endpoint file. It comes last:
// a client that finds the file reaches a node that is fully up.
func (d *Daemon) startRPC(push func(string, func() error)) error {
	token, err := rpc.NewToken()
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", d.cfg.RPCListen)
	if err != nil {
		return fmt.Errorf("rpc listen %s: %w", d.cfg.RPCListen, err)
	}
	log := d.logger("rpc")
	srv := rpc.NewServer(token, log)
	d.rpcServer = srv
	d.registerRPC(srv)

	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	push("rpc server", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		err := srv.Shutdown(ctx)
		if serveErr := <-served; err == nil {
			err = serveErr
		}
		return err
	})

	ep := rpc.Endpoint{Address: l.Addr().String(), Token: token, PID: os.Getpid()}
	if err := rpc.WriteEndpoint(d.cfg.DataDir, ep); err != nil {
		return err
	}
	// Removed before the server stops, so that a client sees "no daemon"
	// rather than a refused connection while the node goes down.
	push("rpc endpoint file", func() error {
		return rpc.RemoveEndpoint(d.cfg.DataDir)
	})
	log.Info("rpc listening", "address", ep.Address)
	return nil
}
