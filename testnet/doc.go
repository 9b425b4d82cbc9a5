// Package testnet starts and drives local networks of flash daemons: real
// processes on 127.0.0.1, on free ports, each owning its data directory,
// driven through the RPC client.
//
// Two levels live here. The building blocks (BuildBinary, Node, Network)
// compile the flash binary, start a node and wait until its RPC answers,
// link chains, stop it cleanly, kill it with SIGKILL and restart it on the
// same data directory; the project's end-to-end tests are built on them.
// Up, Status, Mine and Down are `flash testnet`: a whole network from a
// topology, as detached daemons recorded in DIR/network.json, so that a
// later command finds, restarts or stops them.
//
// Every wait polls with a deadline: nothing here sleeps for a fixed time
// and hopes.
package testnet
