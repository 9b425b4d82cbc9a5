package funding

import (
	"bytes"
	"fmt"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/wire"

	"github.com/flash-ln/flash/channel"
	"github.com/flash-ln/flash/channel/lnwire"
)

// Pending is what the daemon keeps about a channel between funding_signed
// and channel_ready, next to the channel's own state: which output to
// watch, how deep it must be, and for the funder the transaction to
// broadcast.
type Pending struct {
	TempChanID      lnwire.ChannelID
	FundingOutpoint wire.OutPoint
	Capacity        btcutil.Amount
	// FundingPkScript is the P2WSH script of the 2-of-2 output.
	FundingPkScript []byte
	// MinimumDepth is the fundee's minimum_depth, at least 1.
	MinimumDepth uint32
	LocalFunder  bool
	// Announce is the announce_channel bit of open_channel.
	Announce bool
	// FundingTx is the funding transaction; nil on the fundee's side,
	// which learns it from the chain.
	FundingTx *wire.MsgTx
}

func (n *negotiation) pending() *Pending {
	// The script was built successfully before any signature, with the
	// same keys.
	_, pk, _ := n.fundingScript()
	return &Pending{
		TempChanID:      n.open.TemporaryChannelID,
		FundingOutpoint: n.outpoint,
		Capacity:        n.capacity(),
		FundingPkScript: pk,
		MinimumDepth:    max(n.accept.MinimumDepth, 1),
		LocalFunder:     n.localFunder,
		Announce:        n.open.ChannelFlags&lnwire.ChannelFlagAnnounce != 0,
	}
}

// ChannelID returns the channel id of the funding outpoint.
func (p *Pending) ChannelID() lnwire.ChannelID { return lnwire.NewChannelID(p.FundingOutpoint) }

// CheckFundingOutput verifies that a confirmed transaction is the funding
// transaction: BOLT 2 forbids sending channel_ready unless the outpoint of
// funding_created pays exactly funding_satoshis to the 2-of-2 script. The
// fundee must check this, since it never saw the transaction before.
func (p *Pending) CheckFundingOutput(tx *wire.MsgTx) error {
	if tx == nil || tx.TxHash() != p.FundingOutpoint.Hash {
		return newErr(CodeFundingOutput, "transaction is not %s", describe(p.FundingOutpoint))
	}
	if int(p.FundingOutpoint.Index) >= len(tx.TxOut) {
		return newErr(CodeFundingOutput, "no output %d", p.FundingOutpoint.Index)
	}
	out := tx.TxOut[p.FundingOutpoint.Index]
	if !bytes.Equal(out.PkScript, p.FundingPkScript) || btcutil.Amount(out.Value) != p.Capacity {
		return newErr(CodeFundingOutput, "output %s pays %d sat to %x, expected %d sat to %x",
			describe(p.FundingOutpoint), out.Value, out.PkScript, p.Capacity, p.FundingPkScript)
	}
	return nil
}

// DeepEnough reports whether the funding transaction, with the given
// number of confirmations (1 when in the tip block), allows channel_ready.
func (p *Pending) DeepEnough(confirmations uint32) bool {
	return confirmations >= max(p.MinimumDepth, 1)
}

// FundeeShouldForget reports whether the fundee has waited long enough for
// a funding transaction that was never confirmed: BOLT 2 lets it forget the
// channel after 2016 blocks, as it has nothing at stake. The funder never
// forgets: its coins are in the transaction.
func (p *Pending) FundeeShouldForget(blocksWaited uint32) bool {
	return !p.LocalFunder && blocksWaited >= ForgetAfterBlocks
}

// ChannelReady builds our channel_ready: the channel id and our point for
// commitment number 1. The daemon sends it once DeepEnough, and again after
// a reconnection while both channel_reestablish messages carry
// next_commitment_number 1, as BOLT 2 asks: the peer may have missed it.
func ChannelReady(ch *channel.Channel) (*lnwire.ChannelReady, error) {
	point, err := ch.ChannelReadyPoint()
	if err != nil {
		return nil, newErr(CodeInternal, "second per-commitment point: %v", err)
	}
	return &lnwire.ChannelReady{ChannelID: ch.ID(), SecondPerCommitmentPoint: point}, nil
}

// ShortChannelID returns the short_channel_id of the funding output at
// output index outputIndex of the transaction at txIndex in the block at
// height. BOLT 7 packs the height and the index in 24 bits each.
func ShortChannelID(height, txIndex, outputIndex uint32) (lnwire.ShortChannelID, error) {
	const max24 = 1<<24 - 1
	switch {
	case height > max24:
		return lnwire.ShortChannelID{}, fmt.Errorf("short channel id: block height %d above %d", height, max24)
	case txIndex > max24:
		return lnwire.ShortChannelID{}, fmt.Errorf("short channel id: transaction index %d above %d", txIndex, max24)
	case outputIndex > 0xffff:
		return lnwire.ShortChannelID{}, fmt.Errorf("short channel id: output index %d above 65535", outputIndex)
	}
	return lnwire.ShortChannelID{BlockHeight: height, TxIndex: txIndex, TxPosition: uint16(outputIndex)}, nil
}
