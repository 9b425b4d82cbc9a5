// Package gossip implements the BOLT 7 gossip messages (channel_announcement,
// node_announcement, channel_update, announcement_signatures and the gossip
// queries), their signatures, and the checks a node applies before it lets
// an announcement into its graph.
//
// Every message satisfies lnwire.Message. Decoding keeps the exact bytes a
// signature covers: feature fields and address lists are held in their wire
// form, and any bytes after the known fields are kept in ExtraData, because
// BOLT 7 signs "the entire remaining packet", future fields included.
// Re-encoding a decoded message therefore reproduces its input byte for byte,
// and a relayed message keeps a valid signature.
//
// The package has no clock and no chain access: checks that need the time
// take it as a parameter, and the on-chain check of a channel's funding
// output goes through the small TxLocator and UTXOLookup interfaces that the
// daemon implements over its chain.
package gossip
