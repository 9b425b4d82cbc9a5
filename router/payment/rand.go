package payment

import "crypto/rand"

// cryptoRand reads the operating system's random source.
type cryptoRand struct{}

func (cryptoRand) Read(b []byte) (int, error) { return rand.Read(b) }
