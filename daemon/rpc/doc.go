// Package rpc is the control interface of a Flash daemon: JSON over HTTP,
// bound to loopback, every call authenticated with a random bearer token.
//
// A call is a POST to /v1/METHOD (for example /v1/wallet/send) whose body is
// the JSON request object (an empty body stands for {}). A successful call
// answers 200 with the JSON response object; a failed one answers with an
// HTTP status matching the failure and the body
//
//	{"error": {"code": "insufficient_funds", "message": "..."}}
//
// where code is one of the stable Code values and message is meant for
// humans.
//
// The daemon writes its RPC address and token to the file rpc.json (mode
// 0600) in its data directory; the Client reads it from there, which is how
// the command-line tool finds its node. Field names are the snake_case names
// of the command-line contract, so that `flash --json` output and the RPC
// speak the same language.
package rpc
