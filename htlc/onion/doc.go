// Package onion builds and peels BOLT 4 payment onions and carries failures
// back to the payer.
//
// A payer encodes one Payload per hop, builds the onion with NewOnion and
// keeps the returned circuit. Each node peels its layer with
// Router.Process, which authenticates the onion against the payment hash,
// decodes the node's payload and checks it against BOLT 4's rules for an
// intermediate or final hop, and yields the onion for the next hop.
//
// A node that fails an HTLC encrypts a FailureMessage with its
// ErrorEncrypter; each node on the way back adds a layer with Wrap; the
// payer's DecryptFailure tells which hop failed and why.
//
// The cryptography is lightning-onion's; this package adds the payload
// format, the failure messages and the rules around them.
package onion
