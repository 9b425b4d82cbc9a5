// Package payment drives outgoing payments: it finds a route, builds the
// onion, hands the first-hop HTLC to the daemon, learns from the outcome
// and retries until the payment succeeds, runs out of routes or time.
//
// The core is a state machine over stored records. Start records a
// payment, Launch makes one attempt (route, onion, persist, send) and
// HandleResult applies the outcome the daemon reports for an attempt's
// HTLC. Every transition is written to the database before it has any
// effect outside it: an attempt, with the session key its onion was built
// from, is stored before its HTLC is handed over, so that after a crash
// the failure that comes back can still be decrypted and blamed on the
// right hop. Pay and Resume are thin loops over these steps for callers
// that want to wait for the end.
//
// Money safety rules the package enforces:
//
//   - one attempt at a time per payment, and its route never sends more
//     than the amount plus the fee limit, checked again just before the
//     HTLC is handed over;
//   - a payment hash that has succeeded, or has an attempt in flight, is
//     never paid again;
//   - a payment is marked failed only when no HTLC of it can still
//     settle: after a timeout, the attempt in flight is waited for.
//
// Payments are not split (no multi-part payments): each attempt carries
// the whole amount over one route.
package payment
