package forward

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// The switch's bucket tree: circuits by incoming key, and an index from
// outgoing key to incoming key for the circuits that are open.
var (
	rootBucket     = []byte("forward")
	incomingBucket = []byte("circuits")
	outgoingBucket = []byte("outgoing")
)

// store keeps circuits in a bbolt database. Every write commits (and
// fsyncs) before it returns, because the switch acts on a circuit only
// once it is durable.
type store struct {
	db *bolt.DB
}

func openStore(db *bolt.DB) (*store, error) {
	err := db.Update(func(tx *bolt.Tx) error {
		root, err := tx.CreateBucketIfNotExists(rootBucket)
		if err != nil {
			return err
		}
		if _, err := root.CreateBucketIfNotExists(incomingBucket); err != nil {
			return err
		}
		_, err = root.CreateBucketIfNotExists(outgoingBucket)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("forward: create buckets: %w", err)
	}
	return &store{db: db}, nil
}

// load returns every stored circuit, and checks that the outgoing index
// matches them.
func (s *store) load() ([]*Circuit, error) {
	var out []*Circuit
	err := s.db.View(func(tx *bolt.Tx) error {
		root := tx.Bucket(rootBucket)
		in, og := root.Bucket(incomingBucket), root.Bucket(outgoingBucket)
		err := in.ForEach(func(k, v []byte) error {
			c, err := unmarshalCircuit(v)
			if err != nil {
				return fmt.Errorf("circuit %x: %w", k, err)
			}
			if string(c.Incoming.bytes()) != string(k) {
				return fmt.Errorf("circuit %x: %w: stored under another key", k, errBadCircuit)
			}
			out = append(out, c)
			return nil
		})
		if err != nil {
			return err
		}
		return og.ForEach(func(k, v []byte) error {
			if in.Get(v) == nil {
				return fmt.Errorf("outgoing %x: %w: points to no circuit", k, errBadCircuit)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("forward: load circuits: %w", err)
	}
	return out, nil
}

// put stores c, and indexes it by its outgoing key once it has one.
func (s *store) put(c *Circuit) error {
	return s.db.Update(func(tx *bolt.Tx) error { return putTx(tx, c) })
}

// putTx is put within the caller's transaction.
func putTx(tx *bolt.Tx, c *Circuit) error {
	root := tx.Bucket(rootBucket)
	if root == nil {
		return fmt.Errorf("forward: store circuit %s: no bucket", c.Incoming)
	}
	in := c.Incoming.bytes()
	err := root.Bucket(incomingBucket).Put(in, c.marshal())
	if err == nil && c.Sent {
		err = root.Bucket(outgoingBucket).Put(c.Outgoing.bytes(), in)
	}
	if err != nil {
		return fmt.Errorf("forward: store circuit %s: %w", c.Incoming, err)
	}
	return nil
}

// unindex puts c back half-open: its outgoing key is forgotten.
func (s *store) unindex(c *Circuit, oldOutgoing CircuitKey) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		root := tx.Bucket(rootBucket)
		if err := root.Bucket(outgoingBucket).Delete(oldOutgoing.bytes()); err != nil {
			return err
		}
		return root.Bucket(incomingBucket).Put(c.Incoming.bytes(), c.marshal())
	})
	if err != nil {
		return fmt.Errorf("forward: reset circuit %s: %w", c.Incoming, err)
	}
	return nil
}

// delete removes c and its index entry.
func (s *store) delete(c *Circuit) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		root := tx.Bucket(rootBucket)
		if c.Sent {
			if err := root.Bucket(outgoingBucket).Delete(c.Outgoing.bytes()); err != nil {
				return err
			}
		}
		return root.Bucket(incomingBucket).Delete(c.Incoming.bytes())
	})
	if err != nil {
		return fmt.Errorf("forward: delete circuit %s: %w", c.Incoming, err)
	}
	return nil
}
