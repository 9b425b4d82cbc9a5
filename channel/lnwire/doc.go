// Package lnwire implements the wire encoding of the Lightning peer messages:
// the BOLT 1 framing and control messages (init, error, warning, ping, pong),
// the BOLT 2 channel messages (establishment, normal operation, closing and
// reestablishment), the primitive types they are built from, TLV streams and
// BOLT 9 feature vectors.
//
// Every message implements Message. Encode writes the payload (without the
// two-byte type); Decode reads a payload whose remaining bytes, after the
// fixed fields, must form a valid TLV stream. ReadMessage and WriteMessage add
// and strip the type prefix and enforce the 65535-byte message size limit.
//
// Decoding is strict, because every byte comes from an untrusted peer: public
// keys must be valid compressed points, TLV streams must be canonical
// (strictly increasing types, minimal BigSize and truncated integers), and
// unknown even TLV records are rejected while unknown odd ones are kept
// verbatim so that a decoded message encodes back to the same bytes.
//
// The package imports nothing else of Flash so that the channel state
// machine, the daemon and the router can all share it.
package lnwire
