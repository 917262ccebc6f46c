package controllers

import (
	"context"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
)

// TestNameCollisionIsRefused: network "a" with organization "b-c" and network "a-b" with
// organization "c" name the same key Secrets and StatefulSet. The second is refused with a
// NameConflict condition; it neither adopts the first one's keys nor takes over its objects.
func TestNameCollisionIsRefused(t *testing.T) {
	first := network(chainv1.Public, org("b-c", 1, 0))
	first.Name, first.UID = "a", "uid-a"
	second := network(chainv1.Public, org("c", 1, 0))
	second.Name, second.UID = "a-b", "uid-ab"
	if KeySecretName(first, "b-c", RoleValidator, 0) != KeySecretName(second, "c", RoleValidator, 0) {
		t.Fatal("the fixture no longer collides")
	}
	r, c := faultyReconciler(t, newFaultPlan(), first, second)
	ctx := context.Background()
	if _, err := r.Reconcile(ctx, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(first)}); err != nil {
		t.Fatal(err)
	}
	secrets := func() map[string]string {
		var list corev1.SecretList
		if err := c.List(ctx, &list, client.InNamespace(first.Namespace)); err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, s := range list.Items {
			out[s.Name] = s.Labels[LabelNetwork] + "/" + s.ResourceVersion
		}
		return out
	}
	before := secrets()
	for pass := 0; pass < 2; pass++ {
		_, err := r.Reconcile(ctx, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(second)})
		if !IsForeignObject(err) {
			t.Fatalf("pass %d: the colliding network reconciled (%v)", pass, err)
		}
	}
	got := fetchNetwork(t, c, second)
	if d := meta.FindStatusCondition(got.Status.Conditions, chainv1.ConditionDegraded); d == nil || d.Reason != "NameConflict" {
		t.Fatalf("Degraded = %+v, want NameConflict", d)
	}
	if after := secrets(); len(after) != len(before) {
		t.Fatalf("secrets %v, before %v", after, before)
	} else {
		for k, v := range before {
			if after[k] != v {
				t.Errorf("secret %s changed: %s -> %s", k, v, after[k])
			}
		}
	}
	var sts appsv1.StatefulSet
	if err := c.Get(ctx, client.ObjectKey{Namespace: first.Namespace, Name: StatefulSetName(first, "b-c", RoleValidator)}, &sts); err != nil {
		t.Fatal(err)
	}
	if owner := metav1.GetControllerOf(&sts); owner == nil || owner.Name != "a" {
		t.Fatalf("StatefulSet controller %+v, want network a", owner)
	}
}

func TestCheckOwner(t *testing.T) {
	cn := network(chainv1.Public, org("default", 1, 0))
	mine := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "x", Labels: map[string]string{LabelNetwork: cn.Name, LabelOrg: "default"}}}
	unlabeled := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "x"}}
	otherNet := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "x", Labels: map[string]string{LabelNetwork: "other"}}}
	otherOrg := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "x", Labels: map[string]string{LabelNetwork: cn.Name, LabelOrg: "o2"}}}
	otherOwner := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x", OwnerReferences: []metav1.OwnerReference{{Kind: "ChainNetwork", Name: "other", Controller: ptr(true)}}}}
	for _, tc := range []struct {
		obj     client.Object
		org     string
		foreign bool
	}{{mine, "default", false}, {unlabeled, "default", false}, {otherNet, "", true}, {otherOrg, "default", true}, {otherOrg, "", false}, {otherOwner, "", true}} {
		if err := checkOwner(cn, tc.obj, tc.org); IsForeignObject(err) != tc.foreign {
			t.Errorf("%+v (org %q): %v, want foreign %v", tc.obj.GetLabels(), tc.org, err, tc.foreign)
		}
	}
}
