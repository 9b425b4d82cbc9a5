package script

import "github.com/btcsuite/btcd/btcutil"

// CommitmentType is the format of a channel's commitment transactions.
type CommitmentType uint8

const (
	// StaticRemoteKey is option_static_remotekey without anchors: the
	// to_remote output is a P2WPKH of the counterparty's payment
	// basepoint and the HTLC transactions pay their own fee.
	StaticRemoteKey CommitmentType = iota

	// Anchors is option_anchors (with zero-fee HTLC transactions).
	Anchors
)

func (t CommitmentType) String() string {
	switch t {
	case StaticRemoteKey:
		return "static_remotekey"
	case Anchors:
		return "anchors"
	}
	return "unknown"
}

func (t CommitmentType) valid() bool { return t == StaticRemoteKey || t == Anchors }

// Expected weights of BOLT 3 Appendix A, and their option_anchors forms.
const (
	CommitmentBaseWeight        = 724
	CommitmentBaseWeightAnchors = 1124
	HTLCOutputWeight            = 172
	HTLCTimeoutWeight           = 663
	HTLCTimeoutWeightAnchors    = 666
	HTLCSuccessWeight           = 703
	HTLCSuccessWeightAnchors    = 706
)

// AnchorAmount is the value of each anchor output; the funder pays for two.
const AnchorAmount btcutil.Amount = 330

// FeeForWeight is feerate_per_kw times weight divided by 1000, rounded down,
// as BOLT 3 computes every fee.
func FeeForWeight(feePerKw uint32, weight int64) btcutil.Amount {
	return btcutil.Amount(int64(feePerKw) * weight / 1000)
}

// CommitmentWeight is the expected weight of a commitment transaction with
// numHTLCs untrimmed HTLC outputs.
func (t CommitmentType) CommitmentWeight(numHTLCs int) int64 {
	base := int64(CommitmentBaseWeight)
	if t == Anchors {
		base = CommitmentBaseWeightAnchors
	}
	return base + HTLCOutputWeight*int64(numHTLCs)
}

// CommitmentFee is the base fee of a commitment transaction with numHTLCs
// untrimmed HTLC outputs: what the funder pays, anchors not included.
func (t CommitmentType) CommitmentFee(feePerKw uint32, numHTLCs int) btcutil.Amount {
	return FeeForWeight(feePerKw, t.CommitmentWeight(numHTLCs))
}

// FunderCost is everything the funder's balance pays in a commitment with
// numHTLCs untrimmed HTLC outputs: the base fee, plus both anchors when
// the format has them.
func (t CommitmentType) FunderCost(feePerKw uint32, numHTLCs int) btcutil.Amount {
	cost := t.CommitmentFee(feePerKw, numHTLCs)
	if t == Anchors {
		cost += 2 * AnchorAmount
	}
	return cost
}

// HTLCTimeoutFee is the fee an HTLC-timeout transaction pays: zero with
// anchors, whose HTLC transactions are fee-bumped by added inputs.
func (t CommitmentType) HTLCTimeoutFee(feePerKw uint32) btcutil.Amount {
	if t == Anchors {
		return 0
	}
	return FeeForWeight(feePerKw, HTLCTimeoutWeight)
}

// HTLCSuccessFee is the fee an HTLC-success transaction pays.
func (t CommitmentType) HTLCSuccessFee(feePerKw uint32) btcutil.Amount {
	if t == Anchors {
		return 0
	}
	return FeeForWeight(feePerKw, HTLCSuccessWeight)
}

// IsTrimmed reports whether an HTLC of amountMsat gets no output in a
// commitment whose owner has dustLimit: when the amount, rounded down to
// satoshis, minus the fee of its second-stage transaction is below the
// dust limit. offered is from the point of view of the commitment's owner.
func (t CommitmentType) IsTrimmed(offered bool, amountMsat uint64, feePerKw uint32, dustLimit btcutil.Amount) bool {
	fee := t.HTLCSuccessFee(feePerKw)
	if offered {
		fee = t.HTLCTimeoutFee(feePerKw)
	}
	return htlcTrimmed(btcutil.Amount(amountMsat/1000), fee, dustLimit)
}

// htlcTrimmed is the BOLT 3 trimming rule, which also trims an HTLC whose
// second-stage output would be empty; only a dust limit of zero, which
// BOLT 2 forbids, makes that differ from the rule as written.
func htlcTrimmed(amount, secondStageFee, dustLimit btcutil.Amount) bool {
	return amount < dustLimit+secondStageFee || amount <= secondStageFee
}
