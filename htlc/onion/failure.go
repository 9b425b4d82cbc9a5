package onion

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/lightningnetwork/lnd/tlv"

	"github.com/flash-ln/flash/channel/lnwire"
)

// FailureCode is a BOLT 4 failure_code: a number with flags in its high
// bits.
type FailureCode uint16

// Flags of a failure code.
const (
	// FlagBadOnion: the onion was unreadable; the failing hop reports it
	// with update_fail_malformed_htlc instead of an encrypted reason.
	FlagBadOnion FailureCode = 0x8000
	// FlagPerm: retrying the same route is pointless.
	FlagPerm FailureCode = 0x4000
	// FlagNode: the failure is the node's, not one channel's.
	FlagNode FailureCode = 0x2000
	// FlagUpdate: the message carries a channel_update.
	FlagUpdate FailureCode = 0x1000
)

// The BOLT 4 failure codes.
const (
	CodeInvalidRealm                     = FlagPerm | 1
	CodeTemporaryNodeFailure             = FlagNode | 2
	CodePermanentNodeFailure             = FlagPerm | FlagNode | 2
	CodeRequiredNodeFeatureMissing       = FlagPerm | FlagNode | 3
	CodeInvalidOnionVersion              = FlagBadOnion | FlagPerm | 4
	CodeInvalidOnionHmac                 = FlagBadOnion | FlagPerm | 5
	CodeInvalidOnionKey                  = FlagBadOnion | FlagPerm | 6
	CodeTemporaryChannelFailure          = FlagUpdate | 7
	CodePermanentChannelFailure          = FlagPerm | 8
	CodeRequiredChannelFeatureMissing    = FlagPerm | 9
	CodeUnknownNextPeer                  = FlagPerm | 10
	CodeAmountBelowMinimum               = FlagUpdate | 11
	CodeFeeInsufficient                  = FlagUpdate | 12
	CodeIncorrectCltvExpiry              = FlagUpdate | 13
	CodeExpiryTooSoon                    = FlagUpdate | 14
	CodeIncorrectOrUnknownPaymentDetails = FlagPerm | 15
	CodeFinalIncorrectCltvExpiry         = FailureCode(18)
	CodeFinalIncorrectHtlcAmount         = FailureCode(19)
	CodeChannelDisabled                  = FlagUpdate | 20
	CodeExpiryTooFar                     = FailureCode(21)
	CodeInvalidOnionPayload              = FlagPerm | 22
	CodeMPPTimeout                       = FailureCode(23)
	CodeInvalidOnionBlinding             = FlagBadOnion | FlagPerm | 24
)

var codeNames = map[FailureCode]string{
	CodeInvalidRealm:                     "invalid_realm",
	CodeTemporaryNodeFailure:             "temporary_node_failure",
	CodePermanentNodeFailure:             "permanent_node_failure",
	CodeRequiredNodeFeatureMissing:       "required_node_feature_missing",
	CodeInvalidOnionVersion:              "invalid_onion_version",
	CodeInvalidOnionHmac:                 "invalid_onion_hmac",
	CodeInvalidOnionKey:                  "invalid_onion_key",
	CodeTemporaryChannelFailure:          "temporary_channel_failure",
	CodePermanentChannelFailure:          "permanent_channel_failure",
	CodeRequiredChannelFeatureMissing:    "required_channel_feature_missing",
	CodeUnknownNextPeer:                  "unknown_next_peer",
	CodeAmountBelowMinimum:               "amount_below_minimum",
	CodeFeeInsufficient:                  "fee_insufficient",
	CodeIncorrectCltvExpiry:              "incorrect_cltv_expiry",
	CodeExpiryTooSoon:                    "expiry_too_soon",
	CodeIncorrectOrUnknownPaymentDetails: "incorrect_or_unknown_payment_details",
	CodeFinalIncorrectCltvExpiry:         "final_incorrect_cltv_expiry",
	CodeFinalIncorrectHtlcAmount:         "final_incorrect_htlc_amount",
	CodeChannelDisabled:                  "channel_disabled",
	CodeExpiryTooFar:                     "expiry_too_far",
	CodeInvalidOnionPayload:              "invalid_onion_payload",
	CodeMPPTimeout:                       "mpp_timeout",
	CodeInvalidOnionBlinding:             "invalid_onion_blinding",
}

