// Package wallet is the node's on-chain wallet: an HD seed, P2WPKH
// addresses, the outputs they own on one chain, coin selection, signing,
// and the deterministic keys the channel layer needs.
//
// # Keys
//
// A 32-byte seed, created at first start in Config.SeedFile (hex, mode
// 0600), is the BIP32 master. Wallet addresses are BIP84-style,
// m/84'/coin'/0'/0/i for addresses handed out and m/84'/coin'/0'/1/i for
// change. Channel keys live under m/1017'/coin'/family'/0/index, one
// hardened branch per KeyFamily; NextKeyLocator persists a counter per
// family, and NodeKey is index 0 of KeyFamilyNodeKey. The database records
// a fingerprint of the seed and refuses to open with another seed file.
//
// # Following the chain
//
// The wallet applies blocks in order on top of its synced tip, keeping for
// each applied block its hash, its parent and the wallet transactions it
// confirmed. The effects of a block are committed in the same database
// transaction as the tip they lead to (several blocks may share one), so a
// crash at any point leaves the state of some block boundary, and the next
// Start continues from there:
// it first undoes stored blocks that are no longer on the main chain (the
// fork point is the highest stored block the chain still has), then applies
// the main chain up to its tip. Events (onchain.Event) then advance it
// block by block, the events queued at one moment applied in one database
// transaction; an event that does not fit the synced tip sends the wallet
// back to the chain's own answer by the same catch-up. A mempool event is
// applied only if the transaction is still in the mempool, because
// catch-up may have overtaken the event stream.
//
// A transaction is the wallet's if it pays one of its scripts, spends one
// of its outputs, or was published through PublishTransaction. Outputs are
// keyed by outpoint, so a transaction seen in the mempool, then in a block,
// then in another block after a reorganisation is counted once.
//
// Undoing a block returns its transactions to unconfirmed: their outputs
// to us are unconfirmed again and the outputs they spent stay spent by
// them, as the mempool takes them back. A coinbase cannot return; it
// disappears with every wallet transaction spending it. Once the wallet is
// back at the tip after a reorganisation, and at every Start, it compares
// its unconfirmed transactions with the mempool: others' transactions that
// are not there are forgotten (their outputs disappear, what they spent is
// unspent again) and its own that are missing are rebroadcast, parents
// first. A refused rebroadcast is only logged: the transaction stays the
// wallet's until it or a conflicting transaction confirms.
//
// A confirmed transaction that spends an output also spent by an
// unconfirmed wallet transaction evicts that transaction, and transitively
// every wallet transaction spending its outputs. A mempool transaction
// evicts them too (it replaced them), unless the wallet already has a
// confirmed spend of that output, in which case the mempool event is stale
// and ignored.
//
// # Balance
//
// Balance sorts every unspent output into exactly one part: LockedSat if
// leased, else UnconfirmedSat if not in a block (incoming mempool payments
// and our own change alike), else ImmatureSat for a coinbase with fewer
// than the network's maturity (100 on regtest) confirmations, else
// ConfirmedSat. An output spent by one of our unconfirmed transactions
// counts nowhere: inputs are spent as soon as we publish.
//
// # Spending
//
// CreateTransaction selects among the confirmed, mature, unleased outputs,
// largest first and ties by outpoint, until they pay the outputs and the
// fee; the fee is the given rate applied to an upper bound of the
// transaction's virtual size, rounded up (signatures counted at their
// 72-byte maximum), so the rate is never undershot. A
// change output, P2WPKH on the internal branch and appended last, is added
// only if it would be at least the dust limit; otherwise the excess goes to
// the fee. Inputs are signed (BIP143), the signatures verified, and the
// inputs leased until the transaction is published, released or the lease
// expires (Config.LeaseDuration). Leases are stored, so they survive a
// restart. Errors a caller branches on are ErrInsufficientFunds (an
// *InsufficientFundsError with the amounts), ErrInvalidAmount,
// ErrDustAmount, ErrFeeRateTooLow, ErrFeeRateTooHigh and ErrConflict.
//
// PublishTransaction commits the transaction as ours before it hands it to
// the network, so that a crash in between loses nothing; it is rebroadcast
// at each Start until it confirms or a conflict confirms.
//
// # Storage
//
// All state is in the bucket "wallet" of the node's bbolt database. The
// package never logs the seed or private keys.
//
// # Limits
//
// A wallet database created for an existing seed starts at the chain's
// tip: there is no rescan, so earlier payments to that seed stay
// invisible. Only addresses handed out are watched (no gap lookahead).
// The per-block records used to undo blocks are kept for every block since
// the wallet's birth.
package wallet
