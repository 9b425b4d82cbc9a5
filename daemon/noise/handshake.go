package noise

import (
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2"
)

const (
	// protocolName and prologue seed the handshake digest; both sides
	// must use the same strings or act one fails authentication.
	protocolName = "Noise_XK_secp256k1_ChaChaPoly_SHA256"
	prologue     = "lightning"

	// HandshakeVersion is the only act version this package speaks.
	HandshakeVersion byte = 0

	// ActOneSize, ActTwoSize and ActThreeSize are the exact sizes of the
	// three handshake messages.
	ActOneSize   = 1 + pubKeySize + tagSize
	ActTwoSize   = 1 + pubKeySize + tagSize
	ActThreeSize = 1 + pubKeySize + tagSize + tagSize
)

// EphemeralGenerator returns a fresh ephemeral key for one handshake. Only
// tests replace the default, to replay the BOLT 8 vectors; any real use must
// return a uniformly random key.
type EphemeralGenerator func() (*btcec.PrivateKey, error)

// step is the next thing a Handshake expects to do.
type step uint8

const (
	stepActOne step = iota
	stepActTwo
	stepActThree
	stepDone
	stepSessionTaken
	stepFailed
)

// symmetricState is Noise's running chaining key and handshake digest,
// plus the temporary key of the latest mixKey.
type symmetricState struct {
	ck    [32]byte
	h     [32]byte
	tempK [32]byte
}

func (s *symmetricState) init() {
	s.h = sha256.Sum256([]byte(protocolName))
	s.ck = s.h
	s.mixHash([]byte(prologue))
}

func (s *symmetricState) mixHash(data []byte) {
	d := sha256.New()
	d.Write(s.h[:])
	d.Write(data)
	d.Sum(s.h[:0])
}

func (s *symmetricState) mixKey(ikm [32]byte) {
	s.ck, s.tempK = hkdf2(s.ck[:], ikm[:])
}

// encryptAndHash seals plaintext under the temporary key with the digest as
// associated data, then mixes the ciphertext into the digest.
func (s *symmetricState) encryptAndHash(nonce uint64, plaintext []byte) []byte {
	n := nonceBytes(nonce)
	ct := newAEAD(&s.tempK).Seal(nil, n[:], plaintext, s.h[:])
	s.mixHash(ct)
	return ct
}

func (s *symmetricState) decryptAndHash(nonce uint64, ct []byte) ([]byte, error) {
	n := nonceBytes(nonce)
	pt, err := newAEAD(&s.tempK).Open(nil, n[:], ct, s.h[:])
	if err != nil {
		return nil, err
	}
	s.mixHash(ct)
	return pt, nil
}

// Handshake is one side of a BOLT 8 Noise_XK handshake, as a state machine
// without I/O. The initiator calls ActOne, ReadActTwo and ActThree; the
// responder calls ReadActOne, ActTwo and ReadActThree. After the last act,
// Session returns the transport keys. Any failure is final: the spec
// requires the connection to be dropped, so the machine refuses further
// steps. A Handshake is not safe for concurrent use.
type Handshake struct {
	initiator bool
	next      step
	err       error

	localStatic     *btcec.PrivateKey
	localPub        *btcec.PublicKey
	remoteStatic    *btcec.PublicKey
	localEphemeral  *btcec.PrivateKey
	remoteEphemeral *btcec.PublicKey
	generate        EphemeralGenerator

	sym symmetricState
}

// NewInitiator starts the handshake of the side that knows its peer's
// static key remote. A nil gen uses a random key.
func NewInitiator(local *btcec.PrivateKey, remote *btcec.PublicKey, gen EphemeralGenerator) (*Handshake, error) {
	if local == nil || remote == nil {
		return nil, errors.New("noise: initiator needs a local key and the remote static key")
	}
	hs := newHandshake(true, local, gen)
	hs.remoteStatic = remote
	// Noise_XK pre-message: the responder's static key is known.
	hs.sym.mixHash(remote.SerializeCompressed())
	return hs, nil
}

