// Package graphtest builds synthetic channel graphs for the tests and
// benchmarks of the router: deterministic for a seed, and shaped like the
// public network, where a few hubs hold most channels.
package graphtest
