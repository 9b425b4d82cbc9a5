package channel

import (
	"bytes"
	"errors"
	"testing"

	"github.com/flash-ln/flash/channel/lnwire"
)

func payCycle(t *testing.T, l *link, from *Channel, n uint64) {
	t.Helper()
	pre, hash := testPreimage(n)
	id, out, err := from.AddHTLC(AddHTLC{Amount: 20_000_000, PaymentHash: hash, CLTVExpiry: 700, Onion: testOnion(n)})
	if err != nil {
		t.Fatal(err)
	}
	l.take(from == l.a, out)
	l.settle()
	to := l.b
	if from == l.b {
		to = l.a
	}
	out, err = to.FulfillHTLC(id, pre)
	if err != nil {
		t.Fatal(err)
	}
	l.take(to == l.a, out)
	l.settle()
}

func types(ms []lnwire.Message) []lnwire.MessageType {
	var ts []lnwire.MessageType
	for _, m := range ms {
		ts = append(ts, m.MsgType())
	}
	return ts
}

func TestReestablishRetransmitsCommitment(t *testing.T) {
	a, b := newPair(t, pairOptions{})
	l := newLink(t, a, b)
	_, hash := testPreimage(1)
	_, out, err := a.AddHTLC(AddHTLC{Amount: 20_000_000, PaymentHash: hash, CLTVExpiry: 700, Onion: testOnion(1)})
	if err != nil {
		t.Fatal(err)
	}
	l.take(true, out)
	l.sign(true)
	// The add and commitment_signed are lost with the connection.
	l.disconnect()
	l.connect()
	// Alice's queue: channel_reestablish. Deliver both reestablishes.
	if err := l.deliver(true); err != nil {
		t.Fatal(err)
	}
	if err := l.deliver(false); err != nil {
		t.Fatal(err)
	}
	want := []lnwire.MessageType{lnwire.MsgUpdateAddHTLC, lnwire.MsgCommitmentSigned}
	if got := types(l.ab); len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("alice retransmits %v, want %v", got, want)
	}
	l.settle()
	checkAgreement(t, a, b)
	if len(b.st.LocalCommit.Spec.HTLCs) != 1 {
		t.Fatal("HTLC not committed after retransmission")
	}
}

func TestReestablishRetransmitsRevocationThenCommitment(t *testing.T) {
	a, b := newPair(t, pairOptions{})
	l := newLink(t, a, b)
	// Bob has an update of his own pending when alice's signature comes.
	_, hashA := testPreimage(1)
	_, out, err := a.AddHTLC(AddHTLC{Amount: 20_000_000, PaymentHash: hashA, CLTVExpiry: 700, Onion: testOnion(1)})
	if err != nil {
		t.Fatal(err)
	}
	l.take(true, out)
	l.sign(true)
	l.flush() // bob revokes; alice gets it
	_, hashB := testPreimage(2)
	_, out, err = b.AddHTLC(AddHTLC{Amount: 30_000_000, PaymentHash: hashB, CLTVExpiry: 700, Onion: testOnion(2)})
	if err != nil {
		t.Fatal(err)
	}
	l.take(false, out)
	l.sign(false)                            // bob signs his add and alice's
	if err := l.deliver(false); err != nil { // alice gets the add
		t.Fatal(err)
	}
	if err := l.deliver(false); err != nil { // alice gets commitment_signed, revokes
		t.Fatal(err)
	}
	l.disconnect() // alice's revoke_and_ack is lost
	l.connect()
	if err := l.deliver(true); err != nil {
		t.Fatal(err)
	}
	if err := l.deliver(false); err != nil {
		t.Fatal(err)
	}
	if got := types(l.ab); len(got) != 1 || got[0] != lnwire.MsgRevokeAndAck {
		t.Fatalf("alice retransmits %v, want revoke_and_ack", got)
	}
	l.settle()
	checkAgreement(t, a, b)
	if len(a.st.LocalCommit.Spec.HTLCs) != 2 || len(b.st.LocalCommit.Spec.HTLCs) != 2 {
		t.Fatal("HTLCs not committed on both sides")
	}
}

