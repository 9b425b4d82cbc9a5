package noise

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
)

// DefaultMaxPendingHandshakes bounds the inbound handshakes a Listener runs
// at once.
const DefaultMaxPendingHandshakes = 128

// ListenerConfig tunes a Listener. The zero value is usable.
type ListenerConfig struct {
	// HandshakeTimeout bounds each inbound handshake; zero means
	// DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration

	// MaxPendingHandshakes bounds the handshakes in progress, counting
	// completed ones not yet taken by Accept; a connection arriving
	// while the bound is reached is closed at once, so a flood of silent
	// peers costs a fixed amount of memory. Zero means
	// DefaultMaxPendingHandshakes.
	MaxPendingHandshakes int

	// Logger receives failed handshakes and accept errors; nil discards
	// them.
	Logger *slog.Logger
}

// Listener accepts BOLT 8 connections. Each inbound connection's responder
// handshake runs on its own goroutine under a deadline, so a slow or silent
// peer never delays the others; Accept returns only connections whose
// handshake succeeded.
type Listener struct {
	ln      net.Listener
	local   *btcec.PrivateKey
	timeout time.Duration
	log     *slog.Logger

	pending chan struct{} // one token per handshake in progress
	conns   chan *Conn

	ctx    context.Context // cancelled by Close: aborts handshakes
	cancel context.CancelFunc
	wg     sync.WaitGroup

	closeOnce sync.Once
	errOnce   sync.Once
	err       error         // why the accept loop stopped
	done      chan struct{} // closed with err set
}

// Listen listens on the TCP address and accepts BOLT 8 connections for the
// node whose static key is local.
func Listen(address string, local *btcec.PrivateKey, cfg ListenerConfig) (*Listener, error) {
	if local == nil {
		return nil, errors.New("noise: listener needs a local key")
	}
	ln, err := net.Listen("tcp", address)
	if err != nil {
		return nil, fmt.Errorf("noise: %w", err)
	}
	return NewListener(ln, local, cfg)
}

// NewListener wraps ln and starts accepting from it. The Listener owns ln
// and closes it on Close.
func NewListener(ln net.Listener, local *btcec.PrivateKey, cfg ListenerConfig) (*Listener, error) {
	if local == nil {
		return nil, errors.New("noise: listener needs a local key")
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if cfg.MaxPendingHandshakes <= 0 {
		cfg.MaxPendingHandshakes = DefaultMaxPendingHandshakes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &Listener{
		ln:      ln,
		local:   local,
		timeout: cfg.HandshakeTimeout,
		log:     cfg.Logger,
		pending: make(chan struct{}, cfg.MaxPendingHandshakes),
		conns:   make(chan *Conn),
		ctx:     ctx,
		cancel:  cancel,
		done:    make(chan struct{}),
	}
	l.wg.Add(1)
	go l.acceptLoop()
	return l, nil
}

// Accept waits for the next connection whose handshake succeeded. After
// Close, or if the underlying listener fails, it returns an error
// (net.ErrClosed after Close).
func (l *Listener) Accept() (*Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, l.err
	}
}

// Addr returns the listening address.
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

// Close stops accepting, aborts handshakes in progress and waits for them
// to finish. Connections already returned by Accept are not affected.
func (l *Listener) Close() error {
	var err error
	l.closeOnce.Do(func() {
		l.stop(net.ErrClosed)
		err = l.ln.Close()
		l.cancel()
		l.wg.Wait()
	})
	return err
}

func (l *Listener) stop(err error) {
	l.errOnce.Do(func() {
		l.err = err
		close(l.done)
	})
}

func (l *Listener) acceptLoop() {
	defer l.wg.Done()
	var backoff time.Duration
	for {
		nc, err := l.ln.Accept()
		if err != nil {
			if l.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				l.stop(net.ErrClosed)
				return
			}
			// Out of file descriptors and the like: wait and
			// retry, as net/http does, instead of spinning.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			l.log.Warn("accept failed, retrying", "err", err, "backoff", backoff)
			select {
			case <-time.After(backoff):
				continue
			case <-l.ctx.Done():
				l.stop(net.ErrClosed)
				return
			}
		}
		backoff = 0

		select {
		case l.pending <- struct{}{}:
		default:
			l.log.Debug("too many pending handshakes, dropping connection",
				"remote", nc.RemoteAddr())
			nc.Close()
			continue
		}
		l.wg.Add(1)
		go l.handshake(nc)
	}
}

func (l *Listener) handshake(nc net.Conn) {
	defer l.wg.Done()
	defer func() { <-l.pending }()

	ctx, cancel := context.WithTimeout(l.ctx, l.timeout)
	defer cancel()
	c, err := Server(ctx, nc, l.local)
	if err != nil {
		l.log.Debug("inbound handshake failed", "remote", nc.RemoteAddr(), "err", err)
		return
	}
	select {
	case l.conns <- c:
	case <-l.ctx.Done():
		c.Close()
	}
}
