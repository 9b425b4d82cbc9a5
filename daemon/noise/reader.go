package noise

import (
	"errors"
	"io"
	"os"
)

// frameReader reads frames from a byte stream into a Session. It keeps the
// bytes of a partly read frame, so a read that times out (a deadline set for
// liveness checks) can be retried without losing the stream's alignment.
// Any other failure is final.
type frameReader struct {
	session *Session

	header  [LengthHeaderSize]byte
	headerN int

	// bodyLen is the length of the current frame's body including its
	// tag, or -1 while the header is incomplete.
	bodyLen int
	body    []byte
	bodyN   int

	err error
}

func newFrameReader(s *Session) *frameReader {
	return &frameReader{session: s, bodyLen: -1}
}

// readMessage returns the next message. It returns io.EOF only when the
// stream ends cleanly between frames, and a timeout error (errors.Is
// os.ErrDeadlineExceeded) that leaves the reader usable; every other error
// leaves it failed.
func (f *frameReader) readMessage(r io.Reader) ([]byte, error) {
	if f.err != nil {
		return nil, f.err
	}
	if f.bodyLen < 0 {
		if err := f.fill(r, f.header[:], &f.headerN); err != nil {
			return nil, err
		}
		n, err := f.session.OpenHeader(f.header[:])
		if err != nil {
			f.err = err
			return nil, err
		}
		f.bodyLen = n + MACSize
		if cap(f.body) < f.bodyLen {
			f.body = make([]byte, f.bodyLen)
		}
		f.body = f.body[:f.bodyLen]
		f.bodyN = 0
	}
	if err := f.fill(r, f.body, &f.bodyN); err != nil {
		return nil, err
	}
	// The caller owns the message: decrypt into a fresh slice rather than
	// the reused body buffer.
	msg, err := f.session.OpenBody(make([]byte, 0, f.bodyLen-MACSize), f.body)
	if err != nil {
		f.err = err
		return nil, err
	}
	f.headerN, f.bodyLen = 0, -1
	return msg, nil
}

// fill reads into buf[*n:] until buf is full.
func (f *frameReader) fill(r io.Reader, buf []byte, n *int) error {
	for *n < len(buf) {
		m, err := r.Read(buf[*n:])
		*n += m
		if *n == len(buf) {
			return nil
		}
		if err == nil {
			continue
		}
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			return err
		case errors.Is(err, io.EOF) && f.atFrameStart():
			f.err = io.EOF
		case errors.Is(err, io.EOF):
			f.err = io.ErrUnexpectedEOF
		default:
			f.err = err
		}
		return f.err
	}
	return nil
}

func (f *frameReader) atFrameStart() bool {
	return f.bodyLen < 0 && f.headerN == 0
}
