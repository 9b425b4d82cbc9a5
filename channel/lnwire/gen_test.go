package lnwire

import (
	"math/rand/v2"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
)

// allMessageTypes lists every type NewMessage knows.
var allMessageTypes = []MessageType{
	MsgWarning, MsgInit, MsgError, MsgPing, MsgPong,
	MsgOpenChannel, MsgAcceptChannel, MsgFundingCreated, MsgFundingSigned,
	MsgChannelReady, MsgShutdown, MsgClosingSigned, MsgUpdateAddHTLC,
	MsgUpdateFulfillHTLC, MsgUpdateFailHTLC, MsgUpdateFailMalformedHTLC,
	MsgCommitmentSigned, MsgRevokeAndAck, MsgUpdateFee, MsgChannelReestablish,
}

// gen builds random messages. Values are shaped the way decoding returns
// them (parsed public keys, non-nil empty byte fields), so that a decoded
// copy is reflect.DeepEqual to the original.
type gen struct {
	t   testing.TB
	rng *rand.Rand
}

func newGen(t testing.TB, seed uint64) *gen {
	return &gen{t: t, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

func (g *gen) bytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(g.rng.Uint32())
	}
	return b
}

func (g *gen) b32() (out [32]byte) {
	copy(out[:], g.bytes(32))
	return out
}

func (g *gen) sig() (out Sig) {
	copy(out[:], g.bytes(64))
	return out
}

func (g *gen) u64() uint64 { return g.rng.Uint64() }
func (g *gen) u32() uint32 { return g.rng.Uint32() }
func (g *gen) u16() uint16 { return uint16(g.rng.Uint32()) }
func (g *gen) coin() bool  { return g.rng.IntN(2) == 0 }

func (g *gen) pubKey() *btcec.PublicKey {
	priv, _ := btcec.PrivKeyFromBytes(g.bytes(32))
	pk, err := btcec.ParsePubKey(priv.PubKey().SerializeCompressed())
	if err != nil {
		g.t.Fatal(err)
	}
	return pk
}

func (g *gen) varBytes(max int) []byte { return g.bytes(g.rng.IntN(max + 1)) }

// maybeBytes returns nil (absent) or a possibly empty present value.
func (g *gen) maybeBytes(max int) []byte {
	if g.coin() {
		return nil
	}
	return g.varBytes(max)
}

func (g *gen) features(maxBit int) *FeatureVector {
	fv := NewFeatureVector()
	for i := g.rng.IntN(6); i > 0; i-- {
		fv.Set(FeatureBit(g.rng.IntN(maxBit + 1)))
	}
	return fv
}

// extra returns unknown odd records of types no message defines (>= 5).
func (g *gen) extra() RawRecords {
	n := g.rng.IntN(3)
	if n == 0 {
		return nil
	}
	rr := make(RawRecords, n)
	for range n {
		typ := uint64(5+2*g.rng.IntN(200)) | 1
		if g.coin() {
			typ = 1<<uint(16+g.rng.IntN(48)) | 1
		}
		rr[typ] = g.varBytes(40)
	}
	return rr
}

