package forward

import (
	"bytes"
	"context"
	"path/filepath"
	"reflect"
	"sync/atomic"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	bolt "go.etcd.io/bbolt"

	"github.com/flash-ln/flash/channel"
	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/htlc/onion"
)

// checkForwardInvariants fails t if CheckForward let through an HTLC that
// would cost this node money or safety margin.
func checkForwardInvariants(t *testing.T, in HTLCTerms, amt lnwire.MilliSatoshi, outCLTV uint32, pol Policy, height uint32, lim Limits) {
	t.Helper()
	if uint64(amt) > uint64(in.AmountMsat) || in.AmountMsat-amt < pol.Fee(amt) {
		t.Fatalf("forwards %d msat of %d with fee %d", amt, in.AmountMsat, pol.Fee(amt))
	}
	if uint64(outCLTV)+uint64(pol.CLTVExpiryDelta) > uint64(in.CLTVExpiry) {
		t.Fatalf("forwards expiry %d from %d with delta %d", outCLTV, in.CLTVExpiry, pol.CLTVExpiryDelta)
	}
	if uint64(outCLTV) <= uint64(height)+uint64(lim.MinOutgoingMargin) ||
		uint64(outCLTV) > uint64(height)+uint64(lim.MaxOutgoingExpiry) {
		t.Fatalf("forwards expiry %d at height %d", outCLTV, height)
	}
	if pol.Disabled || amt < pol.HTLCMinimumMsat || (pol.HTLCMaximumMsat != 0 && amt > pol.HTLCMaximumMsat) {
		t.Fatalf("forwards %d msat against policy %+v", amt, pol)
	}
}

func FuzzCheckForward(f *testing.F) {
	f.Add(uint64(1_001_100), uint32(240), uint64(1_000_000), uint32(200), uint32(100),
		uint32(1000), uint32(100), uint16(40), uint64(1000), uint64(0), uint64(5_000_000), true, false)
	f.Add(uint64(1<<63), uint32(1<<31), uint64(1<<62), uint32(1<<30), uint32(1<<31),
		uint32(1<<31), uint32(1<<31), uint16(1<<15), uint64(0), uint64(1<<63), uint64(1<<64-1), true, false)
	f.Fuzz(func(t *testing.T, inAmt uint64, inCLTV uint32, amt uint64, outCLTV, height, base, ppm uint32,
		delta uint16, min, max, avail uint64, active, disabled bool) {
		in := HTLCTerms{AmountMsat: lnwire.MilliSatoshi(inAmt), CLTVExpiry: inCLTV}
		fwd := ForwardTerms{AmtToForward: lnwire.MilliSatoshi(amt), OutgoingCLTV: outCLTV}
		out := &ChannelInfo{
			Policy: Policy{FeeBaseMsat: base, FeeProportionalMillionths: ppm, CLTVExpiryDelta: delta,
				HTLCMinimumMsat: lnwire.MilliSatoshi(min), HTLCMaximumMsat: lnwire.MilliSatoshi(max), Disabled: disabled},
			Active: active, AvailableMsat: lnwire.MilliSatoshi(avail),
		}
		lim := DefaultLimits()
		if f := CheckForward(in, fwd, out, height, lim); f != nil {
			if _, err := onion.DecodeFailure(onion.EncodeFailure(f)); err != nil {
				t.Fatalf("failure %v does not round trip: %v", f, err)
			}
			return
		}
		if !active || fwd.AmtToForward > out.AvailableMsat {
			t.Fatal("forwards over a channel that cannot take it")
		}
		checkForwardInvariants(t, in, fwd.AmtToForward, outCLTV, out.Policy, height, lim)
	})
}

