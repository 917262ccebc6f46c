package wire

import "fmt"

// HeaderSize is the encoded size of a block header.
//
// Layout (little-endian): version u32 | prevHash [32] | merkleRoot [32] | timestamp u64 |
// bits u32 | nonce u64 — 88 bytes. SHA-256 compresses 64-byte blocks, so the first block
// (version, prevHash and 28 bytes of merkleRoot) is the same for every nonce: a miner hashes it once
// (the midstate) and per nonce compresses only the last block, which holds the nonce.
const HeaderSize = 88

// Offsets in the encoded header.
const (
	NonceOffset = 80
	// MidstateSize is the prefix of the header covered by the miner's reusable midstate.
	MidstateSize = 64
)

// Header is a block header: the part of a block that proof of work commits to.
type Header struct {
	Version    uint32
	PrevHash   Hash
	MerkleRoot Hash
	// Timestamp is in Unix seconds.
	Timestamp uint64
	// Bits is the compact encoding of the proof-of-work target.
	Bits  uint32
	Nonce uint64
}

// Encode returns the 88-byte canonical encoding.
func (h *Header) Encode() []byte {
	var out [HeaderSize]byte
	h.Put(out[:])
	return out[:]
}

// Put writes the encoding into dst, which must hold HeaderSize bytes.
func (h *Header) Put(dst []byte) {
	w := Writer{buf: dst[:0]}
	h.write(&w)
}

func (h *Header) write(w *Writer) {
	w.U32(h.Version)
	w.Bytes(h.PrevHash[:])
	w.Bytes(h.MerkleRoot[:])
	w.U64(h.Timestamp)
	w.U32(h.Bits)
	w.U64(h.Nonce)
}

func (h *Header) read(r *Reader) {
	h.Version = r.U32()
	r.Array(h.PrevHash[:])
	r.Array(h.MerkleRoot[:])
	h.Timestamp = r.U64()
	h.Bits = r.U32()
	h.Nonce = r.U64()
}

// Hash returns the block hash: SHA-256d of the encoded header.
func (h *Header) Hash() Hash {
	var buf [HeaderSize]byte
	h.Put(buf[:])
	return DoubleSHA256(buf[:])
}

// DecodeHeader decodes exactly one header.
func DecodeHeader(b []byte) (Header, error) {
	var h Header
	if len(b) > HeaderSize {
		return h, fmt.Errorf("header: %d bytes: %w", len(b), ErrTrailingBytes)
	}
	r := Reader{buf: b}
	h.read(&r)
	if err := r.End(); err != nil {
		return Header{}, fmt.Errorf("header: %w", err)
	}
	return h, nil
}
