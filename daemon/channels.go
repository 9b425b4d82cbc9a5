package daemon

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/flash-ln/flash/channel"
	"github.com/flash-ln/flash/channel/funding"
	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/channel/shachain"
	"github.com/flash-ln/flash/daemon/chanstore"
	"github.com/flash-ln/flash/daemon/peer"
	"github.com/flash-ln/flash/onchain"
	"github.com/flash-ln/flash/onchain/chain"
	"github.com/flash-ln/flash/onchain/notify"
	"github.com/flash-ln/flash/onchain/wallet"
)

// feeConfTarget is the confirmation target of the fee rates of funding and
// commitment transactions.
const feeConfTarget = 6

// chanManager owns the node's channels and funding flows. It is the
// peer.Handler of the node: it routes each peer message to the channel or
// funding flow it belongs to.
type chanManager struct {
	log       *slog.Logger
	store     *chanstore.Store
	wallet    *wallet.Wallet
	chain     *chain.Chain
	notifier  *notify.Notifier
	chainHash chainhash.Hash
	policy    funding.Policy
	// peers is set once, right after the peer manager is created and
	// before it starts.
	peers *peer.Manager
	// markPrivate, set once before the peers start, records a channel
	// opened without the announce flag.
	markPrivate func(wire.OutPoint) error
	// hub, set once before the peers start, receives what the links'
	// machines emit about HTLCs.
	hub *payHub

	ctx    context.Context // cancelled by stop
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex
	links     map[wire.OutPoint]*link
	byID      map[lnwire.ChannelID]*link
	opening   map[lnwire.ChannelID]*openFlow // by temporary id
	signing   map[lnwire.ChannelID]*openFlow // by channel id, after funding_created
	accepting map[acceptKey]*acceptFlow
	// resolvers claim the outputs of channels closed on chain by a
	// commitment transaction.
	resolvers map[wire.OutPoint]*resolver
	// preimage returns the preimage of a payment to us, once released;
	// set before load.
	preimage func(hash [32]byte) ([32]byte, bool)
}

// acceptKey names a funding flow the peer started: temporary channel ids
// are only unique per peer.
type acceptKey struct {
	peer   [33]byte
	tempID lnwire.ChannelID
}

func peerKey(pub *btcec.PublicKey) [33]byte {
	var k [33]byte
	copy(k[:], pub.SerializeCompressed())
	return k
}

func newChanManager(log *slog.Logger, store *chanstore.Store, w *wallet.Wallet, c *chain.Chain,
	n *notify.Notifier, policy funding.Policy) *chanManager {

	ctx, cancel := context.WithCancel(context.Background())
	return &chanManager{
		log:       log,
		store:     store,
		wallet:    w,
		chain:     c,
		notifier:  n,
		chainHash: *c.Params().GenesisHash,
		policy:    policy,
		ctx:       ctx,
		cancel:    cancel,
		links:     make(map[wire.OutPoint]*link),
		byID:      make(map[lnwire.ChannelID]*link),
		opening:   make(map[lnwire.ChannelID]*openFlow),
		signing:   make(map[lnwire.ChannelID]*openFlow),
		accepting: make(map[acceptKey]*acceptFlow),
	}
}

// load releases the inputs of funding attempts that never got
// funding_signed, loads every channel, broadcasts again what must be
// broadcast and restarts the chain watches.
func (m *chanManager) load() error {
	flows, err := m.store.Flows()
	if err != nil {
		return err
	}
	for id, tx := range flows {
		// Never broadcast: without funding_signed the output could only
		// be spent with the peer's help.
		if err := m.wallet.ReleaseTransaction(tx); err != nil {
			return fmt.Errorf("release inputs of abandoned funding %x: %w", id, err)
		}
		if err := m.store.DeleteFlow(id); err != nil {
			return err
		}
		m.log.Info("released inputs of an abandoned funding attempt", "funding_txid", tx.TxHash())
	}
	recs, err := m.store.All()
	if err != nil {
		return err
	}
	for _, rec := range recs {
		if rec.State == chanstore.StateClosed {
			if rec.Unresolved {
				m.startResolver(rec)
			}
			continue
		}
		l, err := m.restoreLink(rec)
		if err != nil {
			return err
		}
		l.mu.Lock()
		if rec.State == chanstore.StatePendingOpen && len(rec.FundingTx) > 0 {
			var tx wire.MsgTx
			if err := tx.Deserialize(bytes.NewReader(rec.FundingTx)); err == nil {
				m.publish(&tx, "funding")
			}
		}
		l.watchFundingLocked()
		l.watchSpendLocked()
		if len(rec.ClosingTx) > 0 {
			var tx wire.MsgTx
			if err := tx.Deserialize(bytes.NewReader(rec.ClosingTx)); err == nil {
				m.publish(&tx, "closing")
			}
		}
		l.mu.Unlock()
	}
	m.log.Info("channels loaded", "count", len(m.links))
	return m.watchBlocks()
}

