package controllers_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
	"github.com/chainnet/chainnet/controllers"
	"github.com/chainnet/chainnet/internal/api"
)

// faultsNamespace holds the fault-injection networks; the suite's manager ignores it.
const faultsNamespace = "faults"

// writeFaults fails the Nth write of each kind (create, delete, patch, update, apply, status) once.
type writeFaults struct {
	mu     sync.Mutex
	n      int
	counts map[string]int
}

func (w *writeFaults) hit(kind string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.counts[kind]++
	if w.n > 0 && w.counts[kind] == w.n {
		return fmt.Errorf("injected: %s #%d fails", kind, w.n)
	}
	return nil
}

func (w *writeFaults) funcs() interceptor.Funcs {
	return interceptor.Funcs{
		Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			if err := w.hit("create"); err != nil {
				return err
			}
			return c.Create(ctx, obj, opts...)
		},
		Delete: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.DeleteOption) error {
			if err := w.hit("delete"); err != nil {
				return err
			}
			return c.Delete(ctx, obj, opts...)
		},
		Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
			if err := w.hit("patch"); err != nil {
				return err
			}
			return c.Patch(ctx, obj, patch, opts...)
		},
		Update: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
			if err := w.hit("update"); err != nil {
				return err
			}
			return c.Update(ctx, obj, opts...)
		},
		Apply: func(ctx context.Context, c client.WithWatch, obj runtime.ApplyConfiguration, opts ...client.ApplyOption) error {
			if err := w.hit("apply"); err != nil {
				return err
			}
			return c.Apply(ctx, obj, opts...)
		},
		SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
			if err := w.hit("status"); err != nil {
				return err
			}
			return c.SubResource(sub).Patch(ctx, obj, patch, opts...)
		},
	}
}

// noWatch makes a manager's client a client.WithWatch for the interceptor (the reconciler
// never watches through its client).
type noWatch struct{ client.Client }

func (noWatch) Watch(context.Context, client.ObjectList, ...client.ListOption) (watch.Interface, error) {
	return nil, errors.New("watch through the reconciler's client")
}

// fakeChain answers for the fault networks' pods (no chainnode runs): synced at height 10, with
// the node id their key Secret held when the pod was started; a pod marked down does not answer.
type fakeChain struct {
	mu   sync.Mutex
	pods map[string]string // IP → pod
	ids  map[string]string // pod → node id it runs with
	down map[string]bool
}

func (f *fakeChain) NodeStatus(ctx context.Context, baseURL string) (*api.Status, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	pod := f.pods[u.Hostname()]
	down, id := f.down[pod], f.ids[pod]
	f.mu.Unlock()
	if pod == "" || down {
		return nil, errors.New("connection refused")
	}
	return &api.Status{Height: 10, BestHash: "h10", Peers: 2, NodeID: id}, nil
}

func (f *fakeChain) BlockHash(context.Context, string, int64) (string, error) { return "h10", nil }

func (f *fakeChain) setDown(pod string, down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down[pod] = down
}

// startFaultManager runs a manager of its own for the fault namespace, its reconciler's writes
// failing as w says; the returned function stops it (an operator restart).
func startFaultManager(w *writeFaults, chain *fakeChain) func() {
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{Scheme: scheme, Metrics: metricsserver.Options{BindAddress: "0"},
		Cache:      controllers.CacheOptions([]string{faultsNamespace}),
		Controller: config.Controller{SkipNameValidation: ptrTo(true)}})
	Expect(err).NotTo(HaveOccurred())
	r := &controllers.ChainNetworkReconciler{Client: interceptor.NewClient(noWatch{mgr.GetClient()}, w.funcs()), Scheme: scheme,
		Recorder: mgr.GetEventRecorder("chainnet-faults"), Nodes: chain, APIReader: mgr.GetAPIReader()}
	Expect(r.SetupWithManager(mgr)).To(Succeed())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer GinkgoRecover()
		defer close(done)
		Expect(mgr.Start(ctx)).To(Succeed())
	}()
	return func() { cancel(); <-done }
}

// faultRun is one network taken through every step under one fault plan.
type faultRun struct {
	cn    *chainv1.ChainNetwork
	chain *fakeChain
	run   int
	keys  map[string]string // key Secret → node id first seen
}

// simulate plays the StatefulSet controller and the kubelet: every pod of the StatefulSets
// exists and runs at an address fakeChain answers for, and the rollout is reported done.
func (f *faultRun) simulate(ctx context.Context, g Gomega) {
	var sets appsv1.StatefulSetList
	g.Expect(k8s.List(ctx, &sets, client.InNamespace(faultsNamespace), client.MatchingLabels{controllers.LabelNetwork: f.cn.Name})).To(Succeed())
	for i := range sets.Items {
		s := &sets.Items[i]
		for o := int32(0); o < *s.Spec.Replicas; o++ {
			f.ensurePod(ctx, g, s, o)
		}
		n := *s.Spec.Replicas
		s.Status = appsv1.StatefulSetStatus{ObservedGeneration: s.Generation, Replicas: n, ReadyReplicas: n, AvailableReplicas: n,
			UpdatedReplicas: n, CurrentReplicas: n, CurrentRevision: "r", UpdateRevision: "r"}
		g.Expect(k8s.Status().Update(ctx, s)).To(Succeed())
	}
}

