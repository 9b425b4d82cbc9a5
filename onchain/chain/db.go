package chain

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/database"
	_ "github.com/btcsuite/btcd/database/ffldb" // registers the ffldb driver
	"github.com/btcsuite/btcd/wire"
)

// syncInterval bounds how long a stored block may stay only in ffldb's
// write cache: a kill -9 loses at most this much of the chain (which peers
// then supply again).
const syncInterval = time.Second

// durableDB wraps btcd's ffldb so that its write cache can be forced to
// disk, and so that readers never race with block writes.
//
// ffldb keeps metadata writes (the block index, the best chain state) in
// memory for up to five minutes; block files are written at once, but on
// reopening after a kill ffldb truncates them back to the last flushed
// metadata. A node that dies would forget every block of those minutes,
// including blocks it mined itself and that nobody else has. ffldb offers
// no flush call, but Close flushes: Sync closes and reopens the database
// while no transaction is open.
//
// ffldb's block store is not safe for a block read running alongside a
// commit that writes a block: the commit opens the current block file
// (when none is open) under the file's own lock, while a reader checks
// whether that file is open under the write cursor's lock. A freshly opened
// database (like one whose block file just filled up) has no file open, so
// the first block written after each Sync would race with every concurrent
// block read. Block reads of read-only transactions and commits that write
// blocks are therefore kept apart by storeMu; readers still run alongside
// each other and alongside commits that write no block (ffldb's metadata
// cache has its own lock).
//
// View, Update and Begin hand out a durableTx, never ffldb's own, so that
// nothing keeps a reference to the ffldb instance that Sync replaces. As
// with any RWMutex, a transaction must not start another one (directly or
// through Database) while it is open: a pending Sync would deadlock both.
type durableDB struct {
	path string
	net  wire.BitcoinNet

	mu       sync.RWMutex // held shared by every transaction, exclusively by Sync
	storeMu  sync.RWMutex // held shared by block reads, exclusively by commits writing blocks
	db       database.DB
	dirty    atomic.Bool
	lastSync time.Time // read and written by the worker only (Sync, due)
}

var _ database.DB = (*durableDB)(nil)

// openDB opens the ffldb database in dir, creating it on first use.
func openDB(dir string, net wire.BitcoinNet) (*durableDB, error) {
	path := filepath.Join(dir, "blocks_ffldb")
	db, err := openFFLDB(path, net)
	if err != nil {
		return nil, err
	}
	return &durableDB{path: path, net: net, db: db, lastSync: time.Now()}, nil
}

func openFFLDB(path string, net wire.BitcoinNet) (database.DB, error) {
	db, err := database.Open("ffldb", path, net)
	if err == nil {
		return db, nil
	}
	var dbErr database.Error
	if !errors.As(err, &dbErr) || dbErr.ErrorCode != database.ErrDbDoesNotExist {
		return nil, fmt.Errorf("chain: open block database %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("chain: create block database %s: %w", path, err)
	}
	db, err = database.Create("ffldb", path, net)
	if err != nil {
		return nil, fmt.Errorf("chain: create block database %s: %w", path, err)
	}
	return db, nil
}

func (d *durableDB) Type() string {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.db.Type()
}

// Begin starts a transaction that holds off Sync until it ends.
func (d *durableDB) Begin(writable bool) (database.Tx, error) {
	d.mu.RLock()
	tx, err := d.db.Begin(writable)
	if err != nil {
		d.mu.RUnlock()
		return nil, err
	}
	if writable {
		d.dirty.Store(true)
	}
	return &durableTx{Tx: tx, db: d, writable: writable, release: d.mu.RUnlock}, nil
}

// View runs fn in a read-only transaction whose block reads exclude
// commits that store blocks.
func (d *durableDB) View(fn func(tx database.Tx) error) error {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.db.View(func(tx database.Tx) error {
		return fn(&durableTx{Tx: tx, db: d})
	})
}

// Update runs fn in a read-write transaction; if fn stored (or pruned)
// blocks, the commit that writes them runs while no block read is under way.
func (d *durableDB) Update(fn func(tx database.Tx) error) error {
	d.mu.RLock()
	defer d.mu.RUnlock()
	d.dirty.Store(true)
	exclusive := false
	defer func() {
		if exclusive {
			d.storeMu.Unlock()
		}
	}()
	return d.db.Update(func(tx database.Tx) error {
		dtx := &durableTx{Tx: tx, db: d, writable: true}
		if err := fn(dtx); err != nil {
			return err
		}
		// ffldb commits once fn returns; the lock is released
		// when Update returns, after the commit.
		if dtx.writesBlocks {
			d.storeMu.Lock()
			exclusive = true
		}
		return nil
	})
}

func (d *durableDB) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.db.Close()
}

