package controllers

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/robfig/cron/v3"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
)

// VolumeSnapshots are handled as unstructured objects: the operator needs five fields of them,
// and the CRDs are optional in a cluster.
var volumeSnapshotGVK = schema.GroupVersionKind{Group: "snapshot.storage.k8s.io", Version: "v1", Kind: "VolumeSnapshot"}

// volumeSnapshot builds the snapshot of one node's data claim, named after the network and the
// time it is taken. Snapshots outlive the network, as its claims do: no owner reference.
func volumeSnapshot(cn *chainv1.ChainNetwork, claim string, now time.Time) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(volumeSnapshotGVK)
	u.SetName(fmt.Sprintf("%s-%s", cn.Name, now.UTC().Format("20060102-150405")))
	u.SetNamespace(cn.Namespace)
	u.SetLabels(componentLabels(cn, "snapshot"))
	spec := map[string]any{"source": map[string]any{"persistentVolumeClaimName": claim}}
	if c := cn.Spec.Snapshots.VolumeSnapshotClassName; c != nil && *c != "" {
		spec["volumeSnapshotClassName"] = *c
	}
	u.Object["spec"] = spec
	return u
}

func snapshotReady(u *unstructured.Unstructured) bool {
	ready, _, _ := unstructured.NestedBool(u.Object, "status", "readyToUse")
	return ready
}

// snapshotSource is the validator to snapshot: reachable, synced, highest.
func snapshotSource(cn *chainv1.ChainNetwork, cs *chainv1.ChainStatus) (string, int64) {
	best, height := "", int64(-1)
	if cs == nil {
		return best, height
	}
	pods := nodeByPod(cn)
	for _, n := range cs.Nodes {
		if nd, ok := pods[n.Name]; ok && nd.Role == RoleValidator && n.Reachable && n.Synced && n.Height > height {
			best, height = n.Name, n.Height
		}
	}
	return best, height
}

// ensureSnapshots takes a snapshot when the schedule says one is due, keeps spec.retention of
// them (and always the newest ready one), and returns their status.
func (r *ChainNetworkReconciler) ensureSnapshots(ctx context.Context, cn *chainv1.ChainNetwork, cs *chainv1.ChainStatus) (*chainv1.SnapshotStatus, error) {
	if cn.Spec.Snapshots == nil {
		return nil, nil
	}
	if _, err := r.RESTMapper().RESTMapping(volumeSnapshotGVK.GroupKind(), volumeSnapshotGVK.Version); err != nil {
		if meta.IsNoMatchError(err) {
			r.event(cn, corev1.EventTypeWarning, "SnapshotsUnavailable", "spec.snapshots is set but the VolumeSnapshot CRD (snapshot.storage.k8s.io/v1) is not installed")
			return nil, nil
		}
		return nil, err
	}
	schedule, err := cron.ParseStandard(cn.Spec.Snapshots.Schedule)
	if err != nil {
		r.event(cn, corev1.EventTypeWarning, "InvalidSnapshotSchedule", "spec.snapshots.schedule %q: %v", cn.Spec.Snapshots.Schedule, err)
		return nil, nil
	}
	snaps, err := r.listSnapshots(ctx, cn)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	due := len(snaps) == 0 || !schedule.Next(snaps[len(snaps)-1].GetCreationTimestamp().Time).After(now)
	source := ""
	if due {
		var height int64
		if source, height = snapshotSource(cn, cs); source != "" {
			s := volumeSnapshot(cn, DataClaimName(source), now)
			if err := r.Create(ctx, s); err != nil && !apierrors.IsAlreadyExists(err) {
				return nil, fmt.Errorf("snapshot %s: %w", s.GetName(), err)
			}
			r.event(cn, corev1.EventTypeNormal, "SnapshotTaken", "VolumeSnapshot %s of %s (height %d)", s.GetName(), source, height)
			if snaps, err = r.listSnapshots(ctx, cn); err != nil {
				return nil, err
			}
		}
	}
	snaps, err = r.pruneSnapshots(ctx, cn, snaps)
	if err != nil {
		return nil, err
	}
	st := &chainv1.SnapshotStatus{Count: int32(len(snaps))}
	if prev := cn.Status.Snapshots; prev != nil {
		st.Source = prev.Source
	}
	if source != "" {
		st.Source = source
	}
	if len(snaps) > 0 {
		last := snaps[len(snaps)-1]
		t := last.GetCreationTimestamp()
		st.Last, st.LastTime = last.GetName(), &t
	}
	for i := len(snaps) - 1; i >= 0; i-- {
		if snapshotReady(&snaps[i]) {
			st.LastReady = snaps[i].GetName()
			break
		}
	}
	return st, nil
}

