package controllers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/yaml"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
	"github.com/chainnet/chainnet/controllers"
	"github.com/chainnet/chainnet/internal/permissions"
)

var nsCount int

func newNamespace() string {
	nsCount++
	name := fmt.Sprintf("test-%d-%d", GinkgoParallelProcess(), nsCount)
	Expect(k8s.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})).To(Succeed())
	return name
}

func sample(name, ns string) *chainv1.ChainNetwork {
	b, err := os.ReadFile(filepath.Join("..", "config", "samples", name+".yaml"))
	Expect(err).NotTo(HaveOccurred())
	cn := &chainv1.ChainNetwork{}
	Expect(yaml.UnmarshalStrict(b, cn)).To(Succeed())
	cn.Namespace = ns
	return cn
}

func get(ctx context.Context, obj client.Object, ns, name string) error {
	return k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, obj)
}

func listOwned[L client.ObjectList](ctx context.Context, list L, ns, network string) L {
	Expect(k8s.List(ctx, list, client.InNamespace(ns), client.MatchingLabels{controllers.LabelNetwork: network})).To(Succeed())
	return list
}

func permissionFileOf(ctx context.Context, cn *chainv1.ChainNetwork) (permissions.File, string) {
	cm := &corev1.ConfigMap{}
	Expect(get(ctx, cm, cn.Namespace, controllers.PermissionsConfigMapName(cn))).To(Succeed())
	var f permissions.File
	Expect(json.Unmarshal([]byte(cm.Data[controllers.PermissionsKey]), &f)).To(Succeed())
	return f, cm.Annotations[controllers.AnnotationPermissionsVersion]
}

func stsOf(ctx context.Context, cn *chainv1.ChainNetwork, org, role string) *appsv1.StatefulSet {
	s := &appsv1.StatefulSet{}
	Expect(get(ctx, s, cn.Namespace, controllers.StatefulSetName(cn, org, role))).To(Succeed())
	return s
}

