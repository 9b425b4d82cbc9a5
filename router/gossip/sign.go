package gossip

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/ecdsa"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/flash-ln/flash/channel/lnwire"
)

// ErrBadSignature is returned when a signature does not verify, or its r
// or s is out of range.
var ErrBadSignature = errors.New("invalid signature")

// SigError names the signature field that failed; it matches
// ErrBadSignature with errors.Is.
type SigError struct {
	Field string
	Err   error
}

func (e *SigError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *SigError) Unwrap() error { return e.Err }

// signedHash returns the double-SHA256 of the bytes written by enc, the
// digest BOLT 7 signs for every gossip message.
func signedHash(enc func(*bytes.Buffer) error) ([32]byte, error) {
	var b bytes.Buffer
	if err := enc(&b); err != nil {
		return [32]byte{}, err
	}
	return chainhash.DoubleHashH(b.Bytes()), nil
}

// SigHash returns the digest the four signatures commit to: the
// double-SHA256 of the message from the features length to its end.
func (m *ChannelAnnouncement) SigHash() ([32]byte, error) { return signedHash(m.encodeSigned) }

// SigHash returns the digest of everything after the signature.
func (m *NodeAnnouncement) SigHash() ([32]byte, error) { return signedHash(m.encodeSigned) }

// SigHash returns the digest of everything after the signature.
func (m *ChannelUpdate) SigHash() ([32]byte, error) { return signedHash(m.encodeSigned) }

// SignHash signs a digest with key. Signing is deterministic (RFC 6979)
// and always yields a low-S signature.
func SignHash(key *btcec.PrivateKey, hash [32]byte) (lnwire.Sig, error) {
	return lnwire.NewSigFromECDSA(ecdsa.Sign(key, hash[:]))
}

// VerifyHash checks sig over hash against the key pub. The error wraps
// ErrBadSignature when the signature is wrong and lnwire.ErrInvalidPubKey
// when pub is not a point.
func VerifyHash(sig lnwire.Sig, hash [32]byte, pub NodeID) error {
	pk, err := pub.PubKey()
	if err != nil {
		return err
	}
	s, err := sig.ToECDSA()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	if !s.Verify(hash[:], pk) {
		return ErrBadSignature
	}
	return nil
}

// NewChannelAnnouncement builds an unsigned announcement for the channel
// between nodes a and b with funding keys btcA and btcB, putting the
// lesser node id first as BOLT 7 requires and each funding key beside its
// node.
func NewChannelAnnouncement(chain lnwire.ChainHash, scid lnwire.ShortChannelID,
	features []byte, a, b, btcA, btcB NodeID) *ChannelAnnouncement {

	if b.Less(a) {
		a, b = b, a
		btcA, btcB = btcB, btcA
	}
	return &ChannelAnnouncement{
		RawFeatures:    append([]byte{}, features...),
		ChainHash:      chain,
		ShortChannelID: scid,
		NodeID1:        a,
		NodeID2:        b,
		BitcoinKey1:    btcA,
		BitcoinKey2:    btcB,
	}
}

// Sign signs the announcement as the owner of nodeKey and bitcoinKey,
// stores the two signatures in that node's slots, and returns them so
// they can be sent to the peer in announcement_signatures.
func (m *ChannelAnnouncement) Sign(nodeKey, bitcoinKey *btcec.PrivateKey) (nodeSig, bitcoinSig lnwire.Sig, err error) {
	id := NewNodeID(nodeKey.PubKey())
	btc := NewNodeID(bitcoinKey.PubKey())
	var nSlot, bSlot *lnwire.Sig
	switch {
	case id == m.NodeID1 && btc == m.BitcoinKey1:
		nSlot, bSlot = &m.NodeSig1, &m.BitcoinSig1
	case id == m.NodeID2 && btc == m.BitcoinKey2:
		nSlot, bSlot = &m.NodeSig2, &m.BitcoinSig2
	default:
		return nodeSig, bitcoinSig, fmt.Errorf("sign channel_announcement %v: keys are not one side of the channel", m.ShortChannelID)
	}
	h, err := m.SigHash()
	if err != nil {
		return nodeSig, bitcoinSig, err
	}
	if nodeSig, err = SignHash(nodeKey, h); err != nil {
		return nodeSig, bitcoinSig, err
	}
	if bitcoinSig, err = SignHash(bitcoinKey, h); err != nil {
		return nodeSig, bitcoinSig, err
	}
	*nSlot, *bSlot = nodeSig, bitcoinSig
	return nodeSig, bitcoinSig, nil
}

// AddPeerSignatures verifies the peer's announcement_signatures against
// the announcement and stores them in the peer's slots. from is the
// peer's node id.
func (m *ChannelAnnouncement) AddPeerSignatures(as *AnnouncementSignatures, from NodeID) error {
	if as.ShortChannelID != m.ShortChannelID {
		return fmt.Errorf("announcement_signatures for %v, want %v", as.ShortChannelID, m.ShortChannelID)
	}
	h, err := m.SigHash()
	if err != nil {
		return err
	}
	var nodeKey, btcKey NodeID
	var nSlot, bSlot *lnwire.Sig
	switch from {
	case m.NodeID1:
		nodeKey, btcKey, nSlot, bSlot = m.NodeID1, m.BitcoinKey1, &m.NodeSig1, &m.BitcoinSig1
	case m.NodeID2:
		nodeKey, btcKey, nSlot, bSlot = m.NodeID2, m.BitcoinKey2, &m.NodeSig2, &m.BitcoinSig2
	default:
		return fmt.Errorf("announcement_signatures from %v, not a party of %v", from, m.ShortChannelID)
	}
	if err := VerifyHash(as.NodeSignature, h, nodeKey); err != nil {
		return &SigError{Field: "node_signature", Err: err}
	}
	if err := VerifyHash(as.BitcoinSignature, h, btcKey); err != nil {
		return &SigError{Field: "bitcoin_signature", Err: err}
	}
	*nSlot, *bSlot = as.NodeSignature, as.BitcoinSignature
	return nil
}

// Sign signs the announcement with the node's key, which must be NodeID's.
func (m *NodeAnnouncement) Sign(key *btcec.PrivateKey) error {
	if NewNodeID(key.PubKey()) != m.NodeID {
		return errors.New("sign node_announcement: key does not match node_id")
	}
	h, err := m.SigHash()
	if err != nil {
		return err
	}
	m.Signature, err = SignHash(key, h)
	return err
}

// Sign signs the update with the key of the node it speaks for.
func (m *ChannelUpdate) Sign(key *btcec.PrivateKey) error {
	h, err := m.SigHash()
	if err != nil {
		return err
	}
	m.Signature, err = SignHash(key, h)
	return err
}
