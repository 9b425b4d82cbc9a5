// Package shachain implements the per-commitment secrets of BOLT 3: their
// generation from a seed, and the compact store of the secrets a peer
// reveals.
//
// The secret with index I is generate_from_seed(seed, I). A channel uses
// the indices from MaxIndex (2^48-1) downwards: commitment number n uses
// index MaxIndex-n. Because each secret can derive every secret whose
// index extends its own with set bits, a receiver only needs to keep 49
// secrets to recall every one received so far (Store); the same property
// lets it check that each new secret belongs to the same seed as all the
// earlier ones.
package shachain
