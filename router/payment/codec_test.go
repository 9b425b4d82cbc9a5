package payment

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/htlc/onion"
	"github.com/flash-ln/flash/router/graph"
	"github.com/flash-ln/flash/router/pathfind"
)

// samplePayments covers every optional part of a record.
func samplePayments() []*Payment {
	pre := [32]byte{7, 7, 7}
	node := func(b byte) graph.NodeID { return graph.NodeID{2, b} }
	route := Route{
		Hops: []Hop{
			{NodeID: node(1), ShortChannelID: lnwire.NewShortChanIDFromInt(1 << 40), AmountMsat: 1011, Expiry: 900, AmountToForward: 1000, OutgoingCLTV: 860},
			{NodeID: node(2), ShortChannelID: lnwire.NewShortChanIDFromInt(2<<40 | 3<<16 | 1), AmountMsat: 1000, Expiry: 860, AmountToForward: 1000, OutgoingCLTV: 860},
		},
		TotalAmount: 1011, TotalFee: 11, TotalCLTV: 900,
	}
	return []*Payment{
		{
			PaymentHash: [32]byte{1}, Kind: KindInvoice, Status: StatusInFlight, Dest: node(2),
			AmountMsat: 1000, MaxFeeMsat: 50, CreatedAt: time.Unix(1_750_000_000, 123).UTC(),
			Deadline: time.Unix(1_750_000_060, 0).UTC(), FinalCLTVDelta: 43, PaymentSecret: [32]byte{9},
		},
		{
			PaymentHash: [32]byte{2}, Kind: KindKeysend, Status: StatusSucceeded, Dest: node(2),
			AmountMsat: 1000, MaxFeeMsat: 50, CreatedAt: time.Unix(1_750_000_000, 0).UTC(),
			Deadline: time.Unix(1_750_000_060, 0).UTC(), CltvLimit: 1000, FinalCLTVDelta: 43,
			Metadata: []byte{1, 2, 3}, Preimage: &pre,
			RouteHints: [][]pathfind.HopHint{{{NodeID: node(3), ShortChannelID: lnwire.NewShortChanIDFromInt(77), FeeBaseMsat: 1, FeeProportionalMillionths: 2, CltvExpiryDelta: 3}}},
			Attempts: []Attempt{
				{ID: 1, SessionKey: [32]byte{5}, Route: route, Status: StatusFailed, SentAt: time.Unix(1_750_000_001, 0).UTC(),
					ResolvedAt: time.Unix(1_750_000_002, 0).UTC(), FailureCode: onion.CodeTemporaryChannelFailure, FailureSource: 0,
					Failure:          "temporary_channel_failure",
					ExcludedChannels: []pathfind.DirectedChannel{{ShortChannelID: route.Hops[1].ShortChannelID, From: node(1)}},
					ExcludedNodes:    []graph.NodeID{node(4)}},
				{ID: 2, SessionKey: [32]byte{6}, Route: route, Status: StatusSucceeded, FailureSource: -1,
					SentAt: time.Unix(1_750_000_003, 0).UTC()},
			},
		},
		{
			PaymentHash: [32]byte{3}, Kind: KindInvoice, Status: StatusFailed, Dest: node(2), AmountMsat: 5,
			FailureReason: ReasonNoRoute,
			Attempts:      []Attempt{{ID: 3, Route: route, Status: StatusFailed, FailureSource: -1}},
		},
	}
}

func TestRecordRoundTrip(t *testing.T) {
	for i, p := range samplePayments() {
		b := encodeRecord(p)
		got, err := decodeRecord(b)
		if err != nil {
			t.Fatalf("payment %d: %v", i, err)
		}
		if !reflect.DeepEqual(got, p) {
			t.Fatalf("payment %d:\n got %+v\nwant %+v", i, got, p)
		}
		// Every strict prefix is refused, as is anything appended.
		for n := 0; n < len(b); n++ {
			if _, err := decodeRecord(b[:n]); !errors.Is(err, errCorrupt) {
				t.Fatalf("payment %d prefix %d: %v", i, n, err)
			}
		}
		if _, err := decodeRecord(append(bytes.Clone(b), 0)); !errors.Is(err, errCorrupt) {
			t.Fatalf("payment %d with a trailing byte: %v", i, err)
		}
	}
}

func TestCorruptRecordReported(t *testing.T) {
	h := newHarness(t)
	hash := [32]byte{0xee}
	err := h.db.Update(func(tx *bbolt.Tx) error {
		b, err := sub(tx, byHashBucket)
		if err != nil {
			return err
		}
		return b.Put(hash[:], []byte{recordVersion, 1, 2, 3})
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.payer.Payment(hash); !errors.Is(err, errCorrupt) {
		t.Fatalf("corrupt record: %v", err)
	}
	// A valid record stored under another hash is refused too.
	p := samplePayments()[0]
	err = h.db.Update(func(tx *bbolt.Tx) error {
		b, _ := sub(tx, byHashBucket)
		return b.Put(hash[:], encodeRecord(p))
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.payer.Payment(hash); !errors.Is(err, errCorrupt) {
		t.Fatalf("misfiled record: %v", err)
	}
}

// FuzzDecodeRecord feeds arbitrary bytes to the stored-record decoder:
// it must never panic, and whatever it accepts must re-encode to the
// same bytes, so that nothing is silently dropped or invented.
func FuzzDecodeRecord(f *testing.F) {
	for _, p := range samplePayments() {
		f.Add(encodeRecord(p))
	}
	f.Add([]byte{})
	f.Add([]byte{recordVersion})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := decodeRecord(b)
		if err != nil {
			if p != nil {
				t.Fatal("payment returned with an error")
			}
			return
		}
		if again := encodeRecord(p); !bytes.Equal(again, b) {
			t.Fatalf("re-encoding differs:\n in %x\nout %x", b, again)
		}
	})
}
