//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
	"github.com/chainnet/chainnet/controllers"
)

// The kind cluster has one control plane and two workers (KIND_WORKERS): pods spread, a worker
// can be lost, and drains meet the PodDisruptionBudgets.
var _ = Describe("a network on several Kubernetes nodes", Label("nodes"), Ordered, func() {
	const ns = "e2e-nodes"
	var cn *chainv1.ChainNetwork
	BeforeAll(func(ctx SpecContext) {
		if n := len(workers(ctx)); n < 2 {
			Skip(fmt.Sprintf("%d workers: these specs need two (KIND_WORKERS=2)", n))
		}
		freshNamespace(ctx, ns)
		cn = sample("public", ns)
		cn.Name = "spread"
		cn.Spec.Organizations[0].Validators, cn.Spec.Organizations[0].Observers = 3, 0
		Expect(k8s.Create(ctx, cn)).To(Succeed())
	})
	AfterEach(func() { dumpOnFailure(ns) })
	AfterAll(func(ctx SpecContext) {
		// A test that stopped or cordoned a worker and failed must not leave it so.
		for _, w := range workers(ctx) {
			_ = exec.Command("docker", "start", w).Run()
			_ = exec.Command(filepath.Join(root, "bin", "kubectl"), "uncordon", w).Run()
		}
		releaseNamespace(ctx, ns)
	})

	It("spreads the validators over the workers", func(ctx SpecContext) {
		expectReady(ctx, cn)
		expectHealthyChain(ctx, cn, 3, 3)
		on := map[string]int{}
		for _, p := range nodePods(ctx, cn, controllers.RoleValidator) {
			on[p.Spec.NodeName]++
		}
		for _, w := range workers(ctx) {
			Expect(on).To(HaveKey(w), "no validator on worker %s: %v", w, on)
		}
	})

	It("stays Degraded but mining while a worker is stopped, and heals when it returns", func(ctx SpecContext) {
		victim := nodePods(ctx, cn, controllers.RoleValidator)[0].Spec.NodeName
		Expect(victim).To(ContainSubstring("worker"))
		run(ctx, "docker", "stop", victim)
		DeferCleanup(func() { _ = exec.Command("docker", "start", victim).Run() })
		Eventually(func(g Gomega) {
			var got chainv1.ChainNetwork
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(cn), &got)).To(Succeed())
			g.Expect(meta.IsStatusConditionTrue(got.Status.Conditions, chainv1.ConditionDegraded)).To(BeTrue(), "conditions: %+v", got.Status.Conditions)
		}).WithContext(ctx).Should(Succeed())
		By("the validators on the other nodes keep mining")
		h := survivorsHeight(ctx, cn, victim)
		Eventually(func() uint64 { return survivorsHeight(ctx, cn, victim) }).WithContext(ctx).Should(BeNumerically(">=", h+2))

		run(ctx, "docker", "start", victim)
		Eventually(func(g Gomega) {
			var n corev1.Node
			g.Expect(k8s.Get(ctx, client.ObjectKey{Name: victim}, &n)).To(Succeed())
			g.Expect(nodeReady(n)).To(BeTrue())
		}).WithContext(ctx).Should(Succeed())
		expectReady(ctx, cn)
		expectHealthyChain(ctx, cn, 3, bestHeight(ctx, cn))
	})

	It("drains a worker without taking more validators than the PodDisruptionBudget allows", func(ctx SpecContext) {
		on := map[string]int{}
		for _, p := range nodePods(ctx, cn, controllers.RoleValidator) {
			on[p.Spec.NodeName]++
		}
		victim := ""
		for _, w := range workers(ctx) {
			if victim == "" || on[w] > on[victim] {
				victim = w
			}
		}
		Expect(on[victim]).To(BeNumerically(">=", 1))
		var worst atomic.Int32
		watch, stop := context.WithCancel(ctx)
		defer stop()
		go func() {
			defer GinkgoRecover()
			for watch.Err() == nil {
				var pods corev1.PodList
				if k8s.List(watch, &pods, client.InNamespace(ns), client.MatchingLabels{
					controllers.LabelNetwork: cn.Name, controllers.LabelRole: controllers.RoleValidator}) == nil {
					down := int32(3)
					for _, p := range pods.Items {
						if p.DeletionTimestamp == nil && podReady(p) {
							down--
						}
					}
					if down > worst.Load() {
						worst.Store(down)
					}
				}
				time.Sleep(500 * time.Millisecond)
			}
		}()
		// The validators' volumes are local to their node: an evicted validator waits for its
		// node, so a second eviction on that node is refused for as long as the drain tries.
		cmd := exec.CommandContext(ctx, filepath.Join(root, "bin", "kubectl"), "drain", victim, "--ignore-daemonsets",
			"--delete-emptydir-data", "--pod-selector", controllers.LabelNetwork+"="+cn.Name, "--timeout=60s")
		out, err := cmd.CombinedOutput()
		GinkgoWriter.Printf("kubectl drain %s: %v\n%s\n", victim, err, out)
		Expect(string(out)).To(ContainSubstring("evicting pod"))
		if on[victim] > 1 {
			Expect(string(out)).To(ContainSubstring("violate the pod's disruption budget"))
		}
		stop()
		Expect(worst.Load()).To(BeNumerically("<=", 1), "more validators down at once than the PodDisruptionBudget allows")
		run(ctx, filepath.Join(root, "bin", "kubectl"), "uncordon", victim)
		expectReady(ctx, cn)
		expectHealthyChain(ctx, cn, 3, bestHeight(ctx, cn))
	})
})

