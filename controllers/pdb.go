package controllers

import (
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
)

// podDisruptionBudget lets voluntary disruptions (drains) take one node of a StatefulSet at a
// time, so an organization never loses all its validators to a drain.
func podDisruptionBudget(cn *chainv1.ChainNetwork, org, role string) *policyv1.PodDisruptionBudget {
	one := intstr.FromInt32(1)
	return &policyv1.PodDisruptionBudget{
		ObjectMeta: objectMeta(cn, StatefulSetName(cn, org, role), setLabels(cn, org, role)),
		Spec: policyv1.PodDisruptionBudgetSpec{
			MaxUnavailable: &one,
			Selector:       &metav1.LabelSelector{MatchLabels: selectorLabels(cn, org, role)},
		},
	}
}
