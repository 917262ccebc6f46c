package api

import (
	"encoding/hex"
	"fmt"

	"github.com/chainnet/chainnet/internal/chain"
	"github.com/chainnet/chainnet/internal/keys"
	"github.com/chainnet/chainnet/internal/wire"
)

// Status is the body of GET /v1/status (see docs/design/node-contract.md: the operator reads it).
type Status struct {
	NetworkID          string  `json:"networkId"`
	ChainID            uint64  `json:"chainId"`
	GenesisHash        string  `json:"genesisHash"`
	NodeID             string  `json:"nodeId"`
	Role               string  `json:"role"`
	Org                string  `json:"org,omitempty"`
	Height             uint64  `json:"height"`
	BestHash           string  `json:"bestHash"`
	TotalWork          string  `json:"totalWork"`
	Difficulty         float64 `json:"difficulty"`
	Peers              int     `json:"peers"`
	Hashrate           float64 `json:"hashrate"`
	Mining             bool    `json:"mining"`
	MinerAddress       string  `json:"minerAddress,omitempty"`
	MempoolSize        int     `json:"mempoolSize"`
	Syncing            bool    `json:"syncing"`
	PermissionsVersion uint64  `json:"permissionsVersion"`
	Version            string  `json:"version"`
	// HaltHeight is the height this node stops at (--halt-height; 0: none), and Halted is true
	// once it is there.
	HaltHeight uint64 `json:"haltHeight,omitempty"`
	Halted     bool   `json:"halted,omitempty"`
	// DataDiskSize and DataDiskUsed are the bytes of the file system under the data directory
	// (the node's volume): the operator grows the volume when it fills.
	DataDiskSize uint64 `json:"dataDiskSize,omitempty"`
	DataDiskUsed uint64 `json:"dataDiskUsed,omitempty"`
}

// Peer is one element of GET /v1/peers.
type Peer struct {
	NodeID     string  `json:"nodeId"`
	Addr       string  `json:"addr"`
	Inbound    bool    `json:"inbound"`
	Role       string  `json:"role"`
	Org        string  `json:"org,omitempty"`
	BestHeight uint64  `json:"bestHeight"`
	BanScore   int32   `json:"banScore"`
	RTTSeconds float64 `json:"rttSeconds"`
}

// Tx is the JSON form of a transaction. Byte fields are lower-case hex.
type Tx struct {
	ID        string `json:"id,omitempty"`
	Type      string `json:"type"` // "transfer" or "coinbase"
	ChainID   uint64 `json:"chainId"`
	From      string `json:"from,omitempty"` // sender public key
	Sender    string `json:"sender,omitempty"`
	To        string `json:"to"`
	Amount    uint64 `json:"amount"`
	Fee       uint64 `json:"fee"`
	Nonce     uint64 `json:"nonce"`
	Signature string `json:"signature,omitempty"`
}

// TxFromWire renders a transaction.
func TxFromWire(tx *wire.Tx) Tx {
	out := Tx{ID: tx.ID().String(), ChainID: tx.ChainID, To: tx.To.String(), Amount: tx.Amount, Nonce: tx.Nonce}
	if tx.IsCoinbase() {
		out.Type = "coinbase"
		return out
	}
	out.Type = "transfer"
	out.From = hex.EncodeToString(tx.From[:])
	out.Sender = tx.Sender().String()
	out.Fee = tx.Fee
	out.Signature = hex.EncodeToString(tx.Signature[:])
	return out
}

// ToWire parses a transfer strictly: every byte field must have its exact length.
func (t Tx) ToWire() (*wire.Tx, error) {
	if t.Type != "transfer" {
		return nil, fmt.Errorf("type %q: only transfers can be submitted", t.Type)
	}
	tx := &wire.Tx{Type: wire.TxTransfer, ChainID: t.ChainID, Amount: t.Amount, Fee: t.Fee, Nonce: t.Nonce}
	if err := decodeHexInto(tx.From[:], t.From, "from"); err != nil {
		return nil, err
	}
	to, err := keys.ParseAddress(t.To)
	if err != nil {
		return nil, fmt.Errorf("to: %w", err)
	}
	tx.To = to
	if err := decodeHexInto(tx.Signature[:], t.Signature, "signature"); err != nil {
		return nil, err
	}
	if t.ID != "" && t.ID != tx.ID().String() {
		return nil, fmt.Errorf("id %s does not match the transaction (%s)", t.ID, tx.ID())
	}
	return tx, nil
}

func decodeHexInto(dst []byte, s, field string) error {
	b, err := hex.DecodeString(s)
	if err != nil {
		return fmt.Errorf("%s: %w", field, err)
	}
	if len(b) != len(dst) {
		return fmt.Errorf("%s: want %d bytes, got %d", field, len(dst), len(b))
	}
	copy(dst, b)
	return nil
}

// Block is the JSON form of a block.
type Block struct {
	Hash       string `json:"hash"`
	Height     uint64 `json:"height"`
	Version    uint32 `json:"version"`
	PrevHash   string `json:"prevHash"`
	MerkleRoot string `json:"merkleRoot"`
	Timestamp  uint64 `json:"timestamp"`
	Bits       string `json:"bits"`
	Nonce      uint64 `json:"nonce"`
	Miner      string `json:"miner"`
	Signature  string `json:"signature"`
	Size       int    `json:"size"`
	Txs        []Tx   `json:"txs"`
}

// BlockFromWire renders a block at height.
func BlockFromWire(b *wire.Block, height uint64) Block {
	out := Block{
		Hash: b.Hash().String(), Height: height, Version: b.Header.Version, PrevHash: b.Header.PrevHash.String(),
		MerkleRoot: b.Header.MerkleRoot.String(), Timestamp: b.Header.Timestamp, Bits: fmt.Sprintf("%08x", b.Header.Bits),
		Nonce: b.Header.Nonce, Miner: hex.EncodeToString(b.MinerKey[:]), Signature: hex.EncodeToString(b.Signature[:]),
		Size: b.Size(), Txs: make([]Tx, 0, len(b.Txs)),
	}
	for _, tx := range b.Txs {
		out.Txs = append(out.Txs, TxFromWire(tx))
	}
	return out
}

// Account is the body of GET /v1/accounts/{address}.
type Account struct {
	Address string `json:"address"`
	chain.Account
}

// TxStatus is the body of GET /v1/transactions/{id}.
type TxStatus struct {
	Tx       Tx                `json:"tx"`
	Status   string            `json:"status"` // "pending" or "mined"
	Location *chain.TxLocation `json:"location,omitempty"`
}

// SubmitResult is the body of a 201 from POST /v1/transactions.
type SubmitResult struct {
	ID string `json:"id"`
}

// Error is the body of every error response.
type Error struct {
	Error string `json:"error"`
	Rule  string `json:"rule,omitempty"`
}
