package controllers

import (
	"slices"
	"testing"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
)

func TestScheduledUpgradePlan(t *testing.T) {
	cn := network(chainv1.Public, org("default", 2, 0))
	cn.Spec.Image = "chainnet/chainnode:1"
	cn.Spec.Upgrades = []chainv1.ScheduledUpgrade{{Height: 200, Image: "chainnet/chainnode:3"}, {Height: 100, Image: "chainnet/chainnode:2"}}
	haltArg := func() string {
		args := nodeArgs(cn, cn.Spec.Organizations[0], RoleValidator)
		if i := slices.Index(args, "--halt-height"); i >= 0 {
			return args[i+1]
		}
		return ""
	}
	steps := []struct {
		upgraded  int64
		image     string
		haltFlag  string
		haltImage string
	}{
		{0, "chainnet/chainnode:1", "100", "chainnet/chainnode:2"},
		{100, "chainnet/chainnode:2", "200", "chainnet/chainnode:3"},
		{200, "chainnet/chainnode:3", "", ""},
	}
	for _, s := range steps {
		cn.Status.UpgradedHeight = s.upgraded
		if got := nodeImage(cn); got != s.image {
			t.Errorf("upgraded %d: image %s, want %s", s.upgraded, got, s.image)
		}
		if got := haltArg(); got != s.haltFlag {
			t.Errorf("upgraded %d: --halt-height %q, want %q", s.upgraded, got, s.haltFlag)
		}
		if p := pendingUpgrade(cn); (p == nil) != (s.haltImage == "") || (p != nil && p.Image != s.haltImage) {
			t.Errorf("upgraded %d: pending %+v, want image %q", s.upgraded, p, s.haltImage)
		}
		sts := statefulSet(cn, cn.Spec.Organizations[0], RoleValidator, "g")
		if img := sts.Spec.Template.Spec.Containers[0].Image; img != s.image {
			t.Errorf("upgraded %d: pod template image %s", s.upgraded, img)
		}
	}

	r := &ChainNetworkReconciler{}
	cn.Status.UpgradedHeight = 0
	st := &chainv1.ChainNetworkStatus{DesiredNodes: 2, Chain: &chainv1.ChainStatus{Nodes: []chainv1.NodeStatus{
		{Name: "a", Reachable: true, Height: 100}, {Name: "b", Reachable: true, Height: 99}}}}
	if r.upgradeReached(cn, st) || st.UpgradedHeight != 0 {
		t.Fatal("recorded before every node reached the height")
	}
	st.Chain.Nodes[1].Height = 100
	st.DesiredNodes = 3
	if r.upgradeReached(cn, st) {
		t.Fatal("recorded while a desired node does not answer")
	}
	st.DesiredNodes = 2
	if !r.upgradeReached(cn, st) || st.UpgradedHeight != 100 {
		t.Fatalf("not recorded with every node at the height: %d", st.UpgradedHeight)
	}
}
