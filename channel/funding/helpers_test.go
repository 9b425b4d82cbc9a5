package funding

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/wire"

	"github.com/flash-ln/flash/channel"
	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/channel/script"
	"github.com/flash-ln/flash/channel/shachain"
)

var regtestHash = *chaincfg.RegressionNetParams.GenesisHash

// testKey derives a private key from a label, so tests are deterministic.
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

func mustKeys(t testing.TB, kr *channel.Keyring) LocalKeys {
	t.Helper()
	k, err := KeysFromKeyring(kr)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// peerFeatures are those lnd advertises that matter here.
func peerFeatures() *lnwire.FeatureVector {
	return lnwire.NewFeatureVector(lnwire.DataLossProtect.Optional(), lnwire.StaticRemoteKey,
		lnwire.ChannelTypeFeature.Optional(), lnwire.UpfrontShutdownScript.Optional())
}

func tempID(label string) lnwire.ChannelID { return sha256.Sum256([]byte("temp/" + label)) }

type party struct {
	kr   *channel.Keyring
	keys LocalKeys
}

func newParty(t testing.TB, name string) party {
	kr := testKeyring(name)
	return party{kr: kr, keys: mustKeys(t, kr)}
}

func openerParams(alice party) OpenerParams {
	return OpenerParams{
		TempChanID:   tempID("alice-bob"),
		ChainHash:    regtestHash,
		Capacity:     1_000_000,
		PushMsat:     100_000_000,
		FeePerKw:     2500,
		LocalKeys:    alice.keys,
		Policy:       DefaultPolicy(),
		PeerFeatures: peerFeatures(),
		CloseScript:  script.P2WPKH(alice.kr.PaymentBaseSecret.PubKey()),
	}
}

func acceptParams(bob party, open *lnwire.OpenChannel) AcceptParams {
	return AcceptParams{
		Open:         open,
		ChainHash:    regtestHash,
		LocalKeys:    bob.keys,
		Policy:       DefaultPolicy(),
		FeeEstimate:  2500,
		PeerFeatures: peerFeatures(),
		CloseScript:  script.P2WPKH(bob.kr.PaymentBaseSecret.PubKey()),
	}
}

// fundingTx builds a funding transaction as a wallet would: one segwit
// input, a change output, and the funding output at index 1.
func fundingTx(req *FundingRequest) *wire.MsgTx {
	tx := wire.NewMsgTx(2)
	prev := wire.OutPoint{Hash: sha256.Sum256([]byte("wallet utxo")), Index: 3}
	tx.AddTxIn(wire.NewTxIn(&prev, nil, nil))
	tx.AddTxOut(wire.NewTxOut(123_456, script.P2WPKH(testKey("change").PubKey())))
	tx.AddTxOut(wire.NewTxOut(int64(req.Amount), req.PkScript))
	return tx
}

// roundTrip sends a message through its wire encoding, as the transport
// would, so that the flow is tested on what a peer really receives.
func roundTrip[M lnwire.Message](t testing.TB, m M) M {
	t.Helper()
	var buf bytes.Buffer
	if _, err := lnwire.WriteMessage(&buf, m); err != nil {
		t.Fatalf("encode %T: %v", m, err)
	}
	got, err := lnwire.ParseMessage(buf.Bytes())
	if err != nil {
		t.Fatalf("decode %T: %v", m, err)
	}
	out, ok := got.(M)
	if !ok {
		t.Fatalf("decoded %T, want %T", got, m)
	}
	return out
}

// flow is a complete establishment between alice (funder) and bob.
type flow struct {
	alice, bob     party
	opener         *Opener
	accepter       *Accepter
	open           *lnwire.OpenChannel
	accept         *lnwire.AcceptChannel
	req            *FundingRequest
	tx             *wire.MsgTx
	created        *lnwire.FundingCreated
	signed         *lnwire.FundingSigned
	chAlice, chBob *channel.Channel
	capacity       btcutil.Amount
	push           lnwire.MilliSatoshi
}

func runFlow(t testing.TB, op OpenerParams, tweakAccept func(*AcceptParams)) *flow {
	t.Helper()
	f := &flow{alice: newParty(t, "alice"), bob: newParty(t, "bob")}
	op.LocalKeys = f.alice.keys
	var err error
	f.opener, f.open, err = NewOpener(op)
	if err != nil {
		t.Fatalf("NewOpener: %v", err)
	}
	ap := acceptParams(f.bob, roundTrip(t, f.open))
	if tweakAccept != nil {
		tweakAccept(&ap)
	}
	f.accepter, f.accept, err = AcceptOpen(ap)
	if err != nil {
		t.Fatalf("AcceptOpen: %v", err)
	}
	f.req, err = f.opener.ReceiveAcceptChannel(roundTrip(t, f.accept))
	if err != nil {
		t.Fatalf("ReceiveAcceptChannel: %v", err)
	}
	f.tx = fundingTx(f.req)
	f.created, err = f.opener.FundingCreated(f.tx, f.alice.kr)
	if err != nil {
		t.Fatalf("FundingCreated: %v", err)
	}
	f.chBob, f.signed, err = f.accepter.ReceiveFundingCreated(roundTrip(t, f.created), f.bob.kr)
	if err != nil {
		t.Fatalf("ReceiveFundingCreated: %v", err)
	}
	f.chAlice, err = f.opener.ReceiveFundingSigned(roundTrip(t, f.signed), f.alice.kr)
	if err != nil {
		t.Fatalf("ReceiveFundingSigned: %v", err)
	}
	f.capacity, f.push = op.Capacity, op.PushMsat
	return f
}

func asError(err error, target **Error) bool { return errors.As(err, target) }