// String returns the BOLT 4 name, or the number in hex if unknown.
func (c FailureCode) String() string {
	if n, ok := codeNames[c]; ok {
		return n
	}
	return fmt.Sprintf("failure_code 0x%04x", uint16(c))
}

// FailureMessage is a decoded BOLT 4 failure message. Each code has its own
// type, so a caller can switch on it; UnknownFailure holds the others.
type FailureMessage interface {
	// Code returns the failure_code.
	Code() FailureCode
	// Error describes the failure.
	Error() string

	encodeData(w *bytes.Buffer)
	decodeData(r *bytes.Reader) error
}

// UpdateFailure is a failure that carries the failing channel's current
// channel_update, so the payer can retry with the right policy.
type UpdateFailure interface {
	FailureMessage
	ChannelUpdate() []byte
}

// Failures without data.
type (
	InvalidRealm                  struct{}
	TemporaryNodeFailure          struct{}
	PermanentNodeFailure          struct{}
	RequiredNodeFeatureMissing    struct{}
	PermanentChannelFailure       struct{}
	RequiredChannelFeatureMissing struct{}
	UnknownNextPeer               struct{}
	ExpiryTooFar                  struct{}
	MPPTimeout                    struct{}
)

func (*InvalidRealm) Code() FailureCode                  { return CodeInvalidRealm }
func (*TemporaryNodeFailure) Code() FailureCode          { return CodeTemporaryNodeFailure }
func (*PermanentNodeFailure) Code() FailureCode          { return CodePermanentNodeFailure }
func (*RequiredNodeFeatureMissing) Code() FailureCode    { return CodeRequiredNodeFeatureMissing }
func (*PermanentChannelFailure) Code() FailureCode       { return CodePermanentChannelFailure }
func (*RequiredChannelFeatureMissing) Code() FailureCode { return CodeRequiredChannelFeatureMissing }
func (*UnknownNextPeer) Code() FailureCode               { return CodeUnknownNextPeer }
func (*ExpiryTooFar) Code() FailureCode                  { return CodeExpiryTooFar }
func (*MPPTimeout) Code() FailureCode                    { return CodeMPPTimeout }

func (f *InvalidRealm) Error() string                  { return f.Code().String() }
func (f *TemporaryNodeFailure) Error() string          { return f.Code().String() }
func (f *PermanentNodeFailure) Error() string          { return f.Code().String() }
func (f *RequiredNodeFeatureMissing) Error() string    { return f.Code().String() }
func (f *PermanentChannelFailure) Error() string       { return f.Code().String() }
func (f *RequiredChannelFeatureMissing) Error() string { return f.Code().String() }
func (f *UnknownNextPeer) Error() string               { return f.Code().String() }
func (f *ExpiryTooFar) Error() string                  { return f.Code().String() }
func (f *MPPTimeout) Error() string                    { return f.Code().String() }

func (*InvalidRealm) encodeData(*bytes.Buffer)                  {}
func (*TemporaryNodeFailure) encodeData(*bytes.Buffer)          {}
func (*PermanentNodeFailure) encodeData(*bytes.Buffer)          {}
func (*RequiredNodeFeatureMissing) encodeData(*bytes.Buffer)    {}
func (*PermanentChannelFailure) encodeData(*bytes.Buffer)       {}
func (*RequiredChannelFeatureMissing) encodeData(*bytes.Buffer) {}
func (*UnknownNextPeer) encodeData(*bytes.Buffer)               {}
func (*ExpiryTooFar) encodeData(*bytes.Buffer)                  {}
func (*MPPTimeout) encodeData(*bytes.Buffer)                    {}

