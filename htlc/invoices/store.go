package invoices

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"go.etcd.io/bbolt"
)

// The registry keeps everything under one top-level bucket of the node's
// database so that it cannot collide with another subsystem.
var (
	rootBucket = []byte("invoices")

	// byHashBucket maps a payment hash to its encoded record.
	byHashBucket = []byte("by-hash")
	// addIndexBucket maps a big-endian add index to a payment hash, so
	// that List returns invoices in the order they were created.
	addIndexBucket = []byte("add-index")
)

type buckets struct {
	byHash, addIndex *bbolt.Bucket
}

func openBuckets(tx *bbolt.Tx) (*buckets, error) {
	root := tx.Bucket(rootBucket)
	if root == nil {
		return nil, errors.New("invoices: bucket missing")
	}
	b := &buckets{byHash: root.Bucket(byHashBucket), addIndex: root.Bucket(addIndexBucket)}
	if b.byHash == nil || b.addIndex == nil {
		return nil, errors.New("invoices: sub-bucket missing")
	}
	return b, nil
}

func createBuckets(tx *bbolt.Tx) error {
	root, err := tx.CreateBucketIfNotExists(rootBucket)
	if err != nil {
		return err
	}
	for _, name := range [][]byte{byHashBucket, addIndexBucket} {
		if _, err := root.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	return nil
}

// get returns the record for hash, or nil if there is none.
func (b *buckets) get(hash [32]byte) (*Record, error) {
	v := b.byHash.Get(hash[:])
	if v == nil {
		return nil, nil
	}
	return decodeRecord(hash, v)
}

// put stores r, giving it an add index first if it has none.
func (b *buckets) put(r *Record) error {
	if r.AddIndex == 0 {
		seq, err := b.addIndex.NextSequence()
		if err != nil {
			return err
		}
		r.AddIndex = seq
		var k [8]byte
		binary.BigEndian.PutUint64(k[:], seq)
		if err := b.addIndex.Put(k[:], r.PaymentHash[:]); err != nil {
			return err
		}
	}
	return b.byHash.Put(r.PaymentHash[:], encodeRecord(r))
}

// forEach calls fn for every record in add order.
func (b *buckets) forEach(fn func(*Record) error) error {
	c := b.addIndex.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if len(v) != 32 {
			return fmt.Errorf("%w: index entry %x", errCorrupt, k)
		}
		var hash [32]byte
		copy(hash[:], v)
		r, err := b.get(hash)
		if err != nil {
			return err
		}
		if r == nil {
			return fmt.Errorf("%w: index entry %x names a missing invoice", errCorrupt, k)
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// groupCommit runs write functions in shared bbolt transactions: a caller
// that arrives while a commit is in flight queues its function, and the
// next commit takes the whole queue, so concurrent settlements share one
// fsync. Unlike bbolt's DB.Batch it never waits for company: an idle
// registry commits at once, which keeps a lone payment fast.
type groupCommit struct {
	db *bbolt.DB

	mu      sync.Mutex
	queue   []*writeOp
	running bool
}

type writeOp struct {
	fn   func(*buckets) error
	done chan error
}

// errOpFailed marks the function of a shared transaction that failed, so
// that the others can be retried without it.
type errOpFailed struct {
	index int
	err   error
}

func (e *errOpFailed) Error() string { return e.err.Error() }

// update runs fn in a read-write transaction and returns once the
// transaction is durable or has failed. fn may run more than once (after
// another function of its batch failed), so it must derive its result
// afresh from the transaction each time.
func (g *groupCommit) update(fn func(*buckets) error) error {
	op := &writeOp{fn: fn, done: make(chan error, 1)}
	g.mu.Lock()
	g.queue = append(g.queue, op)
	if !g.running {
		g.running = true
		g.mu.Unlock()
		g.commitQueued()
	} else {
		g.mu.Unlock()
	}
	return <-op.done
}

// commitQueued commits everything queued, then hands the next batch to a
// new goroutine so that the caller is not held up by later arrivals.
func (g *groupCommit) commitQueued() {
	g.mu.Lock()
	ops := g.queue
	g.queue = nil
	g.mu.Unlock()

	for len(ops) > 0 {
		err := g.db.Update(func(tx *bbolt.Tx) error {
			b, err := openBuckets(tx)
			if err != nil {
				return err
			}
			for i, op := range ops {
				if err := op.fn(b); err != nil {
					return &errOpFailed{index: i, err: err}
				}
			}
			return nil
		})
		var failed *errOpFailed
		if !errors.As(err, &failed) {
			for _, op := range ops {
				op.done <- err
			}
			break
		}
		// The transaction was rolled back: fail the culprit alone and
		// run the others again.
		ops[failed.index].done <- failed.err
		ops = append(ops[:failed.index:failed.index], ops[failed.index+1:]...)
	}

	g.mu.Lock()
	if len(g.queue) == 0 {
		g.running = false
		g.mu.Unlock()
		return
	}
	g.mu.Unlock()
	go g.commitQueued()
}
