package lnwire

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/ecdsa"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

// OnionPacketSize is the size of the onion_routing_packet carried by
// update_add_htlc (BOLT 4: version, ephemeral key, 1300-byte payload, HMAC).
const OnionPacketSize = 1366

// PubKeySize is the size of a compressed secp256k1 point on the wire.
const PubKeySize = 33

// MilliSatoshi is an amount in thousandths of a satoshi, the unit of every
// off-chain amount.
type MilliSatoshi uint64

// MilliSatPerSat is the number of millisatoshis in one satoshi.
const MilliSatPerSat = 1000

// NewMSatFromSatoshis converts a satoshi amount to millisatoshis.
func NewMSatFromSatoshis(sat uint64) MilliSatoshi {
	return MilliSatoshi(sat * MilliSatPerSat)
}

// ToSatoshis truncates the amount to whole satoshis, the way BOLT 3 rounds
// outputs down.
func (m MilliSatoshi) ToSatoshis() uint64 { return uint64(m) / MilliSatPerSat }

// String formats the amount with its unit, e.g. "1500 mSAT".
func (m MilliSatoshi) String() string { return strconv.FormatUint(uint64(m), 10) + " mSAT" }

// ChainHash identifies a chain by the hash of its genesis block, in the
// internal byte order Bitcoin uses for block hashes.
type ChainHash [32]byte

// String returns the hash in the usual reversed-hex display order.
func (c ChainHash) String() string { return chainhash.Hash(c).String() }

// ChannelID identifies an established channel (BOLT 2 "Definition of
// channel_id"). Before funding_created, a temporary channel id chosen by the
// funder takes its place.
type ChannelID [32]byte

// NewChannelID derives the channel id from the funding outpoint: the funding
// txid in internal byte order with its last two bytes XORed with the
// big-endian output index.
func NewChannelID(funding wire.OutPoint) ChannelID {
	var cid ChannelID
	copy(cid[:], funding.Hash[:])
	// BOLT 2 only defines funding output indices that fit in 16 bits.
	cid[30] ^= byte(funding.Index >> 8)
	cid[31] ^= byte(funding.Index)
	return cid
}

// IsZero reports whether every byte is zero, the value error and warning
// messages use to refer to all channels.
func (c ChannelID) IsZero() bool { return c == ChannelID{} }

// String returns the id as hex in wire order.
func (c ChannelID) String() string { return hex.EncodeToString(c[:]) }

// ShortChannelID locates a channel's funding output in the chain (BOLT 7
// "Definition of short_channel_id").
type ShortChannelID struct {
	BlockHeight uint32 // 24 bits used
	TxIndex     uint32 // 24 bits used
	TxPosition  uint16
}

// NewShortChanIDFromInt unpacks the 8-byte integer form.
func NewShortChanIDFromInt(v uint64) ShortChannelID {
	return ShortChannelID{
		BlockHeight: uint32(v >> 40),
		TxIndex:     uint32(v>>16) & 0xffffff,
		TxPosition:  uint16(v),
	}
}

// ToUint64 packs the id as block height (3 bytes), transaction index
// (3 bytes) and output index (2 bytes), big-endian. Heights and indices
// beyond 24 bits are truncated, as they cannot be represented on the wire.
func (s ShortChannelID) ToUint64() uint64 {
	return uint64(s.BlockHeight&0xffffff)<<40 |
		uint64(s.TxIndex&0xffffff)<<16 | uint64(s.TxPosition)
}

// String returns the "HxTxO" form used by the BOLTs and most tools.
func (s ShortChannelID) String() string {
	return fmt.Sprintf("%dx%dx%d", s.BlockHeight, s.TxIndex, s.TxPosition)
}

// ParseShortChannelID parses the "HxTxO" form.
func ParseShortChannelID(str string) (ShortChannelID, error) {
	parts := strings.Split(str, "x")
	if len(parts) != 3 {
		return ShortChannelID{}, fmt.Errorf("short channel id %q: want BLOCKxTXxOUTPUT", str)
	}
	h, err1 := strconv.ParseUint(parts[0], 10, 24)
	t, err2 := strconv.ParseUint(parts[1], 10, 24)
	o, err3 := strconv.ParseUint(parts[2], 10, 16)
	if err := errors.Join(err1, err2, err3); err != nil {
		return ShortChannelID{}, fmt.Errorf("short channel id %q: %w", str, err)
	}
	return ShortChannelID{BlockHeight: uint32(h), TxIndex: uint32(t), TxPosition: uint16(o)}, nil
}

// Sig is an ECDSA signature in the 64-byte compact wire form: r and s as
// 32-byte big-endian integers.
type Sig [64]byte

// ErrInvalidSig is returned when a wire signature's r or s is zero or not
// below the curve order.
var ErrInvalidSig = errors.New("invalid signature: r or s out of range")

// NewSigFromECDSA converts a signature to its wire form.
func NewSigFromECDSA(sig *ecdsa.Signature) (Sig, error) {
	var out Sig
	if sig == nil {
		return out, errors.New("nil signature")
	}
	r, s := sig.R(), sig.S()
	if r.IsZero() || s.IsZero() {
		return out, ErrInvalidSig
	}
	r.PutBytesUnchecked(out[:32])
	s.PutBytesUnchecked(out[32:])
	return out, nil
}

// ToECDSA converts the wire form to a signature, rejecting r or s that is
// zero or not below the curve order. Such values never come from an honest
// signer, and reducing them modulo N would make two encodings mean the same
// signature.
func (s *Sig) ToECDSA() (*ecdsa.Signature, error) {
	var r, sv btcec.ModNScalar
	if overflow := r.SetByteSlice(s[:32]); overflow || r.IsZero() {
		return nil, ErrInvalidSig
	}
	if overflow := sv.SetByteSlice(s[32:]); overflow || sv.IsZero() {
		return nil, ErrInvalidSig
	}
	return ecdsa.NewSignature(&r, &sv), nil
}

// IsLowS reports whether s is at most half the curve order. BOLT 2 requires
// receivers to reject high-S signatures, which Bitcoin's relay policy would
// refuse on chain, although they verify.
func (s *Sig) IsLowS() bool {
	var sv btcec.ModNScalar
	overflow := sv.SetByteSlice(s[32:])
	return !overflow && !sv.IsOverHalfOrder()
}

// ErrInvalidPubKey is returned when 33 bytes on the wire are not a valid
// compressed secp256k1 point.
var ErrInvalidPubKey = errors.New("invalid compressed public key")

// parsePubKey accepts only the 33-byte compressed form: it is the only form
// the BOLTs allow, and accepting others would break re-encoding.
func parsePubKey(b []byte) (*btcec.PublicKey, error) {
	if len(b) != PubKeySize || (b[0] != 0x02 && b[0] != 0x03) {
		return nil, ErrInvalidPubKey
	}
	pk, err := btcec.ParsePubKey(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidPubKey, err)
	}
	return pk, nil
}

// putUint64 writes a big-endian u64 into b.
func putUint64(b []byte, v uint64) { binary.BigEndian.PutUint64(b, v) }
