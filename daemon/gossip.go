package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
	"go.etcd.io/bbolt"

	"github.com/flash-ln/flash/channel/funding"
	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/daemon/chanstore"
	"github.com/flash-ln/flash/daemon/peer"
	"github.com/flash-ln/flash/onchain"
	"github.com/flash-ln/flash/onchain/chain"
	"github.com/flash-ln/flash/onchain/notify"
	"github.com/flash-ln/flash/router/gossip"
	"github.com/flash-ln/flash/router/gossiper"
	"github.com/flash-ln/flash/router/graph"
	"github.com/flash-ln/flash/router/pathfind"
)

// gossipInterval is how often queued gossip is relayed and held messages
// retried. Half a second keeps a small network converging quickly while
// batching what a busy one produces.
const gossipInterval = 500 * time.Millisecond

// disableDelay is how long the peer of one of our channels must be
// offline before the channel is announced as disabled. lnd waits twenty
// minutes; a few seconds still spare the update budget a restart would
// spend, and let a local test network see a vanished peer quickly.
const disableDelay = 5 * time.Second

// gossipSendTimeout bounds the wait for room in a peer's send queue when
// relaying: a slow peer misses gossip rather than stalling the relay of
// every other peer.
const gossipSendTimeout = 2 * time.Second

// Our forwarding policy for new channels, as lnd's defaults: 1 sat plus one
// millionth of the amount, and 80 blocks to claim an HTLC on chain (40 on
// regtest, where blocks come when asked).
const (
	defaultFeeBaseMsat   = 1000
	defaultFeeRatePPM    = 1
	defaultCltvDelta     = 80
	defaultCltvDeltaTest = 40
)

// gossipTypes are the BOLT 7 message types lnwire leaves undecoded; the
// peer manager hands them to the node's handler.
var gossipTypes = []lnwire.MessageType{
	lnwire.MsgChannelAnnouncement,
	lnwire.MsgNodeAnnouncement,
	lnwire.MsgChannelUpdate,
	lnwire.MsgAnnouncementSignatures,
	lnwire.MsgQueryShortChanIDs,
	lnwire.MsgReplyShortChanIDsEnd,
	lnwire.MsgQueryChannelRange,
	lnwire.MsgReplyChannelRange,
	lnwire.MsgGossipTimestampFilter,
}

func isGossipType(t lnwire.MessageType) bool {
	for _, g := range gossipTypes {
		if g == t {
			return true
		}
	}
	return false
}

// openGraph loads the channel graph from the node's database and creates
// the mission control that pathfinding and payments share.
func (d *Daemon) openGraph(func(string, func() error)) error {
	g, err := graph.Open(d.db, d.logger("graph"))
	if err != nil {
		return fmt.Errorf("open graph: %w", err)
	}
	d.graph = g
	// Mission control lives in memory: what payments taught fades within
	// hours anyway, so a restart loses little.
	d.mission = pathfind.NewMissionControl(pathfind.MissionConfig{})
	return nil
}

// gossipNode ties the Gossiper to the daemon: it is the peer manager's
// handler, passing gossip to the Gossiper and everything else to the
// channel manager, and it drives the Gossiper from a clock and the chain.
type gossipNode struct {
	log      *slog.Logger
	g        *gossiper.Gossiper
	cm       *chanManager
	chain    *chain.Chain
	graph    *graph.Graph
	db       *bbolt.DB
	defaults gossiper.Policy
	// peers is set once, before the peer manager starts.
	peers *peer.Manager

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// tip is the height of the last block seen, -1 before the first.
	tip atomic.Int32

	// syncMu serialises syncLocal; offlineSince, under it, is when the
	// peer of each of our channels was first seen offline.
	syncMu       sync.Mutex
	offlineSince map[wire.OutPoint]time.Time

	mu sync.Mutex
	// registered holds the short channel ids of our channels handed to
	// AnnounceChannel, by channel point.
	registered map[wire.OutPoint]lnwire.ShortChannelID
}

