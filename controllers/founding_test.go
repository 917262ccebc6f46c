package controllers

import (
	"context"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
)

// deleteNetwork deletes a network as the garbage collector would: with everything it owns; key
// Secrets (and claims) stay.
func deleteNetwork(t *testing.T, c client.Client, cn *chainv1.ChainNetwork) {
	t.Helper()
	ctx := context.Background()
	var cms corev1.ConfigMapList
	var sets appsv1.StatefulSetList
	var svcs corev1.ServiceList
	for _, l := range []client.ObjectList{&cms, &sets, &svcs} {
		if err := c.List(ctx, l, client.InNamespace(cn.Namespace)); err != nil {
			t.Fatal(err)
		}
	}
	var owned []client.Object
	for i := range cms.Items {
		owned = append(owned, &cms.Items[i])
	}
	for i := range sets.Items {
		owned = append(owned, &sets.Items[i])
	}
	for i := range svcs.Items {
		owned = append(owned, &svcs.Items[i])
	}
	for _, o := range owned {
		if ref := metav1.GetControllerOf(o); ref != nil && ref.UID == cn.UID {
			if err := c.Delete(ctx, o); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := c.Delete(ctx, cn); err != nil {
		t.Fatal(err)
	}
}

// TestRecreatedNetworkKeepsItsGenesis: a network deleted and created again under its name with
// the same spec (a new UID, a later creation time: helm uninstall/install, a Velero restore)
// gets the genesis its kept key Secrets and volumes belong to; with a different spec it is
// refused with GenesisMismatch and runs no node.
func TestRecreatedNetworkKeepsItsGenesis(t *testing.T) {
	for _, membership := range []chainv1.Membership{chainv1.Public, chainv1.Private} {
		t.Run(string(membership), func(t *testing.T) {
			name := "default"
			if membership != chainv1.Public {
				name = "acme"
			}
			cn := network(membership, org(name, 2, 1))
			cn.ResourceVersion = ""
			r, c := faultyReconciler(t, newFaultPlan(), cn)
			ctx := context.Background()
			req := reconcile.Request{NamespacedName: client.ObjectKeyFromObject(cn)}
			if _, err := r.Reconcile(ctx, req); err != nil {
				t.Fatal(err)
			}
			first := fetchNetwork(t, c, cn).Status.GenesisHash
			if first == "" {
				t.Fatal("no genesis")
			}
			recreate := func(mutate func(*chainv1.ChainNetwork)) error {
				deleteNetwork(t, c, fetchNetwork(t, c, cn))
				again := network(membership, org(name, 2, 1))
				again.UID, again.CreationTimestamp = types.UID("uid-2-"+string(membership)), metav1.Unix(1_900_000_000, 0)
				mutate(again)
				if err := c.Create(ctx, again); err != nil {
					t.Fatal(err)
				}
				_, err := r.Reconcile(ctx, req)
				return err
			}
			if err := recreate(func(*chainv1.ChainNetwork) {}); err != nil {
				t.Fatal(err)
			}
			if again := fetchNetwork(t, c, cn).Status.GenesisHash; again != first {
				t.Fatalf("re-created with the same spec: genesis %.16s, want %.16s", again, first)
			}
			err := recreate(func(n *chainv1.ChainNetwork) { n.Spec.Consensus.BlockReward++ })
			if !IsGenesisMismatch(err) {
				t.Fatalf("re-created with another consensus: %v, want a GenesisMismatch", err)
			}
			got := fetchNetwork(t, c, cn)
			if d := meta.FindStatusCondition(got.Status.Conditions, chainv1.ConditionDegraded); d == nil || d.Reason != "GenesisMismatch" {
				t.Fatalf("Degraded = %+v, want GenesisMismatch", d)
			}
			var cm corev1.ConfigMap
			if err := c.Get(ctx, client.ObjectKey{Namespace: cn.Namespace, Name: GenesisConfigMapName(cn)}, &cm); !apierrors.IsNotFound(err) {
				t.Fatalf("a genesis ConfigMap for the wrong chain: %v", err)
			}
			var sts appsv1.StatefulSet
			if err := c.Get(ctx, client.ObjectKey{Namespace: cn.Namespace, Name: StatefulSetName(cn, name, RoleValidator)}, &sts); !apierrors.IsNotFound(err) {
				t.Fatalf("nodes started on the wrong chain: %v", err)
			}
		})
	}
}
