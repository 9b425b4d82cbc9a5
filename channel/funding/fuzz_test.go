package funding

import (
	"testing"

	"github.com/flash-ln/flash/channel/lnwire"
)

// finishFlow runs the rest of the establishment once both sides agreed, and
// fails if any step refuses: whatever the fundee accepts, the funder that
// sent the same open_channel must be able to complete.
func finishFlow(t *testing.T, alice, bob party, op *Opener, acc *Accepter, accept *lnwire.AcceptChannel) {
	t.Helper()
	req, err := op.ReceiveAcceptChannel(accept)
	if err != nil {
		t.Fatalf("opener refuses what the fundee sent: %v", err)
	}
	created, err := op.FundingCreated(fundingTx(req), alice.kr)
	if err != nil {
		t.Fatalf("funding_created: %v", err)
	}
	_, signed, err := acc.ReceiveFundingCreated(created, bob.kr)
	if err != nil {
		t.Fatalf("fundee refuses funding_created: %v", err)
	}
	if _, err := op.ReceiveFundingSigned(signed, alice.kr); err != nil {
		t.Fatalf("funder refuses funding_signed: %v", err)
	}
}

// FuzzAcceptOpen feeds open_channel messages with arbitrary field values to
// the fundee. It must never panic, and every open it accepts must lead to a
// channel.
func FuzzAcceptOpen(f *testing.F) {
	alice, bob := newParty(f, "alice"), newParty(f, "bob")
	_, good, err := NewOpener(openerParams(alice))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good.FundingSatoshis, uint64(good.PushMsat), good.DustLimitSatoshis,
		uint64(good.MaxHTLCValueInFlightMsat), good.ChannelReserveSatoshis, uint64(good.HTLCMinimumMsat),
		good.FeeratePerKw, good.ToSelfDelay, good.MaxAcceptedHTLCs, good.ChannelFlags,
		good.ChannelType.Bytes(), []byte(nil), uint32(2500))
	f.Add(uint64(20_000), uint64(19_000_000), uint64(354), uint64(1), uint64(4000), uint64(0),
		uint32(253), uint16(0), uint16(483), uint8(0xff), []byte{0x10, 0x00}, []byte{0, 20}, uint32(0))
	f.Add(uint64(1<<24-1), uint64(1<<64-1), uint64(1<<64-1), uint64(1<<64-1), uint64(1<<64-1),
		uint64(1<<64-1), uint32(1<<32-1), uint16(1<<16-1), uint16(1<<16-1), uint8(1),
		[]byte{0xff, 0xff}, []byte{0x51, 0x02, 0x4e, 0x73}, uint32(1<<32-1))
	f.Fuzz(func(t *testing.T, funding, push, dust, inFlight, reserve, htlcMin uint64, fee uint32,
		delay, maxHTLCs uint16, flags uint8, ctype, upfront []byte, estimate uint32) {

		open := cloneOpen(good)
		open.FundingSatoshis, open.PushMsat, open.DustLimitSatoshis = funding, lnwire.MilliSatoshi(push), dust
		open.MaxHTLCValueInFlightMsat, open.ChannelReserveSatoshis = lnwire.MilliSatoshi(inFlight), reserve
		open.HTLCMinimumMsat, open.FeeratePerKw = lnwire.MilliSatoshi(htlcMin), fee
		open.ToSelfDelay, open.MaxAcceptedHTLCs, open.ChannelFlags = delay, maxHTLCs, flags
		open.ChannelType = nil
		if len(ctype) > 0 {
			open.ChannelType = lnwire.NewFeatureVectorFromBytes(ctype)
		}
		open.UpfrontShutdownScript = upfront
		p := acceptParams(bob, open)
		p.FeeEstimate = estimate
		acc, accept, err := AcceptOpen(p)
		if err != nil {
			var e *Error
			if !asError(err, &e) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		// The funder side of this very open_channel, as NewOpener
		// would have built it with a permissive policy.
		op := &Opener{phase: openerAwaitingAccept, policy: DefaultPolicy(),
			n: negotiation{localFunder: true, open: *cloneOpen(open), maxFeePerKw: 100_000}}
		finishFlow(t, alice, bob, op, acc, accept)
	})
}

