package daemon

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/flash-ln/flash/daemon/rpc"
	"github.com/flash-ln/flash/onchain"
	"github.com/flash-ln/flash/onchain/wallet"
)

// sendConfTarget is the confirmation target of the estimated fee rate used
// when wallet/send names none.
const sendConfTarget = 6

// registerRPC wires every method to its handler.
func (d *Daemon) registerRPC(s *rpc.Server) {
	rpc.Handle(s, rpc.MethodGetInfo, d.getInfo)
	rpc.Handle(s, rpc.MethodStop, d.stopRPC)
	rpc.Handle(s, rpc.MethodChainInfo, d.chainInfo)
	rpc.Handle(s, rpc.MethodChainMine, d.chainMine)
	rpc.Handle(s, rpc.MethodChainConnect, d.chainConnect)
	rpc.Handle(s, rpc.MethodWalletNewAddress, d.walletNewAddress)
	rpc.Handle(s, rpc.MethodWalletBalance, d.walletBalance)
	rpc.Handle(s, rpc.MethodWalletSend, d.walletSend)
	d.registerChannelRPC(s)
	d.registerGraphRPC(s)
	d.registerPaymentRPC(s)
}

func (d *Daemon) getInfo(context.Context, *rpc.Empty) (*rpc.GetInfoResponse, error) {
	nodeID := hex.EncodeToString(d.nodeKey.SerializeCompressed())
	hash, height := d.chain.BestBlock()
	walletHash, _ := d.wallet.SyncedTo()
	active, pending := d.channelCounts()
	return &rpc.GetInfoResponse{
		NodeID:      nodeID,
		Alias:       d.alias,
		URI:         nodeID + "@" + d.lnListen.Addr().String(),
		BlockHeight: height,
		BlockHash:   hash.String(),
		// Synced means the wallet has applied the chain's tip, and the
		// chain believes its tip is the network's.
		SyncedToChain:      walletHash == hash && d.chain.IsCurrent(),
		NumPeers:           len(d.peers.Peers()),
		NumActiveChannels:  active,
		NumPendingChannels: pending,
		ChainListenAddress: d.chainListenAddr(),
		Version:            d.cfg.Version,
	}, nil
}

// chainListenAddr is the chain's bound P2P address, "" if none.
func (d *Daemon) chainListenAddr() string {
	if a := d.chain.ListenAddr(); a != nil {
		return a.String()
	}
	return ""
}

func (d *Daemon) stopRPC(context.Context, *rpc.Empty) (*rpc.Empty, error) {
	d.Stop()
	return &rpc.Empty{}, nil
}

func (d *Daemon) chainInfo(context.Context, *rpc.Empty) (*rpc.ChainInfoResponse, error) {
	hash, height := d.chain.BestBlock()
	return &rpc.ChainInfoResponse{
		Height:        height,
		BestHash:      hash.String(),
		NumChainPeers: d.chain.NumPeers(),
		ListenAddress: d.chainListenAddr(),
		IsCurrent:     d.chain.IsCurrent(),
	}, nil
}

func (d *Daemon) chainMine(ctx context.Context, req *rpc.ChainMineRequest) (*rpc.ChainMineResponse, error) {
	if req.NumBlocks < 1 || req.NumBlocks > rpc.MaxMineBlocks {
		return nil, rpc.Errorf(rpc.CodeInvalidArgument,
			"number of blocks %d: want 1 to %d", req.NumBlocks, rpc.MaxMineBlocks)
	}
	var payTo btcutil.Address
	if req.Address != "" {
		addr, err := d.decodeAddress(req.Address)
		if err != nil {
			return nil, err
		}
		payTo = addr
	} else {
		addr, err := d.wallet.NewAddress()
		if err != nil {
			return nil, fmt.Errorf("coinbase address: %w", err)
		}
		payTo = addr
	}
	hashes, err := d.chain.Mine(ctx, req.NumBlocks, payTo)
	if err != nil {
		if ctx.Err() != nil {
			return nil, rpc.Errorf(rpc.CodeUnavailable,
				"mining interrupted after %d blocks: %v", len(hashes), ctx.Err())
		}
		return nil, fmt.Errorf("mine %d blocks: %w", req.NumBlocks, err)
	}
	// Wait for the wallet to apply the blocks, so that a balance asked
	// right after mining includes them.
	d.waitWalletAt(ctx, hashes[len(hashes)-1])
	resp := &rpc.ChainMineResponse{BlockHashes: make([]string, len(hashes))}
	for i, h := range hashes {
		resp.BlockHashes[i] = h.String()
	}
	return resp, nil
}

