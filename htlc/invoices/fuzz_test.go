package invoices

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"go.etcd.io/bbolt"

	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/htlc/invoice"
)

func sampleRecords() []*Record {
	settledAt := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	return []*Record{
		{PaymentHash: [32]byte{1}, State: StateOpen, AmountMsat: 1000, Memo: "coffee",
			Invoice: "lnbcrt10n1...", MinFinalCLTVExpiryDelta: 40, AddIndex: 1,
			CreatedAt: time.Unix(1_700_000_000, 0).UTC(), ExpiresAt: time.Unix(1_700_003_600, 0).UTC()},
		{PaymentHash: [32]byte{2}, Preimage: [32]byte{3}, PaymentSecret: [32]byte{4}, State: StateSettled,
			AmountMsat: 5000, AmountPaidMsat: 6000, SettledAt: settledAt, AddIndex: 2,
			CreatedAt: time.Unix(1, 0).UTC(), ExpiresAt: time.Unix(2, 0).UTC(),
			HTLCs: []HTLC{{Circuit: CircuitKey{ChanID: lnwire.ChannelID{5}, HTLCID: 6}, AmountMsat: 6000,
				Expiry: 800, AcceptHeight: 700, AcceptedAt: settledAt}}},
		{PaymentHash: [32]byte{7}, Keysend: true, State: StateSettled, AddIndex: 3,
			CreatedAt: time.Unix(0, 0).UTC(), ExpiresAt: time.Unix(0, 0).UTC()},
	}
}

func TestRecordRoundTrip(t *testing.T) {
	for i, r := range sampleRecords() {
		got, err := decodeRecord(r.PaymentHash, encodeRecord(r))
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if !reflect.DeepEqual(got, r) {
			t.Fatalf("record %d:\n got %+v\nwant %+v", i, got, r)
		}
	}
}

