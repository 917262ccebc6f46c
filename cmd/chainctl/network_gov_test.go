package main

import (
	"encoding/json"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
	"github.com/chainnet/chainnet/controllers"
	"github.com/chainnet/chainnet/internal/chaintest"
	"github.com/chainnet/chainnet/internal/genesis"
	"github.com/chainnet/chainnet/internal/governance"
)

// govNetwork is a consortium network of this cluster (org1) whose status says the chain lists
// org1 and org2 and has one open proposal.
func govNetwork(t *testing.T) *chainv1.ChainNetwork {
	return &chainv1.ChainNetwork{
		ObjectMeta: metav1.ObjectMeta{Name: "corp", Namespace: "ns", ResourceVersion: "42", Generation: 3},
		Spec: chainv1.ChainNetworkSpec{Membership: chainv1.Consortium, Organizations: []chainv1.Organization{{Name: "org1", Validators: 1}},
			Governance: &chainv1.GovernanceSpec{
				Proposals: []chainv1.GovernanceProposal{{Name: "add-org5", AddOrganization: &chainv1.OrganizationIdentity{Name: "org5", AdminKey: hexKey(t, 50)}}},
				Approvals: []string{strings.Repeat("0", 64)},
			}},
		Status: chainv1.ChainNetworkStatus{Governance: &chainv1.GovernanceStatus{Height: 9, Seq: 1,
			Organizations: []chainv1.MemberOrganization{{Name: "org1", Validators: 1, Miners: 1, Local: true}, {Name: "org2", Validators: 1, Miners: 1}},
			Proposals: []chainv1.ProposalStatus{
				{ID: "ab12" + strings.Repeat("0", 60), Kind: "add-org", Organization: "org5", Approvals: []string{"org2"}, Needed: 2, ExpiresAt: 30},
				{ID: "ab13" + strings.Repeat("0", 60), Kind: "remove-org", Organization: "org2", Approvals: []string{"org2"}, Needed: 2, ExpiresAt: 31},
			},
			Local: []chainv1.OrganizationIdentity{{Name: "org1", AdminKey: hexKey(t, 1), Validators: []string{hexKey(t, 2)}, Miners: []string{hexKey(t, 3)},
				Endpoints: []string{"172.18.0.2:31001#" + hexKey(t, 2)}}},
		}},
	}
}

func identity(t *testing.T, name string, seed byte) *chainv1.OrganizationIdentity {
	return &chainv1.OrganizationIdentity{Name: name, AdminKey: hexKey(t, seed), Validators: []string{hexKey(t, seed+1)}, Miners: []string{hexKey(t, seed+2)}}
}

type specPatch struct {
	Metadata struct{ ResourceVersion string }
	Spec     struct{ Governance chainv1.GovernanceSpec }
}

func decodePatch(t *testing.T, d *declaration) specPatch {
	t.Helper()
	var p specPatch
	if err := json.Unmarshal(d.patch, &p); err != nil {
		t.Fatal(err)
	}
	if p.Metadata.ResourceVersion != "42" {
		t.Fatalf("patch without the resourceVersion (lost-update guard): %s", d.patch)
	}
	return p
}

