package controllers

import (
	"strings"
	"testing"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
	"github.com/chainnet/chainnet/internal/api"
	"github.com/chainnet/chainnet/internal/governance"
	"github.com/chainnet/chainnet/internal/wire"
)

func gk(label string) governance.Key { return governance.Key(wire.DoubleSHA256([]byte(label))) }

func gorg(name string, validators ...string) governance.Organization {
	o := governance.Organization{Name: name, AdminKey: gk(name + "/admin")}
	for _, v := range validators {
		o.Validators = append(o.Validators, gk(v))
		o.Miners = append(o.Miners, gk(v+"/miner"))
	}
	return o
}

func proposal(id, kind, org string, add *governance.Organization, approvals ...string) api.Proposal {
	return api.Proposal{ID: wire.DoubleSHA256([]byte(id)).String(), Kind: kind, Organization: org, Add: add, Approvals: approvals, Needed: 2}
}

func describe(txs []plannedTx) string {
	var parts []string
	for _, t := range txs {
		parts = append(parts, t.Signer+": "+t.Action.String())
	}
	return strings.Join(parts, "; ")
}

// TestPlanKeepsLocalKeysOnChain: a scaled organization's new validator and miner key go on the
// chain by an update its own admin signs; nothing else is planned.
func TestPlanKeepsLocalKeysOnChain(t *testing.T) {
	want := gorg("org1", "v0", "v1")
	have := gorg("org1", "v0")
	got := planGovernance(planInput{local: []governance.Organization{want},
		chain: &api.Membership{Organizations: []governance.Organization{have}}, proposals: &api.Proposals{}})
	if len(got) != 1 || got[0].Signer != "org1" || got[0].Action.Type != governance.ActionUpdateOrg {
		t.Fatalf("planned %s", describe(got))
	}
	u := got[0].Action.Update
	if len(u.AddValidators) != 1 || u.AddValidators[0] != gk("v1") || len(u.AddMiners) != 1 || len(u.RemoveValidators) != 0 {
		t.Fatalf("update %+v", u)
	}
	if none := planGovernance(planInput{local: []governance.Organization{have},
		chain: &api.Membership{Organizations: []governance.Organization{have}}, proposals: &api.Proposals{}}); len(none) != 0 {
		t.Fatalf("an organization in line with the chain planned %s", describe(none))
	}
}

// TestPlanAdmitsANewLocalOrganization: an organization added to a single-cluster spec is proposed
// by the first admitted one, and once proposed every other admitted organization approves it,
// each once.
func TestPlanAdmitsANewLocalOrganization(t *testing.T) {
	org1, org2, org3 := gorg("org1", "a"), gorg("org2", "b"), gorg("org3", "c")
	chain := &api.Membership{Organizations: []governance.Organization{org1, org2}}
	got := planGovernance(planInput{local: []governance.Organization{org1, org2, org3}, chain: chain, proposals: &api.Proposals{}})
	if len(got) != 1 || got[0].Signer != "org1" || got[0].Action.Kind != governance.KindAddOrg || got[0].Action.Add.Name != "org3" {
		t.Fatalf("planned %s", describe(got))
	}
	open := proposal("p", "add-org", "org3", &org3, "org1")
	got = planGovernance(planInput{local: []governance.Organization{org1, org2, org3}, chain: chain,
		proposals: &api.Proposals{Proposals: []api.Proposal{open}}})
	if len(got) != 1 || got[0].Signer != "org2" || got[0].Action.Type != governance.ActionApprove {
		t.Fatalf("planned %s, want org2's approval only", describe(got))
	}
	// Someone else's proposal for an organization of the same name but another admin key is
	// not approved.
	impostor := gorg("org3", "x")
	impostor.AdminKey = gk("evil")
	other := proposal("q", "add-org", "org3", &impostor, "org2")
	got = planGovernance(planInput{local: []governance.Organization{org1, org2, org3}, chain: chain,
		proposals: &api.Proposals{Proposals: []api.Proposal{other}}})
	for _, tx := range got {
		if tx.Action.Type == governance.ActionApprove {
			t.Fatalf("approved an impostor's admission: %s", describe(got))
		}
	}
}

