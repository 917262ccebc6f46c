package wire

import (
	"crypto/ed25519"
	"errors"
	"fmt"

	"github.com/chainnet/chainnet/internal/keys"
)

// TxType tells how a transaction is laid out and what it does.
type TxType uint8

const (
	// TxTransfer moves Amount from the account of From to To, paying Fee to the block's miner.
	TxTransfer TxType = 1
	// TxCoinbase creates the block reward plus fees and pays it to To. One per block, first.
	TxCoinbase TxType = 2
)

// Encoded sizes.
const (
	// TransferSize: type u8 | chainId u64 | from [32] | to [20] | amount u64 | fee u64 |
	// nonce u64 | signature [64].
	TransferSize = 1 + 8 + ed25519.PublicKeySize + keys.AddressSize + 8 + 8 + 8 + ed25519.SignatureSize
	// CoinbaseSize: type u8 | chainId u64 | to [20] | amount u64 | height u64.
	CoinbaseSize = 1 + 8 + keys.AddressSize + 8 + 8
	// MinTxSize is the smallest encoded transaction.
	MinTxSize = CoinbaseSize
	// MaxTxSize is the largest encoded transaction.
	MaxTxSize = TransferSize
)

// ErrBadSignature is returned by VerifySignature for a signature that does not verify.
var ErrBadSignature = errors.New("invalid signature")

// Tx is an account-based transaction.
type Tx struct {
	Type TxType
	// ChainID binds the transaction to one network (replay protection).
	ChainID uint64
	// From is the sender's ed25519 public key (transfers only).
	From [ed25519.PublicKeySize]byte
	To   keys.Address
	// Amount is in base units; for a coinbase, the reward plus the block's fees.
	Amount uint64
	Fee    uint64
	// Nonce is the sender's account nonce (transfers); for a coinbase, the block height, which
	// makes every coinbase id unique.
	Nonce     uint64
	Signature [ed25519.SignatureSize]byte
}

// NewCoinbase builds the coinbase transaction of the block at height.
func NewCoinbase(chainID uint64, to keys.Address, amount, height uint64) *Tx {
	return &Tx{Type: TxCoinbase, ChainID: chainID, To: to, Amount: amount, Nonce: height}
}

// IsCoinbase reports whether tx is a coinbase.
func (tx *Tx) IsCoinbase() bool { return tx.Type == TxCoinbase }

// Sender returns the address of the sending account (zero for a coinbase).
func (tx *Tx) Sender() keys.Address {
	if tx.IsCoinbase() {
		return keys.Address{}
	}
	return keys.AddressOf(tx.From[:])
}

// Size is the encoded size in bytes.
func (tx *Tx) Size() int {
	if tx.IsCoinbase() {
		return CoinbaseSize
	}
	return TransferSize
}

// Encode returns the canonical encoding.
func (tx *Tx) Encode() []byte {
	w := Writer{buf: make([]byte, 0, tx.Size())}
	tx.write(&w, true)
	return w.buf
}

func (tx *Tx) write(w *Writer, withSignature bool) {
	w.U8(uint8(tx.Type))
	w.U64(tx.ChainID)
	if tx.IsCoinbase() {
		w.Bytes(tx.To[:])
		w.U64(tx.Amount)
		w.U64(tx.Nonce)
		return
	}
	w.Bytes(tx.From[:])
	w.Bytes(tx.To[:])
	w.U64(tx.Amount)
	w.U64(tx.Fee)
	w.U64(tx.Nonce)
	if withSignature {
		w.Bytes(tx.Signature[:])
	}
}

func (tx *Tx) read(r *Reader) {
	tx.Type = TxType(r.U8())
	switch tx.Type {
	case TxTransfer, TxCoinbase:
	default:
		if r.err == nil {
			r.fail(fmt.Errorf("type %d: %w", tx.Type, ErrUnknownTxType))
		}
		return
	}
	tx.ChainID = r.U64()
	if tx.IsCoinbase() {
		r.Array(tx.To[:])
		tx.Amount = r.U64()
		tx.Nonce = r.U64()
		return
	}
	r.Array(tx.From[:])
	r.Array(tx.To[:])
	tx.Amount = r.U64()
	tx.Fee = r.U64()
	tx.Nonce = r.U64()
	r.Array(tx.Signature[:])
}

// DecodeTx decodes exactly one transaction.
func DecodeTx(b []byte) (*Tx, error) {
	if len(b) > MaxTxSize {
		return nil, fmt.Errorf("tx: %d bytes > %d: %w", len(b), MaxTxSize, ErrTooLarge)
	}
	r := Reader{buf: b}
	tx := new(Tx)
	tx.read(&r)
	if err := r.End(); err != nil {
		return nil, fmt.Errorf("tx: %w", err)
	}
	return tx, nil
}

// ID is the transaction id: SHA-256d of the full encoding. ed25519 signatures (as Go verifies
// them) are not malleable, so the id of a valid transaction cannot be changed by a relayer.
func (tx *Tx) ID() Hash { return DoubleSHA256(tx.Encode()) }

// SigHash is the message a transfer's signature covers: SHA-256d of the encoding without the
// signature. It includes ChainID, so a signature is valid on one network only.
func (tx *Tx) SigHash() Hash {
	w := Writer{buf: make([]byte, 0, TransferSize)}
	tx.write(&w, false)
	return DoubleSHA256(w.buf)
}

// Sign sets From to the key's public key and signs the transaction.
func (tx *Tx) Sign(k *keys.Key) {
	copy(tx.From[:], k.Public)
	h := tx.SigHash()
	copy(tx.Signature[:], k.Sign(h[:]))
}

// VerifySignature checks a transfer's signature against From.
func (tx *Tx) VerifySignature() error {
	if tx.IsCoinbase() {
		return nil
	}
	h := tx.SigHash()
	if !ed25519.Verify(tx.From[:], h[:], tx.Signature[:]) {
		return ErrBadSignature
	}
	return nil
}