func (f *faultRun) ensurePod(ctx context.Context, g Gomega, s *appsv1.StatefulSet, ordinal int32) {
	name := fmt.Sprintf("%s-%d", s.Name, ordinal)
	ip := fmt.Sprintf("10.77.%d.%d", f.run, ordinal)
	var p corev1.Pod
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: faultsNamespace, Name: name}, &p); err == nil {
		return
	}
	p = corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: faultsNamespace, Labels: s.Spec.Template.Labels},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "chainnode", Image: "x"}}}}
	g.Expect(k8s.Create(ctx, &p)).To(Succeed())
	p.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}},
		ContainerStatuses: []corev1.ContainerStatus{{Name: "chainnode", Ready: true, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}}
	g.Expect(k8s.Status().Update(ctx, &p)).To(Succeed())
	var keys corev1.Secret // what the kubelet mounts: the keys at the pod's start
	g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: faultsNamespace, Name: name + "-keys"}, &keys)).To(Succeed())
	f.chain.mu.Lock()
	f.chain.pods[ip], f.chain.ids[name] = name, keys.Annotations["chainnet.io/node-id"]
	f.chain.down[name] = false
	f.chain.mu.Unlock()
}

// step restarts the operator, makes a change and waits until the network converges on it.
func (f *faultRun) step(ctx context.Context, w *writeFaults, change func(*chainv1.ChainNetwork), converged func(Gomega, *chainv1.ChainNetwork)) {
	stop := startFaultManager(w, f.chain)
	defer stop()
	if change != nil {
		Expect(update(ctx, f.cn, change)).To(Succeed())
	}
	Eventually(func(g Gomega) {
		f.simulate(ctx, g)
		f.checkKeys(ctx, g)
		converged(g, fetch(ctx, f.cn))
	}, 40*time.Second, 250*time.Millisecond).Should(Succeed())
}

// checkKeys: a key Secret's keys never change, except by the rotation asked for.
func (f *faultRun) checkKeys(ctx context.Context, g Gomega) {
	var list corev1.SecretList
	g.Expect(k8s.List(ctx, &list, client.InNamespace(faultsNamespace), client.MatchingLabels{controllers.LabelNetwork: f.cn.Name, controllers.LabelComponent: "keys"})).To(Succeed())
	rotated := controllers.KeySecretName(f.cn, "default", controllers.RoleValidator, 0)
	for _, s := range list.Items {
		id := s.Annotations["chainnet.io/node-id"]
		first, seen := f.keys[s.Name]
		switch {
		case !seen:
			f.keys[s.Name] = id
		case s.Name == rotated:
			// checked against the rotation's record at the end
		default:
			Expect(id).To(Equal(first), "the keys of %s changed", s.Name)
		}
	}
}

// endState is what every run must converge to, whatever failed on the way.
type endState struct {
	Replicas         int32
	Halt             string
	Rotation         string
	Reseeds          int32
	Snapshots        bool
	KeySecrets       int
	GenesisRecorded  bool
	RotatedKeysAsSet bool
}

func (f *faultRun) end(ctx context.Context) endState {
	cn := fetch(ctx, f.cn)
	s := stsOf(ctx, f.cn, "default", controllers.RoleValidator)
	args := s.Spec.Template.Spec.Containers[0].Args
	halt := ""
	if i := slices.Index(args, "--halt-height"); i >= 0 {
		halt = args[i+1]
	}
	var secrets corev1.SecretList
	Expect(k8s.List(ctx, &secrets, client.InNamespace(faultsNamespace), client.MatchingLabels{controllers.LabelNetwork: f.cn.Name, controllers.LabelComponent: "keys"})).To(Succeed())
	recorded := true
	for _, s := range secrets.Items {
		recorded = recorded && s.Annotations[controllers.AnnotationGenesisHash] == cn.Status.GenesisHash
	}
	st := endState{Replicas: *s.Spec.Replicas, Halt: halt, KeySecrets: len(secrets.Items), GenesisRecorded: recorded,
		Snapshots: cn.Status.Snapshots != nil && cn.Status.Snapshots.Count > 0}
	if h := cn.Status.Healing; h != nil {
		st.Reseeds = h.Reseeds
	}
	if len(cn.Status.KeyRotations) == 1 {
		r := cn.Status.KeyRotations[0]
		st.Rotation = r.Phase
		rotated := controllers.KeySecretName(f.cn, "default", controllers.RoleValidator, 0)
		var now corev1.Secret
		Expect(get(ctx, &now, faultsNamespace, rotated)).To(Succeed())
		st.RotatedKeysAsSet = f.keys[rotated] == r.OldNodeID && now.Annotations["chainnet.io/node-id"] == r.NewNodeID
	}
	return st
}

