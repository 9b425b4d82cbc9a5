package channel

import (
	"crypto/subtle"

	"github.com/flash-ln/flash/channel/keys"
	"github.com/flash-ln/flash/channel/lnwire"
)

// Disconnected tells the machine the transport went down. As BOLT 2
// requires, updates not yet covered by a commitment_signed are forgotten on
// both sides: the peer's, and ours, which are reported in a
// LocalUpdatesDropped event so that the driver can issue them again.
func (c *Channel) Disconnected() Output {
	var out Output
	st := c.st.clone()
	st.dropUncommitted(&out)
	c.st = st
	return out
}

func (st *state) dropUncommitted(out *Output) {
	st.Connected, st.SentReestablish, st.GotReestablish = false, false, false
	for _, u := range st.RemoteChanges.Proposed {
		if u.Kind == UpdateAdd {
			st.RemoteNextHTLCID--
		}
	}
	st.RemoteChanges.Proposed = nil
	if len(st.LocalChanges.Proposed) > 0 {
		for _, u := range st.LocalChanges.Proposed {
			if u.Kind == UpdateAdd {
				st.LocalNextHTLCID--
			}
		}
		out.emit(LocalUpdatesDropped{Updates: st.LocalChanges.Proposed})
		st.LocalChanges.Proposed = nil
	}
	// BOLT 2: closing fee negotiation restarts on reconnection.
	st.Close.resetNegotiation()
	if st.Phase == PhaseNegotiating {
		st.Phase = PhaseShutdown
	}
}

// Connected tells the machine the transport is up, and returns our
// channel_reestablish, which must be the first message for this channel.
func (c *Channel) Connected() (Output, error) {
	return c.step(func(st *state, out *Output) error {
		if st.Connected {
			return cmdErr(CodeUnexpectedMessage, "already connected")
		}
		st.Connected = true
		m, err := c.reestablishMessage(st)
		if err != nil {
			return err
		}
		st.SentReestablish = true
		out.send(m)
		return nil
	})
}

func (c *Channel) reestablishMessage(st *state) (*lnwire.ChannelReestablish, error) {
	m := &lnwire.ChannelReestablish{
		ChannelID:            st.Params.ChannelID(),
		NextCommitmentNumber: st.LocalCommit.Index + 1,
		NextRevocationNumber: st.RemoteCommit.Index,
	}
	if st.RemoteCommit.Index > 0 {
		secret, err := st.RemoteSecrets.ForCommitment(st.RemoteCommit.Index - 1)
		if err != nil {
			return nil, &ProtocolError{Code: CodeInternal, Detail: "last received secret: " + err.Error()}
		}
		m.YourLastPerCommitmentSecret = secret
	}
	secret, err := c.keys.Secrets.ForCommitment(st.LocalCommit.Index)
	if err != nil {
		return nil, &ProtocolError{Code: CodeInternal, Detail: "current secret: " + err.Error()}
	}
	m.MyCurrentPerCommitmentPoint = keys.PerCommitmentPoint(secret)
	return m, nil
}

// receiveReestablish compares the peer's view of both commitment chains with
// ours and retransmits what it missed: our last revoke_and_ack and our last
// commitment_signed (after the updates it covers, in the original order).
func (st *state) receiveReestablish(c *Channel, m *lnwire.ChannelReestablish, out *Output) error {
	if !st.Connected {
		return protoErr(CodeUnexpectedMessage, "channel_reestablish while disconnected")
	}
	if st.GotReestablish {
		return protoErr(CodeUnexpectedMessage, "second channel_reestablish")
	}
	if !st.SentReestablish {
		ours, err := c.reestablishMessage(st)
		if err != nil {
			return err
		}
		st.SentReestablish = true
		out.send(ours)
	}

	// Revocations: the peer expects the revocation of our commitment
	// NextRevocationNumber. We revoked up to LocalCommit.Index-1.
	local := st.LocalCommit.Index
	next := m.NextRevocationNumber
	resendRevocation := false
	switch {
	case next > local:
		// The peer holds revocations we do not remember sending. If it
		// proves it with our own secret, our state is old: our
		// commitment is revoked and must never be broadcast.
		ours, err := c.keys.Secrets.ForCommitment(next - 1)
		if err == nil && subtle.ConstantTimeCompare(ours[:], m.YourLastPerCommitmentSecret[:]) == 1 {
			return protoErr(CodeWeLostState, "peer expects revocation %d, our commitment is %d", next, local)
		}
		return protoErr(CodePeerLostState, "peer expects revocation %d without proof, our commitment is %d", next, local)
	case local > 0 && next == local-1:
		resendRevocation = true
	case next != local:
		return protoErr(CodePeerLostState, "peer expects revocation %d, our commitment is %d", next, local)
	}
	if next > 0 {
		ours, err := c.keys.Secrets.ForCommitment(next - 1)
		if err != nil || subtle.ConstantTimeCompare(ours[:], m.YourLastPerCommitmentSecret[:]) != 1 {
			return protoErr(CodePeerLostState, "your_last_per_commitment_secret does not match commitment %d", next-1)
		}
	}

	// Signatures: the peer expects commitment NextCommitmentNumber.
	remote := st.RemoteCommit.Index
	resendCommit := false
	switch {
	case st.RemoteNext != nil && m.NextCommitmentNumber == remote+1:
		resendCommit = true
	case st.RemoteNext != nil && m.NextCommitmentNumber == remote+2:
	case st.RemoteNext == nil && m.NextCommitmentNumber == remote+1:
	case m.NextCommitmentNumber > remote+1:
		// Only a correct your_last_per_commitment_secret proves we are
		// behind (checked above); a bare high commitment number proves
		// nothing, and trusting it would stop us from ever force closing.
		return protoErr(CodePeerLostState, "peer expects commitment %d without proof, we signed up to %d",
			m.NextCommitmentNumber, st.latestRemote().Index)
	default:
		return protoErr(CodePeerLostState, "peer expects commitment %d, we signed up to %d", m.NextCommitmentNumber, st.latestRemote().Index)
	}

	var rev lnwire.Message
	if resendRevocation {
		r, err := c.revocation(st, local-1)
		if err != nil {
			return err
		}
		rev = r
	}
	revFirst := resendRevocation && (!resendCommit || st.RemoteNext.SentAfterLocalIndex == local)
	if revFirst {
		out.send(rev)
	}
	if resendCommit {
		for i := range st.LocalChanges.Signed {
			out.send(st.updateMessage(&st.LocalChanges.Signed[i]))
		}
		out.send(st.commitSigMessage(st.RemoteNext))
	}
	if resendRevocation && !revFirst {
		out.send(rev)
	}
	st.GotReestablish = true
	if st.Close.LocalScript != nil {
		out.send(&lnwire.Shutdown{ChannelID: st.Params.ChannelID(), ScriptPubKey: st.Close.LocalScript})
	}
	st.maybeStartNegotiation(c, out)
	return nil
}
