package payment

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/htlc/onion"
	"github.com/flash-ln/flash/router/graph"
	"github.com/flash-ln/flash/router/pathfind"
)

// recordVersion is the first byte of a stored payment. A reader refuses
// versions it does not know rather than guess at their layout.
const recordVersion = 1

// maxAttempts bounds a stored payment's attempts; Config.MaxAttempts may
// not exceed it.
const maxAttempts = 1000

// errCorrupt wraps every decoding failure of a stored record.
var errCorrupt = errors.New("payment: corrupt record")

type enc struct{ b []byte }

func (e *enc) u8(v uint8)   { e.b = append(e.b, v) }
func (e *enc) u16(v uint16) { e.b = binary.BigEndian.AppendUint16(e.b, v) }
func (e *enc) u32(v uint32) { e.b = binary.BigEndian.AppendUint32(e.b, v) }
func (e *enc) u64(v uint64) { e.b = binary.BigEndian.AppendUint64(e.b, v) }
func (e *enc) raw(v []byte) { e.b = append(e.b, v...) }
func (e *enc) vbytes(v []byte) {
	e.u16(uint16(len(v)))
	e.raw(v)
}
func (e *enc) time(t time.Time) {
	if t.IsZero() {
		e.u64(0)
		return
	}
	e.u64(uint64(t.UnixNano()))
}
func (e *enc) scid(s lnwire.ShortChannelID) { e.u64(s.ToUint64()) }

// encodeRecord serialises a payment. Lengths that could overflow their
// field are bounded where the payment is built: strings are cut to fit,
// attempts are capped at maxAttempts, routes at pathfind.MaxHops.
func encodeRecord(p *Payment) []byte {
	e := &enc{b: make([]byte, 0, 256+len(p.Attempts)*400)}
	e.u8(recordVersion)
	e.raw(p.PaymentHash[:])
	e.u8(uint8(p.Kind))
	e.u8(uint8(p.Status))
	e.raw(p.Dest[:])
	e.u64(uint64(p.AmountMsat))
	e.u64(uint64(p.MaxFeeMsat))
	e.time(p.CreatedAt)
	e.time(p.Deadline)
	e.u32(p.CltvLimit)
	e.raw(p.PaymentSecret[:])
	e.vbytes(p.Metadata)
	e.u16(p.FinalCLTVDelta)
	e.u8(uint8(len(p.RouteHints)))
	for _, hint := range p.RouteHints {
		e.u8(uint8(len(hint)))
		for _, h := range hint {
			e.raw(h.NodeID[:])
			e.scid(h.ShortChannelID)
			e.u32(h.FeeBaseMsat)
			e.u32(h.FeeProportionalMillionths)
			e.u16(h.CltvExpiryDelta)
		}
	}
	if p.Preimage != nil {
		e.u8(1)
		e.raw(p.Preimage[:])
	} else {
		e.u8(0)
	}
	e.u8(uint8(p.FailureReason))
	e.u16(uint16(len(p.Attempts)))
	for i := range p.Attempts {
		encodeAttempt(e, &p.Attempts[i])
	}
	return e.b
}

func encodeAttempt(e *enc, a *Attempt) {
	e.u64(a.ID)
	e.raw(a.SessionKey[:])
	e.u8(uint8(a.Status))
	e.time(a.SentAt)
	e.time(a.ResolvedAt)
	e.u16(uint16(a.FailureCode))
	e.u32(uint32(int32(a.FailureSource)))
	e.vbytes([]byte(a.Failure))
	e.u64(uint64(a.Route.TotalAmount))
	e.u64(uint64(a.Route.TotalFee))
	e.u32(a.Route.TotalCLTV)
	e.u8(uint8(len(a.Route.Hops)))
	for _, h := range a.Route.Hops {
		e.raw(h.NodeID[:])
		e.scid(h.ShortChannelID)
		e.u64(uint64(h.AmountMsat))
		e.u32(h.Expiry)
		e.u64(uint64(h.AmountToForward))
		e.u32(h.OutgoingCLTV)
	}
	e.u16(uint16(len(a.ExcludedChannels)))
	for _, c := range a.ExcludedChannels {
		e.scid(c.ShortChannelID)
		e.raw(c.From[:])
	}
	e.u16(uint16(len(a.ExcludedNodes)))
	for _, n := range a.ExcludedNodes {
		e.raw(n[:])
	}
}

// dec reads a record; the first error sticks and later reads return
// zeros, so the decoder checks once at the end.
type dec struct {
	b   []byte
	err error
}

func (d *dec) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n > len(d.b) {
		d.err = fmt.Errorf("%w: want %d bytes, have %d", errCorrupt, n, len(d.b))
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *dec) u8() uint8 {
	if v := d.take(1); v != nil {
		return v[0]
	}
	return 0
}

func (d *dec) u16() uint16 {
	if v := d.take(2); v != nil {
		return binary.BigEndian.Uint16(v)
	}
	return 0
}

func (d *dec) u32() uint32 {
	if v := d.take(4); v != nil {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}

func (d *dec) u64() uint64 {
	if v := d.take(8); v != nil {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

func (d *dec) copyTo(dst []byte) { copy(dst, d.take(len(dst))) }

func (d *dec) vbytes() []byte {
	n := int(d.u16())
	v := d.take(n)
	if n == 0 || v == nil {
		return nil
	}
	return append([]byte(nil), v...)
}

func (d *dec) time() time.Time {
	v := d.u64()
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(v)).UTC()
}

func (d *dec) scid() lnwire.ShortChannelID { return lnwire.NewShortChanIDFromInt(d.u64()) }

func (d *dec) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: "+format, append([]any{errCorrupt}, args...)...)
	}
}

