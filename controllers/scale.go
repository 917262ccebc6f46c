package controllers

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
)

// ensureStatefulSets applies one StatefulSet (and its PodDisruptionBudget) per organization and
// role. A role with no nodes gets no StatefulSet, or keeps its existing one at zero replicas
// (its PVCs stay). Replica changes are scaling; template changes are rollouts (upgrade.go).
func (r *ChainNetworkReconciler) ensureStatefulSets(ctx context.Context, cn *chainv1.ChainNetwork, genesisHash string) error {
	for _, org := range cn.Spec.Organizations {
		for _, role := range []string{RoleValidator, RoleObserver} {
			desired := statefulSet(cn, org, role, genesisHash)
			existing := &appsv1.StatefulSet{}
			err := r.Get(ctx, client.ObjectKeyFromObject(desired), existing)
			switch {
			case apierrors.IsNotFound(err):
				if *desired.Spec.Replicas == 0 {
					continue
				}
				r.event(cn, corev1.EventTypeNormal, "Created", "StatefulSet %s created with %d node(s)", desired.Name, *desired.Spec.Replicas)
			case err != nil:
				return err
			default:
				r.noteScaling(cn, existing, desired)
				r.noteRollout(cn, existing, desired)
				// The claim template is immutable: keep it as created, grow the claims instead.
				desired.Spec.VolumeClaimTemplates = existing.Spec.VolumeClaimTemplates
			}
			if err := r.apply(ctx, cn, desired); err != nil {
				return err
			}
			if err := r.growToSpec(ctx, cn, org, role); err != nil {
				return err
			}
			if err := r.apply(ctx, cn, podDisruptionBudget(cn, org.Name, role)); err != nil {
				return err
			}
		}
	}
	return nil
}

// noteScaling records a change of replicas.
func (r *ChainNetworkReconciler) noteScaling(cn *chainv1.ChainNetwork, existing, desired *appsv1.StatefulSet) {
	from, to := int32(0), *desired.Spec.Replicas
	if existing.Spec.Replicas != nil {
		from = *existing.Spec.Replicas
	}
	if from != to {
		r.event(cn, corev1.EventTypeNormal, "Scaled", "StatefulSet %s scaled from %d to %d", desired.Name, from, to)
	}
}
