package channel

import (
	"crypto/sha256"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil"

	"github.com/flash-ln/flash/channel/lnwire"
)

// step runs f on a copy of the state and keeps the copy only if f succeeds:
// this is what makes every rejected input leave the channel untouched.
func (c *Channel) step(f func(st *state, out *Output) error) (Output, error) {
	st := c.st.clone()
	var out Output
	if err := f(st, &out); err != nil {
		return Output{}, err
	}
	c.st = st
	return out, nil
}

// ready reports whether normal operation may proceed: connected and past
// the channel_reestablish exchange.
func (s *state) ready() bool {
	return s.Connected && s.SentReestablish && s.GotReestablish
}

// AddHTLC is the local command to offer an HTLC to the peer.
type AddHTLC struct {
	Amount      lnwire.MilliSatoshi
	PaymentHash [32]byte
	CLTVExpiry  uint32
	Onion       [lnwire.OnionPacketSize]byte
	PathKey     *btcec.PublicKey
}

// AddHTLC offers an HTLC and returns its id and the update_add_htlc to send.
// It refuses an HTLC that would break a limit of either side's commitment.
func (c *Channel) AddHTLC(a AddHTLC) (uint64, Output, error) {
	var id uint64
	out, err := c.step(func(st *state, out *Output) error {
		if !st.ready() {
			return cmdErr(CodeDisconnected, "cannot add an HTLC")
		}
		if st.Phase != PhaseNormal || st.Close.LocalScript != nil {
			return cmdErr(CodeChannelClosing, "no new HTLC after shutdown")
		}
		id = st.LocalNextHTLCID
		u := Update{Kind: UpdateAdd, HTLCID: id, Amount: a.Amount, PaymentHash: a.PaymentHash,
			CLTVExpiry: a.CLTVExpiry, Onion: append([]byte(nil), a.Onion[:]...), PathKey: a.PathKey}
		if err := st.checkLocalAdd(&u); err != nil {
			return asCommandError(err)
		}
		st.LocalChanges.Proposed = append(st.LocalChanges.Proposed, u)
		st.LocalNextHTLCID++
		out.send(st.updateMessage(&u))
		return nil
	})
	return id, out, err
}

// checkAddFields checks an add on its own. An amount above the channel
// capacity can never be funded; refusing it here also keeps every later
// sum of amounts far from overflowing.
func checkAddFields(u *Update, minimum lnwire.MilliSatoshi, capacity btcutil.Amount) error {
	switch {
	case u.Amount == 0:
		return limitErr(LimitZeroAmount, "HTLC %d has amount 0", u.HTLCID)
	case u.Amount > lnwire.NewMSatFromSatoshis(uint64(capacity)):
		return limitErr(LimitInsufficientBalance, "HTLC %d of %v exceeds the capacity %v", u.HTLCID, u.Amount, capacity)
	case u.Amount < minimum:
		return limitErr(LimitHTLCMinimum, "HTLC %d of %v is below the minimum %v", u.HTLCID, u.Amount, minimum)
	case u.CLTVExpiry >= maxCLTVExpiry:
		return limitErr(LimitCLTVExpiry, "HTLC %d expiry %d is a timestamp", u.HTLCID, u.CLTVExpiry)
	case len(u.Onion) != lnwire.OnionPacketSize:
		return protoErr(CodeMalformed, "onion of %d bytes", len(u.Onion))
	}
	return nil
}