func TestReestablishDetectsLostState(t *testing.T) {
	a, b := newPair(t, pairOptions{})
	l := newLink(t, a, b)
	payCycle(t, l, a, 1)
	old := b.Marshal()
	payCycle(t, l, a, 2)
	l.disconnect()

	stale, err := Unmarshal(old, b.keys)
	if err != nil {
		t.Fatal(err)
	}
	outA, err := a.Connected()
	if err != nil {
		t.Fatal(err)
	}
	outB, err := stale.Connected()
	if err != nil {
		t.Fatal(err)
	}
	beforeB := stale.st.clone()
	_, err = stale.Receive(wireRoundTrip(t, outA.Messages[0]))
	var pe *ProtocolError
	if !errors.As(err, &pe) || pe.Code != CodeWeLostState {
		t.Fatalf("stale side: got %v, want CodeWeLostState", err)
	}
	if pe.FailChannel() {
		t.Fatal("a node that lost state must not fail the channel itself")
	}
	if !stale.st.LocalCommit.Spec.equal(&beforeB.LocalCommit.Spec) {
		t.Fatal("state changed")
	}
	_, err = a.Receive(wireRoundTrip(t, outB.Messages[0]))
	if !errors.As(err, &pe) || pe.Code != CodePeerLostState {
		t.Fatalf("up-to-date side: got %v, want CodePeerLostState", err)
	}
}

func TestReestablishRejectsWrongSecret(t *testing.T) {
	a, b := newPair(t, pairOptions{})
	l := newLink(t, a, b)
	payCycle(t, l, a, 1)
	l.disconnect()
	outA, err := a.Connected()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Connected(); err != nil {
		t.Fatal(err)
	}
	m := wireRoundTrip(t, outA.Messages[0]).(*lnwire.ChannelReestablish)
	m.YourLastPerCommitmentSecret[3] ^= 1
	if _, err := b.Receive(m); !IsCode(err, CodePeerLostState) {
		t.Fatalf("got %v, want CodePeerLostState", err)
	}
}

func TestPersistRoundTrip(t *testing.T) {
	a, b := newPair(t, pairOptions{})
	l := newLink(t, a, b)
	payCycle(t, l, a, 1)
	payCycle(t, l, b, 2)
	// Leave an HTLC in flight with a pending signature.
	_, hash := testPreimage(3)
	_, out, err := a.AddHTLC(AddHTLC{Amount: 20_000_000, PaymentHash: hash, CLTVExpiry: 700, Onion: testOnion(3)})
	if err != nil {
		t.Fatal(err)
	}
	l.take(true, out)
	l.sign(true)
	data := a.Marshal()
	c, err := Unmarshal(data, a.keys)
	if err != nil {
		t.Fatal(err)
	}
	if again := c.Marshal(); string(again) != string(data) {
		t.Fatal("Marshal(Unmarshal(x)) != x")
	}
	if c.st.RemoteNext == nil || c.st.RemoteNext.Index != a.st.RemoteNext.Index {
		t.Fatal("pending commitment lost")
	}
	for i := 0; i < len(data); i += 97 {
		if _, err := Unmarshal(data[:i], a.keys); err == nil {
			t.Fatalf("truncated state of %d bytes accepted", i)
		}
	}
}

func (s *CommitmentSpec) equal(o *CommitmentSpec) bool {
	if s.FeePerKw != o.FeePerKw || s.LocalBalance != o.LocalBalance || s.RemoteBalance != o.RemoteBalance ||
		len(s.HTLCs) != len(o.HTLCs) {
		return false
	}
	for i := range s.HTLCs {
		if s.HTLCs[i].ID != o.HTLCs[i].ID || s.HTLCs[i].Incoming != o.HTLCs[i].Incoming {
			return false
		}
	}
	return true
}

// A channel_reestablish claiming commitments we never signed, with no
// secret proving we are behind, must fail the channel rather than freeze
// it as "we lost state", and must change nothing.
func TestReestablishUnprovenCommitmentNumber(t *testing.T) {
	for _, bump := range []uint64{2, 3, 1000} {
		a, b := newPair(t, pairOptions{})
		l := newLink(t, a, b)
		payCycle(t, l, a, 1)
		l.disconnect()
		outA, err := a.Connected()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.Connected(); err != nil {
			t.Fatal(err)
		}
		m := wireRoundTrip(t, outA.Messages[0]).(*lnwire.ChannelReestablish)
		m.NextCommitmentNumber += bump
		before := b.Marshal()
		_, err = b.Receive(m)
		var pe *ProtocolError
		if !errors.As(err, &pe) || pe.Code == CodeWeLostState || !pe.FailChannel() {
			t.Fatalf("bump %d: got %v, want a channel-failing protocol error", bump, err)
		}
		if !bytes.Equal(before, b.Marshal()) {
			t.Fatalf("bump %d: refused reestablish changed the state", bump)
		}
	}
}