var _ = Describe("ChainNetwork samples", func() {
	ctx := context.Background()
	for _, tc := range []struct {
		sample       string
		permissioned bool
	}{{"public", false}, {"consortium", true}, {"private", true}} {
		It("reconciles the "+tc.sample+" sample into exactly the expected objects", func() {
			ns := newNamespace()
			cn := sample(tc.sample, ns)
			Expect(k8s.Create(ctx, cn)).To(Succeed())
			nodes := 0
			sets := 0
			for _, o := range cn.Spec.Organizations {
				nodes += int(o.Validators + o.Observers)
				if o.Validators > 0 {
					sets++
				}
				if o.Observers > 0 {
					sets++
				}
			}
			Eventually(func(g Gomega) {
				g.Expect(listOwned(ctx, &appsv1.StatefulSetList{}, ns, cn.Name).Items).To(HaveLen(sets))
				g.Expect(listOwned(ctx, &policyv1.PodDisruptionBudgetList{}, ns, cn.Name).Items).To(HaveLen(sets))
			}).Should(Succeed())
			secrets := listOwned(ctx, &corev1.SecretList{}, ns, cn.Name).Items
			admins := 0
			if cn.Spec.Membership != chainv1.Public {
				admins = len(cn.Spec.Organizations)
			}
			Expect(secrets).To(HaveLen(nodes+admins), "one key Secret per node, one admin key Secret per organization of a permissioned network")
			for _, s := range secrets {
				Expect(s.OwnerReferences).To(BeEmpty(), "key Secrets outlive the network, like its PVCs")
				if s.Labels[controllers.LabelComponent] == "admin-key" {
					Expect(s.Data).To(HaveKey(controllers.SecretAdminKey))
				} else {
					Expect(s.Data).To(HaveKey(controllers.SecretNodeKey))
				}
			}
			cms := listOwned(ctx, &corev1.ConfigMapList{}, ns, cn.Name).Items
			wantCMs := 2 // genesis, node config
			if tc.permissioned {
				wantCMs = 3
			}
			Expect(cms).To(HaveLen(wantCMs))
			svcs := listOwned(ctx, &corev1.ServiceList{}, ns, cn.Name).Items
			Expect(svcs).To(HaveLen(2))
			headless := &corev1.Service{}
			Expect(get(ctx, headless, ns, controllers.HeadlessServiceName(cn))).To(Succeed())
			Expect(headless.Spec.ClusterIP).To(Equal(corev1.ClusterIPNone))
			Expect(headless.Spec.PublishNotReadyAddresses).To(BeTrue())
			nps := listOwned(ctx, &networkingv1.NetworkPolicyList{}, ns, cn.Name).Items
			if tc.permissioned {
				Expect(nps).To(HaveLen(1))
				f, version := permissionFileOf(ctx, cn)
				Expect(version).To(Equal("1"))
				Expect(f.Organizations).To(HaveLen(len(cn.Spec.Organizations)))
				members := 0
				for _, o := range f.Organizations {
					members += len(o.Validators) + len(o.Observers)
				}
				Expect(members).To(Equal(nodes))
			} else {
				Expect(nps).To(BeEmpty())
			}
			for _, o := range cn.Spec.Organizations {
				s := stsOf(ctx, cn, o.Name, controllers.RoleValidator)
				Expect(*s.Spec.Replicas).To(Equal(o.Validators))
				Expect(s.Spec.PersistentVolumeClaimRetentionPolicy.WhenDeleted).To(Equal(appsv1.RetainPersistentVolumeClaimRetentionPolicyType))
				Expect(s.Spec.Template.Spec.Containers[0].Args).To(ContainElement("--mine"))
				Expect(s.Spec.Template.Spec.Containers[0].ReadinessProbe.HTTPGet.Path).To(Equal("/readyz"))
				Expect(metav1.IsControlledBy(s, fetch(ctx, cn))).To(BeTrue())
			}
			Eventually(func(g Gomega) {
				got := fetch(ctx, cn)
				g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
				g.Expect(got.Status.GenesisHash).To(HaveLen(64))
				g.Expect(got.Status.Nodes).To(Equal(fmt.Sprintf("0/%d", nodes)))
			}).Should(Succeed())
		})
	}
})

func fetch(ctx context.Context, cn *chainv1.ChainNetwork) *chainv1.ChainNetwork {
	got := &chainv1.ChainNetwork{}
	Expect(get(ctx, got, cn.Namespace, cn.Name)).To(Succeed())
	return got
}

// update changes the spec as a user would, retrying when the operator's status write won the race.
func update(ctx context.Context, cn *chainv1.ChainNetwork, mutate func(*chainv1.ChainNetwork)) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		got := fetch(ctx, cn)
		mutate(got)
		return k8s.Update(ctx, got)
	})
}