func validStatus(s Status) bool { return s >= StatusInFlight && s <= StatusFailed }

// decodeRecord parses a stored payment. It is the inverse of
// encodeRecord and refuses anything encodeRecord cannot produce, so that
// a damaged record is reported instead of acted on.
func decodeRecord(b []byte) (*Payment, error) {
	d := &dec{b: b}
	if v := d.u8(); d.err == nil && v != recordVersion {
		return nil, fmt.Errorf("%w: version %d", errCorrupt, v)
	}
	p := &Payment{}
	d.copyTo(p.PaymentHash[:])
	p.Kind = Kind(d.u8())
	p.Status = Status(d.u8())
	d.copyTo(p.Dest[:])
	p.AmountMsat = lnwire.MilliSatoshi(d.u64())
	p.MaxFeeMsat = lnwire.MilliSatoshi(d.u64())
	p.CreatedAt = d.time()
	p.Deadline = d.time()
	p.CltvLimit = d.u32()
	d.copyTo(p.PaymentSecret[:])
	p.Metadata = d.vbytes()
	p.FinalCLTVDelta = d.u16()
	if n := int(d.u8()); n > 0 {
		p.RouteHints = make([][]pathfind.HopHint, 0, min(n, 16))
		for range n {
			m := int(d.u8())
			if d.err != nil {
				break
			}
			hint := make([]pathfind.HopHint, 0, min(m, 16))
			for range m {
				var h pathfind.HopHint
				d.copyTo(h.NodeID[:])
				h.ShortChannelID = d.scid()
				h.FeeBaseMsat = d.u32()
				h.FeeProportionalMillionths = d.u32()
				h.CltvExpiryDelta = d.u16()
				if d.err != nil {
					break
				}
				hint = append(hint, h)
			}
			p.RouteHints = append(p.RouteHints, hint)
		}
	}
	switch d.u8() {
	case 0:
	case 1:
		var pre [32]byte
		d.copyTo(pre[:])
		p.Preimage = &pre
	default:
		d.fail("preimage flag")
	}
	p.FailureReason = FailureReason(d.u8())
	n := int(d.u16())
	if n > maxAttempts {
		d.fail("%d attempts", n)
	}
	for i := 0; i < n && d.err == nil; i++ {
		a, ok := decodeAttempt(d)
		if !ok {
			break
		}
		p.Attempts = append(p.Attempts, a)
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail("%d trailing bytes", len(d.b))
	}
	if d.err == nil {
		d.err = p.check()
	}
	if d.err != nil {
		return nil, d.err
	}
	return p, nil
}

func decodeAttempt(d *dec) (Attempt, bool) {
	var a Attempt
	a.ID = d.u64()
	d.copyTo(a.SessionKey[:])
	a.Status = Status(d.u8())
	a.SentAt = d.time()
	a.ResolvedAt = d.time()
	a.FailureCode = onion.FailureCode(d.u16())
	a.FailureSource = int(int32(d.u32()))
	a.Failure = string(d.vbytes())
	a.Route.TotalAmount = lnwire.MilliSatoshi(d.u64())
	a.Route.TotalFee = lnwire.MilliSatoshi(d.u64())
	a.Route.TotalCLTV = d.u32()
	hops := int(d.u8())
	if hops == 0 || hops > pathfind.MaxHops {
		d.fail("route of %d hops", hops)
	}
	for i := 0; i < hops && d.err == nil; i++ {
		var h Hop
		d.copyTo(h.NodeID[:])
		h.ShortChannelID = d.scid()
		h.AmountMsat = lnwire.MilliSatoshi(d.u64())
		h.Expiry = d.u32()
		h.AmountToForward = lnwire.MilliSatoshi(d.u64())
		h.OutgoingCLTV = d.u32()
		a.Route.Hops = append(a.Route.Hops, h)
	}
	nc := int(d.u16())
	for i := 0; i < nc && d.err == nil; i++ {
		var c pathfind.DirectedChannel
		c.ShortChannelID = d.scid()
		d.copyTo(c.From[:])
		a.ExcludedChannels = append(a.ExcludedChannels, c)
	}
	nn := int(d.u16())
	for i := 0; i < nn && d.err == nil; i++ {
		var id graph.NodeID
		d.copyTo(id[:])
		a.ExcludedNodes = append(a.ExcludedNodes, id)
	}
	return a, d.err == nil
}

// check refuses field values no encoder writes.
func (p *Payment) check() error {
	if p.Kind != KindInvoice && p.Kind != KindKeysend {
		return fmt.Errorf("%w: kind %d", errCorrupt, p.Kind)
	}
	if !validStatus(p.Status) {
		return fmt.Errorf("%w: status %d", errCorrupt, p.Status)
	}
	if p.FailureReason > ReasonError {
		return fmt.Errorf("%w: failure reason %d", errCorrupt, p.FailureReason)
	}
	inFlight := 0
	for i := range p.Attempts {
		a := &p.Attempts[i]
		if !validStatus(a.Status) {
			return fmt.Errorf("%w: attempt %d status %d", errCorrupt, a.ID, a.Status)
		}
		if a.Status == StatusInFlight {
			inFlight++
		}
		if a.FailureSource < -1 || a.FailureSource >= len(a.Route.Hops) {
			return fmt.Errorf("%w: attempt %d failure source %d", errCorrupt, a.ID, a.FailureSource)
		}
	}
	if inFlight > 1 {
		return fmt.Errorf("%w: %d attempts in flight", errCorrupt, inFlight)
	}
	return nil
}
