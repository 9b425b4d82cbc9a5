package noise

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
)

func newKey(t testing.TB) *btcec.PrivateKey {
	t.Helper()
	k, err := btcec.NewPrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newTestListener(t *testing.T, key *btcec.PrivateKey, cfg ListenerConfig) *Listener {
	t.Helper()
	l, err := Listen("127.0.0.1:0", key, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// acceptAsync runs one Accept in the background.
func acceptAsync(l *Listener) <-chan acceptResult {
	ch := make(chan acceptResult, 1)
	go func() {
		c, err := l.Accept()
		ch <- acceptResult{c, err}
	}()
	return ch
}

type acceptResult struct {
	conn *Conn
	err  error
}

// testMessage is deterministic content for message i, with sizes that cover
// the empty message and the maximum.
func testMessage(side string, i int) []byte {
	switch i % 97 {
	case 0:
		return nil
	case 1:
		return bytes.Repeat([]byte{byte(i)}, MaxMessageSize)
	}
	prefix := fmt.Sprintf("%s-%d:", side, i)
	return append([]byte(prefix), bytes.Repeat([]byte{byte(i)}, i%1500)...)
}

func TestConnExchangeOverTCP(t *testing.T) {
	serverKey, clientKey := newKey(t), newKey(t)
	l := newTestListener(t, serverKey, ListenerConfig{})
	accepted := acceptAsync(l)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client, err := Dial(ctx, clientKey, serverKey.PubKey(), l.Addr().String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	res := <-accepted
	if res.err != nil {
		t.Fatal(res.err)
	}
	server := res.conn
	defer server.Close()

	if !client.RemotePub().IsEqual(serverKey.PubKey()) || !client.LocalPub().IsEqual(clientKey.PubKey()) {
		t.Fatal("client keys wrong")
	}
	if !server.RemotePub().IsEqual(clientKey.PubKey()) || !server.LocalPub().IsEqual(serverKey.PubKey()) {
		t.Fatal("server keys wrong")
	}

	// Both sides write and read at once, across several key rotations.
	const count = 1200
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	exchange := func(c *Conn, me, peer string) {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := range count {
				if err := c.WriteMessage(testMessage(me, i)); err != nil {
					errs <- fmt.Errorf("%s write %d: %w", me, i, err)
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			for i := range count {
				msg, err := c.ReadMessage()
				if err != nil {
					errs <- fmt.Errorf("%s read %d: %w", me, i, err)
					return
				}
				if !bytes.Equal(msg, testMessage(peer, i)) {
					errs <- fmt.Errorf("%s read %d: wrong content (%d bytes)", me, i, len(msg))
					return
				}
			}
		}()
	}
	exchange(client, "client", "server")
	exchange(server, "server", "client")
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	// A clean close between frames reads as io.EOF on the other side.
	client.Close()
	if _, err := server.ReadMessage(); !errors.Is(err, io.EOF) {
		t.Fatalf("read after peer close: %v, want io.EOF", err)
	}
}

func TestDialWrongRemoteKey(t *testing.T) {
	serverKey := newKey(t)
	l := newTestListener(t, serverKey, ListenerConfig{})
	accepted := acceptAsync(l)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The responder cannot authenticate act one and hangs up; the
	// initiator sees act two cut short.
	_, err := Dial(ctx, newKey(t), newKey(t).PubKey(), l.Addr().String(), nil)
	if !errors.Is(err, ErrShortAct) {
		t.Fatalf("dial with wrong key: %v, want ErrShortAct", err)
	}

	// The failed handshake is never handed to Accept; the next one is.
	c, err := Dial(ctx, newKey(t), serverKey.PubKey(), l.Addr().String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	res := <-accepted
	if res.err != nil {
		t.Fatal(res.err)
	}
	defer res.conn.Close()
	if !res.conn.RemotePub().IsEqual(c.LocalPub()) {
		t.Fatal("accepted the wrong connection")
	}
}

// waitClosed reads from nc until the peer closes it, failing on a deadline.
func waitClosed(t *testing.T, nc net.Conn) {
	t.Helper()
	nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	buf := make([]byte, 128)
	for {
		_, err := nc.Read(buf)
		if err == nil {
			continue
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatal("peer did not close the connection")
		}
		return
	}
}

func TestListenerSilentPeersDoNotBlockAccept(t *testing.T) {
	serverKey := newKey(t)
	l := newTestListener(t, serverKey, ListenerConfig{HandshakeTimeout: time.Hour})

	var silent []net.Conn
	for range 5 {
		nc, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		silent = append(silent, nc)
	}
	// Half an act one, then silence.
	silent[0].Write(make([]byte, ActOneSize/2))

	accepted := acceptAsync(l)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := Dial(ctx, newKey(t), serverKey.PubKey(), l.Addr().String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	res := <-accepted
	if res.err != nil {
		t.Fatal(res.err)
	}
	res.conn.Close()

	// Close aborts the stalled handshakes instead of waiting an hour.
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	for _, nc := range silent {
		waitClosed(t, nc)
	}
	if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("accept after close: %v, want net.ErrClosed", err)
	}
}

func TestListenerHandshakeTimeout(t *testing.T) {
	l := newTestListener(t, newKey(t), ListenerConfig{HandshakeTimeout: 50 * time.Millisecond})
	nc, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	waitClosed(t, nc)
}

func TestListenerDropsBeyondPendingLimit(t *testing.T) {
	serverKey := newKey(t)
	l := newTestListener(t, serverKey, ListenerConfig{HandshakeTimeout: time.Hour, MaxPendingHandshakes: 1})
	hog, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer hog.Close()
	// The hog was queued first, so it holds the only slot and the
	// newcomer is turned away at once.
	extra, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	waitClosed(t, extra)
}

func TestHostileActsCloseConnection(t *testing.T) {
	serverKey := newKey(t)
	valid := func() []byte {
		hs, err := NewInitiator(newKey(t), serverKey.PubKey(), nil)
		if err != nil {
			t.Fatal(err)
		}
		act1, err := hs.ActOne()
		if err != nil {
			t.Fatal(err)
		}
		return act1
	}
	cases := []struct {
		name string
		act1 []byte
		want error
	}{
		{"bad version", tamper(valid(), 0, 0x01), ErrUnknownVersion},
		{"bad pubkey", tamper(valid(), 1, 0x06), ErrBadPubKey},
		{"bad tag", tamper(valid(), ActOneSize-1, 0x01), ErrBadTag},
		{"short", valid()[:ActOneSize-1], ErrShortAct},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			client, server := net.Pipe()
			defer client.Close()
			errc := make(chan error, 1)
			go func() {
				_, err := Server(context.Background(), server, serverKey)
				errc <- err
			}()
			client.Write(tc.act1)
			if tc.want == ErrShortAct {
				client.Close()
			}
			err := <-errc
			if !errors.Is(err, tc.want) {
				t.Fatalf("server error %v, want %v", err, tc.want)
			}
			var herr *HandshakeError
			if !errors.As(err, &herr) || herr.Act != 1 {
				t.Fatalf("error %v does not name act one", err)
			}
			// The responder closed its end.
			if _, err := server.Write([]byte{0}); !errors.Is(err, io.ErrClosedPipe) {
				t.Fatalf("server end still open: %v", err)
			}
		})
	}
}

// tamper flips bits of b[i].
func tamper(b []byte, i int, mask byte) []byte {
	b[i] ^= mask
	return b
}

func TestHandshakeContextCancel(t *testing.T) {
	client, server := net.Pipe()
	defer server.Close()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		// Nobody reads from server: act one blocks until cancelled.
		_, err := Client(ctx, client, newKey(t), newKey(t).PubKey())
		errc <- err
	}()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
}

// pipePair returns two connected Conns over net.Pipe.
func pipePair(t *testing.T) (*Conn, *Conn) {
	t.Helper()
	a, b := net.Pipe()
	aKey, bKey := newKey(t), newKey(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	type result struct {
		c   *Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		c, err := Server(ctx, b, bKey)
		ch <- result{c, err}
	}()
	client, err := Client(ctx, a, aKey, bKey.PubKey())
	if err != nil {
		t.Fatal(err)
	}
	res := <-ch
	if res.err != nil {
		t.Fatal(res.err)
	}
	t.Cleanup(func() { client.Close(); res.c.Close() })
	return client, res.c
}

func TestReadBadTagClosesConn(t *testing.T) {
	client, server := pipePair(t)
	frame, err := client.session.Seal(nil, []byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	frame[len(frame)-1] ^= 1
	go client.nc.Write(frame)
	if _, err := server.ReadMessage(); !errors.Is(err, ErrMessageAuth) {
		t.Fatalf("read tampered frame: %v, want ErrMessageAuth", err)
	}
	if _, err := server.ReadMessage(); err == nil {
		t.Fatal("read after failure succeeded")
	}
	if err := server.WriteMessage([]byte("x")); err == nil {
		t.Fatal("write on closed connection succeeded")
	}
}

func TestReadTruncatedFrame(t *testing.T) {
	client, server := pipePair(t)
	frame, err := client.session.Seal(nil, []byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		client.nc.Write(frame[:len(frame)-3])
		client.nc.Close()
	}()
	if _, err := server.ReadMessage(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("read truncated frame: %v, want io.ErrUnexpectedEOF", err)
	}
}

func TestWriteMessageTooLarge(t *testing.T) {
	client, server := pipePair(t)
	if err := client.WriteMessage(make([]byte, MaxMessageSize+1)); !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("oversized write: %v, want ErrMessageTooLarge", err)
	}
	// Nothing was sent and the connection still works.
	go client.WriteMessage([]byte("after"))
	msg, err := server.ReadMessage()
	if err != nil || string(msg) != "after" {
		t.Fatalf("read %q, %v", msg, err)
	}
}

// tcpPair returns two connected Conns over a loopback TCP connection.
func tcpPair(t *testing.T) (*Conn, *Conn) {
	t.Helper()
	serverKey := newKey(t)
	l := newTestListener(t, serverKey, ListenerConfig{})
	accepted := acceptAsync(l)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client, err := Dial(ctx, newKey(t), serverKey.PubKey(), l.Addr().String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	res := <-accepted
	if res.err != nil {
		t.Fatal(res.err)
	}
	t.Cleanup(func() { client.Close(); res.conn.Close() })
	return client, res.conn
}

func TestReadDeadlineResumes(t *testing.T) {
	client, server := tcpPair(t)
	frame, err := client.session.Seal(nil, []byte("resumed"))
	if err != nil {
		t.Fatal(err)
	}
	// Part of a frame arrives, then the reader's deadline expires.
	if _, err := client.nc.Write(frame[:LengthHeaderSize+2]); err != nil {
		t.Fatal(err)
	}
	server.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, err := server.ReadMessage(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read: %v, want deadline exceeded", err)
	}
	server.SetReadDeadline(time.Time{})
	if _, err := client.nc.Write(frame[LengthHeaderSize+2:]); err != nil {
		t.Fatal(err)
	}
	msg, err := server.ReadMessage()
	if err != nil || string(msg) != "resumed" {
		t.Fatalf("read %q, %v", msg, err)
	}
}

// scriptedReader returns its chunks one Read at a time; a nil chunk is a
// timeout.
type scriptedReader struct{ chunks [][]byte }

func (r *scriptedReader) Read(p []byte) (int, error) {
	if len(r.chunks) == 0 {
		return 0, io.EOF
	}
	c := r.chunks[0]
	if c == nil {
		r.chunks = r.chunks[1:]
		return 0, os.ErrDeadlineExceeded
	}
	n := copy(p, c)
	if n == len(c) {
		r.chunks = r.chunks[1:]
	} else {
		r.chunks[0] = c[n:]
	}
	return n, nil
}

func TestFrameReaderResumesAfterTimeout(t *testing.T) {
	ini, resp := vectorSessions(t)
	var stream []byte
	for _, m := range []string{"one", "", "three"} {
		var err error
		if stream, err = ini.Seal(stream, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	// Time out inside the header, inside a body and between frames.
	r := &scriptedReader{chunks: [][]byte{
		stream[:5], nil, stream[5:20], nil, stream[20:40], nil, stream[40:],
	}}
	fr := newFrameReader(resp)
	var got []string
	for {
		msg, err := fr.readMessage(r)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			continue
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(msg))
	}
	if fmt.Sprint(got) != "[one  three]" {
		t.Fatalf("messages %q", got)
	}
}
