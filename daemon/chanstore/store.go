package chanstore

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
	"go.etcd.io/bbolt"
)

// Bucket names. Everything lives under one top-level bucket so that the
// wallet's and the peer store's buckets never collide with ours.
var (
	rootBucket     = []byte("channels")
	channelsBucket = []byte("by-point")
	flowsBucket    = []byte("funding-flows")
)

// recordVersion prefixes every stored record, so that a future layout can
// be told apart and migrated.
const recordVersion = 1

// ErrNotFound is returned for a channel that is not stored.
var ErrNotFound = errors.New("channel not found")

// ErrExists is returned by Create when a channel is already stored at the
// funding outpoint.
var ErrExists = errors.New("a channel already uses this funding outpoint")

// State is where a channel stands in the daemon's eyes.
type State uint8

// The states. A channel only moves forward through them.
const (
	// StatePendingOpen: funding signed, waiting for the funding
	// transaction to be deep enough and for both channel_ready.
	StatePendingOpen State = iota + 1
	// StateActive: in normal operation.
	StateActive
	// StateClosing: shutdown started, or the closing transaction is
	// broadcast and not yet confirmed.
	StateClosing
	// StateClosed: the closing transaction confirmed.
	StateClosed
)

func (s State) String() string {
	switch s {
	case StatePendingOpen:
		return "pending_open"
	case StateActive:
		return "active"
	case StateClosing:
		return "closing"
	case StateClosed:
		return "closed"
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// Channel is everything stored about one channel.
type Channel struct {
	// Point is the funding outpoint; it keys the record.
	Point wire.OutPoint
	// Peer is the remote node id, compressed.
	Peer [33]byte
	// KeyIndex is the index, in every channel key family of the wallet,
	// of this channel's keys.
	KeyIndex    uint32
	State       State
	LocalFunder bool
	Capacity    btcutil.Amount

	// FundingPkScript is the 2-of-2 P2WSH output script.
	FundingPkScript []byte
	// MinimumDepth is the number of confirmations before channel_ready.
	MinimumDepth uint32
	// FundingTx is the serialized funding transaction, funder only: it
	// is broadcast again at every start until it confirms.
	FundingTx []byte
	// HeightHint is the chain height when the funding was signed: the
	// funding transaction cannot confirm below it.
	HeightHint int32
	// ShortChannelID is the funding output's BOLT 7 location, zero until
	// the funding transaction is deep enough.
	ShortChannelID uint64
	// SentReady and GotReady record the channel_ready exchange.
	SentReady bool
	GotReady  bool

	// ClosingTx is the serialized, fully signed closing transaction once
	// the closing negotiation converged (broadcast again at every start
	// until the channel is closed), then the transaction that spent the
	// funding output.
	ClosingTx []byte
	// CloseType is how the channel ended: cooperative, local_force,
	// remote_force or breach.
	CloseType string
	// SettledSat is what the closing transaction pays us.
	SettledSat int64
	// CloseHeight is the height of the block that confirmed ClosingTx.
	CloseHeight int32
	// Unresolved is set when the channel ended on chain with outputs of
	// ours still to claim (a force close).
	Unresolved bool
	// LostState is set once the peer proved our state outdated: our
	// latest commitment is then revoked and must never be broadcast.
	LostState bool `json:",omitempty"`

	// Machine is the channel state machine's own state
	// (channel.Channel.Marshal).
	Machine []byte
}

// ClosingTxid returns the txid of the closing transaction, if any.
func (c *Channel) ClosingTxid() (chainhash.Hash, bool) {
	if len(c.ClosingTx) == 0 {
		return chainhash.Hash{}, false
	}
	var tx wire.MsgTx
	if err := tx.Deserialize(bytes.NewReader(c.ClosingTx)); err != nil {
		return chainhash.Hash{}, false
	}
	return tx.TxHash(), true
}

// Clone returns a deep copy.
func (c *Channel) Clone() *Channel {
	cp := *c
	cp.FundingPkScript = bytes.Clone(c.FundingPkScript)
	cp.FundingTx = bytes.Clone(c.FundingTx)
	cp.ClosingTx = bytes.Clone(c.ClosingTx)
	cp.Machine = bytes.Clone(c.Machine)
	return &cp
}

// Store keeps channels in a bbolt database. It is safe for concurrent use.
type Store struct {
	db *bbolt.DB
}

// Open creates the store's buckets if needed.
func Open(db *bbolt.DB) (*Store, error) {
	err := db.Update(func(tx *bbolt.Tx) error {
		root, err := tx.CreateBucketIfNotExists(rootBucket)
		if err != nil {
			return err
		}
		if _, err := root.CreateBucketIfNotExists(channelsBucket); err != nil {
			return err
		}
		_, err = root.CreateBucketIfNotExists(flowsBucket)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("chanstore: create buckets: %w", err)
	}
	return &Store{db: db}, nil
}

func pointKey(op wire.OutPoint) []byte {
	k := make([]byte, chainhash.HashSize+4)
	copy(k, op.Hash[:])
	binary.BigEndian.PutUint32(k[chainhash.HashSize:], op.Index)
	return k
}

func encode(c *Channel) ([]byte, error) {
	data, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	return append([]byte{recordVersion}, data...), nil
}

func decode(v []byte) (*Channel, error) {
	if len(v) < 1 || v[0] != recordVersion {
		return nil, fmt.Errorf("chanstore: unknown record version")
	}
	var c Channel
	if err := json.Unmarshal(v[1:], &c); err != nil {
		return nil, fmt.Errorf("chanstore: decode record: %w", err)
	}
	return &c, nil
}

// Put stores c, replacing the record of the same channel point, and in the
// same transaction forgets the funding flows named by doneFlows: a channel
// and the flow that created it are never both missing nor both present
// after a crash.
func (s *Store) Put(c *Channel, doneFlows ...[32]byte) error {
	return s.put(c, false, doneFlows)
}

// Create stores a new channel, refusing with ErrExists when any record,
// open or closed, is at its funding outpoint. The check and the write are
// one transaction: a peer naming the outpoint of one of our closed
// channels must not replace the record its unswept outputs depend on.
func (s *Store) Create(c *Channel) error {
	return s.put(c, true, nil)
}

func (s *Store) put(c *Channel, create bool, doneFlows [][32]byte) error {
	if c.State < StatePendingOpen || c.State > StateClosed {
		return fmt.Errorf("chanstore: put %v: invalid state %d", c.Point, c.State)
	}
	v, err := encode(c)
	if err != nil {
		return fmt.Errorf("chanstore: put %v: %w", c.Point, err)
	}
	err = s.db.Update(func(tx *bbolt.Tx) error {
		root := tx.Bucket(rootBucket)
		channels := root.Bucket(channelsBucket)
		if create && channels.Get(pointKey(c.Point)) != nil {
			return ErrExists
		}
		if err := channels.Put(pointKey(c.Point), v); err != nil {
			return err
		}
		flows := root.Bucket(flowsBucket)
		for _, id := range doneFlows {
			if err := flows.Delete(id[:]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("chanstore: put %v: %w", c.Point, err)
	}
	return nil
}

// Get returns the channel at op.
func (s *Store) Get(op wire.OutPoint) (*Channel, error) {
	var c *Channel
	err := s.db.View(func(tx *bbolt.Tx) error {
		v := tx.Bucket(rootBucket).Bucket(channelsBucket).Get(pointKey(op))
		if v == nil {
			return ErrNotFound
		}
		var err error
		c, err = decode(v)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("chanstore: get %v: %w", op, err)
	}
	return c, nil
}

// All returns every stored channel, ordered by channel point.
func (s *Store) All() ([]*Channel, error) {
	var out []*Channel
	err := s.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(rootBucket).Bucket(channelsBucket).ForEach(func(k, v []byte) error {
			c, err := decode(v)
			if err != nil {
				return fmt.Errorf("channel %x: %w", k, err)
			}
			out = append(out, c)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("chanstore: load channels: %w", err)
	}
	return out, nil
}

// Delete forgets a channel; an unknown one is not an error. Only a channel
// with nothing at stake is ever deleted: a fundee's channel whose funding
// transaction never appeared.
func (s *Store) Delete(op wire.OutPoint) error {
	err := s.db.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket(rootBucket).Bucket(channelsBucket).Delete(pointKey(op))
	})
	if err != nil {
		return fmt.Errorf("chanstore: delete %v: %w", op, err)
	}
	return nil
}

// PutFlow records a funding attempt about to send funding_created: its
// temporary channel id and the funding transaction whose inputs the wallet
// reserved. A flow left at start never got funding_signed; its
// transaction was never broadcast and its inputs may be released.
func (s *Store) PutFlow(tempID [32]byte, fundingTx *wire.MsgTx) error {
	var buf bytes.Buffer
	if err := fundingTx.Serialize(&buf); err != nil {
		return fmt.Errorf("chanstore: put flow %x: %w", tempID, err)
	}
	err := s.db.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket(rootBucket).Bucket(flowsBucket).Put(tempID[:], buf.Bytes())
	})
	if err != nil {
		return fmt.Errorf("chanstore: put flow %x: %w", tempID, err)
	}
	return nil
}

// DeleteFlow forgets a funding attempt; an unknown one is not an error.
func (s *Store) DeleteFlow(tempID [32]byte) error {
	err := s.db.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket(rootBucket).Bucket(flowsBucket).Delete(tempID[:])
	})
	if err != nil {
		return fmt.Errorf("chanstore: delete flow %x: %w", tempID, err)
	}
	return nil
}

// Flows returns the funding transactions of the stored funding attempts,
// by temporary channel id.
func (s *Store) Flows() (map[[32]byte]*wire.MsgTx, error) {
	out := make(map[[32]byte]*wire.MsgTx)
	err := s.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(rootBucket).Bucket(flowsBucket).ForEach(func(k, v []byte) error {
			if len(k) != 32 {
				return fmt.Errorf("flow key %x: want 32 bytes", k)
			}
			var id [32]byte
			copy(id[:], k)
			var ftx wire.MsgTx
			if err := ftx.Deserialize(bytes.NewReader(v)); err != nil {
				return fmt.Errorf("flow %x: %w", k, err)
			}
			out[id] = &ftx
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("chanstore: load flows: %w", err)
	}
	return out, nil
}
