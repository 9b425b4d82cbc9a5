package funding

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/wire"

	"github.com/flash-ln/flash/channel/lnwire"
)

// The stored forms: a magic, a version, then the fields in a fixed order,
// big-endian, variable-length ones prefixed by a 32-bit length. The
// open_channel and accept_channel messages are stored in their wire
// encoding, whose decoder already checks every key and TLV.
var (
	openerMagic  = [4]byte{'F', 'O', 'P', 'N'}
	pendingMagic = [4]byte{'F', 'P', 'N', 'D'}
)

const persistVersion = 1

// ErrBadState is returned for bytes that are not a stored Opener or
// Pending.
var ErrBadState = errors.New("funding: malformed stored state")

// Marshal returns the Opener's state for durable storage, from
// FundingCreated on: store it before sending funding_created. Earlier there
// is nothing worth storing, since BOLT 2 restarts an establishment
// interrupted before funding_created.
func (o *Opener) Marshal() ([]byte, error) {
	if o.phase != openerAwaitingSigned && o.phase != openerDone {
		return nil, newErr(CodeUnexpectedMessage, "nothing to store before funding_created")
	}
	var w writer
	w.raw(openerMagic[:])
	w.u8(persistVersion)
	w.u8(uint8(o.phase))
	if err := w.message(&o.n.open); err != nil {
		return nil, err
	}
	if err := w.message(&o.n.accept); err != nil {
		return nil, err
	}
	w.bytes(o.n.closeScript)
	w.u32(o.n.maxFeePerKw)
	w.outpoint(o.n.outpoint)
	if err := w.tx(o.fundingTx); err != nil {
		return nil, err
	}
	return w.b, nil
}

// UnmarshalOpener restores an Opener stored by Marshal. After a restart the
// connection that carried funding_created is gone and BOLT 2 does not
// resume the flow: the daemon uses the restored Opener to learn which
// funding transaction it must not broadcast and whose inputs it may
// release.
func UnmarshalOpener(data []byte) (*Opener, error) {
	r := reader{b: data}
	var magic [4]byte
	r.raw(magic[:])
	if magic != openerMagic || r.u8() != persistVersion {
		return nil, fmt.Errorf("%w: not a stored opener", ErrBadState)
	}
	o := &Opener{phase: openerPhase(r.u8()), n: negotiation{localFunder: true}}
	r.message(&o.n.open)
	r.message(&o.n.accept)
	o.n.closeScript = r.bytes()
	o.n.maxFeePerKw = r.u32()
	o.n.outpoint = r.outpoint()
	o.fundingTx = r.tx()
	if err := r.finish(); err != nil {
		return nil, err
	}
	if o.phase != openerAwaitingSigned && o.phase != openerDone {
		return nil, fmt.Errorf("%w: phase %d", ErrBadState, o.phase)
	}
	if c := o.n.open.FundingSatoshis; c == 0 || c > btcutil.MaxSatoshi ||
		o.n.open.PushMsat > lnwire.NewMSatFromSatoshis(c) {
		return nil, fmt.Errorf("%w: funding amounts", ErrBadState)
	}
	if o.fundingTx == nil || o.fundingTx.TxHash() != o.n.outpoint.Hash {
		return nil, fmt.Errorf("%w: funding transaction does not match the outpoint", ErrBadState)
	}
	_, pk, err := o.n.fundingScript()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadState, err)
	}
	if idx, err := checkFundingTx(o.fundingTx, pk, o.n.capacity()); err != nil || idx != o.n.outpoint.Index {
		return nil, fmt.Errorf("%w: funding output does not match", ErrBadState)
	}
	return o, nil
}

// Marshal returns the Pending record for durable storage.
func (p *Pending) Marshal() ([]byte, error) {
	var w writer
	w.raw(pendingMagic[:])
	w.u8(persistVersion)
	w.raw(p.TempChanID[:])
	w.outpoint(p.FundingOutpoint)
	w.u64(uint64(p.Capacity))
	w.bytes(p.FundingPkScript)
	w.u32(p.MinimumDepth)
	w.bool(p.LocalFunder)
	w.bool(p.Announce)
	if err := w.tx(p.FundingTx); err != nil {
		return nil, err
	}
	return w.b, nil
}

