package channel

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/flash-ln/flash/channel/lnwire"
)

// addMsg makes alice offer an HTLC and returns the update_add_htlc she
// would send, without delivering it.
func addMsg(t *testing.T, a *Channel, amount lnwire.MilliSatoshi, n uint64) *lnwire.UpdateAddHTLC {
	t.Helper()
	_, hash := testPreimage(n)
	_, out, err := a.AddHTLC(AddHTLC{Amount: amount, PaymentHash: hash, CLTVExpiry: 600, Onion: testOnion(n)})
	if err != nil {
		t.Fatal(err)
	}
	return out.Messages[0].(*lnwire.UpdateAddHTLC)
}

// lockedHTLC runs a full add cycle from alice to bob and returns the link.
func lockedHTLC(t *testing.T, a, b *Channel, amount lnwire.MilliSatoshi, n uint64) *link {
	t.Helper()
	l := newLink(t, a, b)
	l.take(true, Output{Messages: []lnwire.Message{addMsg(t, a, amount, n)}})
	l.settle()
	return l
}

// signedBy makes alice add an HTLC and sign; it returns bob's pending
// messages: the add, then commitment_signed.
func signedBy(t *testing.T, a, b *Channel, amount lnwire.MilliSatoshi) *lnwire.CommitmentSigned {
	t.Helper()
	add := addMsg(t, a, amount, 7)
	if _, err := b.Receive(add); err != nil {
		t.Fatal(err)
	}
	out, err := a.SignCommitment()
	if err != nil {
		t.Fatal(err)
	}
	return wireRoundTrip(t, out.Messages[0]).(*lnwire.CommitmentSigned)
}

