package peer

import (
	"sync"

	"github.com/btcsuite/btcd/btcec/v2"
)

// nodeKey is a node id in a form usable as a map key.
type nodeKey [btcec.PubKeyBytesLenCompressed]byte

func keyOf(pub *btcec.PublicKey) nodeKey {
	var k nodeKey
	copy(k[:], pub.SerializeCompressed())
	return k
}

// MemoryStore is a PeerStore in memory, for tests and for nodes that keep
// no persistent peers across restarts. It is safe for concurrent use.
type MemoryStore struct {
	mu    sync.Mutex
	peers map[nodeKey]PersistentPeer
}

// NewMemoryStore returns an empty store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{peers: make(map[nodeKey]PersistentPeer)}
}

// Load returns every stored peer.
func (s *MemoryStore) Load() ([]PersistentPeer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]PersistentPeer, 0, len(s.peers))
	for _, p := range s.peers {
		out = append(out, p)
	}
	return out, nil
}

// Save stores p.
func (s *MemoryStore) Save(p PersistentPeer) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.peers[keyOf(p.NodeID)] = p
	return nil
}

// Delete forgets the node.
func (s *MemoryStore) Delete(nodeID *btcec.PublicKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.peers, keyOf(nodeID))
	return nil
}
