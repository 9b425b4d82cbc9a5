package resolve

import (
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/flash-ln/flash/channel"
	"github.com/flash-ln/flash/channel/script"
)

// ResolutionKind says which output a Resolution claims and by which path.
type ResolutionKind uint8

// The kinds of resolutions.
const (
	// LocalToLocal is to_local of our commitment, after to_self_delay.
	LocalToLocal ResolutionKind = iota + 1
	// LocalHTLCTimeout is an HTLC we offered on our commitment, claimed
	// back by broadcasting its pre-signed HTLC-timeout transaction after
	// the HTLC's expiry.
	LocalHTLCTimeout
	// LocalHTLCSuccess is an HTLC we received on our commitment, claimed
	// by broadcasting its HTLC-success transaction with the preimage.
	LocalHTLCSuccess
	// LocalSecondLevel is the output of one of our confirmed HTLC-timeout
	// or HTLC-success transactions, after to_self_delay.
	LocalSecondLevel
	// RemoteToRemote is our output on the peer's commitment, paid to our
	// static payment basepoint and spendable at once.
	RemoteToRemote
	// RemoteHTLCTimeout is an HTLC we offered on the peer's commitment,
	// taken back directly after its expiry.
	RemoteHTLCTimeout
	// RemoteHTLCPreimage is an HTLC we received on the peer's
	// commitment, claimed directly with its preimage.
	RemoteHTLCPreimage
	// RevokedToLocal is the to_local output of a revoked commitment of
	// the peer, taken with the revocation key.
	RevokedToLocal
	// RevokedHTLC is an HTLC output of a revoked commitment of the peer,
	// taken with the revocation key.
	RevokedHTLC
	// RevokedSecondLevel is the output of an HTLC transaction the peer
	// confirmed from a revoked commitment, taken with the revocation key.
	RevokedSecondLevel
)

func (k ResolutionKind) String() string {
	switch k {
	case LocalToLocal:
		return "local_to_local"
	case LocalHTLCTimeout:
		return "local_htlc_timeout"
	case LocalHTLCSuccess:
		return "local_htlc_success"
	case LocalSecondLevel:
		return "local_second_level"
	case RemoteToRemote:
		return "remote_to_remote"
	case RemoteHTLCTimeout:
		return "remote_htlc_timeout"
	case RemoteHTLCPreimage:
		return "remote_htlc_preimage"
	case RevokedToLocal:
		return "revoked_to_local"
	case RevokedHTLC:
		return "revoked_htlc"
	case RevokedSecondLevel:
		return "revoked_second_level"
	}
	return fmt.Sprintf("ResolutionKind(%d)", uint8(k))
}

// SignFunc returns the witness of input idx of tx, which spends the
// resolution's output; hashes are the transaction's BIP 143 midstate.
type SignFunc func(tx *wire.MsgTx, idx int, hashes *txscript.TxSigHashes) (wire.TxWitness, error)

// Resolution is one output of a closed channel's transactions that we can
// claim, and how.
type Resolution struct {
	Kind     ResolutionKind
	OutPoint wire.OutPoint
	Value    btcutil.Amount
	// PkScript is the output's script; WitnessScript the script it
	// commits to, nil for a P2WPKH output.
	PkScript      []byte
	WitnessScript []byte

	// MaturityHeight is the height of the first block that can include
	// the transaction spending the output: the confirmation height plus
	// a relative delay, or an HTLC's expiry plus one.
	MaturityHeight int32
	// Sequence is the spending input's sequence number (a relative
	// delay where the script demands one); LockTime the least locktime
	// of the spending transaction (an HTLC's expiry, or zero).
	Sequence uint32
	LockTime uint32

	// HTLC is the channel's HTLC the output pays, for the HTLC kinds.
	HTLC *channel.HTLC

	// SecondLevel, for LocalHTLCTimeout and LocalHTLCSuccess, is the
	// fully signed HTLC transaction to broadcast at MaturityHeight. Its
	// fee was agreed with the peer and its output pays our delayed key;
	// such a resolution is not swept by SweepTx.
	SecondLevel *wire.MsgTx

	// Sign produces the input's witness; MaxWitnessSize bounds the
	// serialized size of that witness for fee estimation. Both are nil
	// or zero for a resolution with a SecondLevel transaction.
	Sign           SignFunc
	MaxWitnessSize int
}

// maxSigLen is the largest DER signature plus its sighash byte.
const maxSigLen = 73

// scriptCode is the script code a signature of the resolution's input
// commits to.
func (r *Resolution) scriptCode(pub *btcec.PublicKey) []byte {
	if r.WitnessScript != nil {
		return r.WitnessScript
	}
	return script.P2WPKHScriptCode(pub)
}

// setSigner makes r signable with key, its witness built by witness from
// the signature in witness form.
func (r *Resolution) setSigner(key *btcec.PrivateKey, witness func(sig []byte) wire.TxWitness) {
	code := r.scriptCode(key.PubKey())
	value := int64(r.Value)
	r.Sign = func(tx *wire.MsgTx, idx int, hashes *txscript.TxSigHashes) (wire.TxWitness, error) {
		sig, err := txscript.RawTxInWitnessSignature(tx, hashes, idx, value, code, txscript.SigHashAll, key)
		if err != nil {
			return nil, fmt.Errorf("sign %v input %d: %w", r.Kind, idx, err)
		}
		return witness(sig), nil
	}
	r.MaxWitnessSize = witness(make([]byte, maxSigLen)).SerializeSize()
}

// Mature reports whether the output can be spent in a block at height.
func (r *Resolution) Mature(height int32) bool { return height >= r.MaturityHeight }

// addHeight adds a relative delay to a confirmation height, saturating
// instead of overflowing on hostile heights.
func addHeight(h int32, delay uint32) int32 {
	s := int64(h) + int64(delay)
	if s > int64(^uint32(0)>>1) {
		return int32(^uint32(0) >> 1)
	}
	return int32(s)
}

// cltvMaturity is the first height at which a transaction with locktime
// expiry can be mined: a block-height locktime must be below the block's
// height.
func cltvMaturity(expiry uint32) int32 {
	if expiry >= 1<<31-1 {
		return 1<<31 - 1
	}
	return int32(expiry) + 1
}
