// Package governance owns the membership of a permissioned network as chain state: its
// organizations with their admin, node and miner keys, the approval policy, the open proposals,
// and the pure state transition that governance transactions and block boundaries apply to it.
//
// Nothing here reads a clock, a file or the network: the state after a block is a function of the
// state before it, the block's height and its governance transactions, so every node that replays
// the same chain derives the same membership, and a reorganisation undoes a change with the block
// that made it.
package governance

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Key is an ed25519 public key: an organization's admin key, a node id or a miner key. It reads
// and writes as 64 hex digits.
type Key [32]byte

func (k Key) String() string { return hex.EncodeToString(k[:]) }

// Short is the first eight hex digits, for logs.
func (k Key) Short() string { return k.String()[:8] }

// MarshalText writes the key as hex.
func (k Key) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText reads 64 hex digits.
func (k *Key) UnmarshalText(b []byte) error {
	parsed, err := ParseKey(string(b))
	if err != nil {
		return err
	}
	*k = parsed
	return nil
}

// ParseKey parses 64 hex digits.
func ParseKey(s string) (Key, error) {
	var k Key
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return k, fmt.Errorf("key %q: %w", s, err)
	}
	if len(b) != len(k) {
		return k, fmt.Errorf("key %q: want %d bytes, got %d", s, len(k), len(b))
	}
	copy(k[:], b)
	return k, nil
}

func compareKeys(a, b Key) int { return strings.Compare(string(a[:]), string(b[:])) }

// Roles of member nodes.
const (
	RoleValidator = "validator"
	RoleObserver  = "observer"
)

// Organization is a member: its admin key signs its governance transactions; its validators and
// observers are node identities admitted to the network; its miners are the keys whose blocks are
// valid. Key lists are sets, kept sorted so that one membership has one encoding.
type Organization struct {
	Name       string `json:"name"`
	AdminKey   Key    `json:"adminKey"`
	Validators []Key  `json:"validators"`
	Observers  []Key  `json:"observers"`
	Miners     []Key  `json:"miners"`
}

// MarshalJSON writes empty key lists as [] rather than null.
func (o Organization) MarshalJSON() ([]byte, error) {
	type plain Organization
	p := plain(o)
	for _, l := range []*[]Key{&p.Validators, &p.Observers, &p.Miners} {
		if *l == nil {
			*l = []Key{}
		}
	}
	return json.Marshal(p)
}

func (o *Organization) normalize() {
	for _, l := range []*[]Key{&o.Validators, &o.Observers, &o.Miners} {
		slices.SortFunc(*l, compareKeys)
		*l = slices.Compact(*l)
	}
}

func (o Organization) clone() Organization {
	o.Validators = slices.Clone(o.Validators)
	o.Observers = slices.Clone(o.Observers)
	o.Miners = slices.Clone(o.Miners)
	return o
}

var orgNamePattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// Threshold is how many member organizations must approve a proposal: "majority" (more than
// half), "all", or a number (capped at the number of members, so a shrinking consortium is never
// left unable to decide).
type Threshold string

const (
	ThresholdMajority Threshold = "majority"
	ThresholdAll      Threshold = "all"
)

// UnmarshalJSON accepts "majority", "all", a number, or a string of digits.
func (t *Threshold) UnmarshalJSON(b []byte) error {
	var n uint64
	if err := json.Unmarshal(b, &n); err == nil {
		*t = Threshold(strconv.FormatUint(n, 10))
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("threshold: want \"majority\", \"all\" or a number")
	}
	*t = Threshold(s)
	return nil
}

func (t Threshold) validate() error {
	switch t {
	case ThresholdMajority, ThresholdAll:
		return nil
	}
	n, err := strconv.ParseUint(string(t), 10, 16)
	if err != nil || n == 0 {
		return fmt.Errorf("threshold %q: want majority, all or a number from 1", string(t))
	}
	return nil
}

// Needed is the number of approvals that pass a proposal among members organizations.
func (t Threshold) Needed(members int) int {
	switch t {
	case ThresholdAll:
		return members
	case ThresholdMajority, "":
		return members/2 + 1
	}
	n, _ := strconv.Atoi(string(t))
	return max(1, min(n, members))
}

// Policy is the network's governance policy; it changes only through a set-policy proposal.
type Policy struct {
	Threshold Threshold `json:"threshold"`
	// ProposalTTLBlocks: a proposal not approved within this many blocks of the one that carried it
	// expires.
	ProposalTTLBlocks uint64 `json:"proposalTTLBlocks"`
	// ActivationDelayBlocks: an approved change takes effect this many blocks after the block in
	// which its approvals reached the threshold (0: in that block, for the blocks after it).
	ActivationDelayBlocks uint64 `json:"activationDelayBlocks"`
	// Limits an organization's own changes stay within, and its open proposals.
	MaxValidatorsPerOrg uint32 `json:"maxValidatorsPerOrg"`
	MaxObserversPerOrg  uint32 `json:"maxObserversPerOrg"`
	MaxMinersPerOrg     uint32 `json:"maxMinersPerOrg"`
	MaxProposalsPerOrg  uint32 `json:"maxProposalsPerOrg"`
}

