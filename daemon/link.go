package daemon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/flash-ln/flash/channel"
	"github.com/flash-ln/flash/channel/funding"
	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/daemon/chanstore"
	"github.com/flash-ln/flash/daemon/peer"
	"github.com/flash-ln/flash/daemon/rpc"
	"github.com/flash-ln/flash/onchain/notify"
)

// sendTimeout bounds the wait for room in a peer's send queue. A peer whose
// queue stays full that long is disconnected by its own write deadline.
const sendTimeout = 10 * time.Second

// link drives one channel: it feeds the pure state machine with the peer's
// messages, local commands and chain events, one at a time under its
// mutex, stores what the machine asks to store, and only then sends the
// machine's messages.
type link struct {
	m      *chanManager
	log    *slog.Logger
	nodeID *btcec.PublicKey
	// pt is the channel point, fixed for the link's life and readable
	// without the mutex.
	pt wire.OutPoint

	mu  sync.Mutex
	rec *chanstore.Channel
	ch  *channel.Channel
	kr  *channel.Keyring
	// peer is the live connection, nil while the peer is offline.
	peer *peer.Peer
	// closeWaiters receive the closing txid, or an error, once the close
	// negotiation ends.
	closeWaiters []chan closeResult
	// watching records the chain watches already running; cancels ends
	// them.
	watchingFunding, watchingSpend bool
	cancels                        []func()
	// forgotten is set once the channel is deleted from the store.
	forgotten bool
}

type closeResult struct {
	txid chainhash.Hash
	err  error
}

// pending rebuilds the funding flow's view of the channel from the record.
func (l *link) pending() *funding.Pending {
	return &funding.Pending{
		FundingOutpoint: l.rec.Point,
		Capacity:        l.rec.Capacity,
		FundingPkScript: l.rec.FundingPkScript,
		MinimumDepth:    l.rec.MinimumDepth,
		LocalFunder:     l.rec.LocalFunder,
	}
}

// persistLocked stores the machine and the record. On failure the link
// goes back to what the store holds (record and machine) and the peer is
// disconnected, so that nothing sent ever runs ahead of the disk.
func (l *link) persistLocked() error {
	rec := l.rec.Clone()
	rec.Machine = l.ch.Marshal()
	if err := l.m.store.Put(rec); err != nil {
		l.log.Error("store channel", "err", err)
		if stored, gerr := l.m.store.Get(l.pt); gerr == nil {
			l.rec = stored
		}
		if ch, uerr := channel.Unmarshal(l.rec.Machine, l.kr); uerr == nil {
			l.ch = ch
		}
		if l.peer != nil {
			l.peer.Disconnect(fmt.Errorf("store channel %v: %w", l.rec.Point, err))
			l.peer = nil
		}
		return err
	}
	l.rec = rec
	return nil
}

// applyLocked carries out one Output of the machine: store, send, act.
func (l *link) applyLocked(out channel.Output) error {
	var closingTx *wire.MsgTx
	for _, ev := range out.Events {
		if e, ok := ev.(channel.ClosingTxReady); ok {
			closingTx = e.Tx
		}
	}
	persist := out.Persist
	if closingTx != nil {
		var buf bytes.Buffer
		if err := closingTx.Serialize(&buf); err != nil {
			return fmt.Errorf("serialize closing tx: %w", err)
		}
		l.rec.ClosingTx = buf.Bytes()
		l.rec.CloseType = rpc.CloseCooperative
		l.rec.SettledSat = settledTo(closingTx, l.ch.Params().CloseScript)
		persist = true
	}
	if l.ch.Phase() != channel.PhaseNormal && l.rec.State == chanstore.StateActive {
		l.rec.State = chanstore.StateClosing
		persist = true
	}
	if err := l.storeRevokedLocked(out); err != nil {
		return err
	}
	if persist {
		if err := l.persistLocked(); err != nil {
			return err
		}
	}
	l.sendLocked(out.Messages...)
	for _, ev := range out.Events {
		switch e := ev.(type) {
		case channel.LocalUpdatesDropped:
			l.log.Debug("local updates dropped at disconnection", "count", len(e.Updates))
		case channel.ShutdownStarted:
			l.log.Info("shutdown exchanged")
		}
	}
	if l.m.hub != nil {
		l.m.hub.linkOutput(l, out)
	}
	if closingTx != nil {
		l.closingTxReadyLocked(closingTx)
	}
	return nil
}

