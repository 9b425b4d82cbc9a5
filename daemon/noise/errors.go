package noise

import (
	"errors"
	"fmt"
)

// Errors returned while processing handshake acts. They arrive wrapped in a
// *HandshakeError that names the act; test them with errors.Is.
var (
	// ErrShortAct means fewer bytes than the act's fixed size were
	// available (the spec's ACTn_READ_FAILED).
	ErrShortAct = errors.New("short handshake act")

	// ErrUnknownVersion means the act's first byte is not
	// HandshakeVersion (ACTn_BAD_VERSION).
	ErrUnknownVersion = errors.New("unknown handshake version")

	// ErrBadPubKey means a public key in the act is not a valid
	// compressed secp256k1 point (ACTn_BAD_PUBKEY).
	ErrBadPubKey = errors.New("invalid public key")

	// ErrBadTag means the act's final authentication tag did not verify
	// (ACTn_BAD_TAG). In act one this is how a responder learns that the
	// initiator does not know its static key.
	ErrBadTag = errors.New("handshake tag authentication failed")

	// ErrBadCiphertext means the initiator's encrypted static key in act
	// three did not authenticate (ACT3_BAD_CIPHERTEXT).
	ErrBadCiphertext = errors.New("encrypted static key authentication failed")

	// ErrHandshakeOrder means a handshake method was called out of turn,
	// or after the handshake had already failed.
	ErrHandshakeOrder = errors.New("handshake step out of order")
)

// Errors of the message phase.
var (
	// ErrMessageTooLarge is returned when asked to send a message longer
	// than MaxMessageSize. Nothing is sent; the connection stays usable.
	ErrMessageTooLarge = errors.New("message exceeds maximum size")

	// ErrMessageAuth means a received length header or message body did
	// not authenticate. The stream cannot be resynchronised after this,
	// so the session refuses further input.
	ErrMessageAuth = errors.New("message authentication failed")

	// ErrBadFrameSize means a frame piece handed to Session had the wrong
	// length for its position in the stream.
	ErrBadFrameSize = errors.New("bad frame size")
)

// HandshakeError reports the act in which a handshake failed.
type HandshakeError struct {
	// Act is 1, 2 or 3.
	Act int
	// Version is the received version byte; meaningful only when Err
	// is ErrUnknownVersion.
	Version byte
	// Err is one of the sentinel errors above, possibly wrapping an I/O
	// error.
	Err error
}

func (e *HandshakeError) Error() string {
	if errors.Is(e.Err, ErrUnknownVersion) {
		return fmt.Sprintf("noise: act %s: %v %d", actName(e.Act), e.Err, e.Version)
	}
	return fmt.Sprintf("noise: act %s: %v", actName(e.Act), e.Err)
}

func (e *HandshakeError) Unwrap() error { return e.Err }

func actName(act int) string {
	switch act {
	case 1:
		return "one"
	case 2:
		return "two"
	case 3:
		return "three"
	}
	return fmt.Sprint(act)
}