var _ = Describe("Changing a network", func() {
	ctx := context.Background()

	It("scales without restarting pods, adds organizations to the permission file, and rolls on image change", func() {
		ns := newNamespace()
		cn := sample("consortium", ns)
		Expect(k8s.Create(ctx, cn)).To(Succeed())
		Eventually(func() error { _, err := k8sSTS(ctx, cn, "org1"); return err }).Should(Succeed())
		before := stsOf(ctx, cn, "org1", controllers.RoleValidator)

		Expect(update(ctx, cn, func(c *chainv1.ChainNetwork) { c.Spec.Organizations[0].Validators = 3 })).To(Succeed())
		Eventually(func() int32 { return *stsOf(ctx, cn, "org1", controllers.RoleValidator).Spec.Replicas }).Should(Equal(int32(3)))
		after := stsOf(ctx, cn, "org1", controllers.RoleValidator)
		Expect(after.Spec.Template).To(Equal(before.Spec.Template), "scaling must not change the pod template (no restart)")
		Eventually(func() string { _, v := permissionFileOf(ctx, cn); return v }).Should(Equal("2"))

		Expect(update(ctx, cn, func(c *chainv1.ChainNetwork) {
			c.Spec.Organizations = append(c.Spec.Organizations, chainv1.Organization{Name: "org3", Validators: 1, MinerThreads: 1})
		})).To(Succeed())
		Eventually(func() error { _, err := k8sSTS(ctx, cn, "org3"); return err }).Should(Succeed())
		Eventually(func(g Gomega) {
			f, v := permissionFileOf(ctx, cn)
			g.Expect(v).To(Equal("3"))
			g.Expect(f.Organizations).To(HaveLen(3))
		}).Should(Succeed())
		Expect(stsOf(ctx, cn, "org1", controllers.RoleValidator).Spec.Template).To(Equal(before.Spec.Template),
			"a permission change is hot-reloaded by the nodes: it rolls nothing")

		Expect(update(ctx, cn, func(c *chainv1.ChainNetwork) { c.Spec.Image = "chainnet/chainnode:0.2.0" })).To(Succeed())
		Eventually(func(g Gomega) {
			s := stsOf(ctx, cn, "org1", controllers.RoleValidator)
			g.Expect(s.Spec.Template.Spec.Containers[0].Image).To(Equal("chainnet/chainnode:0.2.0"))
			g.Expect(s.Spec.Template.Annotations[controllers.AnnotationConfigHash]).NotTo(Equal(before.Spec.Template.Annotations[controllers.AnnotationConfigHash]))
		}).Should(Succeed())

		Expect(update(ctx, cn, func(c *chainv1.ChainNetwork) { c.Spec.Organizations = c.Spec.Organizations[:2] })).To(Succeed())
		Eventually(func() bool { _, err := k8sSTS(ctx, cn, "org3"); return err != nil }).Should(BeTrue(), "a removed organization's StatefulSet goes")
		Expect(get(ctx, &corev1.Secret{}, ns, controllers.KeySecretName(cn, "org3", controllers.RoleValidator, 0))).To(Succeed(), "its keys stay")
	})

	It("is idempotent: a second reconcile changes no resourceVersion", func() {
		ns := newNamespace()
		cn := sample("consortium", ns)
		Expect(k8s.Create(ctx, cn)).To(Succeed())
		Eventually(func() int64 { return fetch(ctx, cn).Status.ObservedGeneration }).Should(BeNumerically(">=", 1))
		req := reconcile.Request{NamespacedName: types.NamespacedName{Namespace: ns, Name: cn.Name}}
		_, err := reconciler.Reconcile(ctx, req)
		Expect(err).NotTo(HaveOccurred())
		versions := resourceVersions(ctx, ns, cn.Name)
		Expect(len(versions)).To(BeNumerically(">", 10))
		for i := 0; i < 2; i++ {
			_, err = reconciler.Reconcile(ctx, req)
			Expect(err).NotTo(HaveOccurred())
		}
		Expect(resourceVersions(ctx, ns, cn.Name)).To(Equal(versions))
	})
})

func k8sSTS(ctx context.Context, cn *chainv1.ChainNetwork, org string) (*appsv1.StatefulSet, error) {
	s := &appsv1.StatefulSet{}
	return s, get(ctx, s, cn.Namespace, controllers.StatefulSetName(cn, org, controllers.RoleValidator))
}

func resourceVersions(ctx context.Context, ns, network string) map[string]string {
	out := map[string]string{}
	add := func(kind string, objs []client.Object) {
		for _, o := range objs {
			out[kind+"/"+o.GetName()] = o.GetResourceVersion()
		}
	}
	add("sts", objects(listOwned(ctx, &appsv1.StatefulSetList{}, ns, network)))
	add("cm", objects(listOwned(ctx, &corev1.ConfigMapList{}, ns, network)))
	add("secret", objects(listOwned(ctx, &corev1.SecretList{}, ns, network)))
	add("svc", objects(listOwned(ctx, &corev1.ServiceList{}, ns, network)))
	add("pdb", objects(listOwned(ctx, &policyv1.PodDisruptionBudgetList{}, ns, network)))
	add("np", objects(listOwned(ctx, &networkingv1.NetworkPolicyList{}, ns, network)))
	cn := &chainv1.ChainNetwork{}
	Expect(get(ctx, cn, ns, network)).To(Succeed())
	out["cn"] = cn.ResourceVersion
	return out
}

