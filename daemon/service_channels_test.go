package daemon

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	"go.etcd.io/bbolt"

	"github.com/flash-ln/flash/daemon/peer"
	"github.com/flash-ln/flash/daemon/rpc"
)

const testNodeID = "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"

func TestParsePeerAddress(t *testing.T) {
	tests := []struct {
		in      string
		addr    string
		wantErr string
	}{
		{testNodeID + "@127.0.0.1:9735", "127.0.0.1:9735", ""},
		{testNodeID + "@[::1]:1", "[::1]:1", ""},
		{testNodeID + "@localhost:65535", "localhost:65535", ""},
		{"", "", "NODE_ID@HOST:PORT"},
		{testNodeID, "", "NODE_ID@HOST:PORT"},
		{"02ab@127.0.0.1:1", "", "66 hex digits"},
		{strings.Repeat("zz", 33) + "@127.0.0.1:1", "", "66 hex digits"},
		{"04" + testNodeID[2:] + "@127.0.0.1:1", "", "node id"},
		{testNodeID + "@127.0.0.1", "", "HOST:PORT"},
		{testNodeID + "@:9735", "", "HOST:PORT"},
		{testNodeID + "@127.0.0.1:0", "", "port"},
		{testNodeID + "@127.0.0.1:65536", "", "port"},
	}
	for _, tc := range tests {
		pub, addr, err := ParsePeerAddress(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) ||
				rpc.ErrorCode(err) != rpc.CodeInvalidArgument {
				t.Errorf("ParsePeerAddress(%q) = %v, want invalid_argument mentioning %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || addr != tc.addr || nodeIDHex(pub) != testNodeID {
			t.Errorf("ParsePeerAddress(%q) = %v, %q, %v", tc.in, pub, addr, err)
		}
	}
}

func TestParseChannelPoint(t *testing.T) {
	txid := strings.Repeat("ab", 32)
	op, err := parseChannelPoint(txid + ":7")
	if err != nil || op.Hash.String() != txid || op.Index != 7 || op.String() != txid+":7" {
		t.Fatalf("parseChannelPoint = %v, %v", op, err)
	}
	for _, bad := range []string{"", txid, txid + ":", txid + ":-1", txid + ":4294967296",
		"ab:0", strings.Repeat("zz", 32) + ":0", txid + "00:0"} {
		if _, err := parseChannelPoint(bad); rpc.ErrorCode(err) != rpc.CodeInvalidArgument {
			t.Errorf("parseChannelPoint(%q) = %v, want invalid_argument", bad, err)
		}
	}
}

func TestBoltPeerStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flash.db")
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := newBoltPeerStore(db)
	if err != nil {
		t.Fatal(err)
	}
	k1, _ := btcec.NewPrivateKey()
	k2, _ := btcec.NewPrivateKey()
	for _, p := range []peer.PersistentPeer{
		{NodeID: k1.PubKey(), Address: "127.0.0.1:1"},
		{NodeID: k2.PubKey(), Address: "127.0.0.1:2"},
		{NodeID: k1.PubKey(), Address: "127.0.0.1:3"},
	} {
		if err := s.Save(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Delete(k2.PubKey()); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(k2.PubKey()); err != nil {
		t.Fatalf("second delete: %v", err)
	}
	// A corrupt record is skipped, not fatal.
	if err := db.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket(peersBucket).Put([]byte{1, 2, 3}, []byte("x:1"))
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	db, err = bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, err = newBoltPeerStore(db)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Load()
	if err != nil || len(got) != 1 || !got[0].NodeID.IsEqual(k1.PubKey()) || got[0].Address != "127.0.0.1:3" {
		t.Fatalf("Load() = %+v, %v", got, err)
	}
}

func TestSanitize(t *testing.T) {
	if got := sanitize("ok\x00\n\xffé"); got != "ok?????" {
		t.Errorf("sanitize = %q", got)
	}
	if got := sanitize(strings.Repeat("a", 300)); len(got) != 200 {
		t.Errorf("sanitize kept %d bytes", len(got))
	}
}

func FuzzParsePeerAddress(f *testing.F) {
	f.Add(testNodeID + "@127.0.0.1:9735")
	f.Add(testNodeID + "@[::1]:1")
	f.Add("@:")
	f.Fuzz(func(t *testing.T, s string) {
		pub, addr, err := ParsePeerAddress(s)
		if err != nil {
			if rpc.ErrorCode(err) != rpc.CodeInvalidArgument {
				t.Fatalf("error %v without invalid_argument", err)
			}
			return
		}
		if pub == nil || !strings.HasSuffix(s, "@"+addr) {
			t.Fatalf("ParsePeerAddress(%q) = %v, %q", s, pub, addr)
		}
	})
}

func FuzzParseChannelPoint(f *testing.F) {
	f.Add(strings.Repeat("ab", 32) + ":0")
	f.Add(":")
	f.Fuzz(func(t *testing.T, s string) {
		op, err := parseChannelPoint(s)
		if err != nil {
			if rpc.ErrorCode(err) != rpc.CodeInvalidArgument {
				t.Fatalf("error %v without invalid_argument", err)
			}
			return
		}
		if again, err := parseChannelPoint(op.String()); err != nil || again != op {
			t.Fatalf("round trip of %q: %v, %v", s, again, err)
		}
	})
}
