package payment

import (
	"encoding/binary"
	"errors"
	"fmt"

	"go.etcd.io/bbolt"
)

// Everything lives under one top-level bucket of the node's database.
var (
	rootBucket = []byte("payments")
	// byHashBucket maps a payment hash to its encoded record.
	byHashBucket = []byte("by-hash")
	// orderBucket maps a big-endian sequence number to a payment hash,
	// so that listings come in the order payments were started.
	orderBucket = []byte("order")
	// attemptSeqBucket only supplies attempt ids from its sequence,
	// which bbolt keeps durable with the transaction that takes one.
	attemptSeqBucket = []byte("attempt-ids")
)

// store is the bbolt side of the package. Its methods run one
// transaction each; the Payer serialises writes.
type store struct{ db *bbolt.DB }

func openStore(db *bbolt.DB) (*store, error) {
	err := db.Update(func(tx *bbolt.Tx) error {
		root, err := tx.CreateBucketIfNotExists(rootBucket)
		if err != nil {
			return err
		}
		for _, name := range [][]byte{byHashBucket, orderBucket, attemptSeqBucket} {
			if _, err := root.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("payment: create buckets: %w", err)
	}
	return &store{db: db}, nil
}

func sub(tx *bbolt.Tx, name []byte) (*bbolt.Bucket, error) {
	root := tx.Bucket(rootBucket)
	if root == nil {
		return nil, errors.New("payment: bucket missing")
	}
	b := root.Bucket(name)
	if b == nil {
		return nil, fmt.Errorf("payment: sub-bucket %s missing", name)
	}
	return b, nil
}

func getIn(tx *bbolt.Tx, hash [32]byte) (*Payment, error) {
	b, err := sub(tx, byHashBucket)
	if err != nil {
		return nil, err
	}
	v := b.Get(hash[:])
	if v == nil {
		return nil, nil
	}
	p, err := decodeRecord(v)
	if err != nil {
		return nil, fmt.Errorf("payment %x: %w", hash, err)
	}
	if p.PaymentHash != hash {
		return nil, fmt.Errorf("payment %x: %w: stored under another hash", hash, errCorrupt)
	}
	return p, nil
}

// get returns the payment, or nil if there is none.
func (s *store) get(hash [32]byte) (*Payment, error) {
	var p *Payment
	err := s.db.View(func(tx *bbolt.Tx) (err error) {
		p, err = getIn(tx, hash)
		return err
	})
	return p, err
}

// put writes p; isNew adds it to the listing order.
func putIn(tx *bbolt.Tx, p *Payment, isNew bool) error {
	b, err := sub(tx, byHashBucket)
	if err != nil {
		return err
	}
	if isNew {
		ord, err := sub(tx, orderBucket)
		if err != nil {
			return err
		}
		seq, err := ord.NextSequence()
		if err != nil {
			return err
		}
		if err := ord.Put(binary.BigEndian.AppendUint64(nil, seq), p.PaymentHash[:]); err != nil {
			return err
		}
	}
	return b.Put(p.PaymentHash[:], encodeRecord(p))
}

// update loads the payment, lets fn change it, and writes it back in
// the same transaction. fn returning an error writes nothing.
func (s *store) update(hash [32]byte, fn func(tx *bbolt.Tx, p *Payment) error) (*Payment, error) {
	var out *Payment
	err := s.db.Update(func(tx *bbolt.Tx) error {
		p, err := getIn(tx, hash)
		if err != nil {
			return err
		}
		if p == nil {
			return fmt.Errorf("%w: %x", ErrUnknownPayment, hash)
		}
		if err := fn(tx, p); err != nil {
			return err
		}
		out = p
		return putIn(tx, p, false)
	})
	return out, err
}

func nextAttemptID(tx *bbolt.Tx) (uint64, error) {
	b, err := sub(tx, attemptSeqBucket)
	if err != nil {
		return 0, err
	}
	return b.NextSequence()
}

// list returns the payments in the order they were started; filter, when
// not nil, selects some.
func (s *store) list(filter func(*Payment) bool) ([]*Payment, error) {
	var out []*Payment
	err := s.db.View(func(tx *bbolt.Tx) error {
		ord, err := sub(tx, orderBucket)
		if err != nil {
			return err
		}
		return ord.ForEach(func(_, v []byte) error {
			if len(v) != 32 {
				return fmt.Errorf("%w: order entry of %d bytes", errCorrupt, len(v))
			}
			p, err := getIn(tx, [32]byte(v))
			if err != nil {
				return err
			}
			if p != nil && (filter == nil || filter(p)) {
				out = append(out, p)
			}
			return nil
		})
	})
	return out, err
}