// watchBlocks forgets, at every new block, the channels we accepted whose
// funding never came.
func (m *chanManager) watchBlocks() error {
	ev, err := m.notifier.RegisterBlockEpochs()
	if err != nil {
		return fmt.Errorf("watch blocks: %w", err)
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer ev.Cancel()
		for {
			select {
			case epoch, ok := <-ev.Epochs:
				if !ok {
					return
				}
				for _, l := range m.allLinks() {
					if l.forgetIfStale(epoch.Height) {
						m.removeLink(l)
					}
				}
			case <-m.ctx.Done():
				return
			}
		}
	}()
	return nil
}

func (m *chanManager) removeLink(l *link) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.links[l.pt] == l {
		delete(m.links, l.pt)
		delete(m.byID, lnwire.NewChannelID(l.pt))
	}
}

// restoreLink rebuilds a stored channel's machine and registers its link.
func (m *chanManager) restoreLink(rec *chanstore.Channel) (*link, error) {
	kr, err := m.keyring(rec.KeyIndex)
	if err != nil {
		return nil, fmt.Errorf("channel %v: %w", rec.Point, err)
	}
	ch, err := channel.Unmarshal(rec.Machine, kr)
	if err != nil {
		return nil, fmt.Errorf("channel %v: %w", rec.Point, err)
	}
	pub, err := btcec.ParsePubKey(rec.Peer[:])
	if err != nil {
		return nil, fmt.Errorf("channel %v: peer: %w", rec.Point, err)
	}
	return m.addLink(rec, ch, kr, pub), nil
}

func (m *chanManager) addLink(rec *chanstore.Channel, ch *channel.Channel, kr *channel.Keyring,
	pub *btcec.PublicKey) *link {

	l := &link{
		m:      m,
		log:    m.log.With("channel_point", rec.Point.String()),
		nodeID: pub,
		pt:     rec.Point,
		rec:    rec,
		ch:     ch,
		kr:     kr,
	}
	m.mu.Lock()
	m.links[rec.Point] = l
	m.byID[lnwire.NewChannelID(rec.Point)] = l
	m.mu.Unlock()
	return l
}

// stop ends the chain watches.
func (m *chanManager) stop() error {
	m.cancel()
	m.wg.Wait()
	return nil
}

// keyring derives a channel's private keys: index index of every channel
// key family, and a per-commitment seed from the revocation root family.
func (m *chanManager) keyring(index uint32) (*channel.Keyring, error) {
	derive := func(f wallet.KeyFamily) (*btcec.PrivateKey, error) {
		k, err := m.wallet.DeriveKey(wallet.KeyLocator{Family: f, Index: index})
		if err != nil {
			return nil, fmt.Errorf("derive channel key %d of family %d: %w", index, f, err)
		}
		return k, nil
	}
	var kr channel.Keyring
	for _, k := range []struct {
		f   wallet.KeyFamily
		dst **btcec.PrivateKey
	}{
		{wallet.KeyFamilyMultiSig, &kr.FundingKey},
		{wallet.KeyFamilyRevocationBase, &kr.RevocationBaseSecret},
		{wallet.KeyFamilyPaymentBase, &kr.PaymentBaseSecret},
		{wallet.KeyFamilyDelayBase, &kr.DelayedBaseSecret},
		{wallet.KeyFamilyHtlcBase, &kr.HTLCBaseSecret},
	} {
		key, err := derive(k.f)
		if err != nil {
			return nil, err
		}
		*k.dst = key
	}
	root, err := derive(wallet.KeyFamilyRevocationRoot)
	if err != nil {
		return nil, err
	}
	// Hashed, so that the shachain seed is not itself a signing key.
	seed := sha256.Sum256(append([]byte("flash shachain seed"), root.Serialize()...))
	kr.Secrets = shachain.NewProducer(seed)
	return &kr, nil
}

