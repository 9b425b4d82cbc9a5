package keys

import (
	"sync"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/ecdsa"
)

// affinePoint is a point with Z = 1, stored without its Z coordinate to
// keep tables small.
type affinePoint struct{ x, y btcec.FieldVal }

// PointTable holds precomputed multiples of one point so that multiplying
// it by a scalar costs only mixed additions, one per digit of the scalar,
// and no doubling. The scalar is written in signed digits of width bits,
// in [-2^(width-1), 2^(width-1)]; the table holds, for each digit
// position, the multiples 1 to 2^(width-1) of the point at that position,
// a negative digit using the negation of an entry.
//
// Built with NewPointTable (5-bit digits), a table makes multiplying a
// public key cost 52 additions, about a third of a variable-base
// multiplication; building it costs about as much as ten variable-base
// multiplications and it occupies about 68 KB. It pays for a key used many
// times, such as the peer's revocation basepoint or funding key over a
// channel's life. A table is immutable once built and safe for concurrent
// use.
type PointTable struct {
	width int
	half  int             // 2^(width-1): the entries per digit position
	pts   [][]affinePoint // pts[i][d-1] = d * 2^(width*i) * point
}

// pointTableWidth is the digit width of NewPointTable: wider digits would
// mean fewer additions per multiplication, at the price of a table twice
// as large and as long to build per extra bit.
const pointTableWidth = 5

// NewPointTable builds the table of key.
func NewPointTable(key *btcec.PublicKey) *PointTable {
	var p btcec.JacobianPoint
	key.AsJacobian(&p)
	return newPointTable(&p, pointTableWidth)
}

// baseTableWidth is the digit width of the table of G: 26 additions per
// multiplication instead of the 32 of btcec's fixed-base multiplication,
// for a table of 1.1 MB built once per process.
const baseTableWidth = 10

// baseTable returns the table of the generator G, built on first use.
var baseTable = sync.OnceValue(func() *PointTable {
	var g btcec.JacobianPoint
	var one btcec.ModNScalar
	one.SetInt(1)
	btcec.ScalarBaseMultNonConst(&one, &g)
	return newPointTable(&g, baseTableWidth)
})

// baseMult sets result to k*G, as btcec.ScalarBaseMultNonConst does.
func baseMult(k *btcec.ModNScalar, result *btcec.JacobianPoint) {
	baseTable().ScalarMult(k, result)
}

func newPointTable(base *btcec.JacobianPoint, width int) *PointTable {
	// The positions cover at least 257 bits, so that the top digit, read
	// from the few bits of a 256-bit scalar left for it, never carries.
	positions := (257 + width - 1) / width
	half := 1 << (width - 1)
	all := make([]btcec.JacobianPoint, positions*half)
	var b btcec.JacobianPoint
	b.Set(base)
	for i := 0; i < positions; i++ {
		// row[d-1] = d * 2^(width*i) * point. As the group order n is
		// prime and neither d nor a power of two is a multiple of it, no
		// entry is the point at infinity, and every entry has an affine
		// form.
		row := all[i*half : (i+1)*half]
		row[0].Set(&b)
		if half > 1 {
			btcec.DoubleNonConst(&b, &row[1])
		}
		for d := 2; d < half; d++ {
			btcec.AddNonConst(&row[d-1], &b, &row[d])
		}
		btcec.DoubleNonConst(&row[half-1], &b) // 2^width * 2^(width*i) * point
	}
	toAffine(all)
	t := &PointTable{width: width, half: half, pts: make([][]affinePoint, positions)}
	flat := make([]affinePoint, len(all))
	for i := range all {
		flat[i].x.Set(&all[i].X)
		flat[i].y.Set(&all[i].Y)
	}
	for i := range t.pts {
		t.pts[i] = flat[i*half : (i+1)*half]
	}
	return t
}

