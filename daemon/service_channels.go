package daemon

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/flash-ln/flash/channel"
	"github.com/flash-ln/flash/channel/funding"
	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/channel/script"
	"github.com/flash-ln/flash/daemon/chanstore"
	"github.com/flash-ln/flash/daemon/peer"
	"github.com/flash-ln/flash/daemon/rpc"
	"github.com/flash-ln/flash/onchain/wallet"
)

// closeTimeout bounds how long channel/close waits for the closing
// negotiation; the negotiation goes on after it.
const closeTimeout = time.Minute

// registerChannelRPC wires the peer and channel methods.
func (d *Daemon) registerChannelRPC(s *rpc.Server) {
	rpc.Handle(s, rpc.MethodPeerConnect, d.peerConnect)
	rpc.Handle(s, rpc.MethodPeerList, d.peerList)
	rpc.Handle(s, rpc.MethodPeerDisconnect, d.peerDisconnect)
	rpc.Handle(s, rpc.MethodChannelOpen, d.channelOpen)
	rpc.Handle(s, rpc.MethodChannelList, d.channelList)
	rpc.Handle(s, rpc.MethodChannelClose, d.channelClose)
	rpc.Handle(s, rpc.MethodChannelClosed, d.channelClosed)
}

// parseNodeID parses a compressed public key in hex.
func parseNodeID(s string) (*btcec.PublicKey, error) {
	raw, err := hex.DecodeString(s)
	if err != nil || len(raw) != btcec.PubKeyBytesLenCompressed {
		return nil, rpc.Errorf(rpc.CodeInvalidArgument,
			"node id %q: want 66 hex digits (a compressed public key)", s)
	}
	pub, err := btcec.ParsePubKey(raw)
	if err != nil {
		return nil, rpc.Errorf(rpc.CodeInvalidArgument, "node id %q: %v", s, err)
	}
	return pub, nil
}

// ParsePeerAddress splits NODE_ID@HOST:PORT.
func ParsePeerAddress(s string) (*btcec.PublicKey, string, error) {
	id, addr, ok := strings.Cut(s, "@")
	if !ok {
		return nil, "", rpc.Errorf(rpc.CodeInvalidArgument,
			"peer %q: want NODE_ID@HOST:PORT", s)
	}
	pub, err := parseNodeID(id)
	if err != nil {
		return nil, "", err
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return nil, "", rpc.Errorf(rpc.CodeInvalidArgument,
			"peer address %q: want HOST:PORT", addr)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return nil, "", rpc.Errorf(rpc.CodeInvalidArgument,
			"peer address %q: port must be 1 to 65535", addr)
	}
	return pub, addr, nil
}

func (d *Daemon) peerConnect(ctx context.Context, req *rpc.PeerConnectRequest) (*rpc.Empty, error) {
	pub, addr, err := ParsePeerAddress(req.Peer)
	if err != nil {
		return nil, err
	}
	if pub.IsEqual(d.nodeKey) {
		return nil, rpc.Errorf(rpc.CodeInvalidArgument, "cannot connect to ourselves")
	}
	if err := d.peers.Connect(ctx, pub, addr, true); err != nil {
		switch {
		case errors.Is(err, peer.ErrNotRunning):
			return nil, rpc.Errorf(rpc.CodeUnavailable, "%v", err)
		case errors.Is(err, peer.ErrSelfConnect):
			return nil, rpc.Errorf(rpc.CodeInvalidArgument, "%v", err)
		default:
			return nil, rpc.Errorf(rpc.CodeUnavailable, "%v", err)
		}
	}
	return &rpc.Empty{}, nil
}

func (d *Daemon) peerList(context.Context, *rpc.Empty) (*rpc.PeerListResponse, error) {
	infos := d.peers.Peers()
	resp := &rpc.PeerListResponse{Peers: make([]rpc.Peer, len(infos))}
	for i, p := range infos {
		resp.Peers[i] = rpc.Peer{NodeID: nodeIDHex(p.NodeID), Address: p.Address, Inbound: p.Inbound}
	}
	return resp, nil
}

func (d *Daemon) peerDisconnect(_ context.Context, req *rpc.PeerDisconnectRequest) (*rpc.Empty, error) {
	pub, err := parseNodeID(req.NodeID)
	if err != nil {
		return nil, err
	}
	if err := d.peers.Disconnect(pub); err != nil {
		if errors.Is(err, peer.ErrNotConnected) {
			return nil, rpc.Errorf(rpc.CodeNotFound, "peer %s is not connected", req.NodeID)
		}
		return nil, err
	}
	return &rpc.Empty{}, nil
}