func (*InvalidRealm) decodeData(*bytes.Reader) error                  { return nil }
func (*TemporaryNodeFailure) decodeData(*bytes.Reader) error          { return nil }
func (*PermanentNodeFailure) decodeData(*bytes.Reader) error          { return nil }
func (*RequiredNodeFeatureMissing) decodeData(*bytes.Reader) error    { return nil }
func (*PermanentChannelFailure) decodeData(*bytes.Reader) error       { return nil }
func (*RequiredChannelFeatureMissing) decodeData(*bytes.Reader) error { return nil }
func (*UnknownNextPeer) decodeData(*bytes.Reader) error               { return nil }
func (*ExpiryTooFar) decodeData(*bytes.Reader) error                  { return nil }
func (*MPPTimeout) decodeData(*bytes.Reader) error                    { return nil }

// BadOnionFailure is reported for an onion the hop could not read: it
// carries the SHA256 of the onion so the previous hop can tell it is the
// one it sent. It travels in update_fail_malformed_htlc.
type BadOnionFailure struct {
	FailCode    FailureCode
	OnionSHA256 [32]byte
}

// NewBadOnionFailure returns the failure for code, which must have
// FlagBadOnion.
func NewBadOnionFailure(code FailureCode, onionSHA256 [32]byte) *BadOnionFailure {
	return &BadOnionFailure{FailCode: code, OnionSHA256: onionSHA256}
}

func (f *BadOnionFailure) Code() FailureCode { return f.FailCode }
func (f *BadOnionFailure) Error() string {
	return fmt.Sprintf("%s (onion %x)", f.FailCode, f.OnionSHA256[:4])
}
func (f *BadOnionFailure) encodeData(w *bytes.Buffer) { w.Write(f.OnionSHA256[:]) }
func (f *BadOnionFailure) decodeData(r *bytes.Reader) error {
	return readFull(r, f.OnionSHA256[:])
}

// TemporaryChannelFailure: the outgoing channel cannot take the HTLC now
// (no balance, too many HTLCs, peer offline).
type TemporaryChannelFailure struct{ Update []byte }

// AmountBelowMinimum: the HTLC is below the channel's htlc_minimum_msat.
type AmountBelowMinimum struct {
	HtlcMsat lnwire.MilliSatoshi
	Update   []byte
}

// FeeInsufficient: the fee left for this hop is below its policy.
type FeeInsufficient struct {
	HtlcMsat lnwire.MilliSatoshi
	Update   []byte
}

// IncorrectCltvExpiry: the CLTV delta left for this hop is below its policy.
type IncorrectCltvExpiry struct {
	CltvExpiry uint32
	Update     []byte
}

// ExpiryTooSoon: the incoming HTLC expires too close to the current height.
type ExpiryTooSoon struct{ Update []byte }

// ChannelDisabled: the outgoing channel is disabled.
type ChannelDisabled struct {
	Flags  uint16
	Update []byte
}

func (*TemporaryChannelFailure) Code() FailureCode { return CodeTemporaryChannelFailure }
func (*AmountBelowMinimum) Code() FailureCode      { return CodeAmountBelowMinimum }
func (*FeeInsufficient) Code() FailureCode         { return CodeFeeInsufficient }
func (*IncorrectCltvExpiry) Code() FailureCode     { return CodeIncorrectCltvExpiry }
func (*ExpiryTooSoon) Code() FailureCode           { return CodeExpiryTooSoon }
func (*ChannelDisabled) Code() FailureCode         { return CodeChannelDisabled }

func (f *TemporaryChannelFailure) ChannelUpdate() []byte { return f.Update }
func (f *AmountBelowMinimum) ChannelUpdate() []byte      { return f.Update }
func (f *FeeInsufficient) ChannelUpdate() []byte         { return f.Update }
func (f *IncorrectCltvExpiry) ChannelUpdate() []byte     { return f.Update }
func (f *ExpiryTooSoon) ChannelUpdate() []byte           { return f.Update }
func (f *ChannelDisabled) ChannelUpdate() []byte         { return f.Update }

