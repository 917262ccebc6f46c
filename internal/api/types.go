package api

import (
	"encoding/hex"
	"fmt"

	"github.com/chainnet/chainnet/internal/chain"
	"github.com/chainnet/chainnet/internal/governance"
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
	// MembershipSeq is the number of membership changes on the chain at the tip (permissioned
	// networks); Member whether the membership lists this node (with its role), MinerPermitted
	// whether it lists its miner key. A node of an organization that is joining runs and syncs
	// with both false until the members' approval is on its chain.
	MembershipSeq  uint64 `json:"membershipSeq,omitempty"`
	Member         bool   `json:"member,omitempty"`
	MinerPermitted bool   `json:"minerPermitted,omitempty"`
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

// Transaction types in JSON.
const (
	TxTypeTransfer   = "transfer"
	TxTypeCoinbase   = "coinbase"
	TxTypeGovernance = "governance"
)

// Tx is the JSON form of a transaction. Byte fields are lower-case hex.
type Tx struct {
	ID        string `json:"id,omitempty"`
	Type      string `json:"type"` // "transfer", "coinbase" or "governance"
	ChainID   uint64 `json:"chainId"`
	From      string `json:"from,omitempty"` // sender (governance: admin) public key
	Sender    string `json:"sender,omitempty"`
	To        string `json:"to,omitempty"`
	Amount    uint64 `json:"amount"`
	Fee       uint64 `json:"fee"`
	Nonce     uint64 `json:"nonce"`
	Signature string `json:"signature,omitempty"`
	// MinerKey is a coinbase's block signer.
	MinerKey string `json:"minerKey,omitempty"`
	// Payload is a governance transaction's action (hex); Action describes it.
	Payload string `json:"payload,omitempty"`
	Action  string `json:"action,omitempty"`
}

// TxFromWire renders a transaction.
func TxFromWire(tx *wire.Tx) Tx {
	out := Tx{ID: tx.ID().String(), ChainID: tx.ChainID, Amount: tx.Amount, Nonce: tx.Nonce}
	switch tx.Type {
	case wire.TxCoinbase:
		out.Type, out.To, out.MinerKey = TxTypeCoinbase, tx.To.String(), hex.EncodeToString(tx.MinerKey[:])
		return out
	case wire.TxGovernance:
		out.Type, out.Payload = TxTypeGovernance, hex.EncodeToString(tx.Payload)
		if a, err := governance.DecodeAction(tx.Payload); err == nil {
			out.Action = a.String()
		}
	default:
		out.Type, out.To = TxTypeTransfer, tx.To.String()
	}
	out.From = hex.EncodeToString(tx.From[:])
	out.Sender = tx.Sender().String()
	out.Fee = tx.Fee
	out.Signature = hex.EncodeToString(tx.Signature[:])
	return out
}

// ToWire parses a submitted transfer or governance transaction strictly: every byte field must
// have its exact length.
func (t Tx) ToWire() (*wire.Tx, error) {
	var tx *wire.Tx
	switch t.Type {
	case TxTypeTransfer:
		tx = &wire.Tx{Type: wire.TxTransfer, ChainID: t.ChainID, Amount: t.Amount, Fee: t.Fee, Nonce: t.Nonce}
		to, err := keys.ParseAddress(t.To)
		if err != nil {
			return nil, fmt.Errorf("to: %w", err)
		}
		tx.To = to
	case TxTypeGovernance:
		if t.Amount != 0 || t.To != "" {
			return nil, fmt.Errorf("a governance transaction has no amount and no recipient")
		}
		payload, err := hex.DecodeString(t.Payload)
		if err != nil {
			return nil, fmt.Errorf("payload: %w", err)
		}
		if len(payload) > wire.MaxGovernancePayload {
			return nil, fmt.Errorf("payload: %d bytes, at most %d", len(payload), wire.MaxGovernancePayload)
		}
		tx = wire.NewGovernance(t.ChainID, t.Nonce, t.Fee, payload)
	default:
		return nil, fmt.Errorf("type %q: only transfer and governance transactions can be submitted", t.Type)
	}
	if err := decodeHexInto(tx.From[:], t.From, "from"); err != nil {
		return nil, err
	}
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
	minerKey := b.MinerKey()
	out := Block{
		Hash: b.Hash().String(), Height: height, Version: b.Header.Version, PrevHash: b.Header.PrevHash.String(),
		MerkleRoot: b.Header.MerkleRoot.String(), Timestamp: b.Header.Timestamp, Bits: fmt.Sprintf("%08x", b.Header.Bits),
		Nonce: b.Header.Nonce, Miner: hex.EncodeToString(minerKey[:]), Signature: hex.EncodeToString(b.Signature[:]),
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
	// PendingNonce is the nonce after the account's transactions waiting in this node's mempool
	// (equal to Nonce when none is): a client signing several transactions before a block mines
	// them gives the next one this nonce.
	PendingNonce uint64 `json:"pendingNonce"`
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

// BatchResult is the body of a 200 from POST /v1/transactions/batch: one item per transaction,
// in the order submitted.
type BatchResult struct {
	Accepted int         `json:"accepted"`
	Results  []BatchItem `json:"results"`
}

// BatchItem is one transaction's outcome in a batch: an id, or the refusal.
type BatchItem struct {
	ID    string `json:"id"`
	Error string `json:"error,omitempty"`
	Rule  string `json:"rule,omitempty"`
}

// Error is the body of every error response.
type Error struct {
	Error string `json:"error"`
	Rule  string `json:"rule,omitempty"`
}

// Membership is the body of GET /v1/membership: who may connect and mine after the tip at Height.
type Membership struct {
	Height        uint64                    `json:"height"`
	Seq           uint64                    `json:"seq"`
	Policy        governance.Policy         `json:"policy"`
	Organizations []governance.Organization `json:"organizations"`
}

// MembershipFromState renders a governance state.
func MembershipFromState(st *governance.State, height uint64) Membership {
	orgs := st.Orgs
	if orgs == nil {
		orgs = []governance.Organization{}
	}
	return Membership{Height: height, Seq: st.Seq, Policy: st.Policy, Organizations: orgs}
}

// Proposal is one element of GET /v1/membership/proposals.
type Proposal struct {
	ID           string `json:"id"`
	Kind         string `json:"kind"`
	Organization string `json:"organization,omitempty"`
	Proposer     string `json:"proposer"`
	// Approvals are the member organizations that approved; Needed is how many the policy asks
	// for now.
	Approvals []string `json:"approvals"`
	Needed    int      `json:"needed"`
	CreatedAt uint64   `json:"createdAt"`
	ExpiresAt uint64   `json:"expiresAt"`
	// Approved proposals wait for EffectiveAt (a policy with an activation delay).
	Approved    bool                     `json:"approved"`
	EffectiveAt uint64                   `json:"effectiveAt,omitempty"`
	Add         *governance.Organization `json:"add,omitempty"`
	Policy      *governance.Policy       `json:"policy,omitempty"`
}

// Proposals is the body of GET /v1/membership/proposals.
type Proposals struct {
	Height    uint64     `json:"height"`
	Proposals []Proposal `json:"proposals"`
}

// ProposalsFromState renders the open and scheduled proposals of a governance state.
func ProposalsFromState(st *governance.State, height uint64) Proposals {
	out := Proposals{Height: height, Proposals: []Proposal{}}
	add := func(p governance.Proposal, approved bool) {
		approvals := p.Approvals
		if approvals == nil {
			approvals = []string{}
		}
		out.Proposals = append(out.Proposals, Proposal{ID: p.ID.String(), Kind: string(p.Kind), Organization: p.Organization,
			Proposer: p.Proposer, Approvals: approvals, Needed: st.Needed(), CreatedAt: p.CreatedAt, ExpiresAt: p.ExpiresAt,
			Approved: approved, EffectiveAt: p.EffectiveAt, Add: p.Add, Policy: p.Policy})
	}
	for _, p := range st.Proposals {
		add(p, false)
	}
	for _, p := range st.Scheduled {
		add(p, true)
	}
	return out
}
