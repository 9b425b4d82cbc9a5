// Package notify tells the upper layers what happens on the base chain:
// a transaction reached a number of confirmations, an outpoint was spent,
// a new block became the tip. Every notification follows reorganisations.
//
// A Notifier reads any onchain.BlockSource. It keeps its own view of the
// main chain (the hashes of the most recent blocks) and moves it forward and
// backward with the source's connect and disconnect events, so that what it
// reports always agrees with the blocks it has processed, even while the
// source is already further ahead.
//
// # Registrations
//
// RegisterConf, RegisterSpend and RegisterBlockEpochs return an event whose
// channels the caller reads. Registrations are independent of each other;
// those on the same transaction or outpoint share what the notifier learnt
// about it, and a later one scans only heights no earlier one covered.
//
// On registration the notifier scans the main chain from the height hint to
// its tip, in the background, so that a transaction confirmed or an outpoint
// spent before the registration is reported as well. The hint should be the
// lowest height at which the transaction could be in a block (for example,
// the tip when a funding transaction was broadcast). A confirmation or spend
// below the hint is not looked for; if it is ever reorganised and mined
// again, the new block is seen.
//
// # Reorganisations
//
// A confirmation that fired and whose block is then disconnected sends the
// reorganisation depth on NegativeConf and re-arms: Confirmed fires again
// when the transaction reaches the requested depth on the new branch. A
// spend whose block is disconnected sends on Reorg and re-arms: Spend fires
// again, possibly with a different spending transaction, when the new branch
// spends the outpoint. A reorganisation deeper than the hashes the notifier
// keeps (Config.ReorgDepth) is followed as well: its fork is found by
// walking back through the source's stored blocks.
//
// # Delivery
//
// The notifier never waits for a consumer. Each registration has its own
// queue and delivers its notifications in the order they happened, one at a
// time, on unbuffered channels (Updates excepted, which has room for its
// latest value): a NegativeConf is always received before the
// Confirmed that follows it. A consumer must therefore read every channel of
// its registration that may carry a value (or Cancel it); an unread
// NegativeConf holds back the next Confirmed. There is no order between
// different registrations: a block epoch may arrive before or after the
// confirmation the same block completes. Confirmed, NegativeConf, Spend
// and Reorg are never dropped. Updates keeps only the latest value. Block
// epochs and mempool spenders are queued up to a large bound, beyond which
// the oldest are dropped.
//
// All channels of a registration are closed when it ends, by Cancel or by
// Stop; a receive that reports !ok means no more notifications will come.
//
// # Mempool spends
//
// RegisterSpend does not report a spend seen only in the mempool. BOLT 5
// reacts to confirmed spends: an unconfirmed spending transaction can be
// replaced or evicted at any time, and acting on it (for example by
// sweeping against it) would build on something the chain may never
// contain. RegisterMempoolSpend is a separate, advisory hook for callers
// that want to learn early what a spender reveals, such as a preimage.
package notify
