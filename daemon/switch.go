package daemon

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/flash-ln/flash/channel"
	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/daemon/chanstore"
	"github.com/flash-ln/flash/htlc/forward"
	"github.com/flash-ln/flash/router/graph"
	"github.com/flash-ln/flash/router/payment"
)

// commitBatchDelay is how long a link waits after an update before it signs
// a commitment, so that HTLCs arriving close together share one
// commitment_signed/revoke_and_ack round.
const commitBatchDelay = time.Millisecond

// payHub carries HTLCs between the links, the switch, the invoice registry
// and the payer. The links report what their machines emit; the hub's
// worker feeds the switch and carries out its decisions on the links.
//
// Lock order: a link's mutex, then hub.mu; the switch's mutex, then hub.mu.
// The worker never calls the switch while it holds a link's mutex, except
// OpenCircuit, which does not call back.
type payHub struct {
	log   *slog.Logger
	cm    *chanManager
	sw    *forward.Switch
	payer *payment.Payer
	// graph holds our own channel_updates; self is our node id in it.
	graph *graph.Graph
	self  graph.NodeID
	// height is the chain tip, for expiry checks.
	height func() uint32
	ctx    context.Context
	cancel context.CancelFunc
	// wg counts the worker and the payments being driven.
	wg sync.WaitGroup
	// openMu keeps SendLocal and OpenCircuit apart: OpenCircuit takes the
	// switch's lock inside a database write, SendLocal writes to the
	// database under that lock, and the two orders would deadlock.
	openMu sync.Mutex

	mu    sync.Mutex
	queue []hubJob
	wake  chan struct{}
	// links holds, per channel, what the hub tracks of it.
	links map[lnwire.ChannelID]*linkState
	// byShort finds a channel by short channel id.
	byShort map[lnwire.ShortChannelID]lnwire.ChannelID
}

// linkState is the hub's view of one link, guarded by payHub.mu.
type linkState struct {
	l    *link
	info forward.ChannelInfo
	// signing is set while a commitment signature is scheduled.
	signing bool
	// resolving holds the incoming HTLCs whose removal we sent, until it
	// is irrevocably committed.
	resolving map[uint64]bool
	// replay is set while the link's locked incoming HTLCs must be
	// presented to the switch again (at start and after a reconnection).
	replay bool
}

// hubJob is one unit of the worker's work.
type hubJob struct {
	l         *link
	events    []channel.Event
	decision  *forward.Decision
	resolved  *forward.CircuitKey
	replay    bool
	reconcile bool
}

func newPayHub(log *slog.Logger, cm *chanManager, height func() uint32) *payHub {
	ctx, cancel := context.WithCancel(context.Background())
	return &payHub{
		log:     log,
		cm:      cm,
		height:  height,
		ctx:     ctx,
		cancel:  cancel,
		wake:    make(chan struct{}, 1),
		links:   make(map[lnwire.ChannelID]*linkState),
		byShort: make(map[lnwire.ShortChannelID]lnwire.ChannelID),
	}
}

