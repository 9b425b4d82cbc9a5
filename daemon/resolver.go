package daemon

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/flash-ln/flash/channel"
	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/daemon/chanstore"
	"github.com/flash-ln/flash/daemon/rpc"
	"github.com/flash-ln/flash/onchain"
	"github.com/flash-ln/flash/onchain/notify"
	"github.com/flash-ln/flash/onchain/resolve"
)

// resolver claims, block after block, the outputs of ours on a commitment
// transaction that spent a channel's funding output, until every one is
// swept to the wallet (or taken by the peer, as the contract allows).
//
// Its plan is rebuilt from the channel record at every start; only the
// transactions it broadcast are stored, before being broadcast. The chain
// notifier reports which outputs are spent, and by what, and when our
// transactions confirm; each report, and each block, runs one step.
type resolver struct {
	m   *chanManager
	log *slog.Logger
	rec *chanstore.Channel

	plan *resolve.Plan

	mu sync.Mutex
	st *chanstore.Resolver
	// maturity is the number of blocks until the next output of ours
	// matures, zero when none waits.
	maturity int32
	done     bool
	// height is the tip of the last block epoch.
	height int32
	// spentBy records, for every watched output spent by a confirmed
	// transaction, that transaction; watched the outputs watched.
	spentBy map[wire.OutPoint]chainhash.Hash
	watched map[wire.OutPoint]bool
	// confWatched holds the txids whose confirmation is watched.
	confWatched map[chainhash.Hash]bool
	// cancels end the notifier registrations once resolved.
	cancels []func()
}

// startResolver starts the resolution of a channel closed by a commitment
// transaction, unless it runs already. Errors are logged: a spend that
// cannot be understood must not stop the node nor other resolvers.
func (m *chanManager) startResolver(rec *chanstore.Channel) {
	m.mu.Lock()
	if m.resolvers == nil {
		m.resolvers = make(map[wire.OutPoint]*resolver)
	}
	if _, ok := m.resolvers[rec.Point]; ok {
		m.mu.Unlock()
		return
	}
	r := &resolver{
		m:           m,
		log:         m.log.With("channel_point", rec.Point.String(), "sub", "resolver"),
		rec:         rec.Clone(),
		spentBy:     make(map[wire.OutPoint]chainhash.Hash),
		watched:     make(map[wire.OutPoint]bool),
		confWatched: make(map[chainhash.Hash]bool),
	}
	m.resolvers[rec.Point] = r
	m.mu.Unlock()
	if err := r.start(); err != nil {
		r.log.Error("cannot resolve the channel's outputs on chain", "err", err)
	}
}

// resolving lists the channels whose outputs are still being claimed.
func (m *chanManager) resolving() []rpc.Channel {
	m.mu.Lock()
	rs := make([]*resolver, 0, len(m.resolvers))
	for _, r := range m.resolvers {
		rs = append(rs, r)
	}
	m.mu.Unlock()
	var out []rpc.Channel
	for _, r := range rs {
		r.mu.Lock()
		if !r.done {
			out = append(out, rpc.Channel{
				ChannelPoint:        r.rec.Point.String(),
				ChannelID:           lnwire.NewChannelID(r.rec.Point).String(),
				Peer:                fmt.Sprintf("%x", r.rec.Peer[:]),
				CapacitySat:         int64(r.rec.Capacity),
				State:               rpc.ChannelWaitingResolution,
				BlocksUntilMaturity: r.maturity,
			})
		}
		r.mu.Unlock()
	}
	return out
}

// start rebuilds the plan and follows the chain.
func (r *resolver) start() error {
	m := r.m
	var spend wire.MsgTx
	if err := spend.Deserialize(bytes.NewReader(r.rec.ClosingTx)); err != nil {
		return fmt.Errorf("decode spend of the funding output: %w", err)
	}
	kr, err := m.keyring(r.rec.KeyIndex)
	if err != nil {
		return err
	}
	ch, err := channel.Unmarshal(r.rec.Machine, kr)
	if err != nil {
		return fmt.Errorf("restore channel: %w", err)
	}
	class, err := resolve.Classify(&spend, ch)
	if err != nil {
		return fmt.Errorf("classify spend %v: %w", spend.TxHash(), err)
	}
	point := r.rec.Point
	plan, err := resolve.NewPlan(class, ch, resolve.PlanInputs{
		Keyring:    kr,
		ConfHeight: r.rec.CloseHeight,
		Preimage:   m.preimage,
		RevokedSpec: func(n uint64) (*channel.CommitmentSpec, bool) {
			spec, err := m.store.Revoked(point, n)
			return spec, err == nil
		},
	})
	if err != nil {
		return fmt.Errorf("plan the resolution: %w", err)
	}
	r.plan = plan
	if len(plan.Unrecognised) > 0 || len(plan.AwaitingPreimage) > 0 {
		r.log.Warn("outputs left to the peer or waiting for a preimage",
			"unrecognised", len(plan.Unrecognised), "awaiting_preimage", len(plan.AwaitingPreimage))
	}
	if class.Kind == resolve.Breach && r.rec.CloseType != rpc.CloseBreach {
		r.rec.CloseType = rpc.CloseBreach
		if err := m.store.Put(r.rec); err != nil {
			return err
		}
		r.log.Warn("peer broadcast a revoked commitment: sweeping everything it holds",
			"commitment_number", class.CommitmentNumber, "txid", class.TxID)
	}
	st, err := m.store.GetResolver(point)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.st = st
	for _, res := range plan.Resolutions {
		r.watchSpendLocked(res.OutPoint, res.PkScript)
	}
	for _, t := range st.Txs {
		tx, err := decodeTx(t.Tx)
		if err != nil {
			continue
		}
		r.watchConfLocked(tx)
		if t.ConfHeight == 0 {
			r.announce(tx)
		}
	}
	r.mu.Unlock()
	r.log.Info("resolving channel outputs on chain", "close_kind", class.Kind,
		"resolutions", len(plan.Resolutions))

	ev, err := m.notifier.RegisterBlockEpochs()
	if err != nil {
		return fmt.Errorf("watch blocks: %w", err)
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer ev.Cancel()
		for {
			select {
			case epoch, ok := <-ev.Epochs:
				if !ok {
					return
				}
				r.mu.Lock()
				r.height = epoch.Height
				r.mu.Unlock()
				if r.step() {
					return
				}
			case <-m.ctx.Done():
				return
			}
		}
	}()
	return nil
}

