package wire

import (
	"crypto/ed25519"
	"fmt"
)

// MaxBlockPayload caps any encoded block, whatever a network's consensus maxBlockSize says, so
// that a decoder never allocates more than this for one message.
const MaxBlockPayload = 32 << 20

// BlockOverhead is the encoded size of a block without its transactions' bodies or count.
const BlockOverhead = HeaderSize + ed25519.PublicKeySize + ed25519.SignatureSize

// maxTxCount bounds the transaction count field by what could fit in MaxBlockPayload.
const maxTxCount = MaxBlockPayload / MinTxSize

// Block is a header, its miner's identity and signature, and its transactions (coinbase first).
//
// MinerKey and Signature sit outside the hashed header: the signature is over the header hash, so
// the miner signs once per solved block, not once per nonce. Permissioned networks accept blocks only
// from listed miner keys.
type Block struct {
	Header    Header
	MinerKey  [ed25519.PublicKeySize]byte
	Signature [ed25519.SignatureSize]byte
	Txs       []*Tx
}

// Hash is the block hash (the header's).
func (b *Block) Hash() Hash { return b.Header.Hash() }

// Size is the encoded size in bytes.
func (b *Block) Size() int {
	n := BlockOverhead + UvarintSize(uint64(len(b.Txs)))
	for _, tx := range b.Txs {
		n += tx.Size()
	}
	return n
}

// Encode returns the canonical encoding.
func (b *Block) Encode() []byte {
	w := Writer{buf: make([]byte, 0, b.Size())}
	b.Header.write(&w)
	w.Bytes(b.MinerKey[:])
	w.Bytes(b.Signature[:])
	w.Uvarint(uint64(len(b.Txs)))
	for _, tx := range b.Txs {
		tx.write(&w, true)
	}
	return w.buf
}

// DecodeBlock decodes exactly one block of at most MaxBlockPayload bytes.
func DecodeBlock(data []byte) (*Block, error) {
	if len(data) > MaxBlockPayload {
		return nil, fmt.Errorf("block: %d bytes > %d: %w", len(data), MaxBlockPayload, ErrTooLarge)
	}
	r := Reader{buf: data}
	b := new(Block)
	b.Header.read(&r)
	r.Array(b.MinerKey[:])
	r.Array(b.Signature[:])
	n := r.Uvarint(maxTxCount)
	// Each transaction takes at least MinTxSize bytes: refuse counts the input cannot hold before
	// allocating for them.
	if r.err == nil && n > uint64(len(data)-r.off)/MinTxSize {
		r.fail(fmt.Errorf("tx count %d cannot fit in %d bytes: %w", n, len(data)-r.off, ErrTruncated))
	}
	if r.err == nil && n > 0 {
		b.Txs = make([]*Tx, 0, n)
		for i := uint64(0); i < n && r.err == nil; i++ {
			tx := new(Tx)
			tx.read(&r)
			b.Txs = append(b.Txs, tx)
		}
	}
	if err := r.End(); err != nil {
		return nil, fmt.Errorf("block: %w", err)
	}
	return b, nil
}

// SignBlock sets the miner key and signs the header hash.
func (b *Block) SignBlock(priv ed25519.PrivateKey) {
	copy(b.MinerKey[:], priv.Public().(ed25519.PublicKey))
	h := b.Hash()
	copy(b.Signature[:], ed25519.Sign(priv, h[:]))
}

// VerifyMinerSignature checks the miner's signature over the header hash.
func (b *Block) VerifyMinerSignature() error {
	h := b.Hash()
	if !ed25519.Verify(b.MinerKey[:], h[:], b.Signature[:]) {
		return ErrBadSignature
	}
	return nil
}

// TxIDs returns the ids of the block's transactions in order.
func (b *Block) TxIDs() []Hash {
	ids := make([]Hash, len(b.Txs))
	for i, tx := range b.Txs {
		ids[i] = tx.ID()
	}
	return ids
}
