package chanstore

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/wire"
	"go.etcd.io/bbolt"
)

// resolversBucket holds the state of the on-chain resolution of channels
// that ended with a commitment transaction.
var resolversBucket = []byte("resolvers")

// ResolverTx is a transaction the resolver broadcast to claim outputs.
type ResolverTx struct {
	// Tx is the serialized transaction.
	Tx []byte
	// Sweep is set for a sweep, which pays only to our wallet; a
	// second-level HTLC transaction pays to its own delayed script.
	Sweep bool
	// ConfHeight is zero until the transaction is seen confirmed, then
	// an upper bound of its confirmation height (the tip at which it was
	// first seen): a delay counted from it is never too short.
	ConfHeight int32
}

// Resolver is the stored progress of the claim of a channel's outputs
// after a commitment transaction spent its funding output. The plan of
// what to claim is not stored: it is rebuilt, deterministically, from the
// channel record, the keys and the spend.
type Resolver struct {
	Point wire.OutPoint
	// Txs are the transactions broadcast so far, in order. They are
	// stored before being broadcast, and broadcast again at every start
	// until they confirm or a conflicting spend does.
	Txs []ResolverTx
}

// PutResolver stores r.
func (s *Store) PutResolver(r *Resolver) error {
	v, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("chanstore: put resolver %v: %w", r.Point, err)
	}
	err = s.db.Update(func(tx *bbolt.Tx) error {
		b, err := tx.Bucket(rootBucket).CreateBucketIfNotExists(resolversBucket)
		if err != nil {
			return err
		}
		return b.Put(pointKey(r.Point), append([]byte{recordVersion}, v...))
	})
	if err != nil {
		return fmt.Errorf("chanstore: put resolver %v: %w", r.Point, err)
	}
	return nil
}

// GetResolver returns the resolver of the channel at op, or a fresh one if
// none is stored yet.
func (s *Store) GetResolver(op wire.OutPoint) (*Resolver, error) {
	r := &Resolver{Point: op}
	err := s.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(rootBucket).Bucket(resolversBucket)
		if b == nil {
			return ErrNotFound
		}
		v := b.Get(pointKey(op))
		if v == nil {
			return ErrNotFound
		}
		if len(v) < 1 || v[0] != recordVersion {
			return fmt.Errorf("unknown record version")
		}
		return json.Unmarshal(v[1:], r)
	})
	switch {
	case errors.Is(err, ErrNotFound):
		r = &Resolver{Point: op}
	case err != nil:
		return nil, fmt.Errorf("chanstore: resolver %v: %w", op, err)
	}
	return r, nil
}
