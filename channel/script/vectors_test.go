package script

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/ecdsa"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/flash-ln/flash/channel/keys"
)

const vectorDir = "testdata"

func readVectors(t testing.TB, name string, v any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(vectorDir, name))
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("parse %s: %v", name, err)
	}
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func pubKey(t testing.TB, s string) *btcec.PublicKey {
	t.Helper()
	k, err := btcec.ParsePubKey(unhex(t, s))
	if err != nil {
		t.Fatalf("parse pubkey %s: %v", s, err)
	}
	return k
}

// privKey parses a private key printed as 32 bytes, optionally followed by
// the 01 compressed-key marker.
func privKey(t testing.TB, s string) *btcec.PrivateKey {
	t.Helper()
	k, _ := btcec.PrivKeyFromBytes(unhex(t, s)[:32])
	return k
}

func txFromHex(t testing.TB, s string) *wire.MsgTx {
	t.Helper()
	tx := new(wire.MsgTx)
	if err := tx.Deserialize(bytes.NewReader(unhex(t, s))); err != nil {
		t.Fatalf("parse tx: %v", err)
	}
	return tx
}

func txHex(t testing.TB, tx *wire.MsgTx) string {
	t.Helper()
	var buf bytes.Buffer
	if err := tx.Serialize(&buf); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(buf.Bytes())
}

// verifyInput runs btcd's script engine on input idx of tx, which spends
// prevOut.
func verifyInput(t testing.TB, tx *wire.MsgTx, idx int, prevOut *wire.TxOut) {
	t.Helper()
	fetcher := txscript.NewCannedPrevOutputFetcher(prevOut.PkScript, prevOut.Value)
	verifyInputWith(t, tx, idx, prevOut, fetcher)
}

func verifyInputWith(t testing.TB, tx *wire.MsgTx, idx int, prevOut *wire.TxOut, fetcher txscript.PrevOutputFetcher) {
	t.Helper()
	hashes := txscript.NewTxSigHashes(tx, fetcher)
	vm, err := txscript.NewEngine(prevOut.PkScript, tx, idx, txscript.StandardVerifyFlags,
		nil, hashes, prevOut.Value, fetcher)
	if err != nil {
		t.Fatalf("script engine: %v", err)
	}
	if err := vm.Execute(); err != nil {
		t.Fatalf("input %d does not verify: %v", idx, err)
	}
}

type fundingVector struct {
	Block1CoinbaseTx      string `json:"block1_coinbase_tx"`
	Block1CoinbasePrivKey string `json:"block1_coinbase_privkey"`
	LocalFundingPubKey    string `json:"local_funding_pubkey"`
	RemoteFundingPubKey   string `json:"remote_funding_pubkey"`
	FundingWitnessScript  string `json:"funding_witness_script_comment"`
	InputTxID             string `json:"input_txid"`
	InputIndex            uint32 `json:"input_index"`
	InputSatoshis         int64  `json:"input_satoshis"`
	FundingSatoshis       int64  `json:"funding_satoshis"`
	ChangeSatoshis        int64  `json:"change_satoshis"`
	FundingOutput         int    `json:"funding_output"`
	FundingTx             string `json:"funding_tx"`
	FundingTxID           string `json:"funding_txid_comment"`
}