// walletCatchUpTimeout bounds how long chain/mine waits for the wallet.
const walletCatchUpTimeout = 10 * time.Second

// waitWalletAt polls until the wallet has applied block hash, the chain has
// moved past it, or the wait times out; the answer is then merely stale.
func (d *Daemon) waitWalletAt(ctx context.Context, hash chainhash.Hash) {
	ctx, cancel := context.WithTimeout(ctx, walletCatchUpTimeout)
	defer cancel()
	ticker := time.NewTicker(5 * time.Millisecond)
	defer ticker.Stop()
	for {
		walletHash, walletHeight := d.wallet.SyncedTo()
		if walletHash == hash {
			return
		}
		if _, tipHeight := d.chain.BestBlock(); walletHeight >= tipHeight &&
			!d.chain.MainChainHasBlock(hash) {
			return
		}
		select {
		case <-ctx.Done():
			d.logger("rpc").Warn("wallet lags behind mined blocks",
				"wallet_height", walletHeight, "block", hash)
			return
		case <-ticker.C:
		}
	}
}

func (d *Daemon) chainConnect(_ context.Context, req *rpc.ChainConnectRequest) (*rpc.Empty, error) {
	host, port, err := net.SplitHostPort(req.Address)
	if err != nil || host == "" {
		return nil, rpc.Errorf(rpc.CodeInvalidArgument,
			"chain peer address %q: want HOST:PORT", req.Address)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return nil, rpc.Errorf(rpc.CodeInvalidArgument,
			"chain peer address %q: port must be 1 to 65535", req.Address)
	}
	if err := d.chain.ConnectPeer(req.Address, true); err != nil {
		return nil, rpc.Errorf(rpc.CodeInvalidArgument,
			"connect chain peer %s: %v", req.Address, err)
	}
	return &rpc.Empty{}, nil
}

func (d *Daemon) walletNewAddress(context.Context, *rpc.Empty) (*rpc.NewAddressResponse, error) {
	addr, err := d.wallet.NewAddress()
	if err != nil {
		return nil, err
	}
	return &rpc.NewAddressResponse{Address: addr.EncodeAddress()}, nil
}

func (d *Daemon) walletBalance(context.Context, *rpc.Empty) (*rpc.BalanceResponse, error) {
	b, err := d.wallet.Balance()
	if err != nil {
		return nil, err
	}
	return &rpc.BalanceResponse{
		ConfirmedSat:   int64(b.ConfirmedSat),
		UnconfirmedSat: int64(b.UnconfirmedSat),
		LockedSat:      int64(b.LockedSat),
		ImmatureSat:    int64(b.ImmatureSat),
	}, nil
}

