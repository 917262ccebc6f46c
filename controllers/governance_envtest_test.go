package controllers_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
	"github.com/chainnet/chainnet/controllers"
	"github.com/chainnet/chainnet/internal/governance"
	"github.com/chainnet/chainnet/internal/node"
)

// runOperatorNode runs a real mining chainnode on the genesis the operator wrote, with the keys
// the operator generated for one of its pods, at ip: the pod as the kubelet would run it.
func runOperatorNode(ctx context.Context, cn *chainv1.ChainNetwork, pod, ip string) *node.Node {
	var cm corev1.ConfigMap
	Eventually(func() error {
		return k8s.Get(ctx, client.ObjectKey{Namespace: cn.Namespace, Name: controllers.GenesisConfigMapName(cn)}, &cm)
	}).Should(Succeed())
	var keys corev1.Secret
	Eventually(func() error {
		return k8s.Get(ctx, client.ObjectKey{Namespace: cn.Namespace, Name: pod + "-keys"}, &keys)
	}).Should(Succeed())
	dir := GinkgoT().TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		Expect(os.WriteFile(p, b, 0o600)).To(Succeed())
		return p
	}
	gen := write("genesis.json", []byte(cm.Data[controllers.GenesisKey]))
	nodeKey, minerKey := write("node-key.json", keys.Data[controllers.SecretNodeKey]), write("miner-key.json", keys.Data[controllers.SecretMinerKey])
	n := startNode(ip, gen, func(c *node.Config) {
		c.NodeKeyPath, c.MinerKeyPath, c.Mine, c.MinerThreads, c.Org = nodeKey, minerKey, true, 1, keys.Labels[controllers.LabelOrg]
	})
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: pod, Namespace: cn.Namespace,
		Labels: map[string]string{controllers.LabelNetwork: cn.Name, controllers.LabelComponent: "node", controllers.LabelOrg: keys.Labels[controllers.LabelOrg]}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "chainnode", Image: cn.Spec.Image}}}}
	Expect(k8s.Create(ctx, p)).To(Succeed())
	p.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}},
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}
	Expect(k8s.Status().Update(ctx, p)).To(Succeed())
	return n
}

var _ = Describe("Governance in one cluster", func() {
	ctx := context.Background()

	It("puts scaled nodes, added organizations and removed ones on the chain with the admin keys it holds", func() {
		ns := newNamespace()
		cn := sample("consortium", ns)
		cn.Spec.Organizations = cn.Spec.Organizations[:1]
		cn.Spec.Organizations[0].Validators, cn.Spec.Organizations[0].Observers = 1, 0
		cn.Spec.Consensus.TargetBlockTimeSeconds, cn.Spec.Consensus.InitialDifficulty = 1, 20000
		cn.Spec.Service.APIPort = statusAPIPort
		Expect(k8s.Create(ctx, cn)).To(Succeed())
		org1 := cn.Spec.Organizations[0].Name
		n := runOperatorNode(ctx, cn, controllers.PodName(cn, org1, controllers.RoleValidator, 0), "127.0.0.61")
		onChain := func(name string) *governance.Organization {
			org, _ := n.Chain().Membership().Org(name)
			return org
		}
		admitted := func(g Gomega) {
			pokeNetwork(ctx, cn)
			c := meta.FindStatusCondition(fetch(ctx, cn).Status.Conditions, chainv1.ConditionAdmitted)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Status).To(Equal(metav1.ConditionTrue), "%s: %s", c.Reason, c.Message)
		}
		Eventually(admitted, 30*time.Second, 500*time.Millisecond).Should(Succeed())

		By("a second validator: its node id and miner key go on the chain, signed by the organization's admin")
		Expect(update(ctx, cn, func(c *chainv1.ChainNetwork) { c.Spec.Organizations[0].Validators = 2 })).To(Succeed())
		Eventually(func(g Gomega) {
			pokeNetwork(ctx, cn)
			o := onChain(org1)
			g.Expect(o.Validators).To(HaveLen(2))
			g.Expect(o.Miners).To(HaveLen(2))
		}, 60*time.Second, 500*time.Millisecond).Should(Succeed())

		By("a second organization: proposed and approved by the first, then admitted")
		Expect(update(ctx, cn, func(c *chainv1.ChainNetwork) {
			c.Spec.Organizations = append(c.Spec.Organizations, chainv1.Organization{Name: "org9", Validators: 1, MinerThreads: 1})
		})).To(Succeed())
		Eventually(func(g Gomega) {
			pokeNetwork(ctx, cn)
			g.Expect(onChain("org9")).NotTo(BeNil())
		}, 60*time.Second, 500*time.Millisecond).Should(Succeed())
		Eventually(admitted, 30*time.Second, 500*time.Millisecond).Should(Succeed())
		st := fetch(ctx, cn).Status.Governance
		Expect(st.Local).To(HaveLen(2))
		Expect(slices.ContainsFunc(st.Organizations, func(o chainv1.MemberOrganization) bool { return o.Name == "org9" && o.Local })).To(BeTrue())

		By("removed from the spec: proposed by the first, consented to by itself (two of two), gone")
		Expect(update(ctx, cn, func(c *chainv1.ChainNetwork) { c.Spec.Organizations = c.Spec.Organizations[:1] })).To(Succeed())
		Eventually(func(g Gomega) {
			pokeNetwork(ctx, cn)
			g.Expect(onChain("org9")).To(BeNil())
		}, 60*time.Second, 500*time.Millisecond).Should(Succeed())
		Expect(n.Chain().Membership().Seq).To(BeNumerically(">=", 3))
	})
})
