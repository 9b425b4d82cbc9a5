package channel

import (
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/flash-ln/flash/channel/keys"
	"github.com/flash-ln/flash/channel/lnwire"
)

// hasChangesToSign reports whether the peer's next commitment would differ
// from the last one we signed (BOLT 2 forbids an empty commitment_signed).
func (st *state) hasChangesToSign() bool {
	return len(st.LocalChanges.Proposed) > 0 || len(st.RemoteChanges.Acked) > 0
}

// NeedsSignature reports whether SignCommitment would send a
// commitment_signed now.
func (c *Channel) NeedsSignature() bool {
	return c.st.ready() && c.st.RemoteNext == nil && c.st.RemoteNextPoint != nil && c.st.hasChangesToSign()
}

// SignCommitment signs the peer's next commitment with every pending
// change and returns the commitment_signed to send. Only one signature may
// be outstanding: the next waits for the peer's revoke_and_ack.
func (c *Channel) SignCommitment() (Output, error) {
	return c.step(func(st *state, out *Output) error {
		switch {
		case !st.ready():
			return cmdErr(CodeDisconnected, "cannot sign")
		case st.RemoteNext != nil:
			return cmdErr(CodeAwaitingRevocation, "commitment %d not revoked yet", st.RemoteCommit.Index)
		case st.RemoteNextPoint == nil:
			return cmdErr(CodeUnexpectedMessage, "channel_ready not received yet")
		case !st.hasChangesToSign():
			return cmdErr(CodeNoChanges, "nothing to sign")
		}
		msg, err := c.signNextRemote(st)
		if err != nil {
			return err
		}
		out.Persist = true
		out.send(msg)
		if st.Close.RemoteScript != nil && st.Close.LocalScript == nil && len(st.closeScript()) > 0 {
			// The peer's shutdown waited for our updates to be signed.
			st.sendShutdown(st.closeScript(), out)
		}
		return nil
	})
}

// signNextRemote builds and signs the peer's next commitment and moves the
// update logs forward: our proposed updates and the peer's acked ones are
// now signed.
func (c *Channel) signNextRemote(st *state) (*lnwire.CommitmentSigned, error) {
	spec, err := reduce(&st.RemoteCommit.Spec, st.LocalChanges.Proposed, st.RemoteChanges.Acked)
	if err != nil {
		return nil, fmt.Errorf("sign commitment: %w", err)
	}
	index := st.RemoteCommit.Index + 1
	sig, htlcSigs, txid, err := c.signRemoteCommitment(st, index, st.RemoteNextPoint, &spec)
	if err != nil {
		return nil, err
	}
	st.RemoteNext = &PendingRemoteCommitment{
		RemoteCommitment: RemoteCommitment{
			Index: index, Spec: spec, TxID: txid, Point: st.RemoteNextPoint,
		},
		SentAfterLocalIndex: st.LocalCommit.Index,
		Sig:                 sig,
		HTLCSigs:            htlcSigs,
	}
	st.LocalChanges.Signed = append(st.LocalChanges.Signed, st.LocalChanges.Proposed...)
	st.LocalChanges.Proposed = nil
	st.RemoteChanges.Signed = append(st.RemoteChanges.Signed, st.RemoteChanges.Acked...)
	st.RemoteChanges.Acked = nil
	return st.commitSigMessage(st.RemoteNext), nil
}

func (st *state) commitSigMessage(p *PendingRemoteCommitment) *lnwire.CommitmentSigned {
	return &lnwire.CommitmentSigned{
		ChannelID:      st.Params.ChannelID(),
		Signature:      p.Sig,
		HTLCSignatures: append([]lnwire.Sig(nil), p.HTLCSigs...),
	}
}

// remoteKeys derives the keys of a peer commitment with spec. Our
// revocation secret turns the revocation key's variable-base multiplication
// into a fixed-base one.
func (c *Channel) remoteKeys(point *btcec.PublicKey, spec *CommitmentSpec) *keys.CommitmentKeys {
	return c.deriver().Peer(point, len(spec.HTLCs) > 0)
}

