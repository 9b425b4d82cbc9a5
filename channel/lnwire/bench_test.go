package lnwire

import (
	"bytes"
	"testing"
)

func benchMessages(b *testing.B) (add *UpdateAddHTLC, commit *CommitmentSigned) {
	g := newGen(b, 42)
	add = g.message(MsgUpdateAddHTLC).(*UpdateAddHTLC)
	add.ExtraRecords, add.PathKey = nil, nil
	commit = &CommitmentSigned{ChannelID: g.b32(), Signature: g.sig()}
	for range 10 {
		commit.HTLCSignatures = append(commit.HTLCSignatures, g.sig())
	}
	return add, commit
}

func benchEncode(b *testing.B, msg Message) {
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if _, err := AppendMessage(&buf, msg); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(buf.Len()))
}

func benchDecode(b *testing.B, msg Message) {
	raw, err := EncodeMessage(msg)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseMessage(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeUpdateAddHTLC(b *testing.B) {
	add, _ := benchMessages(b)
	benchEncode(b, add)
}

func BenchmarkDecodeUpdateAddHTLC(b *testing.B) {
	add, _ := benchMessages(b)
	benchDecode(b, add)
}

func BenchmarkEncodeCommitmentSigned10(b *testing.B) {
	_, commit := benchMessages(b)
	benchEncode(b, commit)
}

func BenchmarkDecodeCommitmentSigned10(b *testing.B) {
	_, commit := benchMessages(b)
	benchDecode(b, commit)
}