func (f *TemporaryChannelFailure) Error() string { return f.Code().String() }
func (f *AmountBelowMinimum) Error() string {
	return fmt.Sprintf("%s (htlc %d msat)", f.Code(), uint64(f.HtlcMsat))
}
func (f *FeeInsufficient) Error() string {
	return fmt.Sprintf("%s (htlc %d msat)", f.Code(), uint64(f.HtlcMsat))
}
func (f *IncorrectCltvExpiry) Error() string {
	return fmt.Sprintf("%s (cltv_expiry %d)", f.Code(), f.CltvExpiry)
}
func (f *ExpiryTooSoon) Error() string { return f.Code().String() }
func (f *ChannelDisabled) Error() string {
	return fmt.Sprintf("%s (flags %#x)", f.Code(), f.Flags)
}

func (f *TemporaryChannelFailure) encodeData(w *bytes.Buffer) { writeUpdate(w, f.Update) }
func (f *AmountBelowMinimum) encodeData(w *bytes.Buffer) {
	writeUint(w, uint64(f.HtlcMsat), 8)
	writeUpdate(w, f.Update)
}
func (f *FeeInsufficient) encodeData(w *bytes.Buffer) {
	writeUint(w, uint64(f.HtlcMsat), 8)
	writeUpdate(w, f.Update)
}
func (f *IncorrectCltvExpiry) encodeData(w *bytes.Buffer) {
	writeUint(w, uint64(f.CltvExpiry), 4)
	writeUpdate(w, f.Update)
}
func (f *ExpiryTooSoon) encodeData(w *bytes.Buffer) { writeUpdate(w, f.Update) }
func (f *ChannelDisabled) encodeData(w *bytes.Buffer) {
	writeUint(w, uint64(f.Flags), 2)
	writeUpdate(w, f.Update)
}

func (f *TemporaryChannelFailure) decodeData(r *bytes.Reader) (err error) {
	f.Update, err = readUpdate(r)
	return err
}
func (f *AmountBelowMinimum) decodeData(r *bytes.Reader) error {
	v, err := readUint(r, 8)
	if err != nil {
		return err
	}
	f.HtlcMsat = lnwire.MilliSatoshi(v)
	f.Update, err = readUpdate(r)
	return err
}
func (f *FeeInsufficient) decodeData(r *bytes.Reader) error {
	v, err := readUint(r, 8)
	if err != nil {
		return err
	}
	f.HtlcMsat = lnwire.MilliSatoshi(v)
	f.Update, err = readUpdate(r)
	return err
}
func (f *IncorrectCltvExpiry) decodeData(r *bytes.Reader) error {
	v, err := readUint(r, 4)
	if err != nil {
		return err
	}
	f.CltvExpiry = uint32(v)
	f.Update, err = readUpdate(r)
	return err
}
func (f *ExpiryTooSoon) decodeData(r *bytes.Reader) (err error) {
	f.Update, err = readUpdate(r)
	return err
}
func (f *ChannelDisabled) decodeData(r *bytes.Reader) error {
	v, err := readUint(r, 2)
	if err != nil {
		return err
	}
	f.Flags = uint16(v)
	f.Update, err = readUpdate(r)
	return err
}

// IncorrectOrUnknownPaymentDetails is the final hop's answer to an unknown
// payment hash, a wrong payment secret, a wrong amount or an expiry too
// close: one failure for all, so that a prober learns nothing.
type IncorrectOrUnknownPaymentDetails struct {
	HtlcMsat lnwire.MilliSatoshi
	Height   uint32
}

func (*IncorrectOrUnknownPaymentDetails) Code() FailureCode {
	return CodeIncorrectOrUnknownPaymentDetails
}
func (f *IncorrectOrUnknownPaymentDetails) Error() string {
	return fmt.Sprintf("%s (htlc %d msat, height %d)", f.Code(), uint64(f.HtlcMsat), f.Height)
}
func (f *IncorrectOrUnknownPaymentDetails) encodeData(w *bytes.Buffer) {
	writeUint(w, uint64(f.HtlcMsat), 8)
	writeUint(w, uint64(f.Height), 4)
}
func (f *IncorrectOrUnknownPaymentDetails) decodeData(r *bytes.Reader) error {
	// Old senders left the fields out; treat them as zero.
	if r.Len() == 0 {
		return nil
	}
	v, err := readUint(r, 8)
	if err != nil {
		return err
	}
	f.HtlcMsat = lnwire.MilliSatoshi(v)
	h, err := readUint(r, 4)
	f.Height = uint32(h)
	return err
}

