package channel

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/wire"

	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/channel/shachain"
)

// The stored form of a channel: a magic, a version, then every field of the
// state in a fixed order, big-endian, variable-length fields prefixed by
// their length. Private keys are not part of it.
var stateMagic = [4]byte{'F', 'C', 'H', 'N'}

const stateVersion = 1

// ErrBadState is returned by Unmarshal for bytes that are not a valid
// stored channel.
var ErrBadState = errors.New("channel: malformed stored state")

// Marshal returns the channel's state for durable storage. Store it before
// sending the messages of the Output that asked for it.
func (c *Channel) Marshal() []byte {
	w := &writer{b: make([]byte, 0, 1024)}
	w.raw(stateMagic[:])
	w.u8(stateVersion)
	st := c.st
	p := &st.Params
	w.raw(p.FundingOutpoint.Hash[:])
	w.u32(p.FundingOutpoint.Index)
	w.u64(uint64(p.Capacity))
	w.bool(p.LocalFunder)
	w.u8(uint8(p.Type))
	w.party(&p.Local)
	w.party(&p.Remote)
	w.u32(p.MinFeePerKw)
	w.u32(p.MaxFeePerKw)
	w.bytes(p.CloseScript)

	w.u64(st.LocalCommit.Index)
	w.spec(&st.LocalCommit.Spec)
	w.raw(st.LocalCommit.TxID[:])
	w.raw(st.LocalCommit.Sig[:])
	w.sigs(st.LocalCommit.HTLCSigs)

	w.remote(&st.RemoteCommit)
	w.bool(st.RemoteNext != nil)
	if st.RemoteNext != nil {
		w.remote(&st.RemoteNext.RemoteCommitment)
		w.u64(st.RemoteNext.SentAfterLocalIndex)
		w.raw(st.RemoteNext.Sig[:])
		w.sigs(st.RemoteNext.HTLCSigs)
	}
	w.optKey(st.RemoteNextPoint)

	for _, l := range [][]Update{st.LocalChanges.Proposed, st.LocalChanges.Signed, st.LocalChanges.Acked,
		st.RemoteChanges.Proposed, st.RemoteChanges.Acked, st.RemoteChanges.Signed} {
		w.updates(l)
	}
	w.u64(st.LocalNextHTLCID)
	w.u64(st.RemoteNextHTLCID)
	w.bytes(st.RemoteSecrets.Encode())
	w.u8(uint8(st.Phase))
	w.optBytes(st.Close.LocalScript)
	w.optBytes(st.Close.RemoteScript)
	var final []byte
	if st.Close.FinalTx != nil {
		var buf bytes.Buffer
		_ = st.Close.FinalTx.Serialize(&buf) // cannot fail on a bytes.Buffer
		final = buf.Bytes()
	}
	w.optBytes(final)
	return w.b
}

