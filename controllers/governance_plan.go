package controllers

import (
	"fmt"
	"slices"
	"strings"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
	"github.com/chainnet/chainnet/internal/api"
	"github.com/chainnet/chainnet/internal/governance"
	"github.com/chainnet/chainnet/internal/wire"
)

// The governance planner is a pure function from what this cluster wants (its organizations'
// keys, the organizations it no longer runs, the proposals and approvals its spec declares) and
// what the chain says (the membership and open proposals after a node's tip) to the governance
// transactions to sign next. The chain is the record of intent: a pass that crashes after
// submitting is repeated from what the chain (and the node's mempool) then holds, and a
// transaction built again from the same account nonce and action is the same transaction.

// planInput is what the planner reads.
type planInput struct {
	// local are this cluster's organizations as the chain should list them, in spec order.
	local []governance.Organization
	// retired are organizations whose admin key this cluster holds but its spec no longer runs.
	retired []string
	// explicit are spec.governance.proposals; approvals spec.governance.approvals.
	explicit  []chainv1.GovernanceProposal
	approvals []string
	// declared is what became of the explicit entries (trackDeclared): final ones are done.
	declared  map[string]chainv1.DeclaredProposal
	chain     *api.Membership
	proposals *api.Proposals
}

// plannedTx is one governance transaction to sign with Signer's admin key.
type plannedTx struct {
	Signer string
	Action *governance.Action
	Why    string
	// Name is the spec.governance.proposals entry the transaction proposes, if any.
	Name string
}

func (in *planInput) onChain(name string) *governance.Organization {
	for i := range in.chain.Organizations {
		if in.chain.Organizations[i].Name == name {
			return &in.chain.Organizations[i]
		}
	}
	return nil
}

// admitted are this cluster's organizations the chain lists: they can sign proposals and
// approvals.
func (in *planInput) admitted() []string {
	var out []string
	for _, o := range in.local {
		if in.onChain(o.Name) != nil {
			out = append(out, o.Name)
		}
	}
	return out
}

func (in *planInput) openProposal(match func(p *api.Proposal) bool) *api.Proposal {
	for i := range in.proposals.Proposals {
		if p := &in.proposals.Proposals[i]; match(p) {
			return p
		}
	}
	return nil
}

