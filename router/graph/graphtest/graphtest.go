package graphtest

import (
	"math"
	"math/rand"

	"github.com/btcsuite/btcd/wire"
	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/router/gossip"
	"github.com/flash-ln/flash/router/graph"
)

// Synthetic is a generated graph: its nodes and a batch that adds its
// channels and their policies to a graph.
type Synthetic struct {
	Nodes    []graph.NodeID
	Channels int
	Batch    *graph.Batch
}

// ScaleFree generates a graph of n nodes and about m channels by
// preferential attachment, the process behind the heavy-tailed degree
// distribution of the public Lightning network: each new node opens
// channels to existing nodes chosen with probability proportional to
// their degree. Capacities are log-uniform between 20,000 and 16,777,215
// satoshis; fees, time-lock deltas and HTLC limits are drawn from ranges
// common on the network; about 5% of directions are disabled and 5% have
// no update. The same seed gives the same graph.
//
// Node ids are random 33-byte strings with a valid prefix, not curve
// points: the graph never parses them, and generating real keys would
// dominate the setup time.
func ScaleFree(seed int64, n, m int) *Synthetic {
	rng := rand.New(rand.NewSource(seed))
	s := &Synthetic{Nodes: make([]graph.NodeID, n), Batch: &graph.Batch{}}
	for i := range s.Nodes {
		s.Nodes[i][0] = 2 + byte(rng.Intn(2))
		rng.Read(s.Nodes[i][1:])
	}
	perNode := max(1, m/n)
	// endpoints lists every channel end; a uniform pick from it is a
	// pick proportional to degree.
	endpoints := make([]int, 0, 2*m)
	var scid uint64
	addChannel := func(a, b int) {
		scid++
		s.addChannel(rng, scid, s.Nodes[a], s.Nodes[b])
		endpoints = append(endpoints, a, b)
	}
	seedNodes := min(n, perNode+1)
	for a := 0; a < seedNodes; a++ {
		for b := a + 1; b < seedNodes; b++ {
			addChannel(a, b)
		}
	}
	for a := seedNodes; a < n; a++ {
		for k := 0; k < perNode; {
			// A node's own earlier ends are in the list; skip them.
			if b := endpoints[rng.Intn(len(endpoints))]; b != a {
				addChannel(a, b)
				k++
			}
		}
	}
	for s.Channels < m && n > 1 {
		a := endpoints[rng.Intn(len(endpoints))]
		b := rng.Intn(n)
		if a != b {
			addChannel(a, b)
		}
	}
	return s
}

func (s *Synthetic) addChannel(rng *rand.Rand, scid uint64, a, b graph.NodeID) {
	s.Channels++
	id := lnwire.NewShortChanIDFromInt(scid<<16 | 1) // non-zero tx index keeps ids distinct
	ann := gossip.NewChannelAnnouncement(lnwire.ChainHash{}, id, nil, a, b, a, b)
	capSat := int64(math.Exp(rng.Float64()*(math.Log(16_777_215)-math.Log(20_000)) + math.Log(20_000)))
	var op wire.OutPoint
	rng.Read(op.Hash[:])
	s.Batch.AddChannel(ann, gossip.Funding{OutPoint: op, Capacity: capSat})
	for dir := 0; dir < 2; dir++ {
		if rng.Intn(20) == 0 {
			continue // no update for this direction
		}
		flags := gossip.ChannelFlags(dir)
		if rng.Intn(20) == 0 {
			flags |= gossip.ChanFlagDisabled
		}
		deltas := []uint16{18, 34, 40, 80, 144}
		maxHTLC := lnwire.NewMSatFromSatoshis(uint64(capSat))
		if rng.Intn(2) == 0 {
			maxHTLC = maxHTLC / 2
		}
		s.Batch.ApplyChannelUpdate(&gossip.ChannelUpdate{
			ShortChannelID:            id,
			Timestamp:                 1_700_000_000 + uint32(rng.Intn(1_000_000)),
			MessageFlags:              gossip.MsgFlagMustBeOne,
			ChannelFlags:              flags,
			CltvExpiryDelta:           deltas[rng.Intn(len(deltas))],
			HTLCMinimumMsat:           lnwire.MilliSatoshi([]uint64{1, 1000}[rng.Intn(2)]),
			FeeBaseMsat:               uint32(rng.Intn(2001)),
			FeeProportionalMillionths: uint32(math.Exp(rng.Float64() * math.Log(2000))),
			HTLCMaximumMsat:           maxHTLC,
		})
	}
}
