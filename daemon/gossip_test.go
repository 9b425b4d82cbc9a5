package daemon

import (
	"path/filepath"
	"testing"

	"github.com/btcsuite/btcd/wire"
	"go.etcd.io/bbolt"

	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/router/gossiper"
)

func TestAnnounceAddresses(t *testing.T) {
	tests := []struct {
		listen string
		want   string // empty for no address
	}{
		{"127.0.0.1:9735", "127.0.0.1:9735"},
		{"[::1]:9735", "[::1]:9735"},
		{"0.0.0.0:9735", ""},
		{"[::]:9735", ""},
		{"127.0.0.1:0", ""},
		{"localhost:9735", ""},
		{"nonsense", ""},
	}
	for _, tc := range tests {
		got := announceAddresses(tc.listen)
		switch {
		case tc.want == "" && len(got) != 0:
			t.Errorf("%s: announces %v, want nothing", tc.listen, got)
		case tc.want != "" && (len(got) != 1 || got[0].String() != tc.want):
			t.Errorf("%s: announces %v, want %s", tc.listen, got, tc.want)
		}
	}
}

func TestIsGossipType(t *testing.T) {
	for _, typ := range gossipTypes {
		if !isGossipType(typ) {
			t.Errorf("%v not a gossip type", typ)
		}
	}
	for _, typ := range []lnwire.MessageType{lnwire.MsgInit, lnwire.MsgChannelReady, lnwire.MsgUpdateAddHTLC, 255, 266} {
		if isGossipType(typ) {
			t.Errorf("%v taken for a gossip type", typ)
		}
	}
}

func TestPolicyStore(t *testing.T) {
	db, err := bbolt.Open(filepath.Join(t.TempDir(), "db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	op := wire.OutPoint{Hash: [32]byte{1, 2, 3}, Index: 7}
	other := wire.OutPoint{Hash: [32]byte{1, 2, 3}, Index: 8}

	defaults := gossiper.Policy{FeeBaseMsat: 1000, FeeRatePPM: 1, CltvExpiryDelta: 40, HTLCMinimumMsat: 1}
	p := defaults
	if err := loadPolicy(db, op, &p); err != nil || p != defaults {
		t.Fatalf("nothing stored: %+v, %v", p, err)
	}
	set := gossiper.Policy{FeeBaseMsat: 1 << 31, FeeRatePPM: 1_000_000, CltvExpiryDelta: 2016}
	if err := putPolicy(db, op, set); err != nil {
		t.Fatal(err)
	}
	p = defaults
	if err := loadPolicy(db, op, &p); err != nil {
		t.Fatal(err)
	}
	// Only fees and delta are stored; the HTLC limits follow the channel.
	want := defaults
	want.FeeBaseMsat, want.FeeRatePPM, want.CltvExpiryDelta = set.FeeBaseMsat, set.FeeRatePPM, set.CltvExpiryDelta
	if p != want {
		t.Fatalf("loaded %+v, want %+v", p, want)
	}
	p = defaults
	if err := loadPolicy(db, other, &p); err != nil || p != defaults {
		t.Fatalf("other channel: %+v, %v", p, err)
	}

	if isPrivate(db, op) {
		t.Fatal("private before being recorded")
	}
	if err := putPrivate(db, op); err != nil {
		t.Fatal(err)
	}
	if !isPrivate(db, op) || isPrivate(db, other) {
		t.Fatal("private flag not kept per channel")
	}

	// A corrupt record is reported, and leaves the policy alone.
	if err := db.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket(policyBucket).Put(policyKey(other), []byte{1, 2})
	}); err != nil {
		t.Fatal(err)
	}
	p = defaults
	if err := loadPolicy(db, other, &p); err == nil || p != defaults {
		t.Fatalf("corrupt record: %+v, %v", p, err)
	}
}
