package governance

import (
	"fmt"
	"slices"
	"strings"

	"github.com/chainnet/chainnet/internal/wire"
)

// Kind is what a proposal changes.
type Kind string

const (
	KindAddOrg    Kind = "add-org"
	KindRemoveOrg Kind = "remove-org"
	KindSetPolicy Kind = "set-policy"
)

// Proposal is a membership or policy change waiting for approvals. Its ID is the id of the
// transaction that proposed it; the proposer's organization is its first approval.
type Proposal struct {
	ID   wire.Hash `json:"id"`
	Kind Kind      `json:"kind"`
	// Organization is the organization added or removed (empty for set-policy).
	Organization string `json:"organization,omitempty"`
	Proposer     string `json:"proposer"`
	// Add is the organization an add-org proposal admits; Policy the policy set-policy installs.
	Add    *Organization `json:"add,omitempty"`
	Policy *Policy       `json:"policy,omitempty"`
	// Approvals are the member organizations that approved, sorted by name.
	Approvals []string `json:"approvals"`
	CreatedAt uint64   `json:"createdAt"`
	ExpiresAt uint64   `json:"expiresAt"`
	// EffectiveAt is, once approved with an activation delay, the height after which it is in force.
	EffectiveAt uint64 `json:"effectiveAt,omitempty"`
}

func (p Proposal) clone() Proposal {
	p.Approvals = slices.Clone(p.Approvals)
	if p.Add != nil {
		o := p.Add.clone()
		p.Add = &o
	}
	if p.Policy != nil {
		pol := *p.Policy
		p.Policy = &pol
	}
	return p
}

// Member is what the membership says of a node identity.
type Member struct {
	Org  string
	Role string
}

// State is the membership of a permissioned network after some block: the policy, the member
// organizations (sorted by name), the open proposals (in the order they were made) and approved
// changes waiting for their activation height. Seq counts the changes to the policy and the
// organizations, as Fabric numbers configuration updates: two states with the same Seq on one
// chain have the same membership.
//
// A State handed out by the chain is never modified; Clone before applying anything to it.
type State struct {
	Seq       uint64
	Policy    Policy
	Orgs      []Organization
	Proposals []Proposal
	Scheduled []Proposal

	nodes  map[Key]Member
	miners map[Key]string
	admins map[Key]string
}

// Genesis builds the founding state.
func Genesis(policy Policy, orgs []Organization) (*State, error) {
	s := &State{Policy: policy}
	if err := policy.Validate(); err != nil {
		return nil, err
	}
	if len(orgs) == 0 {
		return nil, fmt.Errorf("organizations: at least one is required")
	}
	if len(orgs) > MaxOrganizations {
		return nil, fmt.Errorf("organizations: %d, at most %d", len(orgs), MaxOrganizations)
	}
	for i := range orgs {
		o := orgs[i].clone()
		if err := policy.ValidateOrganization(&o); err != nil {
			return nil, fmt.Errorf("organizations[%d]: %w", i, err)
		}
		if len(o.Miners) == 0 && len(o.Validators) > 0 {
			// Validators mine; an organization with validators but no miner key could only produce
			// invalid blocks. Observers-only organizations need none.
			return nil, fmt.Errorf("organizations[%d]: organization %s has validators but no miner key", i, o.Name)
		}
		o.normalize()
		if err := s.checkUnique(&o, ""); err != nil {
			return nil, fmt.Errorf("organizations[%d]: %w", i, err)
		}
		s.Orgs = append(s.Orgs, o)
		s.sortOrgs()
		s.reindex()
	}
	return s, nil
}

func (s *State) sortOrgs() {
	slices.SortFunc(s.Orgs, func(a, b Organization) int { return strings.Compare(a.Name, b.Name) })
}

// reindex rebuilds the lookup maps after a change of the organizations.
func (s *State) reindex() {
	s.nodes, s.miners, s.admins = map[Key]Member{}, map[Key]string{}, map[Key]string{}
	for _, o := range s.Orgs {
		s.admins[o.AdminKey] = o.Name
		for _, k := range o.Validators {
			s.nodes[k] = Member{Org: o.Name, Role: RoleValidator}
		}
		for _, k := range o.Observers {
			s.nodes[k] = Member{Org: o.Name, Role: RoleObserver}
		}
		for _, k := range o.Miners {
			s.miners[k] = o.Name
		}
	}
}