func (d *Daemon) channelOpen(ctx context.Context, req *rpc.ChannelOpenRequest) (*rpc.ChannelOpenResponse, error) {
	pub, err := parseNodeID(req.NodeID)
	if err != nil {
		return nil, err
	}
	pol := d.channels.policy
	switch {
	case pub.IsEqual(d.nodeKey):
		return nil, rpc.Errorf(rpc.CodeInvalidArgument, "cannot open a channel to ourselves")
	case req.AmountSat < int64(pol.MinChannelSize):
		return nil, rpc.Errorf(rpc.CodeInvalidArgument,
			"channel size %d sat: below the minimum of %d sat", req.AmountSat, int64(pol.MinChannelSize))
	case req.AmountSat > int64(pol.MaxChannelSize):
		return nil, rpc.Errorf(rpc.CodeInvalidArgument,
			"channel size %d sat: above the maximum of %d sat", req.AmountSat, int64(pol.MaxChannelSize))
	case req.PushSat < 0 || req.PushSat >= req.AmountSat:
		return nil, rpc.Errorf(rpc.CodeInvalidArgument,
			"push %d sat: want 0 to less than the channel size %d sat", req.PushSat, req.AmountSat)
	}
	if _, ok := d.peers.Peer(pub); !ok {
		return nil, rpc.Errorf(rpc.CodePeerNotConnected,
			"peer %s is not connected: run flash peer connect first", req.NodeID)
	}
	point, err := d.channels.openChannel(ctx, pub, btcutil.Amount(req.AmountSat),
		lnwire.NewMSatFromSatoshis(uint64(req.PushSat)), req.Private)
	if err != nil {
		return nil, openError(err)
	}
	return &rpc.ChannelOpenResponse{ChannelPoint: point.String(), FundingTxid: point.Hash.String()}, nil
}

// openError maps establishment failures to the stable RPC codes.
func openError(err error) error {
	var fe *funding.Error
	switch {
	case errors.Is(err, wallet.ErrInsufficientFunds):
		return rpc.Errorf(rpc.CodeInsufficientFunds, "open channel: %v", err)
	case errors.Is(err, errChannelPeerOffline):
		return rpc.Errorf(rpc.CodePeerNotConnected, "open channel: %v", err)
	case errors.As(err, &fe) && !errors.Is(err, errFundingFailed):
		return rpc.Errorf(rpc.CodeInvalidArgument, "open channel: %v", err)
	case errors.Is(err, errFundingFailed):
		return rpc.Errorf(rpc.CodeFundingFailed, "open channel: %v", err)
	case errors.Is(err, wallet.ErrInvalidAmount), errors.Is(err, wallet.ErrDustAmount):
		return rpc.Errorf(rpc.CodeInvalidArgument, "open channel: %v", err)
	}
	return fmt.Errorf("open channel: %w", err)
}

// channelInfo describes a link for channel/list.
func (l *link) info() rpc.Channel {
	l.mu.Lock()
	defer l.mu.Unlock()
	lc := l.ch.LocalCommitment()
	params := l.ch.Params()
	local, remote := int64(lc.Spec.LocalBalance), int64(lc.Spec.RemoteBalance)
	// The funder's balance is shown net of the commitment fee it pays,
	// which is what it would get back on chain.
	untrimmed := 0
	for i := range lc.Spec.HTLCs {
		h := &lc.Spec.HTLCs[i]
		if !script.StaticRemoteKey.IsTrimmed(!h.Incoming, uint64(h.Amount), lc.Spec.FeePerKw, params.Local.DustLimit) {
			untrimmed++
		}
	}
	fee := int64(script.StaticRemoteKey.FunderCost(lc.Spec.FeePerKw, untrimmed)) * 1000
	if params.LocalFunder {
		local = max(local-fee, 0)
	} else {
		remote = max(remote-fee, 0)
	}
	state := l.rec.State.String()
	switch {
	case l.rec.State == chanstore.StateActive && l.peer == nil:
		state = rpc.ChannelInactive
	case l.rec.State == chanstore.StateClosing && l.forceClosedLocked():
		state = rpc.ChannelForceClosing
	case l.rec.State == chanstore.StateClosing:
		state = rpc.ChannelClosing
	}
	scid := ""
	if l.rec.ShortChannelID != 0 {
		scid = lnwire.NewShortChanIDFromInt(l.rec.ShortChannelID).String()
	}
	return rpc.Channel{
		ChannelPoint:      l.rec.Point.String(),
		ChannelID:         l.ch.ID().String(),
		ShortChannelID:    scid,
		Peer:              nodeIDHex(l.nodeID),
		CapacitySat:       int64(l.rec.Capacity),
		LocalBalanceMsat:  local,
		RemoteBalanceMsat: remote,
		State:             state,
		NumPendingHTLCs:   len(lc.Spec.HTLCs),
	}
}

