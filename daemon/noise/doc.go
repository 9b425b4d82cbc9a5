// Package noise implements the encrypted and authenticated transport of
// BOLT 8: a Noise_XK handshake over secp256k1 with ChaCha20-Poly1305 and
// SHA-256, followed by a stream of length-prefixed encrypted messages whose
// keys are rotated every 1000 uses.
//
// The package has two layers. Handshake and Session are pure state machines
// without I/O: a Handshake turns the three 50/50/66-byte acts into a Session,
// and a Session seals and opens message frames. They are driven by the BOLT 8
// test vectors directly. Conn, Dial, Client, Server and Listener put those
// machines on a net.Conn, with deadlines for the handshake and a closed
// connection after any failure a peer can cause.
//
// A frame on the wire is an 18-byte encrypted length header (2-byte big-endian
// length and its 16-byte tag) followed by the encrypted message and its
// 16-byte tag. A message is at most MaxMessageSize (65535) bytes.
package noise
