package chanstore

import (
	"errors"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/wire"

	"github.com/flash-ln/flash/channel"
)

func newTestStore(t *testing.T) *Store {
	t.Helper()
	s, db := openTestStore(t, filepath.Join(t.TempDir(), "db"))
	t.Cleanup(func() { db.Close() })
	return s
}

func TestRevokedSpecs(t *testing.T) {
	s := newTestStore(t)
	a := wire.OutPoint{Index: 1}
	b := wire.OutPoint{Index: 2}
	if _, err := s.Revoked(a, 0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("empty store: %v, want ErrNotFound", err)
	}
	key, _ := btcec.NewPrivateKey()
	spec := &channel.CommitmentSpec{
		FeePerKw: 253, LocalBalance: 5000, RemoteBalance: 7000,
		HTLCs: []channel.HTLC{{Incoming: true, ID: 3, Amount: 1000, PaymentHash: [32]byte{9},
			CLTVExpiry: 500, Onion: []byte{1, 2}, PathKey: key.PubKey()}},
	}
	for _, tc := range []struct {
		op wire.OutPoint
		n  uint64
	}{{a, 0}, {a, 1 << 40}, {b, 0}} {
		if err := s.PutRevoked(tc.op, tc.n, spec); err != nil {
			t.Fatal(err)
		}
	}
	want := *spec
	want.HTLCs = []channel.HTLC{spec.HTLCs[0]}
	want.HTLCs[0].Onion, want.HTLCs[0].PathKey = nil, nil
	for _, tc := range []struct {
		op    wire.OutPoint
		n     uint64
		found bool
	}{{a, 0, true}, {a, 1 << 40, true}, {a, 1, false}, {b, 0, true}, {b, 1 << 40, false}} {
		got, err := s.Revoked(tc.op, tc.n)
		switch {
		case !tc.found && !errors.Is(err, ErrNotFound):
			t.Errorf("%v/%d: %v, want ErrNotFound", tc.op, tc.n, err)
		case tc.found && err != nil:
			t.Errorf("%v/%d: %v", tc.op, tc.n, err)
		case tc.found && !reflect.DeepEqual(*got, want):
			t.Errorf("%v/%d: got %+v, want %+v", tc.op, tc.n, got, want)
		}
	}
	if spec.HTLCs[0].PathKey == nil {
		t.Error("PutRevoked changed its argument")
	}
}

func TestResolverRoundTrip(t *testing.T) {
	s := newTestStore(t)
	op := wire.OutPoint{Index: 7}
	r, err := s.GetResolver(op)
	if err != nil || r.Point != op || len(r.Txs) != 0 {
		t.Fatalf("fresh resolver: %+v, %v", r, err)
	}
	r.Txs = append(r.Txs, ResolverTx{Tx: []byte{1, 2, 3}, Sweep: true}, ResolverTx{Tx: []byte{4}, ConfHeight: 9})
	if err := s.PutResolver(r); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetResolver(op)
	if err != nil || !reflect.DeepEqual(got, r) {
		t.Fatalf("got %+v, %v; want %+v", got, err, r)
	}
}
