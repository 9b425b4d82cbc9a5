package channel

import (
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2"

	"github.com/flash-ln/flash/channel/keys"
	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/channel/shachain"
)

// initialState builds the state of commitment number 0 from cfg.
func initialState(cfg *Config) *state {
	spec := CommitmentSpec{FeePerKw: cfg.FeePerKw, LocalBalance: cfg.LocalBalance, RemoteBalance: cfg.RemoteBalance}
	return &state{
		Params:          cfg.Params,
		LocalCommit:     LocalCommitment{Spec: spec.clone()},
		RemoteCommit:    RemoteCommitment{Spec: spec.clone(), Point: cfg.RemoteFirstPoint},
		RemoteNextPoint: cfg.RemoteSecondPoint,
		RemoteSecrets:   shachain.NewStore(),
		Phase:           PhaseNormal,
	}
}

// SignInitialCommitment returns our signature of the peer's commitment 0,
// for funding_created or funding_signed. cfg.RemoteSig is not used.
func SignInitialCommitment(cfg Config) (lnwire.Sig, error) {
	if err := cfg.validate(); err != nil {
		return lnwire.Sig{}, fmt.Errorf("sign initial commitment: %w", err)
	}
	c := &Channel{keys: cfg.Keyring, st: initialState(&cfg), obscurer: cfg.Params.Obscurer()}
	sig, _, _, err := c.signRemoteCommitment(c.st, 0, cfg.RemoteFirstPoint, &c.st.RemoteCommit.Spec)
	if err != nil {
		return lnwire.Sig{}, fmt.Errorf("sign initial commitment: %w", err)
	}
	return sig, nil
}

// New creates a channel at commitment number 0 once the funding flow has
// exchanged the first signatures. It verifies the peer's signature of our
// commitment 0. The channel starts disconnected: call Connected when the
// peer is reachable.
func New(cfg Config) (*Channel, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("new channel: %w", err)
	}
	st := initialState(&cfg)
	c := &Channel{keys: cfg.Keyring, st: st, obscurer: cfg.Params.Obscurer()}
	_, _, txid, err := c.signRemoteCommitment(st, 0, cfg.RemoteFirstPoint, &st.RemoteCommit.Spec)
	if err != nil {
		return nil, fmt.Errorf("new channel: %w", err)
	}
	st.RemoteCommit.TxID = txid
	ck, err := c.localKeys(0, &st.LocalCommit.Spec)
	if err != nil {
		return nil, fmt.Errorf("new channel: %w", err)
	}
	cm, err := c.buildCommitment(st, true, 0, ck, &st.LocalCommit.Spec)
	if err != nil {
		return nil, fmt.Errorf("new channel: %w", err)
	}
	sig, err := parseRemoteSig(&cfg.RemoteSig)
	if err == nil {
		err = cm.VerifyCommitment(st.Params.Capacity, sig, st.Params.Remote.FundingKey)
	}
	if err != nil {
		return nil, fmt.Errorf("new channel: %w", protoErr(CodeInvalidSignature, "commitment 0: %v", err))
	}
	st.LocalCommit.Sig = cfg.RemoteSig
	st.LocalCommit.TxID = cm.Tx.TxHash()
	return c, nil
}

// Receive feeds a message from the peer to the machine. On error the
// channel is unchanged; the daemon answers with a BOLT 1 warning or error
// (see ProtocolError.FailChannel).
func (c *Channel) Receive(msg lnwire.Message) (Output, error) {
	return c.step(func(st *state, out *Output) error {
		if cid := messageChannelID(msg); cid != nil && *cid != st.Params.ChannelID() {
			return protoErr(CodeUnexpectedMessage, "message for channel %s", cid)
		}
		if st.Phase == PhaseClosed {
			return protoErr(CodeUnexpectedMessage, "%T on a closed channel", msg)
		}
		if m, ok := msg.(*lnwire.ChannelReestablish); ok {
			return st.receiveReestablish(c, m, out)
		}
		if !st.ready() {
			return protoErr(CodeUnexpectedMessage, "%T before channel_reestablish", msg)
		}
		if u, ok := updateFromMessage(msg); ok {
			return st.receiveUpdate(u, out)
		}
		switch m := msg.(type) {
		case *lnwire.CommitmentSigned:
			return st.receiveCommitmentSigned(c, m, out)
		case *lnwire.RevokeAndAck:
			return st.receiveRevokeAndAck(c, m, out)
		case *lnwire.Shutdown:
			return st.receiveShutdown(c, m, out)
		case *lnwire.ClosingSigned:
			return st.receiveClosingSigned(c, m, out)
		case *lnwire.ChannelReady:
			// Redundant after reconnection; BOLT 2 says to ignore it.
			return nil
		}
		return protoErr(CodeUnexpectedMessage, "%T is not a channel message", msg)
	})
}

func messageChannelID(msg lnwire.Message) *lnwire.ChannelID {
	switch m := msg.(type) {
	case *lnwire.UpdateAddHTLC:
		return &m.ChannelID
	case *lnwire.UpdateFulfillHTLC:
		return &m.ChannelID
	case *lnwire.UpdateFailHTLC:
		return &m.ChannelID
	case *lnwire.UpdateFailMalformedHTLC:
		return &m.ChannelID
	case *lnwire.UpdateFee:
		return &m.ChannelID
	case *lnwire.CommitmentSigned:
		return &m.ChannelID
	case *lnwire.RevokeAndAck:
		return &m.ChannelID
	case *lnwire.ChannelReestablish:
		return &m.ChannelID
	case *lnwire.Shutdown:
		return &m.ChannelID
	case *lnwire.ClosingSigned:
		return &m.ChannelID
	case *lnwire.ChannelReady:
		return &m.ChannelID
	}
	return nil
}