// TestFundingVector rebuilds the funding transaction of BOLT 3 Appendix B
// around our funding output and checks it byte for byte.
func TestFundingVector(t *testing.T) {
	var v fundingVector
	readVectors(t, "bolt03-funding.json", &v)

	local, remote := pubKey(t, v.LocalFundingPubKey), pubKey(t, v.RemoteFundingPubKey)
	for _, order := range [][2]*btcec.PublicKey{{local, remote}, {remote, local}} {
		ws, pk, err := FundingScript(order[0], order[1])
		if err != nil {
			t.Fatal(err)
		}
		if hex.EncodeToString(ws) != v.FundingWitnessScript {
			t.Fatalf("funding script %x", ws)
		}
		if !bytes.Equal(pk, P2WSH(ws)) {
			t.Fatal("pkScript is not the P2WSH of the witness script")
		}
	}
	_, fundingPk, _ := FundingScript(local, remote)

	coinbase := txFromHex(t, v.Block1CoinbaseTx)
	if coinbase.TxHash().String() != v.InputTxID {
		t.Fatalf("coinbase txid %v", coinbase.TxHash())
	}
	key := privKey(t, v.Block1CoinbasePrivKey)
	prev := coinbase.TxOut[v.InputIndex]
	if prev.Value != v.InputSatoshis {
		t.Fatalf("input amount %d", prev.Value)
	}

	tx := wire.NewMsgTx(2)
	tx.AddTxIn(&wire.TxIn{PreviousOutPoint: wire.OutPoint{Hash: coinbase.TxHash(), Index: v.InputIndex},
		Sequence: wire.MaxTxInSequenceNum})
	tx.AddTxOut(wire.NewTxOut(v.FundingSatoshis, fundingPk))
	tx.AddTxOut(wire.NewTxOut(v.ChangeSatoshis, P2WPKH(key.PubKey())))
	sortTxOuts(tx.TxOut)
	if !bytes.Equal(tx.TxOut[v.FundingOutput].PkScript, fundingPk) {
		t.Fatalf("funding output is not at index %d", v.FundingOutput)
	}
	sigScript, err := txscript.SignatureScript(tx, 0, prev.PkScript, txscript.SigHashAll, key, true)
	if err != nil {
		t.Fatal(err)
	}
	tx.TxIn[0].SignatureScript = sigScript
	if got := txHex(t, tx); got != v.FundingTx {
		t.Fatalf("funding tx\n got %s\nwant %s", got, v.FundingTx)
	}
	if tx.TxHash().String() != v.FundingTxID {
		t.Fatalf("funding txid %v", tx.TxHash())
	}
	verifyInput(t, tx, 0, prev)
}

type commitmentVectors struct {
	Params struct {
		FundingTxID            string `json:"funding_tx_id"`
		FundingOutputIndex     uint32 `json:"funding_output_index"`
		FundingAmount          int64  `json:"funding_amount_satoshi"`
		CommitmentNumber       uint64 `json:"commitment_number"`
		LocalDelay             uint16 `json:"local_delay"`
		LocalDustLimit         int64  `json:"local_dust_limit_satoshi"`
		LocalPaymentBasepoint  string `json:"local_payment_basepoint"`
		RemotePaymentBasepoint string `json:"remote_payment_basepoint"`
		LocalHTLCBasepoint     string `json:"local_htlc_basepoint"`
		RemoteHTLCBasepoint    string `json:"remote_htlc_basepoint"`
		LocalFundingPrivKey    string `json:"local_funding_privkey"`
		LocalFundingPubKey     string `json:"local_funding_pubkey"`
		RemoteFundingPubKey    string `json:"remote_funding_pubkey"`
		LocalPrivKey           string `json:"local_privkey"`
		LocalHTLCPubKey        string `json:"local_htlcpubkey"`
		RemoteHTLCPubKey       string `json:"remote_htlcpubkey"`
		LocalDelayedPubKey     string `json:"local_delayedpubkey"`
		LocalRevocationPubKey  string `json:"local_revocation_pubkey"`
		FundingWitnessScript   string `json:"funding_wscript_comment"`
	} `json:"params"`
	Internal struct {
		RemoteFundingPrivKey            string `json:"remote_funding_privkey"`
		LocalPaymentBasepointSecret     string `json:"local_payment_basepoint_secret"`
		RemoteRevocationBasepointSecret string `json:"remote_revocation_basepoint_secret"`
		LocalDelayedBasepointSecret     string `json:"local_delayed_payment_basepoint_secret"`
		RemotePaymentBasepointSecret    string `json:"remote_payment_basepoint_secret"`
		LocalPerCommitmentSecret        string `json:"x_local_per_commitment_secret"`
		RemoteRevocationBasepoint       string `json:"remote_revocation_basepoint"`
		LocalDelayedBasepoint           string `json:"local_delayed_payment_basepoint"`
		LocalPerCommitmentPoint         string `json:"local_per_commitment_point"`
		RemotePrivKey                   string `json:"remote_privkey"`
		LocalDelayedPrivKey             string `json:"local_delayed_privkey"`
	} `json:"params_internal"`
	HTLCs []vectorHTLC `json:"htlcs"`
	Tests []struct {
		Name         string       `json:"name"`
		FeePerKw     uint32       `json:"local_feerate_per_kw"`
		ToLocalMsat  uint64       `json:"to_local_msat"`
		ToRemoteMsat uint64       `json:"to_remote_msat"`
		HTLCs        []vectorHTLC `json:"htlcs"`
		RemoteSig    string       `json:"remote_signature"`
		LocalSig     string       `json:"local_signature_comment"`
		CommitTx     string       `json:"output_commit_tx"`
		NumHTLCs     int          `json:"num_htlcs"`
		ActualFee    *int64       `json:"actual_commitment_tx_fee_comment"`
		HTLCTxs      []struct {
			OutputIndex int    `json:"output_index"`
			Type        string `json:"type"`
			HTLC        int    `json:"htlc"`
			RemoteSig   string `json:"remote_htlc_signature"`
			LocalSig    string `json:"local_htlc_signature_comment"`
			Tx          string `json:"tx"`
		} `json:"htlc_txs"`
	} `json:"tests"`
}

