package onion

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2"
	sphinx "github.com/lightningnetwork/lightning-onion"
)

// PacketSize is the size of a payment onion: version (1), ephemeral key
// (33), routing info (1300) and HMAC (32).
const PacketSize = 1 + 33 + sphinx.MaxRoutingPayloadSize + sphinx.HMACSize

// MaxHops is the longest route an onion can carry.
const MaxHops = sphinx.NumMaxHops

// Hop is one node of a route and the payload it is to read: an encoded TLV
// stream, usually from Payload.Encode.
type Hop struct {
	NodePub *btcec.PublicKey
	Payload []byte
}

// NewOnion builds the onion for a route. assocData is the payment hash: it
// binds the onion to the HTLC, so a hop cannot move it to another one. The
// returned circuit (session key and route) is what the sender keeps, and
// persists, to decrypt a failure that comes back.
//
// The unused end of the routing info is filled from the session key, as
// BOLT 4 specifies, so the same inputs give the same onion.
func NewOnion(sessionKey *btcec.PrivateKey, hops []Hop, assocData []byte) ([PacketSize]byte, *sphinx.Circuit, error) {
	var out [PacketSize]byte
	if len(hops) == 0 || len(hops) > MaxHops {
		return out, nil, fmt.Errorf("onion: route of %d hops, want 1 to %d", len(hops), MaxHops)
	}
	var path sphinx.PaymentPath
	keys := make([]*btcec.PublicKey, len(hops))
	for i, h := range hops {
		if h.NodePub == nil {
			return out, nil, fmt.Errorf("onion: hop %d has no node key", i)
		}
		if len(h.Payload) == 0 {
			return out, nil, fmt.Errorf("onion: hop %d has an empty payload", i)
		}
		p, err := sphinx.NewTLVHopPayload(h.Payload)
		if err != nil {
			return out, nil, fmt.Errorf("onion: hop %d: %w", i, err)
		}
		path[i] = sphinx.OnionHop{NodePub: *h.NodePub, HopPayload: p}
		keys[i] = h.NodePub
	}
	pkt, err := sphinx.NewOnionPacket(&path, sessionKey, assocData, sphinx.DeterministicPacketFiller)
	if err != nil {
		return out, nil, fmt.Errorf("onion: build: %w", err)
	}
	var buf bytes.Buffer
	buf.Grow(PacketSize)
	if err := pkt.Encode(&buf); err != nil {
		return out, nil, fmt.Errorf("onion: encode: %w", err)
	}
	if buf.Len() != PacketSize {
		return out, nil, fmt.Errorf("onion: encoded %d bytes, want %d", buf.Len(), PacketSize)
	}
	copy(out[:], buf.Bytes())
	return out, &sphinx.Circuit{SessionKey: sessionKey, PaymentPath: keys}, nil
}

// Router peels onions addressed to one node.
//
// Replay protection: Process records a hash of each onion's shared secret
// with the incoming HTLC's CLTV expiry in the replay log, and refuses an
// onion seen before (a replay by someone who watched it go by). The log is
// in memory unless the caller gives one that persists: after a restart, an
// onion processed before it is not recognised. HTLCs already accepted before
// a restart must be re-read with Reprocess, which skips the log, so that
// re-handling the same HTLC stays idempotent.
type Router struct {
	r   *sphinx.Router
	log sphinx.ReplayLog
}

// NewRouter returns a router for the node key. A nil log means a fresh
// in-memory ReplayLog.
func NewRouter(nodeKey *btcec.PrivateKey, log sphinx.ReplayLog) (*Router, error) {
	if log == nil {
		log = NewReplayLog()
	}
	r := sphinx.NewRouter(&sphinx.PrivKeyECDH{PrivKey: nodeKey}, log)
	if err := r.Start(); err != nil {
		return nil, fmt.Errorf("onion: start replay log: %w", err)
	}
	return &Router{r: r, log: log}, nil
}

// Stop closes the replay log.
func (r *Router) Stop() { r.r.Stop() }

// ProcessedHop is what one node learns from an onion.
type ProcessedHop struct {
	// Payload is the decoded and validated payload for this node.
	Payload *Payload

	// RawPayload is the payload as it was in the onion.
	RawPayload []byte

	// Final is true if this node is the payment's destination.
	Final bool

	// NextPacket is the onion to forward, meaningless if Final.
	NextPacket [PacketSize]byte

	// EphemeralKey is the incoming onion's ephemeral key; with the node
	// key it yields the shared secret that encrypts a failure back.
	EphemeralKey *btcec.PublicKey
}

