//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
	"github.com/chainnet/chainnet/controllers"
)

// leaderElectionID is the operator's Lease (cmd/manager).
const leaderElectionID = "chainnet-operator.chainnet.io"

// setOperatorReplicas re-installs the operator's chart with n replicas and waits for them.
func setOperatorReplicas(ctx context.Context, n int) {
	GinkgoHelper()
	run(ctx, filepath.Join(root, "bin", "helm"), "upgrade", "chainnet-operator", filepath.Join(root, "charts", "chainnet-operator"),
		"--namespace", operatorNamespace, "--reuse-values", "--set", fmt.Sprintf("replicaCount=%d", n), "--wait", "--timeout", "3m")
	Eventually(func(g Gomega) {
		var d appsv1.Deployment
		g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: "chainnet-operator"}, &d)).To(Succeed())
		g.Expect(d.Status.ReadyReplicas).To(Equal(int32(n)))
	}).WithContext(ctx).Should(Succeed())
}

// leaderPod is the operator pod holding the leader Lease (client-go's identity is
// "<hostname>_<uuid>", and a pod's hostname is its name).
func leaderPod(ctx context.Context) string {
	GinkgoHelper()
	var lease coordinationv1.Lease
	Expect(k8s.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: leaderElectionID}, &lease)).To(Succeed())
	if lease.Spec.HolderIdentity == nil {
		return ""
	}
	pod, _, _ := strings.Cut(*lease.Spec.HolderIdentity, "_")
	return pod
}

// killLeader deletes the leader pod without a grace period (as a node failure would end it) and
// waits until the other replica holds the Lease.
func killLeader(ctx context.Context) {
	GinkgoHelper()
	var old string
	Eventually(func() string { old = leaderPod(ctx); return old }).WithContext(ctx).ShouldNot(BeEmpty())
	By("killing the leader " + old)
	p := &corev1.Pod{}
	p.Name, p.Namespace = old, operatorNamespace
	start := time.Now()
	Expect(k8s.Delete(ctx, p, client.GracePeriodSeconds(0))).To(Succeed())
	// A replica stopping releases the Lease (an empty holder): wait for another to hold it.
	var next string
	Eventually(func() string { next = leaderPod(ctx); return next }).WithContext(ctx).WithTimeout(2*time.Minute).WithPolling(time.Second).
		Should(And(Not(BeEmpty()), Not(Equal(old))), "no replica took the lead over")
	GinkgoWriter.Printf("%s took the lead %s after %s was killed\n", next, time.Since(start).Round(time.Second), old)
}

var _ = Describe("two operator replicas", Label("ha"), Ordered, func() {
	const ns = "e2e-ha"
	var cn *chainv1.ChainNetwork
	BeforeAll(func(ctx SpecContext) {
		setOperatorReplicas(ctx, 2)
		freshNamespace(ctx, ns)
		cn = sample("consortium", ns)
		Expect(k8s.Create(ctx, cn)).To(Succeed())
		expectReady(ctx, cn)
	})
	AfterEach(func() { dumpOnFailure(ns) })
	AfterAll(func(ctx SpecContext) {
		releaseNamespace(ctx, ns)
		setOperatorReplicas(ctx, 1)
	})

	It("completes a key rotation whose leader is killed in the middle of it", func(ctx SpecContext) {
		pod := controllers.PodName(cn, "org1", controllers.RoleValidator, 1)
		patchSpec(ctx, cn, map[string]any{"keyRotations": []map[string]any{{"node": pod, "id": "ha-1"}}})
		Eventually(func(g Gomega) {
			var got chainv1.ChainNetwork
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(cn), &got)).To(Succeed())
			g.Expect(got.Status.KeyRotations).To(HaveLen(1))
			g.Expect(got.Status.KeyRotations[0].Phase).To(Equal(chainv1.RotationAdmitting))
		}).WithContext(ctx).WithPolling(200 * time.Millisecond).Should(Succeed())
		killLeader(ctx)
		Eventually(func(g Gomega) {
			var got chainv1.ChainNetwork
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(cn), &got)).To(Succeed())
			g.Expect(got.Status.KeyRotations).To(HaveLen(1))
			g.Expect(got.Status.KeyRotations[0].Phase).To(Equal(chainv1.RotationCompleted), "%+v", got.Status.KeyRotations[0])
		}).WithContext(ctx).WithTimeout(6 * time.Minute).Should(Succeed())
		expectReady(ctx, cn)
	})

	It("completes a scheduled upgrade whose leader is killed while the nodes run to the height", func(ctx SpecContext) {
		image := fmt.Sprintf("chainnet/chainnode:%s-e2e-ha-upgrade", version)
		run(ctx, "docker", "tag", "chainnet/chainnode:"+version, image)
		run(ctx, root+"/bin/kind", "load", "docker-image", "--name", kindCluster(), image)
		height := int64(bestHeight(ctx, cn)) + 8
		patchSpec(ctx, cn, map[string]any{"upgrades": []map[string]any{{"height": height, "image": image}}})
		By("waiting until every StatefulSet arms the halt height, then killing the leader")
		Eventually(func(g Gomega) {
			var sets appsv1.StatefulSetList
			g.Expect(k8s.List(ctx, &sets, client.InNamespace(ns), client.MatchingLabels{controllers.LabelNetwork: cn.Name})).To(Succeed())
			g.Expect(sets.Items).NotTo(BeEmpty())
			for _, s := range sets.Items {
				g.Expect(s.Spec.Template.Spec.Containers[0].Args).To(ContainElement("--halt-height"), s.Name)
			}
		}).WithContext(ctx).Should(Succeed())
		killLeader(ctx)
		Eventually(func(g Gomega) {
			var got chainv1.ChainNetwork
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(cn), &got)).To(Succeed())
			g.Expect(got.Status.UpgradedHeight).To(Equal(height))
		}).WithContext(ctx).WithTimeout(6 * time.Minute).Should(Succeed())
		Eventually(func(g Gomega) {
			pods := nodePods(ctx, cn, "")
			g.Expect(pods).To(HaveLen(int(cn.Spec.Nodes())))
			for _, p := range pods {
				g.Expect(p.Spec.Containers[0].Image).To(Equal(image), p.Name)
				s, err := nodeStatus(ctx, p)
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(s.Height).To(BeNumerically(">", uint64(height)), p.Name)
			}
		}).WithContext(ctx).WithTimeout(6 * time.Minute).Should(Succeed())
		expectReady(ctx, cn)
	})
})
