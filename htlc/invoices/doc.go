// Package invoices is the node's invoice registry: it issues BOLT 11
// invoices, stores them, and decides whether an HTLC that ends at the node
// pays one.
//
// Add draws a random preimage and payment secret, signs the invoice with
// the node key and stores the record before returning it. Accept applies
// BOLT 4's rules for the final node to an incoming HTLC and answers with a
// Settle carrying the preimage or a Fail carrying the failure message to
// send back. A settlement is stored before Accept returns, so the preimage
// is released only after the node durably knows the invoice is paid; a
// replay of the same HTLC settles again without change, and any other HTLC
// for a paid invoice fails, so an invoice is never paid twice.
//
// Records live in a top-level bucket of the node's bbolt database. Writes
// that arrive together share one transaction and one fsync. The registry
// reads no clock and no randomness of its own: both come from its Config,
// which makes it deterministic under test.
//
// Multi-part payments (basic_mpp) are not supported: the invoices do not
// offer the feature and an HTLC that is only part of a payment is refused.
package invoices
