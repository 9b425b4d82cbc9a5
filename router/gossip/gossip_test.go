package gossip

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math/rand"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
	"github.com/flash-ln/flash/channel/lnwire"
)

// testKey derives a deterministic private key from a small integer.
func testKey(t testing.TB, n byte) *btcec.PrivateKey {
	t.Helper()
	var b [32]byte
	b[31] = n
	b[0] = 0x11
	k, _ := btcec.PrivKeyFromBytes(b[:])
	return k
}

var testNow = time.Unix(1_700_000_000, 0)

var testChain = lnwire.ChainHash{0x06, 0x22, 0x6e, 0x46}

// randomMessages returns one message of each type with random fields.
func randomMessages(t testing.TB, rng *rand.Rand) []lnwire.Message {
	t.Helper()
	rb := func(n int) []byte {
		b := make([]byte, n)
		rng.Read(b)
		return b
	}
	var sig lnwire.Sig
	rng.Read(sig[:])
	id := func() NodeID { return NewNodeID(testKey(t, byte(rng.Intn(250)+1)).PubKey()) }
	scid := lnwire.NewShortChanIDFromInt(rng.Uint64())
	var chain lnwire.ChainHash
	rng.Read(chain[:])
	extra := func() []byte {
		if rng.Intn(2) == 0 {
			return nil
		}
		return rb(rng.Intn(20) + 1)
	}
	na := &NodeAnnouncement{
		Signature: sig, RawFeatures: rb(rng.Intn(4)), Timestamp: rng.Uint32(),
		NodeID: id(), RGBColor: [3]byte{1, 2, 3}, ExtraData: extra(),
	}
	na.SetAlias("node-" + strings.Repeat("x", rng.Intn(40)))
	na.RawAddresses = rb(rng.Intn(30))
	var cid lnwire.ChannelID
	rng.Read(cid[:])
	ids := make([]lnwire.ShortChannelID, rng.Intn(5))
	for i := range ids {
		ids[i] = lnwire.NewShortChanIDFromInt(rng.Uint64())
	}
	var flags []uint64
	if rng.Intn(2) == 0 {
		flags = make([]uint64, len(ids))
		for i := range flags {
			flags[i] = uint64(rng.Intn(300))
		}
	}
	var opt *uint64
	if rng.Intn(2) == 0 {
		v := uint64(rng.Intn(4))
		opt = &v
	}
	pairs := func() []ChannelUpdatePair {
		if rng.Intn(2) == 0 {
			return nil
		}
		ps := make([]ChannelUpdatePair, len(ids))
		for i := range ps {
			ps[i] = ChannelUpdatePair{rng.Uint32(), rng.Uint32()}
		}
		return ps
	}
	records := func() lnwire.RawRecords {
		if rng.Intn(2) == 0 {
			return nil
		}
		return lnwire.RawRecords{uint64(5 + 2*rng.Intn(100)): rb(rng.Intn(5))}
	}
	return []lnwire.Message{
		&ChannelAnnouncement{
			NodeSig1: sig, NodeSig2: sig, BitcoinSig1: sig, BitcoinSig2: sig,
			RawFeatures: rb(rng.Intn(4)), ChainHash: chain, ShortChannelID: scid,
			NodeID1: id(), NodeID2: id(), BitcoinKey1: id(), BitcoinKey2: id(),
			ExtraData: extra(),
		},
		na,
		&ChannelUpdate{
			Signature: sig, ChainHash: chain, ShortChannelID: scid,
			Timestamp: rng.Uint32(), MessageFlags: MessageFlags(rng.Intn(256)),
			ChannelFlags: ChannelFlags(rng.Intn(256)), CltvExpiryDelta: uint16(rng.Uint32()),
			HTLCMinimumMsat: lnwire.MilliSatoshi(rng.Uint64()), FeeBaseMsat: rng.Uint32(),
			FeeProportionalMillionths: rng.Uint32(),
			HTLCMaximumMsat:           lnwire.MilliSatoshi(rng.Uint64()), ExtraData: extra(),
		},
		&AnnouncementSignatures{
			ChannelID: cid, ShortChannelID: scid, NodeSignature: sig,
			BitcoinSignature: sig, ExtraData: extra(),
		},
		&GossipTimestampFilter{
			ChainHash: chain, FirstTimestamp: rng.Uint32(), TimestampRange: rng.Uint32(),
			ExtraData: extra(),
		},
		&QueryShortChanIDs{ChainHash: chain, ShortChanIDs: ids, QueryFlags: flags, ExtraRecords: records()},
		&ReplyShortChanIDsEnd{ChainHash: chain, FullInformation: rng.Intn(2) == 0, ExtraRecords: records()},
		&QueryChannelRange{ChainHash: chain, FirstBlocknum: rng.Uint32(), NumberOfBlocks: rng.Uint32(),
			QueryOption: opt, ExtraRecords: records()},
		&ReplyChannelRange{ChainHash: chain, FirstBlocknum: rng.Uint32(), NumberOfBlocks: rng.Uint32(),
			SyncComplete: rng.Intn(2) == 0, ShortChanIDs: ids, Timestamps: pairs(), Checksums: pairs(),
			ExtraRecords: records()},
	}
}

