package pow

import (
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"fmt"
	"hash"

	"github.com/chainnet/chainnet/internal/wire"
)

// HeaderHasher hashes one header template for many nonces, reusing the SHA-256 state after the
// first 64-byte block (the midstate). Per nonce it compresses only the final block, then hashes
// the 32-byte digest once more: two compressions instead of three.
//
// On amd64 with the SHA extensions, Hash2 runs a kernel (shani_amd64.s) that does both
// compressions for two nonces interleaved, so each lane's SHA256RNDS2 latency hides behind the
// other's. Elsewhere it falls back to crypto/sha256, restoring the midstate with UnmarshalBinary
// (hash.Cloner's Clone allocates on every call and gains nothing). Not safe for concurrent use:
// give each mining thread its own.
type HeaderHasher struct {
	midstate []byte
	digest   hash.Hash
	restore  encoding.BinaryUnmarshaler
	tail     [wire.HeaderSize - wire.MidstateSize]byte
	first    [sha256.Size]byte
	job      niJob
	out      [2][32]byte
}

// niJob is the kernel's input, read by the assembly at fixed offsets: the midstate in SHA-NI
// order at 0, and each lane's 16 message words (the header's second block, padded) at 32 and 96.
type niJob struct {
	mid [8]uint32
	w   [2][16]uint32
}

// The nonce's words in the second block: header bytes 80..87 are block bytes 16..23.
const nonceWord = (wire.NonceOffset - wire.MidstateSize) / 4

// NewHeaderHasher prepares a hasher for header (its nonce is ignored).
func NewHeaderHasher(header *wire.Header) (*HeaderHasher, error) {
	var enc [wire.HeaderSize]byte
	header.Put(enc[:])
	d := sha256.New()
	d.Write(enc[:wire.MidstateSize])
	mid, err := d.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("midstate: %w", err)
	}
	h := &HeaderHasher{midstate: mid, digest: d, restore: d.(encoding.BinaryUnmarshaler)}
	copy(h.tail[:], enc[wire.MidstateSize:])
	if err := h.prepareJob(mid); err != nil {
		return nil, err
	}
	return h, nil
}

// prepareJob lays out the kernel's input from the marshalled midstate ("sha\x03", then the eight
// state words big-endian) and the header's tail.
func (h *HeaderHasher) prepareJob(marshalled []byte) error {
	const magicLen = 4
	if len(marshalled) < magicLen+32 || string(marshalled[:3]) != "sha" {
		return fmt.Errorf("midstate: unexpected sha256 state encoding")
	}
	var s [8]uint32 // a..h
	for i := range s {
		s[i] = binary.BigEndian.Uint32(marshalled[magicLen+4*i:])
	}
	h.job.mid = [8]uint32{s[5], s[4], s[1], s[0], s[7], s[6], s[3], s[2]}
	var block [64]byte
	copy(block[:], h.tail[:])
	block[len(h.tail)] = 0x80
	binary.BigEndian.PutUint64(block[56:], wire.HeaderSize*8)
	for lane := range h.job.w {
		for i := range h.job.w[lane] {
			h.job.w[lane][i] = binary.BigEndian.Uint32(block[4*i:])
		}
	}
	return nil
}

// Hash returns the header hash with the given nonce.
func (h *HeaderHasher) Hash(nonce uint64) wire.Hash {
	binary.LittleEndian.PutUint64(h.tail[wire.NonceOffset-wire.MidstateSize:], nonce)
	if err := h.restore.UnmarshalBinary(h.midstate); err != nil {
		// The state came from MarshalBinary of the same implementation: this cannot fail.
		panic(fmt.Sprintf("restore sha256 midstate: %v", err))
	}
	h.digest.Write(h.tail[:])
	h.digest.Sum(h.first[:0])
	return sha256.Sum256(h.first[:])
}

// Hash2 returns the header hashes with nonces nonce and nonce+1.
func (h *HeaderHasher) Hash2(nonce uint64) (wire.Hash, wire.Hash) {
	if !haveSHANI {
		return h.Hash(nonce), h.Hash(nonce + 1)
	}
	h.setNonce(0, nonce)
	h.setNonce(1, nonce+1)
	hash2SHANI(&h.job, &h.out)
	return h.out[0], h.out[1]
}

// setNonce writes a little-endian nonce into a lane's message words, which are big-endian.
func (h *HeaderHasher) setNonce(lane int, nonce uint64) {
	h.job.w[lane][nonceWord] = bswap32(uint32(nonce))
	h.job.w[lane][nonceWord+1] = bswap32(uint32(nonce >> 32))
}

func bswap32(x uint32) uint32 { return x>>24 | x>>8&0xff00 | x<<8&0xff0000 | x<<24 }

// Search tries n nonces from start (n even) and returns the first whose hash meets target.
func (h *HeaderHasher) Search(start, n uint64, target *[32]byte) (uint64, bool) {
	for nonce := start; nonce-start < n; nonce += 2 {
		a, b := h.Hash2(nonce)
		if Meets(a, target) {
			return nonce, true
		}
		if Meets(b, target) {
			return nonce + 1, true
		}
	}
	return 0, false
}

// Accelerated reports whether Hash2 runs the SHA-NI kernel on this machine.
func Accelerated() bool { return haveSHANI }

// Meets reports whether hash ≤ target, comparing bytes big-endian without allocating.
func Meets(hash wire.Hash, target *[32]byte) bool {
	for i := range hash {
		if hash[i] != target[i] {
			return hash[i] < target[i]
		}
	}
	return true
}

// TargetBytes renders a target as 32 big-endian bytes for Meets.
func TargetBytes(bits uint32) [32]byte {
	var out [32]byte
	t := CompactToBig(bits)
	if t.Sign() > 0 && t.BitLen() <= 256 {
		t.FillBytes(out[:])
	}
	return out
}
