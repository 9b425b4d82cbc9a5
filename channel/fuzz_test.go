package channel

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"testing"

	"github.com/flash-ln/flash/channel/lnwire"
)

// fuzzStates returns stored states in several situations, for seeds.
func fuzzStates(t testing.TB) (a, b *Channel, states [][]byte, msgsToB []lnwire.Message) {
	a, b = newPair(t, pairOptions{})
	l := newLink(t, a, b)
	l.onOutput = func(fromA bool, out Output) {
		if fromA {
			msgsToB = append(msgsToB, out.Messages...)
		}
	}
	states = append(states, a.Marshal(), b.Marshal())
	for i := uint64(1); i <= 3; i++ {
		_, hash := testPreimage(i)
		_, out, err := a.AddHTLC(AddHTLC{Amount: lnwire.MilliSatoshi(3_000_000 * i * i), PaymentHash: hash,
			CLTVExpiry: 700, Onion: testOnion(i)})
		if err != nil {
			t.Fatal(err)
		}
		l.take(true, out)
	}
	l.sign(true)
	states = append(states, a.Marshal())
	l.settle()
	pre, _ := testPreimage(2)
	out, err := b.FulfillHTLC(1, pre)
	if err != nil {
		t.Fatal(err)
	}
	l.take(false, out)
	out, err = a.UpdateFee(4000)
	if err != nil {
		t.Fatal(err)
	}
	l.take(true, out)
	l.flush()
	l.sign(false)
	states = append(states, a.Marshal(), b.Marshal())
	l.settle()
	states = append(states, a.Marshal(), b.Marshal())
	return a, b, states, msgsToB
}

func FuzzUnmarshal(f *testing.F) {
	a, b, states, _ := fuzzStates(f)
	for _, s := range states {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, k := range []*Keyring{a.keys, b.keys} {
			c, err := Unmarshal(data, k)
			if err != nil {
				if !errors.Is(err, ErrBadState) {
					t.Fatalf("error does not wrap ErrBadState: %v", err)
				}
				continue
			}
			again := c.Marshal()
			c2, err := Unmarshal(again, k)
			if err != nil {
				t.Fatalf("re-encoded state rejected: %v", err)
			}
			if !bytes.Equal(c2.Marshal(), again) {
				t.Fatal("encoding not stable")
			}
			// A state that loads must be usable without panicking.
			c.Connected()
			c.LocalCommitmentTx()
		}
	})
}

// FuzzReceive feeds arbitrary messages to a machine in the middle of a
// channel's life: nothing may panic, a rejected message changes nothing,
// and an accepted one keeps the invariants.
func FuzzReceive(f *testing.F) {
	a, b, _, msgs := fuzzStates(f)
	base := b.Marshal()
	frame := func(ms ...lnwire.Message) []byte {
		var framed []byte
		for _, m := range ms {
			var buf bytes.Buffer
			if _, err := lnwire.AppendMessage(&buf, m); err != nil {
				f.Fatal(err)
			}
			framed = binary.BigEndian.AppendUint16(framed, uint16(buf.Len()))
			framed = append(framed, buf.Bytes()...)
		}
		return framed
	}
	for _, m := range msgs {
		f.Add(frame(m))
	}
	// A sequence valid in the stored state: the peer adds an HTLC,
	// raises the fee and signs.
	_, hash := testPreimage(99)
	_, add, err := a.AddHTLC(AddHTLC{Amount: 40_000_000, PaymentHash: hash, CLTVExpiry: 900, Onion: testOnion(99)})
	if err != nil {
		f.Fatal(err)
	}
	fee, err := a.UpdateFee(3000)
	if err != nil {
		f.Fatal(err)
	}
	sig, err := a.SignCommitment()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(frame(add.Messages[0], fee.Messages[0], sig.Messages[0]))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Unmarshal(base, b.keys)
		if err != nil {
			t.Fatal(err)
		}
		peer, err := c.reestablishMessage(c.st)
		if err != nil {
			t.Fatal(err)
		}
		// Pretend the peer is exactly in sync with us.
		peer.NextCommitmentNumber = c.st.RemoteCommit.Index + 1
		peer.NextRevocationNumber = c.st.LocalCommit.Index
		if peer.NextRevocationNumber > 0 {
			peer.YourLastPerCommitmentSecret, _ = c.keys.Secrets.ForCommitment(peer.NextRevocationNumber - 1)
		}
		if _, err := c.Connected(); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Receive(peer); err != nil {
			t.Fatal(err)
		}
		for n := 0; n < 4 && len(data) >= 2; n++ {
			size := int(binary.BigEndian.Uint16(data))
			data = data[2:]
			if size > len(data) {
				size = len(data)
			}
			msg, err := lnwire.ParseMessage(data[:size])
			data = data[size:]
			if err != nil {
				continue
			}
			before := c.st.clone()
			if _, err := c.Receive(msg); err != nil {
				if !reflect.DeepEqual(before, c.st) {
					t.Fatalf("state changed by rejected %T: %v", msg, err)
				}
				continue
			}
			checkInvariants(t, c)
		}
	})
}