func objects(list client.ObjectList) []client.Object {
	items, err := meta.ExtractList(list)
	Expect(err).NotTo(HaveOccurred())
	out := make([]client.Object, 0, len(items))
	for _, it := range items {
		out = append(out, it.(client.Object))
	}
	return out
}

var _ = Describe("Validation at admission", func() {
	ctx := context.Background()
	base := func() *chainv1.ChainNetwork {
		return &chainv1.ChainNetwork{ObjectMeta: metav1.ObjectMeta{GenerateName: "bad-"},
			Spec: chainv1.ChainNetworkSpec{Membership: chainv1.Consortium,
				Organizations: []chainv1.Organization{{Name: "org1", Validators: 1}}}}
	}
	type bad struct {
		name   string
		mutate func(*chainv1.ChainNetwork)
		want   string
	}
	cases := []bad{
		{"no membership", func(c *chainv1.ChainNetwork) { c.Spec.Membership = "" }, "spec.membership"},
		{"unknown membership", func(c *chainv1.ChainNetwork) { c.Spec.Membership = "open" }, "spec.membership"},
		{"no organizations", func(c *chainv1.ChainNetwork) { c.Spec.Organizations = nil }, "spec.organizations"},
		{"private with two organizations", func(c *chainv1.ChainNetwork) {
			c.Spec.Membership = chainv1.Private
			c.Spec.Organizations = append(c.Spec.Organizations, chainv1.Organization{Name: "org2", Validators: 1})
		}, "spec.organizations: private networks have exactly one organization"},
		{"no validator at all", func(c *chainv1.ChainNetwork) {
			c.Spec.Organizations[0].Validators = 0
			c.Spec.Organizations[0].Observers = 2
		},
			"spec.organizations: at least one validator is required"},
		{"unnamed consortium organization", func(c *chainv1.ChainNetwork) { c.Spec.Organizations[0].Name = "default" },
			"spec.organizations[].name: consortium and private organizations must be named"},
		{"organization name not a DNS label", func(c *chainv1.ChainNetwork) { c.Spec.Organizations[0].Name = "Org_1" }, "spec.organizations[0].name"},
		{"too many validators", func(c *chainv1.ChainNetwork) { c.Spec.Organizations[0].Validators = 33 }, "spec.organizations[0].validators"},
		{"negative observers", func(c *chainv1.ChainNetwork) { c.Spec.Organizations[0].Observers = -1 }, "spec.organizations[0].observers"},
		{"duplicate organization", func(c *chainv1.ChainNetwork) {
			c.Spec.Organizations = append(c.Spec.Organizations, chainv1.Organization{Name: "org1", Validators: 1})
		}, "spec.organizations[1]"},
		{"block time zero", func(c *chainv1.ChainNetwork) { c.Spec.Consensus.TargetBlockTimeSeconds = -5 }, "spec.consensus.targetBlockTimeSeconds"},
		{"tiny max block size", func(c *chainv1.ChainNetwork) { c.Spec.Consensus.MaxBlockSize = 100 }, "spec.consensus.maxBlockSize"},
		{"bad alloc address", func(c *chainv1.ChainNetwork) {
			c.Spec.Genesis.Alloc = []chainv1.Alloc{{Address: "xyz", Balance: 1}}
		}, "spec.genesis.alloc[0].address"},
		{"bad external peer key", func(c *chainv1.ChainNetwork) {
			c.Spec.ExternalPeers = []chainv1.ExternalPeer{{Address: "peer.example.org:9333", NodeID: "abc"}}
		}, "spec.externalPeers[0].nodeId"},
		{"service type", func(c *chainv1.ChainNetwork) { c.Spec.Service.Type = "ExternalName" }, "spec.service.type"},
		{"names too long together", func(c *chainv1.ChainNetwork) {
			c.GenerateName, c.Name = "", strings.Repeat("n", 30)
			c.Spec.Organizations[0].Name = strings.Repeat("o", 12)
		}, "at most 41 characters together"},
		{"a network name starting with a digit", func(c *chainv1.ChainNetwork) { c.GenerateName, c.Name = "", "1net" }, "metadata.name: a DNS-1035 label"},
	}
	for _, tc := range cases {
		It("rejects "+tc.name+" naming "+tc.want, func() {
			cn := base()
			cn.Namespace = "default"
			tc.mutate(cn)
			err := k8s.Create(ctx, cn)
			Expect(err).To(HaveOccurred())
			Expect(err.Error()).To(ContainSubstring(tc.want))
		})
	}

	immutable := []bad{
		{"membership", func(c *chainv1.ChainNetwork) { c.Spec.Membership = chainv1.Private }, "spec.membership is immutable"},
		{"consensus", func(c *chainv1.ChainNetwork) { c.Spec.Consensus.TargetBlockTimeSeconds = 60 }, "spec.consensus is immutable"},
		{"storage class", func(c *chainv1.ChainNetwork) {
			other := "other"
			c.Spec.Organizations[0].Storage.StorageClassName = &other
		},
			"storage.storageClassName is immutable"},
		{"genesis", func(c *chainv1.ChainNetwork) {
			c.Spec.Genesis.Alloc = []chainv1.Alloc{{Address: strings.Repeat("ab", 20), Balance: 5}}
		}, "spec.genesis is immutable"},
	}
	for _, tc := range immutable {
		It("refuses to change "+tc.name+" after creation", func() {
			cn := base()
			cn.Namespace = "default"
			cn.Spec.Paused = true // validation only: nothing to reconcile
			Expect(k8s.Create(ctx, cn)).To(Succeed())
			err := update(ctx, cn, tc.mutate)
			Expect(err).To(HaveOccurred())
			Expect(err.Error()).To(ContainSubstring(tc.want))
		})
	}
})

