package gossip

import (
	"bytes"
	"encoding/binary"

	"github.com/flash-ln/flash/channel/lnwire"
)

// NewMessage returns an empty gossip message of type t, or nil when t is
// not a gossip type this package decodes. The daemon's message reader
// consults it for the types lnwire leaves as unknown.
func NewMessage(t lnwire.MessageType) lnwire.Message {
	switch t {
	case lnwire.MsgChannelAnnouncement:
		return &ChannelAnnouncement{}
	case lnwire.MsgNodeAnnouncement:
		return &NodeAnnouncement{}
	case lnwire.MsgChannelUpdate:
		return &ChannelUpdate{}
	case lnwire.MsgAnnouncementSignatures:
		return &AnnouncementSignatures{}
	case lnwire.MsgGossipTimestampFilter:
		return &GossipTimestampFilter{}
	case lnwire.MsgQueryShortChanIDs:
		return &QueryShortChanIDs{}
	case lnwire.MsgReplyShortChanIDsEnd:
		return &ReplyShortChanIDsEnd{}
	case lnwire.MsgQueryChannelRange:
		return &QueryChannelRange{}
	case lnwire.MsgReplyChannelRange:
		return &ReplyChannelRange{}
	}
	return nil
}

// ParseMessage decodes a whole message, type included. It decodes the
// gossip types of this package and hands every other type to
// lnwire.ParseMessage, so a peer's reader can call it for all traffic.
func ParseMessage(b []byte) (lnwire.Message, error) {
	if len(b) > lnwire.MaxMessageSize {
		return nil, lnwire.ErrMessageTooLarge
	}
	if len(b) < 2 {
		return nil, lnwire.ErrMessageTooShort
	}
	t := lnwire.MessageType(binary.BigEndian.Uint16(b))
	msg := NewMessage(t)
	if msg == nil {
		return lnwire.ParseMessage(b)
	}
	if err := msg.Decode(bytes.NewReader(b[2:])); err != nil {
		return nil, &lnwire.MessageError{Type: t, Err: err}
	}
	return msg, nil
}
