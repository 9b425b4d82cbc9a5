package channel

import (
	"bytes"
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2/ecdsa"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/channel/script"
)

// closeState is the cooperative close: the two shutdown scripts, and the
// closing_signed negotiation, which restarts on every reconnection.
type closeState struct {
	LocalScript  []byte
	RemoteScript []byte

	HaveSent    bool
	LastSentFee btcutil.Amount
	HaveRecv    bool
	LastRecvFee btcutil.Amount

	// FinalTx is the signed closing transaction once negotiation is over,
	// kept so that a restart can broadcast it again.
	FinalTx *wire.MsgTx
}

// clone shares the scripts and the final transaction, which are never
// modified once set.
func (c closeState) clone() closeState { return c }

func (c *closeState) resetNegotiation() {
	c.HaveSent, c.LastSentFee, c.HaveRecv, c.LastRecvFee = false, 0, false, 0
}

// validShutdownScript accepts the scriptpubkey forms of BOLT 2 shutdown:
// P2WPKH, P2WSH, and witness programs v1 to v16 (option_shutdown_anysegwit).
func validShutdownScript(s []byte) bool {
	switch {
	case len(s) == 22 && s[0] == txscript.OP_0 && s[1] == 20:
		return true
	case len(s) == 34 && s[0] == txscript.OP_0 && s[1] == 32:
		return true
	case len(s) >= 4 && len(s) <= 42 && s[0] >= txscript.OP_1 && s[0] <= txscript.OP_16 && int(s[1]) == len(s)-2 && s[1] >= 2:
		return true
	}
	return false
}

// InitiateShutdown starts a cooperative close paying our balance to
// pkScript (nil: Params.CloseScript), or answers the peer's shutdown.
// Pending updates must be signed first (BOLT 2 forbids shutdown while the
// peer's commitment lacks our updates).
func (c *Channel) InitiateShutdown(pkScript []byte) (Output, error) {
	return c.step(func(st *state, out *Output) error {
		if pkScript == nil {
			pkScript = st.closeScript()
		}
		switch {
		case !st.ready():
			return cmdErr(CodeDisconnected, "cannot shut down")
		case st.Close.LocalScript != nil:
			return cmdErr(CodeBadShutdown, "shutdown already sent")
		case len(st.LocalChanges.Proposed) > 0:
			return cmdErr(CodeBadShutdown, "sign pending updates before shutdown")
		}
		if err := st.checkShutdownScript(pkScript, st.Params.Local.UpfrontShutdownScript); err != nil {
			return asCommandError(err)
		}
		st.sendShutdown(pkScript, out)
		st.maybeStartNegotiation(c, out)
		return nil
	})
}

func (st *state) checkShutdownScript(s, upfront []byte) error {
	if !validShutdownScript(s) {
		return protoErr(CodeBadShutdown, "scriptpubkey %x is not a segwit program", s)
	}
	if len(upfront) > 0 && !bytes.Equal(s, upfront) {
		return protoErr(CodeBadShutdown, "scriptpubkey differs from upfront_shutdown_script")
	}
	return nil
}

func (st *state) sendShutdown(s []byte, out *Output) {
	st.Close.LocalScript = append([]byte(nil), s...)
	if st.Phase == PhaseNormal {
		st.Phase = PhaseShutdown
	}
	out.Persist = true
	out.send(&lnwire.Shutdown{ChannelID: st.Params.ChannelID(), ScriptPubKey: st.Close.LocalScript})
	if st.Close.RemoteScript != nil {
		out.emit(ShutdownStarted{})
	}
}

// closeScript is the script we close to when the peer starts the close.
func (st *state) closeScript() []byte {
	if len(st.Params.Local.UpfrontShutdownScript) > 0 {
		return st.Params.Local.UpfrontShutdownScript
	}
	return st.Params.CloseScript
}

func (st *state) receiveShutdown(c *Channel, m *lnwire.Shutdown, out *Output) error {
	if st.Close.RemoteScript != nil {
		if bytes.Equal(st.Close.RemoteScript, m.ScriptPubKey) {
			return nil // retransmitted after a reconnection
		}
		return protoErr(CodeBadShutdown, "second shutdown with a different script")
	}
	if err := st.checkShutdownScript(m.ScriptPubKey, st.Params.Remote.UpfrontShutdownScript); err != nil {
		return err
	}
	st.Close.RemoteScript = append([]byte(nil), m.ScriptPubKey...)
	if st.Phase == PhaseNormal {
		st.Phase = PhaseShutdown
	}
	out.Persist = true
	if st.Close.LocalScript == nil {
		// Without a configured close script the driver replies with
		// InitiateShutdown; with pending updates, SignCommitment
		// replies once they are signed.
		if len(st.LocalChanges.Proposed) == 0 && len(st.closeScript()) > 0 {
			st.sendShutdown(st.closeScript(), out)
		}
	} else {
		out.emit(ShutdownStarted{})
	}
	st.maybeStartNegotiation(c, out)
	return nil
}

