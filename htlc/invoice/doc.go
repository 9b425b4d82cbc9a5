// Package invoice encodes and decodes BOLT 11 payment requests: the bech32
// strings ("lnbc2500u1p...") a payee hands to a payer.
//
// Decode authenticates what it returns: the signature is checked against the
// payee named in the n field, or the payee is recovered from the signature.
// It refuses invoices without a payment hash, a payment secret or a
// description, and invoices that require features the reader does not know.
// Encode produces the minimal encoding and signs through a Signer, so the
// node key never has to leave its store.
//
// Amounts are in millisatoshis. An Invoice says nothing about whether it has
// been paid; the invoice registry of the daemon keeps that state.
package invoice
