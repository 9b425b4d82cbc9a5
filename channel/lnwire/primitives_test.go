package lnwire

import (
	"crypto/sha256"
	"errors"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/ecdsa"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

func TestNewChannelID(t *testing.T) {
	var txid chainhash.Hash
	for i := range txid {
		txid[i] = byte(i)
	}
	tests := []struct {
		index    uint32
		last2    [2]byte
		sameHead bool
	}{
		{0, [2]byte{30, 31}, true},
		{1, [2]byte{30, 31 ^ 1}, true},
		{0x0102, [2]byte{30 ^ 1, 31 ^ 2}, true},
		{0xffff, [2]byte{30 ^ 0xff, 31 ^ 0xff}, true},
	}
	for _, tc := range tests {
		cid := NewChannelID(wire.OutPoint{Hash: txid, Index: tc.index})
		if cid[30] != tc.last2[0] || cid[31] != tc.last2[1] {
			t.Errorf("index %d: last bytes %x", tc.index, cid[30:])
		}
		for i := 0; i < 30; i++ {
			if cid[i] != txid[i] {
				t.Fatalf("index %d: byte %d changed", tc.index, i)
			}
		}
	}
	if !(ChannelID{}).IsZero() || NewChannelID(wire.OutPoint{Hash: txid}).IsZero() {
		t.Error("IsZero")
	}
}

func TestShortChannelID(t *testing.T) {
	// BOLT 1 Appendix B: 0x0000000000000226 is 0x0x550.
	if s := NewShortChanIDFromInt(0x226); s.String() != "0x0x550" {
		t.Errorf("got %s", s)
	}
	s := ShortChannelID{BlockHeight: 700000, TxIndex: 1234, TxPosition: 1}
	if got := NewShortChanIDFromInt(s.ToUint64()); got != s {
		t.Errorf("round trip %v", got)
	}
	if s.ToUint64() != 700000<<40|1234<<16|1 {
		t.Errorf("packing %x", s.ToUint64())
	}
	p, err := ParseShortChannelID("700000x1234x1")
	if err != nil || p != s {
		t.Errorf("parse: %v %v", p, err)
	}
	for _, bad := range []string{"", "1x2", "1x2x3x4", "ax1x1", "16777216x0x0", "0x16777216x0", "0x0x65536", "-1x0x0"} {
		if _, err := ParseShortChannelID(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestSigConversion(t *testing.T) {
	priv, _ := btcec.PrivKeyFromBytes([]byte("flash lnwire signature test key"))
	hash := sha256.Sum256([]byte("message"))
	sig := ecdsa.Sign(priv, hash[:])
	wireSig, err := NewSigFromECDSA(sig)
	if err != nil {
		t.Fatal(err)
	}
	back, err := wireSig.ToECDSA()
	if err != nil {
		t.Fatal(err)
	}
	if !back.IsEqual(sig) || !back.Verify(hash[:], priv.PubKey()) {
		t.Fatal("converted signature differs or does not verify")
	}

	if !wireSig.IsLowS() {
		t.Error("btcec signatures are low-S")
	}
	high := wireSig
	var sv btcec.ModNScalar
	sv.SetByteSlice(high[32:])
	sv.Negate()
	sv.PutBytesUnchecked(high[32:])
	if high.IsLowS() {
		t.Error("negated s reported low")
	}
	if hs, err := high.ToECDSA(); err != nil || !hs.Verify(hash[:], priv.PubKey()) {
		t.Error("high-S form must still convert and verify")
	}

	n := mustHex(t, "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141")
	valid := wireSig
	cases := map[string]func(s *Sig){
		"r zero": func(s *Sig) { clear(s[:32]) },
		"s zero": func(s *Sig) { clear(s[32:]) },
		"r = N":  func(s *Sig) { copy(s[:32], n) },
		"s = N":  func(s *Sig) { copy(s[32:], n) },
		"r max":  func(s *Sig) { fill(s[:32], 0xff) },
		"s max":  func(s *Sig) { fill(s[32:], 0xff) },
	}
	for name, mutate := range cases {
		s := valid
		mutate(&s)
		if _, err := s.ToECDSA(); !errors.Is(err, ErrInvalidSig) {
			t.Errorf("%s: error %v", name, err)
		}
	}
	if _, err := NewSigFromECDSA(nil); err == nil {
		t.Error("nil signature converted")
	}
}

func fill(b []byte, v byte) {
	for i := range b {
		b[i] = v
	}
}

func TestMilliSatoshi(t *testing.T) {
	if NewMSatFromSatoshis(5) != 5000 || MilliSatoshi(5999).ToSatoshis() != 5 {
		t.Error("conversion")
	}
	if MilliSatoshi(1500).String() != "1500 mSAT" {
		t.Error(MilliSatoshi(1500).String())
	}
}
