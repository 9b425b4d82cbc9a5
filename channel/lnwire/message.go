package lnwire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// MaxMessageSize is the largest message BOLT 1 allows, type included: the
// BOLT 8 transport carries lengths in two bytes.
const MaxMessageSize = math.MaxUint16

// MaxPayloadSize is the largest payload after the two-byte type.
const MaxPayloadSize = MaxMessageSize - 2

// MessageType is the two-byte type that starts every message (BOLT 1
// "Lightning Message Format").
type MessageType uint16

// Message types of BOLT 1, 2 and 7. Only those with a Go type in this package
// are decoded; the rest come back from ReadMessage as *UnknownMessage.
const (
	// BOLT 1 "Setup Messages" and "Control Messages".
	MsgWarning              MessageType = 1
	MsgPeerStorage          MessageType = 7
	MsgPeerStorageRetrieval MessageType = 9
	MsgInit                 MessageType = 16
	MsgError                MessageType = 17
	MsgPing                 MessageType = 18
	MsgPong                 MessageType = 19

	// BOLT 2 "Channel Quiescence", "Channel Establishment" and "Channel Close".
	MsgStfu            MessageType = 2
	MsgOpenChannel     MessageType = 32
	MsgAcceptChannel   MessageType = 33
	MsgFundingCreated  MessageType = 34
	MsgFundingSigned   MessageType = 35
	MsgChannelReady    MessageType = 36
	MsgShutdown        MessageType = 38
	MsgClosingSigned   MessageType = 39
	MsgClosingComplete MessageType = 40
	MsgClosingSig      MessageType = 41

	// BOLT 2 interactive transaction construction (dual funding, splicing).
	MsgOpenChannel2   MessageType = 64
	MsgAcceptChannel2 MessageType = 65
	MsgTxAddInput     MessageType = 66
	MsgTxAddOutput    MessageType = 67
	MsgTxRemoveInput  MessageType = 68
	MsgTxRemoveOutput MessageType = 69
	MsgTxComplete     MessageType = 70
	MsgTxSignatures   MessageType = 71
	MsgTxInitRbf      MessageType = 72
	MsgTxAckRbf       MessageType = 73
	MsgTxAbort        MessageType = 74
	MsgSpliceLocked   MessageType = 77
	MsgSpliceInit     MessageType = 80
	MsgSpliceAck      MessageType = 81

	// BOLT 2 "Normal Operation" and "Message Retransmission".
	MsgUpdateAddHTLC           MessageType = 128
	MsgUpdateFulfillHTLC       MessageType = 130
	MsgUpdateFailHTLC          MessageType = 131
	MsgCommitmentSigned        MessageType = 132
	MsgRevokeAndAck            MessageType = 133
	MsgUpdateFee               MessageType = 134
	MsgUpdateFailMalformedHTLC MessageType = 135
	MsgChannelReestablish      MessageType = 136

	// BOLT 7 gossip.
	MsgChannelAnnouncement    MessageType = 256
	MsgNodeAnnouncement       MessageType = 257
	MsgChannelUpdate          MessageType = 258
	MsgAnnouncementSignatures MessageType = 259
	MsgQueryShortChanIDs      MessageType = 261
	MsgReplyShortChanIDsEnd   MessageType = 262
	MsgQueryChannelRange      MessageType = 263
	MsgReplyChannelRange      MessageType = 264
	MsgGossipTimestampFilter  MessageType = 265
)