// Unmarshal restores a channel stored by Marshal, with the keyring the
// caller derives again from its seed. The channel comes back disconnected:
// updates that were not yet signed are forgotten, as on any reconnection.
func Unmarshal(data []byte, keyring *Keyring) (*Channel, error) {
	r := &reader{b: data}
	var magic [4]byte
	r.raw(magic[:])
	if r.err == nil && magic != stateMagic {
		return nil, fmt.Errorf("%w: bad magic", ErrBadState)
	}
	if v := r.u8(); r.err == nil && v != stateVersion {
		return nil, fmt.Errorf("%w: unknown version %d", ErrBadState, v)
	}
	st := &state{}
	p := &st.Params
	r.raw(p.FundingOutpoint.Hash[:])
	p.FundingOutpoint.Index = r.u32()
	p.Capacity = btcutil.Amount(r.u64())
	p.LocalFunder = r.bool()
	p.Type = ChannelType(r.u8())
	r.party(&p.Local)
	r.party(&p.Remote)
	p.MinFeePerKw = r.u32()
	p.MaxFeePerKw = r.u32()
	p.CloseScript = r.bytes()

	st.LocalCommit.Index = r.u64()
	r.spec(&st.LocalCommit.Spec)
	r.raw(st.LocalCommit.TxID[:])
	r.raw(st.LocalCommit.Sig[:])
	st.LocalCommit.HTLCSigs = r.sigs()

	r.remote(&st.RemoteCommit)
	if r.bool() {
		n := &PendingRemoteCommitment{}
		r.remote(&n.RemoteCommitment)
		n.SentAfterLocalIndex = r.u64()
		r.raw(n.Sig[:])
		n.HTLCSigs = r.sigs()
		st.RemoteNext = n
	}
	st.RemoteNextPoint = r.optKey()
	st.LocalChanges.Proposed = r.updates()
	st.LocalChanges.Signed = r.updates()
	st.LocalChanges.Acked = r.updates()
	st.RemoteChanges.Proposed = r.updates()
	st.RemoteChanges.Acked = r.updates()
	st.RemoteChanges.Signed = r.updates()
	st.LocalNextHTLCID = r.u64()
	st.RemoteNextHTLCID = r.u64()
	secrets := r.bytes()
	st.Phase = Phase(r.u8())
	st.Close.LocalScript = r.optBytes()
	st.Close.RemoteScript = r.optBytes()
	if final := r.optBytes(); final != nil {
		tx := &wire.MsgTx{}
		if err := tx.Deserialize(bytes.NewReader(final)); err != nil {
			return nil, fmt.Errorf("%w: closing transaction: %v", ErrBadState, err)
		}
		st.Close.FinalTx = tx
	}
	if r.err != nil {
		return nil, r.err
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrBadState, len(r.b))
	}
	store, err := shachain.Decode(secrets)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadState, err)
	}
	st.RemoteSecrets = store
	if err := st.validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadState, err)
	}
	cfg := Config{Params: st.Params, Keyring: keyring, RemoteFirstPoint: st.RemoteCommit.Point,
		LocalBalance: lnwire.NewMSatFromSatoshis(uint64(p.Capacity))}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadState, err)
	}
	st.dropUncommitted(&Output{})
	return &Channel{keys: keyring, st: st, obscurer: p.Obscurer()}, nil
}

// validate checks the consistency a stored state must have, so that
// corrupted bytes are refused instead of driving the machine.
func (st *state) validate() error {
	capMsat := lnwire.NewMSatFromSatoshis(uint64(st.Params.Capacity))
	if st.Params.Capacity <= 0 || st.Params.Capacity > btcutil.MaxSatoshi {
		return fmt.Errorf("capacity %d", st.Params.Capacity)
	}
	specs := []*CommitmentSpec{&st.LocalCommit.Spec, &st.RemoteCommit.Spec}
	if st.RemoteNext != nil {
		specs = append(specs, &st.RemoteNext.Spec)
		if st.RemoteNext.Index != st.RemoteCommit.Index+1 {
			return errors.New("pending commitment number")
		}
	}
	for _, s := range specs {
		sum := uint64(s.LocalBalance) + uint64(s.RemoteBalance)
		for i := range s.HTLCs {
			sum += uint64(s.HTLCs[i].Amount)
			if sum > uint64(capMsat) {
				break
			}
		}
		if sum != uint64(capMsat) {
			return errors.New("commitment does not add up to the capacity")
		}
	}
	if st.RemoteCommit.Point == nil {
		return errors.New("missing per-commitment point")
	}
	if st.Phase < PhaseNormal || st.Phase > PhaseClosed {
		return fmt.Errorf("phase %d", st.Phase)
	}
	if st.LocalCommit.Index > shachain.MaxIndex-2 || st.RemoteCommit.Index > shachain.MaxIndex-2 {
		return errors.New("commitment number out of range")
	}
	if st.RemoteSecrets.Received() != st.RemoteCommit.Index {
		return errors.New("revealed secrets do not match the commitment number")
	}
	return nil
}

type writer struct{ b []byte }

