package notify

import "sync"

// mailbox is the queue between the notifier, which must never block, and
// the goroutine that delivers one registration's notifications to its
// consumer at the consumer's pace.
//
// Ordered items are kept until delivered. Besides them, a mailbox holds one
// "latest" value (the missing-confirmations count) that each new value
// replaces, because only the most recent one is of any use.
type mailbox[T any] struct {
	mu    sync.Mutex
	items []T
	// pending counts the items pushed and not yet handed to the consumer,
	// including the one the delivery goroutine currently holds.
	pending int
	// limit bounds items when positive: beyond it the oldest are dropped.
	limit   int
	dropped int

	latest    uint32
	hasLatest bool

	// wake has capacity one: a push never blocks, and a pending wake-up
	// covers any number of pushes.
	wake chan struct{}
}

func newMailbox[T any](limit int) *mailbox[T] {
	return &mailbox[T]{limit: limit, wake: make(chan struct{}, 1)}
}

func (m *mailbox[T]) signal() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// push queues v for delivery.
func (m *mailbox[T]) push(v T) {
	m.mu.Lock()
	m.items = append(m.items, v)
	m.pending++
	if m.limit > 0 && len(m.items) > m.limit {
		var zero T
		m.items[0] = zero
		m.items = m.items[1:]
		m.pending--
		m.dropped++
	}
	m.mu.Unlock()
	m.signal()
}

// setLatest replaces the latest value.
func (m *mailbox[T]) setLatest(v uint32) {
	m.mu.Lock()
	m.latest, m.hasLatest = v, true
	m.mu.Unlock()
	m.signal()
}

// pop takes the oldest item; the caller calls delivered once it is handed
// over.
func (m *mailbox[T]) pop() (T, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var zero T
	if len(m.items) == 0 {
		return zero, false
	}
	v := m.items[0]
	m.items[0] = zero
	m.items = m.items[1:]
	if len(m.items) == 0 {
		m.items = nil
	}
	return v, true
}

func (m *mailbox[T]) delivered() {
	m.mu.Lock()
	m.pending--
	m.mu.Unlock()
}

// takeLatest returns the latest value if one arrived since the last call.
func (m *mailbox[T]) takeLatest() (uint32, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.latest, m.hasLatest
	m.hasLatest = false
	return v, ok
}

// backlog is the number of ordered items not yet received by the consumer.
func (m *mailbox[T]) backlog() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.pending
}

// takeDropped returns and resets the count of items dropped for the limit.
func (m *mailbox[T]) takeDropped() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	d := m.dropped
	m.dropped = 0
	return d
}

// sendLatest puts v on a channel of capacity one, replacing a value the
// consumer has not read yet. Only the delivery goroutine sends on ch, so the
// replacement cannot race with another sender.
func sendLatest[V any](ch chan V, v V) {
	select {
	case ch <- v:
		return
	default:
	}
	select {
	case <-ch:
	default:
	}
	select {
	case ch <- v:
	default:
	}
}