var msgTypeNames = map[MessageType]string{
	MsgWarning: "warning", MsgPeerStorage: "peer_storage",
	MsgPeerStorageRetrieval: "peer_storage_retrieval", MsgInit: "init",
	MsgError: "error", MsgPing: "ping", MsgPong: "pong", MsgStfu: "stfu",
	MsgOpenChannel: "open_channel", MsgAcceptChannel: "accept_channel",
	MsgFundingCreated: "funding_created", MsgFundingSigned: "funding_signed",
	MsgChannelReady: "channel_ready", MsgShutdown: "shutdown",
	MsgClosingSigned: "closing_signed", MsgClosingComplete: "closing_complete",
	MsgClosingSig: "closing_sig", MsgOpenChannel2: "open_channel2",
	MsgAcceptChannel2: "accept_channel2", MsgTxAddInput: "tx_add_input",
	MsgTxAddOutput: "tx_add_output", MsgTxRemoveInput: "tx_remove_input",
	MsgTxRemoveOutput: "tx_remove_output", MsgTxComplete: "tx_complete",
	MsgTxSignatures: "tx_signatures", MsgTxInitRbf: "tx_init_rbf",
	MsgTxAckRbf: "tx_ack_rbf", MsgTxAbort: "tx_abort",
	MsgSpliceLocked: "splice_locked", MsgSpliceInit: "splice_init",
	MsgSpliceAck: "splice_ack", MsgUpdateAddHTLC: "update_add_htlc",
	MsgUpdateFulfillHTLC: "update_fulfill_htlc",
	MsgUpdateFailHTLC:    "update_fail_htlc", MsgCommitmentSigned: "commitment_signed",
	MsgRevokeAndAck: "revoke_and_ack", MsgUpdateFee: "update_fee",
	MsgUpdateFailMalformedHTLC: "update_fail_malformed_htlc",
	MsgChannelReestablish:      "channel_reestablish",
	MsgChannelAnnouncement:     "channel_announcement",
	MsgNodeAnnouncement:        "node_announcement", MsgChannelUpdate: "channel_update",
	MsgAnnouncementSignatures: "announcement_signatures",
	MsgQueryShortChanIDs:      "query_short_channel_ids",
	MsgReplyShortChanIDsEnd:   "reply_short_channel_ids_end",
	MsgQueryChannelRange:      "query_channel_range",
	MsgReplyChannelRange:      "reply_channel_range",
	MsgGossipTimestampFilter:  "gossip_timestamp_filter",
}

// String returns the BOLT name of the type, or "unknown(N)".
func (t MessageType) String() string {
	if n, ok := msgTypeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("unknown(%d)", uint16(t))
}

// IsOdd reports whether the type is odd: per BOLT 1 a node ignores an
// unknown odd message but must close the connection on an unknown even one.
func (t MessageType) IsOdd() bool { return t%2 == 1 }

// Message is one Lightning peer message.
type Message interface {
	// MsgType returns the message's two-byte type.
	MsgType() MessageType
	// Encode appends the payload, without the type, to w.
	Encode(w *bytes.Buffer) error
	// Decode replaces the message with the payload read from r. The
	// payload extends to the end of r: bytes after the fixed fields are
	// read as the message's TLV stream.
	Decode(r io.Reader) error
}

// UnknownMessage is a message of a type this package does not decode. The
// caller applies BOLT 1's rule: ignore it if the type is odd, fail the
// connection if it is even.
type UnknownMessage struct {
	Type    MessageType
	Payload []byte
}

// MsgType returns the message's type.
func (m *UnknownMessage) MsgType() MessageType { return m.Type }

// Encode appends the raw payload.
func (m *UnknownMessage) Encode(w *bytes.Buffer) error {
	w.Write(m.Payload)
	return nil
}

// Decode reads the whole of r as the payload. The type is not on the reader
// and must be set by the caller.
func (m *UnknownMessage) Decode(r io.Reader) error {
	p, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m.Payload = p
	return nil
}

// ErrMessageTooLarge is returned for a message over MaxMessageSize.
var ErrMessageTooLarge = errors.New("message exceeds 65535 bytes")

// ErrMessageTooShort is returned when a message has no room for its type.
var ErrMessageTooShort = errors.New("message shorter than its two-byte type")

// MessageError reports a message that could not be decoded or encoded. Err
// wraps a *FieldError naming the field; errors.Is(err, io.ErrUnexpectedEOF)
// tells a truncated payload from a malformed one.
type MessageError struct {
	Type MessageType
	Err  error
}

