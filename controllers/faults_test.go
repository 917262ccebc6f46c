package controllers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
)

// errInjected is the failure a faultPlan returns.
var errInjected = errors.New("injected fault")

// faultPlan fails chosen writes: the Nth call of a kind of write (create, delete, patch, update,
// apply, status) fails once, and a write of that kind always fails while always is set.
type faultPlan struct {
	mu     sync.Mutex
	counts map[string]int
	failAt map[string]int
	always map[string]bool
}

func newFaultPlan() *faultPlan {
	return &faultPlan{counts: map[string]int{}, failAt: map[string]int{}, always: map[string]bool{}}
}

// hit counts a write of kind and says whether it fails.
func (p *faultPlan) hit(kind string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.counts[kind]++
	if p.always[kind] || p.failAt[kind] == p.counts[kind] {
		return fmt.Errorf("%s #%d: %w", kind, p.counts[kind], errInjected)
	}
	return nil
}

// funcs intercepts every write of a client.
func (p *faultPlan) funcs() interceptor.Funcs {
	return interceptor.Funcs{
		Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			if err := p.hit("create"); err != nil {
				return err
			}
			return c.Create(ctx, obj, opts...)
		},
		Delete: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.DeleteOption) error {
			if err := p.hit("delete"); err != nil {
				return err
			}
			return c.Delete(ctx, obj, opts...)
		},
		Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
			if err := p.hit("patch"); err != nil {
				return err
			}
			return c.Patch(ctx, obj, patch, opts...)
		},
		Update: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
			if err := p.hit("update"); err != nil {
				return err
			}
			return c.Update(ctx, obj, opts...)
		},
		Apply: func(ctx context.Context, c client.WithWatch, obj runtime.ApplyConfiguration, opts ...client.ApplyOption) error {
			if err := p.hit("apply"); err != nil {
				return err
			}
			// The fake client cannot server-side apply NetworkPolicies ("types from the same
			// schema"); envtest covers them.
			if b, err := json.Marshal(obj); err == nil && strings.Contains(string(b), `"kind":"NetworkPolicy"`) {
				return nil
			}
			return c.Apply(ctx, obj, opts...)
		},
		SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
			if err := p.hit("status"); err != nil {
				return err
			}
			return c.SubResource(sub).Patch(ctx, obj, patch, opts...)
		},
	}
}

func testScheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(chainv1.AddToScheme(s))
	return s
}

// faultyReconciler is a reconciler on a fake API server whose writes fail as plan says; its API
// reader reads the same objects without faults.
func faultyReconciler(t *testing.T, plan *faultPlan, objs ...client.Object) (*ChainNetworkReconciler, client.Client) {
	t.Helper()
	s := testScheme(t)
	base := fake.NewClientBuilder().WithScheme(s).WithObjects(objs...).
		WithStatusSubresource(&chainv1.ChainNetwork{}).Build()
	c := interceptor.NewClient(base, plan.funcs())
	return &ChainNetworkReconciler{Client: c, Scheme: s, APIReader: base}, base
}

// fetchNetwork reads the network back as a new Reconcile would.
func fetchNetwork(t *testing.T, c client.Client, cn *chainv1.ChainNetwork) *chainv1.ChainNetwork {
	t.Helper()
	out := &chainv1.ChainNetwork{}
	if err := c.Get(context.Background(), client.ObjectKeyFromObject(cn), out); err != nil {
		t.Fatal(err)
	}
	return out
}

func secretKeys(t *testing.T, c client.Client, ns, name string) (nodeKeys, error) {
	t.Helper()
	var s corev1.Secret
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &s); err != nil {
		return nodeKeys{}, err
	}
	return keysOf(&s)
}