// ProcessError is an onion that cannot be processed, with the failure to
// report upstream. For a Failure with FlagBadOnion the hop answers with
// update_fail_malformed_htlc; otherwise it encrypts Failure with an
// ErrorEncrypter.
type ProcessError struct {
	Failure FailureMessage
	Err     error
}

func (e *ProcessError) Error() string { return fmt.Sprintf("onion: %v: %v", e.Failure.Code(), e.Err) }
func (e *ProcessError) Unwrap() error { return e.Err }

// ErrReplayed is wrapped by the error for an onion seen before.
var ErrReplayed = sphinx.ErrReplayedPacket

// Process peels one layer of packet. assocData must be the HTLC's payment
// hash and incomingCLTV its expiry (kept in the replay log so that old
// entries can be pruned). Errors are *ProcessError.
func (r *Router) Process(packet []byte, assocData []byte, incomingCLTV uint32) (*ProcessedHop, error) {
	return r.process(packet, assocData, func(pkt *sphinx.OnionPacket) (*sphinx.ProcessedPacket, error) {
		return r.r.ProcessOnionPacket(pkt, assocData, incomingCLTV, sphinx.WithTLVPayloadOnly())
	})
}

// Reprocess peels packet without consulting the replay log: for an HTLC
// this node already accepted, read again after a restart.
func (r *Router) Reprocess(packet []byte, assocData []byte) (*ProcessedHop, error) {
	return r.process(packet, assocData, func(pkt *sphinx.OnionPacket) (*sphinx.ProcessedPacket, error) {
		return r.r.ReconstructOnionPacket(pkt, assocData, sphinx.WithTLVPayloadOnly())
	})
}

func (r *Router) process(packet []byte, assocData []byte,
	peel func(*sphinx.OnionPacket) (*sphinx.ProcessedPacket, error)) (*ProcessedHop, error) {

	onionHash := sha256.Sum256(packet)
	badOnion := func(code FailureCode, err error) error {
		return &ProcessError{Failure: NewBadOnionFailure(code, onionHash), Err: err}
	}
	if len(packet) != PacketSize {
		return nil, badOnion(CodeInvalidOnionVersion, fmt.Errorf("packet of %d bytes, want %d", len(packet), PacketSize))
	}
	var pkt sphinx.OnionPacket
	if err := pkt.Decode(bytes.NewReader(packet)); err != nil {
		if errors.Is(err, sphinx.ErrInvalidOnionKey) {
			return nil, badOnion(CodeInvalidOnionKey, err)
		}
		return nil, badOnion(CodeInvalidOnionVersion, err)
	}
	res, err := peel(&pkt)
	switch {
	case errors.Is(err, sphinx.ErrInvalidOnionHMAC):
		return nil, badOnion(CodeInvalidOnionHmac, err)
	case errors.Is(err, sphinx.ErrInvalidOnionKey):
		return nil, badOnion(CodeInvalidOnionKey, err)
	case errors.Is(err, sphinx.ErrReplayedPacket):
		// A replay is answered like a corrupt onion: the replayer
		// learns nothing about the payment.
		return nil, badOnion(CodeInvalidOnionHmac, err)
	case err != nil:
		// The HMAC checked, so the sender wrote a payload we cannot
		// frame (bad length prefix).
		return nil, &ProcessError{Failure: &InvalidOnionPayload{}, Err: err}
	}

	hop := &ProcessedHop{
		RawPayload:   res.Payload.Payload,
		Final:        res.Action == sphinx.ExitNode,
		EphemeralKey: pkt.EphemeralKey,
	}
	hop.Payload, err = DecodePayload(hop.RawPayload, hop.Final)
	if err != nil {
		var ipe *InvalidPayloadError
		if errors.As(err, &ipe) {
			return nil, &ProcessError{Failure: ipe.Failure(), Err: err}
		}
		return nil, &ProcessError{Failure: &InvalidOnionPayload{}, Err: err}
	}
	if !hop.Final {
		var buf bytes.Buffer
		buf.Grow(PacketSize)
		if err := res.NextPacket.Encode(&buf); err != nil {
			return nil, &ProcessError{Failure: &TemporaryNodeFailure{}, Err: err}
		}
		copy(hop.NextPacket[:], buf.Bytes())
	}
	return hop, nil
}

// ErrorEncrypter encrypts failures on their way back to the payer, with the
// secret this node shares with the payer for one onion.
type ErrorEncrypter struct {
	e *sphinx.OnionErrorEncrypter
}

