package lnwire

import (
	"fmt"
	"math/bits"
	"slices"
	"strings"
)

// FeatureBit is a bit number of a BOLT 9 feature field. Features come in
// pairs: the even bit means the feature is required, the odd bit that it
// is optional ("it's ok to be odd").
type FeatureBit uint16

// The BOLT 9 feature bits Flash knows by name, each the required (even) bit
// of its pair.
const (
	DataLossProtect       FeatureBit = 0
	InitialRoutingSync    FeatureBit = 2 // only the odd bit 3 is defined
	UpfrontShutdownScript FeatureBit = 4
	GossipQueries         FeatureBit = 6
	VarOnionOptin         FeatureBit = 8
	GossipQueriesEx       FeatureBit = 10
	StaticRemoteKey       FeatureBit = 12
	PaymentSecret         FeatureBit = 14
	BasicMPP              FeatureBit = 16
	LargeChannels         FeatureBit = 18
	AnchorOutputs         FeatureBit = 20
	AnchorsZeroFeeHTLCTx  FeatureBit = 22
	RouteBlinding         FeatureBit = 24
	ShutdownAnySegwit     FeatureBit = 26
	DualFund              FeatureBit = 28
	Quiesce               FeatureBit = 34
	OnionMessages         FeatureBit = 38
	ProvideStorage        FeatureBit = 42
	ChannelTypeFeature    FeatureBit = 44
	ScidAlias             FeatureBit = 46
	PaymentMetadata       FeatureBit = 48
	ZeroConf              FeatureBit = 50
	SimpleClose           FeatureBit = 60
	Splice                FeatureBit = 62
)

var featureNames = map[FeatureBit]string{
	DataLossProtect:       "option_data_loss_protect",
	InitialRoutingSync:    "initial_routing_sync",
	UpfrontShutdownScript: "option_upfront_shutdown_script",
	GossipQueries:         "gossip_queries",
	VarOnionOptin:         "var_onion_optin",
	GossipQueriesEx:       "gossip_queries_ex",
	StaticRemoteKey:       "option_static_remotekey",
	PaymentSecret:         "payment_secret",
	BasicMPP:              "basic_mpp",
	LargeChannels:         "option_support_large_channel",
	AnchorOutputs:         "option_anchor_outputs",
	AnchorsZeroFeeHTLCTx:  "option_anchors",
	RouteBlinding:         "option_route_blinding",
	ShutdownAnySegwit:     "option_shutdown_anysegwit",
	DualFund:              "option_dual_fund",
	Quiesce:               "option_quiesce",
	OnionMessages:         "option_onion_messages",
	ProvideStorage:        "option_provide_storage",
	ChannelTypeFeature:    "option_channel_type",
	ScidAlias:             "option_scid_alias",
	PaymentMetadata:       "option_payment_metadata",
	ZeroConf:              "option_zeroconf",
	SimpleClose:           "option_simple_close",
	Splice:                "option_splice",
}

// Required returns the even bit of the feature's pair.
func (b FeatureBit) Required() FeatureBit { return b &^ 1 }

// Optional returns the odd bit of the feature's pair.
func (b FeatureBit) Optional() FeatureBit { return b | 1 }

// IsRequired reports whether b is the even bit of its pair.
func (b FeatureBit) IsRequired() bool { return b%2 == 0 }

// Name returns the BOLT 9 name of the feature, or "" if unknown.
func (b FeatureBit) Name() string { return featureNames[b.Required()] }

// String returns the name and whether the bit is the required or optional
// one, e.g. "var_onion_optin(required)", or the bare number if unnamed.
func (b FeatureBit) String() string {
	n := b.Name()
	if n == "" {
		return fmt.Sprintf("bit%d", uint16(b))
	}
	if b.IsRequired() {
		return n + "(required)"
	}
	return n + "(optional)"
}

// FeatureVector is a set of feature bits, encoded on the wire as a
// big-endian bit field (bit 0 is the lowest bit of the last byte). The zero
// value is the empty set, ready to use.
type FeatureVector struct {
	// words[i] holds bits 64*i to 64*i+63. It never has trailing zero
	// words, so equal sets have equal representations.
	words []uint64
}

// NewFeatureVector returns a vector with the given bits set.
func NewFeatureVector(bits ...FeatureBit) *FeatureVector {
	fv := &FeatureVector{}
	for _, b := range bits {
		fv.Set(b)
	}
	return fv
}

