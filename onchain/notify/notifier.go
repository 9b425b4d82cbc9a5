package notify

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
	"github.com/flash-ln/flash/onchain"
)

// DefaultReorgDepth is the number of recent block hashes kept when
// Config.ReorgDepth is zero: one week of blocks.
const DefaultReorgDepth = 1008

// epochBacklog bounds the block epochs queued for one slow consumer. Epochs
// describe the tip; a consumer that far behind needs the latest ones.
const epochBacklog = 4096

var (
	// ErrNotStarted is returned by registrations before Start.
	ErrNotStarted = errors.New("notifier not started")
	// ErrStopped is returned by registrations after Stop.
	ErrStopped = errors.New("notifier stopped")
	// ErrInvalidRegistration is returned for a registration that can
	// never fire: zero confirmations, a negative height hint, the null
	// outpoint.
	ErrInvalidRegistration = errors.New("invalid registration")
)

// Config is what a Notifier needs.
type Config struct {
	// Chain is the block source followed.
	Chain onchain.BlockSource
	// Logger receives the notifier's logs; nil discards them.
	Logger *slog.Logger
	// ReorgDepth is how many recent block hashes the notifier keeps to
	// follow reorganisations cheaply. A deeper one is still followed, by
	// walking back through the source's stored blocks. Zero means
	// DefaultReorgDepth.
	ReorgDepth int32
}

// Notifier turns the events of a block source into per-registration
// notifications of confirmations, spends and new tips.
//
// All state is guarded by one mutex. The event loop, the registrations and
// the historical scans take it only for bookkeeping that never waits for a
// consumer: notifications go to mailboxes. Historical scans read blocks
// outside it; the source is read under it only at Start, to fetch a tip
// header, and while resynchronising after an event that does not fit,
// which is rare. The source never calls back into the notifier, so this
// cannot deadlock.
type Notifier struct {
	cfg Config
	log *slog.Logger

	quit chan struct{}
	wg   sync.WaitGroup

	mu    sync.Mutex
	state runState
	sub   onchain.Subscription
	view  chainView
	// tipHeader is the header of the view's tip when known; it is
	// fetched lazily after a disconnection.
	tipHeader *wire.BlockHeader
	// reorgFrom is the tip height before the current run of
	// disconnections, -1 outside one. It gives the depth reported on
	// NegativeConf.
	reorgFrom int32
	nextID    uint64
	// scans counts the historical scans running.
	scans int
	// handled counts the chain events processed.
	handled uint64

	confs         map[chainhash.Hash]*confWatch
	confsByBlock  map[chainhash.Hash][]*confWatch
	spends        map[wire.OutPoint]*spendWatch
	spendsByBlock map[chainhash.Hash][]*spendWatch
	epochs        map[uint64]*epochReg
	mempoolSpends map[wire.OutPoint][]*mempoolReg
}

type runState int

const (
	stateNew runState = iota
	stateRunning
	stateStopped
)

// New creates a notifier; Start makes it follow the chain.
func New(cfg Config) *Notifier {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	depth := cfg.ReorgDepth
	if depth <= 0 {
		depth = DefaultReorgDepth
	}
	n := &Notifier{
		cfg:           cfg,
		log:           log,
		quit:          make(chan struct{}),
		reorgFrom:     -1,
		confs:         make(map[chainhash.Hash]*confWatch),
		confsByBlock:  make(map[chainhash.Hash][]*confWatch),
		spends:        make(map[wire.OutPoint]*spendWatch),
		spendsByBlock: make(map[chainhash.Hash][]*spendWatch),
		epochs:        make(map[uint64]*epochReg),
		mempoolSpends: make(map[wire.OutPoint][]*mempoolReg),
	}
	n.view.depth = int(depth)
	return n
}

// Start subscribes to the chain and begins following it.
func (n *Notifier) Start() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	switch n.state {
	case stateRunning:
		return errors.New("notifier already started")
	case stateStopped:
		return ErrStopped
	}
	if n.cfg.Chain == nil {
		return errors.New("notifier: no chain configured")
	}
	// Subscribe before reading the tip: events that happen in between are
	// then both in the loaded view and in the stream, and the stream's
	// copies are recognised as already processed.
	sub := n.cfg.Chain.Subscribe()
	if err := n.loadView(); err != nil {
		sub.Cancel()
		return fmt.Errorf("start notifier: %w", err)
	}
	n.sub = sub
	n.state = stateRunning
	n.wg.Add(1)
	go n.run(sub)
	return nil
}