func (w *writer) raw(b []byte) { w.b = append(w.b, b...) }
func (w *writer) u8(v uint8)   { w.b = append(w.b, v) }
func (w *writer) u16(v uint16) { w.b = binary.BigEndian.AppendUint16(w.b, v) }
func (w *writer) u32(v uint32) { w.b = binary.BigEndian.AppendUint32(w.b, v) }
func (w *writer) u64(v uint64) { w.b = binary.BigEndian.AppendUint64(w.b, v) }
func (w *writer) bool(v bool) {
	if v {
		w.u8(1)
	} else {
		w.u8(0)
	}
}
func (w *writer) bytes(b []byte) { w.u32(uint32(len(b))); w.raw(b) }
func (w *writer) optBytes(b []byte) {
	w.bool(b != nil)
	if b != nil {
		w.bytes(b)
	}
}
func (w *writer) key(k *btcec.PublicKey) { w.raw(k.SerializeCompressed()) }
func (w *writer) optKey(k *btcec.PublicKey) {
	w.bool(k != nil)
	if k != nil {
		w.key(k)
	}
}
func (w *writer) sigs(s []lnwire.Sig) {
	w.u32(uint32(len(s)))
	for i := range s {
		w.raw(s[i][:])
	}
}

func (w *writer) party(c *PartyConfig) {
	w.u64(uint64(c.DustLimit))
	w.u64(uint64(c.MaxHTLCValueInFlight))
	w.u64(uint64(c.ChannelReserve))
	w.u64(uint64(c.HTLCMinimum))
	w.u16(c.ToSelfDelay)
	w.u16(c.MaxAcceptedHTLCs)
	w.key(c.FundingKey)
	w.key(c.Basepoints.Revocation)
	w.key(c.Basepoints.Payment)
	w.key(c.Basepoints.DelayedPayment)
	w.key(c.Basepoints.HTLC)
	w.bytes(c.UpfrontShutdownScript)
}

func (w *writer) spec(s *CommitmentSpec) {
	w.u32(s.FeePerKw)
	w.u64(uint64(s.LocalBalance))
	w.u64(uint64(s.RemoteBalance))
	w.u32(uint32(len(s.HTLCs)))
	for i := range s.HTLCs {
		h := &s.HTLCs[i]
		w.bool(h.Incoming)
		w.u64(h.ID)
		w.u64(uint64(h.Amount))
		w.raw(h.PaymentHash[:])
		w.u32(h.CLTVExpiry)
		w.bytes(h.Onion)
		w.optKey(h.PathKey)
	}
}

func (w *writer) remote(rc *RemoteCommitment) {
	w.u64(rc.Index)
	w.spec(&rc.Spec)
	w.raw(rc.TxID[:])
	w.key(rc.Point)
}

func (w *writer) updates(us []Update) {
	w.u32(uint32(len(us)))
	for i := range us {
		u := &us[i]
		w.u8(uint8(u.Kind))
		w.u64(u.HTLCID)
		switch u.Kind {
		case UpdateAdd:
			w.u64(uint64(u.Amount))
			w.raw(u.PaymentHash[:])
			w.u32(u.CLTVExpiry)
			w.bytes(u.Onion)
			w.optKey(u.PathKey)
		case UpdateFulfill:
			w.raw(u.Preimage[:])
		case UpdateFail:
			w.bytes(u.Reason)
		case UpdateFailMalformed:
			w.u16(u.FailureCode)
			w.raw(u.ShaOnion[:])
		case UpdateFee:
			w.u32(u.FeePerKw)
		}
	}
}

// reader decodes with a sticky error: after the first failure every read
// returns zero values, and lengths are checked against the bytes left so
// that a corrupted length cannot trigger a huge allocation.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: truncated or invalid %s", ErrBadState, what)
	}
	r.b = nil
}