// FinalIncorrectCltvExpiry: the HTLC's expiry differs from the onion's
// outgoing_cltv_value at the final hop.
type FinalIncorrectCltvExpiry struct{ CltvExpiry uint32 }

func (*FinalIncorrectCltvExpiry) Code() FailureCode { return CodeFinalIncorrectCltvExpiry }
func (f *FinalIncorrectCltvExpiry) Error() string {
	return fmt.Sprintf("%s (cltv_expiry %d)", f.Code(), f.CltvExpiry)
}
func (f *FinalIncorrectCltvExpiry) encodeData(w *bytes.Buffer) {
	writeUint(w, uint64(f.CltvExpiry), 4)
}
func (f *FinalIncorrectCltvExpiry) decodeData(r *bytes.Reader) error {
	v, err := readUint(r, 4)
	f.CltvExpiry = uint32(v)
	return err
}

// FinalIncorrectHtlcAmount: the HTLC's amount is below the onion's
// amt_to_forward at the final hop.
type FinalIncorrectHtlcAmount struct{ IncomingHtlcAmt lnwire.MilliSatoshi }

func (*FinalIncorrectHtlcAmount) Code() FailureCode { return CodeFinalIncorrectHtlcAmount }
func (f *FinalIncorrectHtlcAmount) Error() string {
	return fmt.Sprintf("%s (htlc %d msat)", f.Code(), uint64(f.IncomingHtlcAmt))
}
func (f *FinalIncorrectHtlcAmount) encodeData(w *bytes.Buffer) {
	writeUint(w, uint64(f.IncomingHtlcAmt), 8)
}
func (f *FinalIncorrectHtlcAmount) decodeData(r *bytes.Reader) error {
	v, err := readUint(r, 8)
	f.IncomingHtlcAmt = lnwire.MilliSatoshi(v)
	return err
}

// InvalidOnionPayload: the hop payload could not be parsed or broke a rule;
// Type names the record and Offset the byte, where known.
type InvalidOnionPayload struct {
	Type   uint64
	Offset uint16
}

func (*InvalidOnionPayload) Code() FailureCode { return CodeInvalidOnionPayload }
func (f *InvalidOnionPayload) Error() string {
	return fmt.Sprintf("%s (type %d, offset %d)", f.Code(), f.Type, f.Offset)
}
func (f *InvalidOnionPayload) encodeData(w *bytes.Buffer) {
	var buf [8]byte
	_ = tlv.WriteVarInt(w, f.Type, &buf)
	writeUint(w, uint64(f.Offset), 2)
}
func (f *InvalidOnionPayload) decodeData(r *bytes.Reader) error {
	var buf [8]byte
	t, err := tlv.ReadVarInt(r, &buf)
	if err != nil {
		return fmt.Errorf("type: %w", err)
	}
	f.Type = t
	v, err := readUint(r, 2)
	f.Offset = uint16(v)
	return err
}

// UnknownFailure is a failure code this package does not know, with its
// data as sent.
type UnknownFailure struct {
	FailCode FailureCode
	Data     []byte
}

func (f *UnknownFailure) Code() FailureCode          { return f.FailCode }
func (f *UnknownFailure) Error() string              { return f.FailCode.String() }
func (f *UnknownFailure) encodeData(w *bytes.Buffer) { w.Write(f.Data) }
func (f *UnknownFailure) decodeData(r *bytes.Reader) error {
	f.Data = make([]byte, r.Len())
	_, _ = r.Read(f.Data)
	return nil
}