// listSnapshots are the network's snapshots, oldest first.
func (r *ChainNetworkReconciler) listSnapshots(ctx context.Context, cn *chainv1.ChainNetwork) ([]unstructured.Unstructured, error) {
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(volumeSnapshotGVK.GroupVersion().WithKind("VolumeSnapshotList"))
	if err := r.List(ctx, list, client.InNamespace(cn.Namespace), client.MatchingLabels{LabelNetwork: cn.Name, LabelComponent: "snapshot"}); err != nil {
		return nil, err
	}
	items := list.Items
	sort.SliceStable(items, func(i, j int) bool {
		a, b := items[i].GetCreationTimestamp(), items[j].GetCreationTimestamp()
		if a.Equal(&b) {
			return items[i].GetName() < items[j].GetName()
		}
		return a.Before(&b)
	})
	return items, nil
}

// pruneSnapshots deletes the oldest snapshots beyond the retention, never the newest ready one.
func (r *ChainNetworkReconciler) pruneSnapshots(ctx context.Context, cn *chainv1.ChainNetwork, snaps []unstructured.Unstructured) ([]unstructured.Unstructured, error) {
	keep := int(cn.Spec.Snapshots.Retention)
	if keep < 1 {
		keep = 1
	}
	newestReady := -1
	for i := range snaps {
		if snapshotReady(&snaps[i]) {
			newestReady = i
		}
	}
	var kept []unstructured.Unstructured
	excess := len(snaps) - keep
	for i := range snaps {
		if excess > 0 && i != newestReady {
			excess--
			if err := r.Delete(ctx, &snaps[i]); client.IgnoreNotFound(err) != nil {
				return nil, err
			}
			r.event(cn, corev1.EventTypeNormal, "SnapshotPruned", "VolumeSnapshot %s deleted (retention %d)", snaps[i].GetName(), keep)
			continue
		}
		kept = append(kept, snaps[i])
	}
	return kept, nil
}

// restoreNewClaims creates, for every node the spec adds whose claim and pod do not exist yet,
// its data claim restored from the latest ready snapshot; the StatefulSet then adopts the claim
// by name and the node syncs only what came after the snapshot.
func (r *ChainNetworkReconciler) restoreNewClaims(ctx context.Context, cn *chainv1.ChainNetwork) error {
	s := cn.Spec.Snapshots
	if s == nil || (s.BootstrapNewNodes != nil && !*s.BootstrapNewNodes) || cn.Status.Snapshots == nil || cn.Status.Snapshots.LastReady == "" {
		return nil
	}
	for _, n := range desiredNodes(cn) {
		pod := PodName(cn, n.Org, n.Role, n.Ordinal)
		name := DataClaimName(pod)
		if err := r.Get(ctx, client.ObjectKey{Namespace: cn.Namespace, Name: name}, &corev1.PersistentVolumeClaim{}); !apierrors.IsNotFound(err) {
			continue
		}
		if err := r.Get(ctx, client.ObjectKey{Namespace: cn.Namespace, Name: pod}, &corev1.Pod{}); !apierrors.IsNotFound(err) {
			continue
		}
		pvc := restoredClaim(cn, n, name, cn.Status.Snapshots.LastReady)
		if err := r.Create(ctx, pvc); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("restore %s: %w", name, err)
		}
		r.event(cn, corev1.EventTypeNormal, "VolumeRestored", "%s starts from VolumeSnapshot %s", pod, cn.Status.Snapshots.LastReady)
	}
	return nil
}

// restoredClaim is the claim the StatefulSet would create for n, with the snapshot as its source.
func restoredClaim(cn *chainv1.ChainNetwork, n node, name, snapshot string) *corev1.PersistentVolumeClaim {
	var org chainv1.Organization
	for _, o := range cn.Spec.Organizations {
		if o.Name == n.Org {
			org = o
		}
	}
	group := volumeSnapshotGVK.Group
	pvc := dataClaim(cn, org, n.Role)
	pvc.Name, pvc.Namespace = name, cn.Namespace
	pvc.Spec.DataSource = &corev1.TypedLocalObjectReference{APIGroup: &group, Kind: volumeSnapshotGVK.Kind, Name: snapshot}
	return &pvc
}
