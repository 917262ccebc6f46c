package controllers

import (
	"context"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
	"github.com/chainnet/chainnet/internal/api"
)

// rotationFixture is a public network of one validator with a rotation asked for, its key
// Secret and its running pod.
func rotationFixture(t *testing.T) (*chainv1.ChainNetwork, node, *corev1.Secret, *corev1.Pod) {
	t.Helper()
	cn := network(chainv1.Public, org("default", 1, 0))
	cn.CreationTimestamp = metav1.Time{}
	n := node{"default", RoleValidator, 0}
	pod := PodName(cn, n.Org, n.Role, n.Ordinal)
	cn.Spec.KeyRotations = []chainv1.KeyRotation{{Node: pod, ID: "r1"}}
	keys, err := keySecret(cn, n)
	if err != nil {
		t.Fatal(err)
	}
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: pod, Namespace: cn.Namespace, UID: "pod-before", Labels: setLabels(cn, n.Org, n.Role)}}
	return cn, n, keys, p
}

// TestKeyRotationIntentFirst fails each write of a rotation in turn (and every write of a kind
// for a few passes): whatever failed, later passes finish the swap with the keys first made, and
// the pod that ran with the old keys is the only one restarted.
func TestKeyRotationIntentFirst(t *testing.T) {
	for _, kind := range []string{"create", "delete", "patch", "status"} {
		for at := 1; at <= 4; at++ {
			t.Run(kind+"-"+string(rune('0'+at)), func(t *testing.T) {
				cn, n, keys, pod := rotationFixture(t)
				plan := newFaultPlan()
				plan.failAt[kind] = at
				r, c := faultyReconciler(t, plan, cn, keys, pod)
				ctx := context.Background()
				old, _ := keysOf(keys)
				var made string // the new node id, as first recorded
				for pass := 0; pass < 8; pass++ {
					cur := fetchNetwork(t, c, cn)
					_ = r.rotateKeys(ctx, cur) // failures are retried by the next pass
					cur = fetchNetwork(t, c, cn)
					if len(cur.Status.KeyRotations) == 1 {
						st := cur.Status.KeyRotations[0]
						if made == "" {
							made = st.NewNodeID
						} else if st.NewNodeID != made {
							t.Fatalf("pass %d: new keys changed from %.8s to %.8s", pass, made, st.NewNodeID)
						}
					}
				}
				st := fetchNetwork(t, c, cn).Status.KeyRotations[0]
				if st.Phase != chainv1.RotationRestarting {
					t.Fatalf("phase %q (%s), want Restarting", st.Phase, st.Message)
				}
				k, err := secretKeys(t, c, cn.Namespace, KeySecretName(cn, n.Org, n.Role, n.Ordinal))
				if err != nil || k.NodeID != st.NewNodeID || k.NodeID == old.NodeID {
					t.Fatalf("key Secret holds %.8s (%v), want the recorded new keys %.8s", k.NodeID, err, st.NewNodeID)
				}
				if _, err := secretKeys(t, c, cn.Namespace, rotationSecretName(cn, n)); !apierrors.IsNotFound(err) {
					t.Fatalf("-next Secret: %v, want it deleted after the swap", err)
				}
				if err := c.Get(ctx, client.ObjectKeyFromObject(pod), &corev1.Pod{}); !apierrors.IsNotFound(err) {
					t.Fatalf("the pod with the old keys: %v, want it deleted", err)
				}
			})
		}
	}
}