// newGossipNode creates the Gossiper for the node, announcing listen as
// our address. The caller sets peers before the peer manager starts: the
// manager needs the handler first.
func (d *Daemon) newGossipNode(cm *chanManager, listen net.Addr) (*gossipNode, error) {
	key, err := d.wallet.NodeKey()
	if err != nil {
		return nil, fmt.Errorf("derive node key: %w", err)
	}
	n := &gossipNode{
		log:          d.logger("gossip"),
		cm:           cm,
		chain:        d.chain,
		graph:        d.graph,
		db:           d.db,
		registered:   make(map[wire.OutPoint]lnwire.ShortChannelID),
		offlineSince: make(map[wire.OutPoint]time.Time),
		defaults: gossiper.Policy{
			FeeBaseMsat:     defaultFeeBaseMsat,
			FeeRatePPM:      defaultFeeRatePPM,
			CltvExpiryDelta: defaultCltvDelta,
		},
	}
	if d.cfg.Params.Name == "regtest" {
		n.defaults.CltvExpiryDelta = defaultCltvDeltaTest
	}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	n.tip.Store(-1)
	id := gossip.NewNodeID(key.PubKey())
	g, err := gossiper.New(gossiper.Config{
		Graph:     d.graph,
		ChainHash: lnwire.ChainHash(*d.cfg.Params.GenesisHash),
		Chain:     gossipChain{d.chain},
		Peers:     (*gossipPeers)(n),
		NodeKey:   gossiper.KeySigner{Key: key},
		Node: gossiper.NodeInfo{
			Alias:     d.alias,
			Color:     [3]byte{id[1], id[2], id[3]},
			Addresses: announceAddresses(listen.String()),
		},
		Logger: n.log,
	})
	if err != nil {
		return nil, fmt.Errorf("gossiper: %w", err)
	}
	n.g = g
	return n, nil
}

// announceAddresses turns the listen address into the addresses of our
// node_announcement; a wildcard or unparsable host announces none.
func announceAddresses(listen string) []lnwire.Address {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return nil
	}
	ap, err := netip.ParseAddrPort(net.JoinHostPort(host, port))
	if err != nil || ap.Addr().IsUnspecified() || ap.Port() == 0 {
		return nil
	}
	t := lnwire.AddrIPv4
	if !ap.Addr().Unmap().Is4() {
		t = lnwire.AddrIPv6
	}
	return []lnwire.Address{{Type: t, IP: ap.Addr().Unmap(), Port: ap.Port()}}
}

// start runs the relay clock and the chain watch until stop.
func (n *gossipNode) start(n2 *notify.Notifier) error {
	ev, err := n2.RegisterBlockEpochs()
	if err != nil {
		return fmt.Errorf("gossip: watch blocks: %w", err)
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		defer ev.Cancel()
		t := time.NewTicker(gossipInterval)
		defer t.Stop()
		for {
			select {
			case epoch, ok := <-ev.Epochs:
				if !ok {
					return
				}
				n.block(epoch.Hash, epoch.Height)
			case <-t.C:
				n.syncLocal()
				n.g.Tick(time.Now())
			case <-n.ctx.Done():
				return
			}
		}
	}()
	return nil
}

// stop ends the clock and the chain watch.
func (n *gossipNode) stop() error {
	n.cancel()
	n.wg.Wait()
	return nil
}

// block prunes the channels whose funding outputs the block spends, then
// updates the depth of our channels.
func (n *gossipNode) block(hash chainhash.Hash, height int32) {
	n.tip.Store(height)
	blk, err := n.chain.BlockByHash(hash)
	if err != nil {
		n.log.Error("read block", "hash", hash, "err", err)
	} else {
		var spent []wire.OutPoint
		for _, tx := range blk.MsgBlock().Transactions {
			if blockchain.IsCoinBaseTx(tx) {
				continue
			}
			for _, in := range tx.TxIn {
				spent = append(spent, in.PreviousOutPoint)
			}
		}
		if err := n.g.PruneSpent(spent...); err != nil {
			n.log.Error("prune spent channels", "height", height, "err", err)
		}
	}
	n.syncLocal()
	n.g.Flush()
}

