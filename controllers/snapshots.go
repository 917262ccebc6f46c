package controllers

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
)

// VolumeSnapshots are handled as unstructured objects: the operator needs five fields of them,
// and the CRDs are optional in a cluster.
var volumeSnapshotGVK = schema.GroupVersionKind{Group: "snapshot.storage.k8s.io", Version: "v1", Kind: "VolumeSnapshot"}

// Annotations of a snapshot: what it can be restored into.
const (
	annotationSnapshotClass   = "chainnet.io/storage-class"
	annotationSnapshotGenesis = AnnotationGenesisHash
)

// volumeSnapshot builds the snapshot of one node's data claim, named after the network and the
// time it is taken. Snapshots outlive the network, as its claims do: no owner reference. They
// record the source's organization, storage class and the chain's genesis hash: a claim is
// restored only from a snapshot of its own class and chain.
func volumeSnapshot(cn *chainv1.ChainNetwork, source node, now time.Time) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(volumeSnapshotGVK)
	u.SetName(fmt.Sprintf("%s-%s", cn.Name, now.UTC().Format("20060102-150405")))
	u.SetNamespace(cn.Namespace)
	labels := componentLabels(cn, "snapshot")
	labels[LabelOrg] = source.Org
	u.SetLabels(labels)
	ann := map[string]string{annotationSnapshotClass: storageClassOf(cn, source.Org)}
	if cn.Status.GenesisHash != "" {
		ann[annotationSnapshotGenesis] = cn.Status.GenesisHash
	}
	u.SetAnnotations(ann)
	claim := DataClaimName(PodName(cn, source.Org, source.Role, source.Ordinal))
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
			s := volumeSnapshot(cn, nodeByPod(cn)[source], now)
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
// its data claim restored from the newest ready snapshot it can be restored from (restorable);
// the StatefulSet then adopts the claim by name and the node syncs only what came after the
// snapshot. A node with no such snapshot starts empty and syncs from its peers.
func (r *ChainNetworkReconciler) restoreNewClaims(ctx context.Context, cn *chainv1.ChainNetwork, genesisHash string) error {
	s := cn.Spec.Snapshots
	if s == nil || (s.BootstrapNewNodes != nil && !*s.BootstrapNewNodes) || cn.Status.Snapshots == nil || cn.Status.Snapshots.LastReady == "" {
		return nil
	}
	var snaps []unstructured.Unstructured // listed when a claim is missing
	listed := false
	for _, n := range desiredNodes(cn) {
		pod := PodName(cn, n.Org, n.Role, n.Ordinal)
		name := DataClaimName(pod)
		if err := r.Get(ctx, client.ObjectKey{Namespace: cn.Namespace, Name: name}, &corev1.PersistentVolumeClaim{}); !apierrors.IsNotFound(err) {
			continue
		}
		if err := r.Get(ctx, client.ObjectKey{Namespace: cn.Namespace, Name: pod}, &corev1.Pod{}); !apierrors.IsNotFound(err) {
			continue
		}
		if !listed {
			var err error
			if snaps, err = r.listSnapshots(ctx, cn); err != nil {
				return err
			}
			listed = true
		}
		snap := newestRestorable(cn, snaps, n.Org, genesisHash)
		if snap == nil {
			continue
		}
		pvc := restoredClaim(cn, n, name, snap)
		if _, err := r.createOnce(ctx, cn, pvc); err != nil {
			return fmt.Errorf("restore %s: %w", name, err)
		}
		r.event(cn, corev1.EventTypeNormal, "VolumeRestored", "%s starts from VolumeSnapshot %s", pod, snap.GetName())
	}
	return nil
}

// newestRestorable is the newest ready snapshot (snaps are oldest first) a claim of org can be
// restored from: of this chain (genesis hash, when recorded) and of the same storage class as
// org's claims (a CSI driver restores only its own snapshots). Snapshots taken before these were
// recorded are judged by their source claim's organization.
func newestRestorable(cn *chainv1.ChainNetwork, snaps []unstructured.Unstructured, org, genesisHash string) *unstructured.Unstructured {
	want := storageClassOf(cn, org)
	for i := len(snaps) - 1; i >= 0; i-- {
		u := &snaps[i]
		if !snapshotReady(u) {
			continue
		}
		ann := u.GetAnnotations()
		if h, ok := ann[annotationSnapshotGenesis]; ok && h != genesisHash {
			continue
		}
		class, ok := ann[annotationSnapshotClass]
		if !ok {
			src, _, _ := unstructured.NestedString(u.Object, "spec", "source", "persistentVolumeClaimName")
			n, known := nodeByPod(cn)[strings.TrimPrefix(src, DataClaimName(""))]
			if !known {
				continue
			}
			class = storageClassOf(cn, n.Org)
		}
		if class == want {
			return u
		}
	}
	return nil
}

// storageClassOf is the storage class an organization's claims ask for ("" for the default).
func storageClassOf(cn *chainv1.ChainNetwork, org string) string {
	for _, o := range cn.Spec.Organizations {
		if o.Name == org && o.Storage.StorageClassName != nil {
			return *o.Storage.StorageClassName
		}
	}
	return ""
}

// restoredClaim is the claim the StatefulSet would create for n, with the snapshot as its source
// and at least the snapshot's restoreSize (after autoGrow the source may be larger than the spec
// size, and a claim smaller than its snapshot never binds).
func restoredClaim(cn *chainv1.ChainNetwork, n node, name string, snap *unstructured.Unstructured) *corev1.PersistentVolumeClaim {
	var org chainv1.Organization
	for _, o := range cn.Spec.Organizations {
		if o.Name == n.Org {
			org = o
		}
	}
	group := volumeSnapshotGVK.Group
	pvc := dataClaim(cn, org, n.Role)
	pvc.Name, pvc.Namespace = name, cn.Namespace
	pvc.Spec.DataSource = &corev1.TypedLocalObjectReference{APIGroup: &group, Kind: volumeSnapshotGVK.Kind, Name: snap.GetName()}
	if q, ok := restoreSize(snap); ok && q.Cmp(pvc.Spec.Resources.Requests[corev1.ResourceStorage]) > 0 {
		pvc.Spec.Resources.Requests[corev1.ResourceStorage] = q
	}
	return &pvc
}

// restoreSize is a snapshot's status.restoreSize (a quantity, as a string or a number of bytes).
func restoreSize(snap *unstructured.Unstructured) (resource.Quantity, bool) {
	v, ok, _ := unstructured.NestedFieldNoCopy(snap.Object, "status", "restoreSize")
	if !ok {
		return resource.Quantity{}, false
	}
	switch x := v.(type) {
	case string:
		q, err := resource.ParseQuantity(x)
		return q, err == nil
	case int64:
		return *resource.NewQuantity(x, resource.BinarySI), true
	case float64:
		return *resource.NewQuantity(int64(x), resource.BinarySI), true
	}
	return resource.Quantity{}, false
}