// NewResponder starts the handshake of the side that accepted a connection.
// A nil gen uses a random key.
func NewResponder(local *btcec.PrivateKey, gen EphemeralGenerator) (*Handshake, error) {
	if local == nil {
		return nil, errors.New("noise: responder needs a local key")
	}
	hs := newHandshake(false, local, gen)
	hs.sym.mixHash(hs.localPub.SerializeCompressed())
	return hs, nil
}

func newHandshake(initiator bool, local *btcec.PrivateKey, gen EphemeralGenerator) *Handshake {
	if gen == nil {
		gen = btcec.NewPrivateKey
	}
	hs := &Handshake{
		initiator:   initiator,
		localStatic: local,
		localPub:    local.PubKey(),
		generate:    gen,
	}
	hs.sym.init()
	return hs
}

// RemoteStatic returns the peer's static key: known from the start for the
// initiator, learnt from act three by the responder (nil before).
func (hs *Handshake) RemoteStatic() *btcec.PublicKey { return hs.remoteStatic }

// expect checks that the machine is at step want on the right side.
func (hs *Handshake) expect(want step, initiator bool) error {
	if hs.next == stepFailed {
		return fmt.Errorf("noise: %w: handshake already failed: %w", ErrHandshakeOrder, hs.err)
	}
	if hs.next != want || hs.initiator != initiator {
		return fmt.Errorf("noise: %w", ErrHandshakeOrder)
	}
	return nil
}

// fail records a terminal error.
func (hs *Handshake) fail(act int, version byte, err error) error {
	herr := &HandshakeError{Act: act, Version: version, Err: err}
	hs.err = herr
	hs.next = stepFailed
	// Drop the secrets we no longer need.
	hs.sym = symmetricState{}
	return herr
}

// sendEphemeral generates our ephemeral key, writes the "e, ee/es" act that
// carries it and mixes remote into the key: act one (remote = rs) and act two
// (remote = re) differ only in that key.
func (hs *Handshake) sendEphemeral(act int, remote *btcec.PublicKey) ([]byte, error) {
	e, err := hs.generate()
	if err == nil && e == nil {
		err = errors.New("no key")
	}
	if err != nil {
		return nil, hs.fail(act, 0, fmt.Errorf("generate ephemeral key: %w", err))
	}
	hs.localEphemeral = e
	epub := e.PubKey().SerializeCompressed()
	hs.sym.mixHash(epub)
	hs.sym.mixKey(ecdh(e, remote))
	tag := hs.sym.encryptAndHash(0, nil)

	out := make([]byte, 0, ActOneSize)
	out = append(out, HandshakeVersion)
	out = append(out, epub...)
	out = append(out, tag...)
	return out, nil
}

// recvEphemeral reads an "e, ee/es" act: the peer's ephemeral key, mixed
// with our key local (our static key in act one, our ephemeral in act two).
func (hs *Handshake) recvEphemeral(act int, msg []byte, local *btcec.PrivateKey) error {
	if len(msg) != ActOneSize {
		return hs.fail(act, 0, ErrShortAct)
	}
	if msg[0] != HandshakeVersion {
		return hs.fail(act, msg[0], ErrUnknownVersion)
	}
	re, err := parseCompressedPubKey(msg[1 : 1+pubKeySize])
	if err != nil {
		return hs.fail(act, 0, err)
	}
	hs.remoteEphemeral = re
	hs.sym.mixHash(msg[1 : 1+pubKeySize])
	hs.sym.mixKey(ecdh(local, re))
	if _, err := hs.sym.decryptAndHash(0, msg[1+pubKeySize:]); err != nil {
		return hs.fail(act, 0, ErrBadTag)
	}
	return nil
}

// ActOne produces the initiator's first message.
func (hs *Handshake) ActOne() ([]byte, error) {
	if err := hs.expect(stepActOne, true); err != nil {
		return nil, err
	}
	out, err := hs.sendEphemeral(1, hs.remoteStatic)
	if err != nil {
		return nil, err
	}
	hs.next = stepActTwo
	return out, nil
}

