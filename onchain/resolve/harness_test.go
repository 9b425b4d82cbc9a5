package resolve

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/flash-ln/flash/channel"
	"github.com/flash-ln/flash/channel/keys"
	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/channel/script"
	"github.com/flash-ln/flash/channel/shachain"
	"github.com/flash-ln/flash/onchain"
)

// The tests drive two real channel state machines, alice (the funder) and
// bob, through their public API, and resolve on alice's side whatever bob
// or alice broadcasts.

func testKey(label string) *btcec.PrivateKey {
	h := sha256.Sum256([]byte(label))
	k, _ := btcec.PrivKeyFromBytes(h[:])
	return k
}

func testKeyring(name string) *channel.Keyring {
	return &channel.Keyring{
		FundingKey:           testKey(name + "/funding"),
		RevocationBaseSecret: testKey(name + "/revocation"),
		PaymentBaseSecret:    testKey(name + "/payment"),
		DelayedBaseSecret:    testKey(name + "/delayed"),
		HTLCBaseSecret:       testKey(name + "/htlc"),
		Secrets:              shachain.NewProducer(sha256.Sum256([]byte(name + "/seed"))),
	}
}

func partyConfig(k *channel.Keyring, toSelfDelay uint16) channel.PartyConfig {
	return channel.PartyConfig{
		DustLimit:            546,
		MaxHTLCValueInFlight: lnwire.NewMSatFromSatoshis(5_000_000),
		ChannelReserve:       100_000,
		HTLCMinimum:          1000,
		ToSelfDelay:          toSelfDelay,
		MaxAcceptedHTLCs:     483,
		FundingKey:           k.FundingKey.PubKey(),
		Basepoints: keys.Basepoints{
			Revocation:     k.RevocationBaseSecret.PubKey(),
			Payment:        k.PaymentBaseSecret.PubKey(),
			DelayedPayment: k.DelayedBaseSecret.PubKey(),
			HTLC:           k.HTLCBaseSecret.PubKey(),
		},
	}
}

const (
	testCapacity   btcutil.Amount = 10_000_000
	aliceBalance   btcutil.Amount = 7_000_000
	aliceDelay                    = 144 // bob's outputs wait alice's to_self_delay
	bobDelay                      = 90  // alice's outputs wait bob's
	testFeePerKw                  = 2500
	testConfHeight int32          = 1000
)

// pair is alice and bob with an in-order message pump between them.
type pair struct {
	t          testing.TB
	alice, bob *channel.Channel
	ka, kb     *channel.Keyring
	funding    *wire.TxOut
	toAlice    []lnwire.Message
	toBob      []lnwire.Message
	// revoked records, on alice's side, the content of bob's revoked
	// commitments, as the daemon's watcher would.
	revoked map[uint64]channel.CommitmentSpec
	// preimages alice and bob know.
	alicePre, bobPre map[[32]byte][32]byte
}

func newPair(t testing.TB) *pair {
	t.Helper()
	ka, kb := testKeyring("alice"), testKeyring("bob")
	pa, pb := partyConfig(ka, aliceDelay), partyConfig(kb, bobDelay)
	op := wire.OutPoint{Hash: sha256.Sum256([]byte("funding tx")), Index: 0}
	point := func(k *channel.Keyring, n uint64) *btcec.PublicKey {
		s, err := k.Secrets.ForCommitment(n)
		if err != nil {
			t.Fatal(err)
		}
		return keys.PerCommitmentPoint(s)
	}
	cfgA := channel.Config{
		Params: channel.Params{FundingOutpoint: op, Capacity: testCapacity, LocalFunder: true,
			Type: channel.ChannelTypeStaticRemoteKey, Local: pa, Remote: pb,
			CloseScript: script.P2WPKH(testKey("alice/close").PubKey())},
		Keyring: ka, FeePerKw: testFeePerKw,
		LocalBalance:     lnwire.NewMSatFromSatoshis(uint64(aliceBalance)),
		RemoteBalance:    lnwire.NewMSatFromSatoshis(uint64(testCapacity - aliceBalance)),
		RemoteFirstPoint: point(kb, 0), RemoteSecondPoint: point(kb, 1),
	}
	cfgB := channel.Config{
		Params: channel.Params{FundingOutpoint: op, Capacity: testCapacity, LocalFunder: false,
			Type: channel.ChannelTypeStaticRemoteKey, Local: pb, Remote: pa,
			CloseScript: script.P2WPKH(testKey("bob/close").PubKey())},
		Keyring: kb, FeePerKw: testFeePerKw,
		LocalBalance:     cfgA.RemoteBalance,
		RemoteBalance:    cfgA.LocalBalance,
		RemoteFirstPoint: point(ka, 0), RemoteSecondPoint: point(ka, 1),
	}
	sigA, err := channel.SignInitialCommitment(cfgA)
	if err != nil {
		t.Fatal(err)
	}
	sigB, err := channel.SignInitialCommitment(cfgB)
	if err != nil {
		t.Fatal(err)
	}
	cfgA.RemoteSig, cfgB.RemoteSig = sigB, sigA
	a, err := channel.New(cfgA)
	if err != nil {
		t.Fatal(err)
	}
	b, err := channel.New(cfgB)
	if err != nil {
		t.Fatal(err)
	}
	_, pk, err := script.FundingScript(pa.FundingKey, pb.FundingKey)
	if err != nil {
		t.Fatal(err)
	}
	p := &pair{t: t, alice: a, bob: b, ka: ka, kb: kb, funding: wire.NewTxOut(int64(testCapacity), pk),
		revoked:  make(map[uint64]channel.CommitmentSpec),
		alicePre: make(map[[32]byte][32]byte), bobPre: make(map[[32]byte][32]byte)}
	out, err := a.Connected()
	p.take(true, out, err)
	out, err = b.Connected()
	p.take(false, out, err)
	p.flush()
	return p
}