func TestProposePatch(t *testing.T) {
	cn := govNetwork(t)
	d, err := proposePatch(cn, chainv1.GovernanceProposal{Name: "add-org4", AddOrganization: identity(t, "org4", 40)})
	if err != nil {
		t.Fatal(err)
	}
	p := decodePatch(t, d)
	if len(p.Spec.Governance.Proposals) != 2 || p.Spec.Governance.Proposals[0].Name != "add-org5" || p.Spec.Governance.Proposals[1].AddOrganization.AdminKey != hexKey(t, 40) {
		t.Fatalf("proposals in the patch: %+v", p.Spec.Governance.Proposals)
	}
	if p.Spec.Governance.Approvals != nil {
		t.Fatalf("the patch rewrites approvals too: %s", d.patch)
	}
	if len(cn.Spec.Governance.Proposals) != 1 {
		t.Fatal("the network object was modified")
	}

	// Removing org5's admission's opposite: the removal of a member replaces nothing; removing
	// an organization this cluster's spec asks to admit drops that entry.
	cn.Status.Governance.Organizations = append(cn.Status.Governance.Organizations, chainv1.MemberOrganization{Name: "org5"})
	d, err = proposePatch(cn, chainv1.GovernanceProposal{Name: "remove-org5", RemoveOrganization: "org5", Proposer: "org1"})
	if err != nil {
		t.Fatal(err)
	}
	if p := decodePatch(t, d); len(p.Spec.Governance.Proposals) != 1 || p.Spec.Governance.Proposals[0].RemoveOrganization != "org5" ||
		strings.Join(d.dropped, ",") != "add-org5" {
		t.Fatalf("remove org5: %+v, dropped %v", p.Spec.Governance.Proposals, d.dropped)
	}

	for _, c := range []struct {
		name string
		p    chainv1.GovernanceProposal
		want string
	}{
		{"entry name taken", chainv1.GovernanceProposal{Name: "add-org5", AddOrganization: identity(t, "org6", 60)}, "pass another --name"},
		{"same admission twice", chainv1.GovernanceProposal{Name: "again", AddOrganization: identity(t, "org5", 50)}, "already asks for this"},
		{"a member", chainv1.GovernanceProposal{Name: "add-org2", AddOrganization: identity(t, "org2", 20)}, "already a member"},
		{"this cluster's, added", chainv1.GovernanceProposal{Name: "add-org1", AddOrganization: identity(t, "org1", 10)}, "organization of this cluster"},
		{"this cluster's, removed", chainv1.GovernanceProposal{Name: "remove-org1", RemoveOrganization: "org1"}, "remove it from spec.organizations"},
		{"not a member", chainv1.GovernanceProposal{Name: "remove-org9", RemoveOrganization: "org9"}, "not a member"},
		{"foreign proposer", chainv1.GovernanceProposal{Name: "remove-org2", RemoveOrganization: "org2", Proposer: "org2"}, "--proposer org2"},
	} {
		if _, err := proposePatch(govNetwork(t), c.p); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error saying %q", c.name, err, c.want)
		}
	}
	public := govNetwork(t)
	public.Spec.Membership = chainv1.Public
	if _, err := proposePatch(public, chainv1.GovernanceProposal{Name: "remove-org2", RemoveOrganization: "org2"}); err == nil || !strings.Contains(err.Error(), "public") {
		t.Errorf("a public network: %v", err)
	}
	// Before the operator has read the chain, a removal is not second-guessed.
	fresh := govNetwork(t)
	fresh.Status.Governance = nil
	if _, err := proposePatch(fresh, chainv1.GovernanceProposal{Name: "remove-org9", RemoveOrganization: "org9"}); err != nil {
		t.Errorf("removal without status: %v", err)
	}
}

func TestApprovePatchAndProposalIDs(t *testing.T) {
	cn := govNetwork(t)
	id, listed, err := statusProposal(cn, "AB12")
	if err != nil || !listed || id != "ab12"+strings.Repeat("0", 60) {
		t.Fatalf("prefix ab12: %s %v %v", id, listed, err)
	}
	for _, c := range []struct{ arg, want string }{
		{"ab1", "at least 4"}, {"ab1x", "want its id"}, {"ab10", "no proposal starting with ab10"},
	} {
		if _, _, err := statusProposal(cn, c.arg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.arg, err, c.want)
		}
	}
	cn.Status.Governance.Proposals[1].ID = "ab12" + strings.Repeat("1", 60)
	if _, _, err := statusProposal(cn, "ab12"); err == nil || !strings.Contains(err.Error(), "ambiguous") {
		t.Errorf("ambiguous prefix: %v", err)
	}
	unlisted := strings.Repeat("fe", 32)
	if id, listed, err := statusProposal(cn, unlisted); err != nil || listed || id != unlisted {
		t.Errorf("a full id the status does not list: %s %v %v", id, listed, err)
	}

	d, err := approvePatch(cn, id)
	if err != nil {
		t.Fatal(err)
	}
	if p := decodePatch(t, d); strings.Join(p.Spec.Governance.Approvals, ",") != strings.Repeat("0", 64)+","+id || p.Spec.Governance.Proposals != nil {
		t.Fatalf("approvals in the patch: %s", d.patch)
	}
	if d, err := approvePatch(cn, strings.Repeat("0", 64)); err != nil || d.patch != nil || d.note == "" {
		t.Fatalf("an approval already declared: %+v %v", d, err)
	}
}

