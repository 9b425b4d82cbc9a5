// Package chain is Flash's built-in base chain: Bitcoin's regtest chain run
// inside the node with btcd's consensus engine.
//
// A Chain owns a btcd block database (ffldb) and the blockchain, mempool and
// block template machinery that sit on top of it. It speaks the Bitcoin P2P
// protocol through btcd's peer package, so Flash nodes relay blocks and
// transactions among themselves and a stock btcd node can follow the same
// chain.
//
// Concurrency model. Everything that changes the chain or the mempool (a
// block or transaction from a peer, a locally mined block, a locally sent
// transaction, mempool upkeep after a block) runs on a single goroutine, the
// worker. btcd's blockchain calls its notification callback while holding its
// chain lock, and the mempool calls back into the chain while holding its own
// lock; funnelling all writers through one goroutine means the two locks are
// never taken in opposite orders. Readers (BestBlock, BlockByHash, FetchUtxo,
// MempoolTxs) go straight to btcd, which is safe for concurrent use, with
// one exception: ffldb does not keep block reads apart from the commit that
// writes a block, so the chain's database wrapper does.
//
// Sync is headers first: a peer is asked for headers from our block locator,
// the headers are checked (continuity, proof of work) and the blocks they
// name are fetched with getdata and validated in full. New tips are
// announced with headers to peers that asked for them (BIP 130) and with inv
// to the others; for stock btcd peers, which sync blocks first, getblocks is
// served as well. The most-work chain wins: btcd reorganises as soon as a
// side branch has more work.
//
// Soft forks. btcd's regtest parameters activate CSV, segwit and taproot by
// BIP 9 signalling, so they become active at height 432 (three windows of
// 144 blocks); blocks mined here signal for them. Witness transactions are
// rejected before that height, exactly as a stock btcd regtest node would.
// Callers that need segwit mine past SegwitActivationHeight first.
//
// Durability. ffldb keeps metadata in a write cache for minutes; the chain
// forces it to disk at most a second after any change, and before Mine
// returns, so a kill -9 loses at most the last second of blocks received
// from peers (which peers supply again) and never a block Mine reported.
// btcd reconciles its UTXO set with the stored tip when the chain reopens.
//
// Peers that send malformed messages, blocks that break consensus rules,
// headers with bad proof of work or that never connect, or transactions
// that fail the context-free checks are disconnected and their IP address
// is banned for Config.BanDuration. Policy rejections (fees, conflicts)
// are not punished: honest peers race each other.
package chain