type vectorHTLC struct {
	ID        int    `json:"id"`
	Direction string `json:"direction"`
	Amount    uint64 `json:"amount_msat"`
	Expiry    uint32 `json:"expiry"`
	Preimage  string `json:"payment_preimage"`
}

// vectorChannel is the channel of BOLT 3 Appendix C, with every key the
// tests sign with.
type vectorChannel struct {
	v               *commitmentVectors
	fundingOutpoint wire.OutPoint
	localFunding    *btcec.PrivateKey
	remoteFunding   *btcec.PrivateKey
	keys            *keys.CommitmentKeys
	localHTLCKey    *btcec.PrivateKey
	remoteHTLCKey   *btcec.PrivateKey
	localDelayedKey *btcec.PrivateKey
	revocationKey   *btcec.PrivateKey
	obscurer        uint64
}

func loadVectorChannel(t testing.TB) *vectorChannel {
	t.Helper()
	v := new(commitmentVectors)
	readVectors(t, "bolt03-commitments.json", v)
	p, in := &v.Params, &v.Internal

	txid, err := chainhash.NewHashFromStr(p.FundingTxID)
	if err != nil {
		t.Fatal(err)
	}
	var secret [32]byte
	copy(secret[:], unhex(t, in.LocalPerCommitmentSecret)[:32])
	point := keys.PerCommitmentPoint(secret)
	if !point.IsEqual(pubKey(t, in.LocalPerCommitmentPoint)) {
		t.Fatal("per-commitment point does not match its secret")
	}

	// Local and remote basepoints; BOLT 3 uses the payment basepoint as
	// the HTLC basepoint in these vectors.
	local := &keys.Basepoints{
		Payment:        pubKey(t, p.LocalPaymentBasepoint),
		HTLC:           pubKey(t, p.LocalHTLCBasepoint),
		DelayedPayment: pubKey(t, in.LocalDelayedBasepoint),
		Revocation:     pubKey(t, p.LocalPaymentBasepoint), // unused by local's commitment
	}
	remote := &keys.Basepoints{
		Payment:        pubKey(t, p.RemotePaymentBasepoint),
		HTLC:           pubKey(t, p.RemoteHTLCBasepoint),
		DelayedPayment: pubKey(t, p.RemotePaymentBasepoint), // unused
		Revocation:     pubKey(t, in.RemoteRevocationBasepoint),
	}
	remoteRevocationSecret := privKey(t, in.RemoteRevocationBasepointSecret)
	ck := keys.DeriveOwnCommitmentKeys(secret, local, remote)
	// The peer's view of the same commitment must agree.
	peer := keys.DerivePeerCommitmentKeys(point, remoteRevocationSecret, remote, local)

	want := map[string]struct{ got, peer *btcec.PublicKey }{
		p.LocalHTLCPubKey:        {ck.LocalHTLC, peer.LocalHTLC},
		p.RemoteHTLCPubKey:       {ck.RemoteHTLC, peer.RemoteHTLC},
		p.LocalDelayedPubKey:     {ck.LocalDelayed, peer.LocalDelayed},
		p.LocalRevocationPubKey:  {ck.Revocation, peer.Revocation},
		p.RemotePaymentBasepoint: {ck.ToRemote, peer.ToRemote},
	}
	for w, k := range want {
		if hex.EncodeToString(k.got.SerializeCompressed()) != w || !k.peer.IsEqual(k.got) {
			t.Fatalf("derived key %x, peer view %x, want %s",
				k.got.SerializeCompressed(), k.peer.SerializeCompressed(), w)
		}
	}

	c := &vectorChannel{
		v:               v,
		fundingOutpoint: wire.OutPoint{Hash: *txid, Index: p.FundingOutputIndex},
		localFunding:    privKey(t, p.LocalFundingPrivKey),
		remoteFunding:   privKey(t, in.RemoteFundingPrivKey),
		keys:            ck,
		localHTLCKey:    keys.DerivePrivKey(privKey(t, in.LocalPaymentBasepointSecret), point),
		remoteHTLCKey:   keys.DerivePrivKey(privKey(t, in.RemotePaymentBasepointSecret), point),
		localDelayedKey: keys.DerivePrivKey(privKey(t, in.LocalDelayedBasepointSecret), point),
		revocationKey:   keys.RevocationPrivKey(remoteRevocationSecret, secret),
		obscurer:        ObscuringFactor(local.Payment, remote.Payment),
	}
	checks := []struct {
		name string
		key  *btcec.PrivateKey
		want string
	}{
		{"local_privkey", c.localHTLCKey, p.LocalPrivKey},
		{"remote_privkey", c.remoteHTLCKey, in.RemotePrivKey},
		{"local_delayed_privkey", c.localDelayedKey, in.LocalDelayedPrivKey},
	}
	for _, ch := range checks {
		if hex.EncodeToString(ch.key.Serialize()) != ch.want[:64] {
			t.Fatalf("%s = %x", ch.name, ch.key.Serialize())
		}
	}
	if !c.revocationKey.PubKey().IsEqual(ck.Revocation) {
		t.Fatal("revocation private key does not match")
	}
	if !c.localFunding.PubKey().IsEqual(pubKey(t, p.LocalFundingPubKey)) ||
		!c.remoteFunding.PubKey().IsEqual(pubKey(t, p.RemoteFundingPubKey)) {
		t.Fatal("funding keys do not match")
	}
	return c
}

