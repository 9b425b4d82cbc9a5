package graph

import (
	"errors"

	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/router/gossip"
	"go.etcd.io/bbolt"
)

// Batch collects graph changes to apply in one database transaction.
// Gossip arrives in bursts (a peer's initial dump, a flood of updates);
// one transaction per message would spend most of the time in fsync.
type Batch struct {
	ops []func(g *Graph, tx *bbolt.Tx) error
}

// AddChannel queues Graph.AddChannel.
func (b *Batch) AddChannel(ann *gossip.ChannelAnnouncement, f gossip.Funding) {
	b.ops = append(b.ops, func(g *Graph, tx *bbolt.Tx) error { return g.addChannel(tx, ann, f) })
}

// ApplyChannelUpdate queues Graph.ApplyChannelUpdate.
func (b *Batch) ApplyChannelUpdate(u *gossip.ChannelUpdate) {
	b.ops = append(b.ops, func(g *Graph, tx *bbolt.Tx) error { return g.applyUpdate(tx, u) })
}

// ApplyNodeAnnouncement queues Graph.ApplyNodeAnnouncement.
func (b *Batch) ApplyNodeAnnouncement(a *gossip.NodeAnnouncement) {
	b.ops = append(b.ops, func(g *Graph, tx *bbolt.Tx) error { return g.applyNode(tx, a) })
}

// PruneChannel queues Graph.PruneChannel.
func (b *Batch) PruneChannel(scid lnwire.ShortChannelID) {
	b.ops = append(b.ops, func(g *Graph, tx *bbolt.Tx) error { return g.prune(tx, scid) })
}

// Len returns the number of queued changes.
func (b *Batch) Len() int { return len(b.ops) }

// Apply applies the queued changes in order, each seeing the ones before
// it, and commits them together. errs[i] is the outcome of the i-th
// change: a rejected change (stale, unknown channel...) does not stop the
// others. err reports a failure of the database, in which case nothing
// was applied.
func (g *Graph) Apply(b *Batch) (errs []error, err error) {
	errs = make([]error, len(b.ops))
	err = g.write(func(tx *bbolt.Tx) error {
		for i, op := range b.ops {
			errs[i] = op(g, tx)
			if errors.Is(errs[i], ErrStorage) {
				return errs[i]
			}
		}
		return nil
	})
	if err != nil {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
	}
	return errs, err
}