// sendLocked queues messages for the peer, if connected.
func (l *link) sendLocked(msgs ...lnwire.Message) {
	if l.peer == nil {
		return
	}
	ctx, cancel := context.WithTimeout(l.m.ctx, sendTimeout)
	defer cancel()
	for _, msg := range msgs {
		if err := l.peer.Send(ctx, msg); err != nil {
			l.log.Debug("send failed", "msg", msg.MsgType(), "err", err)
			return
		}
	}
}

// settledTo is what tx pays to script.
func settledTo(tx *wire.MsgTx, script []byte) int64 {
	var sum int64
	for _, out := range tx.TxOut {
		if bytes.Equal(out.PkScript, script) {
			sum += out.Value
		}
	}
	return sum
}

// connected runs channel_reestablish with a newly connected peer.
func (l *link) connected(p *peer.Peer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	select {
	case <-p.Done():
		return // gone already; PeerDisconnected follows or has run
	default:
	}
	if l.peer != nil && l.peer != p {
		// The previous connection's end was not reported to this link
		// (it was created meanwhile): close its session first.
		if err := l.applyLocked(l.ch.Disconnected()); err != nil {
			l.log.Error("apply disconnection", "err", err)
		}
	}
	l.peer = p
	if l.rec.State == chanstore.StateClosed || l.ch.Phase() == channel.PhaseClosed || l.forceClosedLocked() {
		return
	}
	out, err := l.ch.Connected()
	if err != nil {
		l.log.Error("start channel_reestablish", "err", err)
		return
	}
	if err := l.applyLocked(out); err != nil {
		l.log.Error("apply reestablish", "err", err)
	}
}

// disconnected tells the machine the connection is gone.
func (l *link) disconnected() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.peer = nil
	if l.rec.State == chanstore.StateClosed {
		return
	}
	out := l.ch.Disconnected()
	if err := l.applyLocked(out); err != nil {
		l.log.Error("apply disconnection", "err", err)
	}
}

// handle feeds one of the peer's messages to the machine.
func (l *link) handle(p *peer.Peer, msg lnwire.Message) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.peer != p || l.forgotten {
		return // a message of a connection already replaced
	}
	if l.rec.State == chanstore.StateClosed || l.forceClosedLocked() {
		return
	}
	if m, ok := msg.(*lnwire.ChannelReady); ok {
		l.receiveReadyLocked(m)
		return
	}
	if l.ch.Phase() == channel.PhaseClosed {
		// Our closing transaction is signed and broadcast; a peer that
		// missed our last closing_signed learns the outcome from the
		// chain. Answering would only make it reconnect again.
		l.log.Debug("ignoring message on a closed channel", "msg", msg.MsgType())
		return
	}
	out, err := l.ch.Receive(msg)
	if err != nil {
		l.failLocked(err)
		return
	}
	if err := l.applyLocked(out); err != nil {
		return
	}
	// BOLT 2: with no commitment signed after the first, channel_ready
	// is retransmitted after channel_reestablish.
	if _, ok := msg.(*lnwire.ChannelReestablish); ok && l.rec.SentReady &&
		l.ch.LocalCommitment().Index == 0 {
		l.sendReadyLocked()
	}
}

// failLocked answers a message the machine refused: a warning and a
// disconnection, or an error when BOLT 2 says the channel fails.
func (l *link) failLocked(err error) {
	cid := l.ch.ID()
	var pe *channel.ProtocolError
	if !errors.As(err, &pe) {
		l.log.Error("channel machine", "err", err)
		return
	}
	l.noteProtocolErrorLocked(pe)
	if l.peer == nil {
		return
	}
	p := l.peer
	if pe.FailChannel() {
		// The peer is told the channel failed, then our commitment
		// is broadcast (never when the peer proved our state lost).
		l.log.Warn("peer broke the channel protocol; channel failed", "err", err)
		p.Fail(&lnwire.Error{ChannelID: cid, Data: []byte(err.Error())}, err)
		l.failChannelLocked()
	} else {
		l.log.Warn("peer broke the channel protocol", "err", err)
		p.Fail(&lnwire.Warning{ChannelID: cid, Data: []byte(err.Error())}, err)
	}
}

