package shachain

import (
	"encoding/binary"
	"errors"
	"fmt"
)

var (
	// ErrInconsistentSecret is returned when a new secret does not derive
	// the secrets already stored: it was not generated from the same seed.
	ErrInconsistentSecret = errors.New("shachain: secret inconsistent with earlier secrets")

	// ErrUnexpectedIndex is returned when secrets arrive out of order:
	// each one must have the index right below the previous one.
	ErrUnexpectedIndex = errors.New("shachain: secret index out of order")

	// ErrUnknownIndex is returned by LookUp for an index not yet received.
	ErrUnknownIndex = errors.New("shachain: secret not received yet")

	// ErrStoreFull is returned after the secret of index 0 was stored.
	ErrStoreFull = errors.New("shachain: every index already received")

	// ErrBadEncoding is returned by Decode for malformed data.
	ErrBadEncoding = errors.New("shachain: malformed store encoding")
)

type entry struct {
	index  uint64
	secret [32]byte
}

// Store keeps the secrets a peer revealed, in at most 49 entries, and can
// return any of them. Secrets must be added in order, from index MaxIndex
// downwards, as revoke_and_ack delivers them. The zero value is an empty
// store ready to use. A Store holds no pointers: copying it by value gives
// an independent store.
type Store struct {
	buckets [numBuckets]entry
	// received is the number of secrets received so far; the next
	// expected index is MaxIndex+1-received.
	received uint64
}

// NewStore returns an empty store.
func NewStore() *Store {
	return &Store{}
}

// Received is the number of secrets stored so far.
func (s *Store) Received() uint64 {
	return s.received
}

// NextIndex returns the index the next secret must have, and false once
// every index has been received.
func (s *Store) NextIndex() (uint64, bool) {
	if s.received > MaxIndex {
		return 0, false
	}
	return MaxIndex - s.received, true
}

// has reports whether bucket b holds a secret.
func (s *Store) has(b int) bool {
	return s.received > 0 && present(b, s.lastIndex())
}

func (s *Store) lastIndex() uint64 {
	return MaxIndex + 1 - s.received
}

// present reports whether, after receiving every index from MaxIndex down
// to last, bucket b holds a secret; the index it holds is expectedIndex.
func present(b int, last uint64) bool {
	_, ok := expectedIndex(b, last)
	return ok
}

// expectedIndex returns the smallest index at or above last with exactly b
// trailing zeros: the index bucket b holds once every index from MaxIndex
// down to last was received.
func expectedIndex(b int, last uint64) (uint64, bool) {
	if b == 48 {
		return 0, last == 0
	}
	step := uint64(1) << uint(b)
	x := (last + step - 1) &^ (step - 1)
	if x&(step<<1-1) != step {
		// x is a multiple of 2^(b+1) (or zero): the next candidate
		// has exactly b trailing zeros.
		x += step
	}
	return x, x <= MaxIndex
}

// AddNextEntry stores the secret of the next expected index, after checking
// that it derives every secret already stored. On error the store is
// unchanged.
func (s *Store) AddNextEntry(secret [32]byte) error {
	index, ok := s.NextIndex()
	if !ok {
		return ErrStoreFull
	}
	return s.Insert(index, secret)
}

// Insert stores the secret of index, which must be the next expected
// index, after checking that it derives every secret already stored
// (insert_secret in BOLT 3). On error the store is unchanged.
func (s *Store) Insert(index uint64, secret [32]byte) error {
	next, ok := s.NextIndex()
	if !ok {
		return ErrStoreFull
	}
	if index != next {
		return fmt.Errorf("%w: got %d, want %d", ErrUnexpectedIndex, index, next)
	}
	b := bucketOf(index)
	for i := 0; i < b; i++ {
		if !s.has(i) {
			continue
		}
		if deriveSecret(secret, uint(b), s.buckets[i].index) != s.buckets[i].secret {
			return fmt.Errorf("%w: index %d", ErrInconsistentSecret, index)
		}
	}
	s.buckets[b] = entry{index: index, secret: secret}
	s.received++
	return nil
}

