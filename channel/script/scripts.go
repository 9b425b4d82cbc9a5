package script

import (
	"bytes"
	"crypto/sha256"
	"errors"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/txscript"
	"golang.org/x/crypto/ripemd160" //nolint:staticcheck // BOLT 3 scripts use RIPEMD160
)

// ErrMissingKey is returned when a key needed by a script is nil.
var ErrMissingKey = errors.New("script: missing key")

// appendPush appends a minimal push of data (at most 75 bytes).
func appendPush(s, data []byte) []byte {
	s = append(s, byte(len(data)))
	return append(s, data...)
}

// appendInt appends v as a minimally encoded script number, as
// CHECKSEQUENCEVERIFY and CHECKLOCKTIMEVERIFY read it.
func appendInt(s []byte, v uint32) []byte {
	switch {
	case v == 0:
		return append(s, txscript.OP_0)
	case v <= 16:
		return append(s, txscript.OP_1+byte(v-1))
	}
	var num [5]byte
	n := 0
	for x := v; x > 0; x >>= 8 {
		num[n] = byte(x)
		n++
	}
	if num[n-1]&0x80 != 0 {
		// The top bit is the sign: keep the number positive.
		n++
	}
	return appendPush(s, num[:n])
}

func hash160(b []byte) []byte {
	h := sha256.Sum256(b)
	r := ripemd160.New()
	r.Write(h[:])
	return r.Sum(nil)
}

func ripemd(b []byte) []byte {
	r := ripemd160.New()
	r.Write(b)
	return r.Sum(nil)
}

// P2WSH returns the pay-to-witness-script-hash output script of a witness
// script.
func P2WSH(witnessScript []byte) []byte {
	h := sha256.Sum256(witnessScript)
	s := make([]byte, 0, 34)
	s = append(s, txscript.OP_0)
	return appendPush(s, h[:])
}

// P2WPKH returns the pay-to-witness-pubkey-hash output script of a key.
func P2WPKH(pub *btcec.PublicKey) []byte {
	s := make([]byte, 0, 22)
	s = append(s, txscript.OP_0)
	return appendPush(s, hash160(pub.SerializeCompressed()))
}

// P2WPKHScriptCode returns the script code that signs a spend of a P2WPKH
// output of pub (BIP 143): the P2PKH script of the key.
func P2WPKHScriptCode(pub *btcec.PublicKey) []byte {
	s := make([]byte, 0, 25)
	s = append(s, txscript.OP_DUP, txscript.OP_HASH160)
	s = appendPush(s, hash160(pub.SerializeCompressed()))
	return append(s, txscript.OP_EQUALVERIFY, txscript.OP_CHECKSIG)
}

// FundingScript returns the witness script of the funding output,
// 2 <pubkey1> <pubkey2> 2 OP_CHECKMULTISIG with the keys in lexicographic
// order of their compressed form, and its P2WSH output script.
func FundingScript(a, b *btcec.PublicKey) (witnessScript, pkScript []byte, err error) {
	if a == nil || b == nil {
		return nil, nil, ErrMissingKey
	}
	ka, kb := a.SerializeCompressed(), b.SerializeCompressed()
	if bytes.Compare(ka, kb) > 0 {
		ka, kb = kb, ka
	}
	s := make([]byte, 0, 71)
	s = append(s, txscript.OP_2)
	s = appendPush(s, ka)
	s = appendPush(s, kb)
	s = append(s, txscript.OP_2, txscript.OP_CHECKMULTISIG)
	return s, P2WSH(s), nil
}

// ToLocalScript returns the witness script of a to_local output, also the
// output script of HTLC-timeout and HTLC-success transactions:
//
//	OP_IF <revocationpubkey> OP_ELSE <to_self_delay> OP_CSV OP_DROP
//	<local_delayedpubkey> OP_ENDIF OP_CHECKSIG
func ToLocalScript(revocation, localDelayed *btcec.PublicKey, toSelfDelay uint16) []byte {
	s := make([]byte, 0, 79)
	s = append(s, txscript.OP_IF)
	s = appendPush(s, revocation.SerializeCompressed())
	s = append(s, txscript.OP_ELSE)
	s = appendInt(s, uint32(toSelfDelay))
	s = append(s, txscript.OP_CHECKSEQUENCEVERIFY, txscript.OP_DROP)
	s = appendPush(s, localDelayed.SerializeCompressed())
	return append(s, txscript.OP_ENDIF, txscript.OP_CHECKSIG)
}

// ToRemoteAnchorScript returns the witness script of the to_remote output
// of an anchors commitment: <remotepubkey> OP_CHECKSIGVERIFY 1 OP_CSV.
func ToRemoteAnchorScript(remote *btcec.PublicKey) []byte {
	s := make([]byte, 0, 37)
	s = appendPush(s, remote.SerializeCompressed())
	return append(s, txscript.OP_CHECKSIGVERIFY, txscript.OP_1, txscript.OP_CHECKSEQUENCEVERIFY)
}

// AnchorScript returns the witness script of an anchor output:
// <funding_pubkey> OP_CHECKSIG OP_IFDUP OP_NOTIF OP_16 OP_CSV OP_ENDIF.
// The funding key's owner can spend it at once to bump the commitment's
// fee; anyone can after 16 blocks, to clean up the UTXO set.
func AnchorScript(fundingKey *btcec.PublicKey) []byte {
	s := make([]byte, 0, 40)
	s = appendPush(s, fundingKey.SerializeCompressed())
	return append(s, txscript.OP_CHECKSIG, txscript.OP_IFDUP, txscript.OP_NOTIF,
		txscript.OP_16, txscript.OP_CHECKSEQUENCEVERIFY, txscript.OP_ENDIF)
}

