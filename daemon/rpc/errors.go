package rpc

import (
	"errors"
	"fmt"
	"net/http"
)

// Code is a stable, machine-readable error code. Scripts may branch on it;
// never change the meaning of an existing one.
type Code string

const (
	// CodeInvalidRequest: the request could not be read (malformed JSON,
	// unknown field, wrong type, body too large).
	CodeInvalidRequest Code = "invalid_request"
	// CodeInvalidArgument: the request was well-formed but a value is
	// unacceptable (malformed address, amount out of range).
	CodeInvalidArgument Code = "invalid_argument"
	// CodeInsufficientFunds: the wallet cannot pay the amount and its fee.
	CodeInsufficientFunds Code = "insufficient_funds"
	// CodeTxRejected: the mempool refused a transaction.
	CodeTxRejected Code = "tx_rejected"
	// CodeBroadcastFailed: a transaction was signed and recorded but not
	// handed to the network; the node retries by itself, so the caller
	// must not pay again.
	CodeBroadcastFailed Code = "broadcast_failed"
	// CodeNotFound: the method or the object asked for does not exist.
	CodeNotFound Code = "not_found"
	// CodeMethodNotAllowed: the HTTP method was not POST.
	CodeMethodNotAllowed Code = "method_not_allowed"
	// CodeUnauthenticated: the bearer token is missing or wrong.
	CodeUnauthenticated Code = "unauthenticated"
	// CodeUnavailable: the daemon is not running, not reachable, or
	// shutting down.
	CodeUnavailable Code = "unavailable"
	// CodeInternal: a fault of the daemon, not of the request.
	CodeInternal Code = "internal"
)

// HTTPStatus is the status a server answers with for the code.
func (c Code) HTTPStatus() int {
	switch c {
	case CodeInvalidRequest, CodeInvalidArgument:
		return http.StatusBadRequest
	case CodeInsufficientFunds, CodeTxRejected, CodePeerNotConnected, CodeFundingFailed:
		return http.StatusUnprocessableEntity
	case CodeNoRoute:
		return http.StatusUnprocessableEntity
	case CodeNotSupported:
		return http.StatusNotImplemented
	case CodeNotFound:
		return http.StatusNotFound
	case CodeMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case CodeUnauthenticated:
		return http.StatusUnauthorized
	case CodeUnavailable:
		return http.StatusServiceUnavailable
	case CodeBroadcastFailed:
		return http.StatusBadGateway
	default:
		return http.StatusInternalServerError
	}
}

// Error is a failed call as it travels on the wire. Handlers return it to
// choose the code; any other error a handler returns becomes CodeInternal.
type Error struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return e.Message }

// Errorf builds an *Error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode extracts the code of err: the code of an *Error in its chain,
// CodeUnavailable for ErrDaemonNotRunning, else CodeInternal.
func ErrorCode(err error) Code {
	var rpcErr *Error
	switch {
	case errors.As(err, &rpcErr):
		return rpcErr.Code
	case errors.Is(err, ErrDaemonNotRunning):
		return CodeUnavailable
	default:
		return CodeInternal
	}
}

// errorBody is the JSON envelope of a failed call.
type errorBody struct {
	Error *Error `json:"error"`
}
