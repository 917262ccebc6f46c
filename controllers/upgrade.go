package controllers

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

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

// nodeImage is the image the nodes run: that of the last scheduled upgrade every node reached,
// else spec.image.
func nodeImage(cn *chainv1.ChainNetwork) string {
	image, best := cn.Spec.Image, int64(0)
	for _, u := range cn.Spec.Upgrades {
		if u.Height <= cn.Status.UpgradedHeight && u.Height > best {
			image, best = u.Image, u.Height
		}
	}
	return image
}

// pendingUpgrade is the next scheduled upgrade not yet reached (the lowest height above
// status.upgradedHeight), or nil.
func pendingUpgrade(cn *chainv1.ChainNetwork) *chainv1.ScheduledUpgrade {
	var next *chainv1.ScheduledUpgrade
	for i := range cn.Spec.Upgrades {
		u := &cn.Spec.Upgrades[i]
		if u.Height > cn.Status.UpgradedHeight && (next == nil || u.Height < next.Height) {
			next = u
		}
	}
	return next
}

// upgradeReached records the pending upgrade as applied once every desired node answers at or
// above its height (they halt there): the next reconcile rolls them to its image without the
// halt. It returns whether it moved status.upgradedHeight.
func (r *ChainNetworkReconciler) upgradeReached(cn *chainv1.ChainNetwork, st *chainv1.ChainNetworkStatus) bool {
	u := pendingUpgrade(cn)
	if u == nil || st.Chain == nil || int32(len(st.Chain.Nodes)) < st.DesiredNodes || st.DesiredNodes == 0 {
		return false
	}
	for _, n := range st.Chain.Nodes {
		if !n.Reachable || n.Height < u.Height {
			return false
		}
	}
	st.UpgradedHeight = u.Height
	r.event(cn, corev1.EventTypeNormal, "UpgradeHeightReached", "every node halted at height %d: rolling to %s", u.Height, u.Image)
	return true
}
