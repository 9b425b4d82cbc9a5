package script

import (
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/ecdsa"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
)

// HTLCTx is an unsigned second-stage transaction: an HTLC-timeout for an
// HTLC the commitment's owner offered, an HTLC-success for one it received.
// Both parties sign it: the counterparty in commitment_signed (SignRemote),
// the owner when it broadcasts (SignLocal).
type HTLCTx struct {
	Tx   *wire.MsgTx
	Type CommitmentType
	// Timeout is true for an HTLC-timeout transaction.
	Timeout bool
	// HTLCIndex is the position of the HTLC in CommitmentParams.HTLCs.
	HTLCIndex int
	// WitnessScript and Amount describe the commitment output spent.
	WitnessScript []byte
	Amount        btcutil.Amount
	// OutputScript is the witness script of the transaction's own output
	// (a to_local script: revocation key or delayed key after
	// to_self_delay).
	OutputScript []byte
}

// secondLevelTx builds an HTLC-timeout (lockTime = cltv_expiry) or
// HTLC-success (lockTime = 0) transaction.
func secondLevelTx(t CommitmentType, spend wire.OutPoint, amount btcutil.Amount, pkScript []byte, lockTime uint32) *wire.MsgTx {
	tx := wire.NewMsgTx(2)
	tx.LockTime = lockTime
	seq := uint32(0)
	if t == Anchors {
		// The HTLC outputs of anchor commitments carry a one-block CSV.
		seq = 1
	}
	tx.AddTxIn(&wire.TxIn{PreviousOutPoint: spend, Sequence: seq})
	tx.AddTxOut(wire.NewTxOut(int64(amount), pkScript))
	return tx
}

// HTLCTimeoutTx builds the HTLC-timeout transaction that spends the offered
// HTLC output at commitmentOutput, worth htlcAmount, of a commitment with
// the given revocation and delayed keys.
func HTLCTimeoutTx(t CommitmentType, commitmentOutput wire.OutPoint, htlcAmount btcutil.Amount, cltvExpiry uint32,
	feePerKw uint32, toSelfDelay uint16, revocation, localDelayed *btcec.PublicKey) (*wire.MsgTx, error) {

	return buildSecondLevel(t, commitmentOutput, htlcAmount, t.HTLCTimeoutFee(feePerKw), cltvExpiry,
		toSelfDelay, revocation, localDelayed)
}

// HTLCSuccessTx builds the HTLC-success transaction that spends the received
// HTLC output at commitmentOutput, worth htlcAmount.
func HTLCSuccessTx(t CommitmentType, commitmentOutput wire.OutPoint, htlcAmount btcutil.Amount,
	feePerKw uint32, toSelfDelay uint16, revocation, localDelayed *btcec.PublicKey) (*wire.MsgTx, error) {

	return buildSecondLevel(t, commitmentOutput, htlcAmount, t.HTLCSuccessFee(feePerKw), 0,
		toSelfDelay, revocation, localDelayed)
}

func buildSecondLevel(t CommitmentType, spend wire.OutPoint, amount, fee btcutil.Amount, lockTime uint32,
	toSelfDelay uint16, revocation, localDelayed *btcec.PublicKey) (*wire.MsgTx, error) {

	if !t.valid() {
		return nil, fmt.Errorf("%w: unknown commitment type %d", ErrInvalidParams, t)
	}
	if revocation == nil || localDelayed == nil {
		return nil, ErrMissingKey
	}
	if amount-fee <= 0 {
		return nil, fmt.Errorf("%w: htlc of %d sat cannot pay a fee of %d sat", ErrInvalidParams, amount, fee)
	}
	pk := P2WSH(ToLocalScript(revocation, localDelayed, toSelfDelay))
	return secondLevelTx(t, spend, amount-fee, pk, lockTime), nil
}

// RemoteSigHashType is the sighash type of the counterparty's signature of
// an HTLC transaction: SIGHASH_ALL, or with anchors
// SIGHASH_SINGLE|SIGHASH_ANYONECANPAY so that the owner can add inputs and
// outputs to pay the fee.
func (t CommitmentType) RemoteSigHashType() txscript.SigHashType {
	if t == Anchors {
		return txscript.SigHashSingle | txscript.SigHashAnyOneCanPay
	}
	return txscript.SigHashAll
}

// SignRemote signs h as the counterparty of the commitment's owner, with
// its HTLC key for this commitment (remote_htlcpubkey): the signatures
// sent in commitment_signed.
func (h *HTLCTx) SignRemote(key *btcec.PrivateKey) (*ecdsa.Signature, error) {
	return Sign(h.Tx, 0, h.WitnessScript, h.Amount, h.Type.RemoteSigHashType(), key)
}

// VerifyRemote checks the counterparty's signature of h against
// remote_htlcpubkey.
func (h *HTLCTx) VerifyRemote(sig *ecdsa.Signature, key *btcec.PublicKey) error {
	return Verify(h.Tx, 0, h.WitnessScript, h.Amount, h.Type.RemoteSigHashType(), sig, key)
}

// SignLocal signs h as the commitment's owner, with local_htlcprivkey.
func (h *HTLCTx) SignLocal(key *btcec.PrivateKey) (*ecdsa.Signature, error) {
	return Sign(h.Tx, 0, h.WitnessScript, h.Amount, txscript.SigHashAll, key)
}

// SetWitness completes h with both signatures, and for an HTLC-success
// transaction the payment preimage (ignored for HTLC-timeout).
func (h *HTLCTx) SetWitness(remoteSig, localSig *ecdsa.Signature, preimage [32]byte) {
	remote := WitnessSig(remoteSig, h.Type.RemoteSigHashType())
	local := WitnessSig(localSig, txscript.SigHashAll)
	if h.Timeout {
		h.Tx.TxIn[0].Witness = HTLCTimeoutWitness(remote, local, h.WitnessScript)
	} else {
		h.Tx.TxIn[0].Witness = HTLCSuccessWitness(remote, local, preimage, h.WitnessScript)
	}
}