func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 10; i++ {
		for _, msg := range randomMessages(t, rng) {
			raw, err := lnwire.EncodeMessage(msg)
			if err != nil {
				t.Fatalf("%T: encode: %v", msg, err)
			}
			got, err := ParseMessage(raw)
			if err != nil {
				t.Fatalf("%T: decode: %v", msg, err)
			}
			if !reflect.DeepEqual(got, msg) {
				t.Fatalf("%T: round trip\n got %+v\nwant %+v", msg, got, msg)
			}
			// Every truncation inside the fixed fields must fail.
			fixed := len(raw) - len(extraOf(msg))
			for n := 2; n < fixed; n++ {
				if _, err := ParseMessage(raw[:n]); err == nil {
					t.Fatalf("%T: prefix of %d/%d bytes decoded", msg, n, fixed)
				}
			}
		}
	}
}

func extraOf(m lnwire.Message) []byte {
	switch m := m.(type) {
	case *ChannelAnnouncement:
		return m.ExtraData
	case *NodeAnnouncement:
		return m.ExtraData
	case *ChannelUpdate:
		return m.ExtraData
	case *AnnouncementSignatures:
		return m.ExtraData
	case *GossipTimestampFilter:
		return m.ExtraData
	case *QueryShortChanIDs, *ReplyShortChanIDsEnd, *QueryChannelRange, *ReplyChannelRange:
		// A TLV stream: measure it on a copy without the records.
		var b bytes.Buffer
		_ = m.Encode(&b)
		full := b.Len()
		c := NewMessage(m.MsgType())
		if err := c.Decode(bytes.NewReader(b.Bytes())); err != nil {
			panic(err)
		}
		clearRecords(c)
		b.Reset()
		_ = c.Encode(&b)
		return make([]byte, full-b.Len())
	}
	return nil
}

// TestChannelUpdateLayout pins the byte layout of channel_update to the
// field list of BOLT 7, written out by hand.
func TestChannelUpdateLayout(t *testing.T) {
	var sig lnwire.Sig
	for i := range sig {
		sig[i] = 0xaa
	}
	var chain lnwire.ChainHash
	for i := range chain {
		chain[i] = 0xcc
	}
	u := &ChannelUpdate{
		Signature:                 sig,
		ChainHash:                 chain,
		ShortChannelID:            lnwire.ShortChannelID{BlockHeight: 0x010203, TxIndex: 0x040506, TxPosition: 0x0708},
		Timestamp:                 0x5f5e1000,
		MessageFlags:              MsgFlagMustBeOne,
		ChannelFlags:              ChanFlagDirection | ChanFlagDisabled,
		CltvExpiryDelta:           144,
		HTLCMinimumMsat:           1000,
		FeeBaseMsat:               1000,
		FeeProportionalMillionths: 1,
		HTLCMaximumMsat:           990000000,
	}
	want := "0102" + strings.Repeat("aa", 64) + strings.Repeat("cc", 32) +
		"0102030405060708" + "5f5e1000" + "01" + "03" + "0090" +
		"00000000000003e8" + "000003e8" + "00000001" + "000000003b023380"
	raw, err := lnwire.EncodeMessage(u)
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(raw); got != want {
		t.Fatalf("encoding\n got %s\nwant %s", got, want)
	}
	if len(raw) != 2+136 {
		t.Fatalf("channel_update is %d bytes, BOLT 7 says 138", len(raw))
	}
}

