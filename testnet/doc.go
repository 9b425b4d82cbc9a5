// Package testnet starts and drives local networks of flash daemons: real
// processes on 127.0.0.1, on free ports, each owning its data directory,
// driven through the RPC client.
//
// For now it holds the building blocks: compile the flash binary, start a
// node and wait until its RPC answers, link chains, stop it cleanly, kill it
// with SIGKILL, restart it on the same data directory. The end-to-end tests
// of the project are built on them; `flash testnet` will be too.
//
// Every wait polls with a deadline: nothing here sleeps for a fixed time
// and hopes.
package testnet
