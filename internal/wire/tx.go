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
	// TxCoinbase creates the block reward plus fees and pays it to To. One per block, first. It
	// names the key that signs the block (MinerKey), so the proof of work commits to the miner:
	// no relay can swap the key or the credit.
	TxCoinbase TxType = 2
	// TxGovernance carries a governance action of a permissioned network (a proposal, an approval,
	// an organization's change to its own nodes), signed by an organization's admin key (From).
	// Payload is the action; internal/governance decodes and judges it.
	TxGovernance TxType = 3
)

// Encoded sizes.
const (
	// TransferSize: type u8 | chainId u64 | from [32] | to [20] | amount u64 | fee u64 |
	// nonce u64 | signature [64].
	TransferSize = 1 + 8 + ed25519.PublicKeySize + keys.AddressSize + 8 + 8 + 8 + ed25519.SignatureSize
	// CoinbaseSize: type u8 | chainId u64 | to [20] | amount u64 | height u64 | minerKey [32].
	CoinbaseSize = 1 + 8 + keys.AddressSize + 8 + 8 + ed25519.PublicKeySize
	// GovernanceBaseSize is a governance transaction without its payload and the payload's length:
	// type u8 | chainId u64 | from [32] | fee u64 | nonce u64 | payload (uvarint length, bytes) |
	// signature [64].
	GovernanceBaseSize = 1 + 8 + ed25519.PublicKeySize + 8 + 8 + ed25519.SignatureSize
	// MaxGovernancePayload bounds a governance action (an organization with a few dozen nodes and
	// miner keys fits many times over).
	MaxGovernancePayload = 16 << 10
	// MinTxSize is the smallest encoded transaction.
	MinTxSize = CoinbaseSize
	// MaxTxSize is the largest encoded transaction.
	MaxTxSize = GovernanceBaseSize + 3 + MaxGovernancePayload
)

// ErrBadSignature is returned by VerifySignature for a signature that does not verify.
var ErrBadSignature = errors.New("invalid signature")

// Tx is an account-based transaction.
type Tx struct {
	Type TxType
	// ChainID binds the transaction to one network (replay protection).
	ChainID uint64
	// From is the sender's ed25519 public key (transfers; for governance, the admin key).
	From [ed25519.PublicKeySize]byte
	To   keys.Address
	// Amount is in base units; for a coinbase, the reward plus the block's fees.
	Amount uint64
	Fee    uint64
	// Nonce is the sender's account nonce (transfers); for a coinbase, the block height, which
	// makes every coinbase id unique.
	Nonce     uint64
	Signature [ed25519.SignatureSize]byte
	// MinerKey is, in a coinbase, the public key whose signature the block carries.
	MinerKey [ed25519.PublicKeySize]byte
	// Payload is a governance transaction's action (at most MaxGovernancePayload bytes).
	Payload []byte
}

// NewCoinbase builds the coinbase transaction of the block at height, mined by minerKey.
func NewCoinbase(chainID uint64, to keys.Address, amount, height uint64, minerKey []byte) *Tx {
	tx := &Tx{Type: TxCoinbase, ChainID: chainID, To: to, Amount: amount, Nonce: height}
	copy(tx.MinerKey[:], minerKey)
	return tx
}

// NewGovernance builds an unsigned governance transaction carrying payload.
func NewGovernance(chainID, nonce, fee uint64, payload []byte) *Tx {
	return &Tx{Type: TxGovernance, ChainID: chainID, Nonce: nonce, Fee: fee, Payload: payload}
}

// IsCoinbase reports whether tx is a coinbase.
func (tx *Tx) IsCoinbase() bool { return tx.Type == TxCoinbase }

// IsGovernance reports whether tx is a governance transaction.
func (tx *Tx) IsGovernance() bool { return tx.Type == TxGovernance }

// Sender returns the address of the sending account (zero for a coinbase).
func (tx *Tx) Sender() keys.Address {
	if tx.IsCoinbase() {
		return keys.Address{}
	}
	return keys.AddressOf(tx.From[:])
}

