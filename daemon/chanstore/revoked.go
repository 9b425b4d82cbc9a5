package chanstore

import (
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/btcsuite/btcd/wire"
	"go.etcd.io/bbolt"

	"github.com/flash-ln/flash/channel"
)

// revokedBucket holds, per channel, the specification of every commitment
// the peer revoked: with the revocation secret it is what rebuilds the HTLC
// outputs of a revoked commitment broadcast years later.
var revokedBucket = []byte("revoked-specs")

func indexKey(n uint64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], n)
	return k[:]
}

// PutRevoked records the specification of the peer's revoked commitment
// number index of the channel at op. Storing it again is harmless.
func (s *Store) PutRevoked(op wire.OutPoint, index uint64, spec *channel.CommitmentSpec) error {
	// Only what rebuilds the commitment outputs is kept: the onion and
	// its path key matter only while the HTLC is in flight.
	trimmed := *spec
	trimmed.HTLCs = make([]channel.HTLC, len(spec.HTLCs))
	for i, h := range spec.HTLCs {
		h.Onion, h.PathKey = nil, nil
		trimmed.HTLCs[i] = h
	}
	v, err := json.Marshal(&trimmed)
	if err != nil {
		return fmt.Errorf("chanstore: put revoked %v/%d: %w", op, index, err)
	}
	err = s.db.Update(func(tx *bbolt.Tx) error {
		b, err := tx.Bucket(rootBucket).CreateBucketIfNotExists(revokedBucket)
		if err != nil {
			return err
		}
		cb, err := b.CreateBucketIfNotExists(pointKey(op))
		if err != nil {
			return err
		}
		return cb.Put(indexKey(index), append([]byte{recordVersion}, v...))
	})
	if err != nil {
		return fmt.Errorf("chanstore: put revoked %v/%d: %w", op, index, err)
	}
	return nil
}

// Revoked returns the specification of the peer's revoked commitment
// number index of the channel at op; ErrNotFound if it was never stored.
func (s *Store) Revoked(op wire.OutPoint, index uint64) (*channel.CommitmentSpec, error) {
	var spec *channel.CommitmentSpec
	err := s.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(rootBucket).Bucket(revokedBucket)
		if b == nil {
			return ErrNotFound
		}
		cb := b.Bucket(pointKey(op))
		if cb == nil {
			return ErrNotFound
		}
		v := cb.Get(indexKey(index))
		if v == nil {
			return ErrNotFound
		}
		if len(v) < 1 || v[0] != recordVersion {
			return fmt.Errorf("unknown record version")
		}
		spec = new(channel.CommitmentSpec)
		return json.Unmarshal(v[1:], spec)
	})
	if err != nil {
		return nil, fmt.Errorf("chanstore: revoked %v/%d: %w", op, index, err)
	}
	return spec, nil
}