// settled reports whether both commitments are free of HTLCs and no update
// or revocation is pending: the condition to negotiate the closing fee.
func (st *state) settled() bool {
	return len(st.LocalCommit.Spec.HTLCs) == 0 && len(st.RemoteCommit.Spec.HTLCs) == 0 &&
		st.RemoteNext == nil &&
		len(st.LocalChanges.Proposed)+len(st.LocalChanges.Signed)+len(st.LocalChanges.Acked) == 0 &&
		len(st.RemoteChanges.Proposed)+len(st.RemoteChanges.Acked)+len(st.RemoteChanges.Signed) == 0
}

// maybeStartNegotiation enters closing negotiation once shutdown is
// complete and the channel is settled; the funder speaks first.
func (st *state) maybeStartNegotiation(c *Channel, out *Output) {
	if st.Phase != PhaseShutdown || st.Close.LocalScript == nil || st.Close.RemoteScript == nil ||
		!st.ready() || !st.settled() {
		return
	}
	st.Phase = PhaseNegotiating
	out.Persist = true
	if st.Params.LocalFunder && !st.Close.HaveSent {
		lo, hi := st.closingFeeRange()
		fee := min(max(st.closingBaseFee(), lo), hi)
		if m, err := c.signClosing(st, fee); err == nil {
			st.Close.HaveSent, st.Close.LastSentFee = true, fee
			m.FeeRange = &lnwire.FeeRange{MinFeeSatoshis: uint64(lo), MaxFeeSatoshis: uint64(hi)}
			out.send(m)
		}
	}
}

// funderBalance is the funder's final balance in whole satoshis.
func (st *state) funderBalance() btcutil.Amount {
	if st.Params.LocalFunder {
		return btcutil.Amount(st.LocalCommit.Spec.LocalBalance / 1000)
	}
	return btcutil.Amount(st.LocalCommit.Spec.RemoteBalance / 1000)
}

// closingBaseFee is the fee of the closing transaction at the final
// commitment's fee rate.
func (st *state) closingBaseFee() btcutil.Amount {
	tx, err := st.closingTx(0, false, st.Params.Local.DustLimit)
	if err != nil {
		return 0
	}
	// Witness: item count, two signatures, an empty item and the 2-of-2
	// script, plus the segwit marker and flag.
	const witnessWeight = 2 + 1 + 2*(1+73) + 1 + 1 + 71
	weight := int64(tx.SerializeSizeStripped())*4 + witnessWeight
	return script.FeeForWeight(st.LocalCommit.Spec.FeePerKw, weight)
}

// closingFeeRange is the fee_range we offer: the funder will not pay more
// than the final commitment's own fee, the other side accepts anything the
// funder can pay.
func (st *state) closingFeeRange() (btcutil.Amount, btcutil.Amount) {
	base := st.closingBaseFee()
	lo := base / 2
	hi := st.funderBalance()
	if st.Params.LocalFunder {
		hi = min(hi, max(base, st.Params.commitFee(&st.LocalCommit.Spec, true, st.Params.Local.DustLimit)))
	}
	if lo > hi {
		lo = hi
	}
	return lo, hi
}

// closingTx builds the closing transaction at a fee. BOLT 3 has each
// signer drop the outputs below its own dust limit (and, if it likes, its
// own output), so the variant depends on who signs: dust is the signer's
// limit, omitRemote drops the peer's output, which only the peer may do.
// Our own output is never omitted: nothing here may build a transaction
// that gives our balance away.
func (st *state) closingTx(fee btcutil.Amount, omitRemote bool, dust btcutil.Amount) (*wire.MsgTx, error) {
	spec := &st.LocalCommit.Spec
	return script.ClosingTx(script.ClosingParams{
		FundingOutpoint: st.Params.FundingOutpoint,
		LocalScript:     st.Close.LocalScript,
		RemoteScript:    st.Close.RemoteScript,
		LocalMsat:       uint64(spec.LocalBalance),
		RemoteMsat:      uint64(spec.RemoteBalance),
		Fee:             fee,
		LocalIsFunder:   st.Params.LocalFunder,
		DustLimit:       dust,
		OmitRemote:      omitRemote,
	})
}

