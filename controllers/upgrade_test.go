package controllers

import (
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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
	halted := func(name string, h int64) chainv1.NodeStatus {
		return chainv1.NodeStatus{Name: name, Reachable: true, Height: h, HaltHeight: 100, Halted: h == 100}
	}
	a, b := PodName(cn, "default", RoleValidator, 0), PodName(cn, "default", RoleValidator, 1)
	st := &chainv1.ChainNetworkStatus{DesiredNodes: 2, Chain: &chainv1.ChainStatus{Nodes: []chainv1.NodeStatus{halted(a, 100), halted(b, 99)}}}
	if r.upgradeReached(cn, st, false) || st.UpgradedHeight != 0 {
		t.Fatal("recorded before every node reached the height")
	}
	st.Chain.Nodes = st.Chain.Nodes[:1]
	if r.upgradeReached(cn, st, false) {
		t.Fatal("recorded while a desired node does not answer")
	}
	st.Chain.Nodes = []chainv1.NodeStatus{halted(a, 100), halted(b, 100)}
	if r.upgradeReached(cn, st, true) {
		t.Fatal("recorded while a StatefulSet rolls (a pod without the flag may mine past the height)")
	}
	if !r.upgradeReached(cn, st, false) || st.UpgradedHeight != 100 || st.UpgradedImage != "chainnet/chainnode:2" {
		t.Fatalf("not recorded with every node halted at the height: %d %s", st.UpgradedHeight, st.UpgradedImage)
	}
}

// TestUpgradeCompletesOnlyHaltedAtExactlyH: nodes at or above the height that did not halt
// there (not armed, or armed too late) are not an upgrade reached.
func TestUpgradeCompletesOnlyHaltedAtExactlyH(t *testing.T) {
	cn := network(chainv1.Public, org("default", 2, 0))
	cn.Spec.Upgrades = []chainv1.ScheduledUpgrade{{Height: 100, Image: "chainnet/chainnode:2"}}
	a, b := PodName(cn, "default", RoleValidator, 0), PodName(cn, "default", RoleValidator, 1)
	for _, nodes := range [][]chainv1.NodeStatus{
		{{Name: a, Reachable: true, Height: 100, HaltHeight: 100, Halted: true}, {Name: b, Reachable: true, Height: 101}},
		{{Name: a, Reachable: true, Height: 100, HaltHeight: 100, Halted: true}, {Name: b, Reachable: true, Height: 100, HaltHeight: 100}},
	} {
		st := &chainv1.ChainNetworkStatus{DesiredNodes: 2, Chain: &chainv1.ChainStatus{Nodes: nodes}}
		if (&ChainNetworkReconciler{}).upgradeReached(cn, st, false) {
			t.Errorf("recorded with %+v", nodes)
		}
	}
}

// TestRemovingAnAppliedUpgradeKeepsItsImage: the nodes keep the image of the last upgrade they
// reached when its entry leaves spec.upgrades.
func TestRemovingAnAppliedUpgradeKeepsItsImage(t *testing.T) {
	cn := network(chainv1.Public, org("default", 1, 0))
	cn.Spec.Image = "chainnet/chainnode:1"
	cn.Spec.Upgrades = []chainv1.ScheduledUpgrade{{Height: 100, Image: "chainnet/chainnode:2"}, {Height: 200, Image: "chainnet/chainnode:3"}}
	cn.Status.UpgradedHeight, cn.Status.UpgradedImage = 200, "chainnet/chainnode:3"
	cn.Spec.Upgrades = cn.Spec.Upgrades[:1]
	if got := nodeImage(cn); got != "chainnet/chainnode:3" {
		t.Fatalf("image %s after the applied entry was removed, want chainnet/chainnode:3", got)
	}
	cn.Spec.Upgrades = nil
	if got := nodeImage(cn); got != "chainnet/chainnode:3" {
		t.Fatalf("image %s with no entries left, want chainnet/chainnode:3", got)
	}
}

// TestUpgradeBelowTheChainIsRefused: an upgrade at or below the height the chain reached (and
// not armed there) is never armed; UpgradesAccepted says so.
func TestUpgradeBelowTheChainIsRefused(t *testing.T) {
	cn := network(chainv1.Public, org("default", 2, 0))
	cn.Spec.Upgrades = []chainv1.ScheduledUpgrade{{Height: 40, Image: "chainnet/chainnode:2"}, {Height: 50, Image: "chainnet/chainnode:3"}, {Height: 90, Image: "chainnet/chainnode:4"}}
	a, b := PodName(cn, "default", RoleValidator, 0), PodName(cn, "default", RoleValidator, 1)
	cn.Status.Chain = &chainv1.ChainStatus{BestHeight: 50, Nodes: []chainv1.NodeStatus{{Name: a, Reachable: true, Height: 50}, {Name: b, Reachable: true, Height: 48}}}
	if p := pendingUpgrade(cn); p == nil || p.Height != 90 {
		t.Fatalf("pending %+v, want the upgrade at 90 (40 and 50 are passed)", p)
	}
	st := cn.Status.DeepCopy()
	(&ChainNetworkReconciler{}).upgradeReached(cn, st, false)
	c := meta.FindStatusCondition(st.Conditions, chainv1.ConditionUpgradesAccepted)
	if c == nil || c.Status != metav1.ConditionFalse || c.Reason != "HeightPassed" || !strings.Contains(c.Message, "40, 50") {
		t.Fatalf("UpgradesAccepted = %+v", c)
	}
	// Nodes armed at 50 and halted there: the upgrade at 50 stays accepted.
	cn.Status.Chain.Nodes = []chainv1.NodeStatus{{Name: a, Reachable: true, Height: 50, HaltHeight: 50, Halted: true}, {Name: b, Reachable: true, Height: 48, HaltHeight: 50}}
	if p := pendingUpgrade(cn); p == nil || p.Height != 50 {
		t.Fatalf("pending %+v, want the armed upgrade at 50", p)
	}
}
