package invoices

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/flash-ln/flash/channel/lnwire"
)

// State is where an invoice is in its life. Open is the only state that
// can change; the others are final.
type State uint8

// The states of an invoice.
const (
	// StateOpen: payable, not paid yet.
	StateOpen State = iota
	// StateSettled: an HTLC paid it and its preimage was released.
	StateSettled
	// StateExpired: it was not paid before its expiry.
	StateExpired
	// StateCanceled: the payee withdrew it before it was paid.
	StateCanceled

	numStates
)

var stateNames = [...]string{"open", "settled", "expired", "canceled"}

// String returns the name the CLI and the RPC use: "open", "settled",
// "expired" or "canceled".
func (s State) String() string {
	if s < numStates {
		return stateNames[s]
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// CircuitKey names one incoming HTLC: the channel it arrived on and the id
// the sender gave it there. It is the channel id, not the short channel id,
// because the channel id never changes while a channel can be known under
// several short channel ids (aliases, reorganisations).
type CircuitKey struct {
	ChanID lnwire.ChannelID
	HTLCID uint64
}

func (k CircuitKey) String() string { return fmt.Sprintf("%s:%d", k.ChanID, k.HTLCID) }

// HTLC is an incoming HTLC that paid an invoice.
type HTLC struct {
	Circuit      CircuitKey
	AmountMsat   lnwire.MilliSatoshi
	Expiry       uint32 // cltv_expiry of the HTLC
	AcceptHeight uint32 // block height when it was accepted
	AcceptedAt   time.Time
}

// Record is the registry's view of one invoice.
type Record struct {
	PaymentHash   [32]byte
	Preimage      [32]byte
	PaymentSecret [32]byte

	// AmountMsat is the amount asked for; zero means any amount.
	AmountMsat lnwire.MilliSatoshi
	Memo       string

	// Invoice is the BOLT 11 string; empty for a keysend payment, which
	// has no invoice.
	Invoice string
	Keysend bool

	// MinFinalCLTVExpiryDelta is the c field the invoice was issued with,
	// kept so that a later change of configuration does not break the
	// promise made to payers.
	MinFinalCLTVExpiryDelta uint32

	CreatedAt time.Time
	ExpiresAt time.Time

	// State is the stored state, except that Lookup and List report an
	// open invoice past its expiry as expired before a sweep has stored
	// it.
	State          State
	SettledAt      time.Time
	AmountPaidMsat lnwire.MilliSatoshi
	HTLCs          []HTLC

	// AddIndex orders invoices by creation, starting at 1.
	AddIndex uint64
}

// stateAt returns the state an observer at now sees.
func (r *Record) stateAt(now time.Time) State {
	if r.State == StateOpen && !now.Before(r.ExpiresAt) {
		return StateExpired
	}
	return r.State
}

// findHTLC returns the HTLC with the given circuit key, or nil.
func (r *Record) findHTLC(k CircuitKey) *HTLC {
	for i := range r.HTLCs {
		if r.HTLCs[i].Circuit == k {
			return &r.HTLCs[i]
		}
	}
	return nil
}

func (r *Record) clone() *Record {
	c := *r
	c.HTLCs = append([]HTLC(nil), r.HTLCs...)
	return &c
}

// recordVersion is the first byte of every stored record, so that a later
// layout can be told apart from this one.
const recordVersion = 1

const (
	flagKeysend = 1 << 0

	// maxStoredHTLCs bounds the HTLC list a record may claim, so that a
	// damaged length cannot make the decoder allocate without limit.
	maxStoredHTLCs = 1 << 12
)

// errCorrupt reports a stored record that cannot be decoded: the database
// was damaged or written by an incompatible version, and the registry
// refuses to guess.
var errCorrupt = errors.New("invoices: corrupt record")

// encodeRecord serialises a record, without its payment hash (the key).
//
//	version(1) state(1) flags(1) preimage(32) secret(32) amount(8)
//	paid(8) min_final_cltv(4) created(8, unix s) expires(8, unix s)
//	settled(8, unix ns, 0 = never) add_index(8)
//	memo_len(2) memo invoice_len(4) invoice
//	htlc_count(2) { chan_id(32) htlc_id(8) amount(8) expiry(4)
//	                accept_height(4) accepted_at(8, unix ns) }
func encodeRecord(r *Record) []byte {
	b := make([]byte, 0, 160+len(r.Memo)+len(r.Invoice)+len(r.HTLCs)*64)
	var flags byte
	if r.Keysend {
		flags |= flagKeysend
	}
	b = append(b, recordVersion, byte(r.State), flags)
	b = append(b, r.Preimage[:]...)
	b = append(b, r.PaymentSecret[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(r.AmountMsat))
	b = binary.BigEndian.AppendUint64(b, uint64(r.AmountPaidMsat))
	b = binary.BigEndian.AppendUint32(b, r.MinFinalCLTVExpiryDelta)
	b = binary.BigEndian.AppendUint64(b, uint64(r.CreatedAt.Unix()))
	b = binary.BigEndian.AppendUint64(b, uint64(r.ExpiresAt.Unix()))
	b = binary.BigEndian.AppendUint64(b, uint64(unixNano(r.SettledAt)))
	b = binary.BigEndian.AppendUint64(b, r.AddIndex)
	b = binary.BigEndian.AppendUint16(b, uint16(len(r.Memo)))
	b = append(b, r.Memo...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(r.Invoice)))
	b = append(b, r.Invoice...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(r.HTLCs)))
	for _, h := range r.HTLCs {
		b = append(b, h.Circuit.ChanID[:]...)
		b = binary.BigEndian.AppendUint64(b, h.Circuit.HTLCID)
		b = binary.BigEndian.AppendUint64(b, uint64(h.AmountMsat))
		b = binary.BigEndian.AppendUint32(b, h.Expiry)
		b = binary.BigEndian.AppendUint32(b, h.AcceptHeight)
		b = binary.BigEndian.AppendUint64(b, uint64(unixNano(h.AcceptedAt)))
	}
	return b
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// decodeRecord parses a stored record. It never panics: every length is
// checked against what is left.
func decodeRecord(hash [32]byte, b []byte) (*Record, error) {
	d := decoder{b: b}
	if v := d.u8(); v != recordVersion {
		return nil, fmt.Errorf("%w %x: version %d", errCorrupt, hash[:4], v)
	}
	r := &Record{PaymentHash: hash}
	r.State = State(d.u8())
	flags := d.u8()
	r.Keysend = flags&flagKeysend != 0
	d.bytes(r.Preimage[:])
	d.bytes(r.PaymentSecret[:])
	r.AmountMsat = lnwire.MilliSatoshi(d.u64())
	r.AmountPaidMsat = lnwire.MilliSatoshi(d.u64())
	r.MinFinalCLTVExpiryDelta = d.u32()
	r.CreatedAt = time.Unix(int64(d.u64()), 0).UTC()
	r.ExpiresAt = time.Unix(int64(d.u64()), 0).UTC()
	r.SettledAt = fromUnixNano(int64(d.u64()))
	r.AddIndex = d.u64()
	r.Memo = string(d.next(int(d.u16())))
	r.Invoice = string(d.next(int(d.u32())))
	n := int(d.u16())
	if n > maxStoredHTLCs {
		return nil, fmt.Errorf("%w %x: %d htlcs", errCorrupt, hash[:4], n)
	}
	for i := 0; i < n && d.err == nil; i++ {
		var h HTLC
		d.bytes(h.Circuit.ChanID[:])
		h.Circuit.HTLCID = d.u64()
		h.AmountMsat = lnwire.MilliSatoshi(d.u64())
		h.Expiry = d.u32()
		h.AcceptHeight = d.u32()
		h.AcceptedAt = fromUnixNano(int64(d.u64()))
		r.HTLCs = append(r.HTLCs, h)
	}
	switch {
	case d.err != nil:
		return nil, fmt.Errorf("%w %x: %v", errCorrupt, hash[:4], d.err)
	case len(d.b) != 0:
		return nil, fmt.Errorf("%w %x: %d trailing bytes", errCorrupt, hash[:4], len(d.b))
	case r.State >= numStates:
		return nil, fmt.Errorf("%w %x: state %d", errCorrupt, hash[:4], r.State)
	case flags&^flagKeysend != 0:
		return nil, fmt.Errorf("%w %x: unknown flags %#x", errCorrupt, hash[:4], flags)
	}
	return r, nil
}

// decoder reads big-endian fields, remembering the first short read.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) next(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n > len(d.b) {
		d.err = fmt.Errorf("need %d bytes, have %d", n, len(d.b))
		d.b = nil
		return nil
	}
	out := d.b[:n]
	d.b = d.b[n:]
	return out
}

func (d *decoder) bytes(dst []byte) { copy(dst, d.next(len(dst))) }

func (d *decoder) u8() byte {
	if b := d.next(1); b != nil {
		return b[0]
	}
	return 0
}

func (d *decoder) u16() uint16 {
	if b := d.next(2); b != nil {
		return binary.BigEndian.Uint16(b)
	}
	return 0
}

func (d *decoder) u32() uint32 {
	if b := d.next(4); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

func (d *decoder) u64() uint64 {
	if b := d.next(8); b != nil {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}