// TestPlanJoiningClusterWaits: a cluster that joins holds no admitted organization: it can
// neither propose nor approve, only wait.
func TestPlanJoiningClusterWaits(t *testing.T) {
	got := planGovernance(planInput{local: []governance.Organization{gorg("org2", "b")},
		chain: &api.Membership{Organizations: []governance.Organization{gorg("org1", "a")}}, proposals: &api.Proposals{}})
	if len(got) != 0 {
		t.Fatalf("a joining cluster planned %s", describe(got))
	}
}

// TestPlanRemovesARetiredOrganization: an organization this cluster administers that left the
// spec is proposed for removal, and consents to it with its own key.
func TestPlanRemovesARetiredOrganization(t *testing.T) {
	org1, org2 := gorg("org1", "a"), gorg("org2", "b")
	chain := &api.Membership{Organizations: []governance.Organization{org1, org2}}
	got := planGovernance(planInput{local: []governance.Organization{org1}, retired: []string{"org2"}, chain: chain, proposals: &api.Proposals{}})
	if len(got) != 1 || got[0].Signer != "org1" || got[0].Action.Kind != governance.KindRemoveOrg {
		t.Fatalf("planned %s", describe(got))
	}
	open := proposal("r", "remove-org", "org2", nil, "org1")
	got = planGovernance(planInput{local: []governance.Organization{org1}, retired: []string{"org2"}, chain: chain,
		proposals: &api.Proposals{Proposals: []api.Proposal{open}}})
	if len(got) != 1 || got[0].Signer != "org2" || got[0].Action.Type != governance.ActionApprove {
		t.Fatalf("planned %s, want org2 approving its own removal", describe(got))
	}
}

// TestPlanExplicitProposalsAndApprovals: a join request in spec.governance.proposals is proposed
// by the named proposer; an id in spec.governance.approvals is approved by every admitted
// organization that has not yet; an approved (scheduled) proposal is left alone.
func TestPlanExplicitProposalsAndApprovals(t *testing.T) {
	org1, org2 := gorg("org1", "a"), gorg("org2", "b")
	joiner := organizationIdentity(gorg("org5", "e"), []string{"10.0.0.1:30000#" + gk("e").String()})
	chain := &api.Membership{Organizations: []governance.Organization{org1, org2}}
	explicit := []chainv1.GovernanceProposal{{Name: "admit-org5", Proposer: "org2", AddOrganization: &joiner}}
	got := planGovernance(planInput{local: []governance.Organization{org1, org2}, chain: chain, explicit: explicit, proposals: &api.Proposals{}})
	if len(got) != 1 || got[0].Signer != "org2" || got[0].Action.Add == nil || got[0].Action.Add.Name != "org5" {
		t.Fatalf("planned %s", describe(got))
	}
	foreign := proposal("f", "remove-org", "org9", nil, "org9")
	decided := proposal("d", "add-org", "org7", nil, "org1", "org2")
	decided.Approved = true
	got = planGovernance(planInput{local: []governance.Organization{org1, org2}, chain: chain,
		approvals: []string{foreign.ID, decided.ID}, proposals: &api.Proposals{Proposals: []api.Proposal{foreign, decided}}})
	if len(got) != 2 || got[0].Action.Type != governance.ActionApprove || got[1].Action.Type != governance.ActionApprove {
		t.Fatalf("planned %s, want org1's and org2's approvals of the foreign proposal", describe(got))
	}
	if got[0].Action.Proposal.String() != foreign.ID {
		t.Fatalf("approved %s", got[0].Action.Proposal)
	}
}