// FuzzHandleIncoming drives bob's whole decision with real onions carrying
// arbitrary instructions, on HTLCs of arbitrary amounts and expiries, and
// with arbitrary damage to the onion.
func FuzzHandleIncoming(f *testing.F) {
	f.Add(uint64(1_001_100), uint32(240), uint64(1_000_000), uint32(200), uint32(100), uint16(0), byte(0))
	f.Add(uint64(1_001_099), uint32(240), uint64(1_000_000), uint32(200), uint32(100), uint16(0), byte(0))
	f.Add(uint64(1_001_100), uint32(239), uint64(1_000_000), uint32(200), uint32(100), uint16(0), byte(0))
	f.Add(uint64(1_001_100), uint32(240), uint64(1_000_000), uint32(200), uint32(100), uint16(700), byte(1))
	f.Add(uint64(1<<64-1), uint32(1<<32-1), uint64(1<<64-2), uint32(1<<32-2), uint32(0), uint16(0), byte(0))

	bobKey, _ := btcec.PrivKeyFromBytes(bytes.Repeat([]byte{2}, 32))
	carolKey, _ := btcec.PrivKeyFromBytes(bytes.Repeat([]byte{3}, 32))
	session, _ := btcec.PrivKeyFromBytes(bytes.Repeat([]byte{9}, 32))
	db, err := bolt.Open(filepath.Join(f.TempDir(), "fuzz.db"), 0o600, &bolt.Options{NoSync: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = db.Close() })
	router, err := onion.NewRouter(bobKey, nil)
	if err != nil {
		f.Fatal(err)
	}
	out := ChannelInfo{
		ChanID: lnwire.ChannelID{0xbc}, SCID: lnwire.ShortChannelID{BlockHeight: 60, TxIndex: 2},
		Policy: Policy{FeeBaseMsat: 1000, FeeProportionalMillionths: 100, CLTVExpiryDelta: 40, HTLCMinimumMsat: 1},
		Active: true, AvailableMsat: 1 << 62,
	}
	sw, err := New(Config{DB: db, Onion: router, Channels: newChannels(out), FinalHop: &payee{}})
	if err != nil {
		f.Fatal(err)
	}
	var nextID atomic.Uint64
	hash := [32]byte{1}

	f.Fuzz(func(t *testing.T, inAmt uint64, inCLTV uint32, amt uint64, outCLTV, height uint32, flip uint16, mask byte) {
		toBob, err := (&onion.Payload{AmtToForward: lnwire.MilliSatoshi(amt), OutgoingCLTV: outCLTV, ShortChannelID: &out.SCID}).Encode()
		if err != nil {
			t.Fatal(err)
		}
		toCarol, err := (&onion.Payload{AmtToForward: lnwire.MilliSatoshi(amt), OutgoingCLTV: outCLTV}).Encode()
		if err != nil {
			t.Fatal(err)
		}
		packet, _, err := onion.NewOnion(session, []onion.Hop{
			{NodePub: bobKey.PubKey(), Payload: toBob},
			{NodePub: carolKey.PubKey(), Payload: toCarol},
		}, hash[:])
		if err != nil {
			t.Fatal(err)
		}
		packet[int(flip)%len(packet)] ^= mask
		key := CircuitKey{ChanID: lnwire.ChannelID{0xab}, HTLCID: nextID.Add(1)}
		in := IncomingHTLC{Chan: key.ChanID, Restored: true, HTLC: channel.HTLC{
			Incoming: true, ID: key.HTLCID, Amount: lnwire.MilliSatoshi(inAmt),
			PaymentHash: hash, CLTVExpiry: inCLTV, Onion: packet[:],
		}}
		d, err := sw.HandleIncoming(context.Background(), in, height)
		if err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := sw.IncomingResolved(key); err != nil {
				t.Fatal(err)
			}
		}()
		switch d.Action {
		case ActionForward:
			if mask != 0 {
				t.Fatal("forwarded a damaged onion")
			}
			checkForwardInvariants(t, HTLCTerms{AmountMsat: in.HTLC.Amount, CLTVExpiry: inCLTV},
				d.Add.Amount, d.Add.CLTVExpiry, out.Policy, height, DefaultLimits())
		case ActionFail:
			if len(d.Reason) == 0 || d.Failure == nil {
				t.Fatalf("failure without reason: %+v", d)
			}
		case ActionFailMalformed:
			if onion.FailureCode(d.FailureCode)&onion.FlagBadOnion == 0 {
				t.Fatalf("malformed without BADONION: %+v", d)
			}
		default:
			t.Fatalf("unexpected action %s", d.Action)
		}
	})
}

func FuzzUnmarshalCircuit(f *testing.F) {
	c := &Circuit{
		State: StateFailed, Sent: true,
		Incoming:     CircuitKey{ChanID: lnwire.ChannelID{1}, HTLCID: 2},
		Outgoing:     CircuitKey{ChanID: lnwire.ChannelID{3}, HTLCID: 4},
		OutgoingSCID: lnwire.ShortChannelID{BlockHeight: 5, TxIndex: 6, TxPosition: 7},
		PaymentHash:  [32]byte{8}, IncomingAmount: 9, IncomingExpiry: 10, OutgoingAmount: 11,
		OutgoingExpiry: 12, ErrorSecret: [32]byte{13}, Reason: []byte{14, 15},
		LocalFailure: &onion.TemporaryChannelFailure{Update: []byte{16}},
	}
	f.Add(c.marshal())
	c2 := *c
	c2.State, c2.Sent, c2.Reason, c2.LocalFailure = StateHalfOpen, false, nil, nil
	f.Add(c2.marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := unmarshalCircuit(b)
		if err != nil {
			return
		}
		again, err := unmarshalCircuit(c.marshal())
		if err != nil {
			t.Fatalf("re-marshalled circuit does not parse: %v", err)
		}
		if !reflect.DeepEqual(c, again) {
			t.Fatalf("circuit changed through a round trip:\n%+v\n%+v", c, again)
		}
	})
}

func TestCircuitRoundTrip(t *testing.T) {
	c := &Circuit{
		State: StateSettled, Sent: true,
		Incoming:     CircuitKey{ChanID: lnwire.ChannelID{1}, HTLCID: 1<<64 - 1},
		Outgoing:     CircuitKey{ChanID: lnwire.ChannelID{3}, HTLCID: 4},
		OutgoingSCID: lnwire.ShortChannelID{BlockHeight: 1<<24 - 1, TxIndex: 6, TxPosition: 7},
		PaymentHash:  [32]byte{8}, Preimage: [32]byte{9}, NextOnion: [onion.PacketSize]byte{0, 1, 2},
	}
	got, err := unmarshalCircuit(c.marshal())
	if err != nil || !reflect.DeepEqual(got, c) {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	b := c.marshal()
	for _, bad := range [][]byte{nil, b[:len(b)-1], append(b, 0), append([]byte{2}, b[1:]...)} {
		if _, err := unmarshalCircuit(bad); err == nil {
			t.Fatalf("parsed a bad circuit of %d bytes", len(bad))
		}
	}
}