// htlcScriptPrefix appends the revocation branch and the remote key shared
// by both HTLC scripts:
//
//	OP_DUP OP_HASH160 <RIPEMD160(SHA256(revocationpubkey))> OP_EQUAL
//	OP_IF OP_CHECKSIG OP_ELSE <remote_htlcpubkey> OP_SWAP OP_SIZE 32 OP_EQUAL
func htlcScriptPrefix(s, revocationHash []byte, remoteHTLC *btcec.PublicKey) []byte {
	s = append(s, txscript.OP_DUP, txscript.OP_HASH160)
	s = appendPush(s, revocationHash)
	s = append(s, txscript.OP_EQUAL, txscript.OP_IF, txscript.OP_CHECKSIG, txscript.OP_ELSE)
	s = appendPush(s, remoteHTLC.SerializeCompressed())
	s = append(s, txscript.OP_SWAP, txscript.OP_SIZE)
	s = appendInt(s, 32)
	return append(s, txscript.OP_EQUAL)
}

// htlcScriptSuffix closes both HTLC scripts; anchors add a one-block CSV to
// the non-revocation branches so that they cannot be spent in the mempool
// chain of an unconfirmed commitment (CPFP carve-out).
func htlcScriptSuffix(s []byte, anchors bool) []byte {
	if anchors {
		s = append(s, txscript.OP_1, txscript.OP_CHECKSEQUENCEVERIFY, txscript.OP_DROP)
	}
	return append(s, txscript.OP_ENDIF)
}

// OfferedHTLCScript returns the witness script of an HTLC output offered by
// the commitment's owner: the remote party takes it with the preimage or
// the revocation key; the owner takes it back through an HTLC-timeout
// transaction signed by both.
func OfferedHTLCScript(revocation, localHTLC, remoteHTLC *btcec.PublicKey, paymentHash [32]byte, anchors bool) []byte {
	return offeredHTLCScript(hash160(revocation.SerializeCompressed()), localHTLC, remoteHTLC, paymentHash, anchors)
}

func offeredHTLCScript(revocationHash []byte, localHTLC, remoteHTLC *btcec.PublicKey, paymentHash [32]byte, anchors bool) []byte {
	s := make([]byte, 0, 140)
	s = htlcScriptPrefix(s, revocationHash, remoteHTLC)
	s = append(s, txscript.OP_NOTIF, txscript.OP_DROP, txscript.OP_2, txscript.OP_SWAP)
	s = appendPush(s, localHTLC.SerializeCompressed())
	s = append(s, txscript.OP_2, txscript.OP_CHECKMULTISIG, txscript.OP_ELSE, txscript.OP_HASH160)
	s = appendPush(s, ripemd(paymentHash[:]))
	s = append(s, txscript.OP_EQUALVERIFY, txscript.OP_CHECKSIG, txscript.OP_ENDIF)
	return htlcScriptSuffix(s, anchors)
}

// ReceivedHTLCScript returns the witness script of an HTLC output received
// by the commitment's owner: the owner takes it with the preimage through
// an HTLC-success transaction signed by both; the remote party takes it
// back after cltvExpiry, or at once with the revocation key.
func ReceivedHTLCScript(revocation, localHTLC, remoteHTLC *btcec.PublicKey, paymentHash [32]byte, cltvExpiry uint32, anchors bool) []byte {
	return receivedHTLCScript(hash160(revocation.SerializeCompressed()), localHTLC, remoteHTLC, paymentHash, cltvExpiry, anchors)
}

func receivedHTLCScript(revocationHash []byte, localHTLC, remoteHTLC *btcec.PublicKey, paymentHash [32]byte, cltvExpiry uint32, anchors bool) []byte {
	s := make([]byte, 0, 146)
	s = htlcScriptPrefix(s, revocationHash, remoteHTLC)
	s = append(s, txscript.OP_IF, txscript.OP_HASH160)
	s = appendPush(s, ripemd(paymentHash[:]))
	s = append(s, txscript.OP_EQUALVERIFY, txscript.OP_2, txscript.OP_SWAP)
	s = appendPush(s, localHTLC.SerializeCompressed())
	s = append(s, txscript.OP_2, txscript.OP_CHECKMULTISIG, txscript.OP_ELSE, txscript.OP_DROP)
	s = appendInt(s, cltvExpiry)
	s = append(s, txscript.OP_CHECKLOCKTIMEVERIFY, txscript.OP_DROP, txscript.OP_CHECKSIG, txscript.OP_ENDIF)
	return htlcScriptSuffix(s, anchors)
}

// DustLimit returns the smallest amount standard relay policy accepts for
// an output with pkScript at the default minimum relay fee.
func DustLimit(pkScript []byte) btcutil.Amount {
	switch {
	case len(pkScript) == 22 && pkScript[0] == txscript.OP_0:
		return 294 // P2WPKH
	case len(pkScript) == 34 && (pkScript[0] == txscript.OP_0 || pkScript[0] == txscript.OP_1):
		return 330 // P2WSH, P2TR
	}
	return 546
}
