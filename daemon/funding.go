package daemon

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/wire"

	"github.com/flash-ln/flash/channel"
	"github.com/flash-ln/flash/channel/funding"
	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/daemon/chanstore"
	"github.com/flash-ln/flash/daemon/peer"
)

// openTimeout bounds a channel establishment from open_channel to the
// broadcast of the funding transaction.
const openTimeout = time.Minute

// maxAcceptFlowsPerPeer bounds the establishments a peer may have in
// flight with us: each holds keys and a wallet address.
const maxAcceptFlowsPerPeer = 8

// maxPendingAcceptedPerPeer bounds the channels a peer opened to us that
// wait for their funding transaction: each is stored until it confirms or
// for ForgetAfterBlocks blocks.
const maxPendingAcceptedPerPeer = 4

// heightHintMargin is how far below our tip a peer's funding transaction
// is looked for: our chain may lag behind the peer's.
const heightHintMargin = 6

// errFundingFailed wraps every failure of an establishment after the
// request was accepted locally.
var errFundingFailed = errors.New("channel funding failed")

// openFlow is one establishment we started, from open_channel until the
// funding transaction is broadcast. Its messages arrive on the peer's
// handler goroutine; the RPC call waits on result.
type openFlow struct {
	m        *chanManager
	nodeID   *btcec.PublicKey
	tempID   lnwire.ChannelID
	keyIndex uint32
	kr       *channel.Keyring
	feeRate  uint32

	mu        sync.Mutex
	op        *funding.Opener
	fundingTx *wire.MsgTx // leased inputs, once created
	cid       lnwire.ChannelID
	done      bool
	result    chan openResult
}

type openResult struct {
	point wire.OutPoint
	err   error
}

// finishLocked ends the flow with res.
func (f *openFlow) finishLocked(res openResult) {
	if f.done {
		return
	}
	f.done = true
	f.m.mu.Lock()
	if f.m.opening[f.tempID] == f {
		delete(f.m.opening, f.tempID)
	}
	if f.m.signing[f.cid] == f {
		delete(f.m.signing, f.cid)
	}
	f.m.mu.Unlock()
	f.result <- res
}

// fail abandons the flow: nothing was broadcast, so the funding inputs are
// released and the stored attempt forgotten.
func (f *openFlow) fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failLocked(err)
}

func (f *openFlow) failLocked(err error) {
	if f.done {
		return
	}
	if f.fundingTx != nil {
		if rerr := f.m.wallet.ReleaseTransaction(f.fundingTx); rerr != nil {
			f.m.log.Error("release funding inputs", "err", rerr)
		}
		if derr := f.m.store.DeleteFlow(f.tempID); derr != nil {
			f.m.log.Error("forget funding attempt", "err", derr)
		}
	}
	f.m.log.Info("channel funding failed", "peer", nodeIDHex(f.nodeID), "err", err)
	f.finishLocked(openResult{err: err})
}

// sendError tells the peer the establishment failed.
func (m *chanManager) sendFundingError(p *peer.Peer, id lnwire.ChannelID, err error) {
	var fe *funding.Error
	msg := &lnwire.Error{ChannelID: id, Data: []byte("channel establishment failed")}
	if errors.As(err, &fe) {
		msg = fe.WireError(id)
	}
	_ = m.sendTo(p, msg)
}

// sendTo queues msg for the peer, waiting at most sendTimeout for room.
func (m *chanManager) sendTo(p *peer.Peer, msg lnwire.Message) error {
	ctx, cancel := context.WithTimeout(m.ctx, sendTimeout)
	defer cancel()
	return p.Send(ctx, msg)
}