// receiveReadyLocked records the peer's channel_ready.
func (l *link) receiveReadyLocked(m *lnwire.ChannelReady) {
	out, err := l.ch.ReceiveChannelReady(m)
	if err != nil {
		l.failLocked(err)
		return
	}
	if !l.rec.GotReady {
		l.rec.GotReady = true
		out.Persist = true
	}
	l.maybeActiveLocked()
	if err := l.applyLocked(out); err != nil {
		return
	}
}

func (l *link) maybeActiveLocked() {
	if l.rec.State == chanstore.StatePendingOpen && l.rec.SentReady && l.rec.GotReady {
		l.rec.State = chanstore.StateActive
		l.log.Info("channel active", "short_channel_id",
			lnwire.NewShortChanIDFromInt(l.rec.ShortChannelID).String())
	}
}

func (l *link) sendReadyLocked() {
	ready, err := funding.ChannelReady(l.ch)
	if err != nil {
		l.log.Error("build channel_ready", "err", err)
		return
	}
	l.sendLocked(ready)
}

// fundingConfirmed runs once the funding transaction is deep enough: it
// checks the output, stores the short channel id and that channel_ready is
// sent, then sends it.
func (l *link) fundingConfirmed(conf notify.TxConfirmation) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.forgotten || l.rec.State != chanstore.StatePendingOpen || l.rec.SentReady {
		return
	}
	if err := l.pending().CheckFundingOutput(conf.Tx); err != nil {
		l.log.Error("confirmed funding transaction is not the agreed one", "err", err)
		return
	}
	scid, err := funding.ShortChannelID(uint32(conf.BlockHeight), conf.TxIndex, l.rec.Point.Index)
	if err != nil {
		l.log.Error("short channel id", "err", err)
		return
	}
	l.rec.ShortChannelID = scid.ToUint64()
	l.rec.SentReady = true
	l.maybeActiveLocked()
	if err := l.persistLocked(); err != nil {
		return
	}
	l.log.Info("funding confirmed", "short_channel_id", scid.String())
	l.sendReadyLocked()
	if l.m.hub != nil {
		l.m.hub.linkOutput(l, channel.Output{})
	}
}

// shutdown starts a cooperative close and returns a channel that delivers
// its outcome.
func (l *link) shutdown() (<-chan closeResult, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	wait := make(chan closeResult, 1)
	if txid, ok := l.rec.ClosingTxid(); ok {
		wait <- closeResult{txid: txid}
		return wait, nil
	}
	switch l.rec.State {
	case chanstore.StatePendingOpen:
		return nil, errChannelPending
	case chanstore.StateClosed:
		return nil, errChannelClosed
	}
	if l.peer == nil {
		return nil, errChannelPeerOffline
	}
	if l.ch.Phase() == channel.PhaseNormal {
		out, err := l.ch.InitiateShutdown(l.ch.Params().CloseScript)
		if err != nil {
			return nil, err
		}
		if err := l.applyLocked(out); err != nil {
			return nil, err
		}
	}
	l.closeWaiters = append(l.closeWaiters, wait)
	return wait, nil
}

var (
	errChannelPending     = errors.New("channel is not open yet")
	errChannelClosed      = errors.New("channel is closed")
	errChannelPeerOffline = errors.New("peer is not connected")
)

// closingTxReadyLocked broadcasts the stored closing transaction and
// watches for its confirmation.
func (l *link) closingTxReadyLocked(tx *wire.MsgTx) {
	txid := tx.TxHash()
	l.log.Info("closing transaction signed", "closing_txid", txid)
	// Broadcast before answering the close call, so that the caller
	// finds the transaction in the mempool.
	l.m.publish(tx, "closing")
	for _, w := range l.closeWaiters {
		w <- closeResult{txid: txid}
	}
	l.closeWaiters = nil
}

// watchSpendLocked waits in the background for the funding output to be
// spent by a confirmed transaction: that, and not our own view of the
// negotiation, is what ends the channel.
func (l *link) watchSpendLocked() {
	if l.watchingSpend {
		return
	}
	l.watchingSpend = true
	ev, err := l.m.notifier.RegisterSpend(l.rec.Point, l.rec.FundingPkScript, max(l.rec.HeightHint, 0))
	if err != nil {
		l.log.Error("watch funding output", "err", err)
		return
	}
	l.cancels = append(l.cancels, ev.Cancel)
	l.m.watchSpend(ev, l.fundingSpent)
}

