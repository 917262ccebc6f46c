package controllers

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
	"github.com/chainnet/chainnet/internal/genesis"
)

// staleCacheReconciler is a reconciler whose cached reads miss every Secret and ConfigMap that
// objs hold (an informer that has not seen them yet); its API reader sees them.
func staleCacheReconciler(t *testing.T, objs ...client.Object) *ChainNetworkReconciler {
	t.Helper()
	s := testScheme(t)
	base := fake.NewClientBuilder().WithScheme(s).WithObjects(objs...).WithStatusSubresource(&chainv1.ChainNetwork{}).Build()
	hidden := map[client.ObjectKey]bool{}
	for _, o := range objs {
		switch o.(type) {
		case *corev1.Secret, *corev1.ConfigMap:
			hidden[client.ObjectKeyFromObject(o)] = true
		}
	}
	c := interceptor.NewClient(base, interceptor.Funcs{
		Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			if hidden[key] {
				return apierrors.NewNotFound(schema.GroupResource{Resource: "hidden"}, key.Name)
			}
			return c.Get(ctx, key, obj, opts...)
		},
	})
	return &ChainNetworkReconciler{Client: c, Scheme: s, APIReader: base}
}

// TestCreateOnceUsesStoredObjects: when the cache does not show an object that exists, the create
// fails with AlreadyExists and the stored object is used: node keys, the keys of a rotation and
// the genesis hash are the API server's, never those generated for the create that failed.
func TestCreateOnceUsesStoredObjects(t *testing.T) {
	ctx := context.Background()
	cn, n, keys, pod := rotationFixture(t)
	next, err := keySecret(cn, n)
	if err != nil {
		t.Fatal(err)
	}
	next.Name = rotationSecretName(cn, n)
	genesisCM, _, err := genesisConfigMap(cn, mustGenesis(t, cn))
	if err != nil {
		t.Fatal(err)
	}
	genesisCM.Annotations[AnnotationGenesisHash] = "stored-hash"
	r := staleCacheReconciler(t, cn, keys, next, pod, genesisCM)

	stored, _ := keysOf(keys)
	got, err := r.ensureKeySecrets(ctx, cn)
	if err != nil {
		t.Fatal(err)
	}
	if got[n] != stored {
		t.Errorf("ensureKeySecrets: %.8s, want the stored keys %.8s", got[n].NodeID, stored.NodeID)
	}
	hash, err := r.ensureGenesis(ctx, cn, got, nil)
	if err != nil || hash != "stored-hash" {
		t.Errorf("ensureGenesis: %q, %v; want the stored genesis's hash", hash, err)
	}
	if err := r.rotateKeys(ctx, cn); err != nil {
		t.Fatal(err)
	}
	want, _ := keysOf(next)
	if st := cn.Status.KeyRotations[0]; st.NewNodeID != want.NodeID || st.NewMinerKey != want.MinerKey {
		t.Errorf("rotation recorded new keys %.8s, want those of the stored -next Secret %.8s", st.NewNodeID, want.NodeID)
	}
}

// TestAdminKeyIsTheStoredOne: the same for an organization's admin key.
func TestAdminKeyIsTheStoredOne(t *testing.T) {
	cn := network(chainv1.Consortium, org("org1", 1, 0))
	admin, err := adminSecret(cn, "org1")
	if err != nil {
		t.Fatal(err)
	}
	r := staleCacheReconciler(t, cn, admin)
	got, err := r.ensureAdminKeys(context.Background(), cn)
	if err != nil {
		t.Fatal(err)
	}
	if got["org1"].NodeID() != admin.Annotations["chainnet.io/admin-key"] {
		t.Errorf("admin key %.8s, want the stored %.8s", got["org1"].NodeID(), admin.Annotations["chainnet.io/admin-key"])
	}
}

func mustGenesis(t *testing.T, cn *chainv1.ChainNetwork) *genesis.File {
	t.Helper()
	f, err := genesisFile(cn, withKeys(cn), nil)
	if err != nil {
		t.Fatal(err)
	}
	return f
}