// planGovernance returns the transactions to submit now, at most one per signing organization
// (its account nonce orders them; the next pass plans the next one from the new chain state).
func planGovernance(in planInput) []plannedTx {
	var all []plannedTx
	admitted := in.admitted()
	approve := func(p *api.Proposal, why string, also ...string) {
		if p.Approved {
			return
		}
		for _, org := range append(slices.Clone(admitted), also...) {
			if !slices.Contains(p.Approvals, org) {
				id, err := wire.ParseHash(p.ID)
				if err != nil {
					continue
				}
				all = append(all, plannedTx{Signer: org, Action: governance.Approve(id), Why: why})
			}
		}
	}
	propose := func(signer string, a *governance.Action, why string) {
		if signer == "" && len(admitted) > 0 {
			signer = admitted[0]
		}
		if signer != "" && slices.Contains(admitted, signer) {
			all = append(all, plannedTx{Signer: signer, Action: a, Why: why})
		}
	}
	// This cluster's organizations: keep their keys on the chain as the spec wants them; admit
	// the ones the chain does not list yet.
	for _, want := range in.local {
		have := in.onChain(want.Name)
		if have != nil {
			if u, ok := orgUpdate(have, &want); ok {
				all = append(all, plannedTx{Signer: want.Name, Action: governance.UpdateOrg(u), Why: describeUpdate(want.Name, u)})
			}
			continue
		}
		admin := want.AdminKey.String()
		if p := in.openProposal(func(p *api.Proposal) bool {
			return p.Kind == string(governance.KindAddOrg) && p.Add != nil && p.Add.AdminKey.String() == admin
		}); p != nil {
			approve(p, "admit "+want.Name)
		} else {
			propose("", governance.ProposeAddOrg(want), "admit "+want.Name)
		}
	}
	for _, name := range in.retired {
		if in.onChain(name) == nil {
			continue
		}
		why := "remove " + name + " (no longer in spec.organizations)"
		if p := in.openProposal(func(p *api.Proposal) bool {
			return p.Kind == string(governance.KindRemoveOrg) && p.Organization == name
		}); p != nil {
			// This cluster holds the organization's admin key: it consents to its own removal.
			approve(p, why, name)
		} else if len(admitted) > 0 {
			propose("", governance.ProposeRemoveOrg(name), why)
		} else {
			all = append(all, plannedTx{Signer: name, Action: governance.ProposeRemoveOrg(name), Why: why})
		}
	}
	for _, e := range in.explicit {
		if d, ok := in.declared[e.Name]; ok && d.State != chainv1.DeclaredOpen {
			continue // decided, unnecessary, or proposed and not on the chain yet
		}
		switch {
		case e.AddOrganization != nil:
			org, err := identityOrganization(e.AddOrganization)
			if err != nil || in.onChain(org.Name) != nil {
				continue
			}
			admin := org.AdminKey.String()
			if p := in.openProposal(func(p *api.Proposal) bool {
				return p.Kind == string(governance.KindAddOrg) && p.Add != nil && p.Add.AdminKey.String() == admin
			}); p != nil {
				approve(p, "admit "+org.Name+" ("+e.Name+")")
			} else {
				propose(e.Proposer, governance.ProposeAddOrg(org), "admit "+org.Name+" ("+e.Name+")")
				all[len(all)-1].Name = e.Name
			}
		case e.RemoveOrganization != "":
			if in.onChain(e.RemoveOrganization) == nil {
				continue
			}
			n := len(all)
			in.removeOrg(e.Proposer, e.RemoveOrganization, "remove "+e.RemoveOrganization+" ("+e.Name+")", approve, propose)
			if len(all) > n && all[len(all)-1].Action.Type == governance.ActionPropose {
				all[len(all)-1].Name = e.Name
			}
		}
	}
	for _, id := range in.approvals {
		if p := in.openProposal(func(p *api.Proposal) bool { return p.ID == id }); p != nil {
			approve(p, "approve "+id[:min(12, len(id))])
		}
	}
	return onePerSigner(all)
}

func (in *planInput) removeOrg(proposer, name, why string, approve func(*api.Proposal, string, ...string), propose func(string, *governance.Action, string)) {
	if p := in.openProposal(func(p *api.Proposal) bool {
		return p.Kind == string(governance.KindRemoveOrg) && p.Organization == name
	}); p != nil {
		approve(p, why)
		return
	}
	propose(proposer, governance.ProposeRemoveOrg(name), why)
}

func onePerSigner(all []plannedTx) []plannedTx {
	seen := map[string]bool{}
	var out []plannedTx
	for _, t := range all {
		if !seen[t.Signer] {
			seen[t.Signer] = true
			out = append(out, t)
		}
	}
	return out
}

// redeclareAfter: a proposal submitted but never seen open on the chain within this many blocks
// (dropped from the mempool) is made again.
const redeclareAfter = 20

// trackDeclared follows each spec.governance.proposals entry to its fate, from what it was
// before and what the chain says now: Unnecessary if its change already holds when first seen;
// Open while a matching proposal is on the chain; then Enacted if its change holds, Expired if
// not. A Proposed entry never seen open within redeclareAfter blocks is forgotten, to be made again.
func trackDeclared(in *planInput, prev []chainv1.DeclaredProposal) map[string]chainv1.DeclaredProposal {
	old := map[string]chainv1.DeclaredProposal{}
	for _, d := range prev {
		old[d.Name] = d
	}
	out := map[string]chainv1.DeclaredProposal{}
	for _, e := range in.explicit {
		d, seen := old[e.Name]
		holds, open := in.declaredEffect(e)
		switch {
		case seen && (d.State == chainv1.DeclaredEnacted || d.State == chainv1.DeclaredExpired || d.State == chainv1.DeclaredUnnecessary):
		case open != nil:
			d = chainv1.DeclaredProposal{Name: e.Name, ID: open.ID, State: chainv1.DeclaredOpen, Height: d.Height}
		case !seen:
			if !holds {
				continue // nothing yet: the planner proposes it
			}
			d = chainv1.DeclaredProposal{Name: e.Name, State: chainv1.DeclaredUnnecessary}
		case d.State == chainv1.DeclaredOpen:
			d.State = chainv1.DeclaredExpired
			if holds {
				d.State = chainv1.DeclaredEnacted
			}
		case d.State == chainv1.DeclaredProposed:
			if holds {
				d.State = chainv1.DeclaredEnacted
			} else if int64(in.chain.Height) > d.Height+redeclareAfter {
				continue
			}
		}
		out[e.Name] = d
	}
	return out
}

