// Package graph holds the channel graph a node learns from BOLT 7 gossip:
// the nodes, the channels between them and the two directional forwarding
// policies of every channel.
//
// The graph lives twice. On disk, in its own top-level bbolt bucket, every
// change is written before it becomes visible, together with the signed
// messages it came from so that they can be relayed to peers. In memory,
// an index built for pathfinding keeps compact fixed-size records in
// slices, addressed by small integer indices, with one adjacency list per
// node; the per-query hot path touches no map and no pointer-rich struct.
//
// The graph trusts its caller to have validated what it applies: signature
// and funding checks belong to package gossip. The graph itself enforces
// what needs its state: that an update or a node announcement refers to a
// known channel or node, and that timestamps only move forward.
package graph