// Size is the encoded size in bytes.
func (tx *Tx) Size() int {
	switch tx.Type {
	case TxCoinbase:
		return CoinbaseSize
	case TxGovernance:
		return GovernanceBaseSize + UvarintSize(uint64(len(tx.Payload))) + len(tx.Payload)
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
	switch tx.Type {
	case TxCoinbase:
		w.Bytes(tx.To[:])
		w.U64(tx.Amount)
		w.U64(tx.Nonce)
		w.Bytes(tx.MinerKey[:])
		return
	case TxGovernance:
		w.Bytes(tx.From[:])
		w.U64(tx.Fee)
		w.U64(tx.Nonce)
		w.Uvarint(uint64(len(tx.Payload)))
		w.Bytes(tx.Payload)
		if withSignature {
			w.Bytes(tx.Signature[:])
		}
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
	case TxTransfer, TxCoinbase, TxGovernance:
	default:
		if r.err == nil {
			r.fail(fmt.Errorf("type %d: %w", tx.Type, ErrUnknownTxType))
		}
		return
	}
	tx.ChainID = r.U64()
	switch tx.Type {
	case TxCoinbase:
		r.Array(tx.To[:])
		tx.Amount = r.U64()
		tx.Nonce = r.U64()
		r.Array(tx.MinerKey[:])
		return
	case TxGovernance:
		r.Array(tx.From[:])
		tx.Fee = r.U64()
		tx.Nonce = r.U64()
		n := r.Uvarint(MaxGovernancePayload)
		if p := r.Take(int(n)); p != nil {
			tx.Payload = append([]byte{}, p...)
		}
		r.Array(tx.Signature[:])
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

// DecodeTxs decodes transactions encoded back to back (a batch submission), at most max of them.
func DecodeTxs(b []byte, max int) ([]*Tx, error) {
	r := Reader{buf: b}
	var txs []*Tx
	for r.Remaining() > 0 {
		if len(txs) == max {
			return nil, fmt.Errorf("txs: more than %d: %w", max, ErrTooLarge)
		}
		start := r.off
		tx := new(Tx)
		tx.read(&r)
		if err := r.Err(); err != nil {
			return nil, fmt.Errorf("tx %d: %w", len(txs), err)
		}
		if r.off-start > MaxTxSize {
			return nil, fmt.Errorf("tx %d: %d bytes > %d: %w", len(txs), r.off-start, MaxTxSize, ErrTooLarge)
		}
		txs = append(txs, tx)
	}
	return txs, nil
}

// ID is the transaction id: SHA-256d of the full encoding. ed25519 signatures (as Go verifies
// them) are not malleable, so the id of a valid transaction cannot be changed by a relayer.
func (tx *Tx) ID() Hash { return DoubleSHA256(tx.Encode()) }

// SigHash is the message a transfer's or governance transaction's signature covers: SHA-256d of
// the encoding without the signature. It includes ChainID, so a signature is valid on one network
// only, and the type, so a signature over one kind can never be read as another.
func (tx *Tx) SigHash() Hash {
	w := Writer{buf: make([]byte, 0, tx.Size())}
	tx.write(&w, false)
	return DoubleSHA256(w.buf)
}

// Sign sets From to the key's public key and signs the transaction.
func (tx *Tx) Sign(k *keys.Key) {
	copy(tx.From[:], k.Public)
	h := tx.SigHash()
	copy(tx.Signature[:], k.Sign(h[:]))
}

// VerifySignature checks a transfer's or governance transaction's signature against From.
func (tx *Tx) VerifySignature() error { return tx.VerifySignatureWith(Ed25519Verify) }

// VerifySignatureWith is VerifySignature through verify.
func (tx *Tx) VerifySignatureWith(verify VerifyFunc) error {
	if tx.IsCoinbase() {
		return nil
	}
	h := tx.SigHash()
	if !verify(tx.From[:], h[:], tx.Signature[:]) {
		return ErrBadSignature
	}
	return nil
}