// declaredEffect reports whether an entry's change holds on the chain, and the open proposal
// that makes it.
func (in *planInput) declaredEffect(e chainv1.GovernanceProposal) (bool, *api.Proposal) {
	switch {
	case e.AddOrganization != nil:
		have := in.onChain(e.AddOrganization.Name)
		holds := have != nil && have.AdminKey.String() == e.AddOrganization.AdminKey
		return holds, in.openProposal(func(p *api.Proposal) bool {
			return p.Kind == string(governance.KindAddOrg) && p.Add != nil && p.Add.AdminKey.String() == e.AddOrganization.AdminKey
		})
	case e.RemoveOrganization != "":
		return in.onChain(e.RemoveOrganization) == nil, in.openProposal(func(p *api.Proposal) bool {
			return p.Kind == string(governance.KindRemoveOrg) && p.Organization == e.RemoveOrganization
		})
	}
	return false, nil
}

// orgUpdate is the change that makes the chain's organization have want's keys.
func orgUpdate(have, want *governance.Organization) (governance.OrgUpdate, bool) {
	var u governance.OrgUpdate
	u.AddValidators, u.RemoveValidators = keyDiff(have.Validators, want.Validators)
	u.AddObservers, u.RemoveObservers = keyDiff(have.Observers, want.Observers)
	u.AddMiners, u.RemoveMiners = keyDiff(have.Miners, want.Miners)
	changed := len(u.AddValidators)+len(u.RemoveValidators)+len(u.AddObservers)+len(u.RemoveObservers)+len(u.AddMiners)+len(u.RemoveMiners) > 0
	return u, changed
}

func keyDiff(have, want []governance.Key) (add, remove []governance.Key) {
	for _, k := range want {
		if !slices.Contains(have, k) {
			add = append(add, k)
		}
	}
	for _, k := range have {
		if !slices.Contains(want, k) {
			remove = append(remove, k)
		}
	}
	return add, remove
}

func describeUpdate(org string, u governance.OrgUpdate) string {
	var parts []string
	for _, c := range []struct {
		n    int
		what string
	}{{len(u.AddValidators), "validator(s) added"}, {len(u.RemoveValidators), "validator(s) removed"},
		{len(u.AddObservers), "observer(s) added"}, {len(u.RemoveObservers), "observer(s) removed"},
		{len(u.AddMiners), "miner key(s) added"}, {len(u.RemoveMiners), "miner key(s) removed"}} {
		if c.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c.n, c.what))
		}
	}
	return org + ": " + strings.Join(parts, ", ")
}

// identityOrganization is a join request as chain membership.
func identityOrganization(id *chainv1.OrganizationIdentity) (governance.Organization, error) {
	org := governance.Organization{Name: id.Name}
	var err error
	if org.AdminKey, err = governance.ParseKey(id.AdminKey); err != nil {
		return org, fmt.Errorf("adminKey: %w", err)
	}
	for _, l := range []struct {
		from []string
		to   *[]governance.Key
	}{{id.Validators, &org.Validators}, {id.Observers, &org.Observers}, {id.Miners, &org.Miners}} {
		for _, s := range l.from {
			k, err := governance.ParseKey(s)
			if err != nil {
				return org, err
			}
			*l.to = append(*l.to, k)
		}
	}
	return org, nil
}

// organizationIdentity is an organization's public identity with its nodes' endpoints.
func organizationIdentity(o governance.Organization, endpoints []string) chainv1.OrganizationIdentity {
	id := chainv1.OrganizationIdentity{Name: o.Name, AdminKey: o.AdminKey.String(), Endpoints: endpoints}
	for _, l := range []struct {
		from []governance.Key
		to   *[]string
	}{{o.Validators, &id.Validators}, {o.Observers, &id.Observers}, {o.Miners, &id.Miners}} {
		for _, k := range l.from {
			*l.to = append(*l.to, k.String())
		}
	}
	return id
}