// checkClosingPaysUs is the last guard before we sign a closing
// transaction: it must pay our shutdown script at least our balance, less
// the fee when we are the funder, unless that amount is below the dust
// limit the transaction was built with (BOLT 3 trims it then).
func (st *state) checkClosingPaysUs(tx *wire.MsgTx, fee, dust btcutil.Amount) error {
	ours := btcutil.Amount(st.LocalCommit.Spec.LocalBalance / 1000)
	if st.Params.LocalFunder {
		ours -= fee
	}
	if ours <= 0 || ours < dust {
		return nil
	}
	var paid btcutil.Amount
	for _, o := range tx.TxOut {
		if bytes.Equal(o.PkScript, st.Close.LocalScript) {
			paid += btcutil.Amount(o.Value)
		}
	}
	if paid < ours {
		return fmt.Errorf("closing transaction pays us %d, our balance is %d", paid, ours)
	}
	return nil
}

// signClosing proposes a fee: our variant of the closing transaction.
func (c *Channel) signClosing(st *state, fee btcutil.Amount) (*lnwire.ClosingSigned, error) {
	tx, err := st.closingTx(fee, false, st.Params.Local.DustLimit)
	if err != nil {
		return nil, err
	}
	sig, err := c.signClosingTx(st, tx)
	if err != nil {
		return nil, err
	}
	return &lnwire.ClosingSigned{ChannelID: st.Params.ChannelID(), FeeSatoshis: uint64(fee), Signature: toWireSig(sig)}, nil
}

func (c *Channel) signClosingTx(st *state, tx *wire.MsgTx) (*ecdsa.Signature, error) {
	ws, _, err := script.FundingScript(st.Params.Local.FundingKey, st.Params.Remote.FundingKey)
	if err != nil {
		return nil, err
	}
	return script.Sign(tx, 0, ws, st.Params.Capacity, txscript.SigHashAll, c.keys.FundingKey)
}

