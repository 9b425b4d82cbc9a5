package script

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/wire"

	"github.com/flash-ln/flash/channel/keys"
)

// MaxCommitmentNumber is the largest commitment number: 2^48-1.
const MaxCommitmentNumber = 1<<48 - 1

var (
	// ErrInvalidParams is returned for parameters no commitment can be
	// built from.
	ErrInvalidParams = errors.New("script: invalid commitment parameters")

	// ErrAnchorsUnpaid is returned when an anchors commitment would pay
	// out more than the funding amount: the funder's balance, after the
	// fee, cannot pay for the two anchors. BOLT 2's reserve rules keep a
	// channel from getting there.
	ErrAnchorsUnpaid = errors.New("script: funder cannot pay for the anchor outputs")

	// ErrUnbalanced is returned when the balances and HTLCs do not add up
	// to the funding amount.
	ErrUnbalanced = errors.New("script: balances and HTLCs do not add up to the funding amount")
)

// HTLC is an HTLC committed to, seen from the commitment's owner.
type HTLC struct {
	// Offered is true when the commitment's owner offered the HTLC: its
	// output is an offered HTLC output, claimed back by an HTLC-timeout
	// transaction. False for an HTLC the owner received, claimed with an
	// HTLC-success transaction.
	Offered     bool
	AmountMsat  uint64
	PaymentHash [32]byte
	CLTVExpiry  uint32
}

// CommitmentParams is everything a commitment transaction depends on, from
// the point of view of its owner ("local").
type CommitmentParams struct {
	Type CommitmentType

	FundingOutpoint wire.OutPoint
	FundingAmount   btcutil.Amount
	// LocalFundingKey and RemoteFundingKey are the funding pubkeys of the
	// owner and of its counterparty.
	LocalFundingKey  *btcec.PublicKey
	RemoteFundingKey *btcec.PublicKey

	// Keys are the keys of this commitment (see package keys).
	Keys *keys.CommitmentKeys

	// CommitmentNumber is the 48-bit number of this commitment, and
	// Obscurer the channel's ObscuringFactor.
	CommitmentNumber uint64
	Obscurer         uint64

	// ToSelfDelay delays the owner's outputs; the counterparty chose it.
	ToSelfDelay uint16
	// DustLimit is the owner's dust_limit_satoshis.
	DustLimit btcutil.Amount
	FeePerKw  uint32
	// LocalIsFunder is true when the owner opened the channel and so pays
	// the fee (and the anchors).
	LocalIsFunder bool

	// LocalMsat and RemoteMsat are the balances before fees; with the
	// HTLCs they add up to the funding amount.
	LocalMsat  uint64
	RemoteMsat uint64
	HTLCs      []HTLC
}

// OutputKind says what an output of a commitment transaction is.
type OutputKind uint8

// The kinds of commitment outputs.
const (
	ToLocal OutputKind = iota + 1
	ToRemote
	OfferedHTLC
	ReceivedHTLC
	LocalAnchor
	RemoteAnchor
)

func (k OutputKind) String() string {
	switch k {
	case ToLocal:
		return "to_local"
	case ToRemote:
		return "to_remote"
	case OfferedHTLC:
		return "offered_htlc"
	case ReceivedHTLC:
		return "received_htlc"
	case LocalAnchor:
		return "to_local_anchor"
	case RemoteAnchor:
		return "to_remote_anchor"
	}
	return "unknown"
}

// Output describes one output of a commitment transaction.
type Output struct {
	Kind     OutputKind
	Amount   btcutil.Amount
	PkScript []byte
	// WitnessScript is the script of a P2WSH output; nil for the P2WPKH
	// to_remote output of StaticRemoteKey.
	WitnessScript []byte
	// HTLCIndex is the position in CommitmentParams.HTLCs of the HTLC
	// this output pays, -1 for other outputs.
	HTLCIndex int
	// cltv breaks ties between identical HTLC outputs.
	cltv uint32
}

