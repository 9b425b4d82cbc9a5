package chanstore

import (
	"errors"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
	"go.etcd.io/bbolt"
)

func openTestStore(t *testing.T, path string) (*Store, *bbolt.DB) {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(db)
	if err != nil {
		t.Fatal(err)
	}
	return s, db
}

func testChannel(i byte) *Channel {
	return &Channel{
		Point:           wire.OutPoint{Hash: chainhash.Hash{i}, Index: uint32(i)},
		Peer:            [33]byte{2, i},
		KeyIndex:        uint32(i),
		State:           StatePendingOpen,
		LocalFunder:     i%2 == 0,
		Capacity:        1_000_000,
		FundingPkScript: []byte{0, 32, i},
		MinimumDepth:    3,
		HeightHint:      440,
		Machine:         []byte("machine state"),
	}
}

func TestStoreRoundTripAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flash.db")
	s, db := openTestStore(t, path)
	ftx := wire.NewMsgTx(2)
	ftx.AddTxOut(wire.NewTxOut(1_000_000, []byte{0, 32}))
	var flowID [32]byte
	flowID[0] = 7
	if err := s.PutFlow(flowID, ftx); err != nil {
		t.Fatal(err)
	}
	a, b := testChannel(1), testChannel(2)
	if err := s.Put(a, flowID); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(b); err != nil {
		t.Fatal(err)
	}
	b.State, b.ShortChannelID, b.SentReady = StateActive, 12345, true
	if err := s.Put(b); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, db = openTestStore(t, path)
	defer db.Close()
	all, err := s.All()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || !reflect.DeepEqual(all[0], a) || !reflect.DeepEqual(all[1], b) {
		t.Fatalf("All() = %+v, want %+v and %+v", all, a, b)
	}
	flows, err := s.Flows()
	if err != nil || len(flows) != 0 {
		t.Fatalf("flows after Put with done flow: %v, %v", flows, err)
	}
	if _, err := s.Get(wire.OutPoint{Index: 9}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get unknown: %v, want ErrNotFound", err)
	}
	if err := s.Delete(a.Point); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(a.Point); err != nil {
		t.Fatalf("second delete: %v", err)
	}
	if all, _ := s.All(); len(all) != 1 || all[0].Point != b.Point {
		t.Fatalf("after delete: %+v", all)
	}
}

func TestStoreFlows(t *testing.T) {
	s, db := openTestStore(t, filepath.Join(t.TempDir(), "flash.db"))
	defer db.Close()
	ftx := wire.NewMsgTx(2)
	ftx.AddTxIn(wire.NewTxIn(&wire.OutPoint{Index: 3}, nil, nil))
	ftx.AddTxOut(wire.NewTxOut(50_000, []byte{0, 32}))
	id := [32]byte{1}
	if err := s.PutFlow(id, ftx); err != nil {
		t.Fatal(err)
	}
	flows, err := s.Flows()
	if err != nil || len(flows) != 1 || flows[id].TxHash() != ftx.TxHash() {
		t.Fatalf("Flows() = %v, %v", flows, err)
	}
	if err := s.DeleteFlow(id); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteFlow(id); err != nil {
		t.Fatalf("second delete: %v", err)
	}
	if flows, _ := s.Flows(); len(flows) != 0 {
		t.Fatalf("flows after delete: %v", flows)
	}
}

func TestStoreRefusesCorruptRecords(t *testing.T) {
	s, db := openTestStore(t, filepath.Join(t.TempDir(), "flash.db"))
	defer db.Close()
	if err := s.Put(&Channel{}); err == nil {
		t.Fatal("Put accepted a channel without a state")
	}
	c := testChannel(3)
	if err := s.Put(c); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]byte{nil, {9}, {recordVersion, '{'}} {
		err := db.Update(func(tx *bbolt.Tx) error {
			return tx.Bucket(rootBucket).Bucket(channelsBucket).Put(pointKey(c.Point), bad)
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.All(); err == nil {
			t.Errorf("All() accepted record %x", bad)
		}
		if _, err := s.Get(c.Point); err == nil {
			t.Errorf("Get() accepted record %x", bad)
		}
	}
}

func TestClosingTxid(t *testing.T) {
	c := testChannel(4)
	if _, ok := c.ClosingTxid(); ok {
		t.Fatal("txid without closing tx")
	}
	tx := wire.NewMsgTx(2)
	tx.AddTxIn(wire.NewTxIn(&wire.OutPoint{Index: 1}, nil, nil))
	tx.AddTxOut(wire.NewTxOut(1, []byte{0}))
	var buf []byte
	w := &sliceWriter{&buf}
	if err := tx.Serialize(w); err != nil {
		t.Fatal(err)
	}
	c.ClosingTx = buf
	if got, ok := c.ClosingTxid(); !ok || got != tx.TxHash() {
		t.Fatalf("ClosingTxid() = %v, %v", got, ok)
	}
	cp := c.Clone()
	cp.ClosingTx[0] ^= 1
	if c.ClosingTx[0] == cp.ClosingTx[0] {
		t.Fatal("Clone shares ClosingTx")
	}
}

type sliceWriter struct{ b *[]byte }

func (w *sliceWriter) Write(p []byte) (int, error) {
	*w.b = append(*w.b, p...)
	return len(p), nil
}

// FuzzDecode feeds arbitrary bytes to the record decoder: it must refuse
// or accept without panicking, and what it accepts must encode again.
func FuzzDecode(f *testing.F) {
	good, err := encode(testChannel(5))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte{})
	f.Add([]byte{recordVersion, '{', '}'})
	f.Add([]byte{recordVersion, 'n', 'u', 'l', 'l'})
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := decode(data)
		if err != nil {
			return
		}
		if _, err := encode(c); err != nil {
			t.Fatalf("decoded record does not encode: %v", err)
		}
		c.ClosingTxid()
	})
}

func TestStoreCreateRefusesAnyExistingRecord(t *testing.T) {
	s, db := openTestStore(t, filepath.Join(t.TempDir(), "flash.db"))
	defer db.Close()
	closed := testChannel(3)
	closed.State = StateClosed
	closed.Unresolved = true
	if err := s.Create(closed); err != nil {
		t.Fatal(err)
	}
	// A peer's funding_created naming the same outpoint.
	intruder := testChannel(3)
	intruder.Peer = [33]byte{3, 9}
	if err := s.Create(intruder); !errors.Is(err, ErrExists) {
		t.Fatalf("create over a closed channel: %v, want ErrExists", err)
	}
	got, err := s.Get(closed.Point)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, closed) {
		t.Fatalf("stored record changed:\n got %+v\nwant %+v", got, closed)
	}
}