// checkLocalAdd checks an HTLC we offer against the peer's next commitment,
// which is where the peer will check it, and, when we pay the fee, against
// ours too.
func (st *state) checkLocalAdd(u *Update) error {
	p := &st.Params
	if err := checkAddFields(u, p.Remote.HTLCMinimum, p.Capacity); err != nil {
		return err
	}
	added := []Update{*u}
	spec, err := reduceLists(&st.latestRemote().Spec, [][]Update{st.LocalChanges.Proposed, added},
		[][]Update{st.RemoteChanges.Acked})
	if err != nil {
		return err
	}
	n, sum := spec.inFlight(false)
	if n > int(p.Remote.MaxAcceptedHTLCs) {
		return limitErr(LimitMaxAcceptedHTLCs, "%d HTLCs offered, peer accepts %d", n, p.Remote.MaxAcceptedHTLCs)
	}
	if sum > p.Remote.MaxHTLCValueInFlight {
		return limitErr(LimitMaxHTLCValueInFlight, "%v in flight, peer accepts %v", sum, p.Remote.MaxHTLCValueInFlight)
	}
	var fee lnwire.MilliSatoshi
	if p.LocalFunder {
		fee = lnwire.NewMSatFromSatoshis(uint64(p.commitFee(&spec, false, p.Remote.DustLimit)))
	}
	reserve := lnwire.NewMSatFromSatoshis(uint64(p.Remote.ChannelReserve))
	if spec.LocalBalance < fee+reserve {
		return limitErr(LimitChannelReserve, "balance %v after fee %v is below reserve %v", spec.LocalBalance, fee, reserve)
	}
	if p.LocalFunder {
		// Our own next commitment also carries the HTLC and we pay its fee.
		ours, err := reduceLists(&st.LocalCommit.Spec,
			[][]Update{st.LocalChanges.Acked, st.LocalChanges.Signed, st.LocalChanges.Proposed, added},
			[][]Update{st.RemoteChanges.Acked, st.RemoteChanges.Proposed})
		if err != nil {
			return err
		}
		fee := lnwire.NewMSatFromSatoshis(uint64(p.commitFee(&ours, true, p.Local.DustLimit)))
		if ours.LocalBalance < fee+reserve {
			return limitErr(LimitChannelReserve, "balance %v after fee %v on our commitment is below reserve %v",
				ours.LocalBalance, fee, reserve)
		}
	}
	return nil
}

// checkRemoteAdd checks an HTLC offered by the peer against our next
// commitment (BOLT 2 "A receiving node").
func (st *state) checkRemoteAdd(u *Update) error {
	p := &st.Params
	if err := checkAddFields(u, p.Local.HTLCMinimum, p.Capacity); err != nil {
		return err
	}
	spec, err := reduceLists(&st.LocalCommit.Spec, [][]Update{st.LocalChanges.Acked},
		[][]Update{st.RemoteChanges.Proposed, {*u}})
	if err != nil {
		return err
	}
	n, sum := spec.inFlight(true)
	if n > int(p.Local.MaxAcceptedHTLCs) {
		return limitErr(LimitMaxAcceptedHTLCs, "%d HTLCs offered, we accept %d", n, p.Local.MaxAcceptedHTLCs)
	}
	if sum > p.Local.MaxHTLCValueInFlight {
		return limitErr(LimitMaxHTLCValueInFlight, "%v in flight, we accept %v", sum, p.Local.MaxHTLCValueInFlight)
	}
	var fee lnwire.MilliSatoshi
	if !p.LocalFunder {
		fee = lnwire.NewMSatFromSatoshis(uint64(p.commitFee(&spec, true, p.Local.DustLimit)))
	}
	reserve := lnwire.NewMSatFromSatoshis(uint64(p.Local.ChannelReserve))
	if spec.RemoteBalance < fee+reserve {
		return limitErr(LimitChannelReserve, "peer balance %v after fee %v is below reserve %v", spec.RemoteBalance, fee, reserve)
	}
	return nil
}

// FulfillHTLC settles an HTLC the peer offered us.
func (c *Channel) FulfillHTLC(id uint64, preimage [32]byte) (Output, error) {
	return c.localRemoval(Update{Kind: UpdateFulfill, HTLCID: id, Preimage: preimage})
}

// FailHTLC fails an HTLC the peer offered us, with an onion-encrypted
// reason.
func (c *Channel) FailHTLC(id uint64, reason []byte) (Output, error) {
	return c.localRemoval(Update{Kind: UpdateFail, HTLCID: id, Reason: append([]byte(nil), reason...)})
}

// FailMalformedHTLC fails an HTLC whose onion we could not parse.
func (c *Channel) FailMalformedHTLC(id uint64, failureCode uint16, shaOnion [32]byte) (Output, error) {
	return c.localRemoval(Update{Kind: UpdateFailMalformed, HTLCID: id, FailureCode: failureCode, ShaOnion: shaOnion})
}