// UnmarshalPending restores a Pending stored by Marshal.
func UnmarshalPending(data []byte) (*Pending, error) {
	r := reader{b: data}
	var magic [4]byte
	r.raw(magic[:])
	if magic != pendingMagic || r.u8() != persistVersion {
		return nil, fmt.Errorf("%w: not a stored pending channel", ErrBadState)
	}
	p := &Pending{}
	r.raw(p.TempChanID[:])
	p.FundingOutpoint = r.outpoint()
	capacity := r.u64()
	p.FundingPkScript = r.bytes()
	p.MinimumDepth = r.u32()
	p.LocalFunder = r.bool()
	p.Announce = r.bool()
	p.FundingTx = r.tx()
	if err := r.finish(); err != nil {
		return nil, err
	}
	if capacity == 0 || capacity > btcutil.MaxSatoshi {
		return nil, fmt.Errorf("%w: capacity %d", ErrBadState, capacity)
	}
	p.Capacity = btcutil.Amount(capacity)
	if p.FundingTx != nil {
		if err := p.CheckFundingOutput(p.FundingTx); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadState, err)
		}
	}
	return p, nil
}

type writer struct{ b []byte }

func (w *writer) raw(b []byte) { w.b = append(w.b, b...) }
func (w *writer) u8(v uint8)   { w.b = append(w.b, v) }
func (w *writer) u32(v uint32) { w.b = binary.BigEndian.AppendUint32(w.b, v) }
func (w *writer) u64(v uint64) { w.b = binary.BigEndian.AppendUint64(w.b, v) }
func (w *writer) bool(v bool) {
	if v {
		w.u8(1)
	} else {
		w.u8(0)
	}
}
func (w *writer) bytes(b []byte) { w.u32(uint32(len(b))); w.raw(b) }
func (w *writer) outpoint(op wire.OutPoint) {
	w.raw(op.Hash[:])
	w.u32(op.Index)
}

func (w *writer) message(m lnwire.Message) error {
	var buf bytes.Buffer
	if err := m.Encode(&buf); err != nil {
		return newErr(CodeInternal, "encode %s: %v", m.MsgType(), err)
	}
	w.bytes(buf.Bytes())
	return nil
}

// tx stores a transaction, or an empty blob for none.
func (w *writer) tx(tx *wire.MsgTx) error {
	if tx == nil {
		w.bytes(nil)
		return nil
	}
	var buf bytes.Buffer
	if err := tx.Serialize(&buf); err != nil {
		return newErr(CodeInternal, "encode funding transaction: %v", err)
	}
	w.bytes(buf.Bytes())
	return nil
}

// reader decodes the stored forms; the first failure sticks and later
// reads return zero values.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", ErrBadState, what)
	}
}

func (r *reader) next(n int, what string) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || len(r.b) < n {
		r.fail("truncated " + what)
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) raw(dst []byte) { copy(dst, r.next(len(dst), "field")) }

func (r *reader) u8() uint8 {
	if b := r.next(1, "byte"); b != nil {
		return b[0]
	}
	return 0
}

func (r *reader) u32() uint32 {
	if b := r.next(4, "u32"); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

func (r *reader) u64() uint64 {
	if b := r.next(8, "u64"); b != nil {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

func (r *reader) bool() bool {
	switch r.u8() {
	case 0:
		return false
	case 1:
		return true
	}
	r.fail("boolean")
	return false
}

func (r *reader) bytes() []byte {
	n := r.u32()
	if r.err != nil {
		return nil
	}
	if uint64(n) > uint64(len(r.b)) {
		r.fail("length")
		return nil
	}
	b := r.next(int(n), "bytes")
	if len(b) == 0 {
		return nil
	}
	return bytes.Clone(b)
}

func (r *reader) outpoint() wire.OutPoint {
	var op wire.OutPoint
	r.raw(op.Hash[:])
	op.Index = r.u32()
	return op
}

func (r *reader) message(m lnwire.Message) {
	b := r.bytes()
	if r.err != nil {
		return
	}
	if err := m.Decode(bytes.NewReader(b)); err != nil {
		r.fail(fmt.Sprintf("%s: %v", m.MsgType(), err))
	}
}

func (r *reader) tx() *wire.MsgTx {
	b := r.bytes()
	if r.err != nil || len(b) == 0 {
		return nil
	}
	tx := &wire.MsgTx{}
	rd := bytes.NewReader(b)
	if err := tx.Deserialize(rd); err != nil || rd.Len() != 0 {
		r.fail("funding transaction")
		return nil
	}
	return tx
}

func (r *reader) finish() error {
	if r.err == nil && len(r.b) != 0 {
		r.fail("trailing bytes")
	}
	return r.err
}