// ReadActOne processes the initiator's first message on the responder.
// msg must be exactly ActOneSize bytes.
func (hs *Handshake) ReadActOne(msg []byte) error {
	if err := hs.expect(stepActOne, false); err != nil {
		return err
	}
	if err := hs.recvEphemeral(1, msg, hs.localStatic); err != nil {
		return err
	}
	hs.next = stepActTwo
	return nil
}

// ActTwo produces the responder's reply to act one.
func (hs *Handshake) ActTwo() ([]byte, error) {
	if err := hs.expect(stepActTwo, false); err != nil {
		return nil, err
	}
	out, err := hs.sendEphemeral(2, hs.remoteEphemeral)
	if err != nil {
		return nil, err
	}
	hs.next = stepActThree
	return out, nil
}

// ReadActTwo processes the responder's reply on the initiator. msg must be
// exactly ActTwoSize bytes.
func (hs *Handshake) ReadActTwo(msg []byte) error {
	if err := hs.expect(stepActTwo, true); err != nil {
		return err
	}
	if err := hs.recvEphemeral(2, msg, hs.localEphemeral); err != nil {
		return err
	}
	hs.next = stepActThree
	return nil
}

// ActThree produces the initiator's last message, which reveals its static
// key to the responder. After it, Session is available.
func (hs *Handshake) ActThree() ([]byte, error) {
	if err := hs.expect(stepActThree, true); err != nil {
		return nil, err
	}
	encStatic := hs.sym.encryptAndHash(1, hs.localPub.SerializeCompressed())
	hs.sym.mixKey(ecdh(hs.localStatic, hs.remoteEphemeral))
	tag := hs.sym.encryptAndHash(0, nil)

	out := make([]byte, 0, ActThreeSize)
	out = append(out, HandshakeVersion)
	out = append(out, encStatic...)
	out = append(out, tag...)
	hs.next = stepDone
	return out, nil
}

// ReadActThree processes the initiator's last message on the responder and
// learns the initiator's static key. msg must be exactly ActThreeSize bytes.
func (hs *Handshake) ReadActThree(msg []byte) error {
	if err := hs.expect(stepActThree, false); err != nil {
		return err
	}
	if len(msg) != ActThreeSize {
		return hs.fail(3, 0, ErrShortAct)
	}
	if msg[0] != HandshakeVersion {
		return hs.fail(3, msg[0], ErrUnknownVersion)
	}
	encStatic := msg[1 : 1+pubKeySize+tagSize]
	tag := msg[1+pubKeySize+tagSize:]

	rsBytes, err := hs.sym.decryptAndHash(1, encStatic)
	if err != nil {
		return hs.fail(3, 0, ErrBadCiphertext)
	}
	rs, err := parseCompressedPubKey(rsBytes)
	if err != nil {
		return hs.fail(3, 0, err)
	}
	hs.sym.mixKey(ecdh(hs.localEphemeral, rs))
	if _, err := hs.sym.decryptAndHash(0, tag); err != nil {
		return hs.fail(3, 0, ErrBadTag)
	}
	hs.remoteStatic = rs
	hs.next = stepDone
	return nil
}

// Session returns the transport state of a completed handshake. It may be
// called once; the handshake's secrets are wiped, so that the long-lived
// session holds only the transport keys.
func (hs *Handshake) Session() (*Session, error) {
	if hs.next != stepDone {
		return nil, fmt.Errorf("noise: session requested before handshake completed: %w", ErrHandshakeOrder)
	}
	// The initiator's first key is its sending key; the responder's
	// first key is its receiving key.
	k1, k2 := hkdf2(hs.sym.ck[:], nil)
	sk, rk := k1, k2
	if !hs.initiator {
		sk, rk = k2, k1
	}
	s := &Session{
		send:         newCipherState(sk, hs.sym.ck),
		recv:         newCipherState(rk, hs.sym.ck),
		localStatic:  hs.localPub,
		remoteStatic: hs.remoteStatic,
	}
	hs.sym = symmetricState{}
	hs.localEphemeral = nil
	hs.next = stepSessionTaken
	return s, nil
}