func (c *Channel) localRemoval(u Update) (Output, error) {
	return c.step(func(st *state, out *Output) error {
		if !st.ready() {
			return cmdErr(CodeDisconnected, "cannot remove HTLC %d", u.HTLCID)
		}
		if err := st.checkRemoval(&u, true); err != nil {
			return asCommandError(err)
		}
		st.LocalChanges.Proposed = append(st.LocalChanges.Proposed, u)
		out.send(st.updateMessage(&u))
		return nil
	})
}

// checkRemoval checks that a removal names an HTLC irrevocably committed
// (present in both sides' current commitments) and not already removed.
// local is true for our removals, which settle incoming HTLCs.
func (st *state) checkRemoval(u *Update, local bool) error {
	incoming := local
	i := st.LocalCommit.Spec.find(incoming, u.HTLCID)
	if i < 0 || st.RemoteCommit.Spec.find(incoming, u.HTLCID) < 0 {
		return protoErr(CodeBadHTLCID, "%s: HTLC %d is not committed on both sides", u.Kind, u.HTLCID)
	}
	var lists [][]Update
	if local {
		lists = st.LocalChanges.all()
	} else {
		lists = st.RemoteChanges.all()
	}
	if removes(lists, u.HTLCID) {
		return protoErr(CodeBadHTLCID, "%s: HTLC %d is already removed", u.Kind, u.HTLCID)
	}
	switch u.Kind {
	case UpdateFulfill:
		if sha256.Sum256(u.Preimage[:]) != st.LocalCommit.Spec.HTLCs[i].PaymentHash {
			return protoErr(CodeBadPreimage, "preimage does not match HTLC %d", u.HTLCID)
		}
	case UpdateFailMalformed:
		if u.FailureCode&lnwire.FailureCodeBadOnion == 0 {
			return protoErr(CodeMalformed, "failure code %#x of HTLC %d lacks BADONION", u.FailureCode, u.HTLCID)
		}
	}
	return nil
}

// UpdateFee proposes a new commitment fee rate. Only the funder may.
func (c *Channel) UpdateFee(feePerKw uint32) (Output, error) {
	return c.step(func(st *state, out *Output) error {
		if !st.ready() {
			return cmdErr(CodeDisconnected, "cannot update the fee")
		}
		if !st.Params.LocalFunder {
			return cmdErr(CodeBadFeeRate, "only the funder sends update_fee")
		}
		if st.Phase == PhaseNegotiating || st.Phase == PhaseClosed {
			return cmdErr(CodeChannelClosing, "no update_fee during closing negotiation")
		}
		u := Update{Kind: UpdateFee, FeePerKw: feePerKw}
		if err := st.checkFee(&u, true); err != nil {
			return asCommandError(err)
		}
		st.LocalChanges.Proposed = append(st.LocalChanges.Proposed, u)
		out.send(st.updateMessage(&u))
		return nil
	})
}

// checkFee checks that the funder can pay a new rate on the receiver's next
// commitment while keeping its reserve.
func (st *state) checkFee(u *Update, local bool) error {
	p := &st.Params
	maxFee := p.MaxFeePerKw
	if maxFee == 0 {
		maxFee = defaultMaxFeePerKw
	}
	minFee := max(p.MinFeePerKw, feeMinimumPerKw)
	if u.FeePerKw < minFee || u.FeePerKw > maxFee {
		return protoErr(CodeBadFeeRate, "fee rate %d outside [%d, %d]", u.FeePerKw, minFee, maxFee)
	}
	var spec CommitmentSpec
	var err error
	if local {
		spec, err = reduceLists(&st.latestRemote().Spec, [][]Update{st.LocalChanges.Proposed, {*u}},
			[][]Update{st.RemoteChanges.Acked})
	} else {
		spec, err = reduceLists(&st.LocalCommit.Spec, [][]Update{st.LocalChanges.Acked},
			[][]Update{st.RemoteChanges.Proposed, {*u}})
	}
	if err != nil {
		return err
	}
	// The funder's balance in the receiver's commitment.
	balance, dust, reserve := spec.RemoteBalance, p.Local.DustLimit, p.Local.ChannelReserve
	if local {
		balance, dust, reserve = spec.LocalBalance, p.Remote.DustLimit, p.Remote.ChannelReserve
	}
	fee := lnwire.NewMSatFromSatoshis(uint64(p.commitFee(&spec, !local, dust)))
	need := fee + lnwire.NewMSatFromSatoshis(uint64(reserve))
	if balance < need {
		return &ProtocolError{Code: CodeFeeUnaffordable, Detail: "funder balance " + balance.String() +
			" cannot pay fee " + fee.String() + " and keep its reserve"}
	}
	return nil
}

