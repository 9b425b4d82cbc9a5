package chain

import (
	"github.com/btcsuite/btcd/wire"
)

// maxQueuedData is how many answers to one getdata may wait in a peer's
// send queue: enough to keep the connection busy, few enough that a request
// for thousands of blocks does not load them all into memory.
const maxQueuedData = 16

// serveGetData answers a getdata with blocks (main chain or side branch) and
// mempool transactions, and a notfound for the rest.
func (c *Chain) serveGetData(cp *chainPeer, msg *wire.MsgGetData) {
	notFound := wire.NewMsgNotFound()
	var queued []chan struct{}
	for _, iv := range msg.InvList {
		var (
			out     wire.Message
			enc     = wire.WitnessEncoding
			isBlock bool
		)
		switch iv.Type {
		case wire.InvTypeWitnessBlock, wire.InvTypeBlock:
			block, err := c.BlockByHash(iv.Hash)
			if err == nil {
				out, isBlock = block.MsgBlock(), true
			}
			if iv.Type == wire.InvTypeBlock {
				enc = wire.BaseEncoding
			}
		case wire.InvTypeWitnessTx, wire.InvTypeTx:
			tx, err := c.mempool.FetchTransaction(&iv.Hash)
			if err == nil {
				out = tx.MsgTx()
			}
			if iv.Type == wire.InvTypeTx {
				enc = wire.BaseEncoding
			}
		}
		if out == nil {
			_ = notFound.AddInvVect(iv)
			continue
		}
		if len(queued) == maxQueuedData {
			if !c.waitSent(queued[0]) {
				return
			}
			queued = queued[1:]
		}
		done := make(chan struct{}, 1)
		cp.QueueMessageWithEncoding(out, done, enc)
		queued = append(queued, done)

		if cont := cp.continueHash.Load(); isBlock && cont != nil && *cont == iv.Hash {
			cp.continueHash.Store(nil)
			best := c.chain.BestSnapshot()
			inv := wire.NewMsgInv()
			_ = inv.AddInvVect(wire.NewInvVect(wire.InvTypeBlock, &best.Hash))
			cp.QueueMessage(inv, nil)
		}
	}
	if len(notFound.InvList) > 0 {
		cp.QueueMessage(notFound, nil)
	}
	for _, done := range queued {
		if !c.waitSent(done) {
			return
		}
	}
}

// waitSent waits until a queued message is written (or dropped because the
// peer went away); false if the chain stops first.
func (c *Chain) waitSent(done chan struct{}) bool {
	select {
	case <-done:
		return true
	case <-c.quit:
		return false
	}
}

func (c *Chain) serveGetHeaders(cp *chainPeer, msg *wire.MsgGetHeaders) {
	headers := c.chain.LocateHeaders(msg.BlockLocatorHashes, &msg.HashStop)
	out := wire.NewMsgHeaders()
	for i := range headers {
		_ = out.AddBlockHeader(&headers[i])
	}
	cp.QueueMessage(out, nil)
}

func (c *Chain) serveGetBlocks(cp *chainPeer, msg *wire.MsgGetBlocks) {
	hashes := c.chain.LocateBlocks(msg.BlockLocatorHashes, &msg.HashStop, wire.MaxBlocksPerMsg)
	if len(hashes) == 0 {
		return
	}
	inv := wire.NewMsgInvSizeHint(uint(len(hashes)))
	for i := range hashes {
		_ = inv.AddInvVect(wire.NewInvVect(wire.InvTypeBlock, &hashes[i]))
	}
	if len(hashes) == wire.MaxBlocksPerMsg {
		last := hashes[len(hashes)-1]
		cp.continueHash.Store(&last)
	}
	cp.QueueMessage(inv, nil)
}