// newKeyring draws the keys of a new channel.
func (m *chanManager) newKeyring() (uint32, *channel.Keyring, error) {
	loc, err := m.wallet.NextKeyLocator(wallet.KeyFamilyMultiSig)
	if err != nil {
		return 0, nil, fmt.Errorf("new channel keys: %w", err)
	}
	kr, err := m.keyring(loc.Index)
	if err != nil {
		return 0, nil, err
	}
	return loc.Index, kr, nil
}

// closeScript is a fresh wallet output script, where our balance goes when
// the channel closes cooperatively.
func (m *chanManager) closeScript() ([]byte, error) {
	addr, err := m.wallet.NewAddress()
	if err != nil {
		return nil, fmt.Errorf("close address: %w", err)
	}
	return txscript.PayToAddrScript(addr)
}

// feeRate is the estimated fee rate for channel transactions, never below
// what BOLT 2 peers accept.
func (m *chanManager) feeRate() onchain.FeeRate {
	rate, err := m.chain.EstimateFeeRate(feeConfTarget)
	if err != nil {
		m.log.Warn("fee estimate", "err", err)
	}
	return max(rate, onchain.FeeRate(funding.FeeFloorPerKw))
}

// publish hands a transaction to the wallet, which records it and
// rebroadcasts it at every start until it confirms.
func (m *chanManager) publish(tx *wire.MsgTx, what string) {
	if err := m.wallet.PublishTransaction(tx); err != nil {
		m.log.Error("broadcast "+what+" transaction", "txid", tx.TxHash(), "err", err)
	}
}

// watch delivers the confirmation of ev to fn, once, in the background.
func (m *chanManager) watch(ev *notify.ConfEvent, fn func(notify.TxConfirmation)) {
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer ev.Cancel()
		for {
			select {
			case conf, ok := <-ev.Confirmed:
				if !ok {
					return
				}
				fn(conf)
				return
			case <-ev.NegativeConf:
			case <-m.ctx.Done():
				return
			}
		}
	}()
}

// watchSpend delivers the spend of ev to fn, once, in the background.
func (m *chanManager) watchSpend(ev *notify.SpendEvent, fn func(notify.SpendDetail)) {
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer ev.Cancel()
		for {
			select {
			case spend, ok := <-ev.Spend:
				if !ok {
					return
				}
				fn(spend)
				return
			case <-ev.Reorg:
			case <-m.ctx.Done():
				return
			}
		}
	}()
}

// linksOf returns the links of a peer.
func (m *chanManager) linksOf(pub *btcec.PublicKey) []*link {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*link
	for _, l := range m.links {
		if l.nodeID.IsEqual(pub) {
			out = append(out, l)
		}
	}
	return out
}

// allLinks returns every link, ordered by channel point.
func (m *chanManager) allLinks() []*link {
	m.mu.Lock()
	out := make([]*link, 0, len(m.links))
	for _, l := range m.links {
		out = append(out, l)
	}
	m.mu.Unlock()
	slices.SortFunc(out, func(a, b *link) int {
		if c := bytes.Compare(a.pt.Hash[:], b.pt.Hash[:]); c != 0 {
			return c
		}
		return cmp.Compare(a.pt.Index, b.pt.Index)
	})
	return out
}

// PeerConnected resynchronises the peer's channels.
func (m *chanManager) PeerConnected(p *peer.Peer) {
	for _, l := range m.linksOf(p.NodeID()) {
		l.connected(p)
	}
}

// PeerDisconnected fails the peer's funding flows and tells its channels.
func (m *chanManager) PeerDisconnected(nodeID *btcec.PublicKey) {
	m.failFlowsOf(nodeID, errors.New("peer disconnected"))
	for _, l := range m.linksOf(nodeID) {
		l.disconnected()
	}
}