// Stop ends the notifier and every registration, closing their channels,
// and waits for all its goroutines to finish.
func (n *Notifier) Stop() error {
	n.mu.Lock()
	if n.state == stateStopped {
		n.mu.Unlock()
		return nil
	}
	n.state = stateStopped
	sub := n.sub
	var closers []*closer
	for _, w := range n.confs {
		closers = append(closers, w.scanQuit)
		for _, r := range w.regs {
			closers = append(closers, r.quit)
		}
	}
	for _, w := range n.spends {
		closers = append(closers, w.scanQuit)
		for _, r := range w.regs {
			closers = append(closers, r.quit)
		}
	}
	for _, r := range n.epochs {
		closers = append(closers, r.quit)
	}
	for _, regs := range n.mempoolSpends {
		for _, r := range regs {
			closers = append(closers, r.quit)
		}
	}
	clear(n.confs)
	clear(n.confsByBlock)
	clear(n.spends)
	clear(n.spendsByBlock)
	clear(n.epochs)
	clear(n.mempoolSpends)
	n.mu.Unlock()

	close(n.quit)
	if sub != nil {
		sub.Cancel()
	}
	for _, c := range closers {
		c.close()
	}
	n.wg.Wait()
	return nil
}

// BestHeight is the height of the tip as far as the notifier has processed
// it, or -1 before Start.
func (n *Notifier) BestHeight() int32 {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.view.empty() {
		return -1
	}
	return n.view.tipHeight()
}

// usable tells whether registrations are accepted. Called with mu held.
func (n *Notifier) usable() error {
	switch n.state {
	case stateNew:
		return ErrNotStarted
	case stateStopped:
		return ErrStopped
	}
	if n.view.empty() {
		return errors.New("notifier has no view of the chain")
	}
	return nil
}

func (n *Notifier) newID() uint64 {
	n.nextID++
	return n.nextID
}

// loadView fills the view with the source's most recent main-chain blocks.
// Called with mu held.
func (n *Notifier) loadView() error {
	src := n.cfg.Chain
	_, best := src.BestBlock()
	if best < 0 {
		return fmt.Errorf("chain reports tip height %d", best)
	}
	base := max(0, best-int32(n.view.depth)+1)
	hashes := make([]chainhash.Hash, 0, best-base+1)
	for h := base; h <= best; h++ {
		hash, err := src.BlockHashByHeight(h)
		if err != nil {
			if len(hashes) > 0 {
				// The chain shrank while we read it; its events
				// bring the view up to date.
				break
			}
			return fmt.Errorf("read main chain at height %d: %w", h, err)
		}
		hashes = append(hashes, hash)
	}
	n.view.reset(base, hashes)
	n.tipHeader = nil
	n.reorgFrom = -1
	return nil
}

// run applies chain events in order until Stop or the end of the stream.
func (n *Notifier) run(sub onchain.Subscription) {
	defer n.wg.Done()
	for {
		select {
		case ev, ok := <-sub.Events():
			if !ok {
				n.log.Warn("chain event stream ended; notifications stop")
				return
			}
			n.handle(ev)
		case <-n.quit:
			return
		}
	}
}

func (n *Notifier) handle(ev onchain.Event) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.state != stateRunning {
		return
	}
	n.handled++
	switch ev.Kind {
	case onchain.BlockConnected:
		n.handleConnected(ev)
	case onchain.BlockDisconnected:
		n.handleDisconnected(ev)
	case onchain.TxAccepted:
		if ev.Tx != nil {
			n.mempoolTx(ev.Tx.MsgTx())
		}
	}
}

// eventHash is the hash of the event's block, computed from the header when
// the block is there rather than trusted from the event.
func eventHash(ev onchain.Event) chainhash.Hash {
	if ev.Block != nil {
		return ev.Block.MsgBlock().Header.BlockHash()
	}
	return ev.Hash
}

func (n *Notifier) handleConnected(ev onchain.Event) {
	if ev.Block == nil {
		n.resync("connected event without a block")
		return
	}
	if ev.Height < n.view.base {
		// Older than anything followed: an event from before the view
		// was loaded.
		return
	}
	hash := eventHash(ev)
	if h, ok := n.view.hashAt(ev.Height); ok && h == hash {
		return // already processed
	}
	msg := ev.Block.MsgBlock()
	tipHash, tipHeight := n.view.tip()
	if ev.Height == tipHeight+1 && msg.Header.PrevBlock == tipHash {
		n.connect(hash, ev.Height, msg)
		return
	}
	n.resync(fmt.Sprintf("block %s at height %d does not extend tip %s at height %d",
		hash, ev.Height, tipHash, tipHeight))
}