// fundingSpent records how the channel ended.
func (l *link) fundingSpent(spend notify.SpendDetail) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.forgotten || l.rec.State == chanstore.StateClosed {
		return
	}
	tx := spend.SpendingTx
	txid := tx.TxHash()
	stored, haveStored := l.rec.ClosingTxid()
	switch {
	case haveStored && stored == txid && !l.forceClosedLocked():
		// Our own closing transaction, as stored when signed.
	case isClosingTx(tx):
		var buf bytes.Buffer
		if err := tx.Serialize(&buf); err == nil {
			l.rec.ClosingTx = buf.Bytes()
		}
		l.rec.CloseType = rpc.CloseCooperative
		l.rec.SettledSat = settledTo(tx, l.ch.Params().CloseScript)
	default:
		// A commitment transaction: claiming its outputs comes with
		// on-chain enforcement. The channel is recorded as ended but
		// unresolved.
		var buf bytes.Buffer
		if err := tx.Serialize(&buf); err == nil {
			l.rec.ClosingTx = buf.Bytes()
		}
		l.rec.CloseType = rpc.CloseRemoteForce
		if txid == l.ch.LocalCommitment().TxID {
			l.rec.CloseType = rpc.CloseLocalForce
		}
		l.rec.Unresolved = true
		l.log.Warn("funding output spent by a commitment transaction", "txid", txid,
			"close_type", l.rec.CloseType)
	}
	l.rec.State = chanstore.StateClosed
	l.rec.CloseHeight = spend.SpendingHeight
	if err := l.persistLocked(); err != nil {
		return
	}
	for _, w := range l.closeWaiters {
		w <- closeResult{txid: txid}
	}
	l.closeWaiters = nil
	l.log.Info("channel closed", "closing_txid", txid, "height", spend.SpendingHeight,
		"close_type", l.rec.CloseType, "settled_sat", l.rec.SettledSat)
	if l.rec.Unresolved {
		l.m.startResolver(l.rec)
	}
}

// isClosingTx tells a BOLT 3 closing transaction from a commitment
// transaction: a closing transaction has lock time 0 and a final sequence,
// a commitment transaction carries the obscured commitment number in both.
func isClosingTx(tx *wire.MsgTx) bool {
	return len(tx.TxIn) == 1 && tx.LockTime == 0 && tx.TxIn[0].Sequence == wire.MaxTxInSequenceNum
}

// watchFundingLocked waits in the background for the funding transaction
// to be deep enough.
func (l *link) watchFundingLocked() {
	if l.watchingFunding || l.rec.State != chanstore.StatePendingOpen || l.rec.SentReady {
		return
	}
	l.watchingFunding = true
	ev, err := l.m.notifier.RegisterConf(l.rec.Point.Hash, l.rec.FundingPkScript,
		max(l.rec.MinimumDepth, 1), max(l.rec.HeightHint, 0))
	if err != nil {
		l.log.Error("watch funding transaction", "err", err)
		return
	}
	l.cancels = append(l.cancels, ev.Cancel)
	l.m.watch(ev, func(conf notify.TxConfirmation) { l.fundingConfirmed(conf) })
}

// forgetIfStale deletes a channel we accepted whose funding transaction has
// not confirmed ForgetAfterBlocks blocks after it was signed: we have
// nothing at stake in it, and BOLT 2 lets us forget it. It reports whether
// the channel was forgotten.
func (l *link) forgetIfStale(height int32) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.forgotten || l.rec.LocalFunder || l.rec.State != chanstore.StatePendingOpen || l.rec.SentReady ||
		height < l.rec.HeightHint ||
		!l.pending().FundeeShouldForget(uint32(height-l.rec.HeightHint)) {
		return false
	}
	if err := l.m.store.Delete(l.pt); err != nil {
		l.log.Error("forget unfunded channel", "err", err)
		return false
	}
	l.forgotten = true
	for _, cancel := range l.cancels {
		cancel()
	}
	l.log.Info("forgot a channel whose funding transaction never confirmed",
		"waited_blocks", height-l.rec.HeightHint)
	return true
}
