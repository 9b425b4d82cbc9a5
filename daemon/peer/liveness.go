package peer

import (
	"sync"
	"time"
)

// liveness tracks our outstanding ping. At most one ping is in flight.
type liveness struct {
	mu          sync.Mutex
	timeout     time.Duration
	outstanding bool
	pongLen     int
	sentAt      time.Time
	deadline    time.Time
	// stalled is set while our own reader waits for the Handler; a pong
	// cannot be read then, so the deadline does not run.
	stalled bool
	// pongs counts the pongs that answered our pings.
	pongs int
}

func (l *liveness) pingSent(now time.Time, pongLen int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.outstanding = true
	l.pongLen = pongLen
	l.sentAt = now
	l.deadline = now.Add(l.timeout)
}

// pingDropped forgets a ping that could not be queued.
func (l *liveness) pingDropped() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.outstanding = false
}

// pong records a pong and reports whether it answered our ping.
func (l *liveness) pong(n int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.outstanding || n != l.pongLen {
		return false
	}
	l.outstanding = false
	l.pongs++
	return true
}

// due reports whether a new ping should go out.
func (l *liveness) due(now time.Time, interval time.Duration) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return !l.outstanding && now.Sub(l.sentAt) >= interval
}

// expired reports whether the outstanding ping went unanswered too long.
func (l *liveness) expired(now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.outstanding && !l.stalled && now.After(l.deadline)
}

func (l *liveness) setStalled(stalled bool, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stalled = stalled
	if !stalled && l.outstanding {
		// Give the pong a full timeout from when we read again.
		if d := now.Add(l.timeout); d.After(l.deadline) {
			l.deadline = d
		}
	}
}

// tokenBucket rate-limits the peer's pings: burst tokens, one more every
// refill.
type tokenBucket struct {
	tokens float64
	burst  float64
	refill time.Duration
	last   time.Time
}

func (b *tokenBucket) allow(now time.Time) bool {
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens = min(b.burst, b.tokens+float64(elapsed)/float64(b.refill))
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

func (l *liveness) pongCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pongs
}