// TestPlanOneTransactionPerSigner: an organization signs one transaction per pass (its account
// nonce orders them): the next is planned from the chain that carries the first.
func TestPlanOneTransactionPerSigner(t *testing.T) {
	org1 := gorg("org1", "a", "b")
	chain := &api.Membership{Organizations: []governance.Organization{gorg("org1", "a")}}
	got := planGovernance(planInput{local: []governance.Organization{org1, gorg("org2", "c"), gorg("org3", "d")}, chain: chain, proposals: &api.Proposals{}})
	if len(got) != 1 || got[0].Signer != "org1" {
		t.Fatalf("planned %s", describe(got))
	}
}

// TestDeclaredProposalsAreVotesCastOnce: an add-org entry is proposed, seen open, enacted; when
// the members later remove the organization, the entry still in the spec does not propose it
// again. An entry whose change already holds is never proposed, and a proposal that left the
// chain without effect is recorded as expired, not made again.
func TestDeclaredProposalsAreVotesCastOnce(t *testing.T) {
	org1, org2 := gorg("org1", "a"), gorg("org2", "b")
	entry := chainv1.GovernanceProposal{Name: "admit-org2", AddOrganization: ptr(organizationIdentity(org2, nil))}
	step := func(chain []governance.Organization, open []api.Proposal, height uint64, prev []chainv1.DeclaredProposal) (planInput, []chainv1.DeclaredProposal) {
		in := planInput{local: []governance.Organization{org1}, explicit: []chainv1.GovernanceProposal{entry},
			chain: &api.Membership{Height: height, Organizations: chain}, proposals: &api.Proposals{Proposals: open}}
		in.declared = trackDeclared(&in, prev)
		var out []chainv1.DeclaredProposal
		for _, d := range in.declared {
			out = append(out, d)
		}
		return in, out
	}
	in, declared := step([]governance.Organization{org1}, nil, 10, nil)
	if got := planGovernance(in); len(got) != 1 || got[0].Name != "admit-org2" {
		t.Fatalf("first pass planned %s", describe(got))
	}
	declared = []chainv1.DeclaredProposal{{Name: "admit-org2", ID: "x", State: chainv1.DeclaredProposed, Height: 10}}
	if in, _ := step([]governance.Organization{org1}, nil, 12, declared); len(planGovernance(in)) != 0 {
		t.Fatal("a proposal submitted and not yet on the chain was made again")
	}
	open := proposal("p", "add-org", "org2", &org2, "org1")
	_, declared = step([]governance.Organization{org1}, []api.Proposal{open}, 13, declared)
	if declared[0].State != chainv1.DeclaredOpen {
		t.Fatalf("seen open: %+v", declared)
	}
	_, declared = step([]governance.Organization{org1, org2}, nil, 14, declared)
	if declared[0].State != chainv1.DeclaredEnacted {
		t.Fatalf("admitted: %+v", declared)
	}
	// The members remove org2 later: the entry stays in the spec and proposes nothing.
	in, declared = step([]governance.Organization{org1}, nil, 50, declared)
	if got := planGovernance(in); len(got) != 0 || declared[0].State != chainv1.DeclaredEnacted {
		t.Fatalf("after org2's removal: planned %s, %+v", describe(got), declared)
	}
	// Expired: open, then gone without effect.
	_, declared = step([]governance.Organization{org1}, nil, 60, []chainv1.DeclaredProposal{{Name: "admit-org2", ID: "p", State: chainv1.DeclaredOpen}})
	if declared[0].State != chainv1.DeclaredExpired {
		t.Fatalf("expired: %+v", declared)
	}
	// Dropped from the mempool: forgotten after redeclareAfter blocks, then proposed again.
	in, declared = step([]governance.Organization{org1}, nil, 10+redeclareAfter+1, []chainv1.DeclaredProposal{{Name: "admit-org2", ID: "x", State: chainv1.DeclaredProposed, Height: 10}})
	if len(declared) != 0 || len(planGovernance(in)) != 1 {
		t.Fatalf("dropped proposal: %+v", declared)
	}
	// Already a member when the entry is first seen.
	_, declared = step([]governance.Organization{org1, org2}, nil, 70, nil)
	if declared[0].State != chainv1.DeclaredUnnecessary {
		t.Fatalf("already a member: %+v", declared)
	}
}