// localKeys derives the keys of our commitment number index, with spec,
// from our own per-commitment secret.
func (c *Channel) localKeys(index uint64, spec *CommitmentSpec) (*keys.CommitmentKeys, error) {
	secret, point, err := c.ownCommitmentPoint(index)
	if err != nil {
		return nil, err
	}
	return c.deriver().Own(secret, point, len(spec.HTLCs) > 0), nil
}

// signRemoteCommitment signs the peer's commitment index and each of its
// HTLC transactions.
func (c *Channel) signRemoteCommitment(st *state, index uint64, point *btcec.PublicKey,
	spec *CommitmentSpec) (lnwire.Sig, []lnwire.Sig, chainhash.Hash, error) {

	ck := c.remoteKeys(point, spec)
	cm, err := c.buildCommitment(st, false, index, ck, spec)
	if err != nil {
		return lnwire.Sig{}, nil, chainhash.Hash{}, err
	}
	sig, err := cm.SignCommitment(st.Params.Capacity, c.keys.FundingKey)
	if err != nil {
		return lnwire.Sig{}, nil, chainhash.Hash{}, &ProtocolError{Code: CodeInternal, Detail: err.Error()}
	}
	var htlcSigs []lnwire.Sig
	if len(cm.HTLCTxs) > 0 {
		htlcKey := keys.DerivePrivKeyFromBasepoint(c.keys.HTLCBaseSecret, st.Params.Local.Basepoints.HTLC, point)
		htlcSigs = make([]lnwire.Sig, len(cm.HTLCTxs))
		for i, h := range cm.HTLCTxs {
			s, err := h.SignRemote(htlcKey)
			if err != nil {
				return lnwire.Sig{}, nil, chainhash.Hash{}, &ProtocolError{Code: CodeInternal, Detail: err.Error()}
			}
			htlcSigs[i] = toWireSig(s)
		}
	}
	return toWireSig(sig), htlcSigs, cm.Tx.TxHash(), nil
}

// receiveCommitmentSigned handles the peer's signature of our next
// commitment: it verifies every signature, makes that commitment ours and
// revokes the previous one.
func (st *state) receiveCommitmentSigned(c *Channel, m *lnwire.CommitmentSigned, out *Output) error {
	if len(st.RemoteChanges.Proposed) == 0 && len(st.LocalChanges.Acked) == 0 {
		return protoErr(CodeNoChanges, "commitment_signed without changes")
	}
	spec, err := reduce(&st.LocalCommit.Spec, st.LocalChanges.Acked, st.RemoteChanges.Proposed)
	if err != nil {
		return err
	}
	index := st.LocalCommit.Index + 1
	ck, err := c.localKeys(index, &spec)
	if err != nil {
		return err
	}
	cm, err := c.buildCommitment(st, true, index, ck, &spec)
	if err != nil {
		return err
	}
	sig, err := parseRemoteSig(&m.Signature)
	if err == nil {
		err = c.verifyCommitmentSig(st, cm, sig)
	}
	if err != nil {
		return protoErr(CodeInvalidSignature, "commitment %d: %v", index, err)
	}
	if len(m.HTLCSignatures) != len(cm.HTLCTxs) {
		return protoErr(CodeWrongHTLCSigCount, "%d HTLC signatures for %d HTLC outputs", len(m.HTLCSignatures), len(cm.HTLCTxs))
	}
	for i, h := range cm.HTLCTxs {
		sig, err := parseRemoteSig(&m.HTLCSignatures[i])
		if err == nil {
			err = c.verifyHTLCSig(ck.PerCommitmentPoint, h, sig)
		}
		if err != nil {
			return protoErr(CodeInvalidSignature, "commitment %d, HTLC signature %d: %v", index, i, err)
		}
	}
	st.LocalCommit = LocalCommitment{
		Index: index, Spec: spec, TxID: cm.Tx.TxHash(),
		Sig: m.Signature, HTLCSigs: append([]lnwire.Sig(nil), m.HTLCSignatures...),
	}
	st.LocalChanges.Acked = nil
	st.RemoteChanges.Acked = append(st.RemoteChanges.Acked, st.RemoteChanges.Proposed...)
	st.RemoteChanges.Proposed = nil
	rev, err := c.revocation(st, index-1)
	if err != nil {
		return err
	}
	out.Persist = true
	out.send(rev)
	st.maybeStartNegotiation(c, out)
	return nil
}

