package channel

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/ecdsa"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/flash-ln/flash/channel/keys"
	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/channel/shachain"
)

// vectorsDir holds the BOLT 3 vectors; package script keeps the copy, and
// this test replays the same cases through the state machine.
var vectorsDir = filepath.Join("script", "testdata")

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
		LocalFundingPrivkey    string `json:"local_funding_privkey"`
		RemoteFundingPubkey    string `json:"remote_funding_pubkey"`
	} `json:"params"`
	Internal struct {
		LocalPaymentBasepointSecret string `json:"local_payment_basepoint_secret"`
		LocalDelayedBasepointSecret string `json:"local_delayed_payment_basepoint_secret"`
		LocalPerCommitmentSecret    string `json:"x_local_per_commitment_secret"`
		RemoteRevocationBasepoint   string `json:"remote_revocation_basepoint"`
	} `json:"params_internal"`
	HTLCs []struct {
		ID        uint64 `json:"id"`
		Direction string `json:"direction"`
		Amount    uint64 `json:"amount_msat"`
		Expiry    uint32 `json:"expiry"`
		Preimage  string `json:"payment_preimage"`
	} `json:"htlcs"`
	Tests []struct {
		Name            string   `json:"name"`
		FeePerKw        uint32   `json:"local_feerate_per_kw"`
		ToLocal         uint64   `json:"to_local_msat"`
		ToRemote        uint64   `json:"to_remote_msat"`
		HTLCIDs         []uint64 `json:"htlc_ids"`
		RemoteSignature string   `json:"remote_signature"`
		CommitTx        string   `json:"output_commit_tx"`
		HTLCTxs         []struct {
			RemoteSig string `json:"remote_htlc_signature"`
			Tx        string `json:"tx"`
		} `json:"htlc_txs"`
	} `json:"tests"`
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func vectorPriv(t *testing.T, s string) *btcec.PrivateKey {
	k, _ := btcec.PrivKeyFromBytes(mustHex(t, s)[:32])
	return k
}

