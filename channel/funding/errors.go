package funding

import (
	"errors"
	"fmt"

	"github.com/flash-ln/flash/channel/lnwire"
)

// ErrorCode classifies why the establishment of a channel was refused, so
// that the daemon and the RPC can tell the user what to change.
type ErrorCode uint8

// The error codes. Their numeric values are not part of any wire format.
const (
	// CodeChannelTooSmall: funding_satoshis below our minimum channel size.
	CodeChannelTooSmall ErrorCode = iota + 1
	// CodeChannelTooLarge: funding_satoshis above our maximum, or 2^24
	// satoshis or more without option_support_large_channel.
	CodeChannelTooLarge
	// CodeBadChainHash: open_channel names a chain we are not on.
	CodeBadChainHash
	// CodeInvalidParams: a field breaks a BOLT 2 rule or our policy;
	// Error.Field names it.
	CodeInvalidParams
	// CodeFeeTooLow: feerate_per_kw too small for timely confirmation.
	CodeFeeTooLow
	// CodeFeeTooHigh: feerate_per_kw unreasonably large.
	CodeFeeTooHigh
	// CodeUnsupportedChannelType: a channel_type (or, without one, an
	// implied commitment format) we do not implement.
	CodeUnsupportedChannelType
	// CodeInvalidSignature: a commitment 0 signature that does not verify
	// or is not low-S.
	CodeInvalidSignature
	// CodeUnexpectedMessage: a message for another channel or out of
	// order in the establishment flow.
	CodeUnexpectedMessage
	// CodeFundingOutput: the funding transaction does not pay exactly the
	// capacity to the 2-of-2 script, once and only once.
	CodeFundingOutput
	// CodeInternal: our own inputs are inconsistent (a keyring that does
	// not match the announced keys, a bad policy); never the peer's fault.
	CodeInternal
)

var codeNames = map[ErrorCode]string{
	CodeChannelTooSmall:        "channel too small",
	CodeChannelTooLarge:        "channel too large",
	CodeBadChainHash:           "unknown chain",
	CodeInvalidParams:          "invalid channel parameter",
	CodeFeeTooLow:              "fee rate too low",
	CodeFeeTooHigh:             "fee rate too high",
	CodeUnsupportedChannelType: "unsupported channel type",
	CodeInvalidSignature:       "invalid signature",
	CodeUnexpectedMessage:      "unexpected message",
	CodeFundingOutput:          "bad funding output",
	CodeInternal:               "internal error",
}

func (c ErrorCode) String() string {
	if s, ok := codeNames[c]; ok {
		return s
	}
	return fmt.Sprintf("error code %d", uint8(c))
}

// Error is a refusal during channel establishment. Its message is meant for
// the peer as much as for our logs: it names the field and the values, and
// carries no secret.
type Error struct {
	Code ErrorCode
	// Field is the BOLT 2 name of the offending field, when there is one
	// (always for CodeInvalidParams).
	Field  string
	Detail string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("channel establishment: %s: %s: %s", e.Code, e.Field, e.Detail)
	}
	return fmt.Sprintf("channel establishment: %s: %s", e.Code, e.Detail)
}

// WireError returns the BOLT 1 error to send to the peer for the channel
// being established, named by its temporary channel id (or, after
// funding_created, its channel id). BOLT 2 fails a channel in establishment
// with an error, never a warning: there is nothing to keep.
func (e *Error) WireError(id lnwire.ChannelID) *lnwire.Error {
	return &lnwire.Error{ChannelID: id, Data: []byte(e.Error())}
}

// IsCode reports whether err is, or wraps, an *Error with code.
func IsCode(err error, code ErrorCode) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

func newErr(code ErrorCode, format string, args ...any) *Error {
	return &Error{Code: code, Detail: fmt.Sprintf(format, args...)}
}

func fieldErr(field, format string, args ...any) *Error {
	return &Error{Code: CodeInvalidParams, Field: field, Detail: fmt.Sprintf(format, args...)}
}
