package onion

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/lightningnetwork/lnd/tlv"

	"github.com/flash-ln/flash/channel/lnwire"
)

// TLV types of the BOLT 4 payment payload ("payload" TLV stream), plus
// keysend's preimage record, which lnd and others use outside the BOLTs.
const (
	TypeAmtToForward    tlv.Type = 2
	TypeOutgoingCLTV    tlv.Type = 4
	TypeShortChannelID  tlv.Type = 6
	TypePaymentData     tlv.Type = 8
	TypePaymentMetadata tlv.Type = 16
	TypeKeysendPreimage tlv.Type = 5482373484
)

// MaxPayloadSize is the most a single hop's payload can take: the whole
// 1300-byte routing area less its length prefix and HMAC.
const MaxPayloadSize = 1300 - 3 - 32

// PaymentData is the payment_data record a payer gives the final hop.
type PaymentData struct {
	// PaymentSecret is the invoice's s field; it proves the payer saw
	// the invoice.
	PaymentSecret [32]byte

	// TotalMsat is the whole payment's amount, which exceeds this HTLC's
	// amount when the payment is split into parts.
	TotalMsat lnwire.MilliSatoshi
}

// Payload is one hop's decoded instructions.
type Payload struct {
	// AmtToForward is the amount to send to the next hop or, at the final
	// hop, the amount the payer means to deliver.
	AmtToForward lnwire.MilliSatoshi

	// OutgoingCLTV is the CLTV expiry of the outgoing HTLC or, at the
	// final hop, the expiry the payer used.
	OutgoingCLTV uint32

	// ShortChannelID is the channel to forward over; set for every hop but
	// the final one.
	ShortChannelID *lnwire.ShortChannelID

	// PaymentData is for the final hop of an invoice payment.
	PaymentData *PaymentData

	// PaymentMetadata echoes the invoice's m field to the final hop.
	PaymentMetadata []byte

	// KeysendPreimage is the preimage of a spontaneous payment, for the
	// final hop.
	KeysendPreimage *[32]byte

	// CustomRecords holds the records of other odd types, which a reader
	// ignores; they are kept so that a payload re-encodes unchanged.
	CustomRecords map[uint64][]byte
}

// InvalidPayloadError is a payload BOLT 4 says to refuse with
// invalid_onion_payload: Type is the offending record (0 when the stream
// itself is malformed) and Offset the byte where the problem is (0 when
// unknown).
type InvalidPayloadError struct {
	Type   uint64
	Offset uint16
	Reason string
}

func (e *InvalidPayloadError) Error() string {
	return fmt.Sprintf("onion: invalid payload (type %d): %s", e.Type, e.Reason)
}

// Failure returns the failure message to send back to the payer.
func (e *InvalidPayloadError) Failure() FailureMessage {
	return &InvalidOnionPayload{Type: e.Type, Offset: e.Offset}
}

func invalidPayload(typ tlv.Type, format string, args ...any) *InvalidPayloadError {
	return &InvalidPayloadError{Type: uint64(typ), Reason: fmt.Sprintf(format, args...)}
}

// payloadRecords returns the TLV records of the known payload fields, in
// type order, pointing at the given variables so that one list serves to
// encode and to decode.
func payloadRecords(amt *uint64, cltv *uint32, scid *uint64, pd *PaymentData, meta *[]byte, preimage *[32]byte) []tlv.Record {
	return []tlv.Record{
		tlv.MakeDynamicRecord(TypeAmtToForward, amt, func() uint64 { return tlv.SizeTUint64(*amt) }, tlv.ETUint64, tlv.DTUint64),
		tlv.MakeDynamicRecord(TypeOutgoingCLTV, cltv, func() uint64 { return tlv.SizeTUint32(*cltv) }, tlv.ETUint32, tlv.DTUint32),
		tlv.MakePrimitiveRecord(TypeShortChannelID, scid),
		tlv.MakeDynamicRecord(TypePaymentData, pd, func() uint64 { return 32 + tlv.SizeTUint64(uint64(pd.TotalMsat)) }, encodePaymentData, decodePaymentData),
		tlv.MakePrimitiveRecord(TypePaymentMetadata, meta),
		tlv.MakePrimitiveRecord(TypeKeysendPreimage, preimage),
	}
}