// enqueue hands jobs to the worker.
func (h *payHub) enqueue(jobs ...hubJob) {
	h.mu.Lock()
	h.queue = append(h.queue, jobs...)
	h.mu.Unlock()
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// run is the worker: it takes jobs in order until the channel manager
// stops.
func (h *payHub) run() {
	for {
		h.mu.Lock()
		jobs := h.queue
		h.queue = nil
		h.mu.Unlock()
		for _, j := range jobs {
			h.do(j)
		}
		if len(jobs) > 0 {
			continue
		}
		select {
		case <-h.ctx.Done():
			return
		case <-h.wake:
		}
	}
}

// stateLocked returns the hub's state of l, creating it; h.mu is held.
func (h *payHub) stateLocked(l *link) *linkState {
	id := lnwire.NewChannelID(l.pt)
	s := h.links[id]
	if s == nil || s.l != l {
		s = &linkState{l: l, resolving: make(map[uint64]bool), replay: true}
		h.links[id] = s
	}
	return s
}

// linkOutput is called by a link, under its mutex, after each output of
// its machine was stored and sent. It refreshes the channel's view, queues
// the events for the worker, notices resolved incoming HTLCs and schedules
// a commitment signature.
func (h *payHub) linkOutput(l *link, out channel.Output) {
	info := h.linkInfoLocked(l)
	cid := info.ChanID
	var resolved []uint64
	h.mu.Lock()
	s := h.stateLocked(l)
	s.info = info
	if info.SCID.ToUint64() != 0 {
		h.byShort[info.SCID] = cid
	}
	if l.peer == nil {
		s.replay = true
	}
	replay := s.replay && l.peer != nil && l.ch.Phase() == channel.PhaseNormal
	if replay {
		s.replay = false
	}
	for id := range s.resolving {
		if !holdsIncoming(l.ch, id) {
			resolved = append(resolved, id)
			delete(s.resolving, id)
		}
	}
	sign := !s.signing && l.ch.NeedsSignature()
	if sign {
		s.signing = true
	}
	h.mu.Unlock()

	var jobs []hubJob
	if len(out.Events) > 0 {
		jobs = append(jobs, hubJob{l: l, events: out.Events})
	}
	for _, id := range resolved {
		key := forward.CircuitKey{ChanID: cid, HTLCID: id}
		jobs = append(jobs, hubJob{resolved: &key})
	}
	if replay {
		jobs = append(jobs, hubJob{l: l, replay: true})
	}
	if len(jobs) > 0 {
		h.enqueue(jobs...)
	}
	if sign {
		time.AfterFunc(commitBatchDelay, func() { h.sign(l) })
	}
}

// sign sends a commitment_signed covering every update made since the
// last one.
func (h *payHub) sign(l *link) {
	l.mu.Lock()
	defer l.mu.Unlock()
	h.mu.Lock()
	h.stateLocked(l).signing = false
	h.mu.Unlock()
	if h.ctx.Err() != nil || l.forgotten || !l.ch.NeedsSignature() {
		return
	}
	out, err := l.ch.SignCommitment()
	if err != nil {
		l.log.Debug("sign commitment", "err", err)
		return
	}
	if err := l.applyLocked(out); err != nil {
		l.log.Error("apply commitment signature", "err", err)
	}
}

// holdsIncoming reports whether incoming HTLC id is still in either side's
// commitment.
func holdsIncoming(ch *channel.Channel, id uint64) bool {
	has := func(spec channel.CommitmentSpec) bool {
		for _, h := range spec.HTLCs {
			if h.Incoming && h.ID == id {
				return true
			}
		}
		return false
	}
	if has(ch.LocalCommitment().Spec) {
		return true
	}
	cur, next := ch.RemoteCommitment()
	return has(cur.Spec) || (next != nil && has(next.Spec))
}

// holdsOutgoing reports whether outgoing HTLC id is in either side's
// commitment.
func holdsOutgoing(ch *channel.Channel, id uint64) bool {
	has := func(spec channel.CommitmentSpec) bool {
		for _, h := range spec.HTLCs {
			if !h.Incoming && h.ID == id {
				return true
			}
		}
		return false
	}
	if has(ch.LocalCommitment().Spec) {
		return true
	}
	cur, next := ch.RemoteCommitment()
	return has(cur.Spec) || (next != nil && has(next.Spec))
}

// linkInfoLocked is what the switch needs of l now; l.mu is held.
func (h *payHub) linkInfoLocked(l *link) forward.ChannelInfo {
	p := l.ch.Params()
	info := forward.ChannelInfo{
		ChanID: l.ch.ID(),
		SCID:   lnwire.NewShortChanIDFromInt(l.rec.ShortChannelID),
		Policy: h.forwardingPolicy(l),
		Active: l.peer != nil && l.rec.State == chanstore.StateActive &&
			l.ch.Phase() == channel.PhaseNormal,
	}
	cur, next := l.ch.RemoteCommitment()
	spec := cur.Spec
	if next != nil {
		spec = next.Spec
	}
	bal := min(spec.LocalBalance, l.ch.LocalCommitment().Spec.LocalBalance)
	reserve := lnwire.NewMSatFromSatoshis(uint64(max(p.Local.ChannelReserve, p.Remote.ChannelReserve)))
	if bal > reserve {
		info.AvailableMsat = bal - reserve
	}
	return info
}

// forwardingPolicy is the policy this node charges on a channel: the one
// its latest channel_update in the graph announces, else the defaults the
// gossip layer announces for new channels.
func (h *payHub) forwardingPolicy(l *link) forward.Policy {
	if h.graph != nil && l.rec.ShortChannelID != 0 {
		if c, ok := h.graph.Channel(lnwire.NewShortChanIDFromInt(l.rec.ShortChannelID)); ok {
			dir := 0
			if c.Node2 == h.self {
				dir = 1
			}
			if gp := c.Policies[dir]; gp.Known() {
				return forward.Policy{
					FeeBaseMsat:               gp.FeeBaseMsat,
					FeeProportionalMillionths: gp.FeeRatePPM,
					CLTVExpiryDelta:           gp.CltvExpiryDelta,
					HTLCMinimumMsat:           gp.HTLCMinimumMsat,
					HTLCMaximumMsat:           gp.HTLCMaximumMsat,
					Disabled:                  gp.Disabled,
				}
			}
		}
	}
	p := l.ch.Params()
	pol := forward.Policy{
		FeeBaseMsat:               defaultFeeBaseMsat,
		FeeProportionalMillionths: defaultFeeRatePPM,
		CLTVExpiryDelta:           defaultCltvDeltaTest,
		HTLCMinimumMsat:           max(p.Remote.HTLCMinimum, 1),
		HTLCMaximumMsat:           lnwire.NewMSatFromSatoshis(uint64(p.Capacity)),
	}
	if m := p.Remote.MaxHTLCValueInFlight; m > 0 && m < pol.HTLCMaximumMsat {
		pol.HTLCMaximumMsat = m
	}
	return pol
}

// ChannelByShortID implements forward.ChannelSource from the views the
// links last reported.
func (h *payHub) ChannelByShortID(scid lnwire.ShortChannelID) (forward.ChannelInfo, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	cid, ok := h.byShort[scid]
	if !ok {
		return forward.ChannelInfo{}, false
	}
	s := h.links[cid]
	if s == nil || s.l.forgotten {
		return forward.ChannelInfo{}, false
	}
	return s.info, true
}

// LocalBalances implements payment.LocalChannels. It reads every link
// afresh, which also refreshes the views the switch uses.
func (h *payHub) LocalBalances() map[lnwire.ShortChannelID]lnwire.MilliSatoshi {
	for _, l := range h.cm.allLinks() {
		h.refresh(l)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[lnwire.ShortChannelID]lnwire.MilliSatoshi, len(h.byShort))
	for scid, cid := range h.byShort {
		if s := h.links[cid]; s != nil && s.info.Active {
			out[scid] = s.info.AvailableMsat
		}
	}
	return out
}

// linkByID finds a channel's link.
func (h *payHub) linkByID(cid lnwire.ChannelID) *link {
	h.cm.mu.Lock()
	defer h.cm.mu.Unlock()
	return h.cm.byID[cid]
}

// do runs one job.
func (h *payHub) do(j hubJob) {
	switch {
	case j.decision != nil:
		h.act(*j.decision)
	case j.resolved != nil:
		if err := h.sw.IncomingResolved(*j.resolved); err != nil {
			h.log.Error("forget resolved circuit", "htlc", j.resolved, "err", err)
		}
	case j.replay:
		h.replay(j.l)
	case j.reconcile:
		h.reconcile(j.l)
	default:
		for _, ev := range j.events {
			h.event(j.l, ev)
		}
	}
}

// event feeds one event of a link's machine to the switch.
func (h *payHub) event(l *link, ev channel.Event) {
	cid := lnwire.NewChannelID(l.pt)
	var (
		d   forward.Decision
		err error
	)
	switch e := ev.(type) {
	case channel.IncomingHTLCLocked:
		if !h.lockedOnBothSides(l, e.HTLC.ID) {
			// Not in our own commitment yet: it is presented again
			// from LockedIncomingHTLCs at the link's next output.
			return
		}
		d, err = h.sw.HandleIncoming(h.ctx, forward.IncomingHTLC{Chan: cid, HTLC: e.HTLC}, h.height())
	case channel.OutgoingHTLCPreimage:
		d, err = h.sw.HandleOutgoingSettled(h.ctx, cid, e.ID, e.Preimage)
	case channel.OutgoingHTLCSettled:
		d, err = h.sw.HandleOutgoingSettled(h.ctx, cid, e.ID, e.Preimage)
	case channel.OutgoingHTLCFailed:
		d, err = h.sw.HandleOutgoingFailed(h.ctx, cid, e)
	case channel.LocalUpdatesDropped:
		h.reconcile(l)
		return
	default:
		return
	}
	if errors.Is(err, forward.ErrUnknownCircuit) {
		h.log.Debug("event without circuit", "event", ev, "err", err)
		return
	}
	if err != nil {
		h.log.Error("switch", "channel", cid, "err", err)
		return
	}
	h.act(d)
}

// lockedOnBothSides reports whether incoming HTLC id is in both sides'
// current commitments, the condition for forwarding or settling it. When
// it is not, the link replays its locked HTLCs at its next output.
func (h *payHub) lockedOnBothSides(l *link, id uint64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, htlc := range l.ch.LockedIncomingHTLCs() {
		if htlc.ID == id {
			return true
		}
	}
	h.mu.Lock()
	h.stateLocked(l).replay = true
	h.mu.Unlock()
	return false
}

// act carries out a decision of the switch.
func (h *payHub) act(d forward.Decision) {
	switch d.Action {
	case forward.ActionNone:
		return
	case forward.ActionForward:
		h.forward(d)
		return
	}
	in := h.linkByID(d.Incoming.ChanID)
	if in == nil {
		h.log.Warn("incoming channel gone", "htlc", d.Incoming, "action", d.Action)
		return
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	var (
		out channel.Output
		err error
	)
	switch d.Action {
	case forward.ActionSettle:
		out, err = in.ch.FulfillHTLC(d.Incoming.HTLCID, d.Preimage)
	case forward.ActionFail:
		out, err = in.ch.FailHTLC(d.Incoming.HTLCID, d.Reason)
	case forward.ActionFailMalformed:
		out, err = in.ch.FailMalformedHTLC(d.Incoming.HTLCID, d.FailureCode, d.ShaOnion)
	}
	if err != nil {
		// Already removed (a repeat), or the peer is away: the
		// decision is presented again when the link is back.
		in.log.Debug("resolve incoming HTLC", "htlc", d.Incoming.HTLCID, "action", d.Action, "err", err)
		h.mu.Lock()
		h.stateLocked(in).replay = true
		h.mu.Unlock()
		return
	}
	h.mu.Lock()
	h.stateLocked(in).resolving[d.Incoming.HTLCID] = true
	h.mu.Unlock()
	if err := in.applyLocked(out); err != nil {
		in.log.Error("apply HTLC resolution", "err", err)
	}
}

// forward offers a forwarded (or our own) HTLC on the outgoing channel,
// opening its circuit before the channel's state with the HTLC is stored.
func (h *payHub) forward(d forward.Decision) {
	refuse := func(cause error) {
		rd, err := h.sw.ForwardRefused(h.ctx, d.Incoming, cause)
		if err != nil {
			h.log.Error("refuse forward", "htlc", d.Incoming, "err", err)
			return
		}
		h.act(rd)
	}
	out := h.linkByID(d.Outgoing)
	if out == nil {
		refuse(errors.New("outgoing channel unknown"))
		return
	}
	out.mu.Lock()
	if out.forgotten || out.peer == nil {
		out.mu.Unlock()
		refuse(errChannelPeerOffline)
		return
	}
	id, o, err := out.ch.AddHTLC(d.Add)
	if err != nil {
		out.mu.Unlock()
		refuse(err)
		return
	}
	h.openMu.Lock()
	err = h.sw.OpenCircuit(d.Incoming, id)
	h.openMu.Unlock()
	if err != nil {
		// The machine holds the HTLC only in memory: take it back.
		if ch, uerr := channel.Unmarshal(out.rec.Machine, out.kr); uerr == nil {
			out.ch = ch
		}
		out.mu.Unlock()
		h.log.Error("open circuit", "htlc", d.Incoming, "err", err)
		refuse(err)
		return
	}
	if err := out.applyLocked(o); err != nil {
		out.log.Error("apply forwarded HTLC", "err", err)
	}
	out.mu.Unlock()
}

// replay presents the link's locked incoming HTLCs to the switch again,
// after a restart or a reconnection: the decisions taken before are
// returned again and carried out if they were not.
func (h *payHub) replay(l *link) {
	l.mu.Lock()
	cid := lnwire.NewChannelID(l.pt)
	htlcs := l.ch.LockedIncomingHTLCs()
	l.mu.Unlock()
	for _, htlc := range htlcs {
		d, err := h.sw.HandleIncoming(h.ctx, forward.IncomingHTLC{Chan: cid, HTLC: htlc, Restored: true}, h.height())
		if err != nil {
			h.log.Error("replay incoming HTLC", "channel", cid, "htlc", htlc.ID, "err", err)
			continue
		}
		h.act(d)
	}
}

// reconcile reopens the circuits whose outgoing HTLC the link no longer
// holds (dropped unsigned at a disconnection, or lost in a crash) and
// carries out what the switch then decides.
func (h *payHub) reconcile(l *link) {
	cid := lnwire.NewChannelID(l.pt)
	known := func(id uint64) bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return holdsOutgoing(l.ch, id)
	}
	ds, err := h.sw.Reconcile(h.ctx, cid, known, h.height())
	if err != nil {
		h.log.Error("reconcile circuits", "channel", cid, "err", err)
	}
	for _, d := range ds {
		h.act(d)
	}
}
