package forward

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/htlc/onion"
)

// CircuitKey names one HTLC: the channel it is on and its id there. Incoming
// and outgoing HTLCs have separate id sequences, so a key is only meaningful
// with its direction, which the circuit's field makes clear.
type CircuitKey struct {
	ChanID lnwire.ChannelID
	HTLCID uint64
}

// LocalChannel is the incoming channel of a payment this node sends itself;
// the HTLCID of such a circuit's incoming key is the payment attempt's id.
var LocalChannel lnwire.ChannelID

// String returns the channel id and the HTLC id.
func (k CircuitKey) String() string {
	return fmt.Sprintf("%x:%d", k.ChanID[:], k.HTLCID)
}

const keySize = 32 + 8

func (k CircuitKey) bytes() []byte {
	b := make([]byte, keySize)
	copy(b, k.ChanID[:])
	binary.BigEndian.PutUint64(b[32:], k.HTLCID)
	return b
}

func keyFromBytes(b []byte) (CircuitKey, error) {
	var k CircuitKey
	if len(b) != keySize {
		return k, fmt.Errorf("circuit key of %d bytes", len(b))
	}
	copy(k.ChanID[:], b)
	k.HTLCID = binary.BigEndian.Uint64(b[32:])
	return k, nil
}

// CircuitState is how far a circuit has progressed.
type CircuitState uint8

const (
	// StateHalfOpen: stored, the outgoing HTLC has no id yet and may never
	// have reached the outgoing channel.
	StateHalfOpen CircuitState = iota + 1
	// StateOpen: the outgoing channel holds the HTLC under Outgoing.HTLCID.
	StateOpen
	// StateSettled: the preimage came back; the incoming side is to be
	// fulfilled with it.
	StateSettled
	// StateFailed: the HTLC failed downstream, or could not be sent; the
	// incoming side is to be failed with the stored reason.
	StateFailed
)

