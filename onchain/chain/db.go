package chain

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/btcsuite/btcd/database"
	_ "github.com/btcsuite/btcd/database/ffldb" // registers the ffldb driver
	"github.com/btcsuite/btcd/wire"
)

// syncInterval bounds how long a stored block may stay only in ffldb's
// write cache: a kill -9 loses at most this much of the chain (which peers
// then supply again).
const syncInterval = time.Second

// durableDB wraps btcd's ffldb so that its write cache can be forced to
// disk.
//
// ffldb keeps metadata writes (the block index, the best chain state) in
// memory for up to five minutes; block files are written at once, but on
// reopening after a kill ffldb truncates them back to the last flushed
// metadata. A node that dies would forget every block of those minutes,
// including blocks it mined itself and that nobody else has. ffldb offers
// no flush call, but Close flushes: Sync closes and reopens the database
// while no transaction is open.
type durableDB struct {
	path string
	net  wire.BitcoinNet

	mu       sync.RWMutex // held shared by every transaction, exclusively by Sync
	db       database.DB
	dirty    atomic.Bool
	lastSync time.Time
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

func (d *durableDB) Type() string { return d.db.Type() }

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
	return &durableTx{Tx: tx, release: d.mu.RUnlock}, nil
}

func (d *durableDB) View(fn func(tx database.Tx) error) error {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.db.View(fn)
}

func (d *durableDB) Update(fn func(tx database.Tx) error) error {
	d.mu.RLock()
	defer d.mu.RUnlock()
	d.dirty.Store(true)
	return d.db.Update(fn)
}

func (d *durableDB) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.db.Close()
}

// Sync writes ffldb's cache to disk if anything changed since the last
// Sync. On failure the database may be closed; the chain cannot go on.
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

// durableTx releases the shared hold on the database when it ends.
type durableTx struct {
	database.Tx
	once    sync.Once
	release func()
}

func (t *durableTx) Commit() error {
	defer t.once.Do(t.release)
	return t.Tx.Commit()
}

func (t *durableTx) Rollback() error {
	defer t.once.Do(t.release)
	return t.Tx.Rollback()
}