// openChannel runs the funder's side of an establishment and returns once
// the funding transaction is broadcast.
func (m *chanManager) openChannel(ctx context.Context, nodeID *btcec.PublicKey, capacity btcutil.Amount,
	push lnwire.MilliSatoshi, private bool) (wire.OutPoint, error) {

	p, ok := m.peers.Peer(nodeID)
	if !ok {
		return wire.OutPoint{}, errChannelPeerOffline
	}
	rate := m.feeRate()
	// Check the funds before bothering the peer: a dry run with an output
	// of the funding's size and script type, released at once.
	dummy := append([]byte{0x00, 0x20}, make([]byte, 32)...)
	dry, err := m.wallet.CreateTransaction([]*wire.TxOut{wire.NewTxOut(int64(capacity), dummy)}, rate)
	if err != nil {
		return wire.OutPoint{}, err
	}
	if err := m.wallet.ReleaseTransaction(dry.Tx); err != nil {
		return wire.OutPoint{}, err
	}

	index, kr, err := m.newKeyring()
	if err != nil {
		return wire.OutPoint{}, err
	}
	localKeys, err := funding.KeysFromKeyring(kr)
	if err != nil {
		return wire.OutPoint{}, err
	}
	closeScript, err := m.closeScript()
	if err != nil {
		return wire.OutPoint{}, err
	}
	var tempID lnwire.ChannelID
	if _, err := rand.Read(tempID[:]); err != nil {
		return wire.OutPoint{}, fmt.Errorf("temporary channel id: %w", err)
	}
	op, open, err := funding.NewOpener(funding.OpenerParams{
		TempChanID:   tempID,
		ChainHash:    m.chainHash,
		Capacity:     capacity,
		PushMsat:     push,
		FeePerKw:     uint32(rate),
		Private:      private,
		LocalKeys:    localKeys,
		Policy:       m.policy,
		PeerFeatures: p.Features(),
		CloseScript:  closeScript,
	})
	if err != nil {
		return wire.OutPoint{}, err
	}
	f := &openFlow{
		m: m, nodeID: nodeID, tempID: tempID, keyIndex: index, kr: kr,
		feeRate: uint32(rate), op: op, result: make(chan openResult, 1),
	}
	m.mu.Lock()
	m.opening[tempID] = f
	m.mu.Unlock()
	if err := p.Send(ctx, open); err != nil {
		f.fail(err)
		return wire.OutPoint{}, fmt.Errorf("%w: send open_channel: %w", errFundingFailed, err)
	}
	m.log.Info("opening channel", "peer", nodeIDHex(nodeID), "capacity_sat", int64(capacity),
		"push_msat", uint64(push), "temp_channel_id", tempID)

	timer := time.NewTimer(openTimeout)
	defer timer.Stop()
	select {
	case res := <-f.result:
		if res.err != nil {
			return wire.OutPoint{}, fmt.Errorf("%w: %w", errFundingFailed, res.err)
		}
		return res.point, nil
	case <-ctx.Done():
		f.fail(context.Cause(ctx))
	case <-timer.C:
		f.fail(errors.New("no answer from the peer in time"))
	case <-m.ctx.Done():
		f.fail(errors.New("node stopping"))
	}
	// The flow may have succeeded just before the failure above.
	res := <-f.result
	if res.err != nil {
		return wire.OutPoint{}, fmt.Errorf("%w: %w", errFundingFailed, res.err)
	}
	return res.point, nil
}

