// Package gossiper runs BOLT 7 gossip for a node: it validates the gossip
// messages peers send, stores what passes in the channel graph, relays it
// to the other peers, brings newly connected peers up to date, and
// announces the node's own channels.
//
// The Gossiper does no I/O and keeps no time of its own. The daemon feeds
// it: peer messages through HandleMessage, connections through
// PeerConnected and PeerDisconnected, chain depth through ChannelDepth and
// spends through PruneSpent, and the passing of time through Tick. It
// answers through the small interfaces of Config: Peers to send, Chain to
// look up funding outputs, Signer to sign our own announcements. Every
// method is safe for concurrent use, and messages are sent only after the
// Gossiper's lock is released, so Peers.Send may block or call back.
//
// Inbound, a message is checked in order of cost: the cheap stateless
// checks first, then the signatures, then the chain, and only then is it
// written to the graph. A rejected message changes nothing; HandleMessage
// reports why, and a misbehaviour penalty the caller adds up to decide
// between a warning and a disconnection. Rejections are counted by reason
// in Stats.
//
// A channel_announcement is accepted once its funding output exists and
// is unspent; BOLT 7 gives the receiver no depth rule (it is the senders
// who wait for six confirmations). One that names a block our chain does
// not have yet, because the peer's chain is a little ahead, is premature:
// it is held, within Limits.MaxPending, and retried at every Tick until
// the block arrives or the hold expires. Channel updates and node
// announcements that arrive before their channel are held the same way,
// so that a channel is not left without a policy when its announcement
// and updates race.
//
// Relay is batched: accepted messages enter a bounded queue keyed by what
// they describe (a channel, a channel direction, a node), so a newer
// update replaces the queued one. Tick sends the queue to every peer that
// did not send the message, within that peer's gossip_timestamp_filter
// and its token-bucket rate; a peer too slow for the queue misses the
// oldest entries rather than making the queue grow, and catches up at its
// next connection.
//
// Syncing is by gossip_timestamp_filter: at connection each side states
// what it wants and receives a dump of the stored messages that match.
// Peers that sync by query_channel_range and query_short_channel_ids
// instead are answered from the graph, within a per-peer rate; the
// Gossiper never sends those queries itself.
package gossiper