// String names the state.
func (s CircuitState) String() string {
	switch s {
	case StateHalfOpen:
		return "half-open"
	case StateOpen:
		return "open"
	case StateSettled:
		return "settled"
	case StateFailed:
		return "failed"
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// Circuit ties an incoming HTLC to the outgoing HTLC that pays it forward.
type Circuit struct {
	State    CircuitState
	Incoming CircuitKey
	// Outgoing.ChanID is set from the start; Outgoing.HTLCID only once
	// the circuit is open.
	Outgoing CircuitKey
	// Sent is true once the outgoing channel took the HTLC under
	// Outgoing.HTLCID; it stays true when the circuit later settles or
	// fails, and is false for a forward the channel refused.
	Sent         bool
	OutgoingSCID lnwire.ShortChannelID

	PaymentHash    [32]byte
	IncomingAmount lnwire.MilliSatoshi
	IncomingExpiry uint32
	OutgoingAmount lnwire.MilliSatoshi
	OutgoingExpiry uint32
	// NextOnion is the onion for the next hop, kept so a half-open
	// circuit can be forwarded again after a restart.
	NextOnion [onion.PacketSize]byte
	// ErrorSecret is the secret shared with the payer, which wraps a
	// failure on its way back. Zero for a local payment.
	ErrorSecret [32]byte

	// Preimage is set in StateSettled.
	Preimage [32]byte
	// Reason is set in StateFailed: the update_fail_htlc reason for the
	// incoming side, already wrapped (or, for a local payment, the reason
	// as the first hop sent it).
	Reason []byte
	// LocalFailure is set for a local payment whose HTLC failed before it
	// left this node, or whose first hop failed it as malformed.
	LocalFailure onion.FailureMessage
}

// IsLocal reports whether the circuit is for a payment this node sends.
func (c *Circuit) IsLocal() bool { return c.Incoming.ChanID == LocalChannel }

const circuitVersion = 1

// errBadCircuit marks a stored circuit that cannot be parsed.
var errBadCircuit = errors.New("forward: malformed stored circuit")

func (c *Circuit) marshal() []byte {
	b := make([]byte, 0, 2+2*keySize+8+32+8+4+8+4+onion.PacketSize+32+32+4+len(c.Reason)+64)
	var flags byte
	if c.Sent {
		flags |= 1
	}
	b = append(b, circuitVersion, byte(c.State), flags)
	b = append(b, c.Incoming.bytes()...)
	b = append(b, c.Outgoing.bytes()...)
	b = binary.BigEndian.AppendUint64(b, c.OutgoingSCID.ToUint64())
	b = append(b, c.PaymentHash[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(c.IncomingAmount))
	b = binary.BigEndian.AppendUint32(b, c.IncomingExpiry)
	b = binary.BigEndian.AppendUint64(b, uint64(c.OutgoingAmount))
	b = binary.BigEndian.AppendUint32(b, c.OutgoingExpiry)
	b = append(b, c.NextOnion[:]...)
	b = append(b, c.ErrorSecret[:]...)
	b = append(b, c.Preimage[:]...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(c.Reason)))
	b = append(b, c.Reason...)
	var local []byte
	if c.LocalFailure != nil {
		local = onion.EncodeFailure(c.LocalFailure)
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(local)))
	b = append(b, local...)
	return b
}

// unmarshalCircuit parses a stored circuit.
func unmarshalCircuit(b []byte) (*Circuit, error) {
	r := reader{b: b}
	if v := r.u8(); v != circuitVersion {
		return nil, fmt.Errorf("%w: version %d", errBadCircuit, v)
	}
	c := &Circuit{State: CircuitState(r.u8())}
	flags := r.u8()
	if flags&^1 != 0 {
		return nil, fmt.Errorf("%w: flags %#x", errBadCircuit, flags)
	}
	c.Sent = flags&1 != 0
	var err error
	if c.Incoming, err = keyFromBytes(r.next(keySize)); err != nil {
		return nil, fmt.Errorf("%w: %v", errBadCircuit, err)
	}
	if c.Outgoing, err = keyFromBytes(r.next(keySize)); err != nil {
		return nil, fmt.Errorf("%w: %v", errBadCircuit, err)
	}
	c.OutgoingSCID = lnwire.NewShortChanIDFromInt(r.u64())
	copy(c.PaymentHash[:], r.next(32))
	c.IncomingAmount = lnwire.MilliSatoshi(r.u64())
	c.IncomingExpiry = r.u32()
	c.OutgoingAmount = lnwire.MilliSatoshi(r.u64())
	c.OutgoingExpiry = r.u32()
	copy(c.NextOnion[:], r.next(onion.PacketSize))
	copy(c.ErrorSecret[:], r.next(32))
	copy(c.Preimage[:], r.next(32))
	if n := int(r.u16()); n > 0 {
		c.Reason = append([]byte(nil), r.next(n)...)
	}
	if n := int(r.u16()); n > 0 {
		local := r.next(n)
		if r.err == nil {
			if c.LocalFailure, err = onion.DecodeFailure(local); err != nil {
				return nil, fmt.Errorf("%w: local failure: %v", errBadCircuit, err)
			}
		}
	}
	if r.err != nil {
		return nil, fmt.Errorf("%w: %v", errBadCircuit, r.err)
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", errBadCircuit, len(r.b))
	}
	if c.State < StateHalfOpen || c.State > StateFailed {
		return nil, fmt.Errorf("%w: state %d", errBadCircuit, c.State)
	}
	if c.Sent == (c.State == StateHalfOpen) && (c.State == StateHalfOpen || c.State == StateOpen) {
		return nil, fmt.Errorf("%w: %s circuit marked sent=%v", errBadCircuit, c.State, c.Sent)
	}
	return c, nil
}

// reader consumes a byte slice, remembering the first short read so that
// parsing code can check once at the end.
type reader struct {
	b   []byte
	err error
}

func (r *reader) next(n int) []byte {
	if r.err != nil {
		return make([]byte, n)
	}
	if len(r.b) < n {
		r.err = errors.New("unexpected end of data")
		r.b = nil
		return make([]byte, n)
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u8() uint8   { return r.next(1)[0] }
func (r *reader) u16() uint16 { return binary.BigEndian.Uint16(r.next(2)) }
func (r *reader) u32() uint32 { return binary.BigEndian.Uint32(r.next(4)) }
func (r *reader) u64() uint64 { return binary.BigEndian.Uint64(r.next(8)) }