func TestProtocolErrorsLeaveStateUnchanged(t *testing.T) {
	type setup func(t *testing.T) (*Channel, lnwire.Message)
	tests := []struct {
		name  string
		setup setup
		code  ErrorCode
		limit Limit
	}{
		{"duplicate htlc id", func(t *testing.T) (*Channel, lnwire.Message) {
			a, b := newPair(t, pairOptions{})
			m := addMsg(t, a, 5_000_000, 1)
			if _, err := b.Receive(m); err != nil {
				t.Fatal(err)
			}
			return b, m
		}, CodeBadHTLCID, 0},
		{"out of order htlc id", func(t *testing.T) (*Channel, lnwire.Message) {
			a, b := newPair(t, pairOptions{})
			m := addMsg(t, a, 5_000_000, 1)
			m.ID = 5
			return b, m
		}, CodeBadHTLCID, 0},
		{"zero amount", func(t *testing.T) (*Channel, lnwire.Message) {
			a, b := newPair(t, pairOptions{})
			m := addMsg(t, a, 5_000_000, 1)
			m.AmountMsat = 0
			return b, m
		}, CodeLimitExceeded, LimitZeroAmount},
		{"below htlc_minimum_msat", func(t *testing.T) (*Channel, lnwire.Message) {
			a, b := newPair(t, pairOptions{})
			m := addMsg(t, a, 5_000_000, 1)
			m.AmountMsat = 999
			return b, m
		}, CodeLimitExceeded, LimitHTLCMinimum},
		{"cltv_expiry is a timestamp", func(t *testing.T) (*Channel, lnwire.Message) {
			a, b := newPair(t, pairOptions{})
			m := addMsg(t, a, 5_000_000, 1)
			m.CltvExpiry = 500000000
			return b, m
		}, CodeLimitExceeded, LimitCLTVExpiry},
		{"amount wraps int64", func(t *testing.T) (*Channel, lnwire.Message) {
			a, b := newPair(t, pairOptions{})
			m := addMsg(t, a, 5_000_000, 1)
			m.AmountMsat = 1<<63 + 5_000_000
			return b, m
		}, CodeLimitExceeded, LimitInsufficientBalance},
		{"amount above capacity", func(t *testing.T) (*Channel, lnwire.Message) {
			a, b := newPair(t, pairOptions{})
			m := addMsg(t, a, 5_000_000, 1)
			m.AmountMsat = lnwire.NewMSatFromSatoshis(uint64(b.st.Params.Capacity)) + 1
			return b, m
		}, CodeLimitExceeded, LimitInsufficientBalance},
		{"second add wraps the in-flight sum", func(t *testing.T) (*Channel, lnwire.Message) {
			a, b := newPair(t, pairOptions{})
			m := addMsg(t, a, 5_000_000, 1)
			if _, err := b.Receive(m); err != nil {
				t.Fatal(err)
			}
			m2 := *m
			m2.ID = 1
			m2.AmountMsat = ^lnwire.MilliSatoshi(0) - 5_000_000 + 2
			return b, &m2
		}, CodeLimitExceeded, LimitInsufficientBalance},
		{"max_accepted_htlcs", func(t *testing.T) (*Channel, lnwire.Message) {
			a, b := newPair(t, pairOptions{tweak: func(pa, pb *PartyConfig) { pb.MaxAcceptedHTLCs = 2 }})
			var m lnwire.UpdateAddHTLC
			for i := uint64(0); i < 2; i++ {
				m = *addMsg(t, a, 5_000_000, i)
				if _, err := b.Receive(&m); err != nil {
					t.Fatal(err)
				}
			}
			m.ID = 2
			return b, &m
		}, CodeLimitExceeded, LimitMaxAcceptedHTLCs},
		{"max_htlc_value_in_flight_msat", func(t *testing.T) (*Channel, lnwire.Message) {
			a, b := newPair(t, pairOptions{})
			m := addMsg(t, a, 5_000_000, 1)
			m.AmountMsat = lnwire.NewMSatFromSatoshis(5_000_001)
			return b, m
		}, CodeLimitExceeded, LimitMaxHTLCValueInFlight},
		{"channel reserve of the funder", func(t *testing.T) (*Channel, lnwire.Message) {
			a, b := newPair(t, pairOptions{tweak: func(pa, pb *PartyConfig) {
				pb.MaxHTLCValueInFlight = lnwire.NewMSatFromSatoshis(10_000_000)
			}})
			m := addMsg(t, a, 5_000_000, 1)
			// 7,000,000 sat minus a reserve of 100,000 minus the fee
			// cannot fund 6,900,000 sat.
			m.AmountMsat = lnwire.NewMSatFromSatoshis(6_900_000)
			return b, m
		}, CodeLimitExceeded, LimitChannelReserve},
		{"update_fee from the non-funder", func(t *testing.T) (*Channel, lnwire.Message) {
			a, _ := newPair(t, pairOptions{})
			return a, &lnwire.UpdateFee{ChannelID: a.ID(), FeeratePerKw: 5000}
		}, CodeBadFeeRate, 0},
		{"update_fee below the floor", func(t *testing.T) (*Channel, lnwire.Message) {
			_, b := newPair(t, pairOptions{})
			return b, &lnwire.UpdateFee{ChannelID: b.ID(), FeeratePerKw: 100}
		}, CodeBadFeeRate, 0},
		{"update_fee the funder cannot pay", func(t *testing.T) (*Channel, lnwire.Message) {
			_, b := newPair(t, pairOptions{capacity: 1_000_000, localBalance: 200_000})
			return b, &lnwire.UpdateFee{ChannelID: b.ID(), FeeratePerKw: 200_000}
		}, CodeFeeUnaffordable, 0},
		{"fulfill of an unknown htlc", func(t *testing.T) (*Channel, lnwire.Message) {
			a, _ := newPair(t, pairOptions{})
			return a, &lnwire.UpdateFulfillHTLC{ChannelID: a.ID(), ID: 3}
		}, CodeBadHTLCID, 0},
		{"fulfill with a wrong preimage", func(t *testing.T) (*Channel, lnwire.Message) {
			a, b := newPair(t, pairOptions{})
			lockedHTLC(t, a, b, 50_000_000, 1)
			return a, &lnwire.UpdateFulfillHTLC{ChannelID: a.ID(), ID: 0, PaymentPreimage: [32]byte{9}}
		}, CodeBadPreimage, 0},
		{"fulfill of an htlc not yet committed", func(t *testing.T) (*Channel, lnwire.Message) {
			a, b := newPair(t, pairOptions{})
			signedBy(t, a, b, 50_000_000)
			pre, _ := testPreimage(7)
			return a, &lnwire.UpdateFulfillHTLC{ChannelID: a.ID(), ID: 0, PaymentPreimage: pre}
		}, CodeBadHTLCID, 0},
		{"malformed failure without BADONION", func(t *testing.T) (*Channel, lnwire.Message) {
			a, b := newPair(t, pairOptions{})
			lockedHTLC(t, a, b, 50_000_000, 1)
			return a, &lnwire.UpdateFailMalformedHTLC{ChannelID: a.ID(), ID: 0, FailureCode: 0x4005}
		}, CodeMalformed, 0},
		{"commitment signature invalid", func(t *testing.T) (*Channel, lnwire.Message) {
			a, b := newPair(t, pairOptions{})
			m := signedBy(t, a, b, 50_000_000)
			m.Signature[10] ^= 1
			return b, m
		}, CodeInvalidSignature, 0},
		{"htlc signature invalid", func(t *testing.T) (*Channel, lnwire.Message) {
			a, b := newPair(t, pairOptions{})
			m := signedBy(t, a, b, 50_000_000)
			m.HTLCSignatures[0] = m.Signature
			return b, m
		}, CodeInvalidSignature, 0},
		{"htlc signature missing", func(t *testing.T) (*Channel, lnwire.Message) {
			a, b := newPair(t, pairOptions{})
			m := signedBy(t, a, b, 50_000_000)
			m.HTLCSignatures = nil
			return b, m
		}, CodeWrongHTLCSigCount, 0},
		{"commitment_signed without changes", func(t *testing.T) (*Channel, lnwire.Message) {
			a, b := newPair(t, pairOptions{})
			m := signedBy(t, a, b, 50_000_000)
			if _, err := b.Receive(m); err != nil {
				t.Fatal(err)
			}
			return b, m
		}, CodeNoChanges, 0},
		{"revoke_and_ack without commitment_signed", func(t *testing.T) (*Channel, lnwire.Message) {
			a, b := newPair(t, pairOptions{})
			rev, err := b.revocation(b.st, 0)
			if err != nil {
				t.Fatal(err)
			}
			return a, rev
		}, CodeUnexpectedMessage, 0},
		{"revocation secret does not match", func(t *testing.T) (*Channel, lnwire.Message) {
			a, b := newPair(t, pairOptions{})
			m := signedBy(t, a, b, 50_000_000)
			out, err := b.Receive(m)
			if err != nil {
				t.Fatal(err)
			}
			rev := out.Messages[0].(*lnwire.RevokeAndAck)
			rev.PerCommitmentSecret[0] ^= 1
			return a, rev
		}, CodeBadRevocation, 0},
		{"wrong channel id", func(t *testing.T) (*Channel, lnwire.Message) {
			a, b := newPair(t, pairOptions{})
			m := addMsg(t, a, 5_000_000, 1)
			m.ChannelID[0] ^= 1
			return b, m
		}, CodeUnexpectedMessage, 0},
		{"update before channel_reestablish", func(t *testing.T) (*Channel, lnwire.Message) {
			a, b := newPair(t, pairOptions{})
			m := addMsg(t, a, 5_000_000, 1)
			b.Disconnected()
			if _, err := b.Connected(); err != nil {
				t.Fatal(err)
			}
			return b, m
		}, CodeUnexpectedMessage, 0},
		{"shutdown to a non-segwit script", func(t *testing.T) (*Channel, lnwire.Message) {
			_, b := newPair(t, pairOptions{})
			return b, &lnwire.Shutdown{ChannelID: b.ID(), ScriptPubKey: []byte{0x76, 0xa9, 0x14}}
		}, CodeBadShutdown, 0},
		{"add after the peer's shutdown", func(t *testing.T) (*Channel, lnwire.Message) {
			a, b := newPair(t, pairOptions{})
			m := addMsg(t, a, 5_000_000, 1)
			if _, err := b.Receive(&lnwire.Shutdown{ChannelID: b.ID(), ScriptPubKey: p2wpkhOf(testKey("x"))}); err != nil {
				t.Fatal(err)
			}
			return b, m
		}, CodeUnexpectedMessage, 0},
		{"closing_signed before shutdown", func(t *testing.T) (*Channel, lnwire.Message) {
			_, b := newPair(t, pairOptions{})
			return b, &lnwire.ClosingSigned{ChannelID: b.ID(), FeeSatoshis: 1000}
		}, CodeUnexpectedMessage, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, msg := tc.setup(t)
			msg = wireRoundTrip(t, msg)
			before := c.st.clone()
			stored := c.Marshal()
			_, err := c.Receive(msg)
			var pe *ProtocolError
			if !errors.As(err, &pe) {
				t.Fatalf("got %v, want a ProtocolError", err)
			}
			if pe.Code != tc.code || pe.Limit != tc.limit {
				t.Fatalf("got %v, want code %v limit %v", err, tc.code, tc.limit)
			}
			if !reflect.DeepEqual(before, c.st) || !bytes.Equal(stored, c.Marshal()) {
				t.Fatal("state changed by a rejected message")
			}
		})
	}
}