// HandleMessage routes a peer message.
func (m *chanManager) HandleMessage(p *peer.Peer, msg lnwire.Message) {
	switch msg := msg.(type) {
	case *lnwire.OpenChannel:
		m.handleOpenChannel(p, msg)
	case *lnwire.AcceptChannel:
		m.handleAcceptChannel(p, msg)
	case *lnwire.FundingCreated:
		m.handleFundingCreated(p, msg)
	case *lnwire.FundingSigned:
		m.handleFundingSigned(p, msg)
	case *lnwire.Error:
		m.handleRemoteError(p, msg.ChannelID, string(msg.Data), true)
	case *lnwire.Warning:
		m.handleRemoteError(p, msg.ChannelID, string(msg.Data), false)
	default:
		cid, ok := channelIDOf(msg)
		if !ok {
			m.log.Debug("ignoring message", "peer", p.String(), "msg", msg.MsgType())
			return
		}
		m.mu.Lock()
		l := m.byID[cid]
		m.mu.Unlock()
		if l == nil || !l.nodeID.IsEqual(p.NodeID()) {
			// BOLT 1: a message for an unknown channel gets an error
			// for that channel, the connection stays.
			m.log.Debug("message for an unknown channel", "peer", p.String(),
				"msg", msg.MsgType(), "channel_id", cid)
			_ = m.sendTo(p, &lnwire.Error{ChannelID: cid, Data: []byte("unknown channel")})
			return
		}
		l.handle(p, msg)
	}
}

// handleRemoteError logs the peer's error or warning and fails the funding
// flow it names. An error for an open channel would have us force close it;
// until enforcement exists the channel is left as stored.
func (m *chanManager) handleRemoteError(p *peer.Peer, cid lnwire.ChannelID, text string, isError bool) {
	kind := "warning"
	if isError {
		kind = "error"
	}
	m.log.Warn("peer sent "+kind, "peer", p.String(), "channel_id", cid, "text", sanitize(text))
	if !isError {
		return
	}
	err := fmt.Errorf("peer sent error: %s", sanitize(text))
	if cid.IsZero() {
		m.failFlowsOf(p.NodeID(), err)
		return
	}
	m.mu.Lock()
	of := m.opening[cid]
	if of == nil {
		of = m.signing[cid]
	}
	delete(m.accepting, acceptKey{peerKey(p.NodeID()), cid})
	m.mu.Unlock()
	if of != nil && of.nodeID.IsEqual(p.NodeID()) {
		of.fail(err)
	}
}

// sanitize keeps the printable ASCII of a peer's text.
func sanitize(s string) string {
	b := []byte(s)
	if len(b) > 200 {
		b = b[:200]
	}
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '?'
		}
	}
	return string(b)
}

// channelIDOf returns the channel id of a channel message.
func channelIDOf(msg lnwire.Message) (lnwire.ChannelID, bool) {
	switch m := msg.(type) {
	case *lnwire.ChannelReady:
		return m.ChannelID, true
	case *lnwire.ChannelReestablish:
		return m.ChannelID, true
	case *lnwire.UpdateAddHTLC:
		return m.ChannelID, true
	case *lnwire.UpdateFulfillHTLC:
		return m.ChannelID, true
	case *lnwire.UpdateFailHTLC:
		return m.ChannelID, true
	case *lnwire.UpdateFailMalformedHTLC:
		return m.ChannelID, true
	case *lnwire.UpdateFee:
		return m.ChannelID, true
	case *lnwire.CommitmentSigned:
		return m.ChannelID, true
	case *lnwire.RevokeAndAck:
		return m.ChannelID, true
	case *lnwire.Shutdown:
		return m.ChannelID, true
	case *lnwire.ClosingSigned:
		return m.ChannelID, true
	}
	return lnwire.ChannelID{}, false
}

func nodeIDHex(pub *btcec.PublicKey) string { return hex.EncodeToString(pub.SerializeCompressed()) }

func onchainRate(perKw uint32) onchain.FeeRate { return onchain.FeeRate(perKw) }
