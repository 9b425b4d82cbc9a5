package channel

import (
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/ecdsa"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/flash-ln/flash/channel/keys"
	"github.com/flash-ln/flash/channel/script"
)

// derived caches what a channel computes again and again from the parts of
// it that never change: the parameters fixed at funding and the keyring.
// Nothing in it is persisted; a Channel fresh from New or Unmarshal starts
// empty and fills it on first use. Every entry is a pure function of those
// fixed parts, so an entry added by a step that fails and is discarded is
// as correct as any other: the cache needs no part in the copy-on-step
// discipline of the state.
type derived struct {
	// deriver derives both sides' commitment keys.
	deriver *keys.ChannelDeriver
	// remoteFunding multiplies the peer's funding key, for the signature
	// of every commitment of ours.
	remoteFunding *keys.PointTable
	// points are our most recent per-commitment secrets and points: the
	// point of commitment n+2 is computed to be sent in the revocation of
	// commitment n, and is needed again to derive the keys of n+2.
	points [4]ownPoint
}

type ownPoint struct {
	valid  bool
	index  uint64
	secret [32]byte
	point  *btcec.PublicKey
}

func (c *Channel) deriver() *keys.ChannelDeriver {
	if c.cache.deriver == nil {
		p := &c.st.Params
		c.cache.deriver = keys.NewChannelDeriver(&p.Local.Basepoints, &p.Remote.Basepoints, c.keys.RevocationBaseSecret)
	}
	return c.cache.deriver
}

func (c *Channel) remoteFundingTable() *keys.PointTable {
	if c.cache.remoteFunding == nil {
		c.cache.remoteFunding = keys.NewPointTable(c.st.Params.Remote.FundingKey)
	}
	return c.cache.remoteFunding
}

// ownCommitmentPoint returns our per-commitment secret and point of
// commitment index.
func (c *Channel) ownCommitmentPoint(index uint64) ([32]byte, *btcec.PublicKey, error) {
	slot := &c.cache.points[index%uint64(len(c.cache.points))]
	if slot.valid && slot.index == index {
		return slot.secret, slot.point, nil
	}
	secret, err := c.keys.Secrets.ForCommitment(index)
	if err != nil {
		return [32]byte{}, nil, &ProtocolError{Code: CodeInternal, Detail: fmt.Sprintf("per-commitment secret %d: %v", index, err)}
	}
	*slot = ownPoint{valid: true, index: index, secret: secret, point: keys.PerCommitmentPoint(secret)}
	return secret, slot.point, nil
}

// verifyWithTable is script.Verify of the single input of tx with a
// PointTable of the key in place of the key.
func verifyWithTable(tx *wire.MsgTx, witnessScript []byte, amount btcutil.Amount, hashType txscript.SigHashType,
	sig *ecdsa.Signature, key *keys.PointTable) error {

	h, err := script.WitnessSigHash(tx, 0, witnessScript, amount, hashType)
	if err != nil {
		return fmt.Errorf("verify input 0: %w", err)
	}
	if !key.VerifySignature(sig, h) {
		return script.ErrBadSignature
	}
	return nil
}

// verifyCommitmentSig checks the peer's signature of our commitment cm.
func (c *Channel) verifyCommitmentSig(st *state, cm *script.Commitment, sig *ecdsa.Signature) error {
	return verifyWithTable(cm.Tx, cm.FundingScript, st.Params.Capacity, txscript.SigHashAll, sig, c.remoteFundingTable())
}

// verifyHTLCSig checks the peer's signature of h, an HTLC transaction of
// our commitment whose per-commitment point is point.
func (c *Channel) verifyHTLCSig(point *btcec.PublicKey, h *script.HTLCTx, sig *ecdsa.Signature) error {
	hash, err := script.WitnessSigHash(h.Tx, 0, h.WitnessScript, h.Amount, h.Type.RemoteSigHashType())
	if err != nil {
		return fmt.Errorf("verify input 0: %w", err)
	}
	if !c.deriver().VerifyPeerHTLCSignature(point, sig, hash) {
		return script.ErrBadSignature
	}
	return nil
}