func (r *reader) next(n int, what string) []byte {
	if r.err != nil || n < 0 || len(r.b) < n {
		r.fail(what)
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) raw(dst []byte) {
	if b := r.next(len(dst), "field"); b != nil {
		copy(dst, b)
	}
}

func (r *reader) u8() uint8 {
	if b := r.next(1, "u8"); b != nil {
		return b[0]
	}
	return 0
}

func (r *reader) u16() uint16 {
	if b := r.next(2, "u16"); b != nil {
		return binary.BigEndian.Uint16(b)
	}
	return 0
}

func (r *reader) u32() uint32 {
	if b := r.next(4, "u32"); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

func (r *reader) u64() uint64 {
	if b := r.next(8, "u64"); b != nil {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

func (r *reader) bool() bool {
	switch r.u8() {
	case 0:
		return false
	case 1:
		return true
	}
	r.fail("bool")
	return false
}

func (r *reader) bytes() []byte {
	n := r.u32()
	if r.err != nil {
		return nil
	}
	if uint64(n) > uint64(len(r.b)) {
		r.fail("length")
		return nil
	}
	return append([]byte(nil), r.next(int(n), "bytes")...)
}

func (r *reader) optBytes() []byte {
	if !r.bool() {
		return nil
	}
	b := r.bytes()
	if b == nil && r.err == nil {
		b = []byte{}
	}
	return b
}

func (r *reader) key() *btcec.PublicKey {
	b := r.next(33, "public key")
	if b == nil {
		return nil
	}
	k, err := btcec.ParsePubKey(b)
	if err != nil || (b[0] != 2 && b[0] != 3) {
		r.fail("public key")
		return nil
	}
	return k
}

func (r *reader) optKey() *btcec.PublicKey {
	if !r.bool() {
		return nil
	}
	return r.key()
}

// count reads a list length and checks that the list can fit in what is
// left, each element taking at least min bytes.
func (r *reader) count(min int, what string) int {
	n := r.u32()
	if r.err != nil {
		return 0
	}
	if uint64(n)*uint64(min) > uint64(len(r.b)) {
		r.fail(what)
		return 0
	}
	return int(n)
}

func (r *reader) sigs() []lnwire.Sig {
	n := r.count(64, "signatures")
	if n == 0 {
		return nil
	}
	s := make([]lnwire.Sig, n)
	for i := range s {
		r.raw(s[i][:])
	}
	return s
}

func (r *reader) party(c *PartyConfig) {
	c.DustLimit = btcutil.Amount(r.u64())
	c.MaxHTLCValueInFlight = lnwire.MilliSatoshi(r.u64())
	c.ChannelReserve = btcutil.Amount(r.u64())
	c.HTLCMinimum = lnwire.MilliSatoshi(r.u64())
	c.ToSelfDelay = r.u16()
	c.MaxAcceptedHTLCs = r.u16()
	c.FundingKey = r.key()
	c.Basepoints.Revocation = r.key()
	c.Basepoints.Payment = r.key()
	c.Basepoints.DelayedPayment = r.key()
	c.Basepoints.HTLC = r.key()
	if b := r.bytes(); len(b) > 0 {
		c.UpfrontShutdownScript = b
	}
	if r.err == nil && (c.DustLimit < 0 || c.ChannelReserve < 0) {
		r.fail("amount")
	}
}

func (r *reader) spec(s *CommitmentSpec) {
	s.FeePerKw = r.u32()
	s.LocalBalance = lnwire.MilliSatoshi(r.u64())
	s.RemoteBalance = lnwire.MilliSatoshi(r.u64())
	n := r.count(62, "HTLCs")
	if n == 0 {
		return
	}
	s.HTLCs = make([]HTLC, n)
	for i := range s.HTLCs {
		h := &s.HTLCs[i]
		h.Incoming = r.bool()
		h.ID = r.u64()
		h.Amount = lnwire.MilliSatoshi(r.u64())
		r.raw(h.PaymentHash[:])
		h.CLTVExpiry = r.u32()
		h.Onion = r.bytes()
		h.PathKey = r.optKey()
	}
}

func (r *reader) remote(rc *RemoteCommitment) {
	rc.Index = r.u64()
	r.spec(&rc.Spec)
	r.raw(rc.TxID[:])
	rc.Point = r.key()
}

func (r *reader) updates() []Update {
	n := r.count(9, "updates")
	if n == 0 {
		return nil
	}
	us := make([]Update, n)
	for i := range us {
		u := &us[i]
		u.Kind = UpdateKind(r.u8())
		u.HTLCID = r.u64()
		switch u.Kind {
		case UpdateAdd:
			u.Amount = lnwire.MilliSatoshi(r.u64())
			r.raw(u.PaymentHash[:])
			u.CLTVExpiry = r.u32()
			u.Onion = r.bytes()
			u.PathKey = r.optKey()
		case UpdateFulfill:
			r.raw(u.Preimage[:])
		case UpdateFail:
			u.Reason = r.bytes()
		case UpdateFailMalformed:
			u.FailureCode = r.u16()
			r.raw(u.ShaOnion[:])
		case UpdateFee:
			u.FeePerKw = r.u32()
		default:
			r.fail("update kind")
		}
	}
	return us
}
