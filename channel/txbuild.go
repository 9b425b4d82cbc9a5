package channel

import (
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2/ecdsa"

	"github.com/flash-ln/flash/channel/keys"
	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/channel/script"
)

// Obscurer is the factor hiding commitment numbers in this channel's
// commitment transactions: the funder's payment basepoint comes first.
func (p *Params) Obscurer() uint64 {
	if p.LocalFunder {
		return script.ObscuringFactor(p.Local.Basepoints.Payment, p.Remote.Basepoints.Payment)
	}
	return script.ObscuringFactor(p.Remote.Basepoints.Payment, p.Local.Basepoints.Payment)
}

// CommitmentParams describes commitment index of the channel for package
// script, from the point of view of its owner (localOwner: us), whose keys
// are ck. It is the one description of a commitment: whoever rebuilds one
// (for example to spend it on chain) gets the bytes this package signs.
func (p *Params) CommitmentParams(localOwner bool, index uint64, ck *keys.CommitmentKeys,
	spec *CommitmentSpec) (script.CommitmentParams, error) {

	if p.Type != ChannelTypeStaticRemoteKey {
		return script.CommitmentParams{}, fmt.Errorf("channel: unsupported channel type %d", p.Type)
	}
	return p.commitmentParams(localOwner, index, ck, spec, p.Obscurer()), nil
}

// commitmentParams is CommitmentParams with the obscuring factor given, so
// that a Channel can use the one it computed once.
func (p *Params) commitmentParams(localOwner bool, index uint64, ck *keys.CommitmentKeys,
	spec *CommitmentSpec, obscurer uint64) script.CommitmentParams {

	cp := script.CommitmentParams{
		Type:             p.commitmentType(),
		FundingOutpoint:  p.FundingOutpoint,
		FundingAmount:    p.Capacity,
		Keys:             ck,
		CommitmentNumber: index,
		Obscurer:         obscurer,
		FeePerKw:         spec.FeePerKw,
		HTLCs:            make([]script.HTLC, len(spec.HTLCs)),
	}
	if localOwner {
		cp.LocalFundingKey, cp.RemoteFundingKey = p.Local.FundingKey, p.Remote.FundingKey
		cp.ToSelfDelay = p.Remote.ToSelfDelay
		cp.DustLimit = p.Local.DustLimit
		cp.LocalIsFunder = p.LocalFunder
		cp.LocalMsat, cp.RemoteMsat = uint64(spec.LocalBalance), uint64(spec.RemoteBalance)
	} else {
		cp.LocalFundingKey, cp.RemoteFundingKey = p.Remote.FundingKey, p.Local.FundingKey
		cp.ToSelfDelay = p.Local.ToSelfDelay
		cp.DustLimit = p.Remote.DustLimit
		cp.LocalIsFunder = !p.LocalFunder
		cp.LocalMsat, cp.RemoteMsat = uint64(spec.RemoteBalance), uint64(spec.LocalBalance)
	}
	for i := range spec.HTLCs {
		h := &spec.HTLCs[i]
		cp.HTLCs[i] = script.HTLC{
			// The owner offered the HTLC when it flows away from it.
			Offered:     h.Incoming != localOwner,
			AmountMsat:  uint64(h.Amount),
			PaymentHash: h.PaymentHash,
			CLTVExpiry:  h.CLTVExpiry,
		}
	}
	return cp
}

// buildCommitment builds the unsigned commitment transaction of one side.
func (c *Channel) buildCommitment(st *state, localOwner bool, index uint64, ck *keys.CommitmentKeys,
	spec *CommitmentSpec) (*script.Commitment, error) {

	cm, err := script.CommitmentTx(st.Params.commitmentParams(localOwner, index, ck, spec, c.obscurer))
	if err != nil {
		return nil, &ProtocolError{Code: CodeInternal, Detail: "build commitment: " + err.Error()}
	}
	return cm, nil
}

// toWireSig converts a signature we made; ours are never out of range.
func toWireSig(sig *ecdsa.Signature) lnwire.Sig {
	var out lnwire.Sig
	r, s := sig.R(), sig.S()
	r.PutBytesUnchecked(out[:32])
	s.PutBytesUnchecked(out[32:])
	return out
}

// parseRemoteSig converts a peer's wire signature, enforcing the low-S rule
// BOLT 2 requires of every signature.
func parseRemoteSig(s *lnwire.Sig) (*ecdsa.Signature, error) {
	sig, err := s.ToECDSA()
	if err != nil {
		return nil, err
	}
	if v := sig.S(); v.IsOverHalfOrder() {
		return nil, errHighS
	}
	return sig, nil
}

var errHighS = errors.New("signature s is not low")