// A user with a registry brings a node image of their own: KIND_NODE_IMAGE skips the build
// from source. The image of the suite's cluster, under another name, stands in for theirs.
var _ = Describe("a kind cluster from KIND_NODE_IMAGE", Label("nodes"), func() {
	It("is created from the named image without building one", func(ctx SpecContext) {
		const name, image = "e2e-nodeimage", "chainnet/kind-node:e2e-retagged"
		ours := strings.TrimSpace(run(ctx, "docker", "inspect", "-f", "{{ .Config.Image }}", kindCluster()+"-control-plane"))
		run(ctx, "docker", "tag", ours, image)
		kubeconfig := filepath.Join(root, "bin", "kubeconfig-"+name)
		DeferCleanup(func() {
			_ = exec.Command(filepath.Join(root, "bin", "kind"), "delete", "cluster", "--name", name).Run()
			_ = exec.Command("docker", "rmi", image).Run()
			_ = os.Remove(kubeconfig)
		})
		cmd := exec.CommandContext(ctx, filepath.Join(root, "hack", "kind", "create-cluster.sh"))
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "KIND_CLUSTER="+name, "KIND_NODE_IMAGE="+image, "KIND_WORKERS=0", "KIND_ADDONS=",
			"KIND_KUBECONFIG="+kubeconfig)
		out, err := cmd.CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), "%s", out)
		// build-node-image.sh says one of these whenever it runs.
		Expect(string(out)).NotTo(Or(ContainSubstring("is up to date"), ContainSubstring("images built")),
			"the node image was built or checked: %s", out)
		img := strings.TrimSpace(run(ctx, "docker", "inspect", "-f", "{{ .Config.Image }}", name+"-control-plane"))
		Expect(img).To(Equal(image))
	}, NodeTimeout(6*time.Minute))
})

// workers are the cluster's nodes that are not the control plane.
func workers(ctx context.Context) []string {
	GinkgoHelper()
	var nodes corev1.NodeList
	Expect(k8s.List(ctx, &nodes)).To(Succeed())
	var out []string
	for _, n := range nodes.Items {
		if _, cp := n.Labels["node-role.kubernetes.io/control-plane"]; !cp {
			out = append(out, n.Name)
		}
	}
	return out
}

func nodeReady(n corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// survivorsHeight is the best height of the network's nodes that are not on the stopped node.
func survivorsHeight(ctx context.Context, cn *chainv1.ChainNetwork, stopped string) uint64 {
	GinkgoHelper()
	var best uint64
	for _, p := range nodePods(ctx, cn, "") {
		if p.Spec.NodeName == stopped {
			continue
		}
		if s, err := nodeStatus(ctx, p); err == nil && s.Height > best {
			best = s.Height
		}
	}
	return best
}
