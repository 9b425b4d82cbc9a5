package gossip

import (
	"errors"
	"fmt"
	"time"

	"github.com/flash-ln/flash/channel/lnwire"
)

// Errors of the checks an announcement must pass before it enters the
// graph. Each is wrapped with the message and field it concerns; callers
// branch with errors.Is (a bad signature warrants a warning to the peer, a
// stale timestamp does not).
var (
	// ErrWrongChain is returned for a message about another chain.
	ErrWrongChain = errors.New("unknown chain_hash")
	// ErrNodeOrder is returned when node_id_1 does not sort strictly
	// before node_id_2.
	ErrNodeOrder = errors.New("node_id_1 must sort before node_id_2")
	// ErrFarFuture is returned for a timestamp too far past the
	// receiver's clock: accepting it would make the sender's later,
	// honest updates look stale.
	ErrFarFuture = errors.New("timestamp too far in the future")
	// ErrBadAddresses is returned when the address list cannot hold the
	// known descriptors it starts.
	ErrBadAddresses = errors.New("malformed address descriptors")
)

// MaxFutureSkew is how far a timestamp may lie ahead of the receiver's
// clock. Honest nodes use UNIX time, so anything beyond a generous clock
// error is either a broken clock or an attempt to pin a policy.
const MaxFutureSkew = time.Hour

func checkTimestamp(ts uint32, now time.Time) error {
	if int64(ts) > now.Add(MaxFutureSkew).Unix() {
		return fmt.Errorf("%w: %d is past %d", ErrFarFuture, ts, now.Unix())
	}
	return nil
}

// ValidateChannelAnnouncement checks what can be checked without the
// chain: the chain, the node order and all four signatures. The funding
// output is checked by ValidateFunding.
func ValidateChannelAnnouncement(m *ChannelAnnouncement, chain lnwire.ChainHash) error {
	if err := validateChannelAnnouncement(m, chain); err != nil {
		return fmt.Errorf("channel_announcement %v: %w", m.ShortChannelID, err)
	}
	return nil
}

func validateChannelAnnouncement(m *ChannelAnnouncement, chain lnwire.ChainHash) error {
	if m.ChainHash != chain {
		return fmt.Errorf("%w: %v", ErrWrongChain, m.ChainHash)
	}
	if !m.NodeID1.Less(m.NodeID2) {
		return ErrNodeOrder
	}
	h, err := m.SigHash()
	if err != nil {
		return err
	}
	checks := []struct {
		field string
		sig   lnwire.Sig
		key   NodeID
	}{
		{"node_signature_1", m.NodeSig1, m.NodeID1},
		{"node_signature_2", m.NodeSig2, m.NodeID2},
		{"bitcoin_signature_1", m.BitcoinSig1, m.BitcoinKey1},
		{"bitcoin_signature_2", m.BitcoinSig2, m.BitcoinKey2},
	}
	for _, c := range checks {
		if err := VerifyHash(c.sig, h, c.key); err != nil {
			return &SigError{Field: c.field, Err: err}
		}
	}
	return nil
}

// ValidateNodeAnnouncement checks the signature, the timestamp against
// now and the address list. Whether the node is known from a channel, and
// whether the timestamp is newer than the last one, is the graph's
// business.
func ValidateNodeAnnouncement(m *NodeAnnouncement, now time.Time) error {
	if err := validateNodeAnnouncement(m, now); err != nil {
		return fmt.Errorf("node_announcement %v: %w", m.NodeID, err)
	}
	return nil
}

func validateNodeAnnouncement(m *NodeAnnouncement, now time.Time) error {
	h, err := m.SigHash()
	if err != nil {
		return err
	}
	if err := VerifyHash(m.Signature, h, m.NodeID); err != nil {
		return &SigError{Field: "signature", Err: err}
	}
	if err := checkTimestamp(m.Timestamp, now); err != nil {
		return err
	}
	if _, err := m.Addresses(); err != nil {
		return fmt.Errorf("%w: %v", ErrBadAddresses, err)
	}
	return nil
}

// ValidateChannelUpdate checks the update's chain, its timestamp against
// now and its signature by nodePub, which the caller takes from the
// channel's announcement: node_id_1 for direction 0, node_id_2 for 1.
// A policy whose htlc_maximum_msat is below htlc_minimum_msat passes: BOLT
// 7 asks only that the channel be left out of routes, which pathfinding
// does by itself.
func ValidateChannelUpdate(m *ChannelUpdate, nodePub NodeID, chain lnwire.ChainHash, now time.Time) error {
	if err := validateChannelUpdate(m, nodePub, chain, now); err != nil {
		return fmt.Errorf("channel_update %v/%d: %w", m.ShortChannelID, m.ChannelFlags.Direction(), err)
	}
	return nil
}

func validateChannelUpdate(m *ChannelUpdate, nodePub NodeID, chain lnwire.ChainHash, now time.Time) error {
	if m.ChainHash != chain {
		return fmt.Errorf("%w: %v", ErrWrongChain, m.ChainHash)
	}
	if err := checkTimestamp(m.Timestamp, now); err != nil {
		return err
	}
	h, err := m.SigHash()
	if err != nil {
		return err
	}
	if err := VerifyHash(m.Signature, h, nodePub); err != nil {
		return &SigError{Field: "signature", Err: err}
	}
	return nil
}
