// Package chanstore keeps a node's channels in its bbolt database: for each
// channel the state of its machine (channel.Channel.Marshal) beside what the
// daemon knows around it (peer, funding output, confirmation, close), and
// the funding attempts that reserved wallet inputs but have no channel yet.
//
// Every write is one bbolt transaction, synced to disk before it returns,
// so the daemon may send the messages a write commits to as soon as the
// write returns ("persist before you send").
package chanstore