var _ = Describe("Status", func() {
	ctx := context.Background()

	It("moves Progressing → Ready → Degraded with the StatefulSets' status", func() {
		ns := newNamespace()
		cn := sample("private", ns)
		Expect(k8s.Create(ctx, cn)).To(Succeed())
		cond := func(t string) func() string {
			return func() string {
				c := meta.FindStatusCondition(fetch(ctx, cn).Status.Conditions, t)
				if c == nil {
					return ""
				}
				return string(c.Status) + "/" + c.Reason
			}
		}
		// No StatefulSet controller runs in envtest: the sets are never observed, so a rollout is under way.
		Eventually(cond(chainv1.ConditionProgressing)).Should(Equal("True/RollingOut"))
		Expect(cond(chainv1.ConditionReady)()).To(Equal("False/NodesNotReady"))
		health := func() string { h, _ := argoHealth(fetch(ctx, cn)); return h }
		Expect(health()).To(Equal("Progressing"))
		Expect(kstatusOf(fetch(ctx, cn))).To(Equal(status.InProgressStatus))

		setReady := func(ready int32) {
			var sets appsv1.StatefulSetList
			Expect(k8s.List(ctx, &sets, client.InNamespace(ns))).To(Succeed())
			for i := range sets.Items {
				s := &sets.Items[i]
				r := min(ready, *s.Spec.Replicas)
				s.Status = appsv1.StatefulSetStatus{ObservedGeneration: s.Generation, Replicas: *s.Spec.Replicas, ReadyReplicas: r,
					AvailableReplicas: r, UpdatedReplicas: *s.Spec.Replicas, CurrentReplicas: *s.Spec.Replicas,
					CurrentRevision: "rev1", UpdateRevision: "rev1"}
				Expect(k8s.Status().Update(ctx, s)).To(Succeed())
			}
		}
		setReady(100)
		Eventually(cond(chainv1.ConditionReady)).Should(Equal("True/AllNodesReady"))
		Expect(cond(chainv1.ConditionProgressing)()).To(Equal("False/RolloutComplete"))
		Expect(fetch(ctx, cn).Status.Nodes).To(Equal("3/3"))
		Expect(health()).To(Equal("Healthy"))
		Expect(kstatusOf(fetch(ctx, cn))).To(Equal(status.CurrentStatus))

		setReady(0)
		Eventually(cond(chainv1.ConditionDegraded)).Should(Equal("True/NodesUnavailable"))
		Expect(cond(chainv1.ConditionReady)()).To(Equal("False/NodesNotReady"))
		Eventually(func() string { _, msg := argoHealth(fetch(ctx, cn)); return msg }).Should(HavePrefix("NodesUnavailable: 0 of 3"))
		Expect(health()).To(Equal("Degraded"))
		Expect(kstatusOf(fetch(ctx, cn))).To(Equal(status.FailedStatus))

		Expect(update(ctx, cn, func(c *chainv1.ChainNetwork) { c.Spec.Paused = true })).To(Succeed())
		Expect(health()).To(Equal("Suspended"))
		Expect(update(ctx, cn, func(c *chainv1.ChainNetwork) { c.Spec.Paused = false; c.Spec.Organizations[0].Observers = 2 })).To(Succeed())
		got := fetch(ctx, cn)
		if got.Status.ObservedGeneration < got.Generation { // the operator has not caught up yet
			Expect(health()).To(Equal("Progressing"))
		}
		for _, c := range fetch(ctx, cn).Status.Conditions {
			Expect(c.Reason).To(MatchRegexp(`^[A-Z][A-Za-z]+$`), "reasons are CamelCase, never raw error text")
		}
	})
})

