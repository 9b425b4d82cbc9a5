package peer

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/flash-ln/flash/channel/lnwire"
)

// initConn is what the init exchange needs of a connection: msgConn and a
// read deadline, which the established connection does without.
type initConn interface {
	msgConn
	SetReadDeadline(t time.Time) error
}

// setup exchanges init on an authenticated connection, checks the peer's
// features and chains, and registers the peer. conn is closed on failure.
func (m *Manager) setup(ctx context.Context, conn initConn,
	pub *btcec.PublicKey, inbound bool, addr string, remoteAddr []byte) error {

	// Closing the connection is how a cancelled ctx unblocks the
	// exchange below.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	theirs, err := m.exchangeInit(ctx, conn, remoteAddr)
	if !stop() {
		conn.Close()
		if err == nil {
			err = fmt.Errorf("%w: %w", ErrInitFailed, context.Cause(ctx))
		}
		return err
	}
	if err != nil {
		conn.Close()
		return err
	}
	p := newPeer(&m.cfg, conn, pub, addr, inbound, theirs)
	return m.register(ctx, p)
}

// exchangeInit sends our init and reads and checks the peer's.
func (m *Manager) exchangeInit(ctx context.Context, conn initConn,
	remoteAddr []byte) (*lnwire.FeatureVector, error) {

	deadline := time.Now().Add(m.cfg.InitTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	ours := &lnwire.Init{
		Features:   *m.cfg.Features.Clone(),
		Networks:   []lnwire.ChainHash{lnwire.ChainHash(m.cfg.ChainHash)},
		RemoteAddr: remoteAddr,
	}
	raw, err := lnwire.EncodeMessage(ours)
	if err != nil {
		return nil, fmt.Errorf("%w: encode init: %w", ErrInitFailed, err)
	}
	if err := conn.SetWriteDeadline(deadline); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInitFailed, err)
	}
	if err := conn.WriteMessage(raw); err != nil {
		return nil, fmt.Errorf("%w: send init: %w", ErrInitFailed, err)
	}
	if err := conn.SetReadDeadline(deadline); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInitFailed, err)
	}
	raw, err = conn.ReadMessage()
	if err != nil {
		return nil, fmt.Errorf("%w: read init: %w", ErrInitFailed, err)
	}
	msg, err := lnwire.ParseMessage(raw)
	if err != nil {
		m.sendWarning(conn, "malformed init")
		return nil, fmt.Errorf("%w: %w", ErrInitFailed, err)
	}
	theirs, ok := msg.(*lnwire.Init)
	if !ok {
		if e, isErr := msg.(error); isErr {
			// An error or warning before init: most likely the
			// peer refusing us, and the best diagnosis we get.
			return nil, fmt.Errorf("%w: peer sent %s first: %w", ErrInitFailed, msg.MsgType(), e)
		}
		m.sendWarning(conn, "expected init")
		return nil, fmt.Errorf("%w: peer sent %s before init", ErrInitFailed, msg.MsgType())
	}
	features := theirs.AllFeatures()
	if err := checkRemoteFeatures(features, m.cfg.Features); err != nil {
		m.sendWarning(conn, err.Error())
		return nil, err
	}
	if theirs.Networks != nil && !slices.Contains(theirs.Networks, lnwire.ChainHash(m.cfg.ChainHash)) {
		m.sendWarning(conn, "no common chain")
		return nil, fmt.Errorf("%w: ours (%s) is not among the peer's %d",
			ErrWrongChain, m.cfg.ChainHash, len(theirs.Networks))
	}
	if err := conn.SetWriteDeadline(time.Time{}); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInitFailed, err)
	}
	if err := conn.SetReadDeadline(time.Time{}); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInitFailed, err)
	}
	return features, nil
}

// sendWarning tells the peer why we are about to close the connection;
// the write is bounded by the deadline already set.
func (m *Manager) sendWarning(conn msgConn, text string) {
	raw, err := lnwire.EncodeMessage(&lnwire.Warning{Data: []byte(text)})
	if err == nil {
		conn.WriteMessage(raw)
	}
}
