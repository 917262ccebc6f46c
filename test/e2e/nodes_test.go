//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
	"github.com/chainnet/chainnet/controllers"
	"github.com/chainnet/chainnet/internal/api"
)

// sample reads config/samples/<name>.yaml into namespace ns.
func sample(name, ns string) *chainv1.ChainNetwork {
	GinkgoHelper()
	b, err := os.ReadFile(filepath.Join(root, "config", "samples", name+".yaml"))
	Expect(err).NotTo(HaveOccurred())
	cn := &chainv1.ChainNetwork{}
	Expect(yaml.Unmarshal(b, cn)).To(Succeed())
	cn.Namespace = ns
	return cn
}

// nodePods lists a network's node pods (validators and observers), optionally of one role.
func nodePods(ctx context.Context, cn *chainv1.ChainNetwork, role string) []corev1.Pod {
	GinkgoHelper()
	labels := client.MatchingLabels{controllers.LabelNetwork: cn.Name}
	if role != "" {
		labels[controllers.LabelRole] = role
	}
	var pods corev1.PodList
	Expect(k8s.List(ctx, &pods, client.InNamespace(cn.Namespace), labels)).To(Succeed())
	var out []corev1.Pod
	for _, p := range pods.Items {
		if p.Labels[controllers.LabelComponent] == "node" && p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	return out
}

// nodeGet reads path from a node's HTTP API through the API server's pod proxy.
func nodeGet(ctx context.Context, p corev1.Pod, path string) ([]byte, error) {
	port := ""
	for _, c := range p.Spec.Containers {
		for _, cp := range c.Ports {
			if cp.Name == "api" {
				port = strconv.Itoa(int(cp.ContainerPort))
			}
		}
	}
	if port == "" {
		return nil, fmt.Errorf("pod %s has no api port", p.Name)
	}
	return clientset.CoreV1().Pods(p.Namespace).ProxyGet("http", p.Name, port, path, nil).DoRaw(ctx)
}

func nodeStatus(ctx context.Context, p corev1.Pod) (api.Status, error) {
	var s api.Status
	b, err := nodeGet(ctx, p, "/v1/status")
	if err != nil {
		return s, err
	}
	return s, json.Unmarshal(b, &s)
}

// blockHashAt is the hash of the node's block at height h.
func blockHashAt(ctx context.Context, p corev1.Pod, h uint64) (string, error) {
	b, err := nodeGet(ctx, p, fmt.Sprintf("/v1/blocks/%d", h))
	if err != nil {
		return "", err
	}
	var blk struct {
		Hash string `json:"hash"`
	}
	if err := json.Unmarshal(b, &blk); err != nil || blk.Hash == "" {
		return "", fmt.Errorf("block %d from %s: %q: %v", h, p.Name, b, err)
	}
	return blk.Hash, nil
}

// metric sums a counter's samples whose labels contain labelMatch (e.g. `reason="not-admitted"`).
func metric(ctx context.Context, p corev1.Pod, name, labelMatch string) (float64, error) {
	b, err := nodeGet(ctx, p, "/metrics")
	if err != nil {
		return 0, err
	}
	re := regexp.MustCompile(`^` + regexp.QuoteMeta(name) + `(\{[^}]*\})? ([0-9.e+-]+)$`)
	var sum float64
	for _, line := range strings.Split(string(b), "\n") {
		m := re.FindStringSubmatch(line)
		if m == nil || !strings.Contains(m[1], labelMatch) {
			continue
		}
		v, _ := strconv.ParseFloat(m[2], 64)
		sum += v
	}
	return sum, nil
}

// expectReady waits until the network is Ready for its current generation.
func expectReady(ctx context.Context, cn *chainv1.ChainNetwork) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		var got chainv1.ChainNetwork
		g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(cn), &got)).To(Succeed())
		g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
		g.Expect(meta.IsStatusConditionTrue(got.Status.Conditions, chainv1.ConditionReady)).To(BeTrue(),
			"conditions: %+v", got.Status.Conditions)
	}).WithContext(ctx).WithTimeout(6 * time.Minute).Should(Succeed())
}

// expectHealthyChain waits until every node of the network reports a height of at least
// minHeight and at least one peer, then checks they all hold the same block at height 3.
func expectHealthyChain(ctx context.Context, cn *chainv1.ChainNetwork, wantNodes int, minHeight uint64) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		pods := nodePods(ctx, cn, "")
		g.Expect(pods).To(HaveLen(wantNodes))
		for _, p := range pods {
			s, err := nodeStatus(ctx, p)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(s.Height).To(BeNumerically(">=", minHeight), "height of %s", p.Name)
			g.Expect(s.Peers).To(BeNumerically(">=", 1), "peers of %s", p.Name)
		}
	}).WithContext(ctx).WithTimeout(6 * time.Minute).Should(Succeed())
	Eventually(func(g Gomega) {
		hashes := map[string][]string{}
		for _, p := range nodePods(ctx, cn, "") {
			h, err := blockHashAt(ctx, p, 3)
			g.Expect(err).NotTo(HaveOccurred())
			hashes[h] = append(hashes[h], p.Name)
		}
		g.Expect(hashes).To(HaveLen(1), "blocks at height 3: %v", hashes)
	}).WithContext(ctx).WithTimeout(time.Minute).Should(Succeed())
}

// bestHeight is the highest height the network's nodes report.
func bestHeight(ctx context.Context, cn *chainv1.ChainNetwork) uint64 {
	GinkgoHelper()
	var best uint64
	for _, p := range nodePods(ctx, cn, "") {
		if s, err := nodeStatus(ctx, p); err == nil && s.Height > best {
			best = s.Height
		}
	}
	return best
}