func (c *vectorChannel) fundingTxOut(t testing.TB) *wire.TxOut {
	_, pk, err := FundingScript(c.localFunding.PubKey(), c.remoteFunding.PubKey())
	if err != nil {
		t.Fatal(err)
	}
	return wire.NewTxOut(c.v.Params.FundingAmount, pk)
}

func (c *vectorChannel) params(t testing.TB, feePerKw uint32, toLocal, toRemote uint64, htlcs []vectorHTLC) (CommitmentParams, [][32]byte) {
	p := CommitmentParams{
		Type:             StaticRemoteKey,
		FundingOutpoint:  c.fundingOutpoint,
		FundingAmount:    btcutil.Amount(c.v.Params.FundingAmount),
		LocalFundingKey:  c.localFunding.PubKey(),
		RemoteFundingKey: c.remoteFunding.PubKey(),
		Keys:             c.keys,
		CommitmentNumber: c.v.Params.CommitmentNumber,
		Obscurer:         c.obscurer,
		ToSelfDelay:      c.v.Params.LocalDelay,
		DustLimit:        btcutil.Amount(c.v.Params.LocalDustLimit),
		FeePerKw:         feePerKw,
		LocalIsFunder:    true,
		LocalMsat:        toLocal,
		RemoteMsat:       toRemote,
	}
	var preimages [][32]byte
	for _, h := range htlcs {
		var pre [32]byte
		copy(pre[:], unhex(t, h.Preimage))
		p.HTLCs = append(p.HTLCs, HTLC{
			Offered:     h.Direction == "local->remote",
			AmountMsat:  h.Amount,
			PaymentHash: sha256Sum(pre[:]),
			CLTVExpiry:  h.Expiry,
		})
		preimages = append(preimages, pre)
	}
	return p, preimages
}

func mustParseSig(t testing.TB, s string) *ecdsa.Signature {
	t.Helper()
	sig, err := ecdsa.ParseDERSignature(unhex(t, s))
	if err != nil {
		t.Fatalf("parse signature: %v", err)
	}
	return sig
}

