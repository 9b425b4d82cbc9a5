package wallet

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/btcutil/hdkeychain"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/flash-ln/flash/onchain"
	"go.etcd.io/bbolt"
)

// DefaultLeaseDuration is how long CreateTransaction reserves the inputs it
// selected when Config.LeaseDuration is zero.
const DefaultLeaseDuration = 10 * time.Minute

// Config is what Open needs.
type Config struct {
	// DB is the node's database. The wallet keeps its state in its own
	// top-level bucket and never touches the others.
	DB *bbolt.DB
	// SeedFile holds the hex-encoded BIP32 seed. It is created with a
	// fresh 32-byte seed, mode 0600, if it does not exist.
	SeedFile string
	// Params selects the network: address encoding and BIP44 coin type.
	Params *chaincfg.Params
	// Chain is the chain the wallet follows.
	Chain onchain.BlockSource
	// Broadcaster relays transactions published by the wallet.
	Broadcaster onchain.Broadcaster
	// Logger receives the wallet's log records; nil discards them.
	Logger *slog.Logger
	// LeaseDuration bounds how long CreateTransaction reserves inputs
	// for a transaction that is neither published nor released.
	LeaseDuration time.Duration
	// Now is the clock for lease expiry; nil means time.Now.
	Now func() time.Time
}

// Wallet is an HD wallet of P2WPKH outputs following one chain. Its
// methods are safe for concurrent use.
type Wallet struct {
	cfg  Config
	db   *bbolt.DB
	log  *slog.Logger
	keys *keyring

	mu      sync.Mutex
	tip     chainTip
	sub     onchain.Subscription
	quit    chan struct{}
	done    chan struct{}
	started bool

	// reorged is set when a block was undone; the next time the wallet
	// reaches the chain tip it drops the unconfirmed transactions that
	// did not come back to the mempool.
	reorged atomic.Bool
	// handled counts the events taken from the subscription, for tests.
	handled atomic.Uint64
}

