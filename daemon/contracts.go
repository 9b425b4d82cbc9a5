package daemon

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/flash-ln/flash/channel"
	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/daemon/chanstore"
	"github.com/flash-ln/flash/daemon/rpc"
	"github.com/flash-ln/flash/htlc/invoices"
)

// errLostState refuses a force close once the peer proved our state
// outdated: our latest commitment is revoked, broadcasting it would hand
// the whole channel to the peer.
var errLostState = errors.New("our channel state is outdated (the peer proved it): " +
	"broadcasting our commitment would be a breach; wait for the peer to close")

// errCoopSigned refuses a force close after the cooperative closing
// transaction is signed: that one pays both sides at once.
var errCoopSigned = errors.New("a cooperative closing transaction is already signed and broadcast")

// storeRevokedLocked records the specification of every commitment the
// peer revoked in out, before the machine state that counts them revoked
// is stored and before anything is sent: with the revocation secret, it
// rebuilds the HTLC outputs of that commitment if it is ever broadcast.
func (l *link) storeRevokedLocked(out channel.Output) error {
	for _, ev := range out.Events {
		e, ok := ev.(channel.RemoteCommitmentRevoked)
		if !ok {
			continue
		}
		if err := l.m.store.PutRevoked(l.pt, e.Index, &e.Spec); err != nil {
			l.log.Error("store revoked commitment", "index", e.Index, "err", err)
			if l.peer != nil {
				l.peer.Disconnect(err)
				l.peer = nil
			}
			return err
		}
	}
	return nil
}

// noteProtocolErrorLocked remembers that the peer proved our state
// outdated.
func (l *link) noteProtocolErrorLocked(pe *channel.ProtocolError) {
	if pe.Code != channel.CodeWeLostState || l.rec.LostState {
		return
	}
	l.rec.LostState = true
	l.log.Error("peer proved our channel state outdated: our commitment will never be broadcast")
	_ = l.persistLocked()
}

// forceClosedLocked reports whether we broadcast our commitment: the
// channel then takes no more updates.
func (l *link) forceClosedLocked() bool {
	return l.rec.CloseType == rpc.CloseLocalForce && len(l.rec.ClosingTx) > 0
}

// forceClose broadcasts our latest signed commitment. The record is stored
// first, so that the transaction is broadcast again at every start until
// the funding output is spent.
func (l *link) forceClose() (chainhash.Hash, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	txid, err := l.forceCloseLocked()
	if err != nil {
		return txid, err
	}
	if l.peer != nil {
		p := l.peer
		err := errors.New("channel force closed")
		p.Fail(&lnwire.Error{ChannelID: l.ch.ID(), Data: []byte(err.Error())}, err)
	}
	return txid, nil
}

// failChannelLocked force closes the channel after the peer broke the
// protocol in a way BOLT 2 answers by failing the channel. A channel not
// open yet has nothing to enforce; one whose state we lost must wait for
// the peer's commitment.
func (l *link) failChannelLocked() {
	if l.rec.State != chanstore.StateActive && l.rec.State != chanstore.StateClosing {
		return
	}
	if _, err := l.forceCloseLocked(); err != nil {
		l.log.Error("fail the channel: force close", "err", err)
	}
}

func (l *link) forceCloseLocked() (chainhash.Hash, error) {
	switch {
	case l.forgotten || l.rec.State == chanstore.StateClosed:
		return chainhash.Hash{}, errChannelClosed
	case l.rec.LostState:
		return chainhash.Hash{}, errLostState
	case l.forceClosedLocked():
		txid, _ := l.rec.ClosingTxid()
		return txid, nil
	case len(l.rec.ClosingTx) > 0:
		return chainhash.Hash{}, errCoopSigned
	}
	tx, err := l.ch.LocalCommitmentTx()
	if err != nil {
		return chainhash.Hash{}, fmt.Errorf("sign our commitment: %w", err)
	}
	var buf bytes.Buffer
	if err := tx.Serialize(&buf); err != nil {
		return chainhash.Hash{}, err
	}
	l.rec.ClosingTx = buf.Bytes()
	l.rec.CloseType = rpc.CloseLocalForce
	if l.rec.State != chanstore.StatePendingOpen {
		l.rec.State = chanstore.StateClosing
	}
	if err := l.persistLocked(); err != nil {
		return chainhash.Hash{}, err
	}
	txid := tx.TxHash()
	l.log.Warn("force closing: our commitment broadcast", "closing_txid", txid)
	l.m.publish(tx, "commitment")
	for _, w := range l.closeWaiters {
		w <- closeResult{txid: txid}
	}
	l.closeWaiters = nil
	return txid, nil
}

// forceCloseRPC runs channel/close --force.
func (d *Daemon) forceCloseRPC(point string, l *link) (*rpc.ChannelCloseResponse, error) {
	txid, err := l.forceClose()
	switch {
	case errors.Is(err, errChannelClosed), errors.Is(err, errCoopSigned):
		return nil, rpc.Errorf(rpc.CodeInvalidArgument, "force close %s: %v", point, err)
	case errors.Is(err, errLostState):
		return nil, rpc.Errorf(rpc.CodeInvalidArgument, "force close %s: %v", point, err)
	case err != nil:
		return nil, fmt.Errorf("force close %s: %w", point, err)
	}
	return &rpc.ChannelCloseResponse{ClosingTxid: txid.String()}, nil
}

// knownPreimage returns the preimage of an invoice of ours that an HTLC
// already settled: only then is revealing it on chain claiming what is
// ours. Preimages learnt from forwarded payments are not consulted yet.
func (d *Daemon) knownPreimage(hash [32]byte) ([32]byte, bool) {
	if d.invoices == nil {
		return [32]byte{}, false
	}
	rec, err := d.invoices.Lookup(hash)
	if err != nil || rec.State != invoices.StateSettled {
		return [32]byte{}, false
	}
	return rec.Preimage, true
}
