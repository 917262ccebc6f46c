// Package genesis owns a network's genesis file — identity, consensus parameters, initial
// allocations and miners — and derives from it the genesis block and the typed Params every node
// of the network must agree on.
package genesis

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"os"
	"regexp"
	"strings"

	"github.com/chainnet/chainnet/internal/governance"
	"github.com/chainnet/chainnet/internal/keys"
	"github.com/chainnet/chainnet/internal/pow"
	"github.com/chainnet/chainnet/internal/wire"
)

// Membership is who may join and mine.
type Membership string

const (
	Public     Membership = "public"
	Consortium Membership = "consortium"
	Private    Membership = "private"
)

// Permissioned reports whether membership restricts peers and miners.
func (m Membership) Permissioned() bool { return m == Consortium || m == Private }

// Consensus holds the rules a network is born with. They are part of the genesis hash, so they
// can never change for a running network.
type Consensus struct {
	TargetBlockTimeSeconds    uint64 `json:"targetBlockTimeSeconds"`
	InitialDifficulty         uint64 `json:"initialDifficulty"`
	MinDifficulty             uint64 `json:"minDifficulty"`
	BlockReward               uint64 `json:"blockReward"`
	HalvingInterval           uint64 `json:"halvingInterval"`
	MaxBlockSize              uint64 `json:"maxBlockSize"`
	DifficultyWindow          uint64 `json:"difficultyWindow"`
	MaxFutureBlockTimeSeconds uint64 `json:"maxFutureBlockTimeSeconds"`
}

// Alloc credits an account at genesis.
type Alloc struct {
	Address string `json:"address"`
	Balance uint64 `json:"balance"`
}

// File is the genesis file.
type File struct {
	NetworkID  string     `json:"networkId"`
	ChainID    uint64     `json:"chainId"`
	Timestamp  uint64     `json:"timestamp"`
	Membership Membership `json:"membership"`
	Consensus  Consensus  `json:"consensus"`
	Alloc      []Alloc    `json:"alloc,omitempty"`
	// Organizations are the founding members of a consortium or private network: each with its
	// admin key (which signs its governance transactions), its nodes and its miner keys. From
	// here on membership changes only by governance transactions on the chain.
	Organizations []governance.Organization `json:"organizations,omitempty"`
	// Governance is the approval policy of a permissioned network; omitted fields take
	// governance.DefaultPolicy's values.
	Governance *governance.Policy `json:"governance,omitempty"`
}

// DefaultConsensus is what `chainnode genesis` writes unless told otherwise.
func DefaultConsensus() Consensus {
	return Consensus{
		TargetBlockTimeSeconds:    10,
		InitialDifficulty:         1 << 20,
		MinDifficulty:             1 << 10,
		BlockReward:               50_0000_0000,
		HalvingInterval:           210_000,
		MaxBlockSize:              1 << 20,
		DifficultyWindow:          45,
		MaxFutureBlockTimeSeconds: 120,
	}
}

// Limits of the consensus parameters.
const (
	maxNetworkIDLen   = 63
	minBlockSize      = 4 << 10
	maxDifficultyWin  = 1000
	maxFutureBlockMax = 2 * 60 * 60
	// minDifficultyShift: minDifficulty ≥ initialDifficulty >> minDifficultyShift.
	minDifficultyShift = 16
)

var networkIDPattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$`)

// FieldError names the genesis field that failed validation.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return "genesis: " + e.Field + ": " + e.Reason }

// ErrInvalid is wrapped by every validation error.
var ErrInvalid = errors.New("invalid genesis")

func (e *FieldError) Unwrap() error { return ErrInvalid }

func invalid(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Validate checks every field and returns the first problem, naming the field.
func (f *File) Validate() error {
	if len(f.NetworkID) == 0 || len(f.NetworkID) > maxNetworkIDLen || !networkIDPattern.MatchString(f.NetworkID) {
		return invalid("networkId", "%q must be 1-%d lower-case letters, digits, '.' or '-'", f.NetworkID, maxNetworkIDLen)
	}
	if f.ChainID == 0 {
		return invalid("chainId", "must be positive")
	}
	switch f.Membership {
	case Public, Consortium, Private:
	default:
		return invalid("membership", "%q must be public, consortium or private", f.Membership)
	}
	if err := f.Consensus.validate(); err != nil {
		return err
	}
	if err := f.validateAlloc(); err != nil {
		return err
	}
	_, err := f.membership()
	return err
}

func (c *Consensus) validate() error {
	switch {
	case c.TargetBlockTimeSeconds == 0 || c.TargetBlockTimeSeconds > 3600:
		return invalid("consensus.targetBlockTimeSeconds", "must be 1-3600")
	case c.MinDifficulty == 0:
		return invalid("consensus.minDifficulty", "must be at least 1")
	case c.InitialDifficulty < c.MinDifficulty:
		return invalid("consensus.initialDifficulty", "must be at least minDifficulty (%d)", c.MinDifficulty)
	case c.MinDifficulty < c.InitialDifficulty>>minDifficultyShift:
		// At difficulty 1 a block costs one hash: a chain that may retarget that low lets anyone
		// produce blocks for free. Retargeting may go at most 65,536× below the initial guess.
		return invalid("consensus.minDifficulty", "must be at least initialDifficulty/%d (%d)", 1<<minDifficultyShift, c.InitialDifficulty>>minDifficultyShift)
	case c.HalvingInterval == 0:
		return invalid("consensus.halvingInterval", "must be positive")
	case c.MaxBlockSize < minBlockSize || c.MaxBlockSize > wire.MaxBlockPayload:
		return invalid("consensus.maxBlockSize", "must be %d-%d bytes", minBlockSize, wire.MaxBlockPayload)
	case c.DifficultyWindow < 2 || c.DifficultyWindow > maxDifficultyWin:
		return invalid("consensus.difficultyWindow", "must be 2-%d blocks", maxDifficultyWin)
	case c.MaxFutureBlockTimeSeconds == 0 || c.MaxFutureBlockTimeSeconds > maxFutureBlockMax:
		return invalid("consensus.maxFutureBlockTimeSeconds", "must be 1-%d", maxFutureBlockMax)
	}
	return nil
}

func (f *File) validateAlloc() error {
	seen := map[keys.Address]bool{}
	var total uint64
	for i, a := range f.Alloc {
		field := fmt.Sprintf("alloc[%d]", i)
		addr, err := keys.ParseAddress(a.Address)
		if err != nil {
			return invalid(field+".address", "%v", err)
		}
		if seen[addr] {
			return invalid(field+".address", "%s is allocated twice", addr)
		}
		seen[addr] = true
		if total > math.MaxUint64-a.Balance {
			return invalid(field+".balance", "total allocation overflows 64 bits")
		}
		total += a.Balance
	}
	return nil
}

// membership builds the founding governance state of a permissioned network (nil for a public
// one), validating the organizations and the policy.
func (f *File) membership() (*governance.State, error) {
	if !f.Membership.Permissioned() {
		if len(f.Organizations) > 0 {
			return nil, invalid("organizations", "a public network has no organizations")
		}
		if f.Governance != nil {
			return nil, invalid("governance", "a public network has no governance policy")
		}
		return nil, nil
	}
	switch {
	case len(f.Organizations) == 0:
		return nil, invalid("organizations", "a %s network needs at least one organization", f.Membership)
	case f.Membership == Private && len(f.Organizations) != 1:
		return nil, invalid("organizations", "a private network has exactly one organization")
	}
	policy := governance.DefaultPolicy()
	if f.Governance != nil {
		policy = f.Governance.WithDefaults()
	}
	st, err := governance.Genesis(policy, f.Organizations)
	if err != nil {
		field := "organizations"
		if strings.HasPrefix(err.Error(), "policy.") {
			field = "governance"
		}
		return nil, invalid(field, "%v", err)
	}
	return st, nil
}

// Parse decodes and validates a genesis file. Unknown fields are errors: a typo must not silently
// produce a different network.
func Parse(b []byte) (*File, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var f File
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("genesis: %w: %w", ErrInvalid, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("genesis: %w: trailing data after the JSON object", ErrInvalid)
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	return &f, nil
}

// Load reads and validates a genesis file.
func Load(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read genesis: %w", err)
	}
	f, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// Marshal renders the file as indented JSON.
func (f *File) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("marshal genesis: %w", err)
	}
	return append(b, '\n'), nil
}

// commitment is a canonical binary encoding of every field, hashed into the genesis block's
// Merkle root: two files differing in any field, even in JSON formatting-independent ways, yield
// different genesis hashes; the same content always yields the same hash.
func (f *File) commitment() []byte {
	var b []byte
	str := func(s string) { b = binary.AppendUvarint(b, uint64(len(s))); b = append(b, s...) }
	u64 := func(v uint64) { b = binary.LittleEndian.AppendUint64(b, v) }
	str("chainnet-genesis-v2")
	str(f.NetworkID)
	u64(f.ChainID)
	u64(f.Timestamp)
	str(string(f.Membership))
	c := f.Consensus
	for _, v := range []uint64{c.TargetBlockTimeSeconds, c.InitialDifficulty, c.MinDifficulty, c.BlockReward,
		c.HalvingInterval, c.MaxBlockSize, c.DifficultyWindow, c.MaxFutureBlockTimeSeconds} {
		u64(v)
	}
	u64(uint64(len(f.Alloc)))
	for _, a := range f.Alloc {
		addr, _ := keys.ParseAddress(a.Address)
		b = append(b, addr[:]...)
		u64(a.Balance)
	}
	if st, _ := f.membership(); st != nil {
		b = append(b, 1)
		b = append(b, st.Encode()...)
	} else {
		b = append(b, 0)
	}
	return b
}

// Block derives the genesis block. It carries no transactions and no proof of work: allocations
// are applied by the chain when it initialises state, and the block is trusted because every node
// derives it from the same file.
func (f *File) Block() (*wire.Block, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	return &wire.Block{Header: wire.Header{
		Version:    1,
		MerkleRoot: wire.DoubleSHA256(f.commitment()),
		Timestamp:  f.Timestamp,
		Bits:       pow.BigToCompact(pow.TargetForDifficulty(f.Consensus.InitialDifficulty)),
	}}, nil
}

// Hash returns the genesis hash in hex.
func (f *File) Hash() (string, error) {
	b, err := f.Block()
	if err != nil {
		return "", err
	}
	return b.Hash().String(), nil
}

// Params are the typed, validated parameters nodes run with.
type Params struct {
	NetworkID          string
	ChainID            uint64
	Membership         Membership
	GenesisBlock       *wire.Block
	GenesisHash        wire.Hash
	TargetBlockTime    uint64
	PowLimit           *big.Int
	BlockReward        uint64
	HalvingInterval    uint64
	MaxBlockSize       uint64
	DifficultyWindow   int
	MaxFutureBlockTime uint64
	Alloc              map[keys.Address]uint64
	// Governance is the founding membership of a permissioned network (nil on a public one). The
	// chain derives every later membership from it and the governance transactions it carries.
	Governance *governance.State
}

// Params derives the typed parameters.
func (f *File) Params() (*Params, error) {
	blk, err := f.Block()
	if err != nil {
		return nil, err
	}
	c := f.Consensus
	p := &Params{
		NetworkID: f.NetworkID, ChainID: f.ChainID, Membership: f.Membership,
		GenesisBlock: blk, GenesisHash: blk.Hash(),
		TargetBlockTime: c.TargetBlockTimeSeconds, PowLimit: pow.TargetForDifficulty(c.MinDifficulty),
		BlockReward: c.BlockReward, HalvingInterval: c.HalvingInterval, MaxBlockSize: c.MaxBlockSize,
		DifficultyWindow: int(c.DifficultyWindow), MaxFutureBlockTime: c.MaxFutureBlockTimeSeconds,
		Alloc: make(map[keys.Address]uint64, len(f.Alloc)),
	}
	for _, a := range f.Alloc {
		addr, _ := keys.ParseAddress(a.Address)
		p.Alloc[addr] = a.Balance
	}
	if p.Governance, err = f.membership(); err != nil {
		return nil, err
	}
	return p, nil
}

// Reward is the block subsidy at height: BlockReward halved every HalvingInterval blocks.
func (p *Params) Reward(height uint64) uint64 {
	halvings := height / p.HalvingInterval
	if halvings >= 64 {
		return 0
	}
	return p.BlockReward >> halvings
}