func TestCommandErrorsLeaveStateUnchanged(t *testing.T) {
	tests := []struct {
		name string
		run  func(a, b *Channel) error
		code ErrorCode
	}{
		{"add below the peer's minimum", func(a, b *Channel) error {
			_, _, err := a.AddHTLC(AddHTLC{Amount: 999, CLTVExpiry: 10})
			return err
		}, CodeLimitExceeded},
		{"add over the peer's in-flight limit", func(a, b *Channel) error {
			_, _, err := a.AddHTLC(AddHTLC{Amount: lnwire.NewMSatFromSatoshis(5_000_001), CLTVExpiry: 10})
			return err
		}, CodeLimitExceeded},
		{"fee update by the non-funder", func(a, b *Channel) error {
			_, err := b.UpdateFee(3000)
			return err
		}, CodeBadFeeRate},
		{"fulfill of an unknown htlc", func(a, b *Channel) error {
			_, err := b.FulfillHTLC(0, [32]byte{})
			return err
		}, CodeBadHTLCID},
		{"sign without changes", func(a, b *Channel) error {
			_, err := a.SignCommitment()
			return err
		}, CodeNoChanges},
		{"shutdown to a bad script", func(a, b *Channel) error {
			_, err := a.InitiateShutdown([]byte{1, 2, 3})
			return err
		}, CodeBadShutdown},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := newPair(t, pairOptions{})
			ba, bb := a.st.clone(), b.st.clone()
			err := tc.run(a, b)
			var ce *CommandError
			if !errors.As(err, &ce) || ce.Code != tc.code {
				t.Fatalf("got %v, want a CommandError with code %v", err, tc.code)
			}
			if !reflect.DeepEqual(ba, a.st) || !reflect.DeepEqual(bb, b.st) {
				t.Fatal("state changed by a refused command")
			}
		})
	}
}

