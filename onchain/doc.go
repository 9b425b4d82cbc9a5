// Package onchain is the boundary between Flash and the base chain.
//
// The rest of the node never talks to a chain implementation directly: it
// sees the small interfaces declared here. The built-in chain (sub-package
// chain, btcd's consensus engine run in-process on regtest) is the default
// implementation; an external btcd over RPC can be a second one.
//
// Sub-packages:
//
//	chain   the built-in chain: block database, validation, mempool, mining,
//	        Bitcoin P2P relay and sync
//	wallet  the HD wallet: P2WPKH addresses, UTXOs, coin selection, signing
//	notify  chain events for the upper layers: confirmations, spends, new
//	        tips; all of them reorganisation-aware
//
// Nothing in onchain imports the channel, htlc, router or daemon layers.
package onchain