// syncLocal brings the Gossiper's view of our channels up to date with
// the channel manager: channels that became usable are registered, closed
// ones forgotten, and the depth of each is reported once a block has been
// seen. Polling the channel manager keeps the channel code free of gossip
// concerns; the relay clock bounds the delay to half a second.
func (n *gossipNode) syncLocal() {
	n.syncMu.Lock()
	defer n.syncMu.Unlock()
	height := n.tip.Load()
	now := time.Now()
	for _, l := range n.cm.allLinks() {
		l.mu.Lock()
		rec := *l.rec
		var lc gossiper.LocalChannel
		usable := rec.State == chanstore.StateActive && rec.ShortChannelID != 0
		if usable {
			lc = n.localChannel(l)
		}
		l.mu.Unlock()

		n.mu.Lock()
		scid, known := n.registered[rec.Point]
		n.mu.Unlock()
		switch {
		case rec.State == chanstore.StateClosed && !known:
			// Closed while we were down: the block that spent it
			// was never seen by this run.
			closed := lnwire.NewShortChanIDFromInt(rec.ShortChannelID)
			if rec.ShortChannelID != 0 && n.graph.HasChannel(closed) {
				if err := n.g.ChannelClosed(closed); err != nil {
					n.log.Error("forget closed channel", "short_channel_id", closed, "err", err)
				}
			}
		case rec.State == chanstore.StateClosed:
			if err := n.g.ChannelClosed(scid); err != nil {
				n.log.Error("forget closed channel", "short_channel_id", scid, "err", err)
				continue
			}
			n.mu.Lock()
			delete(n.registered, rec.Point)
			n.mu.Unlock()
			delete(n.offlineSince, rec.Point)
		case usable && !known:
			if err := n.g.AnnounceChannel(lc); err != nil {
				n.log.Error("announce channel", "channel_point", rec.Point, "err", err)
				continue
			}
			scid = lc.ShortChannelID
			known = true
			n.mu.Lock()
			n.registered[rec.Point] = scid
			n.mu.Unlock()
		}
		if known && usable {
			n.updateEnabled(l, scid, now)
		}
		if known && usable && height >= 0 {
			confs := int64(height) - int64(scid.BlockHeight) + 1
			if confs > 0 {
				if err := n.g.ChannelDepth(scid, uint32(confs)); err != nil {
					n.log.Error("channel depth", "short_channel_id", scid, "err", err)
				}
			}
		}
	}
}

// updateEnabled sets the disabled bit of our update as the channel's
// peer comes and goes. A channel is disabled only once its peer has been
// offline for disableDelay, so that a restart or a brief drop does not
// spend two updates: other nodes accept only a few per day and channel.
// syncMu is held.
func (n *gossipNode) updateEnabled(l *link, scid lnwire.ShortChannelID, now time.Time) {
	online := false
	if n.peers != nil {
		_, online = n.peers.Peer(l.nodeID)
	}
	since, waiting := n.offlineSince[l.pt]
	switch {
	case online:
		delete(n.offlineSince, l.pt)
	case !waiting:
		n.offlineSince[l.pt] = now
		return
	case now.Sub(since) < disableDelay:
		return
	}
	// A no-op when the bit does not change.
	if err := n.g.SetChannelEnabled(scid, online); err != nil {
		n.log.Error("set channel enabled", "short_channel_id", scid, "enabled", online, "err", err)
	}
}

// localChannel describes a link's channel to the Gossiper; l.mu is held.
func (n *gossipNode) localChannel(l *link) gossiper.LocalChannel {
	p := l.ch.Params()
	pol := n.defaults
	pol.HTLCMinimumMsat = max(p.Remote.HTLCMinimum, 1)
	pol.HTLCMaximumMsat = lnwire.NewMSatFromSatoshis(uint64(p.Capacity))
	if m := p.Remote.MaxHTLCValueInFlight; m > 0 && m < pol.HTLCMaximumMsat {
		pol.HTLCMaximumMsat = m
	}
	if err := loadPolicy(n.db, l.pt, &pol); err != nil {
		n.log.Error("load channel policy; using the defaults", "err", err)
	}
	return gossiper.LocalChannel{
		ShortChannelID: lnwire.NewShortChanIDFromInt(l.rec.ShortChannelID),
		ChannelID:      lnwire.NewChannelID(l.pt),
		Peer:           gossip.NewNodeID(l.nodeID),
		BitcoinKey:     gossiper.KeySigner{Key: l.kr.FundingKey},
		PeerBitcoinKey: gossip.NewNodeID(p.Remote.FundingKey),
		Policy:         pol,
		Private:        isPrivate(n.db, l.pt),
	}
}

// recordPrivate remembers, before a new channel is stored, that it was
// opened without the announce flag: whatever happens next, it must never
// be announced.
func (m *chanManager) recordPrivate(p *funding.Pending) error {
	if p.Announce || m.markPrivate == nil {
		return nil
	}
	return m.markPrivate(p.FundingOutpoint)
}

// PeerConnected tells the channels, then the Gossiper, of a new peer.
func (n *gossipNode) PeerConnected(p *peer.Peer) {
	n.cm.PeerConnected(p)
	n.g.PeerConnected(gossip.NewNodeID(p.NodeID()), p.Features())
}

