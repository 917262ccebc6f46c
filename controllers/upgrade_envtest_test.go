package controllers_test

import (
	"context"
	"slices"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
	"github.com/chainnet/chainnet/controllers"
	"github.com/chainnet/chainnet/internal/node"
)

// runHaltingNode runs a real mining chainnode started as the operator's --halt-height asks.
func runHaltingNode(ip, genesisPath string, halt uint64) *node.Node {
	return startNode(ip, genesisPath, func(c *node.Config) { c.Mine, c.MinerThreads, c.HaltHeight = true, 1, halt })
}

var _ = Describe("Scheduled upgrades", func() {
	ctx := context.Background()

	It("arms --halt-height on every node, records the height once all are there, then rolls to the new image", func() {
		ns := newNamespace()
		cn := sample("public", ns)
		cn.Spec.Organizations[0].Validators, cn.Spec.Organizations[0].Observers = 2, 0
		cn.Spec.Service.APIPort = statusAPIPort
		cn.Spec.Upgrades = []chainv1.ScheduledUpgrade{{Height: 4, Image: "chainnet/chainnode:next"}}
		Expect(k8s.Create(ctx, cn)).To(Succeed())
		stsKey := client.ObjectKey{Namespace: ns, Name: controllers.StatefulSetName(cn, "default", controllers.RoleValidator)}
		container := func(g Gomega) (string, []string) {
			var s appsv1.StatefulSet
			g.Expect(k8s.Get(ctx, stsKey, &s)).To(Succeed())
			c := s.Spec.Template.Spec.Containers[0]
			return c.Image, c.Args
		}
		Eventually(func(g Gomega) {
			image, args := container(g)
			g.Expect(image).To(Equal(cn.Spec.Image))
			i := slices.Index(args, "--halt-height")
			g.Expect(i).To(BeNumerically(">=", 0), "args %v", args)
			g.Expect(args[i+1]).To(Equal("4"))
		}, 20*time.Second, 200*time.Millisecond).Should(Succeed())

		By("the nodes, started with that flag, mine up to height 4 and stop there")
		gen := writeTestGenesis()
		a := runHaltingNode("127.0.0.41", gen, 4)
		b := runHaltingNode("127.0.0.42", gen, 4)
		fakePod(ctx, cn, "public-default-validator-0", "127.0.0.41")
		fakePod(ctx, cn, "public-default-validator-1", "127.0.0.42")
		Eventually(func(g Gomega) {
			reportRolledOut(ctx, g, stsKey) // no StatefulSet controller here: the pods run the armed template
			pokeNetwork(ctx, cn)
			g.Expect(fetch(ctx, cn).Status.UpgradedHeight).To(Equal(int64(4)))
		}, 60*time.Second, time.Second).Should(Succeed())

		By("the StatefulSet rolls to the upgrade's image, without the halt")
		Eventually(func(g Gomega) {
			image, args := container(g)
			g.Expect(image).To(Equal("chainnet/chainnode:next"))
			g.Expect(args).NotTo(ContainElement("--halt-height"))
		}, 20*time.Second, 200*time.Millisecond).Should(Succeed())
		Consistently(func() uint64 { return max(a.Chain().Tip().Height, b.Chain().Tip().Height) }, 2*time.Second, 200*time.Millisecond).
			Should(Equal(uint64(4)), "a node went past its halt height")
	})

	It("refuses at admission a new upgrade at or below the last applied one", func() {
		ns := newNamespace()
		cn := sample("public", ns)
		cn.Spec.Paused = true // admission only
		cn.Spec.Upgrades = []chainv1.ScheduledUpgrade{{Height: 10, Image: "chainnet/chainnode:next"}}
		Expect(k8s.Create(ctx, cn)).To(Succeed())
		got := fetch(ctx, cn)
		got.Status.UpgradedHeight = 10
		Expect(k8s.Status().Update(ctx, got)).To(Succeed())
		err := update(ctx, cn, func(c *chainv1.ChainNetwork) {
			c.Spec.Upgrades = append(c.Spec.Upgrades, chainv1.ScheduledUpgrade{Height: 8, Image: "chainnet/chainnode:old"})
		})
		Expect(err).To(MatchError(ContainSubstring("a new upgrade must be above status.upgradedHeight")))
		Expect(update(ctx, cn, func(c *chainv1.ChainNetwork) {
			c.Spec.Upgrades = append(c.Spec.Upgrades, chainv1.ScheduledUpgrade{Height: 20, Image: "chainnet/chainnode:3"})
		})).To(Succeed(), "an upgrade above it, beside the applied one")
		Expect(update(ctx, cn, func(c *chainv1.ChainNetwork) { c.Spec.Upgrades = c.Spec.Upgrades[1:] })).To(Succeed(), "removing the applied one")
	})
})

// reportRolledOut writes the status the StatefulSet controller would once every pod runs the
// current template (envtest runs no controller): the operator completes an upgrade only then.
func reportRolledOut(ctx context.Context, g Gomega, key client.ObjectKey) {
	var s appsv1.StatefulSet
	g.Expect(k8s.Get(ctx, key, &s)).To(Succeed())
	n := *s.Spec.Replicas
	s.Status = appsv1.StatefulSetStatus{ObservedGeneration: s.Generation, Replicas: n, ReadyReplicas: n, AvailableReplicas: n,
		UpdatedReplicas: n, CurrentReplicas: n, CurrentRevision: "r", UpdateRevision: "r"}
	g.Expect(k8s.Status().Update(ctx, &s)).To(Succeed())
}