// FuzzReceiveAcceptChannel feeds accept_channel messages with arbitrary
// field values to the funder.
func FuzzReceiveAcceptChannel(f *testing.F) {
	alice, bob := newParty(f, "alice"), newParty(f, "bob")
	op, open, err := NewOpener(openerParams(alice))
	if err != nil {
		f.Fatal(err)
	}
	acc, good, err := AcceptOpen(acceptParams(bob, open))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good.DustLimitSatoshis, uint64(good.MaxHTLCValueInFlightMsat), good.ChannelReserveSatoshis,
		uint64(good.HTLCMinimumMsat), good.MinimumDepth, good.ToSelfDelay, good.MaxAcceptedHTLCs,
		good.ChannelType.Bytes(), []byte(nil))
	f.Add(uint64(0), uint64(0), uint64(0), uint64(0), uint32(0), uint16(0), uint16(0), []byte{}, []byte{0})
	f.Add(uint64(1<<64-1), uint64(1<<64-1), uint64(1<<64-1), uint64(1<<64-1), uint32(1<<32-1),
		uint16(1<<16-1), uint16(1<<16-1), []byte{0x40, 0x10, 0x00}, []byte{0x00, 0x20})
	f.Fuzz(func(t *testing.T, dust, inFlight, reserve, htlcMin uint64, depth uint32, delay, maxHTLCs uint16,
		ctype, upfront []byte) {

		accept := cloneAccept(good)
		accept.DustLimitSatoshis, accept.MaxHTLCValueInFlightMsat = dust, lnwire.MilliSatoshi(inFlight)
		accept.ChannelReserveSatoshis, accept.HTLCMinimumMsat = reserve, lnwire.MilliSatoshi(htlcMin)
		accept.MinimumDepth, accept.ToSelfDelay, accept.MaxAcceptedHTLCs = depth, delay, maxHTLCs
		accept.ChannelType = nil
		if len(ctype) > 0 {
			accept.ChannelType = lnwire.NewFeatureVectorFromBytes(ctype)
		}
		accept.UpfrontShutdownScript = upfront
		o := *op
		req, err := o.ReceiveAcceptChannel(accept)
		if err != nil {
			var e *Error
			if !asError(err, &e) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if req.Amount != 1_000_000 {
			t.Fatalf("funding amount %d", req.Amount)
		}
		// The fundee signs with its own parameters: a funder that
		// accepted other values ends with a signature mismatch, which
		// must be reported, not panic.
		a := *acc
		a.n.accept = *cloneAccept(accept)
		created, err := o.FundingCreated(fundingTx(req), alice.kr)
		if err != nil {
			t.Fatal(err)
		}
		_, signed, err := a.ReceiveFundingCreated(created, bob.kr)
		if err != nil {
			t.Fatalf("fundee with the same parameters refuses: %v", err)
		}
		if _, err := o.ReceiveFundingSigned(signed, alice.kr); err != nil {
			t.Fatalf("funding_signed: %v", err)
		}
	})
}

// FuzzOpenChannelWire decodes arbitrary bytes as a peer message and hands
// any open_channel to the fundee.
func FuzzOpenChannelWire(f *testing.F) {
	alice, bob := newParty(f, "alice"), newParty(f, "bob")
	_, good, err := NewOpener(openerParams(alice))
	if err != nil {
		f.Fatal(err)
	}
	b, err := lnwire.EncodeMessage(good)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		msg, err := lnwire.ParseMessage(data)
		if err != nil {
			return
		}
		open, ok := msg.(*lnwire.OpenChannel)
		if !ok {
			return
		}
		_, _, _ = AcceptOpen(acceptParams(bob, open))
	})
}

// FuzzUnmarshal feeds arbitrary bytes to the stored-state decoders.
func FuzzUnmarshal(f *testing.F) {
	fl := runFlow(f, openerParams(newParty(f, "alice")), nil)
	data, err := fl.opener.Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	for _, p := range []*Pending{fl.opener.Pending(), fl.accepter.Pending()} {
		b, err := p.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if o, err := UnmarshalOpener(data); err == nil {
			again, err := o.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := UnmarshalOpener(again); err != nil {
				t.Fatalf("re-encoded opener refused: %v", err)
			}
			_ = o.Pending()
		}
		if p, err := UnmarshalPending(data); err == nil {
			again, err := p.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := UnmarshalPending(again); err != nil {
				t.Fatalf("re-encoded pending refused: %v", err)
			}
		}
	})
}
