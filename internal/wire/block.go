package wire

import (
	"crypto/ed25519"
	"fmt"
)

// MaxBlockPayload caps any encoded block, whatever a network's consensus maxBlockSize says, so
// that a decoder never allocates more than this for one message.
const MaxBlockPayload = 32 << 20

// BlockOverhead is the encoded size of a block without its transactions' bodies or count.
const BlockOverhead = HeaderSize + ed25519.SignatureSize

// maxTxCount bounds the transaction count field by what could fit in MaxBlockPayload.
const maxTxCount = MaxBlockPayload / MinTxSize

// Block is a header, its miner's signature, and its transactions (coinbase first).
//
// The miner's key is in the coinbase, so the Merkle root, and with it the proof of work, commits
// to it: a relay cannot swap the key or take credit for another's block without redoing the work.
// The signature sits outside the hashed header because it is over the header hash (the miner signs
// once per solved block, not once per nonce); ed25519 signatures as Go verifies them are not
// malleable, so only the key's holder can produce another valid one. Permissioned networks accept
// blocks only from their members' miner keys.
type Block struct {
	Header    Header
	Signature [ed25519.SignatureSize]byte
	Txs       []*Tx
}

// MinerKey is the key the coinbase names as the block's signer (zero without a coinbase).
func (b *Block) MinerKey() [ed25519.PublicKeySize]byte {
	if len(b.Txs) == 0 || !b.Txs[0].IsCoinbase() {
		return [ed25519.PublicKeySize]byte{}
	}
	return b.Txs[0].MinerKey
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

// SignBlock signs the header hash. The coinbase must already name priv's public key (the Merkle
// root commits to it); a block signed by another key fails VerifyMinerSignature.
func (b *Block) SignBlock(priv ed25519.PrivateKey) {
	h := b.Hash()
	copy(b.Signature[:], ed25519.Sign(priv, h[:]))
}

// VerifyFunc verifies an ed25519 signature: ed25519.Verify, or a signature cache in front of it.
type VerifyFunc func(pub, msg, sig []byte) bool

// Ed25519Verify is ed25519.Verify as a VerifyFunc.
func Ed25519Verify(pub, msg, sig []byte) bool { return ed25519.Verify(pub, msg, sig) }

// VerifyMinerSignature checks the signature over the header hash against the coinbase's miner key.
func (b *Block) VerifyMinerSignature() error { return b.VerifyMinerSignatureWith(Ed25519Verify) }

// VerifyMinerSignatureWith is VerifyMinerSignature through verify.
func (b *Block) VerifyMinerSignatureWith(verify VerifyFunc) error {
	h := b.Hash()
	key := b.MinerKey()
	if !verify(key[:], h[:], b.Signature[:]) {
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
