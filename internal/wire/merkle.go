package wire

import "crypto/sha256"

// MerkleRoot computes the Merkle root of transaction ids.
//
// Interior nodes are SHA-256d(0x01 | left | right); a level with an odd count promotes its last
// node unchanged instead of pairing it with itself, which avoids Bitcoin's duplicate-leaf ambiguity
// (CVE-2012-2459): two different transaction lists never share a root. The root of no
// transactions is the zero hash.
func MerkleRoot(ids []Hash) Hash {
	if len(ids) == 0 {
		return ZeroHash
	}
	level := append([]Hash(nil), ids...)
	var buf [1 + 2*HashSize]byte
	buf[0] = 0x01
	for len(level) > 1 {
		next := level[:0]
		for i := 0; i < len(level); i += 2 {
			if i+1 == len(level) {
				next = append(next, level[i])
				continue
			}
			copy(buf[1:], level[i][:])
			copy(buf[1+HashSize:], level[i+1][:])
			first := sha256.Sum256(buf[:])
			next = append(next, sha256.Sum256(first[:]))
		}
		level = next
	}
	return level[0]
}

// ComputeMerkleRoot is the Merkle root of the block's transactions.
func (b *Block) ComputeMerkleRoot() Hash { return MerkleRoot(b.TxIDs()) }
