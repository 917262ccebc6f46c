// Package chain owns the block chain: consensus validation, the block index and fork choice by
// cumulative work, account state with undo data for reorganisations, and the orphan pool. It is the
// only writer of chain data in the store.
package chain

import (
	"math/big"

	"github.com/chainnet/chainnet/internal/keys"
	"github.com/chainnet/chainnet/internal/wire"
)

// Status is the outcome of ProcessBlock for a block that was not rejected.
type Status int

const (
	// StatusConnected: the block is on the best chain now (directly, or through a reorganisation).
	StatusConnected Status = iota + 1
	// StatusSideChain: valid as far as it could be checked, stored, not on the best chain.
	StatusSideChain
	// StatusOrphan: its parent is unknown; it waits in the orphan pool. The P2P layer should fetch
	// OrphanRoot's ancestors.
	StatusOrphan
	// StatusDuplicate: already known (stored or in the orphan pool).
	StatusDuplicate
	// StatusNotStored: a block nobody asked for whose chain has no more work than the tip (or
	// less than the minimum chain work): neither validated beyond its proof of work nor stored.
	// Not the sender's fault — a competing tip announced a moment late looks the same — and not
	// worth disk: a side chain that grows to beat the tip is fetched by headers-first sync.
	StatusNotStored
)

func (s Status) String() string {
	switch s {
	case StatusConnected:
		return "connected"
	case StatusSideChain:
		return "side-chain"
	case StatusOrphan:
		return "orphan"
	case StatusDuplicate:
		return "duplicate"
	case StatusNotStored:
		return "not-stored"
	}
	return "unknown"
}

// ProcessResult tells what ProcessBlock did.
type ProcessResult struct {
	Status Status
	Hash   wire.Hash
	Height uint64 // 0 for orphans
	// OrphanRoot is, for StatusOrphan, the missing ancestor hash to request from peers.
	OrphanRoot wire.Hash
	// Reorg is set when the best chain switched branches.
	Reorg *Reorg
	// Connected lists the blocks that joined the best chain, in height order: the block itself,
	// blocks of a reorganisation, and orphans whose parent it was.
	Connected []*wire.Block
}

// Reorg describes a switch of the best chain to another branch.
type Reorg struct {
	Depth        int // blocks disconnected
	OldTip       wire.Hash
	NewTip       wire.Hash
	Disconnected []*wire.Block // old branch, tip first
	Connected    []*wire.Block // new branch, in height order
}

// Tip is the best block.
type Tip struct {
	Hash      wire.Hash
	Height    uint64
	Header    wire.Header
	TotalWork *big.Int // cumulative work of the chain up to and including the tip
}

// Account is an account's state.
type Account struct {
	Balance uint64 `json:"balance"`
	// Nonce is the number of transfers the account has sent: its next transfer must carry it.
	Nonce uint64 `json:"nonce"`
}

// TxLocation says where a transaction was mined on the best chain.
type TxLocation struct {
	BlockHash wire.Hash `json:"blockHash"`
	Height    uint64    `json:"height"`
	Index     int       `json:"index"`
}

// Listener is told, synchronously and in order, after each change of the best chain is durably
// committed. Blocks of a reorganisation arrive as BlockDisconnected calls (tip first) followed by
// BlockConnected calls (in height order). Listeners must not call back into the chain's write
// methods.
type Listener interface {
	BlockConnected(b *wire.Block, height uint64)
	BlockDisconnected(b *wire.Block, height uint64)
}

// AddressOf is a convenience re-export for callers that hold a public key.
func AddressOf(pub []byte) keys.Address { return keys.AddressOf(pub) }