// mulAdd sets result to acc + k*P, where P is the table's point. acc may
// be the point at infinity (all zero) and may alias result.
func (t *PointTable) mulAdd(k *btcec.ModNScalar, acc, result *btcec.JacobianPoint) {
	result.Set(acc)
	kb := k.Bytes()
	// Little-endian 64-bit limbs of k, plus a zero limb so that reading
	// a digit across the top limb boundary needs no special case.
	var limbs [5]uint64
	for i := 0; i < 4; i++ {
		for j := 0; j < 8; j++ {
			limbs[i] |= uint64(kb[31-8*i-j]) << (8 * j)
		}
	}
	mask := uint64(1)<<t.width - 1
	var p btcec.JacobianPoint
	p.Z.SetInt(1)
	carry := 0
	for i := range t.pts {
		bit := i * t.width
		var chunk uint64
		if bit < 256 {
			chunk = limbs[bit/64] >> (bit % 64)
			if off := bit % 64; off+t.width > 64 {
				chunk |= limbs[bit/64+1] << (64 - off)
			}
			chunk &= mask
		}
		d := int(chunk) + carry
		carry = 0
		if d > t.half {
			d -= 2 * t.half
			carry = 1
		}
		if d == 0 {
			continue
		}
		neg := d < 0
		if neg {
			d = -d
		}
		e := &t.pts[i][d-1]
		p.X.Set(&e.x)
		if neg {
			p.Y.NegateVal(&e.y, 1).Normalize()
		} else {
			p.Y.Set(&e.y)
		}
		btcec.AddNonConst(result, &p, result)
	}
}

// ScalarMult sets result to k times the table's point.
func (t *PointTable) ScalarMult(k *btcec.ModNScalar, result *btcec.JacobianPoint) {
	var inf btcec.JacobianPoint
	t.mulAdd(k, &inf, result)
}

// curveOrder is the group order n as a field element, for the last step of
// signature verification.
var curveOrder = func() btcec.FieldVal {
	var f btcec.FieldVal
	f.SetByteSlice(btcec.S256().Params().N.Bytes())
	return f
}()

// VerifySignature reports whether sig is a valid ECDSA signature of hash by
// the table's key. It accepts and refuses exactly what
// (*ecdsa.Signature).Verify does, computing u1*G + u2*Q with the table
// instead of a variable-base multiplication of Q.
func (t *PointTable) VerifySignature(sig *ecdsa.Signature, hash []byte) bool {
	return t.verifyTweaked(sig, hash, nil)
}

// verifyTweaked is VerifySignature for the key Q + tweak*G, Q being the
// table's point, or Q itself for a nil tweak. Since
// u1*G + u2*(Q + tweak*G) = (u1 + u2*tweak)*G + u2*Q, a key derived from a
// tabulated basepoint is checked as cheaply as the basepoint itself.
func (t *PointTable) verifyTweaked(sig *ecdsa.Signature, hash []byte, tweak *btcec.ModNScalar) bool {
	r, s := sig.R(), sig.S()
	if r.IsZero() || s.IsZero() {
		return false
	}
	var e btcec.ModNScalar
	e.SetByteSlice(hash)
	var w, u1, u2 btcec.ModNScalar
	w.InverseValNonConst(&s)
	u1.Mul2(&e, &w)
	u2.Mul2(&r, &w)
	if tweak != nil {
		var u2t btcec.ModNScalar
		u1.Add(u2t.Mul2(&u2, tweak))
	}

	var x btcec.JacobianPoint
	baseMult(&u1, &x)
	t.mulAdd(&u2, &x, &x)
	if (x.X.IsZero() && x.Y.IsZero()) || x.Z.IsZero() {
		return false
	}
	x.X.Normalize()

	// Compare in projective form, avoiding an inversion: the affine x
	// is X/Z², and r is that x reduced modulo n, so x is r or r+n.
	var z2, rf, cmp btcec.FieldVal
	z2.SquareVal(&x.Z)
	rb := r.Bytes()
	rf.SetBytes(&rb)
	cmp.Mul2(&rf, &z2).Normalize()
	if cmp.Equals(&x.X) {
		return true
	}
	if rf.IsGtOrEqPrimeMinusOrder() {
		return false
	}
	rf.Add(&curveOrder)
	cmp.Mul2(&rf, &z2).Normalize()
	return cmp.Equals(&x.X)
}