func (d *Daemon) walletSend(ctx context.Context, req *rpc.SendRequest) (*rpc.SendResponse, error) {
	addr, err := d.decodeAddress(req.Address)
	if err != nil {
		return nil, err
	}
	if req.AmountSat <= 0 || req.AmountSat > btcutil.MaxSatoshi {
		return nil, rpc.Errorf(rpc.CodeInvalidArgument,
			"amount %d sat: want 1 to %d", req.AmountSat, int64(btcutil.MaxSatoshi))
	}
	var rate onchain.FeeRate
	switch {
	case req.SatPerVByte == 0:
		rate, err = d.chain.EstimateFeeRate(sendConfTarget)
		if err != nil {
			return nil, fmt.Errorf("estimate fee rate: %w", err)
		}
	case req.SatPerVByte < 1 || req.SatPerVByte > rpc.MaxFeeRateSatPerVByte:
		return nil, rpc.Errorf(rpc.CodeInvalidArgument,
			"fee rate %d sat/vB: want 1 to %d", req.SatPerVByte,
			rpc.MaxFeeRateSatPerVByte)
	default:
		rate = onchain.FeeRateFromSatPerVByte(req.SatPerVByte)
	}

	script, err := txscript.PayToAddrScript(addr)
	if err != nil {
		return nil, rpc.Errorf(rpc.CodeInvalidArgument, "address %q: %v", req.Address, err)
	}
	// CreateTransaction then PublishTransaction rather than SendToAddress:
	// the authored transaction carries its fee, which the caller needs to
	// account for the payment to the satoshi.
	authored, err := d.wallet.CreateTransaction(
		[]*wire.TxOut{wire.NewTxOut(req.AmountSat, script)}, rate)
	if err != nil {
		return nil, sendError(err)
	}
	txid := authored.Tx.TxHash()
	if err := ctx.Err(); err != nil {
		if rerr := d.wallet.ReleaseTransaction(authored.Tx); rerr != nil {
			d.logger("rpc").Error("release inputs", "txid", txid, "err", rerr)
		}
		return nil, rpc.Errorf(rpc.CodeUnavailable, "send cancelled: %v", err)
	}
	if err := d.wallet.PublishTransaction(authored.Tx); err != nil {
		var reject *onchain.TxRejectError
		if errors.As(err, &reject) || errors.Is(err, wallet.ErrConflict) {
			// The wallet has forgotten the transaction.
			return nil, sendError(err)
		}
		// The wallet keeps the transaction and rebroadcasts it at the
		// next start: the caller must not pay again.
		return nil, rpc.Errorf(rpc.CodeBroadcastFailed,
			"transaction %s (fee %d sat) recorded but not broadcast: %v; "+
				"it will be rebroadcast, do not pay again",
			txid, int64(authored.Fee), err)
	}
	return &rpc.SendResponse{Txid: txid.String(), FeeSat: int64(authored.Fee)}, nil
}

// sendError maps wallet failures to the stable RPC codes.
func sendError(err error) error {
	var reject *onchain.TxRejectError
	switch {
	case errors.Is(err, wallet.ErrInsufficientFunds):
		return rpc.Errorf(rpc.CodeInsufficientFunds, "%v", err)
	case errors.Is(err, wallet.ErrInvalidAmount), errors.Is(err, wallet.ErrDustAmount),
		errors.Is(err, wallet.ErrFeeRateTooLow):
		return rpc.Errorf(rpc.CodeInvalidArgument, "%v", err)
	case errors.As(err, &reject), errors.Is(err, wallet.ErrConflict):
		return rpc.Errorf(rpc.CodeTxRejected, "%v", err)
	default:
		return fmt.Errorf("send: %w", err)
	}
}

// decodeAddress parses an address and checks that it belongs to the
// node's network.
func (d *Daemon) decodeAddress(s string) (btcutil.Address, error) {
	if s == "" {
		return nil, rpc.Errorf(rpc.CodeInvalidArgument, "no address")
	}
	addr, err := btcutil.DecodeAddress(s, d.cfg.Params)
	if err != nil {
		return nil, rpc.Errorf(rpc.CodeInvalidArgument,
			"malformed address %q: %v", s, err)
	}
	if !addr.IsForNet(d.cfg.Params) {
		return nil, rpc.Errorf(rpc.CodeInvalidArgument,
			"address %q is not for %s", s, d.cfg.Params.Name)
	}
	return addr, nil
}
