package channel

import (
	"errors"
	"flag"
	"fmt"
	"math/rand"
	"testing"

	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/flash-ln/flash/channel/keys"
	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/channel/script"
)

var (
	randomSeed  = flag.Int64("channel.seed", 0, "run TestRandomized with this seed only")
	randomSteps = flag.Int("channel.steps", 0, "steps per seed of TestRandomized (default 300)")
	randomLong  = flag.Bool("channel.long", false, "run TestRandomized over more seeds and steps")
)

// TestRandomized drives two machines through random interleavings of
// adds, fulfills, fails, fee updates, signatures, message deliveries,
// disconnections and crash-restarts from the persisted state, checking the
// invariants all along. A failure names its seed; rerun it with
// -channel.seed=N, and run longer with -channel.steps=N.
func TestRandomized(t *testing.T) {
	seeds := []int64{1}
	steps := 300
	if testing.Short() {
		steps = 100
	}
	if *randomLong {
		seeds, steps = []int64{1, 2, 3, 4, 5, 6, 7, 8}, 4000
	}
	if *randomSeed != 0 {
		seeds = []int64{*randomSeed}
	}
	if *randomSteps > 0 {
		steps = *randomSteps
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Logf("seed %d: rerun with -run TestRandomized -channel.seed=%d", seed, seed)
			runRandom(t, seed, steps)
		})
	}
}

type sim struct {
	t         *testing.T
	rng       *rand.Rand
	l         *link
	keyrings  [2]*Keyring
	persisted [2][]byte
	preimages map[[32]byte][32]byte
	revoked   [2][]RemoteCommitmentRevoked
	locked    [2]map[uint64]bool
	connected bool
	payments  uint64
	stats     map[string]int
}

func (s *sim) chans() [2]*Channel { return [2]*Channel{s.l.a, s.l.b} }

func side(fromA bool) int {
	if fromA {
		return 0
	}
	return 1
}

func (s *sim) onOutput(fromA bool, out Output) {
	i := side(fromA)
	if out.Persist {
		s.persisted[i] = s.chans()[i].Marshal()
	}
	for _, e := range out.Events {
		switch e := e.(type) {
		case RemoteCommitmentRevoked:
			s.revoked[i] = append(s.revoked[i], e)
		case IncomingHTLCLocked:
			if s.locked[i][e.HTLC.ID] {
				s.t.Fatalf("side %d: HTLC %d locked in twice", i, e.HTLC.ID)
			}
			s.locked[i][e.HTLC.ID] = true
		}
	}
}

func runRandom(t *testing.T, seed int64, steps int) {
	// The two sides' limits differ, so that a mix-up of whose limit
	// applies where shows.
	a, b := newPair(t, pairOptions{tweak: func(pa, pb *PartyConfig) {
		pb.DustLimit = 354
		pb.ToSelfDelay = 200
		pb.ChannelReserve = 50_000
		pb.MaxAcceptedHTLCs = 30
		pa.MaxHTLCValueInFlight = lnwire.NewMSatFromSatoshis(2_000_000)
	}})
	s := &sim{t: t, rng: rand.New(rand.NewSource(seed)), preimages: map[[32]byte][32]byte{},
		keyrings: [2]*Keyring{a.keys, b.keys}, connected: true, stats: map[string]int{},
		locked: [2]map[uint64]bool{{}, {}}}
	s.l = newLink(t, a, b)
	s.l.onOutput = s.onOutput
	s.persisted = [2][]byte{a.Marshal(), b.Marshal()}

	for i := 0; i < steps; i++ {
		s.step()
	}
	s.finish()
	t.Logf("stats: %v; commitments: alice %d, bob %d", s.stats, s.l.a.st.LocalCommit.Index, s.l.b.st.LocalCommit.Index)
}

// command runs a local command; refusals are normal, protocol errors not.
func (s *sim) command(name string, fromA bool, out Output, err error) {
	if err != nil {
		var ce *CommandError
		if !errors.As(err, &ce) {
			s.t.Fatalf("%s: unexpected error type %T: %v", name, err, err)
		}
		s.stats[name+" refused"]++
		return
	}
	s.stats[name]++
	s.l.take(fromA, out)
}

