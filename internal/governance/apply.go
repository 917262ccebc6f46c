package governance

import (
	"fmt"
	"slices"

	"github.com/chainnet/chainnet/internal/wire"
)

// Error is a governance action the state refuses. Code names the reason for metrics and clients.
type Error struct {
	Code   string
	Detail string
}

func (e *Error) Error() string { return e.Code + ": " + e.Detail }

// Refusal codes.
const (
	CodeNotAdmin        = "not-an-admin"
	CodeInvalid         = "invalid-action"
	CodeUnknownProposal = "unknown-proposal"
	CodeAlreadyApproved = "already-approved"
	CodeLimit           = "limit-reached"
	CodeConflict        = "conflict"
)

func refuse(code, format string, args ...any) error {
	return &Error{Code: code, Detail: fmt.Sprintf(format, args...)}
}

// A block changes the state in three steps, in this order:
//
//	BeginBlock(h)    proposals whose ExpiresAt is below h expire
//	Apply(tx) ...    the block's governance transactions, in block order
//	EndBlock(h)      approved changes whose EffectiveAt has come take effect
//
// The membership that judges a block (who may sign it, whose transactions count) is the state
// after its parent's EndBlock.

// BeginBlock expires the proposals that were not approved in time.
func (s *State) BeginBlock(height uint64) {
	s.Proposals = slices.DeleteFunc(s.Proposals, func(p Proposal) bool { return p.ExpiresAt < height })
}

// Apply applies one governance transaction (id, its admin signer and its action) at height.
// On error the state may be partly changed: apply to a Clone and drop it on error.
func (s *State) Apply(id wire.Hash, signer Key, a *Action, height uint64) error {
	org, ok := s.AdminOrg(signer)
	if !ok {
		return refuse(CodeNotAdmin, "key %s is not the admin key of a member organization", signer.Short())
	}
	switch a.Type {
	case ActionPropose:
		return s.propose(id, org, a, height)
	case ActionApprove:
		return s.approve(org, a.Proposal, height)
	case ActionUpdateOrg:
		if a.Update == nil {
			return refuse(CodeInvalid, "update-org without an update")
		}
		return s.updateOrg(org, a.Update)
	}
	return refuse(CodeInvalid, "action type %d", a.Type)
}

// EndBlock enacts the approved changes due at height.
func (s *State) EndBlock(height uint64) {
	for {
		i := slices.IndexFunc(s.Scheduled, func(p Proposal) bool { return p.EffectiveAt <= height })
		if i < 0 {
			return
		}
		p := s.Scheduled[i]
		s.Scheduled = slices.Delete(s.Scheduled, i, i+1)
		s.enact(p)
		s.settle(height)
	}
}

func (s *State) openBy(org string) int {
	n := 0
	for _, p := range s.Proposals {
		if p.Proposer == org {
			n++
		}
	}
	return n
}

// pending reports whether an open or scheduled proposal already makes the same change.
func (s *State) pending(a *Action) bool {
	same := func(p Proposal) bool {
		if p.Kind != a.Kind {
			return false
		}
		if a.Kind == KindSetPolicy {
			return p.Policy != nil && a.Policy != nil && *p.Policy == *a.Policy
		}
		return p.Organization == a.Organization
	}
	return slices.ContainsFunc(s.Proposals, same) || slices.ContainsFunc(s.Scheduled, same)
}

func (s *State) propose(id wire.Hash, org string, a *Action, height uint64) error {
	if uint32(s.openBy(org)) >= s.Policy.MaxProposalsPerOrg {
		return refuse(CodeLimit, "%s already has %d open proposals (policy maxProposalsPerOrg)", org, s.Policy.MaxProposalsPerOrg)
	}
	if s.pending(a) {
		return refuse(CodeConflict, "an open proposal already makes this change (%s)", a)
	}
	p := Proposal{ID: id, Kind: a.Kind, Organization: a.Organization, Proposer: org, Approvals: []string{org},
		CreatedAt: height, ExpiresAt: height + s.Policy.ProposalTTLBlocks}
	switch a.Kind {
	case KindAddOrg:
		if a.Add == nil {
			return refuse(CodeInvalid, "add-org without an organization")
		}
		add := a.Add.clone()
		if err := s.Policy.ValidateOrganization(&add); err != nil {
			return refuse(CodeInvalid, "%v", err)
		}
		if len(add.Validators) > 0 && len(add.Miners) == 0 {
			return refuse(CodeInvalid, "organization %s has validators but no miner key", add.Name)
		}
		add.normalize()
		if len(s.Orgs) >= MaxOrganizations {
			return refuse(CodeLimit, "the network has %d organizations, the most it can have", len(s.Orgs))
		}
		if err := s.checkUnique(&add, ""); err != nil {
			return refuse(CodeConflict, "%v", err)
		}
		p.Add = &add
	case KindRemoveOrg:
		if _, ok := s.Org(a.Organization); !ok {
			return refuse(CodeInvalid, "organization %q is not a member", a.Organization)
		}
		if len(s.Orgs) == 1 {
			return refuse(CodeInvalid, "%s is the last member: a network cannot remove every organization", a.Organization)
		}
	case KindSetPolicy:
		if a.Policy == nil {
			return refuse(CodeInvalid, "set-policy without a policy")
		}
		if err := a.Policy.Validate(); err != nil {
			return refuse(CodeInvalid, "%v", err)
		}
		pol := *a.Policy
		p.Policy = &pol
	default:
		return refuse(CodeInvalid, "proposal kind %q", a.Kind)
	}
	s.Proposals = append(s.Proposals, p)
	s.settle(height)
	return nil
}

