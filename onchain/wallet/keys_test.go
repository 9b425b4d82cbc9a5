package wallet

import (
	"bytes"
	"encoding/hex"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/chaincfg"
	"go.etcd.io/bbolt"
)

// openWithSeed opens a wallet on a fresh database whose seed file holds
// seedHex (a fresh seed if empty).
func openWithSeed(t *testing.T, params *chaincfg.Params, seedHex string, logger *slog.Logger) (*Wallet, string) {
	t.Helper()
	dir := t.TempDir()
	seedFile := filepath.Join(dir, "seed")
	if seedHex != "" {
		if err := os.WriteFile(seedFile, []byte(seedHex+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	db, err := bbolt.Open(filepath.Join(dir, "flash.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	w, err := Open(Config{DB: db, SeedFile: seedFile, Params: params,
		Chain: newFakeChain(params), Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	return w, seedFile
}

// BIP84's test vector: the seed of the mnemonic "abandon abandon ...
// about" with an empty passphrase, and its first addresses on mainnet.
func TestBIP84Vector(t *testing.T) {
	const seed = "5eb00bbddcf069084889a8ab9155568165f5c453ccb85e70811aaed6f6da5fc1" +
		"9a5ac40b389cd370d086206dec8aa6c43daea6690f20ad3d8d48b2d2ce9e38e4"
	w, _ := openWithSeed(t, &chaincfg.MainNetParams, seed, nil)
	tests := []struct {
		branch byte
		index  uint32
		want   string
	}{
		{branchExternal, 0, "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu"},
		{branchExternal, 1, "bc1qnjg0jd8228aq7egyzacy8cys3knf9xvrerkf9g"},
		{branchInternal, 0, "bc1q8c6fshw2dlwun7ekn9qwf37cu2rn755upcp6el"},
	}
	for _, tc := range tests {
		addr, _, err := w.keys.addressScript(tc.branch, tc.index)
		if err != nil {
			t.Fatal(err)
		}
		if addr.EncodeAddress() != tc.want {
			t.Errorf("m/84'/0'/0'/%d/%d = %s, want %s", tc.branch, tc.index, addr, tc.want)
		}
	}
	for i, want := range tests[:2] {
		addr, err := w.NewAddress()
		if err != nil {
			t.Fatal(err)
		}
		if addr.EncodeAddress() != want.want {
			t.Errorf("address %d = %s, want %s", i, addr, want.want)
		}
	}
}

func TestDeterministicKeys(t *testing.T) {
	const seedA = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	const seedB = "ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	params := &chaincfg.RegressionNetParams
	a1, _ := openWithSeed(t, params, seedA, nil)
	a2, _ := openWithSeed(t, params, seedA, nil)
	b, _ := openWithSeed(t, params, seedB, nil)

	locs := []KeyLocator{
		{KeyFamilyMultiSig, 0}, {KeyFamilyMultiSig, 1}, {KeyFamilyRevocationBase, 0},
		{KeyFamilyHtlcBase, 0}, {KeyFamilyPaymentBase, 0}, {KeyFamilyDelayBase, 0},
		{KeyFamilyRevocationRoot, 0}, {KeyFamilyNodeKey, 0}, {KeyFamily(42), 7},
	}
	seen := make(map[string]KeyLocator)
	for _, loc := range locs {
		k1, err := a1.DeriveKey(loc)
		if err != nil {
			t.Fatal(err)
		}
		k2, err := a2.DeriveKey(loc)
		if err != nil {
			t.Fatal(err)
		}
		k3, err := b.DeriveKey(loc)
		if err != nil {
			t.Fatal(err)
		}
		pub := string(k1.PubKey().SerializeCompressed())
		if pub != string(k2.PubKey().SerializeCompressed()) {
			t.Errorf("%s differs between wallets of one seed", loc)
		}
		if pub == string(k3.PubKey().SerializeCompressed()) {
			t.Errorf("%s equal for two seeds", loc)
		}
		if other, dup := seen[pub]; dup {
			t.Errorf("%s equals %s", loc, other)
		}
		seen[pub] = loc
	}
	n1, _ := a1.NodeKey()
	n2, _ := a2.NodeKey()
	if !n1.PubKey().IsEqual(n2.PubKey()) {
		t.Error("node keys differ for one seed")
	}
	for i := 0; i < 3; i++ {
		x, _ := a1.NewAddress()
		y, _ := a2.NewAddress()
		if x.EncodeAddress() != y.EncodeAddress() {
			t.Errorf("address %d differs for one seed", i)
		}
	}
	for _, bad := range []KeyLocator{{KeyFamily(1 << 31), 0}, {KeyFamilyMultiSig, 1 << 31}} {
		if _, err := a1.DeriveKey(bad); err == nil {
			t.Errorf("%s derived", bad)
		}
	}
}

func TestNextKeyLocator(t *testing.T) {
	h := newHarness(t)
	next := func(f KeyFamily) uint32 {
		loc, err := h.w.NextKeyLocator(f)
		if err != nil {
			t.Fatal(err)
		}
		if loc.Family != f {
			t.Fatalf("family %d, want %d", loc.Family, f)
		}
		return loc.Index
	}
	if i := next(KeyFamilyMultiSig); i != 0 {
		t.Fatalf("first multisig index %d", i)
	}
	if i := next(KeyFamilyMultiSig); i != 1 {
		t.Fatalf("second multisig index %d", i)
	}
	if i := next(KeyFamilyRevocationBase); i != 0 {
		t.Fatalf("first revocation index %d", i)
	}
	if i := next(KeyFamilyNodeKey); i != 1 {
		t.Fatalf("node key family handed out index %d; 0 is the node key", i)
	}
	h.restart()
	if i := next(KeyFamilyMultiSig); i != 2 {
		t.Fatalf("multisig index after restart %d, want 2", i)
	}
	if _, err := h.w.NextKeyLocator(KeyFamily(1 << 31)); err == nil {
		t.Fatal("hardened family accepted")
	}
}

func TestSeedFile(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	w, seedFile := openWithSeed(t, &chaincfg.RegressionNetParams, "", logger)
	fi, err := os.Stat(seedFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("seed file mode %o, want 600", fi.Mode().Perm())
	}
	text, err := os.ReadFile(seedFile)
	if err != nil {
		t.Fatal(err)
	}
	seed, err := hex.DecodeString(strings.TrimSpace(string(text)))
	if err != nil || len(seed) != seedLen {
		t.Fatalf("seed file holds %q", text)
	}
	if _, err := w.NewAddress(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), strings.TrimSpace(string(text))) {
		t.Fatal("seed logged")
	}

	// The database remembers its seed: another seed file is refused.
	db := w.db
	other := filepath.Join(t.TempDir(), "seed")
	os.WriteFile(other, []byte(strings.Repeat("ab", 32)), 0o600)
	if _, err := Open(Config{DB: db, SeedFile: other, Params: w.cfg.Params,
		Chain: w.cfg.Chain}); err == nil || !strings.Contains(err.Error(), "seed") {
		t.Fatalf("open with another seed: %v", err)
	}
	// The same seed file opens it again, and a loose mode is tightened.
	os.Chmod(seedFile, 0o644)
	if _, err := Open(Config{DB: db, SeedFile: seedFile, Params: w.cfg.Params,
		Chain: w.cfg.Chain}); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(seedFile); fi.Mode().Perm() != 0o600 {
		t.Fatalf("seed file mode %o after open, want 600", fi.Mode().Perm())
	}

	bad := []struct{ name, content string }{
		{"not hex", "zz"},
		{"too short", "0011"},
		{"too long", strings.Repeat("00", 65)},
		{"empty", ""},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "seed")
			os.WriteFile(f, []byte(tc.content), 0o600)
			if _, err := Open(Config{DB: db, SeedFile: f, Params: w.cfg.Params,
				Chain: w.cfg.Chain}); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestOpenConfig(t *testing.T) {
	params := &chaincfg.RegressionNetParams
	chain := newFakeChain(params)
	db, err := bbolt.Open(filepath.Join(t.TempDir(), "db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	seed := filepath.Join(t.TempDir(), "seed")
	for _, cfg := range []Config{
		{SeedFile: seed, Params: params, Chain: chain},
		{DB: db, Params: params, Chain: chain},
		{DB: db, SeedFile: seed, Chain: chain},
		{DB: db, SeedFile: seed, Params: params},
		{DB: db, SeedFile: filepath.Join(t.TempDir(), "missing", "seed"), Params: params, Chain: chain},
	} {
		if _, err := Open(cfg); err == nil {
			t.Errorf("config %+v accepted", cfg)
		}
	}
}