// PeerDisconnected tells the channels and the Gossiper a peer is gone.
func (n *gossipNode) PeerDisconnected(pub *btcec.PublicKey) {
	n.cm.PeerDisconnected(pub)
	n.g.PeerDisconnected(gossip.NewNodeID(pub))
}

// HandleMessage passes gossip to the Gossiper and the rest to the
// channel manager. A peer whose gossip is rejected with a penalty is
// warned, and dropped once its score says so.
func (n *gossipNode) HandleMessage(p *peer.Peer, msg lnwire.Message) {
	u, ok := msg.(*lnwire.UnknownMessage)
	if !ok || !isGossipType(u.Type) {
		n.cm.HandleMessage(p, msg)
		return
	}
	raw := make([]byte, 2, 2+len(u.Payload))
	raw[0], raw[1] = byte(u.Type>>8), byte(u.Type)
	gm, err := gossip.ParseMessage(append(raw, u.Payload...))
	if err != nil {
		n.log.Info("malformed gossip", "peer", p.String(), "type", u.Type, "err", err)
		p.Fail(&lnwire.Warning{Data: []byte(fmt.Sprintf("malformed %v: %v", u.Type, err))}, err)
		return
	}
	res, err := n.g.HandleMessage(gossip.NewNodeID(p.NodeID()), gm)
	switch {
	case err == nil:
	case res.Disconnect:
		n.log.Warn("dropping peer for bad gossip", "peer", p.String(), "score", res.Score, "err", err)
		p.Fail(&lnwire.Warning{Data: []byte(err.Error())}, err)
	case res.Penalty > 0:
		ctx, cancel := context.WithTimeout(n.ctx, gossipSendTimeout)
		_ = p.Send(ctx, &lnwire.Warning{Data: []byte(err.Error())})
		cancel()
	}
}

// gossipPeers is the Gossiper's view of the peer manager.
type gossipPeers gossipNode

// Send queues msg for the peer, waiting a bounded time for room.
func (gp *gossipPeers) Send(id gossiper.NodeID, msg lnwire.Message) error {
	n := (*gossipNode)(gp)
	if n.peers == nil {
		return errors.New("peers not started")
	}
	pub, err := id.PubKey()
	if err != nil {
		return err
	}
	p, ok := n.peers.Peer(pub)
	if !ok {
		return fmt.Errorf("peer %s not connected", id)
	}
	ctx, cancel := context.WithTimeout(n.ctx, gossipSendTimeout)
	defer cancel()
	return p.Send(ctx, msg)
}

// Peers lists the connected peers.
func (gp *gossipPeers) Peers() []gossiper.NodeID {
	n := (*gossipNode)(gp)
	if n.peers == nil {
		return nil
	}
	infos := n.peers.Peers()
	ids := make([]gossiper.NodeID, len(infos))
	for i, info := range infos {
		ids[i] = gossip.NewNodeID(info.NodeID)
	}
	return ids
}

// gossipChain is the Gossiper's view of the built-in chain.
type gossipChain struct{ c *chain.Chain }

func (gc gossipChain) TxIDAt(height, txIndex uint32) (chainhash.Hash, error) {
	hash, err := gc.c.BlockHashByHeight(int32(height))
	if err != nil {
		return chainhash.Hash{}, err
	}
	blk, err := gc.c.BlockByHash(hash)
	if err != nil {
		return chainhash.Hash{}, err
	}
	txs := blk.Transactions()
	if int(txIndex) >= len(txs) {
		return chainhash.Hash{}, fmt.Errorf("block %d has no transaction %d: %w",
			height, txIndex, onchain.ErrNotFound)
	}
	return *txs[txIndex].Hash(), nil
}

func (gc gossipChain) FetchUtxo(op wire.OutPoint) (*wire.TxOut, error) {
	out, err := gc.c.FetchUtxo(op)
	if errors.Is(err, onchain.ErrNotFound) {
		return nil, nil
	}
	return out, err
}

func (gc gossipChain) BestHeight() uint32 {
	_, h := gc.c.BestBlock()
	return uint32(max(h, 0))
}

// gossipFeatures are the peer manager's default init features plus
// gossip_queries, so that peers sync by gossip_timestamp_filter.
func gossipFeatures() *lnwire.FeatureVector {
	f := peer.DefaultFeatures()
	f.Set(lnwire.GossipQueries.Optional())
	return f
}
