package noise

import (
	"crypto/cipher"
	"encoding/binary"
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2"
	"golang.org/x/crypto/chacha20poly1305"
)

const (
	// MaxMessageSize is the largest message BOLT 8 allows.
	MaxMessageSize = 65535

	// LengthHeaderSize is the size of a frame's encrypted length prefix:
	// two length bytes and their tag.
	LengthHeaderSize = 2 + tagSize

	// MACSize is the size of the tag that follows every message body.
	MACSize = tagSize

	// MaxFrameSize is the largest frame on the wire.
	MaxFrameSize = LengthHeaderSize + MaxMessageSize + MACSize

	// keyRotationInterval is the number of uses after which a key is
	// replaced. Length header and body each use the key once, so a key
	// lasts 500 messages.
	keyRotationInterval = 1000
)

// cipherState is one direction of the message phase: a key, its nonce and
// the chaining key used as salt when the key is rotated. Each direction
// rotates on its own, from its own copy of the final handshake chaining key.
type cipherState struct {
	key   [32]byte
	ck    [32]byte
	nonce uint64
	aead  cipher.AEAD
	// nonceBuf lives here rather than on the stack because the AEAD
	// interface call would make a stack copy escape on every message.
	nonceBuf [chacha20poly1305.NonceSize]byte
	// err is set after an authentication failure: the peer's stream
	// can no longer be trusted, so every later open fails too.
	err error
}

func newCipherState(key, ck [32]byte) cipherState {
	return cipherState{key: key, ck: ck, aead: newAEAD(&key)}
}

func (c *cipherState) seal(dst, plaintext []byte) []byte {
	c.nonceBuf = nonceBytes(c.nonce)
	out := c.aead.Seal(dst, c.nonceBuf[:], plaintext, nil)
	c.advance()
	return out
}

func (c *cipherState) open(dst, ciphertext []byte) ([]byte, error) {
	if c.err != nil {
		return nil, c.err
	}
	c.nonceBuf = nonceBytes(c.nonce)
	out, err := c.aead.Open(dst, c.nonceBuf[:], ciphertext, nil)
	if err != nil {
		c.err = ErrMessageAuth
		return nil, c.err
	}
	c.advance()
	return out, nil
}

// advance moves to the next nonce and, after keyRotationInterval uses,
// derives the next key: ck', k' = HKDF(ck, k).
func (c *cipherState) advance() {
	c.nonce++
	if c.nonce < keyRotationInterval {
		return
	}
	c.ck, c.key = hkdf2(c.ck[:], c.key[:])
	c.nonce = 0
	c.aead = newAEAD(&c.key)
}

// Session is the message phase of a BOLT 8 connection, without I/O. Seal
// uses only the sending state and OpenHeader/OpenBody only the receiving
// state, so one goroutine may seal while another opens; each side on its own
// is not safe for concurrent use.
type Session struct {
	send         cipherState
	recv         cipherState
	localStatic  *btcec.PublicKey
	remoteStatic *btcec.PublicKey

	// Scratch space for the length prefix, one per direction so that
	// Seal and OpenHeader may run concurrently without allocating.
	sendLength [2]byte
	recvLength [2]byte
}

// LocalStatic returns our static public key.
func (s *Session) LocalStatic() *btcec.PublicKey { return s.localStatic }

// RemoteStatic returns the authenticated static key of the peer.
func (s *Session) RemoteStatic() *btcec.PublicKey { return s.remoteStatic }

// Seal appends the frame of msg (encrypted length header, then encrypted
// body) to dst and returns the extended slice.
func (s *Session) Seal(dst, msg []byte) ([]byte, error) {
	if len(msg) > MaxMessageSize {
		return dst, fmt.Errorf("noise: seal %d bytes: %w", len(msg), ErrMessageTooLarge)
	}
	binary.BigEndian.PutUint16(s.sendLength[:], uint16(len(msg)))
	dst = s.send.seal(dst, s.sendLength[:])
	return s.send.seal(dst, msg), nil
}

// OpenHeader decrypts the LengthHeaderSize-byte header of the next frame
// and returns the length of the message that follows; the caller then reads
// that many bytes plus MACSize and passes them to OpenBody.
func (s *Session) OpenHeader(header []byte) (int, error) {
	if len(header) != LengthHeaderSize {
		return 0, fmt.Errorf("noise: length header of %d bytes: %w", len(header), ErrBadFrameSize)
	}
	length, err := s.recv.open(s.recvLength[:0], header)
	if err != nil {
		return 0, fmt.Errorf("noise: length header: %w", err)
	}
	return int(binary.BigEndian.Uint16(length)), nil
}

// OpenBody decrypts a message body with its tag, appends the plaintext to
// dst and returns the extended slice. dst may be body[:0] to decrypt in
// place.
func (s *Session) OpenBody(dst, body []byte) ([]byte, error) {
	if len(body) < MACSize || len(body) > MaxMessageSize+MACSize {
		return nil, fmt.Errorf("noise: message body of %d bytes: %w", len(body), ErrBadFrameSize)
	}
	out, err := s.recv.open(dst, body)
	if err != nil {
		return nil, fmt.Errorf("noise: message body: %w", err)
	}
	return out, nil
}