var _ = Describe("Monitoring and deletion", func() {
	ctx := context.Background()

	It("creates a ServiceMonitor when asked and its CRD exists", func() {
		ns := newNamespace()
		cn := sample("public", ns)
		cn.Spec.Monitoring.ServiceMonitor = true
		Expect(k8s.Create(ctx, cn)).To(Succeed())
		sm := &unstructured.Unstructured{}
		sm.SetGroupVersionKind(schema.GroupVersionKind{Group: "monitoring.coreos.com", Version: "v1", Kind: "ServiceMonitor"})
		Eventually(func() error { return get(ctx, sm, ns, cn.Name) }).Should(Succeed())
		Expect(metav1.IsControlledBy(sm, fetch(ctx, cn))).To(BeTrue())
	})

	It("leaves everything to garbage collection except PVCs and keys", func() {
		ns := newNamespace()
		cn := sample("private", ns)
		Expect(k8s.Create(ctx, cn)).To(Succeed())
		Eventually(func() int { return len(listOwned(ctx, &appsv1.StatefulSetList{}, ns, cn.Name).Items) }).Should(Equal(2))
		owner := fetch(ctx, cn)
		for kind, list := range map[string]client.ObjectList{"sts": &appsv1.StatefulSetList{}, "cm": &corev1.ConfigMapList{},
			"svc": &corev1.ServiceList{}, "pdb": &policyv1.PodDisruptionBudgetList{}, "np": &networkingv1.NetworkPolicyList{}} {
			for _, o := range objects(listOwned(ctx, list, ns, cn.Name)) {
				Expect(metav1.IsControlledBy(o, owner)).To(BeTrue(), "%s %s must be owned by the network", kind, o.GetName())
				ref := o.GetOwnerReferences()[0]
				Expect(*ref.BlockOwnerDeletion).To(BeTrue())
			}
		}
		for _, s := range listOwned(ctx, &appsv1.StatefulSetList{}, ns, cn.Name).Items {
			Expect(s.Spec.PersistentVolumeClaimRetentionPolicy.WhenDeleted).To(Equal(appsv1.RetainPersistentVolumeClaimRetentionPolicyType))
		}
		Expect(k8s.Delete(ctx, owner)).To(Succeed())
		Eventually(func() error { return get(ctx, &chainv1.ChainNetwork{}, ns, cn.Name) }).ShouldNot(Succeed())
		Expect(listOwned(ctx, &corev1.SecretList{}, ns, cn.Name).Items).To(HaveLen(4), "node and admin key Secrets stay with the PVCs")
	})
})
