package invoice

import "github.com/flash-ln/flash/channel/lnwire"

// The data part of an invoice is a string of 5-bit groups (one per bech32
// character). These helpers move between groups, bytes, integers and
// feature vectors.

const bech32Charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"

// bech32Char returns the character that spells a field type, for errors.
func bech32Char(g byte) byte { return bech32Charset[g&31] }

// groupsToBytes packs groups into bytes, dropping the trailing bits that do
// not fill a byte: BOLT 11 writers pad fields with zero bits.
func groupsToBytes(g []byte) []byte { return packGroups(g, false) }

// groupsToBytesPadded packs groups into bytes, padding the last byte with
// zero bits; this is the form the signature covers.
func groupsToBytesPadded(g []byte) []byte { return packGroups(g, true) }

func packGroups(g []byte, pad bool) []byte {
	out := make([]byte, 0, (len(g)*5+7)/8)
	var acc uint32
	var n uint
	for _, v := range g {
		acc = acc<<5 | uint32(v&31)
		n += 5
		if n >= 8 {
			n -= 8
			out = append(out, byte(acc>>n))
		}
	}
	if pad && n > 0 {
		out = append(out, byte(acc<<(8-n)))
	}
	return out
}

// bytesToGroups unpacks bytes into groups, zero-padding the last group.
func bytesToGroups(b []byte) []byte {
	out := make([]byte, 0, (len(b)*8+4)/5)
	var acc uint32
	var n uint
	for _, v := range b {
		acc = acc<<8 | uint32(v)
		n += 8
		for n >= 5 {
			n -= 5
			out = append(out, byte(acc>>n)&31)
		}
	}
	if n > 0 {
		out = append(out, byte(acc<<(5-n))&31)
	}
	return out
}

// groupsToUint reads a big-endian integer; ok is false if it overflows 64
// bits.
func groupsToUint(g []byte) (v uint64, ok bool) {
	for _, x := range g {
		if v>>59 != 0 {
			return 0, false
		}
		v = v<<5 | uint64(x&31)
	}
	return v, true
}

// uintToGroups writes v in the fewest groups (none for zero).
func uintToGroups(v uint64) []byte {
	var out []byte
	for ; v > 0; v >>= 5 {
		out = append([]byte{byte(v & 31)}, out...)
	}
	return out
}

// uintToGroupsFixed writes v in exactly n groups.
func uintToGroupsFixed(v uint64, n int) []byte {
	out := make([]byte, n)
	for i := n - 1; i >= 0; i-- {
		out[i] = byte(v & 31)
		v >>= 5
	}
	return out
}

// beUint reads a big-endian unsigned integer of up to 8 bytes.
func beUint(b []byte) uint64 {
	var v uint64
	for _, x := range b {
		v = v<<8 | uint64(x)
	}
	return v
}

// groupsToFeatures reads the 9 field: a big-endian bit field whose last
// group holds bits 0 to 4.
func groupsToFeatures(g []byte) *lnwire.FeatureVector {
	fv := lnwire.NewFeatureVector()
	for i, v := range g {
		base := (len(g) - 1 - i) * 5
		for j := 0; j < 5; j++ {
			if v&(1<<j) != 0 {
				fv.Set(lnwire.FeatureBit(base + j))
			}
		}
	}
	return fv
}

// featuresToGroups writes the fewest groups that hold every set bit.
func featuresToGroups(fv *lnwire.FeatureVector) []byte {
	set := fv.Bits()
	if len(set) == 0 {
		return nil
	}
	highest := 0
	for _, b := range set {
		highest = max(highest, int(b))
	}
	g := make([]byte, highest/5+1)
	for _, b := range set {
		g[len(g)-1-int(b)/5] |= 1 << (int(b) % 5)
	}
	return g
}
