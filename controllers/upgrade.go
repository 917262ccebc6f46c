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
		r.event(cn, corev1.EventTypeNormal, "RollingUpdate", "StatefulSet %s rolls to image %s", desired.Name, cn.Spec.Image)
	}
}
