//go:build e2e

package e2e

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
	"github.com/chainnet/chainnet/controllers"
)

// The kind cluster enforces NetworkPolicies with kube-router (hack/kind/addons.sh). A private
// network's policy admits to the P2P port only the network's own node pods and the
// externalPeers' CIDRs; the API port stays open to clients (README, "What the operator creates").
var _ = Describe("NetworkPolicies enforced", Label("netpol"), Ordered, func() {
	const ns, otherNS, publicNS = "e2e-netpol", "e2e-netpol-other", "e2e-netpol-public"
	var private, public *chainv1.ChainNetwork
	var outsider, neighbour *corev1.Pod
	BeforeAll(func(ctx SpecContext) {
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: "kube-system", Name: "kube-router"}, &appsv1.DaemonSet{}); err != nil {
			Skip(fmt.Sprintf("no policy engine (a cluster made with KIND_ADDONS without netpol): %v", err))
		}
		for _, n := range []string{ns, otherNS, publicNS} {
			freshNamespace(ctx, n)
		}
		private = sample("private", ns)
		private.Spec.Organizations[0].Observers = 0
		Expect(k8s.Create(ctx, private)).To(Succeed())
		public = sample("public", publicNS)
		public.Spec.Organizations[0].Validators, public.Spec.Organizations[0].Observers = 1, 0
		Expect(k8s.Create(ctx, public)).To(Succeed())
		outsider = prober(ctx, otherNS, "outsider")
		// In the network's namespace, but not one of its nodes.
		neighbour = prober(ctx, ns, "neighbour")
	})
	AfterEach(func() { dumpOnFailure(ns, otherNS, publicNS) })
	AfterAll(func(ctx SpecContext) {
		for _, n := range []string{ns, otherNS, publicNS} {
			releaseNamespace(ctx, n)
		}
	})

	It("lets the network's own nodes connect over P2P, on different nodes of the cluster", func(ctx SpecContext) {
		expectReady(ctx, private)
		expectHealthyChain(ctx, private, 2, 3)
		pods := nodePods(ctx, private, controllers.RoleValidator)
		Expect(pods[0].Spec.NodeName).NotTo(Equal(pods[1].Spec.NodeName), "both validators on one node: the test proves less")
	})

	It("refuses TCP to the P2P port from another namespace's pod and from a pod that is no node; the API port stays open", func(ctx SpecContext) {
		target := nodePods(ctx, private, controllers.RoleValidator)[0]
		Eventually(func() bool { return canConnect(ctx, outsider, target.Status.PodIP, portOf(target, "p2p")) }).
			WithContext(ctx).Should(BeFalse(), "another namespace's pod reached %s's P2P port", target.Name)
		Consistently(func() bool { return canConnect(ctx, outsider, target.Status.PodIP, portOf(target, "p2p")) }).
			WithContext(ctx).WithTimeout(15 * time.Second).WithPolling(5 * time.Second).Should(BeFalse())
		Expect(canConnect(ctx, neighbour, target.Status.PodIP, portOf(target, "p2p"))).To(BeFalse(),
			"a pod of the namespace that is not a node of the network reached the P2P port")
		Expect(canConnect(ctx, outsider, target.Status.PodIP, portOf(target, "api"))).To(BeTrue(),
			"the API port is closed to another namespace's pod")
	})

	It("admits an externalPeers[].cidr to the P2P port", func(ctx SpecContext) {
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(outsider), outsider)).To(Succeed())
		patchSpec(ctx, private, map[string]any{"externalPeers": []any{map[string]any{
			"address": "192.0.2.10:9333", "nodeId": strings.Repeat("ab", 32), "cidr": outsider.Status.PodIP + "/32"}}})
		target := nodePods(ctx, private, controllers.RoleValidator)[0]
		Eventually(func() bool { return canConnect(ctx, outsider, target.Status.PodIP, portOf(target, "p2p")) }).
			WithContext(ctx).Should(BeTrue(), "the external peer's CIDR %s was not admitted", outsider.Status.PodIP)
		Expect(canConnect(ctx, neighbour, target.Status.PodIP, portOf(target, "p2p"))).To(BeFalse(), "the CIDR admitted more than itself")
		patchSpec(ctx, private, map[string]any{"externalPeers": nil})
	})

	It("leaves a public network's P2P port open to anyone", func(ctx SpecContext) {
		expectReady(ctx, public)
		target := nodePods(ctx, public, controllers.RoleValidator)[0]
		Eventually(func() bool { return canConnect(ctx, outsider, target.Status.PodIP, portOf(target, "p2p")) }).
			WithContext(ctx).Should(BeTrue())
	})
})

// prober starts a pod that can open TCP connections (bash's /dev/tcp) and waits until it runs.
// Its image is kube-router's, our Debian root, already on every node: nothing is pulled.
func prober(ctx context.Context, ns, name string) *corev1.Pod {
	GinkgoHelper()
	var ds appsv1.DaemonSet
	Expect(k8s.Get(ctx, client.ObjectKey{Namespace: "kube-system", Name: "kube-router"}, &ds)).To(Succeed(),
		"kube-router is not deployed (KIND_ADDONS without netpol?)")
	zero := int64(0)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": name}},
		Spec: corev1.PodSpec{TerminationGracePeriodSeconds: &zero, Containers: []corev1.Container{{
			Name: "probe", Image: ds.Spec.Template.Spec.Containers[0].Image, ImagePullPolicy: corev1.PullNever,
			Command: []string{"sleep", "infinity"}}}}}
	Expect(k8s.Create(ctx, pod)).To(Succeed())
	Eventually(func(g Gomega) {
		g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(pod), pod)).To(Succeed())
		g.Expect(pod.Status.Phase).To(Equal(corev1.PodRunning))
	}).WithContext(ctx).Should(Succeed())
	return pod
}

// canConnect: a TCP connection from the pod to ip:port opens within 3 seconds. A failure of
// kubectl exec itself fails the spec, so that it is never taken for a refused connection.
func canConnect(ctx context.Context, from *corev1.Pod, ip string, port int32) bool {
	GinkgoHelper()
	Expect(ip).NotTo(BeEmpty())
	cmd := exec.CommandContext(ctx, filepath.Join(root, "bin", "kubectl"), "exec", "-n", from.Namespace, from.Name, "--",
		"timeout", "3", "bash", "-c", fmt.Sprintf("exec 3<>/dev/tcp/%s/%d && echo connected", ip, port))
	b, err := cmd.CombinedOutput()
	out := strings.TrimSpace(string(b))
	GinkgoWriter.Printf("%s -> %s:%d: %v %s\n", from.Name, ip, port, err, out)
	if err == nil {
		Expect(out).To(Equal("connected"))
		return true
	}
	// timeout's 124: no answer (dropped); bash's connect errors: refused or unreachable.
	var exit *exec.ExitError
	Expect(errors.As(err, &exit)).To(BeTrue(), "kubectl exec: %v", err)
	Expect(exit.ExitCode() == 124 || strings.Contains(out, "bash: connect:")).To(BeTrue(), "kubectl exec: %v: %s", err, out)
	return false
}

// portOf is the container port of that name on a node pod.
func portOf(p corev1.Pod, name string) int32 {
	GinkgoHelper()
	for _, c := range p.Spec.Containers {
		for _, cp := range c.Ports {
			if cp.Name == name {
				return cp.ContainerPort
			}
		}
	}
	Fail(fmt.Sprintf("pod %s has no port %s", p.Name, name))
	return 0
}
