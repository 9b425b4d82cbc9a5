package resolve

import (
	"errors"

	"github.com/btcsuite/btcd/wire"

	"github.com/flash-ln/flash/channel"
	"github.com/flash-ln/flash/channel/keys"
	"github.com/flash-ln/flash/channel/script"
)

// remotePlan resolves the peer's current or pending commitment: our
// to_remote at once, the HTLCs we offered by the timeout path after their
// expiry, and those offered to us whose preimage we know by the preimage
// path, all spent directly from the commitment.
func remotePlan(c Classification, p *channel.Params, in *PlanInputs) (*Plan, error) {
	rc := c.Remote
	if rc == nil || rc.Point == nil {
		return nil, errors.New("peer commitment without its per-commitment point")
	}
	kr := in.Keyring
	ck := keys.DerivePeerCommitmentKeys(rc.Point, kr.RevocationBaseSecret, &p.Local.Basepoints, &p.Remote.Basepoints)
	cm, err := rebuild(p, false, rc.Index, ck, &rc.Spec, c.Tx)
	if err != nil {
		return nil, err
	}
	htlcKey := keys.DerivePrivKey(kr.HTLCBaseSecret, rc.Point)
	if !htlcKey.PubKey().IsEqual(ck.RemoteHTLC) {
		return nil, errors.New("keyring does not match the channel's HTLC basepoint")
	}
	plan := &Plan{Close: c}
	plan.Resolutions, err = toRemoteResolutions(c.Tx, p, in)
	if err != nil {
		return nil, err
	}
	for i, o := range cm.Outputs {
		if o.HTLCIndex < 0 {
			continue
		}
		htlc := rc.Spec.HTLCs[o.HTLCIndex]
		r := Resolution{
			OutPoint:      wire.OutPoint{Hash: c.TxID, Index: uint32(i)},
			Value:         o.Amount,
			PkScript:      o.PkScript,
			WitnessScript: o.WitnessScript,
			Sequence:      nonFinal,
			HTLC:          &htlc,
		}
		ws := o.WitnessScript
		switch o.Kind {
		case script.ReceivedHTLC:
			// The peer received it: we offered it, and take it back
			// once expired.
			r.Kind = RemoteHTLCTimeout
			r.LockTime = htlc.CLTVExpiry
			r.MaturityHeight = max(cltvMaturity(htlc.CLTVExpiry), in.ConfHeight)
			r.setSigner(htlcKey, func(sig []byte) wire.TxWitness { return script.ReceivedHTLCTimeoutWitness(sig, ws) })
		case script.OfferedHTLC:
			pre, ok := in.preimage(htlc.PaymentHash)
			if !ok {
				plan.AwaitingPreimage = append(plan.AwaitingPreimage, htlc)
				continue
			}
			r.Kind = RemoteHTLCPreimage
			r.MaturityHeight = in.ConfHeight
			r.setSigner(htlcKey, func(sig []byte) wire.TxWitness {
				return script.OfferedHTLCPreimageWitness(sig, pre, ws)
			})
		default:
			continue
		}
		plan.Resolutions = append(plan.Resolutions, r)
	}
	return plan, nil
}
