package notify

import "github.com/btcsuite/btcd/chaincfg/chainhash"

// chainView is the notifier's picture of the main chain: the hashes of its
// most recent blocks, as far as the notifier has processed them. It may lag
// behind the source, never run ahead of what was reported to consumers.
type chainView struct {
	base   int32 // height of hashes[0]
	hashes []chainhash.Hash
	// depth is how many recent blocks are kept. Older ones are forgotten:
	// a historical scan reads them from the source's main chain, and a
	// reorganisation reaching them is handled by walking back through
	// the source (see rewindBelowView).
	depth int
}

func (v *chainView) empty() bool { return len(v.hashes) == 0 }

// tip is the last block of the view. The view must not be empty.
func (v *chainView) tip() (chainhash.Hash, int32) {
	i := len(v.hashes) - 1
	return v.hashes[i], v.base + int32(i)
}

func (v *chainView) tipHeight() int32 {
	return v.base + int32(len(v.hashes)) - 1
}

// hashAt is the block at height, if the view holds that height.
func (v *chainView) hashAt(height int32) (chainhash.Hash, bool) {
	if height < v.base || height > v.tipHeight() {
		return chainhash.Hash{}, false
	}
	return v.hashes[height-v.base], true
}

// onMainChain reports whether the block is part of the processed main
// chain. Below the view the notifier keeps no hashes; a block there was
// read from the source's main chain by a historical scan and is accepted.
func (v *chainView) onMainChain(hash chainhash.Hash, height int32) bool {
	if height < v.base {
		return true
	}
	h, ok := v.hashAt(height)
	return ok && h == hash
}

// reset makes the view start at height base with the given hashes.
func (v *chainView) reset(base int32, hashes []chainhash.Hash) {
	v.base = base
	v.hashes = hashes
}

func (v *chainView) push(hash chainhash.Hash) {
	v.hashes = append(v.hashes, hash)
	// Trim in batches so that the copy is amortised over many blocks.
	if v.depth > 0 && len(v.hashes) >= 2*v.depth {
		drop := len(v.hashes) - v.depth
		kept := make([]chainhash.Hash, v.depth, 2*v.depth)
		copy(kept, v.hashes[drop:])
		v.hashes = kept
		v.base += int32(drop)
	}
}

func (v *chainView) pop() {
	v.hashes = v.hashes[:len(v.hashes)-1]
}