// ErrorEncrypter returns the encrypter for the onion whose ephemeral key is
// given (ProcessedHop.EphemeralKey).
func (r *Router) ErrorEncrypter(ephemeralKey *btcec.PublicKey) (*ErrorEncrypter, error) {
	e, err := sphinx.NewOnionErrorEncrypter(r.r, ephemeralKey)
	if err != nil {
		return nil, fmt.Errorf("onion: error encrypter: %w", err)
	}
	return &ErrorEncrypter{e: e}, nil
}

// NewErrorEncrypterFromSecret restores an encrypter from its shared secret,
// as persisted with a circuit.
func NewErrorEncrypterFromSecret(secret [32]byte) *ErrorEncrypter {
	e := &sphinx.OnionErrorEncrypter{}
	// Decode only copies the 32 bytes; it cannot fail on a full reader.
	_ = e.Decode(bytes.NewReader(secret[:]))
	return &ErrorEncrypter{e: e}
}

// SharedSecret returns the secret, for persistence.
func (e *ErrorEncrypter) SharedSecret() [32]byte {
	var b bytes.Buffer
	_ = e.e.Encode(&b)
	var s [32]byte
	copy(s[:], b.Bytes())
	return s
}

// minFailurePad is the length failuremsg plus padding is brought to, so
// that all failures look alike on the wire.
const minFailurePad = 256

// EncryptFailure builds the encrypted reason of update_fail_htlc at the
// node where the payment failed.
func (e *ErrorEncrypter) EncryptFailure(msg FailureMessage) []byte {
	return e.e.EncryptError(true, failurePacket(EncodeFailure(msg)))
}

// Wrap adds this node's layer of encryption to a reason coming back from
// downstream, before passing it upstream.
func (e *ErrorEncrypter) Wrap(reason []byte) []byte {
	return e.e.EncryptError(false, reason)
}

// failurePacket frames a failuremsg: its u16 length, the message, the u16
// pad length and zero padding.
func failurePacket(msg []byte) []byte {
	pad := max(0, minFailurePad-len(msg))
	var w bytes.Buffer
	writeUint(&w, uint64(len(msg)), 2)
	w.Write(msg)
	writeUint(&w, uint64(pad), 2)
	w.Write(make([]byte, pad))
	return w.Bytes()
}

// ForwardingFailure is a decrypted failure: which hop of the route sent it
// and what it says.
type ForwardingFailure struct {
	// HopIndex is the failing node's index in the route given to NewOnion.
	HopIndex int
	// Node is that node's key.
	Node *btcec.PublicKey
	// Failure is the message; nil if the hop sent one that cannot be
	// parsed (the error then says so).
	Failure FailureMessage
}

// ErrUnreadableFailure means no hop's key decrypts the reason: it was
// corrupted on the way, and any hop may be to blame.
var ErrUnreadableFailure = errors.New("onion: failure reason decrypts under no hop's key")

// DecryptFailure decrypts an update_fail_htlc reason with the circuit the
// onion was built with. If a hop is identified but its message cannot be
// parsed, both the ForwardingFailure (without Failure) and an error wrapping
// ErrMalformedFailure are returned, so the sender can still blame that hop.
func DecryptFailure(circuit *sphinx.Circuit, reason []byte) (*ForwardingFailure, error) {
	d, err := sphinx.NewOnionErrorDecrypter(circuit).DecryptError(reason)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnreadableFailure, err)
	}
	ff := &ForwardingFailure{HopIndex: d.SenderIdx - 1, Node: d.Sender}
	msg, err := unframeFailure(d.Message)
	if err != nil {
		return ff, err
	}
	ff.Failure, err = DecodeFailure(msg)
	if err != nil {
		return ff, err
	}
	return ff, nil
}

// unframeFailure returns the failuremsg from the decrypted packet.
func unframeFailure(b []byte) ([]byte, error) {
	if len(b) < 2 {
		return nil, fmt.Errorf("%w: %d bytes", ErrMalformedFailure, len(b))
	}
	n := int(b[0])<<8 | int(b[1])
	if len(b) < 2+n+2 {
		return nil, fmt.Errorf("%w: failure_len %d in %d bytes", ErrMalformedFailure, n, len(b))
	}
	pad := int(b[2+n])<<8 | int(b[3+n])
	if len(b) < 2+n+2+pad {
		return nil, fmt.Errorf("%w: pad_len %d does not fit", ErrMalformedFailure, pad)
	}
	return b[2 : 2+n], nil
}