func TestDecodeRejectsInvalidKey(t *testing.T) {
	m := randomMessages(t, rand.New(rand.NewSource(2)))[0].(*ChannelAnnouncement)
	raw, _ := lnwire.EncodeMessage(m)
	// node_id_1 starts after type, 4 signatures, features and chain/scid.
	off := 2 + 4*64 + 2 + len(m.RawFeatures) + 32 + 8
	raw[off] = 0x04
	if _, err := ParseMessage(raw); !errors.Is(err, lnwire.ErrInvalidPubKey) {
		t.Fatalf("got %v, want ErrInvalidPubKey", err)
	}
}

// signedChannel returns a fully signed announcement and the four keys.
func signedChannel(t *testing.T) (*ChannelAnnouncement, [4]*btcec.PrivateKey) {
	t.Helper()
	keys := [4]*btcec.PrivateKey{testKey(t, 1), testKey(t, 2), testKey(t, 3), testKey(t, 4)}
	a := NewChannelAnnouncement(testChain, lnwire.ShortChannelID{BlockHeight: 101, TxIndex: 1},
		nil, NewNodeID(keys[0].PubKey()), NewNodeID(keys[1].PubKey()),
		NewNodeID(keys[2].PubKey()), NewNodeID(keys[3].PubKey()))
	if _, _, err := a.Sign(keys[0], keys[2]); err != nil {
		t.Fatal(err)
	}
	// The other side signs its own copy and sends announcement_signatures.
	peer := *a
	ns, bs, err := peer.Sign(keys[1], keys[3])
	if err != nil {
		t.Fatal(err)
	}
	as := &AnnouncementSignatures{ShortChannelID: a.ShortChannelID, NodeSignature: ns, BitcoinSignature: bs}
	if err := a.AddPeerSignatures(as, NewNodeID(keys[1].PubKey())); err != nil {
		t.Fatal(err)
	}
	return a, keys
}

func TestChannelAnnouncementSignatures(t *testing.T) {
	a, keys := signedChannel(t)
	if err := ValidateChannelAnnouncement(a, testChain); err != nil {
		t.Fatalf("valid announcement rejected: %v", err)
	}
	// Through the wire and back, the signatures still hold.
	raw, _ := lnwire.EncodeMessage(a)
	dec, err := ParseMessage(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := ValidateChannelAnnouncement(dec.(*ChannelAnnouncement), testChain); err != nil {
		t.Fatalf("decoded announcement rejected: %v", err)
	}

	tests := []struct {
		name   string
		mutate func(*ChannelAnnouncement)
		want   error
	}{
		{"wrong chain", func(m *ChannelAnnouncement) { m.ChainHash[0] ^= 1 }, ErrWrongChain},
		{"swapped nodes", func(m *ChannelAnnouncement) { m.NodeID1, m.NodeID2 = m.NodeID2, m.NodeID1 }, ErrNodeOrder},
		{"forged node sig", func(m *ChannelAnnouncement) { m.NodeSig2[40] ^= 1 }, ErrBadSignature},
		{"forged bitcoin sig", func(m *ChannelAnnouncement) { m.BitcoinSig1 = m.BitcoinSig2 }, ErrBadSignature},
		{"zero sig", func(m *ChannelAnnouncement) { m.NodeSig1 = lnwire.Sig{} }, ErrBadSignature},
		{"changed scid", func(m *ChannelAnnouncement) { m.ShortChannelID.TxPosition++ }, ErrBadSignature},
		{"appended data", func(m *ChannelAnnouncement) { m.ExtraData = []byte{1} }, ErrBadSignature},
		{"foreign key", func(m *ChannelAnnouncement) { m.BitcoinKey2 = NewNodeID(keys[0].PubKey()) }, ErrBadSignature},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := *a
			tc.mutate(&m)
			err := ValidateChannelAnnouncement(&m, testChain)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}

	// announcement_signatures from a stranger or with a bad signature.
	bad := &AnnouncementSignatures{ShortChannelID: a.ShortChannelID, NodeSignature: a.NodeSig1, BitcoinSignature: a.BitcoinSig1}
	if err := a.AddPeerSignatures(bad, a.NodeID2); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("swapped announcement_signatures: got %v", err)
	}
	if err := a.AddPeerSignatures(bad, NewNodeID(keys[2].PubKey())); err == nil {
		t.Fatal("announcement_signatures from a stranger accepted")
	}
	if _, _, err := a.Sign(keys[0], keys[3]); err == nil {
		t.Fatal("signing with mismatched keys accepted")
	}
}

