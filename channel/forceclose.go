package channel

import (
	"fmt"

	"github.com/btcsuite/btcd/wire"

	"github.com/flash-ln/flash/channel/keys"
	"github.com/flash-ln/flash/channel/script"
)

// LocalCommitmentTx returns our current commitment transaction, fully
// signed, for a unilateral close. It must not be called after Receive
// returned a ProtocolError with CodeWeLostState: that commitment is revoked.
func (c *Channel) LocalCommitmentTx() (*wire.MsgTx, error) {
	cm, _, err := c.signedLocalCommitment()
	if err != nil {
		return nil, err
	}
	return cm.Tx, nil
}

func (c *Channel) signedLocalCommitment() (*script.Commitment, *keys.CommitmentKeys, error) {
	st := c.st
	ck, err := c.localKeys(st.LocalCommit.Index, &st.LocalCommit.Spec)
	if err != nil {
		return nil, nil, err
	}
	cm, err := c.buildCommitment(st, true, st.LocalCommit.Index, ck, &st.LocalCommit.Spec)
	if err != nil {
		return nil, nil, err
	}
	ours, err := cm.SignCommitment(st.Params.Capacity, c.keys.FundingKey)
	if err != nil {
		return nil, nil, fmt.Errorf("sign local commitment: %w", err)
	}
	theirs, err := st.LocalCommit.Sig.ToECDSA()
	if err != nil {
		return nil, nil, fmt.Errorf("stored commitment signature: %w", err)
	}
	cm.SetFundingWitness(st.Params.Local.FundingKey, ours, st.Params.Remote.FundingKey, theirs)
	return cm, ck, nil
}

// LocalHTLCTx is a signed second-stage transaction of our current
// commitment.
type LocalHTLCTx struct {
	HTLC HTLC
	// Tx spends the HTLC output. An HTLC-timeout can be broadcast after
	// the HTLC's expiry; an HTLC-success only when its preimage is known
	// (Tx is nil otherwise).
	Tx      *wire.MsgTx
	Timeout bool
}

// LocalHTLCTxs returns the second-stage transactions of our current
// commitment, signed by both sides. preimage looks up the preimages we know
// for received HTLCs.
func (c *Channel) LocalHTLCTxs(preimage func(hash [32]byte) ([32]byte, bool)) ([]LocalHTLCTx, error) {
	st := c.st
	cm, ck, err := c.signedLocalCommitment()
	if err != nil {
		return nil, err
	}
	if len(cm.HTLCTxs) != len(st.LocalCommit.HTLCSigs) {
		return nil, fmt.Errorf("stored %d HTLC signatures for %d HTLC outputs", len(st.LocalCommit.HTLCSigs), len(cm.HTLCTxs))
	}
	key := keys.DerivePrivKeyFromBasepoint(c.keys.HTLCBaseSecret, st.Params.Local.Basepoints.HTLC, ck.PerCommitmentPoint)
	out := make([]LocalHTLCTx, 0, len(cm.HTLCTxs))
	for i, h := range cm.HTLCTxs {
		htlc := st.LocalCommit.Spec.HTLCs[h.HTLCIndex]
		res := LocalHTLCTx{HTLC: htlc, Timeout: h.Timeout}
		var pre [32]byte
		if !h.Timeout {
			p, ok := preimage(htlc.PaymentHash)
			if !ok {
				out = append(out, res)
				continue
			}
			pre = p
		}
		theirs, err := st.LocalCommit.HTLCSigs[i].ToECDSA()
		if err != nil {
			return nil, fmt.Errorf("stored HTLC signature %d: %w", i, err)
		}
		ours, err := h.SignLocal(key)
		if err != nil {
			return nil, fmt.Errorf("sign HTLC transaction %d: %w", i, err)
		}
		h.SetWitness(theirs, ours, pre)
		res.Tx = h.Tx
		out = append(out, res)
	}
	return out, nil
}
