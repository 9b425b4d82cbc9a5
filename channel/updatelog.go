package channel

import (
	"math"

	"github.com/btcsuite/btcd/btcec/v2"

	"github.com/flash-ln/flash/channel/lnwire"
)

// UpdateKind is the type of an entry in an update log.
type UpdateKind uint8

// The update kinds, one per BOLT 2 update_* message.
const (
	UpdateAdd UpdateKind = iota + 1
	UpdateFulfill
	UpdateFail
	UpdateFailMalformed
	UpdateFee
)

func (k UpdateKind) String() string {
	switch k {
	case UpdateAdd:
		return "update_add_htlc"
	case UpdateFulfill:
		return "update_fulfill_htlc"
	case UpdateFail:
		return "update_fail_htlc"
	case UpdateFailMalformed:
		return "update_fail_malformed_htlc"
	case UpdateFee:
		return "update_fee"
	}
	return "unknown update"
}

// Update is one entry of an update log: the content of an update_* message
// without its channel id. Which fields are meaningful depends on Kind.
type Update struct {
	Kind UpdateKind
	// HTLCID is the id of the added HTLC, or of the HTLC a removal settles.
	HTLCID uint64

	// Add.
	Amount      lnwire.MilliSatoshi
	PaymentHash [32]byte
	CLTVExpiry  uint32
	// Onion is the 1366-byte onion_routing_packet. It is shared, never
	// modified, between copies of the state.
	Onion []byte
	// PathKey is the route blinding point (update_add_htlc TLV 0), nil
	// when the HTLC is not on a blinded route.
	PathKey *btcec.PublicKey

	// Fulfill.
	Preimage [32]byte

	// Fail: the encrypted reason. FailMalformed: the failure code and the
	// hash of the onion that could not be parsed.
	Reason      []byte
	FailureCode uint16
	ShaOnion    [32]byte

	// Fee.
	FeePerKw uint32
}

func (u *Update) isRemoval() bool {
	return u.Kind == UpdateFulfill || u.Kind == UpdateFail || u.Kind == UpdateFailMalformed
}

// HTLC is an HTLC present in a commitment. Incoming HTLCs were offered by
// the peer, outgoing ones by us; each direction has its own id sequence.
type HTLC struct {
	Incoming    bool
	ID          uint64
	Amount      lnwire.MilliSatoshi
	PaymentHash [32]byte
	CLTVExpiry  uint32
	Onion       []byte
	PathKey     *btcec.PublicKey
}

// CommitmentSpec is the content of one commitment transaction, from our
// point of view whichever side owns it: our balance, theirs, the HTLCs in
// flight and the fee rate. Balances are before the commitment fee, which
// BOLT 3 takes from the funder's output when the transaction is built.
type CommitmentSpec struct {
	FeePerKw      uint32
	LocalBalance  lnwire.MilliSatoshi
	RemoteBalance lnwire.MilliSatoshi
	HTLCs         []HTLC
}

func (s *CommitmentSpec) clone() CommitmentSpec {
	c := *s
	c.HTLCs = append([]HTLC(nil), s.HTLCs...)
	return c
}

func (s *CommitmentSpec) find(incoming bool, id uint64) int {
	for i := range s.HTLCs {
		if s.HTLCs[i].Incoming == incoming && s.HTLCs[i].ID == id {
			return i
		}
	}
	return -1
}

// inFlight returns the number and total value of the HTLCs in one direction.
func (s *CommitmentSpec) inFlight(incoming bool) (int, lnwire.MilliSatoshi) {
	var n int
	var sum lnwire.MilliSatoshi
	for i := range s.HTLCs {
		if s.HTLCs[i].Incoming == incoming {
			n++
			// Saturate rather than wrap, so that a huge total can
			// never pass a limit check.
			if s.HTLCs[i].Amount > math.MaxUint64-sum {
				sum = math.MaxUint64
			} else {
				sum += s.HTLCs[i].Amount
			}
		}
	}
	return n, sum
}

// moveMsat adds delta (an HTLC amount, negated when neg) to a signed
// balance, reporting false instead of wrapping around.
func moveMsat(bal *int64, amt lnwire.MilliSatoshi, neg bool) bool {
	if amt > math.MaxInt64 {
		return false
	}
	a := int64(amt)
	if neg {
		if *bal < math.MinInt64+a {
			return false
		}
		*bal -= a
		return true
	}
	if *bal > math.MaxInt64-a {
		return false
	}
	*bal += a
	return true
}

// reduce applies two lists of updates to a spec: ours (adds become outgoing
// HTLCs, removals settle incoming ones) and theirs. Adds are applied before
// removals, and fee updates last, so that both peers compute the same
// result whatever the interleaving of the two lists was on the wire.
func reduce(spec *CommitmentSpec, ours, theirs []Update) (CommitmentSpec, error) {
	return reduceLists(spec, [][]Update{ours}, [][]Update{theirs})
}

