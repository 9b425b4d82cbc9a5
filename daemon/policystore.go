package daemon

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/wire"
	"go.etcd.io/bbolt"

	"github.com/flash-ln/flash/router/gossiper"
)

// policyBucket holds the forwarding policies set with channel/policy, by
// channel point, so that they survive a restart; channels absent from it
// use the defaults.
var policyBucket = []byte("channel-policies")

// policyRecordLen is the size of a stored policy: base fee (4 bytes), fee
// rate (4) and CLTV delta (2), big-endian.
const policyRecordLen = 10

func policyKey(op wire.OutPoint) []byte {
	return binary.BigEndian.AppendUint32(append([]byte(nil), op.Hash[:]...), op.Index)
}

// putPolicy stores the policy of a channel.
func putPolicy(db *bbolt.DB, op wire.OutPoint, p gossiper.Policy) error {
	v := make([]byte, 0, policyRecordLen)
	v = binary.BigEndian.AppendUint32(v, p.FeeBaseMsat)
	v = binary.BigEndian.AppendUint32(v, p.FeeRatePPM)
	v = binary.BigEndian.AppendUint16(v, p.CltvExpiryDelta)
	err := db.Update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(policyBucket)
		if err != nil {
			return err
		}
		return b.Put(policyKey(op), v)
	})
	if err != nil {
		return fmt.Errorf("store policy of %v: %w", op, err)
	}
	return nil
}

// loadPolicy overwrites the fee and CLTV fields of p with the stored
// policy of a channel, if any.
func loadPolicy(db *bbolt.DB, op wire.OutPoint, p *gossiper.Policy) error {
	return db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(policyBucket)
		if b == nil {
			return nil
		}
		v := b.Get(policyKey(op))
		if v == nil {
			return nil
		}
		if len(v) != policyRecordLen {
			return errors.New("stored policy of " + op.String() + ": bad length")
		}
		p.FeeBaseMsat = binary.BigEndian.Uint32(v)
		p.FeeRatePPM = binary.BigEndian.Uint32(v[4:])
		p.CltvExpiryDelta = binary.BigEndian.Uint16(v[8:])
		return nil
	})
}

// privateBucket names the channels opened without the announce flag, by
// channel point: they are never announced.
var privateBucket = []byte("private-channels")

// putPrivate records that the channel at op is private.
func putPrivate(db *bbolt.DB, op wire.OutPoint) error {
	err := db.Update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(privateBucket)
		if err != nil {
			return err
		}
		return b.Put(policyKey(op), []byte{1})
	})
	if err != nil {
		return fmt.Errorf("record private channel %v: %w", op, err)
	}
	return nil
}

// isPrivate reports whether the channel at op was recorded as private.
func isPrivate(db *bbolt.DB, op wire.OutPoint) bool {
	private := false
	_ = db.View(func(tx *bbolt.Tx) error {
		if b := tx.Bucket(privateBucket); b != nil {
			private = b.Get(policyKey(op)) != nil
		}
		return nil
	})
	return private
}

// markPrivate records that the channel at op is private.
func (d *Daemon) markPrivate(op wire.OutPoint) error { return putPrivate(d.db, op) }
