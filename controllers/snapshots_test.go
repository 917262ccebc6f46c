package controllers

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
)

// TestRestoreFromOwnClassAndChainAtFullSize: a new node of org1 (class "fast") is restored from
// the newest ready snapshot of its class and chain, not from a newer one of org2's class nor of
// another chain, and its claim asks for the snapshot's restoreSize when that is larger than the
// spec's size (after autoGrow), or it would never bind.
func TestRestoreFromOwnClassAndChainAtFullSize(t *testing.T) {
	fast, slow := "fast", "slow"
	o1, o2 := org("org1", 2, 0), org("org2", 1, 0)
	o1.Storage.StorageClassName, o2.Storage.StorageClassName = &fast, &slow
	cn := network(chainv1.Consortium, o1, o2)
	cn.Spec.Snapshots = &chainv1.SnapshotSpec{Schedule: "0 0 * * *", Retention: 5}
	cn.Status.GenesisHash = "chain-1"
	at := time.Unix(1_800_000_000, 0)
	snap := func(source node, age time.Duration, genesis, size string) *unstructured.Unstructured {
		u := volumeSnapshot(cn, source, at.Add(-age))
		u.SetCreationTimestamp(metav1.NewTime(at.Add(-age)))
		ann := u.GetAnnotations()
		ann[annotationSnapshotGenesis] = genesis
		u.SetAnnotations(ann)
		u.Object["status"] = map[string]any{"readyToUse": true, "restoreSize": size}
		return u
	}
	own := snap(node{"org1", RoleValidator, 0}, 3*time.Hour, "chain-1", "3Gi")
	otherClass := snap(node{"org2", RoleValidator, 0}, 2*time.Hour, "chain-1", "1Gi")
	otherChain := snap(node{"org1", RoleValidator, 0}, time.Hour, "chain-0", "1Gi")
	otherChain.SetName(otherChain.GetName() + "-old")
	cn.Status.Snapshots = &chainv1.SnapshotStatus{LastReady: otherChain.GetName()}

	mapper := meta.NewDefaultRESTMapper(nil)
	mapper.Add(volumeSnapshotGVK, meta.RESTScopeNamespace)
	s := testScheme(t)
	for gvk := range s.AllKnownTypes() {
		mapper.Add(gvk, meta.RESTScopeNamespace)
	}
	c := fake.NewClientBuilder().WithScheme(s).WithRESTMapper(mapper).WithObjects(own, otherClass, otherChain).Build()
	r := &ChainNetworkReconciler{Client: c, Scheme: s, APIReader: c}
	if err := r.restoreNewClaims(context.Background(), cn, "chain-1"); err != nil {
		t.Fatal(err)
	}
	var pvc corev1.PersistentVolumeClaim
	name := DataClaimName(PodName(cn, "org1", RoleValidator, 1))
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: cn.Namespace, Name: name}, &pvc); err != nil {
		t.Fatal(err)
	}
	if pvc.Spec.DataSource == nil || pvc.Spec.DataSource.Name != own.GetName() {
		t.Fatalf("restored from %+v, want %s (org1's class, this chain)", pvc.Spec.DataSource, own.GetName())
	}
	if got := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; got.Cmp(resource.MustParse("3Gi")) != 0 {
		t.Fatalf("claim asks for %s, want the snapshot's restoreSize 3Gi", got.String())
	}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: cn.Namespace, Name: DataClaimName(PodName(cn, "org2", RoleValidator, 0))}, &pvc); err == nil {
		// org2's own snapshot is the only one of its class: its restore is right, of its own source.
		if pvc.Spec.DataSource.Name != otherClass.GetName() {
			t.Fatalf("org2 restored from %s", pvc.Spec.DataSource.Name)
		}
	}
}
