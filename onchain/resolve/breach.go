package resolve

import (
	"errors"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/wire"

	"github.com/flash-ln/flash/channel"
	"github.com/flash-ln/flash/channel/keys"
	"github.com/flash-ln/flash/channel/script"
)

// breachPlan resolves a revoked commitment of the peer: every to_local
// and HTLC output through the revocation key, and our to_remote, all
// spendable at once. Outputs are recognised by their scripts rather than
// by rebuilding the whole transaction, so that a breach is punished even
// when the recorded content of the revoked commitment is incomplete.
func breachPlan(c Classification, p *channel.Params, in *PlanInputs) (*Plan, error) {
	kr := in.Keyring
	point := keys.PerCommitmentPoint(c.Secret)
	ck := keys.DerivePeerCommitmentKeys(point, kr.RevocationBaseSecret, &p.Local.Basepoints, &p.Remote.Basepoints)
	revKey := keys.RevocationPrivKey(kr.RevocationBaseSecret, c.Secret)
	if !revKey.PubKey().IsEqual(ck.Revocation) {
		return nil, errors.New("revocation basepoint secret does not match the channel")
	}
	revPub := ck.Revocation
	toLocal := script.ToLocalScript(ck.Revocation, ck.LocalDelayed, p.Local.ToSelfDelay)

	type candidate struct {
		kind ResolutionKind
		ws   []byte
		htlc *channel.HTLC
	}
	candidates := map[string]candidate{
		string(script.P2WSH(toLocal)): {kind: RevokedToLocal, ws: toLocal},
	}
	if in.RevokedSpec != nil {
		if spec, ok := in.RevokedSpec(c.CommitmentNumber); ok && spec != nil {
			for i := range spec.HTLCs {
				h := spec.HTLCs[i]
				var ws []byte
				// The peer offered the HTLCs that come in to us.
				if h.Incoming {
					ws = script.OfferedHTLCScript(ck.Revocation, ck.LocalHTLC, ck.RemoteHTLC, h.PaymentHash, false)
				} else {
					ws = script.ReceivedHTLCScript(ck.Revocation, ck.LocalHTLC, ck.RemoteHTLC, h.PaymentHash, h.CLTVExpiry, false)
				}
				candidates[string(script.P2WSH(ws))] = candidate{kind: RevokedHTLC, ws: ws, htlc: &h}
			}
		}
	}

	toRemote, err := toRemoteResolutions(c.Tx, p, in)
	if err != nil {
		return nil, err
	}
	ours := make(map[uint32]bool, len(toRemote))
	for _, r := range toRemote {
		ours[r.OutPoint.Index] = true
	}
	plan := &Plan{Close: c, second: &secondLevel{
		kind:          RevokedSecondLevel,
		witnessScript: toLocal,
		key:           revKey,
		spends:        make(map[wire.OutPoint]*channel.HTLC),
	}}
	for i, o := range c.Tx.TxOut {
		op := wire.OutPoint{Hash: c.TxID, Index: uint32(i)}
		cand, ok := candidates[string(o.PkScript)]
		if !ok || o.Value <= 0 {
			if !ours[uint32(i)] {
				plan.Unrecognised = append(plan.Unrecognised, op)
			}
			continue
		}
		r := Resolution{
			Kind:           cand.kind,
			OutPoint:       op,
			Value:          btcutil.Amount(o.Value),
			PkScript:       o.PkScript,
			WitnessScript:  cand.ws,
			MaturityHeight: in.ConfHeight,
			Sequence:       nonFinal,
			HTLC:           cand.htlc,
		}
		ws := cand.ws
		if cand.kind == RevokedToLocal {
			r.setSigner(revKey, func(sig []byte) wire.TxWitness { return script.ToLocalRevokeWitness(sig, ws) })
		} else {
			r.setSigner(revKey, func(sig []byte) wire.TxWitness { return script.HTLCRevokeWitness(sig, revPub, ws) })
			plan.second.spends[op] = cand.htlc
		}
		plan.Resolutions = append(plan.Resolutions, r)
	}
	plan.Resolutions = append(plan.Resolutions, toRemote...)
	return plan, nil
}