func encodePaymentData(w io.Writer, val any, buf *[8]byte) error {
	pd, ok := val.(*PaymentData)
	if !ok {
		return tlv.NewTypeForEncodingErr(val, "PaymentData")
	}
	if _, err := w.Write(pd.PaymentSecret[:]); err != nil {
		return err
	}
	return tlv.ETUint64T(w, uint64(pd.TotalMsat), buf)
}

func decodePaymentData(r io.Reader, val any, buf *[8]byte, l uint64) error {
	pd, ok := val.(*PaymentData)
	if !ok || l < 32 || l > 40 {
		return tlv.NewTypeForDecodingErr(val, "PaymentData", l, 40)
	}
	if _, err := io.ReadFull(r, pd.PaymentSecret[:]); err != nil {
		return err
	}
	var total uint64
	if err := tlv.DTUint64(r, &total, buf, l-32); err != nil {
		return err
	}
	pd.TotalMsat = lnwire.MilliSatoshi(total)
	return nil
}

// Encode returns the payload's TLV stream (without the length prefix the
// onion adds).
func (p *Payload) Encode() ([]byte, error) {
	amt := uint64(p.AmtToForward)
	cltv := p.OutgoingCLTV
	var scid uint64
	var pd PaymentData
	var preimage [32]byte
	meta := p.PaymentMetadata

	all := payloadRecords(&amt, &cltv, &scid, &pd, &meta, &preimage)
	recs := all[:2]
	if p.ShortChannelID != nil {
		scid = p.ShortChannelID.ToUint64()
		recs = append(recs, all[2])
	}
	if p.PaymentData != nil {
		pd = *p.PaymentData
		recs = append(recs, all[3])
	}
	if p.PaymentMetadata != nil {
		recs = append(recs, all[4])
	}
	if p.KeysendPreimage != nil {
		preimage = *p.KeysendPreimage
		recs = append(recs, all[5])
	}
	for typ, v := range p.CustomRecords {
		if isKnownType(tlv.Type(typ)) {
			return nil, fmt.Errorf("onion: custom record %d collides with a known type", typ)
		}
		if typ%2 == 0 {
			return nil, fmt.Errorf("onion: custom record %d is even: readers would refuse it", typ)
		}
		recs = append(recs, tlv.MakePrimitiveRecord(tlv.Type(typ), &v))
	}
	tlv.SortRecords(recs)
	s, err := tlv.NewStream(recs...)
	if err != nil {
		return nil, fmt.Errorf("onion: payload: %w", err)
	}
	var b bytes.Buffer
	if err := s.Encode(&b); err != nil {
		return nil, fmt.Errorf("onion: payload: %w", err)
	}
	if b.Len() > MaxPayloadSize {
		return nil, fmt.Errorf("onion: payload of %d bytes exceeds %d", b.Len(), MaxPayloadSize)
	}
	return b.Bytes(), nil
}

func isKnownType(t tlv.Type) bool {
	switch t {
	case TypeAmtToForward, TypeOutgoingCLTV, TypeShortChannelID,
		TypePaymentData, TypePaymentMetadata, TypeKeysendPreimage:
		return true
	}
	return false
}