// ChannelReadyPoint is our per-commitment point for commitment 1, sent in
// channel_ready.
func (c *Channel) ChannelReadyPoint() (*btcec.PublicKey, error) {
	secret, err := c.keys.Secrets.ForCommitment(1)
	if err != nil {
		return nil, err
	}
	return keys.PerCommitmentPoint(secret), nil
}

// ReceiveChannelReady records the peer's point for its commitment 1.
func (c *Channel) ReceiveChannelReady(m *lnwire.ChannelReady) (Output, error) {
	return c.step(func(st *state, out *Output) error {
		if m.SecondPerCommitmentPoint == nil {
			return protoErr(CodeMalformed, "channel_ready without a point")
		}
		if st.RemoteNextPoint != nil {
			return nil
		}
		st.RemoteNextPoint = m.SecondPerCommitmentPoint
		out.Persist = true
		return nil
	})
}

// ID returns the channel_id.
func (c *Channel) ID() lnwire.ChannelID { return c.st.Params.ChannelID() }

// Params returns the static parameters.
func (c *Channel) Params() Params { return c.st.Params }

// Phase returns where the channel stands in its life.
func (c *Channel) Phase() Phase { return c.st.Phase }

// LocalCommitment returns a copy of our current commitment.
func (c *Channel) LocalCommitment() LocalCommitment {
	lc := c.st.LocalCommit
	lc.Spec = lc.Spec.clone()
	lc.HTLCSigs = append([]lnwire.Sig(nil), lc.HTLCSigs...)
	return lc
}

// RemoteCommitment returns a copy of the peer's current (unrevoked)
// commitment, and of the pending one we signed after it, if any.
func (c *Channel) RemoteCommitment() (RemoteCommitment, *RemoteCommitment) {
	rc := c.st.RemoteCommit
	rc.Spec = rc.Spec.clone()
	if c.st.RemoteNext == nil {
		return rc, nil
	}
	next := c.st.RemoteNext.RemoteCommitment
	next.Spec = next.Spec.clone()
	return rc, &next
}

// RemoteSecret returns the per-commitment secret the peer revealed for its
// commitment number n, to punish a broadcast of that revoked commitment.
func (c *Channel) RemoteSecret(n uint64) ([32]byte, error) {
	return c.st.RemoteSecrets.ForCommitment(n)
}

// HasPendingUpdates reports whether any update is not yet irrevocably
// committed on both sides.
func (c *Channel) HasPendingUpdates() bool {
	st := c.st
	return st.RemoteNext != nil ||
		len(st.LocalChanges.Proposed)+len(st.LocalChanges.Signed)+len(st.LocalChanges.Acked) > 0 ||
		len(st.RemoteChanges.Proposed)+len(st.RemoteChanges.Acked)+len(st.RemoteChanges.Signed) > 0
}

// LockedIncomingHTLCs returns the HTLCs the peer offered that are
// irrevocably committed and that we have not started to settle or fail. A
// driver restarting after a crash forwards or settles them again, since the
// IncomingHTLCLocked events it had not acted upon are gone.
func (c *Channel) LockedIncomingHTLCs() []HTLC {
	st := c.st
	var out []HTLC
	for _, h := range st.LocalCommit.Spec.HTLCs {
		if h.Incoming && st.RemoteCommit.Spec.find(true, h.ID) >= 0 && !removes(st.LocalChanges.all(), h.ID) {
			out = append(out, h)
		}
	}
	return out
}

// HTLCsPastDeadline lists the HTLCs that force the channel on chain at
// block height (BOLT 2 "cltv_expiry_delta Selection"): our outgoing HTLCs
// still in either current commitment once height reaches their expiry plus
// offeredGrace, and the incoming HTLCs we fulfilled but whose removal is not
// yet in both commitments once height reaches their expiry minus
// fulfillMargin. Deciding to go on chain is the caller's.
func (c *Channel) HTLCsPastDeadline(height, offeredGrace, fulfillMargin uint32) []HTLC {
	st := c.st
	var out []HTLC
	seen := map[uint64]bool{}
	for _, spec := range []*CommitmentSpec{&st.LocalCommit.Spec, &st.RemoteCommit.Spec} {
		for _, h := range spec.HTLCs {
			if h.Incoming || seen[h.ID] {
				continue
			}
			if uint64(height) >= uint64(h.CLTVExpiry)+uint64(offeredGrace) {
				seen[h.ID] = true
				out = append(out, h)
			}
		}
	}
	for _, list := range st.LocalChanges.all() {
		for _, u := range list {
			if u.Kind != UpdateFulfill {
				continue
			}
			i := st.LocalCommit.Spec.find(true, u.HTLCID)
			if i < 0 {
				i = st.RemoteCommit.Spec.find(true, u.HTLCID)
				if i < 0 {
					continue
				}
				h := st.RemoteCommit.Spec.HTLCs[i]
				if uint64(height)+uint64(fulfillMargin) >= uint64(h.CLTVExpiry) {
					out = append(out, h)
				}
				continue
			}
			h := st.LocalCommit.Spec.HTLCs[i]
			if uint64(height)+uint64(fulfillMargin) >= uint64(h.CLTVExpiry) {
				out = append(out, h)
			}
		}
	}
	return out
}
