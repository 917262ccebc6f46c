package controllers

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
)

// TestReseedDeletesGracefullyTheSeenPod: a re-seed deletes the claim and the pod it was planned
// for, by UID and without grace 0, and leaves alone a pod replaced since or running again.
func TestReseedDeletesGracefullyTheSeenPod(t *testing.T) {
	cn := network(chainv1.Public, org("default", 2, 0))
	name := PodName(cn, "default", RoleValidator, 1)
	corrupt := healPod(name, 3, false)
	corrupt.Namespace, corrupt.UID, corrupt.Labels = cn.Namespace, "seen", setLabels(cn, "default", RoleValidator)
	running := corrupt.DeepCopy()
	running.Status.ContainerStatuses[0].State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
	claim := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: DataClaimName(name), Namespace: cn.Namespace, UID: "claim"}}
	action := &healAction{kind: healReseed, pod: name, uid: "seen", reason: "test"}
	for _, tc := range []struct {
		name    string
		pod     *corev1.Pod
		planned types.UID
		deleted bool
	}{
		{"the pod seen, still down with exit 3", &corrupt, "seen", true},
		{"replaced since it was seen", &corrupt, "earlier", false},
		{"running again", running, "seen", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var deletes []client.DeleteOptions
			base := fake.NewClientBuilder().WithScheme(testScheme(t)).WithObjects(tc.pod.DeepCopy(), claim.DeepCopy()).Build()
			c := interceptor.NewClient(base, interceptor.Funcs{Delete: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.DeleteOption) error {
				var o client.DeleteOptions
				o.ApplyOptions(opts)
				deletes = append(deletes, o)
				return c.Delete(ctx, obj, opts...)
			}})
			r := &ChainNetworkReconciler{Client: c, Scheme: testScheme(t), APIReader: base}
			a := *action
			a.uid = tc.planned
			done, err := r.carryOut(context.Background(), cn, &a)
			if err != nil {
				t.Fatal(err)
			}
			podGone := apierrors.IsNotFound(base.Get(context.Background(), client.ObjectKeyFromObject(tc.pod), &corev1.Pod{}))
			claimGone := apierrors.IsNotFound(base.Get(context.Background(), client.ObjectKeyFromObject(claim), &corev1.PersistentVolumeClaim{}))
			if done != tc.deleted || podGone != tc.deleted || claimGone != tc.deleted {
				t.Fatalf("done %v, pod deleted %v, claim deleted %v; want %v", done, podGone, claimGone, tc.deleted)
			}
			for _, o := range deletes {
				if o.GracePeriodSeconds != nil && *o.GracePeriodSeconds == 0 {
					t.Error("a StatefulSet pod was force-deleted (grace period 0)")
				}
				if o.Preconditions == nil || o.Preconditions.UID == nil {
					t.Error("a delete without a UID precondition")
				}
			}
		})
	}
}
