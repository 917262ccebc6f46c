package controllers

import (
	"fmt"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
)

// noteRollout records a change that restarts the pods: the config hash of the pod template covers
// the image, the node flags and the genesis. Permission changes are not part of it: nodes reload
// the permission file themselves, so they roll nothing.
func (r *ChainNetworkReconciler) noteRollout(cn *chainv1.ChainNetwork, existing, desired *appsv1.StatefulSet) {
	old := existing.Spec.Template.Annotations[AnnotationConfigHash]
	if old != "" && old != desired.Spec.Template.Annotations[AnnotationConfigHash] {
		r.event(cn, corev1.EventTypeNormal, "RollingUpdate", "StatefulSet %s rolls to image %s", desired.Name, nodeImage(cn))
	}
}

// nodeImage is the image the nodes run: that of the last scheduled upgrade every node reached
// (its spec entry's, which may be edited, else the one recorded when it was reached: removing
// the entry does not roll the nodes back), else spec.image.
func nodeImage(cn *chainv1.ChainNetwork) string {
	image, best := cn.Spec.Image, int64(0)
	for _, u := range cn.Spec.Upgrades {
		if u.Height <= cn.Status.UpgradedHeight && u.Height > best {
			image, best = u.Image, u.Height
		}
	}
	if best < cn.Status.UpgradedHeight && cn.Status.UpgradedImage != "" {
		return cn.Status.UpgradedImage
	}
	return image
}

// pendingUpgrade is the next scheduled upgrade not yet reached (the lowest height above
// status.upgradedHeight) that the chain has not passed, or nil.
func pendingUpgrade(cn *chainv1.ChainNetwork) *chainv1.ScheduledUpgrade {
	return pendingUpgradeOn(cn, cn.Status.Chain)
}

func pendingUpgradeOn(cn *chainv1.ChainNetwork, cs *chainv1.ChainStatus) *chainv1.ScheduledUpgrade {
	var next *chainv1.ScheduledUpgrade
	for i := range cn.Spec.Upgrades {
		u := &cn.Spec.Upgrades[i]
		if u.Height > cn.Status.UpgradedHeight && !heightPassed(cs, u.Height) && (next == nil || u.Height < next.Height) {
			next = u
		}
	}
	return next
}

// heightPassed: a node is past height h, or at it without being armed to halt there: arming
// --halt-height h now would stop part of the network below the others, a fork. Nodes armed in
// time halt at h exactly, so an upgrade accepted before stays accepted.
func heightPassed(cs *chainv1.ChainStatus, h int64) bool {
	if cs == nil {
		return false
	}
	for _, n := range cs.Nodes {
		if n.Reachable && (n.Height > h || (n.Height == h && n.HaltHeight != h)) {
			return true
		}
	}
	return false
}

// passedUpgrades are the heights of the spec's upgrades not yet applied that the chain passed.
func passedUpgrades(cn *chainv1.ChainNetwork, cs *chainv1.ChainStatus) []int64 {
	var out []int64
	for _, u := range cn.Spec.Upgrades {
		if u.Height > cn.Status.UpgradedHeight && heightPassed(cs, u.Height) {
			out = append(out, u.Height)
		}
	}
	slices.Sort(out)
	return out
}

// upgradeReached records the pending upgrade as applied once every desired node answers halted
// at exactly its height and no StatefulSet is rolling (a pod not yet restarted with the flag
// could still mine past it): the next reconcile rolls them to its image without the halt. It
// also says in UpgradesAccepted which upgrades were refused. It returns whether it moved
// status.upgradedHeight.
func (r *ChainNetworkReconciler) upgradeReached(cn *chainv1.ChainNetwork, st *chainv1.ChainNetworkStatus, rolling bool) bool {
	r.setUpgradesAccepted(cn, st)
	u := pendingUpgradeOn(cn, st.Chain)
	if u == nil || rolling || st.Chain == nil || !everyNodeHaltedAt(cn, st.Chain, u.Height) {
		return false
	}
	st.UpgradedHeight, st.UpgradedImage = u.Height, u.Image
	r.event(cn, corev1.EventTypeNormal, "UpgradeHeightReached", "every node halted at height %d: rolling to %s", u.Height, u.Image)
	return true
}

// everyNodeHaltedAt: every desired node answers, halted at height h.
func everyNodeHaltedAt(cn *chainv1.ChainNetwork, cs *chainv1.ChainStatus, h int64) bool {
	desired := nodeByPod(cn)
	if len(desired) == 0 {
		return false
	}
	seen := 0
	for _, n := range cs.Nodes {
		if _, ok := desired[n.Name]; !ok {
			continue
		}
		if !n.Reachable || !n.Halted || n.Height != h {
			return false
		}
		seen++
	}
	return seen == len(desired)
}

// setUpgradesAccepted sets UpgradesAccepted on a network with scheduled upgrades (and an event
// when an upgrade is newly refused).
func (r *ChainNetworkReconciler) setUpgradesAccepted(cn *chainv1.ChainNetwork, st *chainv1.ChainNetworkStatus) {
	if len(cn.Spec.Upgrades) == 0 && meta.FindStatusCondition(st.Conditions, chainv1.ConditionUpgradesAccepted) == nil {
		return
	}
	c := metav1.Condition{Type: chainv1.ConditionUpgradesAccepted, Status: metav1.ConditionTrue, Reason: "Scheduled",
		Message: "Every scheduled upgrade not yet applied is above the chain's height", ObservedGeneration: cn.Generation}
	if passed := passedUpgrades(cn, st.Chain); len(passed) > 0 {
		heights := make([]string, len(passed))
		for i, h := range passed {
			heights[i] = fmt.Sprint(h)
		}
		c.Status, c.Reason = metav1.ConditionFalse, "HeightPassed"
		c.Message = fmt.Sprintf("Upgrades at height %s refused: the chain is past them; schedule them above the best height", strings.Join(heights, ", "))
		if old := meta.FindStatusCondition(cn.Status.Conditions, c.Type); old == nil || old.Message != c.Message {
			r.event(cn, corev1.EventTypeWarning, "UpgradeRefused", "%s", c.Message)
		}
	}
	meta.SetStatusCondition(&st.Conditions, c)
}
