package onion

import (
	"errors"
	"sync"

	sphinx "github.com/lightningnetwork/lightning-onion"
)

// ReplayLog is an in-memory sphinx.ReplayLog that is safe for concurrent
// use (the one in lightning-onion is meant for tests and is not) and can be
// pruned: an entry is useless once the HTLC it came with has expired,
// because a replayed onion then arrives on an HTLC that is refused anyway.
//
// It does not survive a restart; see Router for what that implies.
type ReplayLog struct {
	mu      sync.Mutex
	entries map[sphinx.HashPrefix]uint32
}

// NewReplayLog returns an empty log.
func NewReplayLog() *ReplayLog {
	return &ReplayLog{entries: make(map[sphinx.HashPrefix]uint32)}
}

// Start implements sphinx.ReplayLog.
func (l *ReplayLog) Start() error { return nil }

// Stop implements sphinx.ReplayLog.
func (l *ReplayLog) Stop() error { return nil }

// Get implements sphinx.ReplayLog.
func (l *ReplayLog) Get(h *sphinx.HashPrefix) (uint32, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	cltv, ok := l.entries[*h]
	if !ok {
		return 0, sphinx.ErrLogEntryNotFound
	}
	return cltv, nil
}

// Put implements sphinx.ReplayLog: it records h, or returns
// sphinx.ErrReplayedPacket if h is already there.
func (l *ReplayLog) Put(h *sphinx.HashPrefix, cltv uint32) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.entries[*h]; ok {
		return sphinx.ErrReplayedPacket
	}
	l.entries[*h] = cltv
	return nil
}

// Delete implements sphinx.ReplayLog.
func (l *ReplayLog) Delete(h *sphinx.HashPrefix) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.entries, *h)
	return nil
}

// errBatchUnsupported is returned by PutBatch: Router processes onions one
// at a time.
var errBatchUnsupported = errors.New("onion: replay log batches are not supported")

// PutBatch implements sphinx.ReplayLog; batches are not supported.
func (l *ReplayLog) PutBatch(*sphinx.Batch) (*sphinx.ReplaySet, error) {
	return nil, errBatchUnsupported
}

// Prune forgets the entries whose HTLC expired below height.
func (l *ReplayLog) Prune(height uint32) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for h, cltv := range l.entries {
		if cltv < height {
			delete(l.entries, h)
		}
	}
}

// Len returns the number of entries.
func (l *ReplayLog) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.entries)
}

var _ sphinx.ReplayLog = (*ReplayLog)(nil)