func vectorPub(t *testing.T, s string) *btcec.PublicKey {
	k, err := btcec.ParsePubKey(mustHex(t, s))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func vectorSig(t *testing.T, s string) lnwire.Sig {
	sig, err := ecdsa.ParseDERSignature(mustHex(t, s))
	if err != nil {
		t.Fatal(err)
	}
	return toWireSig(sig)
}

// fixedSecret serves one per-commitment secret.
type fixedSecret struct {
	n      uint64
	secret [32]byte
}

func (f fixedSecret) ForCommitment(n uint64) ([32]byte, error) {
	if n != f.n {
		return [32]byte{}, fmt.Errorf("no secret for commitment %d", n)
	}
	return f.secret, nil
}

// TestBOLT3CommitmentVectors puts each BOLT 3 Appendix C case into a
// machine's state as its current commitment, with the vector's remote
// signatures, and checks that the machine's signed commitment and HTLC
// transactions are the vector's, byte for byte. It pins the mapping from
// channel state to commitment parameters (perspective, delays, dust limit,
// obscuring factor, HTLC directions and signature order).
func TestBOLT3CommitmentVectors(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(vectorsDir, "bolt03-commitments.json"))
	if err != nil {
		t.Skipf("vectors not available: %v", err)
	}
	var v commitmentVectors
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	p := &v.Params
	txid, err := chainhash.NewHashFromStr(p.FundingTxID)
	if err != nil {
		t.Fatal(err)
	}
	var secret [32]byte
	copy(secret[:], mustHex(t, v.Internal.LocalPerCommitmentSecret)[:32])
	paymentSecret := vectorPriv(t, v.Internal.LocalPaymentBasepointSecret)
	unused := testKey("unused")
	kr := &Keyring{
		FundingKey:           vectorPriv(t, p.LocalFundingPrivkey),
		RevocationBaseSecret: unused,
		PaymentBaseSecret:    paymentSecret,
		DelayedBaseSecret:    vectorPriv(t, v.Internal.LocalDelayedBasepointSecret),
		HTLCBaseSecret:       paymentSecret, // the vectors use one key for both
		Secrets:              fixedSecret{p.CommitmentNumber, secret},
	}
	params := Params{
		FundingOutpoint: wire.OutPoint{Hash: *txid, Index: p.FundingOutputIndex},
		Capacity:        btcutil.Amount(p.FundingAmount),
		LocalFunder:     true,
		Type:            ChannelTypeStaticRemoteKey,
		Local: PartyConfig{
			DustLimit:  btcutil.Amount(p.LocalDustLimit),
			FundingKey: kr.FundingKey.PubKey(),
			Basepoints: keys.Basepoints{
				Revocation:     unused.PubKey(),
				Payment:        vectorPub(t, p.LocalPaymentBasepoint),
				DelayedPayment: kr.DelayedBaseSecret.PubKey(),
				HTLC:           vectorPub(t, p.LocalHTLCBasepoint),
			},
		},
		Remote: PartyConfig{
			ToSelfDelay: p.LocalDelay, // the peer chooses our delay
			FundingKey:  vectorPub(t, p.RemoteFundingPubkey),
			Basepoints: keys.Basepoints{
				Revocation:     vectorPub(t, v.Internal.RemoteRevocationBasepoint),
				Payment:        vectorPub(t, p.RemotePaymentBasepoint),
				DelayedPayment: unused.PubKey(),
				HTLC:           vectorPub(t, p.RemoteHTLCBasepoint),
			},
		},
	}
	preimages := map[[32]byte][32]byte{}
	for _, h := range v.HTLCs {
		var pre [32]byte
		copy(pre[:], mustHex(t, h.Preimage))
		preimages[sha256.Sum256(pre[:])] = pre
	}
	for _, tc := range v.Tests {
		t.Run(tc.Name, func(t *testing.T) {
			spec := CommitmentSpec{FeePerKw: tc.FeePerKw, LocalBalance: lnwire.MilliSatoshi(tc.ToLocal),
				RemoteBalance: lnwire.MilliSatoshi(tc.ToRemote)}
			for _, id := range tc.HTLCIDs {
				h := v.HTLCs[id]
				var pre [32]byte
				copy(pre[:], mustHex(t, h.Preimage))
				spec.HTLCs = append(spec.HTLCs, HTLC{Incoming: h.Direction == "remote->local", ID: h.ID,
					Amount: lnwire.MilliSatoshi(h.Amount), PaymentHash: sha256.Sum256(pre[:]), CLTVExpiry: h.Expiry})
			}
			st := &state{Params: params, RemoteSecrets: shachain.NewStore(), Phase: PhaseNormal,
				LocalCommit: LocalCommitment{Index: p.CommitmentNumber, Spec: spec, Sig: vectorSig(t, tc.RemoteSignature)}}
			for _, h := range tc.HTLCTxs {
				st.LocalCommit.HTLCSigs = append(st.LocalCommit.HTLCSigs, vectorSig(t, h.RemoteSig))
			}
			c := &Channel{keys: kr, st: st, obscurer: params.Obscurer()}
			tx, err := c.LocalCommitmentTx()
			if err != nil {
				t.Fatal(err)
			}
			if got := serializeHex(t, tx); got != tc.CommitTx {
				t.Fatalf("commitment tx\n got %s\nwant %s", got, tc.CommitTx)
			}
			htlcs, err := c.LocalHTLCTxs(func(h [32]byte) ([32]byte, bool) { p, ok := preimages[h]; return p, ok })
			if err != nil {
				t.Fatal(err)
			}
			if len(htlcs) != len(tc.HTLCTxs) {
				t.Fatalf("%d HTLC transactions, want %d", len(htlcs), len(tc.HTLCTxs))
			}
			for i, h := range htlcs {
				if got := serializeHex(t, h.Tx); got != tc.HTLCTxs[i].Tx {
					t.Fatalf("HTLC tx %d\n got %s\nwant %s", i, got, tc.HTLCTxs[i].Tx)
				}
			}
		})
	}
}

func serializeHex(t *testing.T, tx *wire.MsgTx) string {
	var b bytes.Buffer
	if err := tx.Serialize(&b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b.Bytes())
}