func decodeTx(b []byte) (*wire.MsgTx, error) {
	var tx wire.MsgTx
	if err := tx.Deserialize(bytes.NewReader(b)); err != nil {
		return nil, err
	}
	return &tx, nil
}

// watchSpendLocked has the notifier report the confirmed spend of op.
func (r *resolver) watchSpendLocked(op wire.OutPoint, pkScript []byte) {
	if r.watched[op] {
		return
	}
	ev, err := r.m.notifier.RegisterSpend(op, pkScript, max(r.rec.CloseHeight, 0))
	if err != nil {
		r.log.Error("watch output", "outpoint", op, "err", err)
		return
	}
	r.watched[op] = true
	r.cancels = append(r.cancels, ev.Cancel)
	r.m.watchSpend(ev, func(d notify.SpendDetail) {
		r.mu.Lock()
		r.spentBy[op] = d.SpenderTxHash
		r.mu.Unlock()
		r.step()
	})
}

// watchConfLocked has the notifier report the confirmation of one of our
// transactions.
func (r *resolver) watchConfLocked(tx *wire.MsgTx) {
	txid := tx.TxHash()
	if r.confWatched[txid] || len(tx.TxOut) == 0 {
		return
	}
	ev, err := r.m.notifier.RegisterConf(txid, tx.TxOut[0].PkScript, 1, max(r.rec.CloseHeight, 0))
	if err != nil {
		r.log.Error("watch claim transaction", "txid", txid, "err", err)
		return
	}
	r.confWatched[txid] = true
	r.cancels = append(r.cancels, ev.Cancel)
	r.m.watch(ev, func(c notify.TxConfirmation) {
		r.mu.Lock()
		for i := range r.st.Txs {
			if t, err := decodeTx(r.st.Txs[i].Tx); err == nil && t.TxHash() == txid {
				r.st.Txs[i].ConfHeight = c.BlockHeight
			}
		}
		err := r.m.store.PutResolver(r.st)
		r.mu.Unlock()
		if err != nil {
			r.log.Error("store claim confirmation", "txid", txid, "err", err)
			return
		}
		r.log.Info("claim transaction confirmed", "txid", txid, "height", c.BlockHeight)
		r.step()
	})
}

// step does what the chain allows at the last known tip, and reports
// whether the resolution is over.
func (r *resolver) step() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done {
		return true
	}
	if r.height == 0 {
		return false // no block epoch yet
	}
	done, err := r.stepLocked(r.height)
	if err != nil {
		r.log.Error("resolution step", "height", r.height, "err", err)
		return false
	}
	return done
}