func (st *state) receiveClosingSigned(c *Channel, m *lnwire.ClosingSigned, out *Output) error {
	if st.Phase != PhaseNegotiating {
		return protoErr(CodeUnexpectedMessage, "closing_signed before shutdown completed")
	}
	if m.FeeSatoshis > uint64(st.funderBalance()) {
		return protoErr(CodeBadClosingFee, "fee %d exceeds the funder's balance %d", m.FeeSatoshis, st.funderBalance())
	}
	fee := btcutil.Amount(m.FeeSatoshis)
	theirSig, err := parseRemoteSig(&m.Signature)
	if err != nil {
		return protoErr(CodeInvalidSignature, "closing_signed: %v", err)
	}
	ws, _, err := script.FundingScript(st.Params.Local.FundingKey, st.Params.Remote.FundingKey)
	if err != nil {
		return &ProtocolError{Code: CodeInternal, Detail: err.Error()}
	}
	// The peer signed its variant: outputs below its dust limit dropped,
	// and maybe its own output too (BOLT 3 "Closing Transaction"); when
	// it agrees to our fee it may also sign ours. A variant without our
	// output is never acceptable.
	var tx *wire.MsgTx
	var txDust btcutil.Amount
	variants := []struct {
		omitRemote bool
		dust       btcutil.Amount
	}{{false, st.Params.Remote.DustLimit}, {true, st.Params.Remote.DustLimit}, {false, st.Params.Local.DustLimit}}
	for _, v := range variants {
		txDust = v.dust
		tx, err = st.closingTx(fee, v.omitRemote, v.dust)
		if err == nil {
			err = script.Verify(tx, 0, ws, st.Params.Capacity, txscript.SigHashAll, theirSig, st.Params.Remote.FundingKey)
		}
		if err == nil {
			break
		}
	}
	if err != nil {
		return protoErr(CodeInvalidSignature, "closing_signed at fee %d: %v", fee, err)
	}
	if err := st.checkClosingPaysUs(tx, fee, txDust); err != nil {
		return protoErr(CodeBadClosingFee, "closing_signed at fee %d: %v", fee, err)
	}

	lo, hi := st.closingFeeRange()
	agree := false
	var counter btcutil.Amount
	switch {
	case st.Close.HaveSent && fee == st.Close.LastSentFee:
		return c.completeClose(st, tx, theirSig, fee, false, out)
	case m.FeeRange != nil:
		olo := max(lo, btcutil.Amount(m.FeeRange.MinFeeSatoshis))
		ohi := min(hi, btcutil.Amount(m.FeeRange.MaxFeeSatoshis))
		switch {
		case m.FeeRange.MinFeeSatoshis > m.FeeRange.MaxFeeSatoshis || olo > ohi:
			return protoErr(CodeBadClosingFee, "fee_range [%d, %d] does not overlap ours [%d, %d]",
				m.FeeRange.MinFeeSatoshis, m.FeeRange.MaxFeeSatoshis, lo, hi)
		case fee < btcutil.Amount(m.FeeRange.MinFeeSatoshis) || fee > btcutil.Amount(m.FeeRange.MaxFeeSatoshis):
			return protoErr(CodeBadClosingFee, "fee %d outside its own fee_range", fee)
		case st.Params.LocalFunder || st.Close.HaveSent:
			if fee < olo || fee > ohi || st.Close.HaveSent && !st.Params.LocalFunder {
				return protoErr(CodeBadClosingFee, "fee %d not acceptable in [%d, %d]", fee, olo, ohi)
			}
			agree = true
		case fee >= lo && fee <= hi:
			agree = true
		default:
			counter = min(max(fee, olo), ohi)
		}
	default:
		// Legacy negotiation without fee_range: each new offer of the
		// peer must lie strictly between its previous one and ours
		// (BOLT 2), else a peer repeating a fee drags the midpoint
		// towards it; and we never agree to, nor offer, a fee outside
		// our own range, which as funder caps what we pay.
		if st.Close.HaveSent && st.Close.HaveRecv {
			a, b := min(st.Close.LastRecvFee, st.Close.LastSentFee), max(st.Close.LastRecvFee, st.Close.LastSentFee)
			if fee <= a || fee >= b {
				return protoErr(CodeBadClosingFee, "fee %d not strictly between the previous offers %d and %d",
					fee, st.Close.LastRecvFee, st.Close.LastSentFee)
			}
		}
		switch {
		case fee >= lo && fee <= hi:
			agree = true
		case st.Close.HaveSent:
			// At the edge of our range the clamp repeats our last
			// offer: we cannot move closer, and the peer may still
			// come to it.
			counter = min(max((fee+st.Close.LastSentFee)/2, lo), hi)
		default:
			counter = min(max(fee, lo), hi)
		}
	}
	st.Close.HaveRecv, st.Close.LastRecvFee = true, fee
	if agree {
		return c.completeClose(st, tx, theirSig, fee, true, out)
	}
	reply, err := c.signClosing(st, counter)
	if err != nil {
		return protoErr(CodeBadClosingFee, "counter-proposal %d: %v", counter, err)
	}
	reply.FeeRange = &lnwire.FeeRange{MinFeeSatoshis: uint64(lo), MaxFeeSatoshis: uint64(hi)}
	st.Close.HaveSent, st.Close.LastSentFee = true, counter
	out.Persist = true
	out.send(reply)
	return nil
}

// completeClose signs the closing transaction the peer signed, replying
// with the same fee when reply is set, and hands it to the driver.
func (c *Channel) completeClose(st *state, tx *wire.MsgTx, theirSig *ecdsa.Signature, fee btcutil.Amount,
	reply bool, out *Output) error {

	ourSig, err := c.signClosingTx(st, tx)
	if err != nil {
		return &ProtocolError{Code: CodeInternal, Detail: err.Error()}
	}
	if reply {
		out.send(&lnwire.ClosingSigned{ChannelID: st.Params.ChannelID(), FeeSatoshis: uint64(fee),
			Signature: toWireSig(ourSig)})
	}
	ws, _, err := script.FundingScript(st.Params.Local.FundingKey, st.Params.Remote.FundingKey)
	if err != nil {
		return &ProtocolError{Code: CodeInternal, Detail: err.Error()}
	}
	tx.TxIn[0].Witness = script.FundingWitness(ws,
		st.Params.Local.FundingKey, script.WitnessSig(ourSig, txscript.SigHashAll),
		st.Params.Remote.FundingKey, script.WitnessSig(theirSig, txscript.SigHashAll))
	st.Phase = PhaseClosed
	st.Close.HaveSent, st.Close.LastSentFee = true, fee
	st.Close.FinalTx = tx
	out.Persist = true
	out.emit(ClosingTxReady{Tx: tx, Fee: fee})
	return nil
}

// ClosingTx returns the signed cooperative closing transaction once the
// negotiation is over, nil before.
func (c *Channel) ClosingTx() *wire.MsgTx {
	if c.st.Close.FinalTx == nil {
		return nil
	}
	return c.st.Close.FinalTx.Copy()
}
