package noise

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
)

// DefaultHandshakeTimeout bounds a handshake whose context has no deadline,
// so a silent peer cannot hold a connection open forever.
const DefaultHandshakeTimeout = 15 * time.Second

// Conn is an established BOLT 8 connection. One goroutine may call
// ReadMessage while another calls WriteMessage; further readers or writers
// are serialised.
//
// Any error a peer can cause (a failed tag, a truncated frame, a write that
// did not complete) closes the underlying connection, because the encrypted
// stream cannot be resynchronised. A read deadline that expires is the
// exception: it returns an error matching os.ErrDeadlineExceeded and a later
// ReadMessage resumes where the stream stopped.
type Conn struct {
	nc      net.Conn
	session *Session

	readMu sync.Mutex
	reader *frameReader

	writeMu  sync.Mutex
	writeBuf []byte
	writeErr error

	closeOnce sync.Once
	closeErr  error
}

// Client runs the initiator handshake on nc against the node whose static
// key is remote. ctx bounds the handshake (DefaultHandshakeTimeout if it has
// no deadline); nc is closed if the handshake fails.
func Client(ctx context.Context, nc net.Conn, local *btcec.PrivateKey, remote *btcec.PublicKey) (*Conn, error) {
	hs, err := NewInitiator(local, remote, nil)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return runHandshake(ctx, nc, func() error {
		act1, err := hs.ActOne()
		if err != nil {
			return err
		}
		if _, err := nc.Write(act1); err != nil {
			return fmt.Errorf("noise: send act one: %w", err)
		}
		var act2 [ActTwoSize]byte
		if err := readAct(nc, 2, act2[:]); err != nil {
			return err
		}
		if err := hs.ReadActTwo(act2[:]); err != nil {
			return err
		}
		act3, err := hs.ActThree()
		if err != nil {
			return err
		}
		if _, err := nc.Write(act3); err != nil {
			return fmt.Errorf("noise: send act three: %w", err)
		}
		return nil
	}, hs)
}

// Server runs the responder handshake on an accepted nc and learns the
// initiator's static key. ctx bounds the handshake as for Client; nc is
// closed if the handshake fails.
func Server(ctx context.Context, nc net.Conn, local *btcec.PrivateKey) (*Conn, error) {
	hs, err := NewResponder(local, nil)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return runHandshake(ctx, nc, func() error {
		var act1 [ActOneSize]byte
		if err := readAct(nc, 1, act1[:]); err != nil {
			return err
		}
		if err := hs.ReadActOne(act1[:]); err != nil {
			return err
		}
		act2, err := hs.ActTwo()
		if err != nil {
			return err
		}
		if _, err := nc.Write(act2); err != nil {
			return fmt.Errorf("noise: send act two: %w", err)
		}
		var act3 [ActThreeSize]byte
		if err := readAct(nc, 3, act3[:]); err != nil {
			return err
		}
		return hs.ReadActThree(act3[:])
	}, hs)
}

// DialFunc opens the underlying connection; net.Dialer.DialContext is one.
// A SOCKS dialer for Tor would be another.
type DialFunc func(ctx context.Context, network, address string) (net.Conn, error)

// Dial connects to address over TCP with dial (nil for a plain net.Dialer)
// and runs the initiator handshake against remote. ctx bounds both the dial
// and the handshake.
func Dial(ctx context.Context, local *btcec.PrivateKey, remote *btcec.PublicKey, address string, dial DialFunc) (*Conn, error) {
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	nc, err := dial(ctx, "tcp", address)
	if err != nil {
		return nil, fmt.Errorf("noise: %w", err)
	}
	c, err := Client(ctx, nc, local, remote)
	if err != nil {
		return nil, fmt.Errorf("handshake with %s: %w", address, err)
	}
	return c, nil
}

// readAct reads exactly len(buf) bytes of act number act.
func readAct(r io.Reader, act int, buf []byte) error {
	if _, err := io.ReadFull(r, buf); err != nil {
		return &HandshakeError{Act: act, Err: fmt.Errorf("%w: %w", ErrShortAct, err)}
	}
	return nil
}

// runHandshake runs exchange under the context's deadline (or
// DefaultHandshakeTimeout if it has none), aborting blocked reads and writes
// when ctx is cancelled.
func runHandshake(ctx context.Context, nc net.Conn, exchange func() error, hs *Handshake) (*Conn, error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(DefaultHandshakeTimeout)
	}
	if err := nc.SetDeadline(deadline); err != nil {
		nc.Close()
		return nil, fmt.Errorf("noise: set handshake deadline: %w", err)
	}
	// A deadline in the past wakes any blocked read or write at once.
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })

	err := exchange()
	if !stop() {
		// The context ended first; whatever exchange saw is a
		// consequence of that, so lead with the cause.
		if err == nil {
			err = errors.New("aborted")
		}
		err = fmt.Errorf("noise: handshake: %w: %w", context.Cause(ctx), err)
	}
	if err == nil {
		err = nc.SetDeadline(time.Time{})
	}
	if err != nil {
		nc.Close()
		return nil, err
	}
	s, err := hs.Session()
	if err != nil {
		nc.Close()
		return nil, err
	}
	return &Conn{nc: nc, session: s, reader: newFrameReader(s)}, nil
}

// ReadMessage returns the next message from the peer. It returns io.EOF
// when the peer closed the connection between messages.
func (c *Conn) ReadMessage() ([]byte, error) {
	c.readMu.Lock()
	defer c.readMu.Unlock()
	msg, err := c.reader.readMessage(c.nc)
	if err != nil {
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			c.Close()
		}
		return nil, err
	}
	return msg, nil
}

// WriteMessage encrypts msg and writes it as one frame. A message longer
// than MaxMessageSize is refused with ErrMessageTooLarge and the connection
// stays usable; a failed write closes the connection.
func (c *Conn) WriteMessage(msg []byte) error {
	if len(msg) > MaxMessageSize {
		return fmt.Errorf("noise: write %d bytes: %w", len(msg), ErrMessageTooLarge)
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if c.writeErr != nil {
		return c.writeErr
	}
	frame, err := c.session.Seal(c.writeBuf[:0], msg)
	if err != nil {
		return err
	}
	c.writeBuf = frame
	if _, err := c.nc.Write(frame); err != nil {
		// The nonce has advanced and part of the frame may be on the
		// wire: the stream is broken for good.
		c.writeErr = fmt.Errorf("noise: write: %w", err)
		c.Close()
		return c.writeErr
	}
	return nil
}

// RemotePub returns the peer's authenticated static key, its node id.
func (c *Conn) RemotePub() *btcec.PublicKey { return c.session.RemoteStatic() }

// LocalPub returns our static key.
func (c *Conn) LocalPub() *btcec.PublicKey { return c.session.LocalStatic() }

// LocalAddr returns the local network address.
func (c *Conn) LocalAddr() net.Addr { return c.nc.LocalAddr() }

// RemoteAddr returns the peer's network address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// SetReadDeadline sets the deadline of ReadMessage; see Conn for how an
// expired deadline is handled.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.nc.SetReadDeadline(t) }

// SetWriteDeadline sets the deadline of WriteMessage. An expired write
// deadline closes the connection.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.nc.SetWriteDeadline(t) }

// Close closes the underlying connection. It is safe to call more than once
// and concurrently with ReadMessage and WriteMessage, which then return
// errors.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() { c.closeErr = c.nc.Close() })
	return c.closeErr
}