// TestRefusedSignatureThenAccepted checks that the caches a refused step
// fills (keys, tables, per-commitment points) serve the next attempt: the
// same commitment, correctly signed, is accepted after a corrupted copy of
// each signature was refused.
func TestRefusedSignatureThenAccepted(t *testing.T) {
	a, b := newPair(t, pairOptions{})
	m := signedBy(t, a, b, 50_000_000)
	badCommit := *m
	badCommit.Signature[5] ^= 1
	badHTLC := *m
	badHTLC.HTLCSignatures = append([]lnwire.Sig(nil), m.HTLCSignatures...)
	badHTLC.HTLCSignatures[0][40] ^= 1
	for _, bad := range []*lnwire.CommitmentSigned{&badCommit, &badHTLC} {
		if _, err := b.Receive(bad); !IsCode(err, CodeInvalidSignature) {
			t.Fatalf("corrupted commitment_signed: got %v, want %v", err, CodeInvalidSignature)
		}
	}
	out, err := b.Receive(m)
	if err != nil {
		t.Fatalf("valid commitment_signed after refusals: %v", err)
	}
	if len(out.Messages) != 1 {
		t.Fatalf("got %d messages, want a revoke_and_ack", len(out.Messages))
	}
	if _, err := a.Receive(out.Messages[0]); err != nil {
		t.Fatalf("revoke_and_ack: %v", err)
	}
}