func (n *Notifier) handleDisconnected(ev onchain.Event) {
	hash := eventHash(ev)
	if h, ok := n.view.hashAt(ev.Height); !ok || h != hash {
		// Never processed, or already undone by a resynchronisation.
		return
	}
	if ev.Height <= n.view.base {
		n.resync(fmt.Sprintf("block %s at height %d disconnected, deeper than the %d blocks followed",
			hash, ev.Height, n.view.depth))
		return
	}
	// The block may sit below our tip when the view ran ahead of the event
	// stream; the stream reconnects whatever comes back.
	for n.view.tipHeight() >= ev.Height {
		n.disconnectTip()
	}
}

// resync brings the view back onto the source's main chain after an event
// that does not fit it: undo blocks the source no longer has on its main
// chain, then connect the source's blocks up to its tip. Later events for
// blocks handled here are recognised as duplicates. Called with mu held.
func (n *Notifier) resync(reason string) {
	n.log.Warn("resynchronising with the chain", "reason", reason)
	src := n.cfg.Chain
	for {
		hash, height := n.view.tip()
		if src.MainChainHasBlock(hash) {
			break
		}
		if len(n.view.hashes) > 1 {
			n.disconnectTip()
			continue
		}
		if !n.rewindBelowView(hash, height) {
			return
		}
		break
	}
	_, best := src.BestBlock()
	for height := n.view.tipHeight() + 1; height <= best; height++ {
		hash, err := src.BlockHashByHeight(height)
		if err != nil {
			n.log.Debug("resync stops early", "height", height, "err", err)
			return
		}
		blk, err := src.BlockByHash(hash)
		if err != nil {
			n.log.Warn("resync cannot read block", "hash", hash, "err", err)
			return
		}
		msg := blk.MsgBlock()
		tipHash, _ := n.view.tip()
		if msg.Header.PrevBlock != tipHash {
			// The source is reorganising right now; its
			// events will follow.
			return
		}
		n.connect(hash, height, msg)
	}
}

// rewindBelowView handles a reorganisation whose fork lies below the view,
// whose last block (hash at height) is no longer on the main chain: it finds
// the fork by walking back through the source's stored blocks, undoes what
// was recorded in blocks above the fork, and restarts the view at the fork,
// from where resync connects and scans the new branch. Called with mu held.
func (n *Notifier) rewindBelowView(hash chainhash.Hash, height int32) bool {
	n.log.Warn("reorganisation deeper than followed", "height", height, "followed_depth", n.view.depth)
	src := n.cfg.Chain
	fork, forkHeight := hash, height
	for !src.MainChainHasBlock(fork) {
		blk, err := src.BlockByHash(fork)
		if err != nil || forkHeight == 0 {
			n.log.Error("cannot find the fork of a deep reorganisation", "block", fork, "err", err)
			return false
		}
		fork = blk.MsgBlock().Header.PrevBlock
		forkHeight--
	}
	n.disconnectTip()
	for blockHash, ws := range n.confsByBlock {
		if len(ws) > 0 && ws[0].loc != nil && ws[0].loc.BlockHeight > forkHeight {
			n.undoConfs(blockHash, n.reorgFrom-ws[0].loc.BlockHeight+1)
		}
	}
	for blockHash, ws := range n.spendsByBlock {
		if len(ws) > 0 && ws[0].spend != nil && ws[0].spend.SpendingHeight > forkHeight {
			n.undoSpends(blockHash)
		}
	}
	n.view.reset(forkHeight, []chainhash.Hash{fork})
	n.updateConfs()
	return true
}

// connect applies a block that extends the view's tip. Called with mu held.
func (n *Notifier) connect(hash chainhash.Hash, height int32, blk *wire.MsgBlock) {
	n.view.push(hash)
	header := blk.Header
	n.tipHeader = &header
	n.reorgFrom = -1
	n.log.Debug("block connected", "hash", hash, "height", height, "txs", len(blk.Transactions))

	n.confsInBlock(hash, height, blk)
	n.spendsInBlock(hash, height, blk)
	n.updateConfs()
	n.sendEpoch(BlockEpoch{Hash: hash, Height: height, Header: &header})
}

// disconnectTip undoes the view's tip. Called with mu held.
func (n *Notifier) disconnectTip() {
	hash, height := n.view.tip()
	if n.reorgFrom < 0 {
		n.reorgFrom = height
	}
	n.view.pop()
	n.tipHeader = nil
	n.log.Debug("block disconnected", "hash", hash, "height", height)

	n.undoConfs(hash, n.reorgFrom-height+1)
	n.undoSpends(hash)
	if !n.view.empty() {
		n.updateConfs()
	}
}

// closer closes a channel once, whoever asks first.
type closer struct {
	once sync.Once
	ch   chan struct{}
}

func newCloser() *closer { return &closer{ch: make(chan struct{})} }

func (c *closer) close() { c.once.Do(func() { close(c.ch) }) }
