// Package wire owns the canonical binary encoding of chain objects — block headers, blocks and
// transactions — and their identities (SHA-256d hashes, Merkle roots).
//
// Decoding is strict: every length is bounded, integers have exactly one encoding (fixed-width
// little-endian, or minimal unsigned varints for counts), unknown types are rejected and trailing
// bytes are an error. So a given object has exactly one byte string, and its hash is its identity.
package wire