// updateMessage converts a log entry to its wire message.
func (st *state) updateMessage(u *Update) lnwire.Message {
	cid := st.Params.ChannelID()
	switch u.Kind {
	case UpdateAdd:
		m := &lnwire.UpdateAddHTLC{ChannelID: cid, ID: u.HTLCID, AmountMsat: u.Amount,
			PaymentHash: u.PaymentHash, CltvExpiry: u.CLTVExpiry, PathKey: u.PathKey}
		copy(m.OnionRoutingPacket[:], u.Onion)
		return m
	case UpdateFulfill:
		return &lnwire.UpdateFulfillHTLC{ChannelID: cid, ID: u.HTLCID, PaymentPreimage: u.Preimage}
	case UpdateFail:
		return &lnwire.UpdateFailHTLC{ChannelID: cid, ID: u.HTLCID, Reason: u.Reason}
	case UpdateFailMalformed:
		return &lnwire.UpdateFailMalformedHTLC{ChannelID: cid, ID: u.HTLCID,
			SHA256OfOnion: u.ShaOnion, FailureCode: u.FailureCode}
	default:
		return &lnwire.UpdateFee{ChannelID: cid, FeeratePerKw: u.FeePerKw}
	}
}

// receiveUpdate handles any update_* message from the peer.
func (st *state) receiveUpdate(u Update, out *Output) error {
	if st.Phase == PhaseNegotiating || st.Phase == PhaseClosed {
		return protoErr(CodeUnexpectedMessage, "%s during closing negotiation", u.Kind)
	}
	switch u.Kind {
	case UpdateAdd:
		if st.Close.RemoteScript != nil {
			return protoErr(CodeUnexpectedMessage, "update_add_htlc after the peer's shutdown")
		}
		if u.HTLCID != st.RemoteNextHTLCID {
			return protoErr(CodeBadHTLCID, "HTLC id %d, expected %d", u.HTLCID, st.RemoteNextHTLCID)
		}
		if err := st.checkRemoteAdd(&u); err != nil {
			return err
		}
		st.RemoteNextHTLCID++
	case UpdateFee:
		if st.Params.LocalFunder {
			return protoErr(CodeBadFeeRate, "update_fee from the non-funder")
		}
		if err := st.checkFee(&u, false); err != nil {
			return err
		}
	default:
		if err := st.checkRemoval(&u, false); err != nil {
			return err
		}
		if u.Kind == UpdateFulfill {
			out.emit(OutgoingHTLCPreimage{ID: u.HTLCID, Preimage: u.Preimage})
		}
	}
	st.RemoteChanges.Proposed = append(st.RemoteChanges.Proposed, u)
	return nil
}

// updateFromMessage converts an update_* message to a log entry; ok is false
// for any other message.
func updateFromMessage(m lnwire.Message) (Update, bool) {
	switch m := m.(type) {
	case *lnwire.UpdateAddHTLC:
		return Update{Kind: UpdateAdd, HTLCID: m.ID, Amount: m.AmountMsat, PaymentHash: m.PaymentHash,
			CLTVExpiry: m.CltvExpiry, Onion: append([]byte(nil), m.OnionRoutingPacket[:]...), PathKey: m.PathKey}, true
	case *lnwire.UpdateFulfillHTLC:
		return Update{Kind: UpdateFulfill, HTLCID: m.ID, Preimage: m.PaymentPreimage}, true
	case *lnwire.UpdateFailHTLC:
		return Update{Kind: UpdateFail, HTLCID: m.ID, Reason: append([]byte(nil), m.Reason...)}, true
	case *lnwire.UpdateFailMalformedHTLC:
		return Update{Kind: UpdateFailMalformed, HTLCID: m.ID, FailureCode: m.FailureCode, ShaOnion: m.SHA256OfOnion}, true
	case *lnwire.UpdateFee:
		return Update{Kind: UpdateFee, FeePerKw: m.FeeratePerKw}, true
	}
	return Update{}, false
}