func TestNodeAnnouncementSignature(t *testing.T) {
	key := testKey(t, 7)
	now := time.Unix(1_700_000_000, 0)
	na := &NodeAnnouncement{Timestamp: uint32(now.Unix()), NodeID: NewNodeID(key.PubKey()), RGBColor: [3]byte{0xff, 0, 0x80}}
	na.SetAlias("flash-node ⚡")
	if err := na.SetAddresses([]lnwire.Address{{Type: lnwire.AddrHostname, Hostname: "localhost", Port: 9735}}); err != nil {
		t.Fatal(err)
	}
	if err := na.Sign(key); err != nil {
		t.Fatal(err)
	}
	if err := ValidateNodeAnnouncement(na, now); err != nil {
		t.Fatalf("valid node_announcement rejected: %v", err)
	}
	if got := na.AliasString(); got != "flash-node ⚡" {
		t.Fatalf("alias %q", got)
	}
	if err := na.Sign(testKey(t, 8)); err == nil {
		t.Fatal("signed with a foreign key")
	}

	tests := []struct {
		name   string
		mutate func(*NodeAnnouncement)
		want   error
	}{
		{"forged", func(m *NodeAnnouncement) { m.Alias[0] ^= 1 }, ErrBadSignature},
		{"other key", func(m *NodeAnnouncement) { m.NodeID = NewNodeID(testKey(t, 8).PubKey()) }, ErrBadSignature},
		{"far future", func(m *NodeAnnouncement) {
			m.Timestamp = uint32(now.Add(2 * MaxFutureSkew).Unix())
			_ = m.Sign(key)
		}, ErrFarFuture},
		{"truncated address", func(m *NodeAnnouncement) {
			m.RawAddresses = []byte{1, 127, 0, 0}
			_ = m.Sign(key)
		}, ErrBadAddresses},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := *na
			tc.mutate(&m)
			if err := ValidateNodeAnnouncement(&m, now); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestAliasTruncation(t *testing.T) {
	var na NodeAnnouncement
	na.SetAlias(strings.Repeat("é", 20)) // 40 bytes
	if got := na.AliasString(); got != strings.Repeat("é", 16) {
		t.Fatalf("alias %q", got)
	}
	na.Alias = [AliasSize]byte{0xff, 'a'}
	if got := na.AliasString(); got != "\uFFFDa" {
		t.Fatalf("invalid UTF-8 alias shown as %q", got)
	}
}

func TestChannelUpdateSignature(t *testing.T) {
	key := testKey(t, 9)
	pub := NewNodeID(key.PubKey())
	now := time.Unix(1_700_000_000, 0)
	u := &ChannelUpdate{
		ChainHash: testChain, ShortChannelID: lnwire.ShortChannelID{BlockHeight: 5, TxIndex: 1},
		Timestamp: uint32(now.Unix()), MessageFlags: MsgFlagMustBeOne, ChannelFlags: ChanFlagDirection,
		CltvExpiryDelta: 40, HTLCMinimumMsat: 1, FeeBaseMsat: 1000, FeeProportionalMillionths: 100,
		HTLCMaximumMsat: 1_000_000,
	}
	if err := u.Sign(key); err != nil {
		t.Fatal(err)
	}
	if !u.Signature.IsLowS() {
		t.Fatal("high-S signature")
	}
	if err := ValidateChannelUpdate(u, pub, testChain, now); err != nil {
		t.Fatalf("valid update rejected: %v", err)
	}
	if u.ChannelFlags.Direction() != 1 || u.ChannelFlags.IsDisabled() {
		t.Fatal("flags misread")
	}
	tests := []struct {
		name   string
		mutate func(*ChannelUpdate)
		pub    NodeID
		want   error
	}{
		{"fee raised", func(m *ChannelUpdate) { m.FeeBaseMsat++ }, pub, ErrBadSignature},
		{"disabled by a relay", func(m *ChannelUpdate) { m.ChannelFlags |= ChanFlagDisabled }, pub, ErrBadSignature},
		{"wrong node", func(m *ChannelUpdate) {}, NewNodeID(testKey(t, 10).PubKey()), ErrBadSignature},
		{"wrong chain", func(m *ChannelUpdate) { m.ChainHash = lnwire.ChainHash{} }, pub, ErrWrongChain},
		{"far future", func(m *ChannelUpdate) {
			m.Timestamp = uint32(now.Add(MaxFutureSkew + time.Second).Unix())
			_ = m.Sign(key)
		}, pub, ErrFarFuture},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := *u
			tc.mutate(&m)
			if err := ValidateChannelUpdate(&m, tc.pub, testChain, now); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	// A malleated copy (s replaced by N-s) of a valid signature still
	// verifies: BOLT 7 warns that relays may do this, and it must not be
	// taken for a forgery.
	m := *u
	var sv btcec.ModNScalar
	sv.SetByteSlice(m.Signature[32:])
	sv.Negate()
	sv.PutBytesUnchecked(m.Signature[32:])
	if m.Signature.IsLowS() {
		t.Fatal("negated s is still low")
	}
	if err := ValidateChannelUpdate(&m, pub, testChain, now); err != nil {
		t.Fatalf("malleated signature rejected: %v", err)
	}
	if !u.SamePolicy(&m) {
		t.Fatal("SamePolicy")
	}
}

type fakeChain struct {
	txid  chainhash.Hash
	utxos map[wire.OutPoint]*wire.TxOut
}

func (c *fakeChain) TxIDAt(height, index uint32) (chainhash.Hash, error) {
	if height != 101 || index != 1 {
		return chainhash.Hash{}, errors.New("no such transaction")
	}
	return c.txid, nil
}

func (c *fakeChain) lookup(op wire.OutPoint) (*wire.TxOut, error) { return c.utxos[op], nil }

func TestValidateFunding(t *testing.T) {
	a, _ := signedChannel(t)
	pk, err := FundingPkScript(a.BitcoinKey2, a.BitcoinKey1)
	if err != nil {
		t.Fatal(err)
	}
	chain := &fakeChain{txid: chainhash.Hash{9}}
	op := wire.OutPoint{Hash: chain.txid, Index: 0}
	chain.utxos = map[wire.OutPoint]*wire.TxOut{op: {Value: 1_000_000, PkScript: pk}}

	f, err := ValidateFunding(a, chain, chain.lookup)
	if err != nil {
		t.Fatal(err)
	}
	if f.OutPoint != op || f.Capacity != 1_000_000 {
		t.Fatalf("funding %+v", f)
	}

	m := *a
	m.ShortChannelID.TxPosition = 1
	if _, err := ValidateFunding(&m, chain, chain.lookup); !errors.Is(err, ErrFundingMissing) {
		t.Fatalf("missing output: %v", err)
	}
	m = *a
	m.ShortChannelID.BlockHeight = 7
	if _, err := ValidateFunding(&m, chain, chain.lookup); !errors.Is(err, ErrFundingMissing) {
		t.Fatalf("missing block: %v", err)
	}
	m = *a
	m.BitcoinKey1 = a.NodeID1
	if _, err := ValidateFunding(&m, chain, chain.lookup); !errors.Is(err, ErrFundingScript) {
		t.Fatalf("other keys: %v", err)
	}
	delete(chain.utxos, op) // spent
	if _, err := ValidateFunding(a, chain, chain.lookup); !errors.Is(err, ErrFundingMissing) {
		t.Fatalf("spent output: %v", err)
	}
	boom := errors.New("disk on fire")
	_, err = ValidateFunding(a, chain, func(wire.OutPoint) (*wire.TxOut, error) { return nil, boom })
	if !errors.Is(err, boom) || errors.Is(err, ErrFundingMissing) {
		t.Fatalf("lookup failure: %v", err)
	}
}

func TestFundingScriptMatchesBOLT3(t *testing.T) {
	// BOLT 3 Appendix B: funding witness script for the test keys.
	k1, _ := ParseNodeID("023da092f6980e58d2c037173180e9a465476026ee50f96695963e8efe436f54eb")
	k2, _ := ParseNodeID("030e9f7b623d2ccc7c9bd44d66d5ce21ce504c0acf6385a132cec6d3c39fa711c1")
	want := "5221023da092f6980e58d2c037173180e9a465476026ee50f96695963e8efe436f54eb21030e9f7b623d2ccc7c9bd44d66d5ce21ce504c0acf6385a132cec6d3c39fa711c152ae"
	for _, order := range [][2]NodeID{{k1, k2}, {k2, k1}} {
		s, err := FundingScript(order[0], order[1])
		if err != nil {
			t.Fatal(err)
		}
		if hex.EncodeToString(s) != want {
			t.Fatalf("script %x", s)
		}
	}
}

func TestTimestampFilter(t *testing.T) {
	f := &GossipTimestampFilter{FirstTimestamp: 100, TimestampRange: ^uint32(0)}
	for ts, want := range map[uint32]bool{99: false, 100: true, ^uint32(0): true} {
		if f.Contains(ts) != want {
			t.Errorf("Contains(%d) != %v", ts, want)
		}
	}
	f.TimestampRange = 0
	if f.Contains(100) {
		t.Error("empty range contains its start")
	}
}

func TestParseMessagePassesOtherTypes(t *testing.T) {
	raw, _ := lnwire.EncodeMessage(&lnwire.Ping{NumPongBytes: 4})
	m, err := ParseMessage(raw)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.(*lnwire.Ping); !ok {
		t.Fatalf("got %T", m)
	}
	if _, err := ParseMessage([]byte{1}); err == nil {
		t.Fatal("one byte parsed")
	}
	if _, err := ParseMessage(bytes.Repeat([]byte{1}, lnwire.MaxMessageSize+1)); err == nil {
		t.Fatal("oversized message parsed")
	}
}

// clearRecords strips the TLV records of a query message.
func clearRecords(m lnwire.Message) {
	switch m := m.(type) {
	case *QueryShortChanIDs:
		m.QueryFlags, m.ExtraRecords = nil, nil
	case *ReplyShortChanIDsEnd:
		m.ExtraRecords = nil
	case *QueryChannelRange:
		m.QueryOption, m.ExtraRecords = nil, nil
	case *ReplyChannelRange:
		m.Timestamps, m.Checksums, m.ExtraRecords = nil, nil, nil
	}
}

// TestQueryLayout pins the layout of the query messages, TLVs included,
// to the field lists of BOLT 7, written out by hand.
func TestQueryLayout(t *testing.T) {
	chain := strings.Repeat("cc", 32)
	var ch lnwire.ChainHash
	for i := range ch {
		ch[i] = 0xcc
	}
	id := func(v uint64) lnwire.ShortChannelID { return lnwire.NewShortChanIDFromInt(v) }
	opt := uint64(QueryOptionTimestamps | QueryOptionChecksums)
	tests := []struct {
		msg  lnwire.Message
		want string
	}{
		{&QueryShortChanIDs{ChainHash: ch, ShortChanIDs: []lnwire.ShortChannelID{id(1), id(0x0102)},
			QueryFlags: []uint64{QueryFlagAnnouncement, 0xfd}},
			"0105" + chain + "0011" + "00" + "0000000000000001" + "0000000000000102" +
				"01" + "05" + "00" + "01" + "fd00fd"},
		{&ReplyShortChanIDsEnd{ChainHash: ch, FullInformation: true}, "0106" + chain + "01"},
		{&QueryChannelRange{ChainHash: ch, FirstBlocknum: 100, NumberOfBlocks: 10, QueryOption: &opt},
			"0107" + chain + "00000064" + "0000000a" + "0101" + "03"},
		{&ReplyChannelRange{ChainHash: ch, FirstBlocknum: 100, NumberOfBlocks: 10, SyncComplete: true,
			ShortChanIDs: []lnwire.ShortChannelID{id(7)}, Timestamps: []ChannelUpdatePair{{1, 2}},
			Checksums: []ChannelUpdatePair{{3, 4}}},
			"0108" + chain + "00000064" + "0000000a" + "01" + "0009" + "00" + "0000000000000007" +
				"0109" + "00" + "00000001" + "00000002" + "0308" + "00000003" + "00000004"},
		{&GossipTimestampFilter{ChainHash: ch, FirstTimestamp: 1, TimestampRange: 0xffffffff},
			"0109" + chain + "00000001" + "ffffffff"},
	}
	for _, tc := range tests {
		raw, err := lnwire.EncodeMessage(tc.msg)
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(raw); got != tc.want {
			t.Errorf("%T\n got %s\nwant %s", tc.msg, got, tc.want)
		}
	}
}

func TestQueryRejects(t *testing.T) {
	chain := strings.Repeat("00", 32)
	bad := []string{
		"0105" + chain + "0000",                                                               // no encoding byte
		"0105" + chain + "000101",                                                             // zlib
		"0105" + chain + "000200" + "01",                                                      // partial id
		"0105" + chain + "000900" + "0000000000000001" + "0103" + "000101",                    // two flags for one id
		"0105" + chain + "000100" + "0200",                                                    // unknown even tlv
		"0105" + chain + "000100" + "0300" + "0100",                                           // tlvs out of order
		"0106" + chain + "02",                                                                 // not a boolean
		"0107" + chain + "00000001" + "00000001" + "0102" + "0001",                            // query_option too long
		"0108" + chain + "00000001" + "00000001" + "01" + "0001" + "00" + "0104" + "00000000", // timestamps for no id
	}
	for _, h := range bad {
		raw, _ := hex.DecodeString(h)
		if m, err := ParseMessage(raw); err == nil {
			t.Errorf("%s decoded to %+v", h, m)
		}
	}
}

func TestChannelUpdateChecksum(t *testing.T) {
	u := &ChannelUpdate{ShortChannelID: lnwire.NewShortChanIDFromInt(5), Timestamp: 1, FeeBaseMsat: 7}
	c1, _ := ChannelUpdateChecksum(u)
	u2 := *u
	u2.Timestamp, u2.Signature[0] = 2, 9
	c2, _ := ChannelUpdateChecksum(&u2)
	u2.FeeBaseMsat++
	c3, _ := ChannelUpdateChecksum(&u2)
	if c1 != c2 || c1 == c3 {
		t.Fatalf("checksums %x %x %x", c1, c2, c3)
	}
}
