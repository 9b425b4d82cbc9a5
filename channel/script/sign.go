package script

import (
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/ecdsa"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
)

// ErrBadSignature is returned by Verify for a signature that does not
// sign the transaction with the given key.
var ErrBadSignature = errors.New("script: invalid signature")

// WitnessSigHash returns the BIP 143 digest of input idx of tx, which spends an
// output worth amount whose script code is scriptCode (the witness script
// of a P2WSH output, P2WPKHScriptCode for a P2WPKH output).
func WitnessSigHash(tx *wire.MsgTx, idx int, scriptCode []byte, amount btcutil.Amount, hashType txscript.SigHashType) ([]byte, error) {
	if idx < 0 || idx >= len(tx.TxIn) {
		return nil, fmt.Errorf("script: input %d of a transaction with %d inputs", idx, len(tx.TxIn))
	}
	// Only the BIP 143 midstate is used; the fetcher serves the taproot
	// check, which a P2WSH script never passes.
	fetcher := txscript.NewCannedPrevOutputFetcher(P2WSH(scriptCode), int64(amount))
	hashes := txscript.NewTxSigHashes(tx, fetcher)
	return txscript.CalcWitnessSigHash(scriptCode, hashes, hashType, tx, idx, int64(amount))
}

// Sign returns the deterministic (RFC 6979) ECDSA signature of input idx
// of tx, which spends an output worth amount with script code scriptCode,
// under hashType.
func Sign(tx *wire.MsgTx, idx int, scriptCode []byte, amount btcutil.Amount, hashType txscript.SigHashType,
	key *btcec.PrivateKey) (*ecdsa.Signature, error) {

	if key == nil {
		return nil, ErrMissingKey
	}
	h, err := WitnessSigHash(tx, idx, scriptCode, amount, hashType)
	if err != nil {
		return nil, fmt.Errorf("sign input %d: %w", idx, err)
	}
	return ecdsa.Sign(key, h), nil
}

// Verify checks that sig signs input idx of tx under hashType with key.
func Verify(tx *wire.MsgTx, idx int, scriptCode []byte, amount btcutil.Amount, hashType txscript.SigHashType,
	sig *ecdsa.Signature, key *btcec.PublicKey) error {

	if sig == nil || key == nil {
		return ErrBadSignature
	}
	h, err := WitnessSigHash(tx, idx, scriptCode, amount, hashType)
	if err != nil {
		return fmt.Errorf("verify input %d: %w", idx, err)
	}
	if !sig.Verify(h, key) {
		return ErrBadSignature
	}
	return nil
}

// WitnessSig returns a signature as a witness carries it: DER followed by
// the sighash type byte.
func WitnessSig(sig *ecdsa.Signature, hashType txscript.SigHashType) []byte {
	return append(sig.Serialize(), byte(hashType))
}

// SignCommitment signs the commitment transaction c with a funding key.
func (c *Commitment) SignCommitment(fundingAmount btcutil.Amount, key *btcec.PrivateKey) (*ecdsa.Signature, error) {
	return Sign(c.Tx, 0, c.FundingScript, fundingAmount, txscript.SigHashAll, key)
}

// VerifyCommitment checks a funding-key signature of c.
func (c *Commitment) VerifyCommitment(fundingAmount btcutil.Amount, sig *ecdsa.Signature, key *btcec.PublicKey) error {
	return Verify(c.Tx, 0, c.FundingScript, fundingAmount, txscript.SigHashAll, sig, key)
}

// SetFundingWitness completes c with the two funding signatures; keys and
// signatures may come in either order.
func (c *Commitment) SetFundingWitness(keyA *btcec.PublicKey, sigA *ecdsa.Signature, keyB *btcec.PublicKey, sigB *ecdsa.Signature) {
	c.Tx.TxIn[0].Witness = FundingWitness(c.FundingScript,
		keyA, WitnessSig(sigA, txscript.SigHashAll), keyB, WitnessSig(sigB, txscript.SigHashAll))
}

// signHash signs a digest with SIGHASH_ALL and returns it in witness form.
func signHash(key *btcec.PrivateKey, hash []byte) []byte {
	return WitnessSig(ecdsa.Sign(key, hash), txscript.SigHashAll)
}