// reduceLists is reduce over several lists per side, applied in order,
// which spares concatenating them.
func reduceLists(spec *CommitmentSpec, oursLists, theirsLists [][]Update) (CommitmentSpec, error) {
	out := spec.clone()
	// Balances are tracked signed: an add may be funded by a removal that
	// is applied after it, so only the final balances must be positive.
	if spec.LocalBalance > math.MaxInt64 || spec.RemoteBalance > math.MaxInt64 {
		return out, limitErr(LimitInsufficientBalance, "balance out of range")
	}
	local, remote := int64(spec.LocalBalance), int64(spec.RemoteBalance)
	overflow := false
	add := func(u *Update, incoming bool) {
		out.HTLCs = append(out.HTLCs, HTLC{Incoming: incoming, ID: u.HTLCID, Amount: u.Amount,
			PaymentHash: u.PaymentHash, CLTVExpiry: u.CLTVExpiry, Onion: u.Onion, PathKey: u.PathKey})
		bal := &local
		if incoming {
			bal = &remote
		}
		if !moveMsat(bal, u.Amount, true) {
			overflow = true
		}
	}
	// remove settles an HTLC offered by the other side of the remover:
	// our removals settle incoming HTLCs.
	remove := func(u *Update, incoming bool) error {
		i := out.find(incoming, u.HTLCID)
		if i < 0 {
			return protoErr(CodeBadHTLCID, "%s for unknown HTLC %d", u.Kind, u.HTLCID)
		}
		// A fulfilled incoming or failed outgoing HTLC pays us.
		bal := &remote
		if (u.Kind == UpdateFulfill) == incoming {
			bal = &local
		}
		if !moveMsat(bal, out.HTLCs[i].Amount, false) {
			overflow = true
		}
		out.HTLCs = append(out.HTLCs[:i], out.HTLCs[i+1:]...)
		return nil
	}
	for _, ours := range oursLists {
		for i := range ours {
			if ours[i].Kind == UpdateAdd {
				add(&ours[i], false)
			}
		}
	}
	for _, theirs := range theirsLists {
		for i := range theirs {
			if theirs[i].Kind == UpdateAdd {
				add(&theirs[i], true)
			}
		}
	}
	for _, ours := range oursLists {
		for i := range ours {
			if ours[i].isRemoval() {
				if err := remove(&ours[i], true); err != nil {
					return out, err
				}
			}
		}
	}
	for _, theirs := range theirsLists {
		for i := range theirs {
			if theirs[i].isRemoval() {
				if err := remove(&theirs[i], false); err != nil {
					return out, err
				}
			}
		}
	}
	for _, lists := range [][][]Update{oursLists, theirsLists} {
		for _, list := range lists {
			for i := range list {
				if list[i].Kind == UpdateFee {
					out.FeePerKw = list[i].FeePerKw
				}
			}
		}
	}
	if overflow {
		return out, limitErr(LimitInsufficientBalance, "HTLC amounts overflow the balances")
	}
	if local < 0 {
		return out, limitErr(LimitInsufficientBalance, "our balance cannot fund our HTLCs")
	}
	if remote < 0 {
		return out, limitErr(LimitInsufficientBalance, "peer balance cannot fund its HTLCs")
	}
	out.LocalBalance, out.RemoteBalance = lnwire.MilliSatoshi(local), lnwire.MilliSatoshi(remote)
	return out, nil
}

// LocalChanges are the updates we sent, by how far they have progressed.
//
//   - Proposed: sent, not yet covered by a commitment_signed of ours.
//   - Signed: covered by our last commitment_signed, not yet revoked for.
//   - Acked: the peer revoked its previous commitment, so they are in its
//     commitment; they await inclusion in ours.
type LocalChanges struct {
	Proposed, Signed, Acked []Update
}

// RemoteChanges are the updates the peer sent.
//
//   - Proposed: received, not yet covered by a commitment_signed of theirs.
//   - Acked: in our commitment, which we revoked the predecessor of; they
//     await our commitment_signed.
//   - Signed: in our last commitment_signed; once the peer revokes, they
//     are irrevocably committed.
type RemoteChanges struct {
	Proposed, Acked, Signed []Update
}

func (c LocalChanges) clone() LocalChanges   { return c }
func (c RemoteChanges) clone() RemoteChanges { return c }

func (c *LocalChanges) all() [][]Update  { return [][]Update{c.Proposed, c.Signed, c.Acked} }
func (c *RemoteChanges) all() [][]Update { return [][]Update{c.Proposed, c.Acked, c.Signed} }

// removes reports whether any list removes the HTLC with the given id.
func removes(lists [][]Update, id uint64) bool {
	for _, l := range lists {
		for i := range l {
			if l[i].isRemoval() && l[i].HTLCID == id {
				return true
			}
		}
	}
	return false
}
