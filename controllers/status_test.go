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