// take queues what alice (fromAlice) or bob produced.
func (p *pair) take(fromAlice bool, out channel.Output, err error) {
	p.t.Helper()
	if err != nil {
		p.t.Fatal(err)
	}
	if fromAlice {
		p.toBob = append(p.toBob, out.Messages...)
		for _, e := range out.Events {
			if r, ok := e.(channel.RemoteCommitmentRevoked); ok {
				p.revoked[r.Index] = r.Spec
			}
		}
	} else {
		p.toAlice = append(p.toAlice, out.Messages...)
	}
}

// deliverOne hands the oldest message travelling to bob (toBob) or alice.
func (p *pair) deliverOne(toBob bool) bool {
	p.t.Helper()
	q, dst := &p.toAlice, p.alice
	if toBob {
		q, dst = &p.toBob, p.bob
	}
	if len(*q) == 0 {
		return false
	}
	m := (*q)[0]
	*q = (*q)[1:]
	out, err := dst.Receive(m)
	p.take(!toBob, out, err)
	return true
}

func (p *pair) flush() {
	p.t.Helper()
	for p.deliverOne(true) || p.deliverOne(false) {
	}
}

// settle runs commitment rounds until neither side has anything to sign.
func (p *pair) settle() {
	p.t.Helper()
	for range 10 {
		p.flush()
		if !p.alice.NeedsSignature() && !p.bob.NeedsSignature() {
			return
		}
		for _, c := range []*channel.Channel{p.alice, p.bob} {
			if c.NeedsSignature() {
				out, err := c.SignCommitment()
				p.take(c == p.alice, out, err)
				p.flush()
			}
		}
	}
	p.t.Fatal("channels do not settle")
}

// addHTLC offers an HTLC from alice (fromAlice) or bob and commits it on
// both sides. The payee learns the preimage.
func (p *pair) addHTLC(fromAlice bool, sat btcutil.Amount, expiry uint32, label string) [32]byte {
	p.t.Helper()
	pre := sha256.Sum256([]byte(label))
	hash := sha256.Sum256(pre[:])
	c, payee := p.bob, p.alicePre
	if fromAlice {
		c, payee = p.alice, p.bobPre
	}
	_, out, err := c.AddHTLC(channel.AddHTLC{Amount: lnwire.NewMSatFromSatoshis(uint64(sat)), PaymentHash: hash, CLTVExpiry: expiry})
	p.take(fromAlice, out, err)
	p.settle()
	payee[hash] = pre
	return hash
}

// fulfill settles the HTLC with id offered by alice (toBob: bob fulfils)
// or bob.
func (p *pair) fulfill(byBob bool, id uint64, hash [32]byte) {
	p.t.Helper()
	c, pres := p.alice, p.alicePre
	if byBob {
		c, pres = p.bob, p.bobPre
	}
	out, err := c.FulfillHTLC(id, pres[hash])
	p.take(!byBob, out, err)
	p.settle()
}

func (p *pair) inputs(pre map[[32]byte][32]byte) PlanInputs {
	return PlanInputs{
		Keyring:    p.ka,
		ConfHeight: testConfHeight,
		Preimage: func(h [32]byte) ([32]byte, bool) {
			v, ok := pre[h]
			return v, ok
		},
		RevokedSpec: func(n uint64) (*channel.CommitmentSpec, bool) {
			s, ok := p.revoked[n]
			return &s, ok
		},
	}
}

// commitmentTx returns the fully signed current commitment of c.
func commitmentTx(t testing.TB, c *channel.Channel) *wire.MsgTx {
	t.Helper()
	tx, err := c.LocalCommitmentTx()
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

// verifyTx runs the script engine on every input of tx, whose previous
// outputs are looked up among prev.
func verifyTx(tx *wire.MsgTx, prev map[wire.OutPoint]*wire.TxOut) error {
	fetcher := txscript.NewMultiPrevOutFetcher(prev)
	hashes := txscript.NewTxSigHashes(tx, fetcher)
	for i, in := range tx.TxIn {
		po, ok := prev[in.PreviousOutPoint]
		if !ok {
			return fmt.Errorf("input %d: unknown previous output %v", i, in.PreviousOutPoint)
		}
		vm, err := txscript.NewEngine(po.PkScript, tx, i, txscript.StandardVerifyFlags, nil, hashes, po.Value, fetcher)
		if err != nil {
			return fmt.Errorf("input %d: %w", i, err)
		}
		if err := vm.Execute(); err != nil {
			return fmt.Errorf("input %d: %w", i, err)
		}
	}
	return nil
}

// outputsOf indexes the outputs of txs by outpoint.
func outputsOf(txs ...*wire.MsgTx) map[wire.OutPoint]*wire.TxOut {
	m := make(map[wire.OutPoint]*wire.TxOut)
	for _, tx := range txs {
		h := tx.TxHash()
		for i, o := range tx.TxOut {
			m[wire.OutPoint{Hash: h, Index: uint32(i)}] = o
		}
	}
	return m
}

func isScriptError(err error, code txscript.ErrorCode) bool {
	var se txscript.Error
	return errors.As(err, &se) && se.ErrorCode == code
}

// sweepScript is alice's wallet address.
var sweepScript = script.P2WPKH(testKey("alice/wallet").PubKey())

func mustUnmarshal(t testing.TB, h *history) *channel.Channel {
	t.Helper()
	c, err := channel.Unmarshal(h.aliceSnapshot, h.ka)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func onchainRate(r int64) onchain.FeeRate { return onchain.FeeRate(r) }