// Sync writes ffldb's cache to disk if anything changed since the last
// Sync. On failure the database may be closed; the chain cannot go on. Only
// the worker calls it.
func (d *durableDB) Sync() error {
	if !d.dirty.Load() {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dirty.Store(false)
	d.lastSync = time.Now()
	if err := d.db.Close(); err != nil {
		return fmt.Errorf("chain: flush block database: %w", err)
	}
	db, err := openFFLDB(d.path, d.net)
	if err != nil {
		return fmt.Errorf("chain: reopen block database: %w", err)
	}
	d.db = db
	return nil
}

// due reports whether a Sync is needed because writes are older than
// syncInterval. Only the worker calls it.
func (d *durableDB) due() bool {
	return d.dirty.Load() && time.Since(d.lastSync) >= syncInterval
}

// durableTx is a transaction of a durableDB. It reports the durableDB as
// its database, so that nothing reaches the ffldb instance that Sync
// replaces; it keeps block reads of read-only transactions and commits that
// store blocks apart (see durableDB); and, for a transaction from Begin, it
// releases the shared hold on the database when it ends.
type durableTx struct {
	database.Tx
	db           *durableDB
	writable     bool
	writesBlocks bool // its commit changes block files; owned by its user, like the Tx

	once    sync.Once
	release func() // nil for the managed transactions of View and Update
}

func (t *durableTx) Database() database.DB { return t.db }

func (t *durableTx) StoreBlock(block *btcutil.Block) error {
	t.writesBlocks = true
	return t.Tx.StoreBlock(block)
}

// PruneBlocks deletes block files when the transaction commits.
func (t *durableTx) PruneBlocks(targetSize uint64) ([]chainhash.Hash, error) {
	t.writesBlocks = true
	return t.Tx.PruneBlocks(targetSize)
}

// readBlocks holds off commits that store blocks while a read-only
// transaction reads block files. A writable transaction needs no lock:
// ffldb runs one at a time, so no commit can overlap its reads.
func (t *durableTx) readBlocks() func() {
	if t.writable {
		return func() {}
	}
	t.db.storeMu.RLock()
	return t.db.storeMu.RUnlock
}

func (t *durableTx) FetchBlock(hash *chainhash.Hash) ([]byte, error) {
	defer t.readBlocks()()
	return t.Tx.FetchBlock(hash)
}

func (t *durableTx) FetchBlocks(hashes []chainhash.Hash) ([][]byte, error) {
	defer t.readBlocks()()
	return t.Tx.FetchBlocks(hashes)
}

func (t *durableTx) FetchBlockHeader(hash *chainhash.Hash) ([]byte, error) {
	defer t.readBlocks()()
	return t.Tx.FetchBlockHeader(hash)
}

func (t *durableTx) FetchBlockHeaders(hashes []chainhash.Hash) ([][]byte, error) {
	defer t.readBlocks()()
	return t.Tx.FetchBlockHeaders(hashes)
}

func (t *durableTx) FetchBlockRegion(region *database.BlockRegion) ([]byte, error) {
	defer t.readBlocks()()
	return t.Tx.FetchBlockRegion(region)
}

func (t *durableTx) FetchBlockRegions(regions []database.BlockRegion) ([][]byte, error) {
	defer t.readBlocks()()
	return t.Tx.FetchBlockRegions(regions)
}

// Commit writes the transaction; a commit that writes blocks waits for the
// block reads under way and holds off new ones.
func (t *durableTx) Commit() error {
	if t.release != nil {
		defer t.once.Do(t.release)
	}
	if t.writesBlocks {
		t.db.storeMu.Lock()
		defer t.db.storeMu.Unlock()
	}
	return t.Tx.Commit()
}

func (t *durableTx) Rollback() error {
	if t.release != nil {
		defer t.once.Do(t.release)
	}
	return t.Tx.Rollback()
}
