package channel

import (
	"errors"
	"fmt"
)

// ErrorCode classifies why the machine refused an input. The daemon branches
// on it to choose between a BOLT 1 warning (close the connection, keep the
// channel) and an error (fail the channel).
type ErrorCode uint8

// The error codes. Their numeric values are not part of any wire format.
const (
	// CodeUnexpectedMessage: a message that the current state does not
	// allow (a revoke_and_ack with no commitment outstanding, an update
	// after shutdown, a message before channel_reestablish...).
	CodeUnexpectedMessage ErrorCode = iota + 1
	// CodeInvalidSignature: a commitment, HTLC or closing signature that
	// does not verify.
	CodeInvalidSignature
	// CodeWrongHTLCSigCount: commitment_signed carried a number of HTLC
	// signatures different from the number of non-dust HTLC outputs.
	CodeWrongHTLCSigCount
	// CodeLimitExceeded: an HTLC or fee breaks one of the negotiated
	// limits; ProtocolError.Limit says which.
	CodeLimitExceeded
	// CodeBadRevocation: a per-commitment secret that does not match the
	// point given earlier, or that the shachain store rejects.
	CodeBadRevocation
	// CodeBadHTLCID: an HTLC id that is not the next one expected, or a
	// removal naming an HTLC that does not exist or is already removed.
	CodeBadHTLCID
	// CodeBadPreimage: update_fulfill_htlc with a preimage that does not
	// hash to the payment hash.
	CodeBadPreimage
	// CodeFeeUnaffordable: the funder cannot pay the commitment fee while
	// keeping its reserve.
	CodeFeeUnaffordable
	// CodeBadFeeRate: update_fee from the non-funder, or a rate outside
	// the accepted range.
	CodeBadFeeRate
	// CodeNoChanges: commitment_signed that commits to nothing new.
	CodeNoChanges
	// CodeWeLostState: the peer proved, in channel_reestablish, that our
	// state is older than theirs. We must not broadcast our commitment.
	CodeWeLostState
	// CodePeerLostState: the peer's channel_reestablish is behind ours or
	// inconsistent with what we sent it.
	CodePeerLostState
	// CodeBadShutdown: an unusable shutdown script or a second shutdown.
	CodeBadShutdown
	// CodeBadClosingFee: a closing_signed fee outside the negotiated range
	// or not converging.
	CodeBadClosingFee
	// CodeMalformed: a field with an impossible value (bad point, malformed
	// failure code without the BADONION bit...).
	CodeMalformed
	// CodeAwaitingRevocation: a local command to sign while the previous
	// signature is still unrevoked.
	CodeAwaitingRevocation
	// CodeChannelClosing: a command not allowed once shutdown started.
	CodeChannelClosing
	// CodeDisconnected: a command while the peer is not connected or
	// channel_reestablish has not been exchanged yet.
	CodeDisconnected
	// CodeInternal: a failure of our own key material or of a dependency;
	// never caused by the peer.
	CodeInternal
)

var codeNames = map[ErrorCode]string{
	CodeUnexpectedMessage:  "unexpected message",
	CodeInvalidSignature:   "invalid signature",
	CodeWrongHTLCSigCount:  "wrong number of HTLC signatures",
	CodeLimitExceeded:      "limit exceeded",
	CodeBadRevocation:      "bad revocation secret",
	CodeBadHTLCID:          "bad HTLC id",
	CodeBadPreimage:        "bad preimage",
	CodeFeeUnaffordable:    "fee unaffordable",
	CodeBadFeeRate:         "bad fee rate",
	CodeNoChanges:          "commitment without changes",
	CodeWeLostState:        "local state is outdated",
	CodePeerLostState:      "peer state is outdated",
	CodeBadShutdown:        "bad shutdown",
	CodeBadClosingFee:      "bad closing fee",
	CodeMalformed:          "malformed field",
	CodeAwaitingRevocation: "awaiting revocation",
	CodeChannelClosing:     "channel is closing",
	CodeDisconnected:       "peer not connected",
	CodeInternal:           "internal error",
}

func (c ErrorCode) String() string {
	if s, ok := codeNames[c]; ok {
		return s
	}
	return fmt.Sprintf("error code %d", uint8(c))
}

