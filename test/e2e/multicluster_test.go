//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
	"github.com/chainnet/chainnet/controllers"
	"github.com/chainnet/chainnet/internal/api"
)

// kube is one cluster of the multi-cluster suite: its clients and its kind node container.
type kube struct {
	name       string // kind cluster
	kubeconfig string
	c          client.Client
	cs         *kubernetes.Clientset
}

func newKube(name, kubeconfig string) *kube {
	GinkgoHelper()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	Expect(err).NotTo(HaveOccurred())
	cfg.QPS, cfg.Burst = 50, 100
	k := &kube{name: name, kubeconfig: kubeconfig}
	k.c, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	k.cs, err = kubernetes.NewForConfig(cfg)
	Expect(err).NotTo(HaveOccurred())
	return k
}

// installOperator installs the operator's chart into the cluster, as BeforeSuite does for A.
func (k *kube) installOperator(ctx context.Context) {
	GinkgoHelper()
	args := []string{"upgrade", "--install", "chainnet-operator", filepath.Join(root, "charts", "chainnet-operator"),
		"--kubeconfig", k.kubeconfig, "--namespace", operatorNamespace, "--create-namespace", "--set", "image.pullPolicy=Never",
		"--wait", "--timeout", "3m"}
	if id := os.Getenv("E2E_OPERATOR_IMAGE_ID"); id != "" {
		args = append(args, "--set-string", "podAnnotations.chainnet\\.io/image-id="+strings.TrimPrefix(id, "sha256:"))
	}
	run(ctx, filepath.Join(root, "bin", "helm"), args...)
	Eventually(func(g Gomega) {
		var d appsv1.Deployment
		g.Expect(k.c.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: "chainnet-operator"}, &d)).To(Succeed())
		g.Expect(d.Status.AvailableReplicas).To(BeNumerically(">=", 1))
	}).WithContext(ctx).Should(Succeed())
}

func (k *kube) freshNamespace(ctx context.Context, name string) {
	GinkgoHelper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := k.c.Delete(ctx, ns); err == nil || !apierrors.IsNotFound(err) {
		Eventually(func() bool {
			return apierrors.IsNotFound(k.c.Get(ctx, client.ObjectKey{Name: name}, &corev1.Namespace{}))
		}).WithContext(ctx).WithTimeout(3 * time.Minute).Should(BeTrue())
	}
	Expect(k.c.Create(ctx, ns)).To(Succeed())
}

func (k *kube) network(ctx context.Context, cn *chainv1.ChainNetwork) *chainv1.ChainNetwork {
	GinkgoHelper()
	var got chainv1.ChainNetwork
	Expect(k.c.Get(ctx, client.ObjectKeyFromObject(cn), &got)).To(Succeed())
	return &got
}

func (k *kube) patchSpec(ctx context.Context, cn *chainv1.ChainNetwork, spec map[string]any) {
	GinkgoHelper()
	b, err := json.Marshal(map[string]any{"spec": spec})
	Expect(err).NotTo(HaveOccurred())
	Expect(k.c.Patch(ctx, cn, client.RawPatch(types.MergePatchType, b))).To(Succeed())
}

func (k *kube) pods(ctx context.Context, cn *chainv1.ChainNetwork, org string) []corev1.Pod {
	GinkgoHelper()
	labels := client.MatchingLabels{controllers.LabelNetwork: cn.Name, controllers.LabelComponent: "node"}
	if org != "" {
		labels[controllers.LabelOrg] = org
	}
	var list corev1.PodList
	Expect(k.c.List(ctx, &list, client.InNamespace(cn.Namespace), labels)).To(Succeed())
	var out []corev1.Pod
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	return out
}

