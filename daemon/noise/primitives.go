package noise

import (
	"crypto/cipher"
	"crypto/sha256"
	"encoding/binary"
	"io"

	"github.com/btcsuite/btcd/btcec/v2"
	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/hkdf"
)

// pubKeySize is the length of a compressed secp256k1 public key.
const pubKeySize = 33

// tagSize is the length of a Poly1305 authentication tag.
const tagSize = chacha20poly1305.Overhead

// hkdf2 is HKDF-SHA256 (RFC 5869) with the chaining key as salt, an empty
// info string and exactly two 32-byte outputs: the only shape BOLT 8 uses,
// both in the handshake and in key rotation.
func hkdf2(salt, ikm []byte) (first, second [32]byte) {
	r := hkdf.New(sha256.New, ikm, salt, nil)
	// Reading 64 bytes from HKDF-SHA256 cannot fail: the limit is 255*32.
	_, _ = io.ReadFull(r, first[:])
	_, _ = io.ReadFull(r, second[:])
	return first, second
}

// ecdh returns SHA-256 of the compressed point priv·pub, the shared secret
// of BOLT 8. Unlike btcec.GenerateSharedSecret it hashes the whole
// compressed point, parity byte included.
func ecdh(priv *btcec.PrivateKey, pub *btcec.PublicKey) [32]byte {
	var point, product btcec.JacobianPoint
	pub.AsJacobian(&point)
	btcec.ScalarMultNonConst(&priv.Key, &point, &product)
	product.ToAffine()

	var compressed [pubKeySize]byte
	compressed[0] = 0x02
	if product.Y.IsOdd() {
		compressed[0] = 0x03
	}
	product.X.PutBytesUnchecked(compressed[1:])
	return sha256.Sum256(compressed[:])
}

// parseCompressedPubKey accepts only the 33-byte compressed encoding: BOLT 8
// fixes the act layout, so the uncompressed and hybrid forms btcec would
// otherwise accept are invalid here.
func parseCompressedPubKey(b []byte) (*btcec.PublicKey, error) {
	if len(b) != pubKeySize || (b[0] != 0x02 && b[0] != 0x03) {
		return nil, ErrBadPubKey
	}
	pub, err := btcec.ParsePubKey(b)
	if err != nil {
		return nil, ErrBadPubKey
	}
	return pub, nil
}

// newAEAD builds ChaCha20-Poly1305 for a 32-byte key.
func newAEAD(key *[32]byte) cipher.AEAD {
	aead, err := chacha20poly1305.New(key[:])
	if err != nil {
		// Unreachable: the only error is a key of the wrong size.
		panic("noise: " + err.Error())
	}
	return aead
}

// nonceBytes encodes n as BOLT 8 specifies: 32 zero bits followed by the
// 64-bit little-endian counter.
func nonceBytes(n uint64) [chacha20poly1305.NonceSize]byte {
	var nonce [chacha20poly1305.NonceSize]byte
	binary.LittleEndian.PutUint64(nonce[4:], n)
	return nonce
}
