// Package daemon assembles a Flash node and runs it: the built-in chain, the
// wallet, chain events, the Lightning peers and channels, and the RPC
// server, all owning one data directory.
//
// The data directory holds:
//
//	chain/      the block database of the built-in chain
//	flash.db    the node's single bbolt database (mode 0600); its file lock
//	            keeps a second daemon off the same directory
//	seed        the wallet's HD seed (mode 0600)
//	rpc.json    the RPC address, auth token and pid of the running daemon
//	            (mode 0600), removed on clean shutdown
//
// Subsystems start bottom-up (database, chain, wallet, chain events,
// channels, peers) and the RPC server last, so that a client never reaches a
// node that is half up; they stop in the reverse order, the RPC server first
// and the database last.
//
// # Channels
//
// The channel manager is the peer layer's Handler. It runs the BOLT 2
// establishment with package channel/funding (opener and accepter flows,
// driven by the peer's messages on the peer's handler goroutine) and, for
// every channel, a link: the driver of one pure channel.Channel machine.
// A link serialises everything that touches its channel (peer messages,
// reconnections, local commands, chain events) under its own mutex, and for
// every step of the machine stores the new state in package chanstore before
// it sends the step's messages. The same rule holds in the establishment:
// the funder stores the attempt before funding_created and the channel
// before broadcasting the funding transaction; the fundee stores the channel
// before funding_signed.
//
// A peer may have at most a few channels to us waiting for their funding
// transaction; one whose funding has not confirmed 2016 blocks after it was
// signed is forgotten, as BOLT 2 allows the fundee.
//
// At start every stored channel is loaded, funding and closing transactions
// not yet confirmed are broadcast again and watched, and funding attempts
// that never got funding_signed release their wallet inputs. When a
// channel's peer connects, the link runs channel_reestablish. A channel
// created during a connection runs channel_reestablish on that connection
// too, because the machine only leaves its disconnected state through that
// exchange.
package daemon