// DecodePayload parses a hop payload and checks it against BOLT 4's rules
// for an intermediate hop (final false) or the final hop: amt_to_forward
// and outgoing_cltv_value always, short_channel_id exactly at intermediate
// hops, payment_data, payment_metadata and keysend only at the final hop,
// no unknown even record. Errors are *InvalidPayloadError.
//
// A final hop's payment_data is optional here: whether a payment secret is
// required is the invoice registry's decision (keysend has none).
func DecodePayload(b []byte, final bool) (*Payload, error) {
	var (
		amt, scid uint64
		cltv      uint32
		pd        PaymentData
		meta      []byte
		preimage  [32]byte
	)
	s, err := tlv.NewStream(payloadRecords(&amt, &cltv, &scid, &pd, &meta, &preimage)...)
	if err != nil {
		return nil, fmt.Errorf("onion: payload stream: %w", err)
	}
	parsed, err := s.DecodeWithParsedTypesP2P(bytes.NewReader(b))
	if err != nil {
		typ, offset := failingRecord(b)
		return nil, &InvalidPayloadError{Type: typ, Offset: offset, Reason: err.Error()}
	}

	p := &Payload{AmtToForward: lnwire.MilliSatoshi(amt), OutgoingCLTV: cltv}
	var unknownEven []uint64
	for typ, v := range parsed {
		if v == nil {
			continue // a known record
		}
		if typ%2 == 0 {
			unknownEven = append(unknownEven, uint64(typ))
			continue
		}
		if p.CustomRecords == nil {
			p.CustomRecords = make(map[uint64][]byte)
		}
		p.CustomRecords[uint64(typ)] = v
	}
	if len(unknownEven) > 0 {
		slices.Sort(unknownEven)
		return nil, invalidPayload(tlv.Type(unknownEven[0]), "unknown even record")
	}

	_, hasAmt := parsed[TypeAmtToForward]
	_, hasCLTV := parsed[TypeOutgoingCLTV]
	_, hasSCID := parsed[TypeShortChannelID]
	_, hasPD := parsed[TypePaymentData]
	_, hasMeta := parsed[TypePaymentMetadata]
	_, hasKeysend := parsed[TypeKeysendPreimage]
	switch {
	case !hasAmt:
		return nil, invalidPayload(TypeAmtToForward, "amt_to_forward missing")
	case !hasCLTV:
		return nil, invalidPayload(TypeOutgoingCLTV, "outgoing_cltv_value missing")
	case !final && !hasSCID:
		return nil, invalidPayload(TypeShortChannelID, "short_channel_id missing at an intermediate hop")
	case final && hasSCID:
		return nil, invalidPayload(TypeShortChannelID, "short_channel_id at the final hop")
	case !final && hasPD:
		return nil, invalidPayload(TypePaymentData, "payment_data at an intermediate hop")
	case !final && hasMeta:
		return nil, invalidPayload(TypePaymentMetadata, "payment_metadata at an intermediate hop")
	case !final && hasKeysend:
		return nil, invalidPayload(TypeKeysendPreimage, "keysend preimage at an intermediate hop")
	}
	if hasSCID {
		id := lnwire.NewShortChanIDFromInt(scid)
		p.ShortChannelID = &id
	}
	if hasPD {
		p.PaymentData = &pd
	}
	if hasMeta {
		p.PaymentMetadata = meta
	}
	if hasKeysend {
		p.KeysendPreimage = &preimage
	}
	return p, nil
}

// failingRecord finds the record a malformed stream breaks at, so that the
// failure can name it: the first record out of order, running past the end,
// or of a known type with a value of the wrong size. It returns the record's
// type and the offset of its start, or zeros if it cannot tell.
func failingRecord(b []byte) (typ uint64, offset uint16) {
	if len(b) > math.MaxUint16 {
		return 0, 0 // larger than any onion payload
	}
	r := bytes.NewReader(b)
	var buf [8]byte
	var prev uint64
	for first := true; ; first = false {
		start := uint16(len(b) - r.Len())
		t, err := tlv.ReadVarInt(r, &buf)
		if err != nil {
			return 0, 0
		}
		if !first && t <= prev {
			return t, start
		}
		prev = t
		l, err := tlv.ReadVarInt(r, &buf)
		if err != nil || l > uint64(r.Len()) || badLength(tlv.Type(t), l) {
			return t, start
		}
		val := make([]byte, l)
		_, _ = io.ReadFull(r, val)
		// A truncated integer must not start with a zero byte.
		switch {
		case (t == uint64(TypeAmtToForward) || t == uint64(TypeOutgoingCLTV)) && l > 0 && val[0] == 0:
			return t, start
		case t == uint64(TypePaymentData) && l > 32 && val[32] == 0:
			return t, start
		}
	}
}

func badLength(t tlv.Type, l uint64) bool {
	switch t {
	case TypeAmtToForward:
		return l > 8
	case TypeOutgoingCLTV:
		return l > 4
	case TypeShortChannelID:
		return l != 8
	case TypePaymentData:
		return l < 32 || l > 40
	case TypeKeysendPreimage:
		return l != 32
	}
	return false
}