// Limit names the BOLT 2 limit an HTLC or fee broke.
type Limit uint8

// The limits of BOLT 2 "Adding an HTLC" and "Updating Fees".
const (
	LimitNone Limit = iota
	LimitMaxAcceptedHTLCs
	LimitMaxHTLCValueInFlight
	LimitChannelReserve
	LimitHTLCMinimum
	LimitZeroAmount
	LimitCLTVExpiry
	LimitInsufficientBalance
)

var limitNames = map[Limit]string{
	LimitNone:                 "none",
	LimitMaxAcceptedHTLCs:     "max_accepted_htlcs",
	LimitMaxHTLCValueInFlight: "max_htlc_value_in_flight_msat",
	LimitChannelReserve:       "channel_reserve_satoshis",
	LimitHTLCMinimum:          "htlc_minimum_msat",
	LimitZeroAmount:           "amount_msat must be positive",
	LimitCLTVExpiry:           "cltv_expiry below 500000000",
	LimitInsufficientBalance:  "balance",
}

func (l Limit) String() string {
	if s, ok := limitNames[l]; ok {
		return s
	}
	return fmt.Sprintf("limit %d", uint8(l))
}

// ProtocolError reports a peer message that breaks BOLT 2. The machine's
// state is unchanged when one is returned.
type ProtocolError struct {
	Code   ErrorCode
	Limit  Limit // set when Code is CodeLimitExceeded
	Detail string
}

func (e *ProtocolError) Error() string {
	if e.Code == CodeLimitExceeded {
		return fmt.Sprintf("channel protocol: %s (%s): %s", e.Code, e.Limit, e.Detail)
	}
	return fmt.Sprintf("channel protocol: %s: %s", e.Code, e.Detail)
}

// FailChannel reports whether BOLT 2 asks for the channel to be failed
// (send error, force close) rather than a warning and a disconnect. When we
// lost state we must not force close: our commitment is revoked, so the
// caller sends an error and waits for the peer to close.
func (e *ProtocolError) FailChannel() bool {
	switch e.Code {
	case CodeInvalidSignature, CodeWrongHTLCSigCount, CodeBadRevocation,
		CodePeerLostState, CodeLimitExceeded, CodeFeeUnaffordable,
		CodeBadPreimage, CodeBadClosingFee:
		return true
	}
	return false
}

// CommandError reports a local command the machine refused, for example an
// HTLC over a limit of the peer. Nothing is sent and the state is unchanged.
type CommandError struct {
	Code   ErrorCode
	Limit  Limit
	Detail string
}

func (e *CommandError) Error() string {
	if e.Code == CodeLimitExceeded {
		return fmt.Sprintf("channel command: %s (%s): %s", e.Code, e.Limit, e.Detail)
	}
	return fmt.Sprintf("channel command: %s: %s", e.Code, e.Detail)
}

// IsCode reports whether err is a ProtocolError or CommandError with code.
func IsCode(err error, code ErrorCode) bool {
	var pe *ProtocolError
	if errors.As(err, &pe) {
		return pe.Code == code
	}
	var ce *CommandError
	if errors.As(err, &ce) {
		return ce.Code == code
	}
	return false
}

func protoErr(code ErrorCode, format string, args ...any) *ProtocolError {
	return &ProtocolError{Code: code, Detail: fmt.Sprintf(format, args...)}
}

func limitErr(l Limit, format string, args ...any) *ProtocolError {
	return &ProtocolError{Code: CodeLimitExceeded, Limit: l, Detail: fmt.Sprintf(format, args...)}
}

func cmdErr(code ErrorCode, format string, args ...any) *CommandError {
	return &CommandError{Code: code, Detail: fmt.Sprintf(format, args...)}
}

// asCommandError turns a rule violation found while checking our own
// command into a CommandError: the same rules apply in both directions, but
// a refused command is not the peer's fault.
func asCommandError(err error) error {
	var pe *ProtocolError
	if errors.As(err, &pe) {
		return &CommandError{Code: pe.Code, Limit: pe.Limit, Detail: pe.Detail}
	}
	return err
}