func (d *Daemon) channelList(context.Context, *rpc.Empty) (*rpc.ChannelListResponse, error) {
	resp := &rpc.ChannelListResponse{Channels: []rpc.Channel{}}
	for _, l := range d.channels.allLinks() {
		info := l.info()
		if info.State == chanstore.StateClosed.String() {
			continue
		}
		resp.Channels = append(resp.Channels, info)
	}
	resp.Channels = append(resp.Channels, d.channels.resolving()...)
	return resp, nil
}

// parseChannelPoint parses txid:vout.
func parseChannelPoint(s string) (wire.OutPoint, error) {
	txid, vout, ok := strings.Cut(s, ":")
	hash, err := chainhash.NewHashFromStr(txid)
	if !ok || err != nil || len(txid) != 2*chainhash.HashSize {
		return wire.OutPoint{}, rpc.Errorf(rpc.CodeInvalidArgument,
			"channel point %q: want TXID:VOUT", s)
	}
	n, err := strconv.ParseUint(vout, 10, 32)
	if err != nil {
		return wire.OutPoint{}, rpc.Errorf(rpc.CodeInvalidArgument,
			"channel point %q: output index is not a number", s)
	}
	return wire.OutPoint{Hash: *hash, Index: uint32(n)}, nil
}

func (d *Daemon) channelClose(ctx context.Context, req *rpc.ChannelCloseRequest) (*rpc.ChannelCloseResponse, error) {
	op, err := parseChannelPoint(req.ChannelPoint)
	if err != nil {
		return nil, err
	}
	d.channels.mu.Lock()
	l := d.channels.links[op]
	d.channels.mu.Unlock()
	if l == nil {
		return nil, rpc.Errorf(rpc.CodeNotFound, "no channel at %s", req.ChannelPoint)
	}
	if req.Force {
		return d.forceCloseRPC(req.ChannelPoint, l)
	}
	wait, err := l.shutdown()
	if err != nil {
		switch {
		case errors.Is(err, errChannelPeerOffline):
			return nil, rpc.Errorf(rpc.CodePeerNotConnected, "close %s: %v", req.ChannelPoint, err)
		case errors.Is(err, errChannelPending), errors.Is(err, errChannelClosed):
			return nil, rpc.Errorf(rpc.CodeInvalidArgument, "close %s: %v", req.ChannelPoint, err)
		}
		var ce *channel.CommandError
		if errors.As(err, &ce) {
			return nil, rpc.Errorf(rpc.CodeInvalidArgument, "close %s: %v", req.ChannelPoint, err)
		}
		return nil, fmt.Errorf("close %s: %w", req.ChannelPoint, err)
	}
	timer := time.NewTimer(closeTimeout)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil, rpc.Errorf(rpc.CodeUnavailable,
			"close %s: shutdown sent, closing negotiation still running after %v; "+
				"see channel list", req.ChannelPoint, closeTimeout)
	case res := <-wait:
		if res.err != nil {
			return nil, fmt.Errorf("close %s: %w", req.ChannelPoint, res.err)
		}
		return &rpc.ChannelCloseResponse{ClosingTxid: res.txid.String()}, nil
	case <-ctx.Done():
		return nil, rpc.Errorf(rpc.CodeUnavailable,
			"close %s: shutdown sent, closing negotiation still running: %v", req.ChannelPoint, ctx.Err())
	}
}

func (d *Daemon) channelClosed(context.Context, *rpc.Empty) (*rpc.ChannelClosedResponse, error) {
	recs, err := d.channels.store.All()
	if err != nil {
		return nil, err
	}
	resp := &rpc.ChannelClosedResponse{Channels: []rpc.ClosedChannel{}}
	for _, rec := range recs {
		if rec.State != chanstore.StateClosed {
			continue
		}
		txid, _ := rec.ClosingTxid()
		resp.Channels = append(resp.Channels, rpc.ClosedChannel{
			ChannelPoint: rec.Point.String(),
			CloseType:    rec.CloseType,
			ClosingTxid:  txid.String(),
			SettledSat:   rec.SettledSat,
			Resolved:     !rec.Unresolved,
		})
	}
	return resp, nil
}

// channelCounts counts the active and pending channels for getinfo.
func (d *Daemon) channelCounts() (active, pending int) {
	for _, l := range d.channels.allLinks() {
		l.mu.Lock()
		switch l.rec.State {
		case chanstore.StateActive:
			active++
		case chanstore.StatePendingOpen:
			pending++
		}
		l.mu.Unlock()
	}
	return active, pending
}
