package resolve

import (
	"github.com/flash-ln/flash/channel"
)

// Deadlines are the safety margins of BOLT 2 "Risks With HTLC Timeouts",
// in blocks, that decide when an open channel must go to chain to keep an
// HTLC from being lost.
type Deadlines struct {
	// OfferedGrace is G: how long after an offered HTLC's expiry the peer
	// may still fail or fulfil it off chain before we fail the channel
	// and time it out on chain.
	OfferedGrace uint32
	// FulfilledMargin is 2R+G+S: how long before a received HTLC's
	// expiry the peer must have taken our fulfilment off chain; past it
	// we fail the channel and claim the HTLC on chain with the preimage
	// while the peer cannot yet time it out.
	FulfilledMargin uint32
}

// DefaultDeadlines are the values BOLT 2 calls reasonable.
func DefaultDeadlines() Deadlines { return Deadlines{OfferedGrace: 1, FulfilledMargin: 18} }

// HTLCDeadline is an HTLC whose deadline has passed.
type HTLCDeadline struct {
	HTLC channel.HTLC
	// Height is the deadline: from this height on, the channel must be
	// closed on chain.
	Height int32
}

// PastDeadlines returns the HTLCs of the channel, still in one of its
// commitments at height, that require a force close now: those we offered
// whose expiry passed by OfferedGrace, and those offered to us whose
// preimage we know within FulfilledMargin of their expiry. A driver calls
// it on every block and force closes when it returns anything.
func PastDeadlines(view ChannelView, height int32, d Deadlines, preimage func(hash [32]byte) ([32]byte, bool)) []HTLCDeadline {
	local := view.LocalCommitment()
	remote, pending := view.RemoteCommitment()
	specs := []*channel.CommitmentSpec{&local.Spec, &remote.Spec}
	if pending != nil {
		specs = append(specs, &pending.Spec)
	}
	type key struct {
		incoming bool
		id       uint64
	}
	seen := make(map[key]bool)
	var out []HTLCDeadline
	for _, spec := range specs {
		for _, h := range spec.HTLCs {
			k := key{h.Incoming, h.ID}
			if seen[k] {
				continue
			}
			seen[k] = true
			var deadline int64
			if h.Incoming {
				if preimage == nil {
					continue
				}
				if _, ok := preimage(h.PaymentHash); !ok {
					continue
				}
				deadline = int64(h.CLTVExpiry) - int64(d.FulfilledMargin)
			} else {
				deadline = int64(h.CLTVExpiry) + int64(d.OfferedGrace)
			}
			if int64(height) >= deadline {
				out = append(out, HTLCDeadline{HTLC: h, Height: int32(max(deadline, 0))})
			}
		}
	}
	return out
}
