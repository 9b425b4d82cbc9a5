package daemon

import (
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2"
	"go.etcd.io/bbolt"

	"github.com/flash-ln/flash/daemon/peer"
)

// peersBucket holds the persistent Lightning peers: compressed node id to
// host:port.
var peersBucket = []byte("peers")

// boltPeerStore is the peer.PeerStore of the node's database.
type boltPeerStore struct{ db *bbolt.DB }

func newBoltPeerStore(db *bbolt.DB) (*boltPeerStore, error) {
	err := db.Update(func(tx *bbolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(peersBucket)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("peer store: %w", err)
	}
	return &boltPeerStore{db: db}, nil
}

// Load returns every stored peer. A record that does not parse is skipped
// rather than keeping the node from starting: it only costs a redial.
func (s *boltPeerStore) Load() ([]peer.PersistentPeer, error) {
	var out []peer.PersistentPeer
	err := s.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(peersBucket).ForEach(func(k, v []byte) error {
			pub, err := btcec.ParsePubKey(k)
			if err != nil || len(v) == 0 {
				return nil
			}
			out = append(out, peer.PersistentPeer{NodeID: pub, Address: string(v)})
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("peer store: load: %w", err)
	}
	return out, nil
}

// Save stores p, replacing the address of a peer already stored.
func (s *boltPeerStore) Save(p peer.PersistentPeer) error {
	err := s.db.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket(peersBucket).Put(p.NodeID.SerializeCompressed(), []byte(p.Address))
	})
	if err != nil {
		return fmt.Errorf("peer store: save: %w", err)
	}
	return nil
}

// Delete forgets the node.
func (s *boltPeerStore) Delete(nodeID *btcec.PublicKey) error {
	err := s.db.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket(peersBucket).Delete(nodeID.SerializeCompressed())
	})
	if err != nil {
		return fmt.Errorf("peer store: delete: %w", err)
	}
	return nil
}
