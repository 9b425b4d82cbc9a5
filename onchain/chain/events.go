package chain

import (
	"sync"

	"github.com/flash-ln/flash/onchain"
)

// subscription is one subscriber's unbounded FIFO of events. The chain
// appends under a short lock and never waits for the reader; a pump
// goroutine hands the events to the reader's channel in order.
type subscription struct {
	chain *Chain
	out   chan onchain.Event

	mu     sync.Mutex
	queue  []onchain.Event
	wake   chan struct{} // capacity 1: "the queue grew"
	quit   chan struct{}
	once   sync.Once
	pumped chan struct{}
}

// Subscribe starts a stream of chain events: blocks connected and
// disconnected (tip first during a reorganisation) and transactions
// accepted into the mempool. The stream ends when the subscription is
// cancelled or the chain stops.
func (c *Chain) Subscribe() onchain.Subscription {
	s := &subscription{
		chain:  c,
		out:    make(chan onchain.Event),
		wake:   make(chan struct{}, 1),
		quit:   make(chan struct{}),
		pumped: make(chan struct{}),
	}
	c.subsMu.Lock()
	if c.closed {
		c.subsMu.Unlock()
		s.close()
	} else {
		c.subs[s] = struct{}{}
		c.subsMu.Unlock()
	}
	go s.pump()
	return s
}

// publish queues ev for every subscriber.
func (c *Chain) publish(ev onchain.Event) {
	c.subsMu.Lock()
	defer c.subsMu.Unlock()
	for s := range c.subs {
		s.push(ev)
	}
}

func (s *subscription) Events() <-chan onchain.Event { return s.out }

// Cancel ends the subscription; Events is closed once the pump notices.
func (s *subscription) Cancel() {
	s.chain.subsMu.Lock()
	delete(s.chain.subs, s)
	s.chain.subsMu.Unlock()
	s.close()
}

func (s *subscription) close() {
	s.once.Do(func() { close(s.quit) })
}

func (s *subscription) push(ev onchain.Event) {
	s.mu.Lock()
	s.queue = append(s.queue, ev)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *subscription) pump() {
	defer close(s.pumped)
	defer close(s.out)
	for {
		s.mu.Lock()
		batch := s.queue
		s.queue = nil
		s.mu.Unlock()

		for _, ev := range batch {
			select {
			case s.out <- ev:
			case <-s.quit:
				return
			}
		}
		select {
		case <-s.wake:
		case <-s.quit:
			return
		}
	}
}
