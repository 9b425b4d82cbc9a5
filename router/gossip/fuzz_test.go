package gossip

import (
	"bytes"
	"math/rand"
	"reflect"
	"testing"

	"github.com/flash-ln/flash/channel/lnwire"
)

// fuzzDecoder checks the property every gossip decoder must have: any
// input either fails cleanly or decodes to a message that re-encodes to
// exactly the input, because the signatures cover those bytes.
func fuzzDecoder(f *testing.F, typ lnwire.MessageType) {
	rng := rand.New(rand.NewSource(int64(typ)))
	for i := 0; i < 4; i++ {
		for _, msg := range randomMessages(f, rng) {
			if msg.MsgType() != typ {
				continue
			}
			var b bytes.Buffer
			if err := msg.Encode(&b); err != nil {
				f.Fatal(err)
			}
			f.Add(b.Bytes())
		}
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, payload []byte) {
		msg := NewMessage(typ)
		if err := msg.Decode(bytes.NewReader(payload)); err != nil {
			return
		}
		var b bytes.Buffer
		if err := msg.Encode(&b); err != nil {
			t.Fatalf("decoded %T does not encode: %v", msg, err)
		}
		if !bytes.Equal(b.Bytes(), payload) {
			t.Fatalf("%T: input\n%x\nre-encoded\n%x", msg, payload, b.Bytes())
		}
		again := NewMessage(typ)
		if err := again.Decode(bytes.NewReader(b.Bytes())); err != nil {
			t.Fatalf("re-encoding does not decode: %v", err)
		}
		if !reflect.DeepEqual(again, msg) {
			t.Fatalf("second decode differs")
		}
		// The accessors and checks must not panic on hostile input.
		switch m := msg.(type) {
		case *NodeAnnouncement:
			_, _ = m.Addresses()
			_ = m.AliasString()
			_ = m.Features()
			_ = ValidateNodeAnnouncement(m, testNow)
		case *ChannelAnnouncement:
			_ = m.Features()
			_ = ValidateChannelAnnouncement(m, m.ChainHash)
		case *ChannelUpdate:
			_ = ValidateChannelUpdate(m, NewNodeID(testKey(t, 1).PubKey()), m.ChainHash, testNow)
		}
	})
}

func FuzzChannelAnnouncement(f *testing.F) { fuzzDecoder(f, lnwire.MsgChannelAnnouncement) }
func FuzzNodeAnnouncement(f *testing.F)    { fuzzDecoder(f, lnwire.MsgNodeAnnouncement) }
func FuzzChannelUpdate(f *testing.F)       { fuzzDecoder(f, lnwire.MsgChannelUpdate) }
func FuzzAnnouncementSignatures(f *testing.F) {
	fuzzDecoder(f, lnwire.MsgAnnouncementSignatures)
}
func FuzzGossipTimestampFilter(f *testing.F) { fuzzDecoder(f, lnwire.MsgGossipTimestampFilter) }
func FuzzQueryShortChanIDs(f *testing.F)     { fuzzDecoder(f, lnwire.MsgQueryShortChanIDs) }
func FuzzReplyShortChanIDsEnd(f *testing.F)  { fuzzDecoder(f, lnwire.MsgReplyShortChanIDsEnd) }
func FuzzQueryChannelRange(f *testing.F)     { fuzzDecoder(f, lnwire.MsgQueryChannelRange) }
func FuzzReplyChannelRange(f *testing.F)     { fuzzDecoder(f, lnwire.MsgReplyChannelRange) }

// FuzzParseMessage feeds whole messages, type included, to the dispatcher.
func FuzzParseMessage(f *testing.F) {
	rng := rand.New(rand.NewSource(3))
	for _, msg := range randomMessages(f, rng) {
		raw, err := lnwire.EncodeMessage(msg)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		msg, err := ParseMessage(raw)
		if err != nil {
			return
		}
		if NewMessage(msg.MsgType()) == nil {
			return // lnwire's own types are fuzzed there
		}
		enc, err := lnwire.EncodeMessage(msg)
		if err != nil {
			t.Fatalf("%T does not encode: %v", msg, err)
		}
		if !bytes.Equal(enc, raw) {
			t.Fatalf("%T re-encodes differently", msg)
		}
	})
}