func (e *MessageError) Error() string { return e.Type.String() + ": " + e.Err.Error() }
func (e *MessageError) Unwrap() error { return e.Err }

// NewMessage returns an empty message of the given type, or nil if this
// package does not know the type.
func NewMessage(t MessageType) Message {
	switch t {
	case MsgInit:
		return &Init{}
	case MsgError:
		return &Error{}
	case MsgWarning:
		return &Warning{}
	case MsgPing:
		return &Ping{}
	case MsgPong:
		return &Pong{}
	case MsgOpenChannel:
		return &OpenChannel{}
	case MsgAcceptChannel:
		return &AcceptChannel{}
	case MsgFundingCreated:
		return &FundingCreated{}
	case MsgFundingSigned:
		return &FundingSigned{}
	case MsgChannelReady:
		return &ChannelReady{}
	case MsgShutdown:
		return &Shutdown{}
	case MsgClosingSigned:
		return &ClosingSigned{}
	case MsgUpdateAddHTLC:
		return &UpdateAddHTLC{}
	case MsgUpdateFulfillHTLC:
		return &UpdateFulfillHTLC{}
	case MsgUpdateFailHTLC:
		return &UpdateFailHTLC{}
	case MsgUpdateFailMalformedHTLC:
		return &UpdateFailMalformedHTLC{}
	case MsgCommitmentSigned:
		return &CommitmentSigned{}
	case MsgRevokeAndAck:
		return &RevokeAndAck{}
	case MsgUpdateFee:
		return &UpdateFee{}
	case MsgChannelReestablish:
		return &ChannelReestablish{}
	}
	return nil
}

// ParseMessage decodes one whole message, type prefix included, as it comes
// out of a BOLT 8 transport frame. An unknown type yields *UnknownMessage
// and no error.
func ParseMessage(b []byte) (Message, error) {
	if len(b) > MaxMessageSize {
		return nil, ErrMessageTooLarge
	}
	if len(b) < 2 {
		return nil, ErrMessageTooShort
	}
	t := MessageType(binary.BigEndian.Uint16(b))
	payload := b[2:]
	msg := NewMessage(t)
	if msg == nil {
		return &UnknownMessage{Type: t, Payload: append([]byte{}, payload...)}, nil
	}
	if err := msg.Decode(bytes.NewReader(payload)); err != nil {
		return nil, &MessageError{Type: t, Err: err}
	}
	return msg, nil
}

// ReadMessage reads r to its end as one message (a transport frame's
// plaintext), reading at most MaxMessageSize bytes.
func ReadMessage(r io.Reader) (Message, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxMessageSize+1))
	if err != nil {
		return nil, err
	}
	return ParseMessage(b)
}

// AppendMessage appends the type and payload of msg to w and returns the
// number of bytes written. On error w is left as it was.
func AppendMessage(w *bytes.Buffer, msg Message) (int, error) {
	start := w.Len()
	var t [2]byte
	binary.BigEndian.PutUint16(t[:], uint16(msg.MsgType()))
	w.Write(t[:])
	if err := msg.Encode(w); err != nil {
		w.Truncate(start)
		return 0, &MessageError{Type: msg.MsgType(), Err: err}
	}
	if n := w.Len() - start; n > MaxMessageSize {
		w.Truncate(start)
		return 0, &MessageError{Type: msg.MsgType(), Err: ErrMessageTooLarge}
	}
	return w.Len() - start, nil
}

// WriteMessage writes msg with its type prefix to w in one Write call, so a
// transport can treat each call as one frame.
func WriteMessage(w io.Writer, msg Message) (int, error) {
	var b bytes.Buffer
	if _, err := AppendMessage(&b, msg); err != nil {
		return 0, err
	}
	return w.Write(b.Bytes())
}

// EncodeMessage returns the type-prefixed encoding of msg.
func EncodeMessage(msg Message) ([]byte, error) {
	var b bytes.Buffer
	if _, err := AppendMessage(&b, msg); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