// handleAcceptChannel builds the funding transaction and sends
// funding_created.
func (m *chanManager) handleAcceptChannel(p *peer.Peer, msg *lnwire.AcceptChannel) {
	m.mu.Lock()
	f := m.opening[msg.TemporaryChannelID]
	m.mu.Unlock()
	if f == nil || !f.nodeID.IsEqual(p.NodeID()) {
		m.log.Debug("accept_channel for no open attempt", "peer", p.String())
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.done || f.fundingTx != nil {
		return
	}
	req, err := f.op.ReceiveAcceptChannel(msg)
	if err != nil {
		m.sendFundingError(p, f.tempID, err)
		f.failLocked(err)
		return
	}
	authored, err := m.wallet.CreateTransaction(
		[]*wire.TxOut{wire.NewTxOut(int64(req.Amount), req.PkScript)}, onchainRate(f.feeRate))
	if err != nil {
		m.sendFundingError(p, f.tempID, err)
		f.failLocked(fmt.Errorf("build funding transaction: %w", err))
		return
	}
	f.fundingTx = authored.Tx
	created, err := f.op.FundingCreated(authored.Tx, f.kr)
	if err == nil {
		// Stored before funding_created leaves, so that a crash cannot
		// leave the inputs leased by a forgotten attempt.
		err = m.store.PutFlow(f.tempID, authored.Tx)
	}
	if err != nil {
		m.sendFundingError(p, f.tempID, err)
		f.failLocked(err)
		return
	}
	f.cid = lnwire.NewChannelID(wire.OutPoint{Hash: created.FundingTxid, Index: uint32(created.FundingOutputIndex)})
	m.mu.Lock()
	m.signing[f.cid] = f
	m.mu.Unlock()
	if err := m.sendTo(p, created); err != nil {
		f.failLocked(err)
	}
}

// handleFundingSigned stores the new channel, broadcasts the funding
// transaction and starts the channel.
func (m *chanManager) handleFundingSigned(p *peer.Peer, msg *lnwire.FundingSigned) {
	m.mu.Lock()
	f := m.signing[msg.ChannelID]
	m.mu.Unlock()
	if f == nil || !f.nodeID.IsEqual(p.NodeID()) {
		m.log.Debug("funding_signed for no open attempt", "peer", p.String())
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.done {
		return
	}
	ch, err := f.op.ReceiveFundingSigned(msg, f.kr)
	if err != nil {
		m.sendFundingError(p, msg.ChannelID, err)
		f.failLocked(err)
		return
	}
	pending := f.op.Pending()
	if err := m.recordPrivate(pending); err != nil {
		m.sendFundingError(p, msg.ChannelID, err)
		f.failLocked(err)
		return
	}
	var buf bytes.Buffer
	if err := pending.FundingTx.Serialize(&buf); err != nil {
		f.failLocked(err)
		return
	}
	_, height := m.chain.BestBlock()
	rec := &chanstore.Channel{
		Point:           pending.FundingOutpoint,
		Peer:            peerKey(f.nodeID),
		KeyIndex:        f.keyIndex,
		State:           chanstore.StatePendingOpen,
		LocalFunder:     true,
		Capacity:        pending.Capacity,
		FundingPkScript: pending.FundingPkScript,
		MinimumDepth:    pending.MinimumDepth,
		FundingTx:       buf.Bytes(),
		HeightHint:      height,
		Machine:         ch.Marshal(),
	}
	// The channel is durable before the funding transaction can exist
	// on the network.
	if err := m.store.Put(rec, f.tempID); err != nil {
		m.sendFundingError(p, msg.ChannelID, err)
		f.failLocked(err)
		return
	}
	f.fundingTx = nil // broadcast from now on: never released
	l := m.addLink(rec, ch, f.kr, f.nodeID)
	m.log.Info("funding signed; broadcasting", "channel_point", rec.Point.String())
	var res openResult
	res.point = rec.Point
	if err := m.wallet.PublishTransaction(pending.FundingTx); err != nil {
		m.log.Error("broadcast funding transaction", "txid", rec.Point.Hash, "err", err)
		res.err = fmt.Errorf("funding transaction %s stored but not broadcast (it will be "+
			"rebroadcast at the next start): %w", rec.Point.Hash, err)
	}
	l.mu.Lock()
	l.watchFundingLocked()
	l.watchSpendLocked()
	l.mu.Unlock()
	l.connected(p)
	f.finishLocked(res)
}

// handleOpenChannel answers a peer's open_channel.
func (m *chanManager) handleOpenChannel(p *peer.Peer, msg *lnwire.OpenChannel) {
	key := acceptKey{peerKey(p.NodeID()), msg.TemporaryChannelID}
	m.mu.Lock()
	n := 0
	for k := range m.accepting {
		if k.peer == key.peer {
			n++
		}
	}
	m.mu.Unlock()
	if n >= maxAcceptFlowsPerPeer {
		m.sendFundingError(p, msg.TemporaryChannelID, errors.New("too many channel establishments in flight"))
		return
	}
	if m.pendingAcceptedOf(p.NodeID()) >= maxPendingAcceptedPerPeer {
		m.sendFundingError(p, msg.TemporaryChannelID, errors.New("too many pending channels"))
		return
	}
	index, kr, err := m.newKeyring()
	var localKeys funding.LocalKeys
	if err == nil {
		localKeys, err = funding.KeysFromKeyring(kr)
	}
	var closeScript []byte
	if err == nil {
		closeScript, err = m.closeScript()
	}
	if err != nil {
		m.log.Error("answer open_channel", "err", err)
		m.sendFundingError(p, msg.TemporaryChannelID, err)
		return
	}
	ac, accept, err := funding.AcceptOpen(funding.AcceptParams{
		Open:         msg,
		ChainHash:    m.chainHash,
		LocalKeys:    localKeys,
		Policy:       m.policy,
		FeeEstimate:  uint32(m.feeRate()),
		PeerFeatures: p.Features(),
		CloseScript:  closeScript,
	})
	if err != nil {
		m.log.Info("refusing open_channel", "peer", p.String(), "err", err)
		m.sendFundingError(p, msg.TemporaryChannelID, err)
		return
	}
	m.mu.Lock()
	m.accepting[key] = &acceptFlow{ac: ac, keyIndex: index, kr: kr}
	m.mu.Unlock()
	if err := m.sendTo(p, accept); err != nil {
		m.mu.Lock()
		delete(m.accepting, key)
		m.mu.Unlock()
	}
}

// acceptFlow is an establishment the peer started, between accept_channel
// and funding_created.
type acceptFlow struct {
	ac       *funding.Accepter
	keyIndex uint32
	kr       *channel.Keyring
}

// handleFundingCreated stores the channel, then sends funding_signed.
func (m *chanManager) handleFundingCreated(p *peer.Peer, msg *lnwire.FundingCreated) {
	key := acceptKey{peerKey(p.NodeID()), msg.TemporaryChannelID}
	m.mu.Lock()
	af := m.accepting[key]
	delete(m.accepting, key)
	m.mu.Unlock()
	if af == nil {
		m.sendFundingError(p, msg.TemporaryChannelID, errors.New("funding_created for no channel establishment"))
		return
	}
	ch, signed, err := af.ac.ReceiveFundingCreated(msg, af.kr)
	if err != nil {
		m.log.Info("refusing funding_created", "peer", p.String(), "err", err)
		m.sendFundingError(p, msg.TemporaryChannelID, err)
		return
	}
	pending := af.ac.Pending()
	if err := m.recordPrivate(pending); err != nil {
		m.sendFundingError(p, msg.TemporaryChannelID, err)
		return
	}
	_, height := m.chain.BestBlock()
	rec := &chanstore.Channel{
		Point:           pending.FundingOutpoint,
		Peer:            peerKey(p.NodeID()),
		KeyIndex:        af.keyIndex,
		State:           chanstore.StatePendingOpen,
		LocalFunder:     false,
		Capacity:        pending.Capacity,
		FundingPkScript: pending.FundingPkScript,
		MinimumDepth:    pending.MinimumDepth,
		HeightHint:      max(height-heightHintMargin, 0),
		Machine:         ch.Marshal(),
	}
	m.mu.Lock()
	_, exists := m.links[rec.Point]
	m.mu.Unlock()
	if exists {
		m.sendFundingError(p, msg.TemporaryChannelID, errors.New("funding outpoint already used by a channel"))
		return
	}
	// Stored before funding_signed leaves: from then on the funder may
	// broadcast, and we must know the channel. Create refuses an outpoint
	// any stored channel uses, closed ones included, which m.links does
	// not hold after a restart.
	if err := m.store.Create(rec); err != nil {
		if errors.Is(err, chanstore.ErrExists) {
			m.sendFundingError(p, msg.TemporaryChannelID, errors.New("funding outpoint already used by a channel"))
			return
		}
		m.log.Error("store new channel", "err", err)
		m.sendFundingError(p, msg.TemporaryChannelID, err)
		return
	}
	l := m.addLink(rec, ch, af.kr, p.NodeID())
	m.log.Info("channel accepted; waiting for the funding transaction",
		"channel_point", rec.Point.String(), "capacity_sat", int64(rec.Capacity))
	if err := m.sendTo(p, signed); err != nil {
		m.log.Debug("send funding_signed", "err", err)
	}
	l.mu.Lock()
	l.watchFundingLocked()
	l.watchSpendLocked()
	l.mu.Unlock()
	l.connected(p)
}

// failFlowsOf fails every establishment with the node.
func (m *chanManager) failFlowsOf(nodeID *btcec.PublicKey, err error) {
	key := peerKey(nodeID)
	var flows []*openFlow
	m.mu.Lock()
	for _, f := range m.opening {
		if f.nodeID.IsEqual(nodeID) {
			flows = append(flows, f)
		}
	}
	for _, f := range m.signing {
		if f.nodeID.IsEqual(nodeID) {
			flows = append(flows, f)
		}
	}
	for k := range m.accepting {
		if k.peer == key {
			delete(m.accepting, k)
		}
	}
	m.mu.Unlock()
	for _, f := range flows {
		f.fail(err)
	}
}

// pendingAcceptedOf counts the peer's channels to us waiting for funding.
func (m *chanManager) pendingAcceptedOf(nodeID *btcec.PublicKey) int {
	n := 0
	for _, l := range m.linksOf(nodeID) {
		l.mu.Lock()
		if !l.rec.LocalFunder && l.rec.State == chanstore.StatePendingOpen {
			n++
		}
		l.mu.Unlock()
	}
	return n
}
