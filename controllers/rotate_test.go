package controllers

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
	"github.com/chainnet/chainnet/internal/governance"
	"github.com/chainnet/chainnet/internal/permissions"
)

func TestPermissionFileFollowsKeyRotation(t *testing.T) {
	cn := network(chainv1.Consortium, org("org1", 2, 1), org("org2", 1, 0))
	keys := withKeys(cn)
	v1 := PodName(cn, "org1", RoleValidator, 1)
	old := keys[node{"org1", RoleValidator, 1}]
	rot := chainv1.KeyRotationStatus{Node: v1, ID: "r1", OldNodeID: old.NodeID, OldMinerKey: old.MinerKey, NewNodeID: hex64(0xa1), NewMinerKey: hex64(0xa2)}
	render := func(phase string, rotatedAt *metav1.Time) (permissions.File, *permissions.Set) {
		r := rot
		r.Phase, r.RotatedAt = phase, rotatedAt
		cn.Status.KeyRotations = []chainv1.KeyRotationStatus{r}
		k := keys
		if rotatedAt != nil { // swapped: the key Secret holds the new keys
			k = map[node]nodeKeys{}
			for n, v := range keys {
				k[n] = v
			}
			k[node{"org1", RoleValidator, 1}] = nodeKeys{NodeID: rot.NewNodeID, MinerKey: rot.NewMinerKey}
		}
		f := permissionFile(cn, k)
		withRotations(cn, &f)
		f.Version = 1
		b, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		set, err := permissions.Parse(b)
		if err != nil {
			t.Fatalf("%s: the file does not validate: %v", phase, err)
		}
		return f, set
	}
	at := metav1.NewTime(time.Unix(1_800_000_000, 0))

	f, _ := render(chainv1.RotationAdmitting, nil)
	if !listsNode(f, "org1", rot.OldNodeID) || !listsNode(f, "org1", rot.NewNodeID) || !listsMiner(f, "org1", rot.NewMinerKey) || !listsMiner(f, "org1", rot.OldMinerKey) {
		t.Fatalf("admitting: both identities and both miner keys must be listed: %+v", f.Organizations[0])
	}
	f, _ = render(chainv1.RotationRestarting, &at)
	if !listsNode(f, "org1", rot.OldNodeID) || !listsNode(f, "org1", rot.NewNodeID) || listsMiner(f, "org1", rot.OldMinerKey) || !listsMiner(f, "org1", rot.NewMinerKey) {
		t.Fatalf("restarting: old identity kept until it reconnects, old miner key no longer listed: %+v", f.Organizations[0])
	}
	// What the governance step puts on the chain: the old miner key leaves it with the swap, so
	// its blocks are refused from that height on while the ones it signed before stay valid.
	orgs, err := localOrganizations(cn, keys, withAdmins(t, cn))
	if err != nil {
		t.Fatal(err)
	}
	if org1 := orgs[0]; slices.Contains(org1.Miners, mustKey(t, rot.OldMinerKey)) || !slices.Contains(org1.Miners, mustKey(t, rot.NewMinerKey)) ||
		!slices.Contains(org1.Validators, mustKey(t, rot.OldNodeID)) || !slices.Contains(org1.Validators, mustKey(t, rot.NewNodeID)) {
		t.Fatalf("restarting: the chain should list both identities and the new miner key only: %+v", org1)
	}
	// The reconcile that swaps the keys built the file from the Secret as it was before the swap.
	cn.Status.KeyRotations[0].Phase = chainv1.RotationRestarting
	stale := permissionFile(cn, keys)
	withRotations(cn, &stale)
	stale.Version = 1
	b, _ := json.Marshal(stale)
	if _, err := permissions.Parse(b); err != nil {
		t.Fatalf("restarting, built from the old Secret: %v", err)
	}
	if !listsNode(stale, "org1", rot.OldNodeID) || !listsNode(stale, "org1", rot.NewNodeID) || listsMiner(stale, "org1", rot.OldMinerKey) {
		t.Fatalf("restarting, built from the old Secret: %+v", stale.Organizations[0])
	}
	f, _ = render(chainv1.RotationCompleted, &at)
	if listsNode(f, "org1", rot.OldNodeID) || !listsNode(f, "org1", rot.NewNodeID) || listsMiner(f, "org1", rot.OldMinerKey) {
		t.Fatalf("completed: old identity and old miner key gone: %+v", f.Organizations[0])
	}
}

func mustKey(t *testing.T, s string) governance.Key {
	k, err := governance.ParseKey(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func listsNode(f permissions.File, org, id string) bool {
	for _, o := range f.Organizations {
		if o.Name != org {
			continue
		}
		for _, n := range append(append([]permissions.Node{}, o.Validators...), o.Observers...) {
			if n.NodeID == id {
				return true
			}
		}
	}
	return false
}

func listsMiner(f permissions.File, org, key string) bool {
	for _, o := range f.Organizations {
		for _, m := range o.Miners {
			if o.Name == org && m == key {
				return true
			}
		}
	}
	return false
}

func TestEveryNodeEnforces(t *testing.T) {
	cn := network(chainv1.Consortium, org("org1", 2, 0))
	if everyNodeEnforces(cn, 3) {
		t.Fatal("no chain status: nothing is known to enforce anything")
	}
	cn.Status.Chain = &chainv1.ChainStatus{Nodes: []chainv1.NodeStatus{{Name: "a", Reachable: true, PermissionsVersion: 3}, {Name: "b", Reachable: true, PermissionsVersion: 2}}}
	if everyNodeEnforces(cn, 3) {
		t.Fatal("a node still on version 2")
	}
	cn.Status.Chain.Nodes[1].PermissionsVersion = 3
	if !everyNodeEnforces(cn, 3) {
		t.Fatal("every node on version 3")
	}
	if everyNodeEnforces(cn, 0) {
		t.Fatal("version 0 (not yet recorded) must wait")
	}
	pub := network(chainv1.Public, org("default", 2, 0))
	if !everyNodeEnforces(pub, 0) {
		t.Fatal("public networks have no permission file to wait for")
	}
}
