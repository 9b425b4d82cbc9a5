package gossip

import (
	"bytes"
	"encoding/hex"
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/flash-ln/flash/channel/lnwire"
)

// NodeID is a node's public key in its 33-byte compressed wire form. It is
// comparable and cheap to copy, so the graph can index by it; PubKey parses
// it when a curve operation needs the point.
type NodeID [lnwire.PubKeySize]byte

// NewNodeID returns the id of a public key.
func NewNodeID(pk *btcec.PublicKey) NodeID {
	var id NodeID
	copy(id[:], pk.SerializeCompressed())
	return id
}

// ParseNodeID parses the 66-character hex form.
func ParseNodeID(s string) (NodeID, error) {
	var id NodeID
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(id) {
		return id, fmt.Errorf("node id %q: want %d hex bytes", s, len(id))
	}
	copy(id[:], b)
	if _, err := id.PubKey(); err != nil {
		return NodeID{}, fmt.Errorf("node id %q: %w", s, err)
	}
	return id, nil
}

// PubKey parses the id as a compressed point.
func (id NodeID) PubKey() (*btcec.PublicKey, error) {
	if id[0] != 0x02 && id[0] != 0x03 {
		return nil, lnwire.ErrInvalidPubKey
	}
	pk, err := btcec.ParsePubKey(id[:])
	if err != nil {
		return nil, fmt.Errorf("%w: %v", lnwire.ErrInvalidPubKey, err)
	}
	return pk, nil
}

// Less reports whether id sorts before other, the order BOLT 7 uses to name
// a channel's node_id_1 and node_id_2.
func (id NodeID) Less(other NodeID) bool { return bytes.Compare(id[:], other[:]) < 0 }

// String returns the id as lower-case hex.
func (id NodeID) String() string { return hex.EncodeToString(id[:]) }