// TestCommitmentVectors checks all the BOLT 3 Appendix C cases: the
// commitment transaction and every HTLC transaction byte for byte, our
// signatures against the vectors', and every input with the script engine.
func TestCommitmentVectors(t *testing.T) {
	c := loadVectorChannel(t)
	if len(c.v.Tests) != 16 {
		t.Fatalf("got %d cases, want 16", len(c.v.Tests))
	}
	fundingOut := c.fundingTxOut(t)
	for _, tc := range c.v.Tests {
		t.Run(tc.Name, func(t *testing.T) {
			p, preimages := c.params(t, tc.FeePerKw, tc.ToLocalMsat, tc.ToRemoteMsat, tc.HTLCs)
			com, err := CommitmentTx(p)
			if err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(com.FundingScript) != c.v.Params.FundingWitnessScript {
				t.Fatalf("funding script %x", com.FundingScript)
			}
			if n, ok := CommitmentNumber(com.Tx, c.obscurer); !ok || n != c.v.Params.CommitmentNumber {
				t.Fatalf("CommitmentNumber = %d, %v", n, ok)
			}
			if len(com.HTLCTxs) != tc.NumHTLCs {
				t.Fatalf("%d HTLC outputs, want %d", len(com.HTLCTxs), tc.NumHTLCs)
			}
			if tc.ActualFee != nil && int64(com.Fee) != *tc.ActualFee {
				t.Fatalf("fee %d, want %d", com.Fee, *tc.ActualFee)
			}

			localSig, err := com.SignCommitment(p.FundingAmount, c.localFunding)
			if err != nil {
				t.Fatal(err)
			}
			remoteSig, err := com.SignCommitment(p.FundingAmount, c.remoteFunding)
			if err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(remoteSig.Serialize()) != tc.RemoteSig {
				t.Errorf("remote signature %x", remoteSig.Serialize())
			}
			if hex.EncodeToString(localSig.Serialize()) != tc.LocalSig {
				t.Errorf("local signature %x", localSig.Serialize())
			}
			if err := com.VerifyCommitment(p.FundingAmount, mustParseSig(t, tc.RemoteSig), c.remoteFunding.PubKey()); err != nil {
				t.Errorf("vector remote signature: %v", err)
			}
			com.SetFundingWitness(c.remoteFunding.PubKey(), remoteSig, c.localFunding.PubKey(), localSig)
			if got := txHex(t, com.Tx); got != tc.CommitTx {
				t.Fatalf("commitment tx\n got %s\nwant %s", got, tc.CommitTx)
			}
			verifyInput(t, com.Tx, 0, fundingOut)

			if len(tc.HTLCTxs) != len(com.HTLCTxs) {
				t.Fatalf("%d HTLC txs, want %d", len(com.HTLCTxs), len(tc.HTLCTxs))
			}
			for i, want := range tc.HTLCTxs {
				h := com.HTLCTxs[i]
				if int(h.Tx.TxIn[0].PreviousOutPoint.Index) != want.OutputIndex {
					t.Fatalf("htlc tx %d spends output %d, want %d", i, h.Tx.TxIn[0].PreviousOutPoint.Index, want.OutputIndex)
				}
				if tc.HTLCs[h.HTLCIndex].ID != want.HTLC || com.HTLCOutputs[h.HTLCIndex] != want.OutputIndex {
					t.Fatalf("htlc tx %d is for htlc %d, want %d", i, tc.HTLCs[h.HTLCIndex].ID, want.HTLC)
				}
				if h.Timeout != (want.Type == "htlc-timeout") {
					t.Fatalf("htlc tx %d: timeout=%v, vector %s", i, h.Timeout, want.Type)
				}
				rs, err := h.SignRemote(c.remoteHTLCKey)
				if err != nil {
					t.Fatal(err)
				}
				ls, err := h.SignLocal(c.localHTLCKey)
				if err != nil {
					t.Fatal(err)
				}
				if hex.EncodeToString(rs.Serialize()) != want.RemoteSig {
					t.Errorf("htlc tx %d remote signature %x", i, rs.Serialize())
				}
				if hex.EncodeToString(ls.Serialize()) != want.LocalSig {
					t.Errorf("htlc tx %d local signature %x", i, ls.Serialize())
				}
				if err := h.VerifyRemote(mustParseSig(t, want.RemoteSig), c.keys.RemoteHTLC); err != nil {
					t.Errorf("htlc tx %d vector signature: %v", i, err)
				}
				h.SetWitness(rs, ls, preimages[h.HTLCIndex])
				if got := txHex(t, h.Tx); got != want.Tx {
					t.Fatalf("htlc tx %d\n got %s\nwant %s", i, got, want.Tx)
				}
				verifyInput(t, h.Tx, 0, com.Tx.TxOut[want.OutputIndex])
			}
		})
	}
}
