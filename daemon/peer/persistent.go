package peer

import (
	"context"
	"encoding/hex"
	"math/rand/v2"
	"net"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/flash-ln/flash/channel/lnwire"
)

// persistentPeer is a peer kept connected by its own redial goroutine.
type persistentPeer struct {
	pub    *btcec.PublicKey
	addr   string // guarded by Manager.mu
	ctx    context.Context
	cancel context.CancelFunc
}

// PersistentPeers lists the peers the Manager keeps connected.
func (m *Manager) PersistentPeers() []PersistentPeer {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]PersistentPeer, 0, len(m.persistent))
	for _, pp := range m.persistent {
		out = append(out, PersistentPeer{NodeID: pp.pub, Address: pp.addr})
	}
	return out
}

// addPersistentLocked starts keeping pp connected, or updates its address
// if it is kept already. dialNow dials at once instead of first waiting for
// the current connection to drop. m.mu must be held and the Manager running.
func (m *Manager) addPersistentLocked(pp PersistentPeer, dialNow bool) {
	key := keyOf(pp.NodeID)
	if cur := m.persistent[key]; cur != nil {
		cur.addr = pp.Address
		return
	}
	ctx, cancel := context.WithCancel(m.ctx)
	e := &persistentPeer{pub: pp.NodeID, addr: pp.Address, ctx: ctx, cancel: cancel}
	m.persistent[key] = e
	m.wg.Add(1)
	m.redialers.Add(1)
	go m.keepConnected(e, dialNow)
}

// keepConnected redials a persistent peer whenever it is not connected,
// until Disconnect or Stop cancels its context.
func (m *Manager) keepConnected(e *persistentPeer, dialNow bool) {
	defer m.wg.Done()
	defer m.redialers.Add(-1)
	b := backoff{min: m.cfg.MinBackoff, max: m.cfg.MaxBackoff}
	log := m.log.With("peer", keyHex(e.pub))
	for {
		if p, ok := m.Peer(e.pub); ok {
			select {
			case <-p.Done():
			case <-e.ctx.Done():
				return
			}
			if time.Since(p.ConnectedAt()) >= m.cfg.StableAfter {
				b.reset()
			}
			dialNow = false
			continue
		}
		if !dialNow {
			t := time.NewTimer(b.next())
			select {
			case <-t.C:
			case <-e.ctx.Done():
				t.Stop()
				return
			}
		}
		dialNow = false
		if _, ok := m.Peer(e.pub); ok {
			continue
		}
		m.mu.Lock()
		addr := e.addr
		m.mu.Unlock()
		if err := m.connect(e.ctx, e.pub, addr); err != nil {
			if e.ctx.Err() != nil {
				return
			}
			log.Debug("redial failed", "addr", addr, "err", err)
		}
	}
}

func keyHex(pub *btcec.PublicKey) string {
	k := keyOf(pub)
	return hex.EncodeToString(k[:])
}

// backoff yields exponentially growing, randomised delays.
type backoff struct {
	min, max, cur time.Duration
}

// next returns the next delay: the current step, doubled from min up to
// max, drawn uniformly from its upper half so that nodes restarting
// together spread out.
func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.min
	} else {
		b.cur = min(2*b.cur, b.max)
	}
	half := b.cur / 2
	return half + rand.N(b.cur-half+1)
}

func (b *backoff) reset() { b.cur = 0 }

// remoteAddrTLV returns init's remote_addr for an inbound connection from
// addr: the BOLT 7 descriptor of a public IP address, or nil, since BOLT 1
// advises against reporting private addresses.
func remoteAddrTLV(addr net.Addr) []byte {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return nil
	}
	ap := tcp.AddrPort()
	ip := ap.Addr().Unmap()
	if !ip.IsGlobalUnicast() || ip.IsPrivate() {
		return nil
	}
	a := lnwire.Address{Type: lnwire.AddrIPv6, IP: ip.WithZone(""), Port: ap.Port()}
	if ip.Is4() {
		a.Type = lnwire.AddrIPv4
	}
	b, err := lnwire.AppendAddress(nil, a)
	if err != nil {
		return nil
	}
	return b
}