// checkUnique refuses an organization whose name or any key another organization (other than
// except) already holds: a key belongs to one organization, so revoking it is unambiguous.
func (s *State) checkUnique(o *Organization, except string) error {
	for _, other := range s.Orgs {
		if other.Name == except {
			continue
		}
		if other.Name == o.Name {
			return fmt.Errorf("organization %s is already a member", o.Name)
		}
	}
	owner := func(m map[Key]string, k Key) (string, bool) {
		name, ok := m[k]
		return name, ok && name != except
	}
	if name, ok := owner(s.admins, o.AdminKey); ok {
		return fmt.Errorf("admin key %s belongs to %s", o.AdminKey.Short(), name)
	}
	for _, k := range append(slices.Clone(o.Validators), o.Observers...) {
		if m, ok := s.nodes[k]; ok && m.Org != except {
			return fmt.Errorf("node %s belongs to %s", k.Short(), m.Org)
		}
	}
	for _, k := range o.Validators {
		if slices.Contains(o.Observers, k) {
			return fmt.Errorf("node %s is listed as a validator and an observer", k.Short())
		}
	}
	for _, k := range o.Miners {
		if name, ok := owner(s.miners, k); ok {
			return fmt.Errorf("miner key %s belongs to %s", k.Short(), name)
		}
	}
	return nil
}

// Clone returns a deep copy to apply changes to.
func (s *State) Clone() *State {
	c := &State{Seq: s.Seq, Policy: s.Policy}
	for _, o := range s.Orgs {
		c.Orgs = append(c.Orgs, o.clone())
	}
	for _, p := range s.Proposals {
		c.Proposals = append(c.Proposals, p.clone())
	}
	for _, p := range s.Scheduled {
		c.Scheduled = append(c.Scheduled, p.clone())
	}
	c.reindex()
	return c
}

// Node returns the member a node identity belongs to.
func (s *State) Node(id Key) (Member, bool) {
	m, ok := s.nodes[id]
	return m, ok
}

// MinerAllowed reports whether blocks signed by key are valid under this membership.
func (s *State) MinerAllowed(key Key) bool {
	_, ok := s.miners[key]
	return ok
}

// MinerOrg returns the organization a miner key belongs to.
func (s *State) MinerOrg(key Key) (string, bool) {
	name, ok := s.miners[key]
	return name, ok
}

// AdminOrg returns the organization whose admin key is key.
func (s *State) AdminOrg(key Key) (string, bool) {
	name, ok := s.admins[key]
	return name, ok
}

// Org returns a member organization by name.
func (s *State) Org(name string) (*Organization, bool) {
	for i := range s.Orgs {
		if s.Orgs[i].Name == name {
			return &s.Orgs[i], true
		}
	}
	return nil, false
}

// Proposal returns an open or scheduled proposal.
func (s *State) Proposal(id wire.Hash) (*Proposal, bool) {
	for i := range s.Proposals {
		if s.Proposals[i].ID == id {
			return &s.Proposals[i], true
		}
	}
	for i := range s.Scheduled {
		if s.Scheduled[i].ID == id {
			return &s.Scheduled[i], true
		}
	}
	return nil, false
}

// Members returns every member node identity.
func (s *State) Members() map[Key]Member {
	out := make(map[Key]Member, len(s.nodes))
	for k, v := range s.nodes {
		out[k] = v
	}
	return out
}

// Encoding of a state (stored after each block that changes it, and committed by the genesis
// hash): version u8 | seq u64 | policy | orgs | proposals | scheduled. Lists are length-prefixed;
// decoding is strict (one encoding per state).
const stateEncodingVersion = 1

// Encode returns the canonical encoding.
func (s *State) Encode() []byte {
	w := wire.NewWriter(nil)
	w.U8(stateEncodingVersion)
	w.U64(s.Seq)
	writePolicy(w, &s.Policy)
	w.Uvarint(uint64(len(s.Orgs)))
	for i := range s.Orgs {
		writeOrg(w, &s.Orgs[i])
	}
	for _, list := range [][]Proposal{s.Proposals, s.Scheduled} {
		w.Uvarint(uint64(len(list)))
		for i := range list {
			writeProposal(w, &list[i])
		}
	}
	return w.Output()
}

// DecodeState decodes a stored state.
func DecodeState(b []byte) (*State, error) {
	r := wire.NewReader(b)
	if v := r.U8(); r.Err() == nil && v != stateEncodingVersion {
		return nil, fmt.Errorf("governance state: encoding version %d", v)
	}
	s := &State{Seq: r.U64()}
	s.Policy = readPolicy(r)
	n := r.Uvarint(MaxOrganizations)
	for i := uint64(0); i < n && r.Err() == nil; i++ {
		s.Orgs = append(s.Orgs, readOrg(r))
	}
	for _, list := range []*[]Proposal{&s.Proposals, &s.Scheduled} {
		n := r.Uvarint(maxOpenProposalsAll)
		for i := uint64(0); i < n && r.Err() == nil; i++ {
			*list = append(*list, readProposal(r))
		}
	}
	if err := r.End(); err != nil {
		return nil, fmt.Errorf("governance state: %w", err)
	}
	s.reindex()
	return s, nil
}