var _ = Describe("Fault injection", Ordered, func() {
	ctx := context.Background()
	var ends []endState

	BeforeAll(func() {
		Expect(client.IgnoreAlreadyExists(k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: faultsNamespace}}))).To(Succeed())
	})

	// Run n fails the nth write of each kind (create, delete, patch, update, apply, status). The operator is restarted
	// between steps. Every run ends in the same state, with the same keys throughout.
	for run := 1; run <= 3; run++ {
		It(fmt.Sprintf("converges through create, scale, rotation, upgrade, snapshot and reseed when the write #%d of each kind fails", run), func() {
			w := &writeFaults{n: run, counts: map[string]int{}}
			cn := sample("public", faultsNamespace)
			cn.Name = fmt.Sprintf("f%d", run)
			cn.Spec.Organizations[0].Validators, cn.Spec.Organizations[0].Observers = 2, 0
			cn.Spec.SelfHealing = chainv1.SelfHealing{LagBlocks: 3, GracePeriodSeconds: 5}
			cn.Spec.Snapshots = &chainv1.SnapshotSpec{Schedule: "0 0 1 1 *", Retention: 2}
			f := &faultRun{cn: cn, run: run, chain: &fakeChain{pods: map[string]string{}, ids: map[string]string{}, down: map[string]bool{}}, keys: map[string]string{}}
			Expect(k8s.Create(ctx, cn)).To(Succeed())
			pod := func(i int32) string { return controllers.PodName(cn, "default", controllers.RoleValidator, i) }

			By("create")
			f.step(ctx, w, nil, func(g Gomega, got *chainv1.ChainNetwork) {
				g.Expect(got.Status.GenesisHash).NotTo(BeEmpty())
				g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
				g.Expect(got.Status.ReadyNodes).To(Equal(int32(2)))
			})
			By("scale")
			f.step(ctx, w, func(c *chainv1.ChainNetwork) { c.Spec.Organizations[0].Validators = 3 }, func(g Gomega, got *chainv1.ChainNetwork) {
				g.Expect(*stsOf(ctx, cn, "default", controllers.RoleValidator).Spec.Replicas).To(Equal(int32(3)))
				g.Expect(got.Status.ReadyNodes).To(Equal(int32(3)))
			})
			By("rotation")
			f.step(ctx, w, func(c *chainv1.ChainNetwork) { c.Spec.KeyRotations = []chainv1.KeyRotation{{Node: pod(0), ID: "r1"}} },
				func(g Gomega, got *chainv1.ChainNetwork) {
					g.Expect(got.Status.KeyRotations).To(HaveLen(1))
					g.Expect(got.Status.KeyRotations[0].Phase).To(Equal(chainv1.RotationCompleted))
				})
			By("upgrade")
			f.step(ctx, w, func(c *chainv1.ChainNetwork) {
				c.Spec.Upgrades = []chainv1.ScheduledUpgrade{{Height: 1000, Image: "chainnet/chainnode:next"}}
			}, func(g Gomega, got *chainv1.ChainNetwork) {
				g.Expect(stsOf(ctx, cn, "default", controllers.RoleValidator).Spec.Template.Spec.Containers[0].Args).To(ContainElement("1000"))
			})
			By("snapshot")
			f.step(ctx, w, nil, func(g Gomega, got *chainv1.ChainNetwork) {
				g.Expect(got.Status.Snapshots).NotTo(BeNil())
				g.Expect(got.Status.Snapshots.Count).To(BeNumerically(">=", 1))
			})
			By("reseed")
			corrupt := pod(1)
			claim := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: controllers.DataClaimName(corrupt), Namespace: faultsNamespace},
				Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}}
			Expect(k8s.Create(ctx, claim)).To(Succeed())
			var p corev1.Pod
			Expect(get(ctx, &p, faultsNamespace, corrupt)).To(Succeed())
			f.chain.setDown(corrupt, true)
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "chainnode", RestartCount: 2,
				State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
				LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: controllers.ExitCorruptStore}}}}
			Expect(k8s.Status().Update(ctx, &p)).To(Succeed())
			f.step(ctx, w, nil, func(g Gomega, got *chainv1.ChainNetwork) {
				g.Expect(got.Status.Healing).NotTo(BeNil())
				g.Expect(got.Status.Healing.Reseeds).To(Equal(int32(1)))
				var c corev1.PersistentVolumeClaim
				err := k8s.Get(ctx, client.ObjectKeyFromObject(claim), &c)
				g.Expect(err != nil || c.DeletionTimestamp != nil).To(BeTrue(), "the corrupt node's claim is still there")
			})
			ends = append(ends, f.end(ctx))
			Expect(update(ctx, cn, func(c *chainv1.ChainNetwork) { c.Spec.Paused = true })).To(Succeed()) // out of the next runs' way
			Expect(ends[len(ends)-1]).To(Equal(endState{Replicas: 3, Halt: "1000", Rotation: chainv1.RotationCompleted, Reseeds: 1,
				Snapshots: true, KeySecrets: 3, GenesisRecorded: true, RotatedKeysAsSet: true}))
			for _, kind := range []string{"create", "delete", "patch", "apply", "status"} {
				Expect(w.counts[kind]).To(BeNumerically(">=", run), "no %s failed: the plan injected nothing", kind)
			}
			GinkgoWriter.Printf("writes per kind: %v\n", w.counts)
		})
	}
})