// LookUp returns the secret of index, which must have been received.
func (s *Store) LookUp(index uint64) ([32]byte, error) {
	if index > MaxIndex {
		return [32]byte{}, fmt.Errorf("%w: %d", ErrIndexOutOfRange, index)
	}
	if s.received == 0 || index < s.lastIndex() {
		return [32]byte{}, fmt.Errorf("%w: index %d", ErrUnknownIndex, index)
	}
	for b := 0; b < numBuckets; b++ {
		if !s.has(b) {
			continue
		}
		mask := ^(uint64(1)<<uint(b) - 1)
		if index&mask == s.buckets[b].index {
			return deriveSecret(s.buckets[b].secret, uint(b), index), nil
		}
	}
	// Unreachable for a store built by Insert or Decode.
	return [32]byte{}, fmt.Errorf("%w: index %d", ErrUnknownIndex, index)
}

// ForCommitment returns the secret of commitment number n (index
// MaxIndex-n).
func (s *Store) ForCommitment(n uint64) ([32]byte, error) {
	if n > MaxIndex {
		return [32]byte{}, fmt.Errorf("%w: commitment number %d", ErrIndexOutOfRange, n)
	}
	return s.LookUp(MaxIndex - n)
}

// encodingVersion is the first byte of an encoded store.
const encodingVersion = 0

// Encode returns the store in binary form: a version byte, the number of
// secrets received as 8 bytes big-endian, then the 32-byte secrets of the
// occupied buckets in ascending bucket order. Which buckets are occupied,
// and with which index, follows from the number received.
func (s *Store) Encode() []byte {
	out := make([]byte, 0, 9+32*numBuckets)
	out = append(out, encodingVersion)
	out = binary.BigEndian.AppendUint64(out, s.received)
	for b := 0; b < numBuckets; b++ {
		if s.has(b) {
			out = append(out, s.buckets[b].secret[:]...)
		}
	}
	return out
}

// Decode parses a store written by Encode. It checks the layout and that
// the stored secrets derive one another, so that a corrupted store is
// refused rather than trusted.
func Decode(data []byte) (*Store, error) {
	if len(data) < 9 {
		return nil, fmt.Errorf("%w: %d bytes", ErrBadEncoding, len(data))
	}
	if data[0] != encodingVersion {
		return nil, fmt.Errorf("%w: unknown version %d", ErrBadEncoding, data[0])
	}
	s := &Store{received: binary.BigEndian.Uint64(data[1:9])}
	if s.received > MaxIndex+1 {
		return nil, fmt.Errorf("%w: %d secrets received", ErrBadEncoding, s.received)
	}
	rest := data[9:]
	if s.received > 0 {
		last := s.lastIndex()
		for b := 0; b < numBuckets; b++ {
			index, ok := expectedIndex(b, last)
			if !ok {
				continue
			}
			if len(rest) < 32 {
				return nil, fmt.Errorf("%w: truncated", ErrBadEncoding)
			}
			s.buckets[b].index = index
			copy(s.buckets[b].secret[:], rest[:32])
			rest = rest[32:]
		}
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrBadEncoding, len(rest))
	}
	if err := s.verify(); err != nil {
		return nil, err
	}
	return s, nil
}

// verify checks that each stored secret is derived by the nearest higher
// bucket whose index is a prefix of its own.
func (s *Store) verify() error {
	for b := 0; b < numBuckets; b++ {
		if !s.has(b) {
			continue
		}
		for hi := b + 1; hi < numBuckets; hi++ {
			if !s.has(hi) {
				continue
			}
			mask := ^(uint64(1)<<uint(hi) - 1)
			if s.buckets[b].index&mask != s.buckets[hi].index {
				continue
			}
			got := deriveSecret(s.buckets[hi].secret, uint(hi), s.buckets[b].index)
			if got != s.buckets[b].secret {
				return fmt.Errorf("%w: bucket %d does not derive from bucket %d",
					ErrBadEncoding, b, hi)
			}
			break
		}
	}
	return nil
}
