package script

import (
	"bytes"
	"errors"
	"fmt"
	"sort"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/wire"
)

// ErrFeeTooHigh is returned when the funder's balance cannot pay the
// closing fee.
var ErrFeeTooHigh = errors.New("script: funder cannot pay the closing fee")

// ClosingParams describe a cooperative closing transaction from the point
// of view of the signer ("local").
type ClosingParams struct {
	FundingOutpoint wire.OutPoint
	// LocalScript and RemoteScript are the scriptpubkeys of the two
	// shutdown messages.
	LocalScript  []byte
	RemoteScript []byte
	// LocalMsat and RemoteMsat are the final balances.
	LocalMsat  uint64
	RemoteMsat uint64
	// Fee is fee_satoshis, paid by the funder.
	Fee           btcutil.Amount
	LocalIsFunder bool
	// DustLimit is the signer's dust_limit_satoshis: outputs below it are
	// left out.
	DustLimit btcutil.Amount
	// OmitLocal leaves the signer's own output out, which BOLT 3 allows.
	OmitLocal bool
	// OmitRemote leaves the other side's output out. Only the other side
	// may choose that (BOLT 3 lets each signer drop its own output), so a
	// verifier uses it to rebuild the variant its peer signed.
	OmitRemote bool
}

// ClosingTx builds the closing transaction of p: version 2, locktime 0, the
// funding input with sequence 0xFFFFFFFF, and up to two outputs rounded
// down to whole satoshis, the funder's reduced by the fee, those under the
// dust limit left out, in BIP 69 order.
func ClosingTx(p ClosingParams) (*wire.MsgTx, error) {
	if p.Fee < 0 || p.DustLimit < 0 || p.LocalMsat > maxMsat || p.RemoteMsat > maxMsat {
		return nil, fmt.Errorf("%w: closing amounts out of range", ErrInvalidParams)
	}
	if len(p.LocalScript) == 0 || len(p.RemoteScript) == 0 {
		return nil, fmt.Errorf("%w: missing shutdown script", ErrInvalidParams)
	}
	local := btcutil.Amount(p.LocalMsat / 1000)
	remote := btcutil.Amount(p.RemoteMsat / 1000)
	funder := &remote
	if p.LocalIsFunder {
		funder = &local
	}
	if *funder < p.Fee {
		return nil, fmt.Errorf("%w: fee %d, funder has %d", ErrFeeTooHigh, p.Fee, *funder)
	}
	*funder -= p.Fee

	tx := wire.NewMsgTx(2)
	tx.AddTxIn(&wire.TxIn{PreviousOutPoint: p.FundingOutpoint, Sequence: wire.MaxTxInSequenceNum})
	if !p.OmitLocal && local >= p.DustLimit && local > 0 {
		tx.AddTxOut(wire.NewTxOut(int64(local), p.LocalScript))
	}
	if !p.OmitRemote && remote >= p.DustLimit && remote > 0 {
		tx.AddTxOut(wire.NewTxOut(int64(remote), p.RemoteScript))
	}
	sortTxOuts(tx.TxOut)
	return tx, nil
}

// sortTxOuts sorts outputs in BIP 69 order.
func sortTxOuts(outs []*wire.TxOut) {
	sort.SliceStable(outs, func(i, j int) bool {
		if outs[i].Value != outs[j].Value {
			return outs[i].Value < outs[j].Value
		}
		return bytes.Compare(outs[i].PkScript, outs[j].PkScript) < 0
	})
}
