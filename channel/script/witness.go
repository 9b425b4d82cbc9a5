package script

import (
	"bytes"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/wire"
)

// Witnesses of every spending path of the BOLT 3 scripts. Signatures are
// in witness form (WitnessSig: DER plus the sighash byte); the witness
// script comes last, as P2WSH requires.

// FundingWitness spends the funding output: 0 <sig1> <sig2> <script>, each
// signature in the position of its key in the sorted script.
func FundingWitness(witnessScript []byte, keyA *btcec.PublicKey, sigA []byte, keyB *btcec.PublicKey, sigB []byte) wire.TxWitness {
	if bytes.Compare(keyA.SerializeCompressed(), keyB.SerializeCompressed()) > 0 {
		sigA, sigB = sigB, sigA
	}
	return wire.TxWitness{nil, sigA, sigB, witnessScript}
}

// ToLocalDelayedWitness spends a to_local output (or an HTLC transaction's
// output) by its owner after to_self_delay; the spending input's sequence
// must be at least to_self_delay.
func ToLocalDelayedWitness(delayedSig, witnessScript []byte) wire.TxWitness {
	return wire.TxWitness{delayedSig, nil, witnessScript}
}

// ToLocalRevokeWitness spends a revoked to_local output (or HTLC
// transaction output) with the revocation key.
func ToLocalRevokeWitness(revocationSig, witnessScript []byte) wire.TxWitness {
	return wire.TxWitness{revocationSig, {1}, witnessScript}
}

// ToRemoteWitness spends the P2WPKH to_remote output of StaticRemoteKey.
func ToRemoteWitness(sig []byte, key *btcec.PublicKey) wire.TxWitness {
	return wire.TxWitness{sig, key.SerializeCompressed()}
}

// ToRemoteAnchorWitness spends the to_remote output of an anchors
// commitment; the input's sequence must be at least 1.
func ToRemoteAnchorWitness(sig, witnessScript []byte) wire.TxWitness {
	return wire.TxWitness{sig, witnessScript}
}

// AnchorWitness spends an anchor output with its funding key.
func AnchorWitness(sig, witnessScript []byte) wire.TxWitness {
	return wire.TxWitness{sig, witnessScript}
}

// HTLCRevokeWitness spends a revoked HTLC output, offered or received,
// with the revocation key: <revocation_sig> <revocationpubkey>.
func HTLCRevokeWitness(revocationSig []byte, revocation *btcec.PublicKey, witnessScript []byte) wire.TxWitness {
	return wire.TxWitness{revocationSig, revocation.SerializeCompressed(), witnessScript}
}

// HTLCTimeoutWitness is the witness of an HTLC-timeout transaction:
// 0 <remotehtlcsig> <localhtlcsig> <> <script>.
func HTLCTimeoutWitness(remoteSig, localSig, witnessScript []byte) wire.TxWitness {
	return wire.TxWitness{nil, remoteSig, localSig, nil, witnessScript}
}

// HTLCSuccessWitness is the witness of an HTLC-success transaction:
// 0 <remotehtlcsig> <localhtlcsig> <payment_preimage> <script>.
func HTLCSuccessWitness(remoteSig, localSig []byte, preimage [32]byte, witnessScript []byte) wire.TxWitness {
	return wire.TxWitness{nil, remoteSig, localSig, append([]byte(nil), preimage[:]...), witnessScript}
}

// OfferedHTLCPreimageWitness lets the counterparty of the commitment's
// owner claim an offered HTLC output with the preimage:
// <remotehtlcsig> <payment_preimage>.
func OfferedHTLCPreimageWitness(remoteSig []byte, preimage [32]byte, witnessScript []byte) wire.TxWitness {
	return wire.TxWitness{remoteSig, append([]byte(nil), preimage[:]...), witnessScript}
}

// ReceivedHTLCTimeoutWitness lets the counterparty of the commitment's
// owner take back a received HTLC output after its expiry (the spending
// transaction's locktime must be at least cltv_expiry): <remotehtlcsig> <>.
func ReceivedHTLCTimeoutWitness(remoteSig, witnessScript []byte) wire.TxWitness {
	return wire.TxWitness{remoteSig, nil, witnessScript}
}