func TestDeclaredHere(t *testing.T) {
	cn := govNetwork(t)
	for _, c := range []struct{ kind, org, id, want string }{
		{"add-org", "org5", "x", "proposals[add-org5]"},
		{"remove-org", "org5", "x", ""},
		{"remove-org", "org2", strings.Repeat("0", 64), "approvals"},
	} {
		if got := declaredHere(cn, c.kind, c.org, c.id); got != c.want {
			t.Errorf("%s %s: %q, want %q", c.kind, c.org, got, c.want)
		}
	}
}

func TestLocalIdentity(t *testing.T) {
	cn := govNetwork(t)
	if id, err := localIdentity(cn, ""); err != nil || id.Name != "org1" {
		t.Fatalf("single organization: %+v %v", id, err)
	}
	cn.Status.Governance.Local = append(cn.Status.Governance.Local, *identity(t, "org3", 30))
	if _, err := localIdentity(cn, ""); err == nil || !strings.Contains(err.Error(), "pass --org") {
		t.Fatalf("two organizations without --org: %v", err)
	}
	if id, err := localIdentity(cn, "org3"); err != nil || id.AdminKey != hexKey(t, 30) {
		t.Fatalf("--org org3: %+v %v", id, err)
	}
	if _, err := localIdentity(cn, "org2"); err == nil || !strings.Contains(err.Error(), "not an organization of this cluster") {
		t.Fatalf("--org org2: %v", err)
	}
	cn.Status.Governance = nil
	if _, err := localIdentity(cn, ""); err == nil || !strings.Contains(err.Error(), "status.governance.local is empty") {
		t.Fatalf("no status: %v", err)
	}
}

// consortiumGenesis is a genesis file of org1 and org2 and its hash.
func consortiumGenesis(t *testing.T) (string, string) {
	f := chaintest.Genesis(t)
	f.Membership = genesis.Consortium
	for i, name := range []string{"org1", "org2"} {
		seed := byte(10 * (i + 1))
		f.Organizations = append(f.Organizations, governance.Organization{Name: name, AdminKey: governance.Key(chaintest.Key(t, seed).Public),
			Validators: []governance.Key{governance.Key(chaintest.Key(t, seed+1).Public)}, Miners: []governance.Key{governance.Key(chaintest.Key(t, seed+2).Public)}})
	}
	b, err := f.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	h, err := f.Hash()
	if err != nil {
		t.Fatal(err)
	}
	return string(b), h
}

func TestExportJoin(t *testing.T) {
	cn := govNetwork(t)
	text, hash := consortiumGenesis(t)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "corp-genesis", Annotations: map[string]string{controllers.AnnotationGenesisHash: hash}},
		Data: map[string]string{controllers.GenesisKey: text}}
	cn.Status.GenesisHash = hash
	j, err := exportJoin(cn, cm)
	if err != nil {
		t.Fatal(err)
	}
	if j.GenesisHash != hash || j.Genesis != text || strings.Join(j.BootstrapPeers, ",") != "172.18.0.2:31001#"+hexKey(t, 2) {
		t.Fatalf("join: %+v", j)
	}
	cn.Status.GenesisHash = strings.Repeat("1", 64)
	if _, err := exportJoin(cn, cm); err == nil || !strings.Contains(err.Error(), "status.genesisHash") {
		t.Fatalf("a genesis that is not the network's: %v", err)
	}
	cn.Status.GenesisHash = ""
	cm.Data[controllers.GenesisKey] = strings.Replace(text, "\"test\"", "\"other\"", 1)
	if _, err := exportJoin(cn, cm); err == nil || !strings.Contains(err.Error(), controllers.AnnotationGenesisHash) {
		t.Fatalf("an edited genesis file: %v", err)
	}
}
