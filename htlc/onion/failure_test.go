package onion

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// allFailures has one message of every type, with data where it has some.
func allFailures() []FailureMessage {
	update := []byte{0x01, 0x02, 0xaa, 0xbb, 0xcc} // type 258 and a body
	return []FailureMessage{
		&InvalidRealm{},
		&TemporaryNodeFailure{},
		&PermanentNodeFailure{},
		&RequiredNodeFeatureMissing{},
		NewBadOnionFailure(CodeInvalidOnionVersion, [32]byte{1}),
		NewBadOnionFailure(CodeInvalidOnionHmac, [32]byte{2}),
		NewBadOnionFailure(CodeInvalidOnionKey, [32]byte{3}),
		NewBadOnionFailure(CodeInvalidOnionBlinding, [32]byte{4}),
		&TemporaryChannelFailure{Update: update},
		&TemporaryChannelFailure{},
		&PermanentChannelFailure{},
		&RequiredChannelFeatureMissing{},
		&UnknownNextPeer{},
		&AmountBelowMinimum{HtlcMsat: 999, Update: update},
		&FeeInsufficient{HtlcMsat: 100_000, Update: update},
		&IncorrectCltvExpiry{CltvExpiry: 800_000, Update: update},
		&ExpiryTooSoon{Update: update},
		&IncorrectOrUnknownPaymentDetails{HtlcMsat: 50_000_000, Height: 812_345},
		&FinalIncorrectCltvExpiry{CltvExpiry: 700_000},
		&FinalIncorrectHtlcAmount{IncomingHtlcAmt: 49_999_999},
		&ChannelDisabled{Flags: 1, Update: update},
		&ExpiryTooFar{},
		&InvalidOnionPayload{Type: 5482373484, Offset: 17},
		&MPPTimeout{},
		&UnknownFailure{FailCode: 0x1234, Data: []byte{9, 9}},
	}
}

func TestFailureRoundTrip(t *testing.T) {
	for _, msg := range allFailures() {
		t.Run(msg.Code().String(), func(t *testing.T) {
			b := EncodeFailure(msg)
			got, err := DecodeFailure(b)
			if err != nil {
				t.Fatalf("decode %x: %v", b, err)
			}
			if !reflect.DeepEqual(got, msg) {
				t.Fatalf("got %#v, want %#v", got, msg)
			}
			if got.Error() == "" {
				t.Error("empty Error()")
			}
			// A TLV extension after the fields is ignored.
			ext, err := DecodeFailure(append(b, 0x01, 0x00))
			if _, unknown := msg.(*UnknownFailure); !unknown && (err != nil || !reflect.DeepEqual(ext, msg)) {
				t.Fatalf("with extension: %#v, %v", ext, err)
			}
		})
	}
}

func TestFailureWireFormat(t *testing.T) {
	tests := []struct {
		msg  FailureMessage
		want []byte
	}{
		{&TemporaryNodeFailure{}, []byte{0x20, 0x02}},
		{&UnknownNextPeer{}, []byte{0x40, 0x0a}},
		{&FeeInsufficient{HtlcMsat: 0x0102, Update: []byte{0xab}}, []byte{0x10, 0x0c, 0, 0, 0, 0, 0, 0, 1, 2, 0, 1, 0xab}},
		{&IncorrectOrUnknownPaymentDetails{HtlcMsat: 1, Height: 2}, []byte{0x40, 0x0f, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2}},
		{&InvalidOnionPayload{Type: 8, Offset: 3}, []byte{0x40, 0x16, 0x08, 0x00, 0x03}},
		{&MPPTimeout{}, []byte{0x00, 0x17}},
	}
	for _, tc := range tests {
		if got := EncodeFailure(tc.msg); !bytes.Equal(got, tc.want) {
			t.Errorf("%v: %x, want %x", tc.msg.Code(), got, tc.want)
		}
	}
}

func TestDecodeFailureMalformed(t *testing.T) {
	for _, b := range [][]byte{
		nil,
		{0x10},
		{0x10, 0x0c, 0, 0},             // fee_insufficient, short amount
		{0x10, 0x07, 0x00, 0x05, 1, 2}, // update shorter than its length
		{0xc0, 0x05, 1, 2, 3},          // onion hash too short
		{0x40, 0x16, 0xfd, 0x00},       // bad bigsize type
		{0x40, 0x0f, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0}, // height too short
	} {
		if msg, err := DecodeFailure(b); !errors.Is(err, ErrMalformedFailure) {
			t.Errorf("DecodeFailure(%x) = %v, %v; want ErrMalformedFailure", b, msg, err)
		}
	}
	// Old senders' incorrect_or_unknown_payment_details had no fields.
	if msg, err := DecodeFailure([]byte{0x40, 0x0f}); err != nil || msg.Code() != CodeIncorrectOrUnknownPaymentDetails {
		t.Errorf("legacy incorrect_or_unknown_payment_details: %v, %v", msg, err)
	}
}

func TestFailureCodeFlags(t *testing.T) {
	for _, msg := range allFailures() {
		if _, unknown := msg.(*UnknownFailure); unknown {
			continue // its flags are whatever the sender chose
		}
		c := msg.Code()
		_, isUpdate := msg.(UpdateFailure)
		if (c&FlagUpdate != 0) != isUpdate {
			t.Errorf("%v: UPDATE flag %v but carries update %v", c, c&FlagUpdate != 0, isUpdate)
		}
		_, isBadOnion := msg.(*BadOnionFailure)
		if (c&FlagBadOnion != 0) != isBadOnion {
			t.Errorf("%v: BADONION flag mismatch", c)
		}
	}
}
