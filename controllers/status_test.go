package controllers

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
	"github.com/chainnet/chainnet/internal/api"
)

func TestSummarizeDetectsAChainSplit(t *testing.T) {
	nodes := make([]chainv1.NodeStatus, 3)
	nodes[0].Name, nodes[1].Name, nodes[2].Name = "a", "b", "c"
	agree := []*api.Status{{Height: 10, BestHash: "x", Peers: 2, Hashrate: 100}, {Height: 10, BestHash: "x"}, {Height: 12, BestHash: "y"}}
	cs := summarize(append([]chainv1.NodeStatus(nil), nodes...), agree)
	if !cs.Agree || cs.CommonHeight != 10 || cs.BestHeight != 12 || cs.HashRate != 100 {
		t.Fatalf("agreeing nodes: %+v", cs)
	}
	split := []*api.Status{{Height: 10, BestHash: "x"}, {Height: 10, BestHash: "z"}, nil}
	cs = summarize(append([]chainv1.NodeStatus(nil), nodes...), split)
	if cs.Agree || cs.Nodes[2].Reachable {
		t.Fatalf("split: %+v", cs)
	}
	cn := network(chainv1.Public, org("default", 2, 0))
	st := &chainv1.ChainNetworkStatus{ReadyNodes: 2, DesiredNodes: 2, Chain: cs}
	setConditions(cn, st, false)
	if c := meta.FindStatusCondition(st.Conditions, chainv1.ConditionDegraded); c.Reason != "ChainSplit" {
		t.Fatalf("degraded reason %s", c.Reason)
	}
	if meta.IsStatusConditionTrue(st.Conditions, chainv1.ConditionReady) {
		t.Fatal("a split network is not ready")
	}
}

func TestPermissionsAppliedFollowsTheNodes(t *testing.T) {
	cn := network(chainv1.Consortium, org("org1", 2, 0))
	nodes := []chainv1.NodeStatus{{Name: "a"}, {Name: "b"}}
	st := &chainv1.ChainNetworkStatus{ReadyNodes: 2, DesiredNodes: 2, PermissionsVersion: 3,
		Chain: summarize(nodes, []*api.Status{{Height: 5, BestHash: "x", PermissionsVersion: 3}, {Height: 5, BestHash: "x", PermissionsVersion: 2}})}
	setConditions(cn, st, false)
	if c := meta.FindStatusCondition(st.Conditions, chainv1.ConditionPermissionsApplied); c == nil || c.Reason != "NodesReloading" {
		t.Fatalf("one node behind: %+v", c)
	}
	st.Chain = summarize([]chainv1.NodeStatus{{Name: "a"}, {Name: "b"}}, []*api.Status{{Height: 5, BestHash: "x", PermissionsVersion: 3}, {Height: 5, BestHash: "x", PermissionsVersion: 3}})
	setConditions(cn, st, false)
	if !meta.IsStatusConditionTrue(st.Conditions, chainv1.ConditionPermissionsApplied) {
		t.Fatal("all nodes current: PermissionsApplied must be True")
	}
	pub := network(chainv1.Public, org("default", 1, 0))
	pst := &chainv1.ChainNetworkStatus{ReadyNodes: 1, DesiredNodes: 1}
	setConditions(pub, pst, false)
	if meta.FindStatusCondition(pst.Conditions, chainv1.ConditionPermissionsApplied) != nil {
		t.Fatal("public networks have no permission file")
	}
}