// NewFeatureVectorFromBytes decodes a wire bit field. Leading zero bytes are
// accepted: BOLT 1 only asks the sender to keep the field minimal.
func NewFeatureVectorFromBytes(b []byte) *FeatureVector {
	fv := &FeatureVector{}
	for i, byt := range b {
		for j := 0; j < 8; j++ {
			if byt&(1<<j) != 0 {
				fv.Set(FeatureBit((len(b)-1-i)*8 + j))
			}
		}
	}
	return fv
}

// IsSet reports whether the exact bit is set.
func (fv *FeatureVector) IsSet(b FeatureBit) bool {
	if fv == nil {
		return false
	}
	i := int(b) / 64
	return i < len(fv.words) && fv.words[i]&(1<<(b%64)) != 0
}

// HasFeature reports whether either bit of the feature's pair is set.
func (fv *FeatureVector) HasFeature(b FeatureBit) bool {
	return fv.IsSet(b.Required()) || fv.IsSet(b.Optional())
}

// Set sets the bit.
func (fv *FeatureVector) Set(b FeatureBit) {
	i := int(b) / 64
	for len(fv.words) <= i {
		fv.words = append(fv.words, 0)
	}
	fv.words[i] |= 1 << (b % 64)
}

// Unset clears the bit.
func (fv *FeatureVector) Unset(b FeatureBit) {
	i := int(b) / 64
	if i >= len(fv.words) {
		return
	}
	fv.words[i] &^= 1 << (b % 64)
	for len(fv.words) > 0 && fv.words[len(fv.words)-1] == 0 {
		fv.words = fv.words[:len(fv.words)-1]
	}
	if len(fv.words) == 0 {
		fv.words = nil
	}
}

// IsEmpty reports whether no bit is set.
func (fv *FeatureVector) IsEmpty() bool { return fv == nil || len(fv.words) == 0 }

// Bits returns the set bits in ascending order.
func (fv *FeatureVector) Bits() []FeatureBit {
	if fv == nil {
		return nil
	}
	var out []FeatureBit
	for i, w := range fv.words {
		for w != 0 {
			j := bits.TrailingZeros64(w)
			out = append(out, FeatureBit(i*64+j))
			w &^= 1 << j
		}
	}
	return out
}

// Bytes returns the minimal wire encoding: no leading zero bytes, and an
// empty slice for the empty set.
func (fv *FeatureVector) Bytes() []byte {
	bs := fv.Bits()
	if len(bs) == 0 {
		return []byte{}
	}
	n := int(bs[len(bs)-1])/8 + 1
	out := make([]byte, n)
	for _, b := range bs {
		out[n-1-int(b)/8] |= 1 << (b % 8)
	}
	return out
}

// Clone returns an independent copy.
func (fv *FeatureVector) Clone() *FeatureVector {
	if fv == nil {
		return &FeatureVector{}
	}
	return &FeatureVector{words: slices.Clone(fv.words)}
}

// Equal reports whether both vectors have the same bits set.
func (fv *FeatureVector) Equal(other *FeatureVector) bool {
	var a, b []uint64
	if fv != nil {
		a = fv.words
	}
	if other != nil {
		b = other.words
	}
	return slices.Equal(a, b)
}

// Union returns the bits set in either vector. Receivers of init use it to
// merge the legacy globalfeatures into features, as BOLT 1 asks.
func (fv *FeatureVector) Union(other *FeatureVector) *FeatureVector {
	out := fv.Clone()
	for _, b := range other.Bits() {
		out.Set(b)
	}
	return out
}

// UnknownRequired returns the even bits set in fv whose feature is in
// neither bit of supported. BOLT 1 requires failing the connection (for
// init) or the message when this is not empty.
func (fv *FeatureVector) UnknownRequired(supported *FeatureVector) []FeatureBit {
	var out []FeatureBit
	for _, b := range fv.Bits() {
		if b.IsRequired() && !supported.HasFeature(b) {
			out = append(out, b)
		}
	}
	return out
}

// String lists the set bits by name, e.g.
// "[option_data_loss_protect(required) var_onion_optin(optional)]".
func (fv *FeatureVector) String() string {
	bs := fv.Bits()
	names := make([]string, len(bs))
	for i, b := range bs {
		names[i] = b.String()
	}
	return "[" + strings.Join(names, " ") + "]"
}