func (s *sim) step() {
	r := s.rng.Intn(100)
	fromA := s.rng.Intn(2) == 0
	c := s.chans()[side(fromA)]
	switch {
	case r < 15:
		s.payments++
		pre, hash := testPreimage(s.payments)
		s.preimages[hash] = pre
		amount := lnwire.MilliSatoshi(10_000_000 + s.rng.Int63n(300_000_000))
		if s.rng.Intn(4) == 0 {
			amount = lnwire.MilliSatoshi(1_000_000 + s.rng.Int63n(3_000_000)) // around the dust limit
		}
		_, out, err := c.AddHTLC(AddHTLC{Amount: amount, PaymentHash: hash,
			CLTVExpiry: uint32(100 + s.rng.Intn(1000)), Onion: testOnion(s.payments)})
		s.command("add", fromA, out, err)
	case r < 35:
		htlcs := c.st.LocalCommit.Spec.HTLCs
		if len(htlcs) == 0 {
			return
		}
		h := htlcs[s.rng.Intn(len(htlcs))]
		if !h.Incoming {
			return
		}
		if s.rng.Intn(3) > 0 {
			out, err := c.FulfillHTLC(h.ID, s.preimages[h.PaymentHash])
			s.command("fulfill", fromA, out, err)
		} else if s.rng.Intn(4) > 0 {
			out, err := c.FailHTLC(h.ID, []byte(fmt.Sprintf("failure of %d", h.ID)))
			s.command("fail", fromA, out, err)
		} else {
			out, err := c.FailMalformedHTLC(h.ID, lnwire.FailureCodeBadOnion|5, [32]byte{1})
			s.command("fail_malformed", fromA, out, err)
		}
	case r < 38:
		out, err := s.l.a.UpdateFee(uint32(253 + s.rng.Intn(12000)))
		s.command("update_fee", true, out, err)
	case r < 60:
		if c.NeedsSignature() {
			out, err := c.SignCommitment()
			s.command("sign", fromA, out, err)
		}
	case r < 99:
		for n := s.rng.Intn(3); n >= 0; n-- {
			s.deliver(fromA)
		}
	default:
		s.reconnect()
	}
}

func (s *sim) deliver(toB bool) {
	q := s.l.ba
	if toB {
		q = s.l.ab
	}
	if len(q) == 0 {
		return
	}
	m := q[0]
	if err := s.l.deliver(toB); err != nil {
		s.t.Fatal(err)
	}
	s.stats["delivered"]++
	switch m.(type) {
	case *lnwire.RevokeAndAck:
		checkAgreement(s.t, s.l.a, s.l.b)
	case *lnwire.CommitmentSigned:
		// The script engine is slow under the race detector: check a
		// sample by default, every commitment in the long run.
		if s.stats["delivered"]%3 == 0 || *randomLong {
			s.verifyLocalTxs(s.chans()[side(toB)])
		}
	}
}

// reconnect drops the connection, restarts one side or both from their
// persisted state now and then, and resynchronises with
// channel_reestablish.
func (s *sim) reconnect() {
	s.stats["reconnect"]++
	s.l.disconnect()
	for i := 0; i < 2; i++ {
		if s.rng.Intn(3) == 0 {
			s.stats["restart"]++
			c, err := Unmarshal(s.persisted[i], s.keyrings[i])
			if err != nil {
				s.t.Fatalf("restart side %d: %v", i, err)
			}
			if i == 0 {
				s.l.a = c
			} else {
				s.l.b = c
			}
		}
	}
	s.l.connect()
}

// verifyLocalTxs checks with the script engine that a machine's current
// commitment and every HTLC transaction it can broadcast are valid spends.
func (s *sim) verifyLocalTxs(c *Channel) {
	s.t.Helper()
	tx, err := c.LocalCommitmentTx()
	if err != nil {
		s.t.Fatal(err)
	}
	_, fundingPk, _ := script.FundingScript(c.st.Params.Local.FundingKey, c.st.Params.Remote.FundingKey)
	verifySpends(s.t, tx, map[wire.OutPoint]*wire.TxOut{
		c.st.Params.FundingOutpoint: wire.NewTxOut(int64(c.st.Params.Capacity), fundingPk)})
	htlcs, err := c.LocalHTLCTxs(func(h [32]byte) ([32]byte, bool) { p, ok := s.preimages[h]; return p, ok })
	if err != nil {
		s.t.Fatal(err)
	}
	for _, h := range htlcs {
		if h.Tx == nil {
			continue
		}
		op := h.Tx.TxIn[0].PreviousOutPoint
		if op.Hash != tx.TxHash() {
			s.t.Fatal("HTLC transaction does not spend the commitment")
		}
		verifySpends(s.t, h.Tx, map[wire.OutPoint]*wire.TxOut{op: tx.TxOut[op.Index]})
	}
}