// newFailure returns an empty message of the type for code.
func newFailure(code FailureCode) FailureMessage {
	switch code {
	case CodeInvalidRealm:
		return &InvalidRealm{}
	case CodeTemporaryNodeFailure:
		return &TemporaryNodeFailure{}
	case CodePermanentNodeFailure:
		return &PermanentNodeFailure{}
	case CodeRequiredNodeFeatureMissing:
		return &RequiredNodeFeatureMissing{}
	case CodeInvalidOnionVersion, CodeInvalidOnionHmac, CodeInvalidOnionKey, CodeInvalidOnionBlinding:
		return &BadOnionFailure{FailCode: code}
	case CodeTemporaryChannelFailure:
		return &TemporaryChannelFailure{}
	case CodePermanentChannelFailure:
		return &PermanentChannelFailure{}
	case CodeRequiredChannelFeatureMissing:
		return &RequiredChannelFeatureMissing{}
	case CodeUnknownNextPeer:
		return &UnknownNextPeer{}
	case CodeAmountBelowMinimum:
		return &AmountBelowMinimum{}
	case CodeFeeInsufficient:
		return &FeeInsufficient{}
	case CodeIncorrectCltvExpiry:
		return &IncorrectCltvExpiry{}
	case CodeExpiryTooSoon:
		return &ExpiryTooSoon{}
	case CodeIncorrectOrUnknownPaymentDetails:
		return &IncorrectOrUnknownPaymentDetails{}
	case CodeFinalIncorrectCltvExpiry:
		return &FinalIncorrectCltvExpiry{}
	case CodeFinalIncorrectHtlcAmount:
		return &FinalIncorrectHtlcAmount{}
	case CodeChannelDisabled:
		return &ChannelDisabled{}
	case CodeExpiryTooFar:
		return &ExpiryTooFar{}
	case CodeInvalidOnionPayload:
		return &InvalidOnionPayload{}
	case CodeMPPTimeout:
		return &MPPTimeout{}
	}
	return &UnknownFailure{FailCode: code}
}

// EncodeFailure returns the failuremsg: the code followed by its data.
func EncodeFailure(msg FailureMessage) []byte {
	var w bytes.Buffer
	writeUint(&w, uint64(msg.Code()), 2)
	msg.encodeData(&w)
	return w.Bytes()
}

// ErrMalformedFailure is returned for a failure message that cannot be
// parsed.
var ErrMalformedFailure = errors.New("onion: malformed failure message")

// DecodeFailure parses a failuremsg. Bytes after the known fields (BOLT 4
// allows a TLV extension there) are ignored.
func DecodeFailure(b []byte) (FailureMessage, error) {
	if len(b) < 2 {
		return nil, fmt.Errorf("%w: %d bytes", ErrMalformedFailure, len(b))
	}
	msg := newFailure(FailureCode(binary.BigEndian.Uint16(b)))
	if err := msg.decodeData(bytes.NewReader(b[2:])); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrMalformedFailure, msg.Code(), err)
	}
	return msg, nil
}

func writeUint(w *bytes.Buffer, v uint64, n int) {
	for i := n - 1; i >= 0; i-- {
		w.WriteByte(byte(v >> (8 * i)))
	}
}

// writeUpdate writes a u16-length-prefixed channel_update.
func writeUpdate(w *bytes.Buffer, u []byte) {
	writeUint(w, uint64(len(u)), 2)
	w.Write(u)
}

func readFull(r *bytes.Reader, b []byte) error {
	if _, err := io.ReadFull(r, b); err != nil {
		return io.ErrUnexpectedEOF
	}
	return nil
}

func readUint(r *bytes.Reader, n int) (uint64, error) {
	var b [8]byte
	if err := readFull(r, b[8-n:]); err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint64(b[:]), nil
}

// readUpdate reads a u16-length-prefixed channel_update. A message that
// ends before the length carries no update, which BOLT 4 now allows.
func readUpdate(r *bytes.Reader) ([]byte, error) {
	if r.Len() == 0 {
		return nil, nil
	}
	n, err := readUint(r, 2)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, nil
	}
	u := make([]byte, n)
	if err := readFull(r, u); err != nil {
		return nil, fmt.Errorf("channel_update of %d bytes: %w", n, err)
	}
	return u, nil
}