func (g *gen) message(t MessageType) Message {
	switch t {
	case MsgInit:
		m := &Init{
			GlobalFeatures: *g.features(12),
			Features:       *g.features(60),
			RemoteAddr:     g.maybeBytes(20),
			ExtraRecords:   g.extra(),
		}
		if g.coin() {
			m.Networks = make([]ChainHash, g.rng.IntN(3))
			for i := range m.Networks {
				m.Networks[i] = g.b32()
			}
		}
		return m
	case MsgError:
		return &Error{ChannelID: g.b32(), Data: g.varBytes(100), ExtraRecords: g.extra()}
	case MsgWarning:
		return &Warning{ChannelID: g.b32(), Data: g.varBytes(100), ExtraRecords: g.extra()}
	case MsgPing:
		return &Ping{NumPongBytes: g.u16(), Ignored: g.varBytes(100), ExtraRecords: g.extra()}
	case MsgPong:
		return &Pong{Ignored: g.varBytes(100), ExtraRecords: g.extra()}
	case MsgOpenChannel:
		m := &OpenChannel{
			ChainHash: g.b32(), TemporaryChannelID: g.b32(),
			FundingSatoshis: g.u64(), PushMsat: MilliSatoshi(g.u64()),
			DustLimitSatoshis: g.u64(), MaxHTLCValueInFlightMsat: MilliSatoshi(g.u64()),
			ChannelReserveSatoshis: g.u64(), HTLCMinimumMsat: MilliSatoshi(g.u64()),
			FeeratePerKw: g.u32(), ToSelfDelay: g.u16(), MaxAcceptedHTLCs: g.u16(),
			FundingPubKey: g.pubKey(), RevocationBasepoint: g.pubKey(),
			PaymentBasepoint: g.pubKey(), DelayedPaymentBasepoint: g.pubKey(),
			HTLCBasepoint: g.pubKey(), FirstPerCommitmentPoint: g.pubKey(),
			ChannelFlags: byte(g.u16()), UpfrontShutdownScript: g.maybeBytes(34),
			ExtraRecords: g.extra(),
		}
		if g.coin() {
			m.ChannelType = g.features(50)
		}
		return m
	case MsgAcceptChannel:
		m := &AcceptChannel{
			TemporaryChannelID: g.b32(), DustLimitSatoshis: g.u64(),
			MaxHTLCValueInFlightMsat: MilliSatoshi(g.u64()),
			ChannelReserveSatoshis:   g.u64(), HTLCMinimumMsat: MilliSatoshi(g.u64()),
			MinimumDepth: g.u32(), ToSelfDelay: g.u16(), MaxAcceptedHTLCs: g.u16(),
			FundingPubKey: g.pubKey(), RevocationBasepoint: g.pubKey(),
			PaymentBasepoint: g.pubKey(), DelayedPaymentBasepoint: g.pubKey(),
			HTLCBasepoint: g.pubKey(), FirstPerCommitmentPoint: g.pubKey(),
			UpfrontShutdownScript: g.maybeBytes(34), ExtraRecords: g.extra(),
		}
		if g.coin() {
			m.ChannelType = g.features(50)
		}
		return m
	case MsgFundingCreated:
		return &FundingCreated{
			TemporaryChannelID: g.b32(), FundingTxid: g.b32(),
			FundingOutputIndex: g.u16(), Signature: g.sig(), ExtraRecords: g.extra(),
		}
	case MsgFundingSigned:
		return &FundingSigned{ChannelID: g.b32(), Signature: g.sig(), ExtraRecords: g.extra()}
	case MsgChannelReady:
		m := &ChannelReady{
			ChannelID: g.b32(), SecondPerCommitmentPoint: g.pubKey(), ExtraRecords: g.extra(),
		}
		if g.coin() {
			scid := NewShortChanIDFromInt(g.u64())
			m.Alias = &scid
		}
		return m
	case MsgShutdown:
		return &Shutdown{ChannelID: g.b32(), ScriptPubKey: g.varBytes(42), ExtraRecords: g.extra()}
	case MsgClosingSigned:
		m := &ClosingSigned{
			ChannelID: g.b32(), FeeSatoshis: g.u64(), Signature: g.sig(), ExtraRecords: g.extra(),
		}
		if g.coin() {
			m.FeeRange = &FeeRange{MinFeeSatoshis: g.u64(), MaxFeeSatoshis: g.u64()}
		}
		return m
	case MsgUpdateAddHTLC:
		m := &UpdateAddHTLC{
			ChannelID: g.b32(), ID: g.u64(), AmountMsat: MilliSatoshi(g.u64()),
			PaymentHash: g.b32(), CltvExpiry: g.u32(), ExtraRecords: g.extra(),
		}
		copy(m.OnionRoutingPacket[:], g.bytes(OnionPacketSize))
		if g.coin() {
			m.PathKey = g.pubKey()
		}
		return m
	case MsgUpdateFulfillHTLC:
		return &UpdateFulfillHTLC{
			ChannelID: g.b32(), ID: g.u64(), PaymentPreimage: g.b32(), ExtraRecords: g.extra(),
		}
	case MsgUpdateFailHTLC:
		return &UpdateFailHTLC{
			ChannelID: g.b32(), ID: g.u64(), Reason: g.varBytes(300), ExtraRecords: g.extra(),
		}
	case MsgUpdateFailMalformedHTLC:
		return &UpdateFailMalformedHTLC{
			ChannelID: g.b32(), ID: g.u64(), SHA256OfOnion: g.b32(),
			FailureCode: g.u16(), ExtraRecords: g.extra(),
		}
	case MsgCommitmentSigned:
		m := &CommitmentSigned{ChannelID: g.b32(), Signature: g.sig(), ExtraRecords: g.extra()}
		if n := g.rng.IntN(20); n > 0 {
			m.HTLCSignatures = make([]Sig, n)
			for i := range m.HTLCSignatures {
				m.HTLCSignatures[i] = g.sig()
			}
		}
		return m
	case MsgRevokeAndAck:
		return &RevokeAndAck{
			ChannelID: g.b32(), PerCommitmentSecret: g.b32(),
			NextPerCommitmentPoint: g.pubKey(), ExtraRecords: g.extra(),
		}
	case MsgUpdateFee:
		return &UpdateFee{ChannelID: g.b32(), FeeratePerKw: g.u32(), ExtraRecords: g.extra()}
	case MsgChannelReestablish:
		return &ChannelReestablish{
			ChannelID: g.b32(), NextCommitmentNumber: g.u64(), NextRevocationNumber: g.u64(),
			YourLastPerCommitmentSecret: g.b32(), MyCurrentPerCommitmentPoint: g.pubKey(),
			ExtraRecords: g.extra(),
		}
	}
	g.t.Fatalf("no generator for %v", t)
	return nil
}