func (s *State) approve(org string, id wire.Hash, height uint64) error {
	i := slices.IndexFunc(s.Proposals, func(p Proposal) bool { return p.ID == id })
	if i < 0 {
		if slices.ContainsFunc(s.Scheduled, func(p Proposal) bool { return p.ID == id }) {
			return refuse(CodeAlreadyApproved, "proposal %s is already approved (effective after height %d)", id, s.scheduledAt(id))
		}
		return refuse(CodeUnknownProposal, "no open proposal %s (never made, expired or decided)", id)
	}
	p := &s.Proposals[i]
	if slices.Contains(p.Approvals, org) {
		return refuse(CodeAlreadyApproved, "%s already approved proposal %s", org, id)
	}
	p.Approvals = append(p.Approvals, org)
	slices.Sort(p.Approvals)
	s.settle(height)
	return nil
}

func (s *State) scheduledAt(id wire.Hash) uint64 {
	for _, p := range s.Scheduled {
		if p.ID == id {
			return p.EffectiveAt
		}
	}
	return 0
}

// Approvals counts a proposal's approvals from current members: an organization removed since it
// approved no longer counts.
func (s *State) Approvals(p *Proposal) int {
	n := 0
	for _, name := range p.Approvals {
		if _, ok := s.Org(name); ok {
			n++
		}
	}
	return n
}

// Needed is the number of approvals a proposal needs under the current policy and membership.
func (s *State) Needed() int { return s.Policy.Threshold.Needed(len(s.Orgs)) }

// settle decides every open proposal whose approvals reach the threshold, in the order they were
// made, until none does: a change of membership or policy moves the threshold, so deciding one
// proposal can decide another.
func (s *State) settle(height uint64) {
	for {
		i := slices.IndexFunc(s.Proposals, func(p Proposal) bool { return s.Approvals(&p) >= s.Needed() })
		if i < 0 {
			return
		}
		p := s.Proposals[i]
		s.Proposals = slices.Delete(s.Proposals, i, i+1)
		if s.Policy.ActivationDelayBlocks > 0 {
			p.EffectiveAt = height + s.Policy.ActivationDelayBlocks
			s.Scheduled = append(s.Scheduled, p)
			continue
		}
		s.enact(p)
	}
}

// enact makes an approved change. A change that no longer applies (the organization was added or
// removed meanwhile, one of its keys was taken) is dropped: every node drops it the same way.
func (s *State) enact(p Proposal) {
	switch p.Kind {
	case KindAddOrg:
		if len(s.Orgs) >= MaxOrganizations || s.checkUnique(p.Add, "") != nil {
			return
		}
		s.Orgs = append(s.Orgs, p.Add.clone())
		s.sortOrgs()
	case KindRemoveOrg:
		i := slices.IndexFunc(s.Orgs, func(o Organization) bool { return o.Name == p.Organization })
		if i < 0 || len(s.Orgs) == 1 {
			return
		}
		s.Orgs = slices.Delete(s.Orgs, i, i+1)
		// Its approvals go with it: if an organization of that name joins again, it starts afresh.
		for j := range s.Proposals {
			s.Proposals[j].Approvals = slices.DeleteFunc(s.Proposals[j].Approvals, func(a string) bool { return a == p.Organization })
		}
		s.Proposals = slices.DeleteFunc(s.Proposals, func(q Proposal) bool { return q.Proposer == p.Organization })
	case KindSetPolicy:
		s.Policy = *p.Policy
	}
	s.Seq++
	s.reindex()
}

func (s *State) updateOrg(name string, u *OrgUpdate) error {
	cur, _ := s.Org(name)
	o := cur.clone()
	changed := false
	for _, step := range []struct {
		field          string
		list           *[]Key
		remove, insert []Key
	}{{"validators", &o.Validators, u.RemoveValidators, u.AddValidators},
		{"observers", &o.Observers, u.RemoveObservers, u.AddObservers},
		{"miners", &o.Miners, u.RemoveMiners, u.AddMiners}} {
		for _, k := range step.remove {
			i := slices.Index(*step.list, k)
			if i < 0 {
				return refuse(CodeInvalid, "%s: %s is not one of %s's keys", step.field, k.Short(), name)
			}
			*step.list = slices.Delete(*step.list, i, i+1)
			changed = true
		}
		for _, k := range step.insert {
			if slices.Contains(*step.list, k) {
				return refuse(CodeInvalid, "%s: %s is already one of %s's keys", step.field, k.Short(), name)
			}
			*step.list = append(*step.list, k)
			changed = true
		}
	}
	if u.NewAdminKey != nil && *u.NewAdminKey != o.AdminKey {
		o.AdminKey = *u.NewAdminKey
		changed = true
	}
	if !changed {
		return refuse(CodeInvalid, "the update changes nothing")
	}
	if err := s.Policy.ValidateOrganization(&o); err != nil {
		return refuse(CodeInvalid, "%v", err)
	}
	if len(o.Validators) > 0 && len(o.Miners) == 0 {
		return refuse(CodeInvalid, "organization %s would have validators but no miner key", name)
	}
	o.normalize()
	if err := s.checkUnique(&o, name); err != nil {
		return refuse(CodeConflict, "%v", err)
	}
	*cur = o
	s.Seq++
	s.reindex()
	return nil
}
