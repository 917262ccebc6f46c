package main

import (
	"encoding/json"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
)

func TestAddOrgPatch(t *testing.T) {
	cn := &chainv1.ChainNetwork{ObjectMeta: metav1.ObjectMeta{Name: "corp", ResourceVersion: "42"},
		Spec: chainv1.ChainNetworkSpec{Organizations: []chainv1.Organization{{Name: "org1", Validators: 2}}}}
	if _, err := addOrgPatch(cn, chainv1.Organization{Name: "org1", Validators: 1}); err == nil || !strings.Contains(err.Error(), "already has") {
		t.Fatalf("a duplicate organization was not refused: %v", err)
	}
	b, err := addOrgPatch(cn, chainv1.Organization{Name: "org3", Validators: 1, Observers: 2})
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Metadata struct{ ResourceVersion string }
		Spec     struct{ Organizations []chainv1.Organization }
	}
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	if p.Metadata.ResourceVersion != "42" {
		t.Fatalf("patch without the resourceVersion (lost-update guard): %s", b)
	}
	if len(p.Spec.Organizations) != 2 || p.Spec.Organizations[0].Name != "org1" || p.Spec.Organizations[1].Observers != 2 {
		t.Fatalf("organizations in the patch: %+v", p.Spec.Organizations)
	}
	if len(cn.Spec.Organizations) != 1 {
		t.Fatal("the network object was modified")
	}
}

func TestWriteNetworkStatus(t *testing.T) {
	var b strings.Builder
	writeNetworkStatus(&b, networkStatus{Name: "corp", Namespace: "ns", Membership: "consortium",
		Conditions: []metav1.Condition{{Type: chainv1.ConditionReady, Status: metav1.ConditionFalse, Reason: "NodesNotReady", Message: "1 of 2 node(s) ready"}},
		Nodes: []nodeRow{
			{Pod: "corp-org1-validator-0", Org: "org1", Role: "validator", Ready: true, Reachable: true, Height: 12, Peers: 1, Hashrate: 2.5e6, BestHash: "00000abcdef0123456789"},
			{Pod: "corp-org1-observer-0", Org: "org1", Role: "observer", Error: "connection refused"},
		}})
	out := b.String()
	for _, want := range []string{"network ns/corp (consortium): Ready=False (NodesNotReady)", "corp-org1-validator-0", "2.50 MH/s", "00000abcdef01234\n", "unreachable: connection refused"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