const maxNameLen = 63

func writePolicy(w *wire.Writer, p *Policy) {
	w.String(string(p.Threshold), 16)
	w.U64(p.ProposalTTLBlocks)
	w.U64(p.ActivationDelayBlocks)
	w.U32(p.MaxValidatorsPerOrg)
	w.U32(p.MaxObserversPerOrg)
	w.U32(p.MaxMinersPerOrg)
	w.U32(p.MaxProposalsPerOrg)
}

func readPolicy(r *wire.Reader) Policy {
	return Policy{Threshold: Threshold(r.String(16)), ProposalTTLBlocks: r.U64(), ActivationDelayBlocks: r.U64(),
		MaxValidatorsPerOrg: r.U32(), MaxObserversPerOrg: r.U32(), MaxMinersPerOrg: r.U32(), MaxProposalsPerOrg: r.U32()}
}

func writeKeys(w *wire.Writer, keys []Key) {
	w.Uvarint(uint64(len(keys)))
	for _, k := range keys {
		w.Bytes(k[:])
	}
}

func readKeys(r *wire.Reader) []Key {
	n := r.Uvarint(maxKeysPerList)
	if r.Err() != nil || n == 0 {
		return nil
	}
	if n*32 > uint64(r.Remaining()) {
		r.Fail(fmt.Errorf("%d keys in %d bytes: %w", n, r.Remaining(), wire.ErrTruncated))
		return nil
	}
	keys := make([]Key, n)
	for i := range keys {
		r.Array(keys[i][:])
	}
	return keys
}

func writeOrg(w *wire.Writer, o *Organization) {
	w.String(o.Name, maxNameLen)
	w.Bytes(o.AdminKey[:])
	writeKeys(w, o.Validators)
	writeKeys(w, o.Observers)
	writeKeys(w, o.Miners)
}

func readOrg(r *wire.Reader) Organization {
	var o Organization
	o.Name = r.String(maxNameLen)
	r.Array(o.AdminKey[:])
	o.Validators, o.Observers, o.Miners = readKeys(r), readKeys(r), readKeys(r)
	return o
}

var kindCodes = map[Kind]uint8{KindAddOrg: 1, KindRemoveOrg: 2, KindSetPolicy: 3}

func kindOf(code uint8) (Kind, bool) {
	for k, c := range kindCodes {
		if c == code {
			return k, true
		}
	}
	return "", false
}

func writeProposal(w *wire.Writer, p *Proposal) {
	w.Bytes(p.ID[:])
	w.U8(kindCodes[p.Kind])
	w.String(p.Organization, maxNameLen)
	w.String(p.Proposer, maxNameLen)
	if p.Add != nil {
		w.U8(1)
		writeOrg(w, p.Add)
	} else {
		w.U8(0)
	}
	if p.Policy != nil {
		w.U8(1)
		writePolicy(w, p.Policy)
	} else {
		w.U8(0)
	}
	w.Uvarint(uint64(len(p.Approvals)))
	for _, a := range p.Approvals {
		w.String(a, maxNameLen)
	}
	w.U64(p.CreatedAt)
	w.U64(p.ExpiresAt)
	w.U64(p.EffectiveAt)
}

func readProposal(r *wire.Reader) Proposal {
	var p Proposal
	r.Array(p.ID[:])
	code := r.U8()
	kind, ok := kindOf(code)
	if !ok && r.Err() == nil {
		r.Fail(fmt.Errorf("proposal kind %d: %w", code, wire.ErrInvalidEncoding))
	}
	p.Kind = kind
	p.Organization = r.String(maxNameLen)
	p.Proposer = r.String(maxNameLen)
	if readFlag(r) {
		o := readOrg(r)
		p.Add = &o
	}
	if readFlag(r) {
		pol := readPolicy(r)
		p.Policy = &pol
	}
	n := r.Uvarint(MaxOrganizations)
	for i := uint64(0); i < n && r.Err() == nil; i++ {
		p.Approvals = append(p.Approvals, r.String(maxNameLen))
	}
	p.CreatedAt, p.ExpiresAt, p.EffectiveAt = r.U64(), r.U64(), r.U64()
	return p
}

func readFlag(r *wire.Reader) bool {
	switch f := r.U8(); f {
	case 0:
		return false
	case 1:
		return true
	default:
		if r.Err() == nil {
			r.Fail(fmt.Errorf("flag %d: %w", f, wire.ErrInvalidEncoding))
		}
		return false
	}
}
