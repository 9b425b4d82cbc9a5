package wallet

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/btcutil/hdkeychain"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/txscript"
)

// KeyFamily groups the keys of one purpose under their own BIP32 branch,
// m/1017'/coin'/family'/0/index, so that every channel key can be derived
// again from the seed alone.
type KeyFamily uint32

// Key families. The numbers are part of the on-disk contract: changing one
// changes every key derived under it.
const (
	KeyFamilyMultiSig       KeyFamily = 0 // funding output 2-of-2 keys
	KeyFamilyRevocationBase KeyFamily = 1
	KeyFamilyHtlcBase       KeyFamily = 2
	KeyFamilyPaymentBase    KeyFamily = 3
	KeyFamilyDelayBase      KeyFamily = 4
	KeyFamilyRevocationRoot KeyFamily = 5 // per-commitment secret seeds
	KeyFamilyNodeKey        KeyFamily = 6 // index 0 is the node identity
)

// KeyLocator names one key: its family and its index in the family.
type KeyLocator struct {
	Family KeyFamily
	Index  uint32
}

func (l KeyLocator) String() string {
	return fmt.Sprintf("family %d index %d", l.Family, l.Index)
}

// BIP32 purposes.
const (
	purposeWallet   = 84   // BIP84: P2WPKH wallet addresses
	purposeKeyRings = 1017 // channel key families
)

// Address branches under m/84'/coin'/0'.
const (
	branchExternal byte = 0 // addresses handed out by NewAddress
	branchInternal byte = 1 // change
)

// seedLen is the length of a newly generated seed.
const seedLen = 32

// loadOrCreateSeed reads the hex seed in path, or writes a fresh one there
// (mode 0600, synced to disk with its directory entry) if the file does not
// exist. created reports the second case.
func loadOrCreateSeed(path string) (seed []byte, created bool, err error) {
	seed, err = readSeed(path)
	if err == nil {
		return seed, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	seed = make([]byte, seedLen)
	if _, err := rand.Read(seed); err != nil {
		return nil, false, fmt.Errorf("generate seed: %w", err)
	}
	if err := writeSeed(path, seed); err != nil {
		return nil, false, err
	}
	return seed, true, nil
}

func readSeed(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		// A seed readable by others is already a leak; tighten it so
		// that it does not stay one.
		if err := os.Chmod(path, 0o600); err != nil {
			return nil, fmt.Errorf("restrict seed file mode: %w", err)
		}
	}
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	seed, err := hex.DecodeString(string(bytes.TrimSpace(text)))
	if err != nil {
		return nil, fmt.Errorf("seed file %s: not hex", path)
	}
	if len(seed) < hdkeychain.MinSeedBytes || len(seed) > hdkeychain.MaxSeedBytes {
		return nil, fmt.Errorf("seed file %s: seed of %d bytes, want %d to %d",
			path, len(seed), hdkeychain.MinSeedBytes, hdkeychain.MaxSeedBytes)
	}
	return seed, nil
}

func writeSeed(path string, seed []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create seed file: %w", err)
	}
	_, werr := f.WriteString(hex.EncodeToString(seed) + "\n")
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(path)
		return fmt.Errorf("write seed file: %w", werr)
	}
	// The file must survive a crash right after creation: the first
	// address handed out already depends on it.
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// keyring derives every key of the wallet from the master key. The
// hardened levels are derived once; the non-hardened leaves on demand.
type keyring struct {
	params   *chaincfg.Params
	seedID   []byte                     // hash160 of the master public key
	branches [2]*hdkeychain.ExtendedKey // m/84'/coin'/0'/{0,1}

	mu       sync.Mutex
	families map[KeyFamily]*hdkeychain.ExtendedKey // m/1017'/coin'/family'/0
	master   *hdkeychain.ExtendedKey
}

func newKeyring(seed []byte, params *chaincfg.Params) (*keyring, error) {
	master, err := hdkeychain.NewMaster(seed, params)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	pub, err := master.ECPubKey()
	if err != nil {
		return nil, err
	}
	kr := &keyring{
		params:   params,
		seedID:   btcutil.Hash160(pub.SerializeCompressed()),
		families: make(map[KeyFamily]*hdkeychain.ExtendedKey),
		master:   master,
	}
	account, err := derivePath(master, hardened(purposeWallet),
		hardened(params.HDCoinType), hardened(0))
	if err != nil {
		return nil, err
	}
	for _, br := range []byte{branchExternal, branchInternal} {
		if kr.branches[br], err = account.Derive(uint32(br)); err != nil {
			return nil, err
		}
	}
	return kr, nil
}

func hardened(i uint32) uint32 { return hdkeychain.HardenedKeyStart + i }

func derivePath(k *hdkeychain.ExtendedKey, path ...uint32) (*hdkeychain.ExtendedKey, error) {
	var err error
	for _, i := range path {
		if k, err = k.Derive(i); err != nil {
			return nil, fmt.Errorf("derive child %d: %w", i, err)
		}
	}
	return k, nil
}

// addressKey is the private key of m/84'/coin'/0'/branch/index.
func (kr *keyring) addressKey(branch byte, index uint32) (*btcec.PrivateKey, error) {
	if int(branch) >= len(kr.branches) || index >= hdkeychain.HardenedKeyStart {
		return nil, fmt.Errorf("address key %d/%d out of range", branch, index)
	}
	child, err := kr.branches[branch].Derive(index)
	if err != nil {
		return nil, fmt.Errorf("derive address key %d/%d: %w", branch, index, err)
	}
	return child.ECPrivKey()
}

// addressScript is the P2WPKH script of m/84'/coin'/0'/branch/index.
func (kr *keyring) addressScript(branch byte, index uint32) (btcutil.Address, []byte, error) {
	priv, err := kr.addressKey(branch, index)
	if err != nil {
		return nil, nil, err
	}
	addr, err := btcutil.NewAddressWitnessPubKeyHash(
		btcutil.Hash160(priv.PubKey().SerializeCompressed()), kr.params)
	if err != nil {
		return nil, nil, err
	}
	script, err := txscript.PayToAddrScript(addr)
	if err != nil {
		return nil, nil, err
	}
	return addr, script, nil
}

// familyKey is the private key of m/1017'/coin'/family'/0/index.
func (kr *keyring) familyKey(loc KeyLocator) (*btcec.PrivateKey, error) {
	if uint32(loc.Family) >= hdkeychain.HardenedKeyStart ||
		loc.Index >= hdkeychain.HardenedKeyStart {
		return nil, fmt.Errorf("key locator %s out of range", loc)
	}
	kr.mu.Lock()
	branch, ok := kr.families[loc.Family]
	if !ok {
		var err error
		branch, err = derivePath(kr.master, hardened(purposeKeyRings),
			hardened(kr.params.HDCoinType), hardened(uint32(loc.Family)), 0)
		if err != nil {
			kr.mu.Unlock()
			return nil, fmt.Errorf("derive key family %d: %w", loc.Family, err)
		}
		kr.families[loc.Family] = branch
	}
	kr.mu.Unlock()
	child, err := branch.Derive(loc.Index)
	if err != nil {
		return nil, fmt.Errorf("derive key %s: %w", loc, err)
	}
	return child.ECPrivKey()
}