// revocation builds the revoke_and_ack that revokes our commitment index.
func (c *Channel) revocation(st *state, index uint64) (*lnwire.RevokeAndAck, error) {
	secret, _, err := c.ownCommitmentPoint(index)
	if err != nil {
		return nil, err
	}
	_, next, err := c.ownCommitmentPoint(index + 2)
	if err != nil {
		return nil, err
	}
	return &lnwire.RevokeAndAck{
		ChannelID:              st.Params.ChannelID(),
		PerCommitmentSecret:    secret,
		NextPerCommitmentPoint: next,
	}, nil
}

// receiveRevokeAndAck handles the peer's revocation of its previous
// commitment: the pending commitment becomes its current one, and the
// updates it carried from the peer are irrevocably committed.
func (st *state) receiveRevokeAndAck(c *Channel, m *lnwire.RevokeAndAck, out *Output) error {
	if st.RemoteNext == nil {
		return protoErr(CodeUnexpectedMessage, "revoke_and_ack without an outstanding commitment_signed")
	}
	if m.NextPerCommitmentPoint == nil {
		return protoErr(CodeMalformed, "missing next_per_commitment_point")
	}
	if !keys.SecretMatchesPoint(m.PerCommitmentSecret, st.RemoteCommit.Point) {
		return protoErr(CodeBadRevocation, "secret does not match the point of commitment %d", st.RemoteCommit.Index)
	}
	if err := st.RemoteSecrets.Insert(shachainIndex(st.RemoteCommit.Index), m.PerCommitmentSecret); err != nil {
		return protoErr(CodeBadRevocation, "commitment %d: %v", st.RemoteCommit.Index, err)
	}
	revoked := st.RemoteCommit
	st.RemoteCommit = st.RemoteNext.RemoteCommitment
	st.RemoteNext = nil
	st.RemoteNextPoint = m.NextPerCommitmentPoint
	st.LocalChanges.Acked = append(st.LocalChanges.Acked, st.LocalChanges.Signed...)
	st.LocalChanges.Signed = nil
	for _, u := range st.RemoteChanges.Signed {
		switch u.Kind {
		case UpdateAdd:
			i := st.RemoteCommit.Spec.find(true, u.HTLCID)
			if i >= 0 {
				out.emit(IncomingHTLCLocked{HTLC: st.RemoteCommit.Spec.HTLCs[i]})
			}
		case UpdateFulfill:
			out.emit(OutgoingHTLCSettled{ID: u.HTLCID, Preimage: u.Preimage})
		case UpdateFail:
			out.emit(OutgoingHTLCFailed{ID: u.HTLCID, Reason: u.Reason})
		case UpdateFailMalformed:
			out.emit(OutgoingHTLCFailed{ID: u.HTLCID, Malformed: true, FailureCode: u.FailureCode, ShaOnion: u.ShaOnion})
		}
	}
	st.RemoteChanges.Signed = nil
	out.emit(RemoteCommitmentRevoked{Index: revoked.Index, TxID: revoked.TxID, Spec: revoked.Spec, Point: revoked.Point})
	out.Persist = true
	st.maybeStartNegotiation(c, out)
	return nil
}

// shachainIndex maps a commitment number to the BOLT 3 secret index, which
// counts down from 2^48-1.
func shachainIndex(commitment uint64) uint64 { return (1<<48 - 1) - commitment }
