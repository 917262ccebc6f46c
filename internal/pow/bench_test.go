package pow

import (
	"crypto/sha256"
	"encoding/json"
	"testing"

	"github.com/chainnet/chainnet/internal/wire"
)

// The mining benchmarks compare, in one run, three ways to hash a header per nonce:
//   - Naive: sha256.Sum256(sha256.Sum256(encoded header)), re-encoding the nonce — the baseline.
//   - Midstate: our HeaderHasher (restore the state after the first 64 bytes).
//   - JSON: SHA-256 of the JSON-encoded block header, as in the classic tutorial chain.
// `make bench` prints their ratios.

func benchHeader() wire.Header {
	return wire.Header{Version: 1, PrevHash: wire.DoubleSHA256([]byte("p")), MerkleRoot: wire.DoubleSHA256([]byte("m")), Timestamp: 1_700_000_000, Bits: 0x1e00ffff}
}

var sink wire.Hash

func BenchmarkHashNaive(b *testing.B) {
	h := benchHeader()
	var buf [wire.HeaderSize]byte
	h.Put(buf[:])
	b.SetBytes(wire.HeaderSize)
	for i := 0; b.Loop(); i++ {
		buf[wire.NonceOffset] = byte(i)
		buf[wire.NonceOffset+1] = byte(i >> 8)
		first := sha256.Sum256(buf[:])
		sink = sha256.Sum256(first[:])
	}
}

func BenchmarkHashMidstate(b *testing.B) {
	h := benchHeader()
	hasher, err := NewHeaderHasher(&h)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(wire.HeaderSize)
	for i := 0; b.Loop(); i++ {
		sink = hasher.Hash(uint64(i))
	}
}

type tutorialBlock struct {
	Index        uint64 `json:"index"`
	Timestamp    uint64 `json:"timestamp"`
	PreviousHash string `json:"previous_hash"`
	MerkleRoot   string `json:"merkle_root"`
	Bits         uint32 `json:"bits"`
	Nonce        uint64 `json:"nonce"`
}

func BenchmarkHashJSON(b *testing.B) {
	h := benchHeader()
	blk := tutorialBlock{Index: 1, Timestamp: h.Timestamp, PreviousHash: h.PrevHash.String(), MerkleRoot: h.MerkleRoot.String(), Bits: h.Bits}
	for i := 0; b.Loop(); i++ {
		blk.Nonce = uint64(i)
		enc, _ := json.Marshal(blk)
		sink = sha256.Sum256(enc)
	}
}

// BenchmarkHashKernel hashes two nonces per call with the SHA-NI kernel (or its fallback).
func BenchmarkHashKernel(b *testing.B) {
	h := benchHeader()
	hasher, err := NewHeaderHasher(&h)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(2 * wire.HeaderSize)
	for i := uint64(0); b.Loop(); i += 2 {
		sink, _ = hasher.Hash2(i)
	}
}