// Commitment is a built commitment transaction.
type Commitment struct {
	// Tx is the unsigned commitment transaction: its single input spends
	// the funding output and has no witness yet (see FundingWitness).
	Tx *wire.MsgTx
	// FundingScript is the witness script of the funding output, which
	// signatures of Tx commit to.
	FundingScript []byte
	// Outputs[i] describes Tx.TxOut[i].
	Outputs []Output
	// HTLCOutputs[i] is the index in Tx.TxOut of CommitmentParams.HTLCs[i],
	// or -1 when that HTLC was trimmed.
	HTLCOutputs []int
	// HTLCTxs are the second-stage transactions of the untrimmed HTLCs, in
	// the order of the outputs they spend: the order of the
	// htlc_signature fields of commitment_signed.
	HTLCTxs []*HTLCTx
	// Fee is the fee the transaction actually pays: the funding amount
	// minus every output, trimmed amounts included.
	Fee btcutil.Amount
	// ToLocalScript is the to_local witness script, also the output script
	// of the HTLC transactions, present even when to_local is trimmed.
	ToLocalScript []byte
}

// ObscuringFactor returns the lower 48 bits of SHA256(opener's
// payment_basepoint || accepter's payment_basepoint), which hide the
// commitment number in the commitment transactions of the channel.
func ObscuringFactor(openerPaymentBasepoint, accepterPaymentBasepoint *btcec.PublicKey) uint64 {
	h := sha256.New()
	h.Write(openerPaymentBasepoint.SerializeCompressed())
	h.Write(accepterPaymentBasepoint.SerializeCompressed())
	var sum [32]byte
	h.Sum(sum[:0])
	return binary.BigEndian.Uint64(sum[24:]) & MaxCommitmentNumber
}

// commitmentLockTimeSequence returns the locktime and input sequence that
// carry an obscured commitment number.
func commitmentLockTimeSequence(obscured uint64) (lockTime, sequence uint32) {
	lockTime = 0x20<<24 | uint32(obscured&0xffffff)
	sequence = 0x80<<24 | uint32(obscured>>24&0xffffff)
	return lockTime, sequence
}

// CommitmentNumber recovers the commitment number of a commitment
// transaction of the channel with obscurer, and false when tx does not
// have the shape of a commitment transaction.
func CommitmentNumber(tx *wire.MsgTx, obscurer uint64) (uint64, bool) {
	if len(tx.TxIn) != 1 || tx.LockTime>>24 != 0x20 || tx.TxIn[0].Sequence>>24 != 0x80 {
		return 0, false
	}
	obscured := uint64(tx.TxIn[0].Sequence&0xffffff)<<24 | uint64(tx.LockTime&0xffffff)
	return obscured ^ (obscurer & MaxCommitmentNumber), true
}

// maxMsat bounds amounts so that sums cannot overflow: 21 million bitcoin.
const maxMsat = 21_000_000 * 100_000_000 * 1000

func (p *CommitmentParams) validate() error {
	switch {
	case !p.Type.valid():
		return fmt.Errorf("%w: unknown commitment type %d", ErrInvalidParams, p.Type)
	case p.Keys == nil || p.Keys.Revocation == nil || p.Keys.LocalDelayed == nil || p.Keys.ToRemote == nil:
		return fmt.Errorf("%w: incomplete commitment keys", ErrInvalidParams)
	case len(p.HTLCs) > 0 && (p.Keys.LocalHTLC == nil || p.Keys.RemoteHTLC == nil):
		// Only HTLC outputs use the HTLC keys, so a commitment without
		// HTLCs may leave them out.
		return fmt.Errorf("%w: HTLCs without HTLC keys", ErrInvalidParams)
	case p.LocalFundingKey == nil || p.RemoteFundingKey == nil:
		return fmt.Errorf("%w: missing funding key", ErrInvalidParams)
	case p.CommitmentNumber > MaxCommitmentNumber:
		return fmt.Errorf("%w: commitment number %d above 2^48-1", ErrInvalidParams, p.CommitmentNumber)
	case p.FundingAmount <= 0 || p.FundingAmount > btcutil.MaxSatoshi:
		return fmt.Errorf("%w: funding amount %d", ErrInvalidParams, p.FundingAmount)
	case p.DustLimit < 0:
		return fmt.Errorf("%w: negative dust limit", ErrInvalidParams)
	case p.LocalMsat > maxMsat || p.RemoteMsat > maxMsat:
		return fmt.Errorf("%w: balance above 21 million bitcoin", ErrInvalidParams)
	}
	total := p.LocalMsat + p.RemoteMsat
	for i := range p.HTLCs {
		if p.HTLCs[i].AmountMsat > maxMsat {
			return fmt.Errorf("%w: htlc %d amount above 21 million bitcoin", ErrInvalidParams, i)
		}
		total += p.HTLCs[i].AmountMsat
		if total > maxMsat {
			break
		}
	}
	if total != uint64(p.FundingAmount)*1000 {
		return fmt.Errorf("%w: %d msat committed, funding is %d sat", ErrUnbalanced, total, p.FundingAmount)
	}
	return nil
}