// TestKeyRotationRestartsOnlyTheOldPod: a pass that repeats the swap after the pod came back
// leaves the new pod alone.
func TestKeyRotationRestartsOnlyTheOldPod(t *testing.T) {
	cn, _, keys, pod := rotationFixture(t)
	r, c := faultyReconciler(t, newFaultPlan(), cn, keys, pod)
	ctx := context.Background()
	for pass := 0; pass < 3; pass++ {
		if err := r.rotateKeys(ctx, fetchNetwork(t, c, cn)); err != nil {
			t.Fatal(err)
		}
	}
	successor := pod.DeepCopy()
	successor.UID, successor.ResourceVersion = "pod-after", ""
	if err := c.Create(ctx, successor); err != nil {
		t.Fatal(err)
	}
	for pass := 0; pass < 3; pass++ {
		if err := r.rotateKeys(ctx, fetchNetwork(t, c, cn)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Get(ctx, client.ObjectKeyFromObject(pod), &corev1.Pod{}); err != nil {
		t.Fatalf("the pod started with the new keys was deleted: %v", err)
	}
}

// TestStuckRotationDoesNotBlockLaterSteps: a rotation whose swap fails on every pass is reported,
// and the steps after it (StatefulSets, status) still run.
func TestStuckRotationDoesNotBlockLaterSteps(t *testing.T) {
	cn, n, keys, pod := rotationFixture(t)
	plan := newFaultPlan()
	r, c := faultyReconciler(t, plan, cn, keys, pod)
	ctx := context.Background()
	req := reconcile.Request{NamespacedName: client.ObjectKeyFromObject(cn)}
	if _, err := r.Reconcile(ctx, req); err != nil { // keys, Admitting, every object
		t.Fatal(err)
	}
	plan.always["delete"] = true // from now on no -next Secret nor pod can be deleted
	sts := &appsv1.StatefulSet{}
	stsKey := client.ObjectKey{Namespace: cn.Namespace, Name: StatefulSetName(cn, n.Org, n.Role)}
	if err := c.Get(ctx, stsKey, sts); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, sts); err != nil { // the step after the rotation must bring it back
		t.Fatal(err)
	}
	for pass := 0; pass < 2; pass++ {
		if _, err := r.Reconcile(ctx, req); err == nil {
			t.Fatalf("pass %d: the failing swap was not reported", pass)
		}
	}
	if err := c.Get(ctx, stsKey, sts); err != nil {
		t.Fatalf("a stuck rotation held back the StatefulSets: %v", err)
	}
	got := fetchNetwork(t, c, cn)
	if d := meta.FindStatusCondition(got.Status.Conditions, chainv1.ConditionDegraded); d == nil || d.Reason != "KeyRotationFailed" {
		t.Fatalf("Degraded = %+v, want KeyRotationFailed", d)
	}
}

// TestRotationIsLookedAtSoon: a pass that moved a rotation asks for the next one within
// rotationPoll, not at the 30 s status refresh (each phase would wait for it).
func TestRotationIsLookedAtSoon(t *testing.T) {
	cn, _, keys, pod := rotationFixture(t)
	r, _ := faultyReconciler(t, newFaultPlan(), cn, keys, pod)
	res, err := r.Reconcile(context.Background(), reconcile.Request{NamespacedName: client.ObjectKeyFromObject(cn)})
	if err != nil {
		t.Fatal(err)
	}
	if res.RequeueAfter <= 0 || res.RequeueAfter > rotationPoll {
		t.Fatalf("next pass in %s with a rotation under way, want at most %s", res.RequeueAfter, rotationPoll)
	}
}

// oldKeysNode answers as a node still running with its old keys.
type oldKeysNode struct{ id string }

func (o oldKeysNode) NodeStatus(context.Context, string) (*api.Status, error) {
	return &api.Status{NodeID: o.id, Peers: 1}, nil
}
func (o oldKeysNode) BlockHash(context.Context, string, int64) (string, error) { return "", nil }

// TestRestartAgainIsRecordedFirst: a node that came back with its old keys is restarted again
// only once that restart (the pod, by UID) is recorded: a failed status write restarts nothing,
// and the next pass restarts it and counts it once.
func TestRestartAgainIsRecordedFirst(t *testing.T) {
	cn, _, keys, pod := rotationFixture(t)
	k, _ := keysOf(keys)
	cn.Status.KeyRotations = []chainv1.KeyRotationStatus{{Node: pod.Name, ID: "r1", Phase: chainv1.RotationRestarting,
		OldNodeID: "old", NewNodeID: k.NodeID, RotatedAt: &metav1.Time{Time: time.Now().Add(-time.Minute)}}}
	pod.UID, pod.CreationTimestamp = "came-back", metav1.NewTime(time.Now().Add(-time.Minute))
	pod.Status.PodIP = "10.0.0.1"
	plan := newFaultPlan()
	plan.failAt["status"] = 1
	r, c := faultyReconciler(t, plan, cn, keys, pod)
	r.Nodes = oldKeysNode{id: "old"}
	ctx := context.Background()
	if err := r.rotateKeys(ctx, fetchNetwork(t, c, cn)); err == nil {
		t.Fatal("the failed status write was not reported")
	}
	if err := c.Get(ctx, client.ObjectKeyFromObject(pod), &corev1.Pod{}); err != nil {
		t.Fatalf("the pod was restarted before the restart was recorded: %v", err)
	}
	for pass := 0; pass < 3; pass++ {
		if err := r.rotateKeys(ctx, fetchNetwork(t, c, cn)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Get(ctx, client.ObjectKeyFromObject(pod), &corev1.Pod{}); !apierrors.IsNotFound(err) {
		t.Fatalf("the pod with the old keys: %v, want it restarted", err)
	}
	if st := fetchNetwork(t, c, cn).Status.KeyRotations[0]; st.Restarts != 1 || st.RestartPodUID != "came-back" {
		t.Fatalf("restarts %d (pod %s), want 1 (came-back)", st.Restarts, st.RestartPodUID)
	}
}
