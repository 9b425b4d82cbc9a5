package channel

import (
	"github.com/btcsuite/btcd/btcutil"

	"github.com/flash-ln/flash/channel/script"
)

// BOLT 2 bounds.
const (
	maxCLTVExpiry      = 500000000
	feeMinimumPerKw    = 253
	defaultMaxFeePerKw = 1_000_000
)

// commitmentType maps the channel type to its BOLT 3 commitment format.
func (p *Params) commitmentType() script.CommitmentType { return script.StaticRemoteKey }

// htlcTrimmed reports whether an HTLC has no output in the commitment of
// one side (localOwner: ours). The HTLC is offered from the owner's point
// of view when the owner added it.
func (p *Params) htlcTrimmed(h *HTLC, localOwner bool, feePerKw uint32, dust btcutil.Amount) bool {
	offered := h.Incoming != localOwner
	return p.commitmentType().IsTrimmed(offered, uint64(h.Amount), feePerKw, dust)
}

// commitFee is the base fee of a commitment transaction (BOLT 3), which
// depends on how many HTLC outputs survive trimming.
func (p *Params) commitFee(spec *CommitmentSpec, localOwner bool, dust btcutil.Amount) btcutil.Amount {
	n := 0
	for i := range spec.HTLCs {
		if !p.htlcTrimmed(&spec.HTLCs[i], localOwner, spec.FeePerKw, dust) {
			n++
		}
	}
	return p.commitmentType().FunderCost(spec.FeePerKw, n)
}