func TestDecodeRecordCorrupt(t *testing.T) {
	good := encodeRecord(sampleRecords()[1])
	tests := map[string][]byte{
		"empty":          nil,
		"bad version":    append([]byte{2}, good[1:]...),
		"bad state":      append([]byte{1, 9}, good[2:]...),
		"unknown flag":   append([]byte{1, 0, 2}, good[3:]...),
		"truncated":      good[:len(good)-1],
		"trailing bytes": append(append([]byte(nil), good...), 0),
	}
	for name, b := range tests {
		if _, err := decodeRecord([32]byte{}, b); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

func FuzzDecodeRecord(f *testing.F) {
	for _, r := range sampleRecords() {
		f.Add(encodeRecord(r))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRecord([32]byte{}, b)
		if err != nil {
			return
		}
		// The layout has one encoding per record.
		if again := encodeRecord(r); !bytes.Equal(again, b) {
			t.Fatalf("re-encoding differs:\n%x\n%x", again, b)
		}
	})
}

// FuzzAccept offers arbitrary HTLCs to a registry and checks each
// decision against the rules: a fresh invoice settles exactly when every
// rule holds, nothing settles with a wrong hash or secret, a settlement is
// stored, and no invoice is ever settled by two HTLCs.
func FuzzAccept(f *testing.F) {
	dir := f.TempDir()
	db, err := bbolt.Open(filepath.Join(dir, "fuzz.db"), 0o600, &bbolt.Options{Timeout: time.Second, NoSync: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	key := testNodeKey(f)
	clock := &testClock{now: testStart}
	reg, err := New(Config{DB: db, Net: &chaincfg.RegressionNetParams, Signer: invoice.SignerFromKey(key),
		NodeID: key.PubKey(), Rand: &lockedReader{r: rand.NewChaCha8([32]byte{2})}, Now: clock.Now})
	if err != nil {
		f.Fatal(err)
	}
	settledBy := make(map[[32]byte]CircuitKey)
	var circuit uint64

	const d = DefaultMinFinalCLTVExpiryDelta
	// Seeds: a perfect payment, then each rule broken once.
	f.Add(uint64(1000), uint64(1000), uint64(1000), uint64(1000), uint32(1000+d), uint32(1000+d), uint32(1000), byte(0), byte(0), []byte{}, false)
	f.Add(uint64(0), uint64(7), uint64(7), uint64(0), uint32(1000+d), uint32(1000+d), uint32(1000), byte(0), byte(0), []byte{}, false)
	f.Add(uint64(1000), uint64(999), uint64(1000), uint64(1000), uint32(1000+d), uint32(1000+d), uint32(1000), byte(0), byte(0), []byte{}, false)
	f.Add(uint64(1000), uint64(1000), uint64(1000), uint64(1000), uint32(1000+d), uint32(1001+d), uint32(1000), byte(0), byte(0), []byte{}, false)
	f.Add(uint64(1000), uint64(1000), uint64(1000), uint64(1000), uint32(1000+d), uint32(1000+d), uint32(1000), byte(1), byte(0), []byte{1, 2}, false)
	f.Add(uint64(1000), uint64(1000), uint64(1000), uint64(1000), uint32(1000+d), uint32(1000+d), uint32(1000), byte(0), byte(1), []byte{1, 2}, false)
	f.Add(uint64(1000), uint64(1000), uint64(1000), uint64(1000), uint32(1000+d), uint32(1000+d), uint32(1000), byte(0), byte(2), []byte{}, false)
	f.Add(uint64(1000), uint64(500), uint64(500), uint64(1000), uint32(1000+d), uint32(1000+d), uint32(1000), byte(0), byte(0), []byte{}, false)
	f.Add(uint64(1000), uint64(2001), uint64(2001), uint64(2001), uint32(1000+d), uint32(1000+d), uint32(1000), byte(0), byte(0), []byte{}, false)
	f.Add(uint64(0), uint64(5000), uint64(5000), uint64(0), uint32(1000+d), uint32(1000+d), uint32(1000), byte(2), byte(2), []byte{9, 9}, false)
	f.Add(uint64(1000), uint64(1000), uint64(1000), uint64(1000), uint32(1000+d), uint32(1000+d), uint32(1000), byte(0), byte(0), []byte{}, true)

	f.Fuzz(func(t *testing.T, invAmt, htlcAmt, fwdAmt, total uint64, expiry, outCLTV, height uint32,
		hashSel, secretSel byte, data []byte, expire bool) {

		invAmt %= uint64(MaxAmount) + 1
		rec, err := reg.Add(context.Background(), AddRequest{AmountMsat: lnwire.MilliSatoshi(invAmt)})
		if err != nil {
			t.Fatalf("Add: %v", err)
		}
		if expire {
			clock.Advance(time.Hour)
			defer clock.Advance(-time.Hour)
		}
		filler := sha256.Sum256(data)
		circuit++
		in := IncomingHTLC{
			Circuit:    CircuitKey{ChanID: lnwire.ChannelID{byte(circuit)}, HTLCID: circuit},
			AmountMsat: lnwire.MilliSatoshi(htlcAmt), Expiry: expiry, CurrentHeight: height,
			AmtToForward: lnwire.MilliSatoshi(fwdAmt), OutgoingCLTV: outCLTV, TotalMsat: lnwire.MilliSatoshi(total),
		}
		switch hashSel % 3 {
		case 0:
			in.PaymentHash = rec.PaymentHash
		case 1:
			in.PaymentHash = filler
		case 2:
			// Keysend, with a preimage derived from the input.
			pre := sha256.Sum256(append([]byte("keysend"), data...))
			in.KeysendPreimage = &pre
			in.PaymentHash = sha256.Sum256(pre[:])
			if len(data) > 0 && data[0]&1 == 1 {
				in.PaymentHash[0] ^= 1
			}
		}
		switch secretSel % 3 {
		case 0:
			s := rec.PaymentSecret
			in.PaymentSecret = &s
		case 1:
			s := filler
			binary.BigEndian.PutUint64(s[:], circuit)
			in.PaymentSecret = &s
		}

		res, err := reg.Accept(context.Background(), in)
		if err != nil {
			t.Fatalf("Accept: %v", err)
		}
		settle, settled := res.(*Settle)
		if !settled {
			if _, ok := res.(*Fail); !ok || res.(*Fail).Message == nil {
				t.Fatalf("resolution %#v", res)
			}
		}

		if hashSel%3 == 0 {
			amountOK := fwdAmt > 0 && fwdAmt >= invAmt && (invAmt == 0 || fwdAmt <= 2*invAmt)
			want := htlcAmt >= fwdAmt && expiry >= outCLTV && secretSel%3 == 0 &&
				(total == 0 || total == fwdAmt) && amountOK &&
				uint64(expiry) >= uint64(height)+d && !expire
			if settled != want {
				t.Fatalf("fresh invoice: settled %v, want %v (%+v)", settled, want, in)
			}
		}
		if !settled {
			return
		}
		if sha256.Sum256(settle.Preimage[:]) != in.PaymentHash {
			t.Fatal("settled with a preimage that does not match the hash")
		}
		stored, err := reg.Lookup(in.PaymentHash)
		if err != nil {
			t.Fatalf("settled but not stored: %v", err)
		}
		if stored.State != StateSettled || stored.findHTLC(in.Circuit) == nil {
			t.Fatalf("settlement not stored: %+v", stored)
		}
		if !stored.Keysend && (in.PaymentSecret == nil || *in.PaymentSecret != stored.PaymentSecret) {
			t.Fatal("invoice settled without its payment secret")
		}
		if prev, ok := settledBy[in.PaymentHash]; ok && prev != in.Circuit {
			t.Fatalf("invoice %x settled by %v and %v", in.PaymentHash[:4], prev, in.Circuit)
		}
		settledBy[in.PaymentHash] = in.Circuit
		if again, err := reg.Accept(context.Background(), in); err != nil || !reflect.DeepEqual(again, res) {
			t.Fatalf("replay: %+v, %v", again, err)
		}
	})
}
