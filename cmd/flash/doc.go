// Command flash runs a Flash node and drives it.
//
//	flash daemon                  run a node in the foreground
//	flash getinfo                 node status
//	flash chain info|mine|connect the built-in regtest chain
//	flash wallet newaddress|balance|send
//	                              the on-chain wallet
//	flash stop                    shut the node down cleanly
//
// Client commands find their node through the rpc.json file of its data
// directory (--datadir, default ~/.flash) or, with --node NAME, of node NAME
// of the local test network (--testnet-dir, else $FLASH_TESTNET_DIR, else
// ./flash-testnet). Every command prints human-readable output, or one JSON
// document with --json; a failure is one line on standard error and a
// non-zero exit status (with --json, also {"error": {...}} on standard
// output).
package main
