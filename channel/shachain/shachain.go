package shachain

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"math/bits"
)

// MaxIndex is the index of the first secret, 2^48-1. Indices count down.
const MaxIndex uint64 = 1<<48 - 1

// numBuckets is the number of secrets a Store keeps: one per possible count
// of trailing zero bits of a 48-bit index, 0 to 48.
const numBuckets = 49

// ErrIndexOutOfRange is returned for an index above MaxIndex.
var ErrIndexOutOfRange = errors.New("shachain: index above 2^48-1")

// deriveSecret applies the BOLT 3 derivation from base, whose index agrees
// with index in the bits above the lowest nbits, to the secret of index.
func deriveSecret(base [32]byte, nbits uint, index uint64) [32]byte {
	p := base
	for b := int(nbits) - 1; b >= 0; b-- {
		if index&(1<<uint(b)) != 0 {
			p[b/8] ^= 1 << uint(b%8)
			p = sha256.Sum256(p[:])
		}
	}
	return p
}

// Producer generates our own per-commitment secrets from a seed.
// It holds the seed and nothing else, so it is safe to copy.
type Producer struct {
	seed [32]byte
}

// NewProducer returns the producer of the secrets of seed. The seed must be
// unguessable and never revealed; use a fresh one for every channel.
func NewProducer(seed [32]byte) *Producer {
	return &Producer{seed: seed}
}

// AtIndex returns generate_from_seed(seed, index).
func (p *Producer) AtIndex(index uint64) ([32]byte, error) {
	if index > MaxIndex {
		return [32]byte{}, fmt.Errorf("%w: %d", ErrIndexOutOfRange, index)
	}
	return deriveSecret(p.seed, 48, index), nil
}

// ForCommitment returns the per-commitment secret of commitment number n,
// the secret with index MaxIndex-n.
func (p *Producer) ForCommitment(n uint64) ([32]byte, error) {
	if n > MaxIndex {
		return [32]byte{}, fmt.Errorf("%w: commitment number %d", ErrIndexOutOfRange, n)
	}
	return p.AtIndex(MaxIndex - n)
}

// bucketOf is where_to_put_secret: the number of trailing zero bits of a
// 48-bit index, 48 for index 0.
func bucketOf(index uint64) int {
	if index == 0 {
		return 48
	}
	return bits.TrailingZeros64(index)
}