// Limits of the policy itself and of the membership.
const (
	MaxOrganizations    = 64
	maxKeysPerList      = 256
	maxProposalsPerOrg  = 16
	maxProposalTTL      = 1_000_000
	maxActivationDelay  = 100_000
	maxOpenProposalsAll = MaxOrganizations * maxProposalsPerOrg
)

// DefaultPolicy is what a genesis without a governance section gets.
func DefaultPolicy() Policy {
	return Policy{Threshold: ThresholdMajority, ProposalTTLBlocks: 10_000, MaxValidatorsPerOrg: 32,
		MaxObserversPerOrg: 32, MaxMinersPerOrg: 32, MaxProposalsPerOrg: 4}
}

// WithDefaults fills zero fields from DefaultPolicy (ActivationDelayBlocks stays as given).
func (p Policy) WithDefaults() Policy {
	d := DefaultPolicy()
	if p.Threshold == "" {
		p.Threshold = d.Threshold
	}
	if p.ProposalTTLBlocks == 0 {
		p.ProposalTTLBlocks = d.ProposalTTLBlocks
	}
	if p.MaxValidatorsPerOrg == 0 {
		p.MaxValidatorsPerOrg = d.MaxValidatorsPerOrg
	}
	if p.MaxObserversPerOrg == 0 {
		p.MaxObserversPerOrg = d.MaxObserversPerOrg
	}
	if p.MaxMinersPerOrg == 0 {
		p.MaxMinersPerOrg = d.MaxMinersPerOrg
	}
	if p.MaxProposalsPerOrg == 0 {
		p.MaxProposalsPerOrg = d.MaxProposalsPerOrg
	}
	return p
}

// Validate checks every field, naming the one that fails.
func (p Policy) Validate() error {
	if err := p.Threshold.validate(); err != nil {
		return fmt.Errorf("policy.%w", err)
	}
	switch {
	case p.ProposalTTLBlocks == 0 || p.ProposalTTLBlocks > maxProposalTTL:
		return fmt.Errorf("policy.proposalTTLBlocks: must be 1-%d", maxProposalTTL)
	case p.ActivationDelayBlocks > maxActivationDelay:
		return fmt.Errorf("policy.activationDelayBlocks: must be at most %d", maxActivationDelay)
	case p.MaxValidatorsPerOrg == 0 || p.MaxValidatorsPerOrg > maxKeysPerList:
		return fmt.Errorf("policy.maxValidatorsPerOrg: must be 1-%d", maxKeysPerList)
	case p.MaxObserversPerOrg > maxKeysPerList:
		return fmt.Errorf("policy.maxObserversPerOrg: must be at most %d", maxKeysPerList)
	case p.MaxMinersPerOrg == 0 || p.MaxMinersPerOrg > maxKeysPerList:
		return fmt.Errorf("policy.maxMinersPerOrg: must be 1-%d", maxKeysPerList)
	case p.MaxProposalsPerOrg == 0 || p.MaxProposalsPerOrg > maxProposalsPerOrg:
		return fmt.Errorf("policy.maxProposalsPerOrg: must be 1-%d", maxProposalsPerOrg)
	}
	return nil
}

// ValidateOrganization checks an organization's own fields against the policy's limits.
func (p Policy) ValidateOrganization(o *Organization) error {
	if !orgNamePattern.MatchString(o.Name) {
		return fmt.Errorf("name %q: must be 1-63 lower-case letters, digits or '-', starting and ending with a letter or digit", o.Name)
	}
	if o.AdminKey == (Key{}) {
		return fmt.Errorf("organization %s: adminKey is required", o.Name)
	}
	for _, l := range []struct {
		field string
		keys  []Key
		max   uint32
	}{{"validators", o.Validators, p.MaxValidatorsPerOrg}, {"observers", o.Observers, p.MaxObserversPerOrg},
		{"miners", o.Miners, p.MaxMinersPerOrg}} {
		if uint32(len(l.keys)) > l.max {
			return fmt.Errorf("organization %s: %s: %d keys, the policy allows %d", o.Name, l.field, len(l.keys), l.max)
		}
		seen := make(map[Key]bool, len(l.keys))
		for _, k := range l.keys {
			if seen[k] {
				return fmt.Errorf("organization %s: %s: %s listed twice", o.Name, l.field, k.Short())
			}
			seen[k] = true
		}
	}
	if len(o.Validators)+len(o.Observers) == 0 {
		return fmt.Errorf("organization %s: at least one validator or observer is required", o.Name)
	}
	return nil
}
