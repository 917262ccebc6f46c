package controllers

import (
	"context"
	"errors"
	"fmt"
	"testing"

	appsv1 "k8s.io/api/apps/v1"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

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

// A failed step leaves the network not Ready, with the step's reason: Ready=True from an earlier
// pass must not survive a pass that could not carry out the spec.
func TestFailedStepIsNotReady(t *testing.T) {
	cn := network(chainv1.Public, org("default", 1, 0))
	cn.Generation = 2
	cn.Status.Conditions = []metav1.Condition{{Type: chainv1.ConditionReady, Status: metav1.ConditionTrue, Reason: "AllNodesReady", LastTransitionTime: metav1.Now()}}
	scheme := runtime.NewScheme()
	if err := chainv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(cn).WithStatusSubresource(cn).Build()
	r := &ChainNetworkReconciler{Client: c}
	if _, err := r.failed(context.Background(), cn, "GenesisFailed", errors.New("boom")); err == nil {
		t.Fatal("failed returns the error for a retry")
	}
	var got chainv1.ChainNetwork
	if err := c.Get(context.Background(), client.ObjectKeyFromObject(cn), &got); err != nil {
		t.Fatal(err)
	}
	ready := meta.FindStatusCondition(got.Status.Conditions, chainv1.ConditionReady)
	if ready == nil || ready.Status != metav1.ConditionFalse || ready.Reason != "GenesisFailed" || ready.ObservedGeneration != 2 {
		t.Fatalf("Ready after a failed step: %+v", ready)
	}
	if !meta.IsStatusConditionTrue(got.Status.Conditions, chainv1.ConditionDegraded) {
		t.Fatal("a failed step is Degraded")
	}
}

// conditionsAfter runs setConditions as successive reconciles do (each status the next one's
// previous) and returns "<type>=<status>/<reason>" of Progressing and Degraded after the last.
func conditionsAfter(steps ...[2]int32) string {
	cn := network(chainv1.Public, org("default", 2, 0))
	for _, s := range steps {
		st := &chainv1.ChainNetworkStatus{ReadyNodes: s[0], DesiredNodes: s[1]}
		setConditions(cn, st, false)
		cn.Status = *st
	}
	p := meta.FindStatusCondition(cn.Status.Conditions, chainv1.ConditionProgressing)
	d := meta.FindStatusCondition(cn.Status.Conditions, chainv1.ConditionDegraded)
	return fmt.Sprintf("Progressing=%s/%s Degraded=%s/%s", p.Status, p.Reason, d.Status, d.Reason)
}

func TestLostNodesAreDegradedAndAddedNodesProgressing(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps [][2]int32 // ready, desired at each reconcile
		want  string
	}{
		{"a new network starts", [][2]int32{{0, 2}, {1, 2}}, "Progressing=True/NodesStarting Degraded=False/AsExpected"},
		{"then is ready", [][2]int32{{0, 2}, {2, 2}}, "Progressing=False/RolloutComplete Degraded=False/AsExpected"},
		{"a scale-up's new node starts", [][2]int32{{2, 2}, {2, 3}}, "Progressing=True/NodesStarting Degraded=False/AsExpected"},
		{"a ready node lost", [][2]int32{{2, 2}, {1, 2}}, "Progressing=False/RolloutComplete Degraded=True/NodesUnavailable"},
		// Its replacement pod exists but is not ready: the count no longer drops, the loss stands.
		{"stays lost until back", [][2]int32{{2, 2}, {1, 2}, {1, 2}, {1, 2}}, "Progressing=False/RolloutComplete Degraded=True/NodesUnavailable"},
		{"and is back", [][2]int32{{2, 2}, {1, 2}, {2, 2}}, "Progressing=False/RolloutComplete Degraded=False/AsExpected"},
		{"a node lost during a scale-up", [][2]int32{{2, 2}, {2, 3}, {1, 3}}, "Progressing=False/RolloutComplete Degraded=True/NodesUnavailable"},
	} {
		steps := make([][2]int32, len(tc.steps))
		copy(steps, tc.steps)
		if got := conditionsAfter(steps...); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestAMissingPodIsNoRollout(t *testing.T) {
	replicas := int32(2)
	set := func(gen, observed int64, updated int32, current, update string) *appsv1.StatefulSet {
		s := &appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{Replicas: &replicas}}
		s.Generation = gen
		s.Status = appsv1.StatefulSetStatus{ObservedGeneration: observed, UpdatedReplicas: updated, CurrentRevision: current, UpdateRevision: update}
		return s
	}
	if statefulSetRolling(set(3, 3, 1, "r1", "r1")) {
		t.Error("a deleted pod's replacement not yet created is no rollout")
	}
	if !statefulSetRolling(set(3, 3, 1, "r1", "r2")) || !statefulSetRolling(set(4, 3, 2, "r1", "r1")) {
		t.Error("a new revision or an unobserved spec is a rollout")
	}
}
