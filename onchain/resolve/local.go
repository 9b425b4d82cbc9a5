package resolve

import (
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/wire"

	"github.com/flash-ln/flash/channel"
	"github.com/flash-ln/flash/channel/keys"
	"github.com/flash-ln/flash/channel/script"
)

// localPlan resolves our own current commitment: to_local after the
// peer's to_self_delay, our offered HTLCs with their pre-signed
// HTLC-timeout transactions after expiry, and the HTLCs offered to us
// whose preimage we know with their HTLC-success transactions.
func localPlan(c Classification, view ChannelView, p *channel.Params, in *PlanInputs) (*Plan, error) {
	kr := in.Keyring
	if kr.Secrets == nil {
		return nil, errors.New("keyring has no commitment secrets")
	}
	lc := view.LocalCommitment()
	secret, err := kr.Secrets.ForCommitment(lc.Index)
	if err != nil {
		return nil, fmt.Errorf("our secret %d: %w", lc.Index, err)
	}
	ck := keys.DeriveOwnCommitmentKeys(secret, &p.Local.Basepoints, &p.Remote.Basepoints)
	cm, err := rebuild(p, true, lc.Index, ck, &lc.Spec, c.Tx)
	if err != nil {
		return nil, err
	}
	if len(cm.HTLCTxs) != len(lc.HTLCSigs) {
		return nil, fmt.Errorf("%d HTLC signatures stored for %d HTLC outputs", len(lc.HTLCSigs), len(cm.HTLCTxs))
	}
	delayedKey := keys.DerivePrivKey(kr.DelayedBaseSecret, ck.PerCommitmentPoint)
	htlcKey := keys.DerivePrivKey(kr.HTLCBaseSecret, ck.PerCommitmentPoint)
	if !delayedKey.PubKey().IsEqual(ck.LocalDelayed) || !htlcKey.PubKey().IsEqual(ck.LocalHTLC) {
		return nil, errors.New("keyring does not match the channel's basepoints")
	}
	delay := p.Remote.ToSelfDelay
	txid := c.TxID
	plan := &Plan{Close: c, second: &secondLevel{
		kind:          LocalSecondLevel,
		witnessScript: cm.ToLocalScript,
		key:           delayedKey,
		delay:         delay,
		spends:        make(map[wire.OutPoint]*channel.HTLC),
	}}

	for i, o := range cm.Outputs {
		if o.Kind != script.ToLocal {
			continue
		}
		r := Resolution{
			Kind:           LocalToLocal,
			OutPoint:       wire.OutPoint{Hash: txid, Index: uint32(i)},
			Value:          o.Amount,
			PkScript:       o.PkScript,
			WitnessScript:  o.WitnessScript,
			MaturityHeight: addHeight(in.ConfHeight, uint32(delay)),
			Sequence:       uint32(delay),
		}
		ws := o.WitnessScript
		r.setSigner(delayedKey, func(sig []byte) wire.TxWitness { return script.ToLocalDelayedWitness(sig, ws) })
		plan.Resolutions = append(plan.Resolutions, r)
	}

	for j, h := range cm.HTLCTxs {
		htlc := lc.Spec.HTLCs[h.HTLCIndex]
		outIdx := cm.HTLCOutputs[h.HTLCIndex]
		op := wire.OutPoint{Hash: txid, Index: uint32(outIdx)}
		r := Resolution{
			OutPoint:      op,
			Value:         h.Amount,
			PkScript:      cm.Outputs[outIdx].PkScript,
			WitnessScript: h.WitnessScript,
			HTLC:          &htlc,
		}
		var preimage [32]byte
		if h.Timeout {
			r.Kind = LocalHTLCTimeout
			r.LockTime = htlc.CLTVExpiry
			r.MaturityHeight = max(cltvMaturity(htlc.CLTVExpiry), in.ConfHeight)
		} else {
			pre, ok := in.preimage(htlc.PaymentHash)
			if !ok {
				plan.AwaitingPreimage = append(plan.AwaitingPreimage, htlc)
				continue
			}
			preimage = pre
			r.Kind = LocalHTLCSuccess
			r.MaturityHeight = in.ConfHeight
		}
		theirs, err := lc.HTLCSigs[j].ToECDSA()
		if err != nil {
			return nil, fmt.Errorf("stored HTLC signature %d: %w", j, err)
		}
		ours, err := h.SignLocal(htlcKey)
		if err != nil {
			return nil, fmt.Errorf("sign HTLC transaction %d: %w", j, err)
		}
		h.SetWitness(theirs, ours, preimage)
		if err := verifyInput(h.Tx, 0, r.PkScript, h.Amount); err != nil {
			return nil, fmt.Errorf("HTLC transaction %d: %w", j, err)
		}
		r.SecondLevel = h.Tx
		plan.second.spends[op] = &htlc
		plan.Resolutions = append(plan.Resolutions, r)
	}
	return plan, nil
}