// CommitmentTx builds the commitment transaction described by p, following
// BOLT 3 "Commitment Transaction Construction": it trims the HTLCs too small
// to pay for their second-stage transaction, takes the base fee (and, with
// anchors, the two anchors) from the funder with a floor of zero, leaves
// out to_local and to_remote below the dust limit, and sorts the outputs
// in BIP 69 order, identical HTLC outputs by increasing cltv_expiry.
func CommitmentTx(p CommitmentParams) (*Commitment, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	anchors := p.Type == Anchors
	k := p.Keys

	timeoutFee := p.Type.HTLCTimeoutFee(p.FeePerKw)
	successFee := p.Type.HTLCSuccessFee(p.FeePerKw)

	toLocalScript := ToLocalScript(k.Revocation, k.LocalDelayed, p.ToSelfDelay)
	revocationHash := hash160(k.Revocation.SerializeCompressed())

	outputs := make([]Output, 0, len(p.HTLCs)+4)
	untrimmed := 0
	for i := range p.HTLCs {
		h := &p.HTLCs[i]
		amount := btcutil.Amount(h.AmountMsat / 1000)
		if h.Offered {
			if htlcTrimmed(amount, timeoutFee, p.DustLimit) {
				continue
			}
			ws := offeredHTLCScript(revocationHash, k.LocalHTLC, k.RemoteHTLC, h.PaymentHash, anchors)
			outputs = append(outputs, Output{Kind: OfferedHTLC, Amount: amount,
				PkScript: P2WSH(ws), WitnessScript: ws, HTLCIndex: i, cltv: h.CLTVExpiry})
		} else {
			if htlcTrimmed(amount, successFee, p.DustLimit) {
				continue
			}
			ws := receivedHTLCScript(revocationHash, k.LocalHTLC, k.RemoteHTLC, h.PaymentHash, h.CLTVExpiry, anchors)
			outputs = append(outputs, Output{Kind: ReceivedHTLC, Amount: amount,
				PkScript: P2WSH(ws), WitnessScript: ws, HTLCIndex: i, cltv: h.CLTVExpiry})
		}
		untrimmed++
	}

	toLocal := btcutil.Amount(p.LocalMsat / 1000)
	toRemote := btcutil.Amount(p.RemoteMsat / 1000)
	cost := p.Type.FunderCost(p.FeePerKw, untrimmed)
	funder := &toRemote
	if p.LocalIsFunder {
		funder = &toLocal
	}
	*funder -= cost
	if *funder < 0 {
		*funder = 0
	}

	haveLocal := toLocal >= p.DustLimit && toLocal > 0
	haveRemote := toRemote >= p.DustLimit && toRemote > 0
	if haveLocal {
		outputs = append(outputs, Output{Kind: ToLocal, Amount: toLocal,
			PkScript: P2WSH(toLocalScript), WitnessScript: toLocalScript, HTLCIndex: -1})
	}
	if haveRemote {
		o := Output{Kind: ToRemote, Amount: toRemote, HTLCIndex: -1}
		if anchors {
			o.WitnessScript = ToRemoteAnchorScript(k.ToRemote)
			o.PkScript = P2WSH(o.WitnessScript)
		} else {
			o.PkScript = P2WPKH(k.ToRemote)
		}
		outputs = append(outputs, o)
	}
	if anchors {
		// An anchor exists for a party that has something at stake in
		// the commitment: its own main output, or any HTLC.
		if haveLocal || untrimmed > 0 {
			ws := AnchorScript(p.LocalFundingKey)
			outputs = append(outputs, Output{Kind: LocalAnchor, Amount: AnchorAmount,
				PkScript: P2WSH(ws), WitnessScript: ws, HTLCIndex: -1})
		}
		if haveRemote || untrimmed > 0 {
			ws := AnchorScript(p.RemoteFundingKey)
			outputs = append(outputs, Output{Kind: RemoteAnchor, Amount: AnchorAmount,
				PkScript: P2WSH(ws), WitnessScript: ws, HTLCIndex: -1})
		}
	}

	sortOutputs(outputs)

	fundingScript, _, err := FundingScript(p.LocalFundingKey, p.RemoteFundingKey)
	if err != nil {
		return nil, err
	}
	lockTime, sequence := commitmentLockTimeSequence(p.CommitmentNumber ^ (p.Obscurer & MaxCommitmentNumber))
	tx := wire.NewMsgTx(2)
	tx.LockTime = lockTime
	tx.AddTxIn(&wire.TxIn{PreviousOutPoint: p.FundingOutpoint, Sequence: sequence})
	var paid btcutil.Amount
	for i := range outputs {
		tx.AddTxOut(wire.NewTxOut(int64(outputs[i].Amount), outputs[i].PkScript))
		paid += outputs[i].Amount
	}
	if paid > p.FundingAmount {
		return nil, fmt.Errorf("%w: outputs of %d sat from %d sat", ErrAnchorsUnpaid, paid, p.FundingAmount)
	}

	c := &Commitment{
		Tx:            tx,
		FundingScript: fundingScript,
		Outputs:       outputs,
		HTLCOutputs:   make([]int, len(p.HTLCs)),
		Fee:           p.FundingAmount - paid,
		ToLocalScript: toLocalScript,
	}
	for i := range c.HTLCOutputs {
		c.HTLCOutputs[i] = -1
	}

	txid := tx.TxHash()
	toLocalPkScript := P2WSH(toLocalScript)
	for i := range outputs {
		o := &outputs[i]
		if o.HTLCIndex < 0 {
			continue
		}
		c.HTLCOutputs[o.HTLCIndex] = i
		h := &p.HTLCs[o.HTLCIndex]
		htlcTx := &HTLCTx{
			Type:          p.Type,
			Timeout:       h.Offered,
			HTLCIndex:     o.HTLCIndex,
			WitnessScript: o.WitnessScript,
			Amount:        o.Amount,
			OutputScript:  toLocalScript,
		}
		fee := successFee
		lock := uint32(0)
		if h.Offered {
			fee = timeoutFee
			lock = h.CLTVExpiry
		}
		htlcTx.Tx = secondLevelTx(p.Type, wire.OutPoint{Hash: txid, Index: uint32(i)},
			o.Amount-fee, toLocalPkScript, lock)
		c.HTLCTxs = append(c.HTLCTxs, htlcTx)
	}
	return c, nil
}

// sortOutputs sorts outputs in BIP 69 order (amount, then output script),
// identical HTLC outputs by increasing cltv_expiry (the BOLT 3
// tie-breaker), and finally by HTLC position so the order is total.
func sortOutputs(outputs []Output) {
	sort.SliceStable(outputs, func(i, j int) bool {
		a, b := &outputs[i], &outputs[j]
		if a.Amount != b.Amount {
			return a.Amount < b.Amount
		}
		if c := bytes.Compare(a.PkScript, b.PkScript); c != 0 {
			return c < 0
		}
		if a.cltv != b.cltv {
			return a.cltv < b.cltv
		}
		return a.HTLCIndex < b.HTLCIndex
	})
}