func (k *kube) get(ctx context.Context, p corev1.Pod, path string, out any) error {
	port := ""
	for _, c := range p.Spec.Containers {
		for _, cp := range c.Ports {
			if cp.Name == "api" {
				port = strconv.Itoa(int(cp.ContainerPort))
			}
		}
	}
	// The query goes as parameters: in the path, ProxyGet would escape its "?" and the node
	// would answer 404.
	var params map[string]string
	if i := strings.IndexByte(path, '?'); i >= 0 {
		q, err := url.ParseQuery(path[i+1:])
		if err != nil {
			return err
		}
		params = map[string]string{}
		for k := range q {
			params[k] = q.Get(k)
		}
		path = path[:i]
	}
	b, err := k.cs.CoreV1().Pods(p.Namespace).ProxyGet("http", p.Name, port, path, params).DoRaw(ctx)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

func (k *kube) status(ctx context.Context, p corev1.Pod) (api.Status, error) {
	var s api.Status
	return s, k.get(ctx, p, "/v1/status", &s)
}

// condition is the status of one of the network's conditions ("" when absent).
func (k *kube) condition(ctx context.Context, cn *chainv1.ChainNetwork, t string) string {
	c := meta.FindStatusCondition(k.network(ctx, cn).Status.Conditions, t)
	if c == nil {
		return ""
	}
	return string(c.Status) + "/" + c.Reason
}

// minedBy counts the blocks of a node's best chain up to its tip whose coinbase names one of keys.
func (k *kube) minedBy(ctx context.Context, p corev1.Pod, keys []string) (int, error) {
	s, err := k.status(ctx, p)
	if err != nil {
		return 0, err
	}
	n := 0
	for from := uint64(1); from <= s.Height; from += 100 {
		var blocks []api.Block
		if err := k.get(ctx, p, fmt.Sprintf("/v1/blocks?from=%d&limit=100", from), &blocks); err != nil {
			return 0, err
		}
		for _, b := range blocks {
			if len(b.Txs) > 0 && slices.Contains(keys, b.Txs[0].MinerKey) {
				n++
			}
		}
	}
	return n, nil
}

// kindNetworkCIDR is the subnet of Docker's kind network: the members' clusters reach each other
// from it, so each admits it to the P2P port.
func kindNetworkCIDR(ctx context.Context) string {
	GinkgoHelper()
	out, err := exec.CommandContext(ctx, "docker", "network", "inspect", "kind", "-f", "{{range .IPAM.Config}}{{.Subnet}} {{end}}").Output()
	Expect(err).NotTo(HaveOccurred())
	for _, f := range strings.Fields(string(out)) {
		if strings.Contains(f, ".") {
			return f
		}
	}
	Fail("the kind network has no IPv4 subnet: " + string(out))
	return ""
}

func nodeContainerIP(ctx context.Context, container string) string {
	GinkgoHelper()
	out, err := exec.CommandContext(ctx, "docker", "inspect", "-f", "{{(index .NetworkSettings.Networks \"kind\").IPAddress}}", container).Output()
	Expect(err).NotTo(HaveOccurred())
	return strings.TrimSpace(string(out))
}

// identity is an organization's public identity from its cluster's status: what `kubectl chainnet
// join-request` prints.
func identity(ctx context.Context, k *kube, cn *chainv1.ChainNetwork, org string) chainv1.OrganizationIdentity {
	GinkgoHelper()
	var id chainv1.OrganizationIdentity
	Eventually(func(g Gomega) {
		st := k.network(ctx, cn).Status.Governance
		g.Expect(st).NotTo(BeNil())
		i := slices.IndexFunc(st.Local, func(o chainv1.OrganizationIdentity) bool { return o.Name == org })
		g.Expect(i).To(BeNumerically(">=", 0), "no identity of %s yet", org)
		id = st.Local[i]
		g.Expect(id.Endpoints).NotTo(BeEmpty(), "the endpoints of %s are not known yet", org)
	}).WithContext(ctx).Should(Succeed())
	return id
}

// A consortium across two clusters, as two independent members would run it: org1 founds it in
// cluster A; org2 joins from cluster B with the genesis and endpoints org1 publishes, and is
// admitted by org1's vote; org3 (in A) needs both votes; org2 is removed by the others' votes;
// a partition of B heals to one chain; an observer started afterwards syncs the whole history.
// Each cluster's admin keys stay in it: votes are spec fields its operator signs.
var _ = Describe("a consortium across two clusters", Label("multicluster"), Ordered, func() {
	const ns = "e2e-multicluster"
	var a, b *kube
	var netA, netB *chainv1.ChainNetwork
	var org2Miners []string
	figures := map[string]string{}
	peerKubeconfig := os.Getenv("KUBECONFIG_PEER")

	BeforeAll(func(ctx SpecContext) {
		if peerKubeconfig == "" {
			Skip("KUBECONFIG_PEER is not set: make e2e-multicluster creates the second cluster")
		}
		a = newKube(os.Getenv("KIND_CLUSTER"), os.Getenv("KUBECONFIG"))
		b = newKube(os.Getenv("KIND_PEER_CLUSTER"), peerKubeconfig)
		b.installOperator(ctx)
		a.freshNamespace(ctx, ns)
		b.freshNamespace(ctx, ns)
	}, NodeTimeout(6*time.Minute))
	AfterAll(func() {
		for k, v := range figures {
			AddReportEntry(k, v)
			GinkgoWriter.Printf("FIGURE %s: %s\n", k, v)
		}
		if b != nil {
			dumpOnFailure(ns)
		}
	})
	AfterEach(func() { dumpOnFailure(ns) })

	cidr := ""
	member := func(name string, validators int32, observers int32) chainv1.Organization {
		return chainv1.Organization{Name: name, Validators: validators, Observers: observers, MinerThreads: 1}
	}

	It("org1 founds the network in cluster A, its nodes reachable from other clusters", func(ctx SpecContext) {
		cidr = kindNetworkCIDR(ctx)
		netA = &chainv1.ChainNetwork{ObjectMeta: metav1.ObjectMeta{Name: "corp", Namespace: ns}, Spec: chainv1.ChainNetworkSpec{
			Membership:    chainv1.Consortium,
			Organizations: []chainv1.Organization{member("org1", 1, 0)},
			Consensus:     chainv1.Consensus{TargetBlockTimeSeconds: 5, InitialDifficulty: 4_000_000},
			P2P:           chainv1.P2PSpec{Expose: chainv1.P2PExposureNodePort, AllowedCIDRs: []string{cidr}},
			Image:         "chainnet/chainnode:" + version,
		}}
		Expect(a.c.Create(ctx, netA)).To(Succeed())
		Eventually(func(g Gomega) {
			pods := a.pods(ctx, netA, "")
			g.Expect(pods).To(HaveLen(1))
			s, err := a.status(ctx, pods[0])
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(s.Height).To(BeNumerically(">=", 3))
		}).WithContext(ctx).WithTimeout(6 * time.Minute).Should(Succeed())
		Eventually(func() string { return a.condition(ctx, netA, chainv1.ConditionAdmitted) }).
			WithContext(ctx).WithTimeout(time.Minute).Should(Equal("True/Member"))
	})

	var joinedAt time.Time
	It("org2 joins from cluster B with the genesis and endpoints org1 publishes, and waits for admission", func(ctx SpecContext) {
		var gen corev1.ConfigMap
		Expect(a.c.Get(ctx, client.ObjectKey{Namespace: ns, Name: controllers.GenesisConfigMapName(netA)}, &gen)).To(Succeed())
		org1 := identity(ctx, a, netA, "org1")
		netB = &chainv1.ChainNetwork{ObjectMeta: metav1.ObjectMeta{Name: "corp", Namespace: ns}, Spec: chainv1.ChainNetworkSpec{
			Membership:    chainv1.Consortium,
			Organizations: []chainv1.Organization{member("org2", 1, 0)},
			Join: &chainv1.JoinSpec{Genesis: gen.Data[controllers.GenesisKey], GenesisHash: gen.Annotations[controllers.AnnotationGenesisHash],
				BootstrapPeers: org1.Endpoints},
			P2P:   chainv1.P2PSpec{Expose: chainv1.P2PExposureNodePort, AllowedCIDRs: []string{cidr}},
			Image: "chainnet/chainnode:" + version,
		}}
		Expect(b.c.Create(ctx, netB)).To(Succeed())
		joinedAt = time.Now()
		Eventually(func(g Gomega) {
			g.Expect(b.network(ctx, netB).Status.GenesisHash).To(Equal(gen.Annotations[controllers.AnnotationGenesisHash]))
			pods := b.pods(ctx, netB, "")
			g.Expect(pods).To(HaveLen(1))
			s, err := b.status(ctx, pods[0])
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(s.Member).To(BeFalse())
			g.Expect(s.Peers).To(BeZero(), "org1 admits org2's node before the vote")
		}).WithContext(ctx).WithTimeout(5 * time.Minute).Should(Succeed())
		Consistently(func() int {
			s, _ := b.status(ctx, b.pods(ctx, netB, "")[0])
			return s.Peers
		}, 20*time.Second, 2*time.Second).Should(BeZero())
	})

	It("org1's vote admits org2: its node syncs, mines, and its blocks are on every node of both clusters", func(ctx SpecContext) {
		org2 := identity(ctx, b, netB, "org2")
		org2Miners = org2.Miners
		before := bestHeightOf(ctx, a, netA)
		proposed := time.Now()
		a.patchSpec(ctx, netA, map[string]any{"governance": map[string]any{"proposals": []any{
			map[string]any{"name": "admit-org2", "addOrganization": org2}}}})
		Eventually(func() string { return b.condition(ctx, netB, chainv1.ConditionAdmitted) }).
			WithContext(ctx).WithTimeout(5 * time.Minute).Should(Equal("True/Member"))
		admitted := time.Now()
		var seq int64
		Eventually(func(g Gomega) {
			st := a.network(ctx, netA).Status.Governance
			g.Expect(st).NotTo(BeNil())
			g.Expect(slices.ContainsFunc(st.Organizations, func(o chainv1.MemberOrganization) bool { return o.Name == "org2" })).To(BeTrue())
			seq = st.Seq
		}).WithContext(ctx).Should(Succeed())
		Expect(seq).To(Equal(int64(1)))
		Eventually(func(g Gomega) {
			for _, k := range []*kube{a, b} {
				for _, p := range k.pods(ctx, map[*kube]*chainv1.ChainNetwork{a: netA, b: netB}[k], "") {
					n, err := k.minedBy(ctx, p, org2Miners)
					g.Expect(err).NotTo(HaveOccurred())
					g.Expect(n).To(BeNumerically(">=", 1), "no block of org2's miner on %s/%s", k.name, p.Name)
				}
			}
		}).WithContext(ctx).WithTimeout(6 * time.Minute).Should(Succeed())
		synced := time.Now()
		after := bestHeightOf(ctx, a, netA)
		figures["proposal to effect (org2's admission)"] = fmt.Sprintf("%.0f s, %d block(s) mined meanwhile", admitted.Sub(proposed).Seconds(), after-before)
		figures["join to admitted and mining (org2)"] = fmt.Sprintf("%.0f s from creating the network in cluster B (%.0f s after the vote)", synced.Sub(joinedAt).Seconds(), synced.Sub(proposed).Seconds())
		expectOneChain(ctx, map[*kube]*chainv1.ChainNetwork{a: netA, b: netB})
	})

	var org3Proposal string
	It("org3 joins in cluster A: with one of the two approvals it needs, it stays out", func(ctx SpecContext) {
		got := a.network(ctx, netA)
		orgs := append(got.Spec.Organizations, member("org3", 1, 0))
		a.patchSpec(ctx, netA, map[string]any{"organizations": orgs})
		Eventually(func(g Gomega) {
			st := a.network(ctx, netA).Status.Governance
			g.Expect(st).NotTo(BeNil())
			i := slices.IndexFunc(st.Proposals, func(p chainv1.ProposalStatus) bool { return p.Kind == "add-org" && p.Organization == "org3" })
			g.Expect(i).To(BeNumerically(">=", 0), "no proposal to admit org3 yet")
			g.Expect(st.Proposals[i].Approvals).To(Equal([]string{"org1"}))
			g.Expect(st.Proposals[i].Needed).To(Equal(int32(2)))
			org3Proposal = st.Proposals[i].ID
		}).WithContext(ctx).WithTimeout(5 * time.Minute).Should(Succeed())
		Eventually(func() string { return a.condition(ctx, netA, chainv1.ConditionAdmitted) }).
			WithContext(ctx).WithTimeout(time.Minute).Should(Equal("False/AwaitingAdmission"))
		Consistently(func(g Gomega) {
			for _, p := range a.pods(ctx, netA, "org3") {
				s, err := a.status(ctx, p)
				if err != nil {
					continue // starting
				}
				g.Expect(s.Member).To(BeFalse())
				g.Expect(s.MinerPermitted).To(BeFalse())
				g.Expect(s.Peers).To(BeZero(), "a member admitted org3's node before the vote")
			}
		}, 30*time.Second, 3*time.Second).Should(Succeed())
		for _, p := range a.pods(ctx, netA, "org1") {
			n, err := a.minedBy(ctx, p, identity(ctx, a, netA, "org3").Miners)
			Expect(err).NotTo(HaveOccurred())
			Expect(n).To(BeZero(), "a block of org3's miner on the chain before its admission")
		}
	})

	It("org2's approval, declared in cluster B, lets org3 in", func(ctx SpecContext) {
		approved := time.Now()
		b.patchSpec(ctx, netB, map[string]any{"governance": map[string]any{"approvals": []string{org3Proposal}}})
		Eventually(func() string { return a.condition(ctx, netA, chainv1.ConditionAdmitted) }).
			WithContext(ctx).WithTimeout(5 * time.Minute).Should(Equal("True/Member"))
		figures["approval to effect (org3's admission)"] = fmt.Sprintf("%.0f s", time.Since(approved).Seconds())
		Eventually(func(g Gomega) {
			for _, p := range a.pods(ctx, netA, "org3") {
				s, err := a.status(ctx, p)
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(s.Member).To(BeTrue())
				g.Expect(s.Peers).To(BeNumerically(">=", 1))
			}
		}).WithContext(ctx).WithTimeout(5 * time.Minute).Should(Succeed())
		expectOneChain(ctx, map[*kube]*chainv1.ChainNetwork{a: netA, b: netB})
	})

	It("cluster B cut off from cluster A and reconnected: one chain again", func(ctx SpecContext) {
		// Every packet between the two clusters' nodes is dropped in B's node container. Not
		// `docker network disconnect`: B's control plane lives on its node's address on that
		// network, and this engine can reconnect a container with its old address only on a
		// network whose IPv4 subnet was configured by hand, which kind's is not.
		node := b.name + "-control-plane"
		other := nodeContainerIP(ctx, a.name+"-control-plane")
		partition(ctx, node, other)
		DeferCleanup(func(ctx SpecContext) { heal(ctx, node) })
		cut := time.Now()
		// Both sides mine on their own until their chains differ.
		Eventually(func() bool { return forked(ctx, map[*kube]*chainv1.ChainNetwork{a: netA, b: netB}) }).
			WithContext(ctx).WithTimeout(4*time.Minute).WithPolling(5*time.Second).Should(BeTrue(), "the two sides did not diverge while cut off")
		figures["partition: time apart until the chains diverged"] = fmt.Sprintf("%.0f s", time.Since(cut).Seconds())
		heal(ctx, node)
		healed := time.Now()
		expectOneChain(ctx, map[*kube]*chainv1.ChainNetwork{a: netA, b: netB})
		figures["partition heal to one chain"] = fmt.Sprintf("%.0f s after reconnecting", time.Since(healed).Seconds())
	})

	It("org2 is removed by the others' votes: its nodes leave every peer list and mine no more", func(ctx SpecContext) {
		a.patchSpec(ctx, netA, map[string]any{"governance": map[string]any{"proposals": []any{
			map[string]any{"name": "admit-org2", "addOrganization": identity(ctx, b, netB, "org2")},
			map[string]any{"name": "remove-org2", "removeOrganization": "org2"}}}})
		Eventually(func() string { return b.condition(ctx, netB, chainv1.ConditionAdmitted) }).
			WithContext(ctx).WithTimeout(5 * time.Minute).Should(Equal("False/AwaitingAdmission"))
		Eventually(func(g Gomega) {
			for _, p := range a.pods(ctx, netA, "") {
				var peers []api.Peer
				g.Expect(a.get(ctx, p, "/v1/peers", &peers)).To(Succeed())
				for _, q := range peers {
					g.Expect(q.Org).NotTo(Equal("org2"), "%s still has org2's node as a peer", p.Name)
				}
			}
			s, err := b.status(ctx, b.pods(ctx, netB, "")[0])
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(s.MinerPermitted).To(BeFalse())
		}).WithContext(ctx).WithTimeout(3 * time.Minute).Should(Succeed())
		mined := func() int {
			n, err := a.minedBy(ctx, a.pods(ctx, netA, "org1")[0], org2Miners)
			Expect(err).NotTo(HaveOccurred())
			return n
		}
		before := mined()
		height := bestHeightOf(ctx, a, netA)
		Eventually(func() uint64 { return bestHeightOf(ctx, a, netA) }).WithContext(ctx).WithTimeout(3 * time.Minute).
			Should(BeNumerically(">=", height+3))
		Expect(mined()).To(Equal(before), "a block of org2's miner after its removal")
	})

	It("an observer started from an empty volume afterwards syncs the whole history, org2's blocks included", func(ctx SpecContext) {
		got := a.network(ctx, netA)
		orgs := got.Spec.Organizations
		orgs[0].Observers = 1
		a.patchSpec(ctx, netA, map[string]any{"organizations": orgs})
		Eventually(func(g Gomega) {
			obs := nodePodsOfRole(ctx, a, netA, controllers.RoleObserver)
			g.Expect(obs).To(HaveLen(1))
			s, err := a.status(ctx, obs[0])
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(s.Height).To(BeNumerically(">=", bestHeightOf(ctx, a, netA)-1))
			n, err := a.minedBy(ctx, obs[0], org2Miners)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(n).To(BeNumerically(">=", 1), "the observer's chain has none of org2's blocks")
		}).WithContext(ctx).WithTimeout(6 * time.Minute).Should(Succeed())
		expectOneChain(ctx, map[*kube]*chainv1.ChainNetwork{a: netA})
	})
})

// partition drops every packet between a kind node container and another address, both ways and
// whether the node itself or a pod on it sends or receives it.
func partition(ctx context.Context, container, other string) {
	GinkgoHelper()
	rules := fmt.Sprintf(`table inet e2e-partition {
  chain input { type filter hook input priority -10; ip saddr %[1]s drop; }
  chain forward { type filter hook forward priority -10; ip saddr %[1]s drop; ip daddr %[1]s drop; }
  chain output { type filter hook output priority -10; ip daddr %[1]s drop; }
}`, other)
	cmd := exec.CommandContext(ctx, "docker", "exec", "-i", container, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(rules)
	out, err := cmd.CombinedOutput()
	Expect(err).NotTo(HaveOccurred(), "nft: %s", out)
}

// heal removes what partition added (nothing when there is nothing to remove).
func heal(ctx context.Context, container string) {
	_ = exec.CommandContext(ctx, "docker", "exec", container, "nft", "delete", "table", "inet", "e2e-partition").Run()
}

// forked reports whether two nodes of the networks hold different blocks at the same height.
func forked(ctx context.Context, nets map[*kube]*chainv1.ChainNetwork) bool {
	GinkgoHelper()
	common := uint64(1 << 62)
	type nodeRef struct {
		k *kube
		p corev1.Pod
	}
	var nodes []nodeRef
	for k, cn := range nets {
		for _, p := range k.pods(ctx, cn, "") {
			if s, err := k.status(ctx, p); err == nil {
				common = min(common, s.Height)
				nodes = append(nodes, nodeRef{k, p})
			}
		}
	}
	seen := map[string]bool{}
	for _, n := range nodes {
		var blk api.Block
		if n.k.get(ctx, n.p, fmt.Sprintf("/v1/blocks/%d", common), &blk) == nil {
			seen[blk.Hash] = true
		}
	}
	return len(seen) > 1
}

func nodePodsOfRole(ctx context.Context, k *kube, cn *chainv1.ChainNetwork, role string) []corev1.Pod {
	var out []corev1.Pod
	for _, p := range k.pods(ctx, cn, "") {
		if p.Labels[controllers.LabelRole] == role {
			out = append(out, p)
		}
	}
	return out
}

func bestHeightOf(ctx context.Context, k *kube, cn *chainv1.ChainNetwork) uint64 {
	var best uint64
	for _, p := range k.pods(ctx, cn, "") {
		if s, err := k.status(ctx, p); err == nil && s.Height > best {
			best = s.Height
		}
	}
	return best
}

// expectOneChain waits until every node of the networks holds the same block at the lowest
// height any of them reports (and that height moves past where it was).
func expectOneChain(ctx context.Context, nets map[*kube]*chainv1.ChainNetwork) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		type nodeRef struct {
			k *kube
			p corev1.Pod
		}
		var nodes []nodeRef
		common := uint64(1 << 62)
		for k, cn := range nets {
			for _, p := range k.pods(ctx, cn, "") {
				s, err := k.status(ctx, p)
				g.Expect(err).NotTo(HaveOccurred())
				common = min(common, s.Height)
				nodes = append(nodes, nodeRef{k, p})
			}
		}
		g.Expect(common).To(BeNumerically(">", 0))
		hashes := map[string][]string{}
		for _, n := range nodes {
			var blk api.Block
			g.Expect(n.k.get(ctx, n.p, fmt.Sprintf("/v1/blocks/%d", common), &blk)).To(Succeed())
			hashes[blk.Hash] = append(hashes[blk.Hash], n.k.name+"/"+n.p.Name)
		}
		g.Expect(hashes).To(HaveLen(1), "blocks at height %d: %v", common, hashes)
	}).WithContext(ctx).WithTimeout(5 * time.Minute).Should(Succeed())
}
