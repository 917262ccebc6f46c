package controllers

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
)

// removeDeletedOrganizations deletes the StatefulSets and PodDisruptionBudgets of organizations
// no longer in the spec. Their PVCs and key Secrets stay (retention policy; no owner), so an
// organization that comes back resumes its chain and identity. Deleting the ChainNetwork itself
// needs no finalizer: owner references let the garbage collector remove the rest.
func (r *ChainNetworkReconciler) removeDeletedOrganizations(ctx context.Context, cn *chainv1.ChainNetwork) error {
	keep := map[string]bool{}
	for _, o := range cn.Spec.Organizations {
		keep[o.Name] = true
	}
	var sets appsv1.StatefulSetList
	if err := r.List(ctx, &sets, client.InNamespace(cn.Namespace), client.MatchingLabels{LabelNetwork: cn.Name, LabelComponent: "node"}); err != nil {
		return err
	}
	for i := range sets.Items {
		s := &sets.Items[i]
		if keep[s.Labels[LabelOrg]] {
			continue
		}
		if err := r.Delete(ctx, s); client.IgnoreNotFound(err) != nil {
			return err
		}
		pdb := &policyv1.PodDisruptionBudget{}
		pdb.Name, pdb.Namespace = s.Name, s.Namespace
		if err := r.Delete(ctx, pdb); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		r.event(cn, corev1.EventTypeNormal, "OrganizationRemoved", "StatefulSet %s deleted (PVCs and keys retained)", s.Name)
	}
	return nil
}