func (r *resolver) stepLocked(height int32) (bool, error) {
	// What our stored transactions became, and which outputs they claim.
	claimed := make(map[wire.OutPoint]bool)
	pending := false
	var settled int64
	var resolutions []resolve.Resolution
	resolutions = append(resolutions, r.plan.Resolutions...)
	for i := range r.st.Txs {
		t := &r.st.Txs[i]
		tx, err := decodeTx(t.Tx)
		if err != nil {
			return false, fmt.Errorf("stored transaction %d: %w", i, err)
		}
		txid := tx.TxHash()
		live := t.ConfHeight > 0
		if !live {
			// Unconfirmed: still pending unless another transaction
			// spent one of its inputs.
			live = true
			for _, in := range tx.TxIn {
				if by, ok := r.spentBy[in.PreviousOutPoint]; ok && by != txid {
					live = false
					break
				}
			}
			if live {
				pending = true
				// Re-announced every block: a mempool emptied by a
				// restart, or one that refused the claim while the
				// chain was still catching up, takes it again.
				r.announce(tx)
			}
		}
		if !live {
			continue
		}
		for _, in := range tx.TxIn {
			claimed[in.PreviousOutPoint] = true
		}
		switch {
		case t.Sweep && t.ConfHeight > 0:
			for _, o := range tx.TxOut {
				settled += o.Value
			}
		case !t.Sweep && t.ConfHeight > 0:
			if sl, ok := r.plan.SecondLevel(tx, t.ConfHeight); ok {
				r.watchSpendLocked(sl.OutPoint, sl.PkScript)
				resolutions = append(resolutions, sl)
			}
		}
	}

	var sweep []resolve.Resolution
	open := false
	r.maturity = 0
	for _, res := range resolutions {
		if _, spent := r.spentBy[res.OutPoint]; spent || claimed[res.OutPoint] {
			continue
		}
		open = true
		if !res.Mature(height) {
			left := res.MaturityHeight - height
			if r.maturity == 0 || left < r.maturity {
				r.maturity = left
			}
			continue
		}
		if res.SecondLevel != nil {
			if err := r.publishLocked(res.SecondLevel, false); err != nil {
				return false, err
			}
			pending = true
			continue
		}
		if res.Sign != nil {
			sweep = append(sweep, res)
		}
	}
	if len(sweep) > 0 {
		pkScript, err := r.m.closeScript()
		if err != nil {
			return false, err
		}
		tx, err := resolve.SweepTx(sweep, pkScript, r.m.feeRate(), height)
		if err != nil {
			return false, fmt.Errorf("build sweep of %d outputs: %w", len(sweep), err)
		}
		if err := r.publishLocked(tx, true); err != nil {
			return false, err
		}
		pending = true
	}
	if open || pending {
		return false, nil
	}
	rec, err := r.m.store.Get(r.rec.Point)
	if err != nil {
		return false, err
	}
	rec.Unresolved = false
	rec.SettledSat = settled
	if err := r.m.store.Put(rec); err != nil {
		return false, err
	}
	r.rec = rec
	r.done = true
	for _, cancel := range r.cancels {
		cancel()
	}
	r.log.Info("channel resolved on chain", "close_type", rec.CloseType, "settled_sat", settled)
	return true, nil
}

// publishLocked stores tx, then broadcasts it. A transaction the network
// refuses is forgotten again, to be rebuilt at a later block.
func (r *resolver) publishLocked(tx *wire.MsgTx, sweep bool) error {
	if sweep {
		if err := checkSweepPaysWallet(tx); err != nil {
			return err
		}
	}
	var buf bytes.Buffer
	if err := tx.Serialize(&buf); err != nil {
		return err
	}
	r.st.Txs = append(r.st.Txs, chanstore.ResolverTx{Tx: buf.Bytes(), Sweep: sweep})
	if err := r.m.store.PutResolver(r.st); err != nil {
		r.st.Txs = r.st.Txs[:len(r.st.Txs)-1]
		return err
	}
	if err := r.broadcast(tx); err != nil {
		var rej *onchain.TxRejectError
		if errors.As(err, &rej) {
			r.st.Txs = r.st.Txs[:len(r.st.Txs)-1]
			if perr := r.m.store.PutResolver(r.st); perr != nil {
				return perr
			}
		}
		return err
	}
	r.watchConfLocked(tx)
	r.log.Info("claim transaction broadcast", "txid", tx.TxHash(), "sweep", sweep,
		"inputs", len(tx.TxIn))
	return nil
}

// checkSweepPaysWallet is the last guard before a sweep leaves: each of its
// outputs must pay a single-key witness program, the only kind of address
// the wallet hands out.
func checkSweepPaysWallet(tx *wire.MsgTx) error {
	for i, o := range tx.TxOut {
		if len(o.PkScript) != 22 || o.PkScript[0] != 0 || o.PkScript[1] != 20 {
			return fmt.Errorf("sweep %v output %d does not pay a wallet address", tx.TxHash(), i)
		}
	}
	return nil
}

// broadcast hands tx to the wallet, which keeps it (its outputs to us are
// credited to the wallet) and rebroadcasts it at every start.
// announce hands an already stored and published claim to the network
// again. It goes through the chain, not the wallet: the wallet forgets a
// transaction the mempool refuses, and a refusal here may be passing (a
// chain still catching up after a restart). The claim pays a wallet
// address, so the wallet credits it once it confirms either way.
func (r *resolver) announce(tx *wire.MsgTx) {
	if err := r.m.chain.SendTransaction(tx); err != nil {
		r.log.Debug("claim transaction not taken by the mempool yet", "txid", tx.TxHash(), "err", err)
	}
}

func (r *resolver) broadcast(tx *wire.MsgTx) error {
	if err := r.m.wallet.PublishTransaction(tx); err != nil {
		r.log.Warn("broadcast claim transaction", "txid", tx.TxHash(), "err", err)
		return err
	}
	return nil
}
