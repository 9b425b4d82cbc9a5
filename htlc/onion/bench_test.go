package onion

import "testing"

func BenchmarkNewOnion3Hops(b *testing.B) {
	route := newTestRoute(b, 3)
	key := sessionKey(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := NewOnion(key, route.hops, route.hash[:]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkProcessHop measures one forwarding node's work. It uses
// Reprocess so that the replay log does not refuse the repeated onion; the
// log costs one map insert on top.
func BenchmarkProcessHop(b *testing.B) {
	route := newTestRoute(b, 3)
	packet, _, err := NewOnion(sessionKey(b), route.hops, route.hash[:])
	if err != nil {
		b.Fatal(err)
	}
	r, err := NewRouter(route.keys[0], nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Reprocess(packet[:], route.hash[:]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncryptFailure(b *testing.B) {
	enc := NewErrorEncrypterFromSecret([32]byte{1})
	msg := &TemporaryChannelFailure{Update: make([]byte, 136)}
	b.ReportAllocs()
	for b.Loop() {
		enc.EncryptFailure(msg)
	}
}