// verifySpends runs every input of tx through the script engine.
func verifySpends(t testing.TB, tx *wire.MsgTx, prev map[wire.OutPoint]*wire.TxOut) {
	t.Helper()
	fetcher := txscript.NewMultiPrevOutFetcher(prev)
	hashes := txscript.NewTxSigHashes(tx, fetcher)
	for i, in := range tx.TxIn {
		out := prev[in.PreviousOutPoint]
		if out == nil {
			t.Fatalf("input %d spends an unknown output", i)
		}
		vm, err := txscript.NewEngine(out.PkScript, tx, i, txscript.StandardVerifyFlags, nil, hashes, out.Value, fetcher)
		if err != nil {
			t.Fatalf("input %d: %v", i, err)
		}
		if err := vm.Execute(); err != nil {
			t.Fatalf("input %d does not verify: %v", i, err)
		}
	}
}

// verifyJustice punishes every commitment the peer revoked: with the
// stored secret, sweep all its revocable outputs and verify the spend.
func verifyJustice(t testing.TB, c *Channel, revoked []RemoteCommitmentRevoked) {
	t.Helper()
	sweep := p2wpkhOf(testKey("justice"))
	for _, ev := range revoked {
		secret, err := c.RemoteSecret(ev.Index)
		if err != nil {
			t.Fatalf("secret of revoked commitment %d: %v", ev.Index, err)
		}
		if !keys.PerCommitmentPoint(secret).IsEqual(ev.Point) {
			t.Fatalf("stored secret %d does not match its point", ev.Index)
		}
		cm, err := c.buildCommitment(c.st, false, ev.Index, c.remoteKeys(ev.Point, &ev.Spec), &ev.Spec)
		if err != nil {
			t.Fatal(err)
		}
		if cm.Tx.TxHash() != ev.TxID {
			t.Fatalf("revoked commitment %d rebuilt with another txid", ev.Index)
		}
		outs := cm.RevokedOutputs()
		if len(outs) == 0 {
			continue
		}
		tx, err := script.JusticeTx(outs, keys.RevocationPrivKey(c.keys.RevocationBaseSecret, secret), sweep, 253)
		if err != nil {
			t.Fatalf("justice for commitment %d: %v", ev.Index, err)
		}
		prev := map[wire.OutPoint]*wire.TxOut{}
		for _, o := range outs {
			prev[o.OutPoint] = cm.Tx.TxOut[o.OutPoint.Index]
		}
		verifySpends(t, tx, prev)
	}
}

// finish reconnects, settles every HTLC and checks the final state.
func (s *sim) finish() {
	if len(s.l.ab)+len(s.l.ba) > 0 && s.rng.Intn(2) == 0 {
		s.reconnect()
	}
	s.l.flush()
	s.l.settle()
	for round := 0; round < 10; round++ {
		pending := false
		for i, c := range s.chans() {
			for _, h := range c.st.LocalCommit.Spec.HTLCs {
				if !h.Incoming {
					continue
				}
				pending = true
				out, err := c.FulfillHTLC(h.ID, s.preimages[h.PaymentHash])
				s.command("fulfill", i == 0, out, err)
			}
		}
		s.l.settle()
		if !pending {
			break
		}
	}
	a, b := s.l.a, s.l.b
	if len(a.st.LocalCommit.Spec.HTLCs)+len(b.st.LocalCommit.Spec.HTLCs) != 0 {
		s.t.Fatalf("HTLCs left after settling: %d, %d", len(a.st.LocalCommit.Spec.HTLCs), len(b.st.LocalCommit.Spec.HTLCs))
	}
	checkAgreement(s.t, a, b)
	if a.st.LocalCommit.Spec.LocalBalance != b.st.LocalCommit.Spec.RemoteBalance {
		s.t.Fatal("final balances disagree")
	}
	verifyJustice(s.t, a, s.revoked[0])
	verifyJustice(s.t, b, s.revoked[1])
	s.stats["justice"] = len(s.revoked[0]) + len(s.revoked[1])

	// Close cooperatively, started by either side.
	i := s.rng.Intn(2)
	out, err := s.chans()[i].InitiateShutdown(p2wpkhOf(testKey("closer")))
	if err != nil {
		s.t.Fatal(err)
	}
	s.l.take(i == 0, out)
	s.l.flush()
	ta, tb := a.ClosingTx(), b.ClosingTx()
	if ta == nil || tb == nil || ta.TxHash() != tb.TxHash() {
		s.t.Fatal("cooperative close did not converge on one transaction")
	}
	_, pk, _ := script.FundingScript(a.st.Params.Local.FundingKey, a.st.Params.Remote.FundingKey)
	verifySpends(s.t, ta, map[wire.OutPoint]*wire.TxOut{
		a.st.Params.FundingOutpoint: wire.NewTxOut(int64(a.st.Params.Capacity), pk)})
}