// Open loads the seed (creating it on first start) and the wallet state
// (creating its buckets on first start). It does not read the chain
// beyond its tip; Start does the catching up.
func Open(cfg Config) (*Wallet, error) {
	switch {
	case cfg.DB == nil:
		return nil, errors.New("wallet: no database")
	case cfg.SeedFile == "":
		return nil, errors.New("wallet: no seed file")
	case cfg.Params == nil:
		return nil, errors.New("wallet: no chain parameters")
	case cfg.Chain == nil:
		return nil, errors.New("wallet: no chain")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.LeaseDuration <= 0 {
		cfg.LeaseDuration = DefaultLeaseDuration
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	seed, created, err := loadOrCreateSeed(cfg.SeedFile)
	if err != nil {
		return nil, fmt.Errorf("wallet: %w", err)
	}
	keys, err := newKeyring(seed, cfg.Params)
	clear(seed)
	if err != nil {
		return nil, fmt.Errorf("wallet: %w", err)
	}
	if created {
		cfg.Logger.Info("created wallet seed", "file", cfg.SeedFile)
	}
	w := &Wallet{cfg: cfg, db: cfg.DB, log: cfg.Logger, keys: keys}

	err = w.db.Update(func(tx *bbolt.Tx) error {
		fresh := tx.Bucket(rootBucket) == nil
		if err := createBuckets(tx); err != nil {
			return err
		}
		b, err := openBuckets(tx)
		if err != nil {
			return err
		}
		if fresh || b.meta.Get(keySeedID) == nil {
			// Nothing can pay a wallet that has no address yet, so
			// the chain before its birth needs no scan.
			hash, height := cfg.Chain.BestBlock()
			w.tip = chainTip{Hash: hash, Height: height}
			if !created {
				// No rescan exists yet: coins paid to this seed
				// before now stay invisible.
				cfg.Logger.Warn("wallet state created for an existing seed; "+
					"earlier payments to it are not scanned", "height", height)
			}
			if err := putUint32(b.meta, keyVersion, storeVersion); err != nil {
				return err
			}
			if err := b.meta.Put(keySeedID, keys.seedID); err != nil {
				return err
			}
			return writeTip(b, w.tip)
		}
		if v := getUint32(b.meta, keyVersion); v != storeVersion {
			return fmt.Errorf("store version %d, want %d", v, storeVersion)
		}
		if !bytes.Equal(b.meta.Get(keySeedID), keys.seedID) {
			return errors.New("seed file does not belong to this wallet database")
		}
		w.tip, err = readTip(b)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("wallet: open store: %w", err)
	}
	return w, nil
}

// Start catches up with the chain (undoing blocks of ours that left the
// main chain, then applying the new ones), picks up relevant mempool
// transactions, rebroadcasts our unconfirmed ones, and then follows the
// chain's events until Stop. It returns once the wallet has reached the
// tip the chain had when Start was called.
func (w *Wallet) Start() error {
	w.mu.Lock()
	if w.started {
		w.mu.Unlock()
		return errors.New("wallet: already started")
	}
	w.started = true
	w.mu.Unlock()

	// Subscribe before reading the tip so that no block falls between
	// the catch-up and the event stream.
	sub := w.cfg.Chain.Subscribe()
	fail := func(err error) error {
		sub.Cancel()
		w.mu.Lock()
		w.started = false
		w.mu.Unlock()
		return fmt.Errorf("wallet: start: %w", err)
	}
	if err := w.catchUp(); err != nil {
		return fail(fmt.Errorf("catch up: %w", err))
	}
	if err := w.reconcileMempool(); err != nil {
		return fail(fmt.Errorf("mempool: %w", err))
	}

	quit, done := make(chan struct{}), make(chan struct{})
	w.mu.Lock()
	w.sub, w.quit, w.done = sub, quit, done
	w.mu.Unlock()
	go w.run(sub, quit, done)
	tip := w.syncedTip()
	w.log.Info("wallet synced", "height", tip.Height, "hash", tip.Hash)
	return nil
}

// Stop ends the event loop. The database stays open; it belongs to the
// caller.
func (w *Wallet) Stop() error {
	w.mu.Lock()
	sub, quit, done := w.sub, w.quit, w.done
	w.sub, w.quit, w.done = nil, nil, nil
	w.mu.Unlock()
	if sub == nil {
		return nil
	}
	close(quit)
	sub.Cancel()
	<-done
	w.mu.Lock()
	w.started = false
	w.mu.Unlock()
	return nil
}

// maxEventBatch bounds how many queued events one database transaction
// applies. Batching lets a wallet that fell behind (a burst of mined
// blocks, a peer sync) catch up without one fsync per block.
const maxEventBatch = 256

func (w *Wallet) run(sub onchain.Subscription, quit, done chan struct{}) {
	defer close(done)
	events := sub.Events()
	batch := make([]onchain.Event, 0, maxEventBatch)
	for {
		select {
		case <-quit:
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			batch = append(batch[:0], ev)
		drain:
			for len(batch) < maxEventBatch {
				select {
				case ev, ok := <-events:
					if !ok {
						break drain
					}
					batch = append(batch, ev)
				default:
					break drain
				}
			}
			if err := w.handleEvents(batch); err != nil {
				// The failed batch left the stored state at its
				// last good block; ask the chain where it stands.
				w.log.Error("wallet: chain events", "err", err)
				if err := w.catchUp(); err != nil {
					w.log.Error("wallet: catch up", "err", err)
				}
			}
			w.handled.Add(uint64(len(batch)))
		}
	}
}

// SyncedTo is the last block whose effects the wallet has applied.
func (w *Wallet) SyncedTo() (chainhash.Hash, int32) {
	t := w.syncedTip()
	return t.Hash, t.Height
}

func (w *Wallet) syncedTip() chainTip {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.tip
}

func (w *Wallet) setTip(t chainTip) {
	w.mu.Lock()
	w.tip = t
	w.mu.Unlock()
}

// NewAddress hands out the next external P2WPKH address,
// m/84'/coin'/0'/0/i, and watches it from then on.
func (w *Wallet) NewAddress() (btcutil.Address, error) {
	var addr btcutil.Address
	err := w.db.Update(func(tx *bbolt.Tx) error {
		b, err := openBuckets(tx)
		if err != nil {
			return err
		}
		addr, _, err = w.deriveNextScript(b, branchExternal)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("wallet: new address: %w", err)
	}
	return addr, nil
}

// deriveNextScript takes the next index of branch and records its script
// as ours.
func (w *Wallet) deriveNextScript(b *buckets, branch byte) (btcutil.Address, []byte, error) {
	key := append(append([]byte(nil), keyAddrNext...), branch)
	index := getUint32(b.meta, key)
	if index >= hdkeychain.HardenedKeyStart {
		return nil, nil, fmt.Errorf("address branch %d exhausted", branch)
	}
	addr, script, err := w.keys.addressScript(branch, index)
	if err != nil {
		return nil, nil, err
	}
	v := make([]byte, 5)
	v[0] = branch
	v[1], v[2], v[3], v[4] = byte(index>>24), byte(index>>16), byte(index>>8), byte(index)
	if err := b.scripts.Put(script, v); err != nil {
		return nil, nil, err
	}
	return addr, script, putUint32(b.meta, key, index+1)
}

// scriptKey is the private key behind one of our scripts.
func (w *Wallet) scriptKey(b *buckets, pkScript []byte) (*btcec.PrivateKey, error) {
	v := b.scripts.Get(pkScript)
	if len(v) != 5 {
		return nil, fmt.Errorf("script %x is not ours", pkScript)
	}
	index := uint32(v[1])<<24 | uint32(v[2])<<16 | uint32(v[3])<<8 | uint32(v[4])
	return w.keys.addressKey(v[0], index)
}

// DeriveKey derives the key at m/1017'/coin'/family'/0/index.
func (w *Wallet) DeriveKey(loc KeyLocator) (*btcec.PrivateKey, error) {
	key, err := w.keys.familyKey(loc)
	if err != nil {
		return nil, fmt.Errorf("wallet: %w", err)
	}
	return key, nil
}

// NextKeyLocator hands out the next unused index of family. The counter is
// persisted before the locator is returned, so an index is never handed
// out twice, even across a crash. Index 0 of KeyFamilyNodeKey is reserved
// for NodeKey and never handed out.
func (w *Wallet) NextKeyLocator(f KeyFamily) (KeyLocator, error) {
	if uint32(f) >= hdkeychain.HardenedKeyStart {
		return KeyLocator{}, fmt.Errorf("wallet: key family %d out of range", f)
	}
	var loc KeyLocator
	err := w.db.Update(func(tx *bbolt.Tx) error {
		b, err := openBuckets(tx)
		if err != nil {
			return err
		}
		key := append(append([]byte(nil), keyFamNext...), heightKey(int32(f))...)
		index := getUint32(b.meta, key)
		if f == KeyFamilyNodeKey && index == 0 {
			index = 1
		}
		if index >= hdkeychain.HardenedKeyStart {
			return fmt.Errorf("key family %d exhausted", f)
		}
		loc = KeyLocator{Family: f, Index: index}
		return putUint32(b.meta, key, index+1)
	})
	if err != nil {
		return KeyLocator{}, fmt.Errorf("wallet: next key locator: %w", err)
	}
	return loc, nil
}

// NodeKey is the node's identity key: index 0 of KeyFamilyNodeKey.
func (w *Wallet) NodeKey() (*btcec.PrivateKey, error) {
	return w.DeriveKey(KeyLocator{Family: KeyFamilyNodeKey, Index: 0})
}
