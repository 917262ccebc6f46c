package controllers

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
)

// grownSize is the next size of a claim of current bytes under policy: half as large again
// (rounded up to a MiB), capped at MaxSize; ok is false when it is at the cap already.
func grownSize(current resource.Quantity, policy chainv1.AutoGrow) (resource.Quantity, bool) {
	limit := policy.MaxSize.Value()
	cur := current.Value()
	if cur >= limit {
		return current, false
	}
	const mib = 1 << 20
	next := (cur + cur/2 + mib - 1) / mib * mib
	next = min(next, limit)
	return *resource.NewQuantity(next, resource.BinarySI), true
}

// resizePending: the claim asked for more than it has, or a resize is still under way. A
// claim grows one step at a time: the next step waits for the last to finish.
func resizePending(pvc *corev1.PersistentVolumeClaim) bool {
	want := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	have, ok := pvc.Status.Capacity[corev1.ResourceStorage]
	if !ok || have.Cmp(want) < 0 {
		return true
	}
	for _, c := range pvc.Status.Conditions {
		if (c.Type == corev1.PersistentVolumeClaimResizing || c.Type == corev1.PersistentVolumeClaimFileSystemResizePending) && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// growVolumes expands the claim of every node whose volume is fuller than its organization's
// autoGrow.usedPercent. The StatefulSet's claim template keeps its size (it is immutable);
// the claims are patched in place, which the storage class must allow.
func (r *ChainNetworkReconciler) growVolumes(ctx context.Context, cn *chainv1.ChainNetwork, cs *chainv1.ChainStatus) error {
	if cs == nil {
		return nil
	}
	policies := map[string]*chainv1.AutoGrow{}
	for _, o := range cn.Spec.Organizations {
		if o.Storage.AutoGrow != nil {
			policies[o.Name] = o.Storage.AutoGrow
		}
	}
	if len(policies) == 0 {
		return nil
	}
	nodes := nodeByPod(cn)
	for _, n := range cs.Nodes {
		nd, ok := nodes[n.Name]
		if !ok {
			continue // a pod the spec no longer has
		}
		policy := policies[nd.Org]
		if policy == nil || !n.Reachable || n.DiskUsedPercent < policy.UsedPercent {
			continue
		}
		if err := r.growClaim(ctx, cn, n, *policy); err != nil {
			return err
		}
	}
	return nil
}

// growToSpec expands the claims of an organization's role that are smaller than the spec's size
// (the size was raised): in place, like autoGrow, since the claim template cannot change.
func (r *ChainNetworkReconciler) growToSpec(ctx context.Context, cn *chainv1.ChainNetwork, org chainv1.Organization, role string) error {
	want := specSize(org)
	replicas := org.Validators
	if role == RoleObserver {
		replicas = org.Observers
	}
	for i := int32(0); i < replicas; i++ {
		var pvc corev1.PersistentVolumeClaim
		if err := r.Get(ctx, client.ObjectKey{Namespace: cn.Namespace, Name: DataClaimName(PodName(cn, org.Name, role, i))}, &pvc); err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			return err
		}
		if err := checkOwner(cn, &pvc, org.Name); err != nil {
			return err
		}
		if have := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; have.Cmp(want) >= 0 {
			continue
		}
		if err := r.resizeClaim(ctx, cn, &pvc, want, "spec.storage.size"); err != nil {
			return err
		}
	}
	return nil
}

// resizeClaim asks for size on a claim, if its class allows expansion; why says what asked.
func (r *ChainNetworkReconciler) resizeClaim(ctx context.Context, cn *chainv1.ChainNetwork, pvc *corev1.PersistentVolumeClaim, size resource.Quantity, why string) error {
	if pvc.Spec.StorageClassName != nil {
		var sc storagev1.StorageClass
		if err := r.Get(ctx, client.ObjectKey{Name: *pvc.Spec.StorageClassName}, &sc); err == nil && (sc.AllowVolumeExpansion == nil || !*sc.AllowVolumeExpansion) {
			r.event(cn, corev1.EventTypeWarning, "VolumeNotExpandable", "%s: %s asks for %s but storage class %s does not allow volume expansion", pvc.Name, why, size.String(), sc.Name)
			return nil
		}
	}
	base := pvc.DeepCopy()
	pvc.Spec.Resources.Requests[corev1.ResourceStorage] = size
	if err := r.Patch(ctx, pvc, client.MergeFrom(base)); err != nil {
		if apierrors.IsForbidden(err) || apierrors.IsInvalid(err) {
			r.event(cn, corev1.EventTypeWarning, "VolumeNotExpandable", "%s: %v", pvc.Name, err)
			return nil
		}
		return fmt.Errorf("grow %s: %w", pvc.Name, err)
	}
	r.event(cn, corev1.EventTypeNormal, "VolumeExpanded", "%s: %s -> %s (%s)", pvc.Name,
		base.Spec.Resources.Requests.Storage().String(), size.String(), why)
	return nil
}

func (r *ChainNetworkReconciler) growClaim(ctx context.Context, cn *chainv1.ChainNetwork, n chainv1.NodeStatus, policy chainv1.AutoGrow) error {
	var pvc corev1.PersistentVolumeClaim
	if err := r.Get(ctx, client.ObjectKey{Namespace: cn.Namespace, Name: DataClaimName(n.Name)}, &pvc); err != nil {
		return client.IgnoreNotFound(err)
	}
	if err := checkOwner(cn, &pvc, ""); err != nil {
		return err
	}
	if resizePending(&pvc) {
		return nil
	}
	next, ok := grownSize(pvc.Status.Capacity[corev1.ResourceStorage], policy)
	if !ok {
		r.event(cn, corev1.EventTypeWarning, "VolumeAtMaxSize", "%s is %d%% full and already at autoGrow.maxSize %s", pvc.Name, n.DiskUsedPercent, policy.MaxSize.String())
		return nil
	}
	return r.resizeClaim(ctx, cn, &pvc, next, fmt.Sprintf("%d%% full", n.DiskUsedPercent))
}
