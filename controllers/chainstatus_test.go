package controllers_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
	"github.com/chainnet/chainnet/controllers"
	"github.com/chainnet/chainnet/internal/genesis"
	"github.com/chainnet/chainnet/internal/node"
)

const statusAPIPort = 18545

// startNode runs a real chainnode whose API listens on ip:statusAPIPort, standing in for a pod
// at that IP (envtest runs no kubelet; loopback addresses 127.0.0.x are all local); configure
// adjusts its configuration.
func startNode(ip, genesisPath string, configure func(*node.Config)) *node.Node {
	cfg := node.Config{DataDir: GinkgoT().TempDir(), GenesisPath: genesisPath, APIAddr: fmt.Sprintf("%s:%d", ip, statusAPIPort)}
	configure(&cfg)
	n, err := node.New(cfg)
	Expect(err).NotTo(HaveOccurred())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = n.Run(ctx) }()
	DeferCleanup(func() { cancel(); <-done })
	return n
}

// runNode runs a real mining chainnode at ip.
func runNode(ip, genesisPath string) {
	startNode(ip, genesisPath, func(c *node.Config) { c.Mine, c.MinerThreads = true, 1 })
}

func writeTestGenesis() string {
	f := &genesis.File{NetworkID: "status", ChainID: 5, Timestamp: uint64(time.Now().Unix()) - 100,
		Membership: genesis.Public, Consensus: genesis.DefaultConsensus()}
	f.Consensus.InitialDifficulty, f.Consensus.MinDifficulty, f.Consensus.TargetBlockTimeSeconds = 2000, 1, 1
	b, err := f.Marshal()
	Expect(err).NotTo(HaveOccurred())
	path := filepath.Join(GinkgoT().TempDir(), "genesis.json")
	Expect(os.WriteFile(path, b, 0o644)).To(Succeed())
	return path
}

// fakePod registers a pod of the network at ip (the object only: no kubelet runs it).
func fakePod(ctx context.Context, cn *chainv1.ChainNetwork, name, ip string) {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: cn.Namespace,
		Labels: map[string]string{controllers.LabelNetwork: cn.Name, controllers.LabelComponent: "node", controllers.LabelOrg: "default"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "chainnode", Image: cn.Spec.Image}}}}
	Expect(k8s.Create(ctx, p)).To(Succeed())
	p.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}}}
	Expect(k8s.Status().Update(ctx, p)).To(Succeed())
}

// pokeNetwork touches an annotation so the reconciler runs now rather than at its next refresh.
func pokeNetwork(ctx context.Context, cn *chainv1.ChainNetwork) {
	_ = update(ctx, cn, func(c *chainv1.ChainNetwork) {
		if c.Annotations == nil {
			c.Annotations = map[string]string{}
		}
		c.Annotations["test/poke"] = time.Now().String()
	})
}

var _ = Describe("Chain figures in status", func() {
	ctx := context.Background()

	It("reads height, peers and hash rate from the nodes and reports a chain split as Degraded", func() {
		ns := newNamespace()
		cn := sample("public", ns)
		cn.Spec.Organizations[0].Validators, cn.Spec.Organizations[0].Observers = 2, 0
		cn.Spec.Service.APIPort = statusAPIPort
		Expect(k8s.Create(ctx, cn)).To(Succeed())
		// Two nodes that never peer: each mines its own chain from the same genesis.
		gen := writeTestGenesis()
		runNode("127.0.0.2", gen)
		runNode("127.0.0.3", gen)
		fakePod(ctx, cn, "public-default-validator-0", "127.0.0.2")
		fakePod(ctx, cn, "public-default-validator-1", "127.0.0.3")

		poke := func() { pokeNetwork(ctx, cn) }
		Eventually(func(g Gomega) {
			poke()
			st := fetch(ctx, cn).Status
			g.Expect(st.Chain).NotTo(BeNil())
			g.Expect(st.Chain.Nodes).To(HaveLen(2))
			for _, n := range st.Chain.Nodes {
				g.Expect(n.Reachable).To(BeTrue())
			}
			g.Expect(st.Chain.CommonHeight).To(BeNumerically(">=", 2))
			g.Expect(st.Chain.HashRate).To(BeNumerically(">", 0))
			g.Expect(st.Chain.Agree).To(BeFalse(), "independent miners disagree at the common height")
			d := meta.FindStatusCondition(st.Conditions, chainv1.ConditionDegraded)
			g.Expect(d).NotTo(BeNil())
			g.Expect(d.Reason).To(Equal("ChainSplit"))
		}, 60*time.Second, time.Second).Should(Succeed())
	})
})
