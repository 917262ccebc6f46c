//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
	"github.com/chainnet/chainnet/controllers"
	"github.com/chainnet/chainnet/internal/keys"
	"github.com/chainnet/chainnet/internal/permissions"
)

var _ = Describe("a private network", Ordered, func() {
	const ns = "e2e-private"
	var cn *chainv1.ChainNetwork
	BeforeAll(func(ctx SpecContext) {
		freshNamespace(ctx, ns)
		cn = sample("private", ns)
		Expect(k8s.Create(ctx, cn)).To(Succeed())
	})
	AfterEach(func() { dumpOnFailure(ns) })
	AfterAll(func(ctx SpecContext) { releaseNamespace(ctx, ns) })

	It("becomes Ready; every node mines or follows past height 5 with peers, on one chain", func(ctx SpecContext) {
		expectReady(ctx, cn)
		expectHealthyChain(ctx, cn, 3, 5)
	})
})

var _ = Describe("a public network", Ordered, func() {
	const ns = "e2e-public"
	var cn *chainv1.ChainNetwork
	BeforeAll(func(ctx SpecContext) {
		freshNamespace(ctx, ns)
		cn = sample("public", ns)
		Expect(k8s.Create(ctx, cn)).To(Succeed())
	})
	AfterEach(func() { dumpOnFailure(ns) })
	AfterAll(func(ctx SpecContext) { releaseNamespace(ctx, ns) })

	It("becomes Ready; every node past height 5 with peers, on one chain", func(ctx SpecContext) {
		expectReady(ctx, cn)
		expectHealthyChain(ctx, cn, 4, 5)
	})

	It("brings a deleted validator back with its volume and chain, and it catches up", func(ctx SpecContext) {
		pod := nodePods(ctx, cn, controllers.RoleValidator)[0]
		var pvc corev1.PersistentVolumeClaim
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "data-" + pod.Name}, &pvc)).To(Succeed())
		before, err := nodeStatus(ctx, pod)
		Expect(err).NotTo(HaveOccurred())
		Expect(k8s.Delete(ctx, &pod)).To(Succeed())

		var again corev1.Pod
		Eventually(func(g Gomega) {
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(&pod), &again)).To(Succeed())
			g.Expect(again.UID).NotTo(Equal(pod.UID))
			g.Expect(again.Status.PodIP).NotTo(BeEmpty())
		}).WithContext(ctx).Should(Succeed())
		By("its first answer already holds the chain it had")
		var first uint64
		Eventually(func() error {
			s, err := nodeStatus(ctx, again)
			first = s.Height
			return err
		}).WithContext(ctx).Should(Succeed())
		Expect(first).To(BeNumerically(">=", before.Height))
		var pvcAfter corev1.PersistentVolumeClaim
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(&pvc), &pvcAfter)).To(Succeed())
		Expect(pvcAfter.UID).To(Equal(pvc.UID), "the pod must come back on the same volume")

		By("it catches up with the others")
		Eventually(func(g Gomega) {
			s, err := nodeStatus(ctx, again)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(s.Height + 1).To(BeNumerically(">=", bestHeight(ctx, cn)))
			g.Expect(s.Height).To(BeNumerically(">", before.Height))
		}).WithContext(ctx).Should(Succeed())
	})

	It("re-seeds a node whose store is corrupt: a fresh volume, synced from its peers", func(ctx SpecContext) {
		pod := nodePods(ctx, cn, controllers.RoleValidator)[1]
		var pvc corev1.PersistentVolumeClaim
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "data-" + pod.Name}, &pvc)).To(Succeed())
		var pv corev1.PersistentVolume
		Expect(k8s.Get(ctx, client.ObjectKey{Name: pvc.Spec.VolumeName}, &pv)).To(Succeed())
		dir := ""
		switch {
		case pv.Spec.HostPath != nil:
			dir = pv.Spec.HostPath.Path
		case pv.Spec.Local != nil:
			dir = pv.Spec.Local.Path
		}
		Expect(dir).NotTo(BeEmpty(), "the volume's path on the node")
		By("zeroing both bbolt meta pages of " + dir + "/chain.db on the kind node while the pod restarts")
		// The running node rewrites a meta page at every commit: keep zeroing them until the
		// restarted container has found them unreadable.
		run(ctx, "docker", "exec", "-d", kindCluster()+"-control-plane", "sh", "-c",
			fmt.Sprintf("for i in $(seq 300); do dd if=/dev/zero of=%s/chain.db bs=4096 count=2 conv=notrunc 2>/dev/null; sleep 0.1; done", dir))
		Expect(k8s.Delete(ctx, &pod)).To(Succeed())

		By("the node exits with the corrupt-store status, and the operator replaces its volume")
		Eventually(func(g Gomega) {
			var got chainv1.ChainNetwork
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(cn), &got)).To(Succeed())
			g.Expect(got.Status.Healing).NotTo(BeNil())
			g.Expect(got.Status.Healing.Reseeds).To(BeNumerically(">=", 1))
			var fresh corev1.PersistentVolumeClaim
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(&pvc), &fresh)).To(Succeed())
			g.Expect(fresh.UID).NotTo(Equal(pvc.UID), "the claim was not replaced")
		}).WithContext(ctx).WithTimeout(5 * time.Minute).Should(Succeed())

		By("the re-seeded node syncs the chain from its peers")
		Eventually(func(g Gomega) {
			var p corev1.Pod
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(&pod), &p)).To(Succeed())
			g.Expect(podReady(p)).To(BeTrue())
			s, err := nodeStatus(ctx, p)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(s.Height + 1).To(BeNumerically(">=", bestHeight(ctx, cn)))
			g.Expect(s.Height).To(BeNumerically(">=", 5))
		}).WithContext(ctx).Should(Succeed())
		expectReady(ctx, cn)
	})

	It("reports each node's disk use, and says when the storage class cannot grow a full volume", func(ctx SpecContext) {
		var got chainv1.ChainNetwork
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(cn), &got)).To(Succeed())
		orgs := got.Spec.Organizations
		orgs[0].Storage.AutoGrow = &chainv1.AutoGrow{UsedPercent: 1, MaxSize: resource.MustParse("2Gi")}
		patchSpec(ctx, cn, map[string]any{"organizations": orgs})
		Eventually(func(g Gomega) {
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(cn), &got)).To(Succeed())
			g.Expect(got.Status.Chain).NotTo(BeNil())
			for _, n := range got.Status.Chain.Nodes {
				g.Expect(n.DiskUsedPercent).To(BeNumerically(">=", 1), n.Name)
			}
			var evs corev1.EventList
			g.Expect(k8s.List(ctx, &evs, client.InNamespace(ns))).To(Succeed())
			found := false
			for _, e := range evs.Items {
				found = found || e.Reason == "VolumeNotExpandable"
			}
			g.Expect(found).To(BeTrue(), "no VolumeNotExpandable event (kind's local-path class cannot expand)")
		}).WithContext(ctx).Should(Succeed())
		var pvcs corev1.PersistentVolumeClaimList
		Expect(k8s.List(ctx, &pvcs, client.InNamespace(ns), client.MatchingLabels{controllers.LabelNetwork: cn.Name})).To(Succeed())
		for _, p := range pvcs.Items {
			Expect(p.Spec.Resources.Requests.Storage().String()).To(Equal("1Gi"), p.Name)
		}
		orgs[0].Storage.AutoGrow = nil
		patchSpec(ctx, cn, map[string]any{"organizations": orgs})
	})

	It("scales validators up and down, keeping the volumes of removed nodes", func(ctx SpecContext) {
		setValidators(ctx, cn, "default", 4)
		expectReady(ctx, cn)
		expectHealthyChain(ctx, cn, 5, bestHeight(ctx, cn))
		setValidators(ctx, cn, "default", 2)
		expectReady(ctx, cn)
		Eventually(func() []corev1.Pod { return nodePods(ctx, cn, controllers.RoleValidator) }).WithContext(ctx).Should(HaveLen(2))
		for _, ordinal := range []int32{2, 3} {
			name := "data-" + controllers.PodName(cn, "default", controllers.RoleValidator, ordinal)
			Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &corev1.PersistentVolumeClaim{})).To(Succeed(), name)
		}
		expectHealthyChain(ctx, cn, 3, bestHeight(ctx, cn))
	})

	It("rolls a new image out one validator at a time while blocks keep coming", func(ctx SpecContext) {
		image := fmt.Sprintf("chainnet/chainnode:%s-e2e", version)
		run(ctx, "docker", "tag", "chainnet/chainnode:"+version, image)
		run(ctx, root+"/bin/kind", "load", "docker-image", "--name", kindCluster(), image)
		start := bestHeight(ctx, cn)

		// Watch the validators while the rollout runs: never more than one down.
		var minReady atomic.Int32
		minReady.Store(100)
		watch, stop := context.WithCancel(ctx)
		defer stop()
		go func() {
			defer GinkgoRecover()
			for watch.Err() == nil {
				ready := int32(0)
				var pods corev1.PodList
				if k8s.List(watch, &pods, client.InNamespace(ns), client.MatchingLabels{
					controllers.LabelNetwork: cn.Name, controllers.LabelRole: controllers.RoleValidator}) == nil {
					for _, p := range pods.Items {
						if podReady(p) {
							ready++
						}
					}
					if ready < minReady.Load() {
						minReady.Store(ready)
					}
				}
				time.Sleep(500 * time.Millisecond)
			}
		}()
		patchSpec(ctx, cn, map[string]any{"image": image})
		Eventually(func(g Gomega) {
			pods := nodePods(ctx, cn, "")
			g.Expect(pods).To(HaveLen(3))
			for _, p := range pods {
				g.Expect(p.Spec.Containers[0].Image).To(Equal(image), p.Name)
				g.Expect(podReady(p)).To(BeTrue(), p.Name)
			}
		}).WithContext(ctx).WithTimeout(6 * time.Minute).Should(Succeed())
		stop()
		Expect(minReady.Load()).To(BeNumerically(">=", 1), "both validators were down at once during the rollout")
		expectReady(ctx, cn)
		Eventually(func() uint64 { return bestHeight(ctx, cn) }).WithContext(ctx).Should(BeNumerically(">=", start+3))
		expectHealthyChain(ctx, cn, 3, start+3)
	})

	It("applies a scheduled upgrade: every node halts at the height, then all roll to its image and go on", func(ctx SpecContext) {
		image := fmt.Sprintf("chainnet/chainnode:%s-e2e-upgrade", version)
		run(ctx, "docker", "tag", "chainnet/chainnode:"+version, image)
		run(ctx, root+"/bin/kind", "load", "docker-image", "--name", kindCluster(), image)
		height := int64(bestHeight(ctx, cn)) + 10
		patchSpec(ctx, cn, map[string]any{"upgrades": []map[string]any{{"height": height, "image": image}}})

		By(fmt.Sprintf("waiting for every node to halt at %d and the operator to record it", height))
		Eventually(func(g Gomega) {
			var got chainv1.ChainNetwork
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(cn), &got)).To(Succeed())
			g.Expect(got.Status.UpgradedHeight).To(Equal(height))
		}).WithContext(ctx).WithTimeout(6 * time.Minute).Should(Succeed())
		By("every pod rolls to the upgrade's image and the chain goes on past the height, on one chain")
		Eventually(func(g Gomega) {
			pods := nodePods(ctx, cn, "")
			g.Expect(pods).To(HaveLen(3))
			for _, p := range pods {
				g.Expect(p.Spec.Containers[0].Image).To(Equal(image), p.Name)
				g.Expect(p.Spec.Containers[0].Args).NotTo(ContainElement("--halt-height"), p.Name)
				s, err := nodeStatus(ctx, p)
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(s.Height).To(BeNumerically(">", uint64(height)+1), p.Name)
			}
		}).WithContext(ctx).WithTimeout(6 * time.Minute).Should(Succeed())
		Eventually(func(g Gomega) {
			hashes := map[string]bool{}
			for _, p := range nodePods(ctx, cn, "") {
				h, err := blockHashAt(ctx, p, uint64(height))
				g.Expect(err).NotTo(HaveOccurred())
				hashes[h] = true
			}
			g.Expect(hashes).To(HaveLen(1), "blocks at the upgrade height")
		}).WithContext(ctx).Should(Succeed())
		expectReady(ctx, cn)
	})

	It("leaves the volumes and keys, and nothing else, when the network is deleted", func(ctx SpecContext) {
		Expect(k8s.Delete(ctx, cn)).To(Succeed())
		owned := client.MatchingLabels{controllers.LabelNetwork: cn.Name}
		Eventually(func(g Gomega) {
			for _, list := range []client.ObjectList{&appsv1.StatefulSetList{}, &corev1.ServiceList{}, &corev1.ConfigMapList{},
				&policyv1.PodDisruptionBudgetList{}, &networkingv1.NetworkPolicyList{}, &corev1.PodList{}} {
				g.Expect(k8s.List(ctx, list, client.InNamespace(ns), owned)).To(Succeed())
				g.Expect(meta.LenList(list)).To(BeZero(), "%T", list)
			}
		}).WithContext(ctx).WithTimeout(3 * time.Minute).Should(Succeed())
		var pvcs corev1.PersistentVolumeClaimList
		Expect(k8s.List(ctx, &pvcs, client.InNamespace(ns), owned)).To(Succeed())
		Expect(len(pvcs.Items)).To(BeNumerically(">=", 5), "every validator's and the observer's volume")
		var secrets corev1.SecretList
		Expect(k8s.List(ctx, &secrets, client.InNamespace(ns), owned)).To(Succeed())
		Expect(len(secrets.Items)).To(BeNumerically(">=", 5), "every node's key Secret")
	})
})

var _ = Describe("a consortium", Ordered, func() {
	const ns = "e2e-consortium"
	var cn *chainv1.ChainNetwork
	var aliceFile string // a key funded in the genesis
	BeforeAll(func(ctx SpecContext) {
		freshNamespace(ctx, ns)
		cn = sample("consortium", ns)
		alice, err := keys.Generate()
		Expect(err).NotTo(HaveOccurred())
		aliceFile = filepath.Join(GinkgoT().TempDir(), "alice.json")
		Expect(keys.Save(aliceFile, alice)).To(Succeed())
		cn.Spec.Genesis.Alloc = append(cn.Spec.Genesis.Alloc, chainv1.Alloc{Address: alice.Address(), Balance: 1_000_000})
		Expect(k8s.Create(ctx, cn)).To(Succeed())
	})
	AfterEach(func() { dumpOnFailure(ns) })
	AfterAll(func(ctx SpecContext) { releaseNamespace(ctx, ns) })

	It("becomes Ready; every member node past height 5 with peers, on one chain", func(ctx SpecContext) {
		expectReady(ctx, cn)
		expectHealthyChain(ctx, cn, 5, 5)
	})

	It("shows every node in `kubectl chainnet status`, and mines a transfer sent with `kubectl chainnet send`", func(ctx SpecContext) {
		var st struct {
			Nodes []struct {
				Pod       string `json:"pod"`
				Reachable bool   `json:"reachable"`
				Ready     bool   `json:"ready"`
				Height    uint64 `json:"height"`
			} `json:"nodes"`
		}
		Expect(json.Unmarshal([]byte(plugin(ctx, "status", cn.Name, "-n", ns, "-o", "json")), &st)).To(Succeed())
		Expect(st.Nodes).To(HaveLen(5))
		for _, n := range st.Nodes {
			Expect(n.Reachable && n.Ready).To(BeTrue(), "%+v", n)
			Expect(n.Height).To(BeNumerically(">=", 5), n.Pod)
		}
		bob, err := keys.Generate()
		Expect(err).NotTo(HaveOccurred())
		Expect(plugin(ctx, "send", cn.Name, "-n", ns, "--to", bob.Address(), "--amount", "2500", "--fee", "10", "--key", aliceFile)).
			To(ContainSubstring("sent 2500"))
		Eventually(func(g Gomega) {
			for _, p := range nodePods(ctx, cn, "") {
				b, err := nodeGet(ctx, p, "/v1/accounts/"+bob.Address())
				g.Expect(err).NotTo(HaveOccurred())
				var acct struct {
					Balance uint64 `json:"balance"`
				}
				g.Expect(json.Unmarshal(b, &acct)).To(Succeed())
				g.Expect(acct.Balance).To(Equal(uint64(2500)), "bob's balance on %s", p.Name)
			}
		}).WithContext(ctx).Should(Succeed())
		Expect(plugin(ctx, "logs", cn.Name, "-n", ns, "--tail", "2")).To(ContainSubstring("[" + nodePods(ctx, cn, "")[0].Name + "]"))
	})

	var outsider *corev1.Pod
	var outsiderID string
	It("refuses a node whose key is no member's, even when its own permission file lists it", func(ctx SpecContext) {
		outsider, outsiderID = startOutsider(ctx, cn)
		members := nodePods(ctx, cn, "")
		Eventually(func(g Gomega) {
			refused := 0.0
			for _, p := range members {
				n, err := metric(ctx, p, "chainnode_p2p_handshakes_refused_total", `reason="not-`)
				g.Expect(err).NotTo(HaveOccurred())
				refused += n
			}
			g.Expect(refused).To(BeNumerically(">", 0), "members counted no refusal")
		}).WithContext(ctx).Should(Succeed())
		s, err := nodeStatus(ctx, *outsider)
		Expect(err).NotTo(HaveOccurred())
		Expect(s.Peers).To(BeZero(), "the outsider has peers")
	})

	It("admits an external node of org1 by an on-chain update; its unlisted miner key mines nothing", func(ctx SpecContext) {
		Expect(outsider).NotTo(BeNil())
		var p2pPort int32
		for _, cp := range outsider.Spec.Containers[0].Ports {
			if cp.Name == "p2p" {
				p2pPort = cp.ContainerPort
			}
		}
		var live corev1.Pod
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(outsider), &live)).To(Succeed())
		patchSpec(ctx, cn, map[string]any{"externalPeers": []map[string]any{{
			"address": fmt.Sprintf("%s:%d", live.Status.PodIP, p2pPort), "nodeId": outsiderID, "organization": "org1"}}})
		Eventually(func(g Gomega) {
			s, err := nodeStatus(ctx, live)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(s.Peers).To(BeNumerically(">=", 1), "the admitted node connects")
			g.Expect(s.Member).To(BeTrue(), "the chain lists the node")
			g.Expect(s.MinerPermitted).To(BeFalse(), "the chain does not list its miner key")
		}).WithContext(ctx).WithTimeout(3 * time.Minute).Should(Succeed())
		expectHealthyChain(ctx, cn, 5, bestHeight(ctx, cn)+2)
		mined, err := metric(ctx, live, "chainnode_miner_blocks_mined_total", "")
		Expect(err).NotTo(HaveOccurred())
		Expect(mined).To(BeZero(), "a miner whose key the chain does not list mined blocks")

		Expect(k8s.Delete(ctx, outsider)).To(Succeed())
		patchSpec(ctx, cn, map[string]any{"externalPeers": nil})
		expectReady(ctx, cn)
	})

	It("admits a new organization without restarting the other nodes", func(ctx SpecContext) {
		type seen struct {
			uid      types.UID
			restarts int32
		}
		before := map[string]seen{}
		for _, p := range nodePods(ctx, cn, "") {
			before[p.Name] = seen{p.UID, restarts(p)}
		}
		Expect(plugin(ctx, "add-org", cn.Name, "org3", "--validators", "1", "-n", ns)).To(ContainSubstring("organization org3 added"))
		var got chainv1.ChainNetwork
		expectReady(ctx, cn)
		expectHealthyChain(ctx, cn, 6, bestHeight(ctx, cn))
		Eventually(func(g Gomega) {
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(cn), &got)).To(Succeed())
			g.Expect(meta.IsStatusConditionTrue(got.Status.Conditions, chainv1.ConditionPermissionsApplied)).To(BeTrue())
		}).WithContext(ctx).Should(Succeed())
		for _, p := range nodePods(ctx, cn, "") {
			if b, ok := before[p.Name]; ok {
				Expect(p.UID).To(Equal(b.uid), "%s was re-created", p.Name)
				Expect(restarts(p)).To(Equal(b.restarts), "%s restarted", p.Name)
			}
		}
	})
	It("removes a member: its nodes leave the peer lists, its volumes and keys stay, nobody else restarts", func(ctx SpecContext) {
		before := map[string]types.UID{}
		for _, p := range nodePods(ctx, cn, "") {
			if p.Labels[controllers.LabelOrg] != "org3" {
				before[p.Name] = p.UID
			}
		}
		var got chainv1.ChainNetwork
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(cn), &got)).To(Succeed())
		var orgs []chainv1.Organization
		for _, o := range got.Spec.Organizations {
			if o.Name != "org3" {
				orgs = append(orgs, o)
			}
		}
		patchSpec(ctx, cn, map[string]any{"organizations": orgs})
		Eventually(func() []corev1.Pod { return nodePods(ctx, cn, "") }).WithContext(ctx).Should(HaveLen(5))
		expectReady(ctx, cn)
		org3 := controllers.PodName(cn, "org3", controllers.RoleValidator, 0)
		Eventually(func(g Gomega) {
			for _, p := range nodePods(ctx, cn, "") {
				b, err := nodeGet(ctx, p, "/v1/peers")
				g.Expect(err).NotTo(HaveOccurred())
				var peers []struct {
					Org string `json:"org"`
				}
				g.Expect(json.Unmarshal(b, &peers)).To(Succeed())
				for _, peer := range peers {
					g.Expect(peer.Org).NotTo(Equal("org3"), "%s still has a peer of the removed member", p.Name)
				}
			}
		}).WithContext(ctx).Should(Succeed())
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "data-" + org3}, &corev1.PersistentVolumeClaim{})).To(Succeed())
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: controllers.KeySecretName(cn, "org3", controllers.RoleValidator, 0)}, &corev1.Secret{})).To(Succeed())
		for _, p := range nodePods(ctx, cn, "") {
			Expect(p.UID).To(Equal(before[p.Name]), "%s was re-created", p.Name)
		}
		expectHealthyChain(ctx, cn, 5, bestHeight(ctx, cn))
	})
	It("rotates a validator's keys: the new identity admitted first, the chain kept, the old miner key revoked", func(ctx SpecContext) {
		pod := controllers.PodName(cn, "org1", controllers.RoleValidator, 1)
		var p corev1.Pod
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: pod}, &p)).To(Succeed())
		before, err := nodeStatus(ctx, p)
		Expect(err).NotTo(HaveOccurred())
		patchSpec(ctx, cn, map[string]any{"keyRotations": []map[string]any{{"node": pod, "id": "e2e-1"}}})

		var rot chainv1.KeyRotationStatus
		Eventually(func(g Gomega) {
			var got chainv1.ChainNetwork
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(cn), &got)).To(Succeed())
			g.Expect(got.Status.KeyRotations).To(HaveLen(1))
			rot = got.Status.KeyRotations[0]
			g.Expect(rot.Phase).To(Equal(chainv1.RotationCompleted), "%+v", rot)
		}).WithContext(ctx).WithTimeout(6 * time.Minute).Should(Succeed())
		Expect(rot.OldNodeID).To(Equal(before.NodeID))
		Expect(rot.NewNodeID).NotTo(Equal(rot.OldNodeID))
		Expect(rot.AdmittedVersion).To(BeNumerically(">", 0))

		By("the node answers with its new identity, on its old volume, with peers")
		Eventually(func(g Gomega) {
			g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: pod}, &p)).To(Succeed())
			s, err := nodeStatus(ctx, p)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(s.NodeID).To(Equal(rot.NewNodeID))
			g.Expect(s.Peers).To(BeNumerically(">=", 1))
			g.Expect(s.Height).To(BeNumerically(">=", before.Height), "the chain was kept")
		}).WithContext(ctx).Should(Succeed())

		By("the chain lists the new keys only: the old miner key left it with the swap (its earlier blocks stay valid)")
		Eventually(func(g Gomega) {
			g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: pod}, &p)).To(Succeed())
			b, err := nodeGet(ctx, p, "/v1/membership")
			g.Expect(err).NotTo(HaveOccurred())
			text := string(b)
			g.Expect(text).To(ContainSubstring(rot.NewNodeID))
			g.Expect(text).To(ContainSubstring(rot.NewMinerKey))
			g.Expect(text).NotTo(ContainSubstring(rot.OldNodeID))
			g.Expect(text).NotTo(ContainSubstring(rot.OldMinerKey))
			var cm corev1.ConfigMap
			g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: controllers.PermissionsConfigMapName(cn)}, &cm)).To(Succeed())
			g.Expect(cm.Data[controllers.PermissionsKey]).NotTo(ContainSubstring(rot.OldNodeID), "the permission file (a hint) follows")
		}).WithContext(ctx).Should(Succeed())
		Eventually(func() bool {
			return apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: cn.Name + "-key-rotation"}, &coordinationv1.Lease{}))
		}).WithContext(ctx).Should(BeTrue(), "the rotation Lease was not released")
		expectReady(ctx, cn)
		expectHealthyChain(ctx, cn, 5, bestHeight(ctx, cn)+2)
	})
})

// startOutsider runs a node that is no member: its own keys, the network's genesis and seeds,
// and a forged permission file that lists it in org1 (so it would accept itself). It runs the
// pod template of org1's validators with those swapped in, outside the operator's labels.
func startOutsider(ctx context.Context, cn *chainv1.ChainNetwork) (*corev1.Pod, string) {
	GinkgoHelper()
	nodeKey, err := keys.Generate()
	Expect(err).NotTo(HaveOccurred())
	minerKey, err := keys.Generate()
	Expect(err).NotTo(HaveOccurred())
	nk, err := keys.Marshal(nodeKey)
	Expect(err).NotTo(HaveOccurred())
	mk, err := keys.Marshal(minerKey)
	Expect(err).NotTo(HaveOccurred())
	name := cn.Name + "-outsider"
	Expect(k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: cn.Namespace},
		Data: map[string][]byte{controllers.SecretNodeKey: nk, controllers.SecretMinerKey: mk}})).To(Succeed())

	var real corev1.ConfigMap
	Expect(k8s.Get(ctx, client.ObjectKey{Namespace: cn.Namespace, Name: controllers.PermissionsConfigMapName(cn)}, &real)).To(Succeed())
	var forged permissions.File
	Expect(json.Unmarshal([]byte(real.Data[controllers.PermissionsKey]), &forged)).To(Succeed())
	for i := range forged.Organizations {
		if forged.Organizations[i].Name == "org1" {
			o := &forged.Organizations[i]
			o.Validators = append(o.Validators, permissions.Node{Name: name, NodeID: nodeKey.NodeID()})
			o.Miners = append(o.Miners, minerKey.NodeID())
		}
	}
	b, err := json.Marshal(forged)
	Expect(err).NotTo(HaveOccurred())
	Expect(k8s.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: cn.Namespace},
		Data: map[string]string{controllers.PermissionsKey: string(b)}})).To(Succeed())

	var sts appsv1.StatefulSet
	Expect(k8s.Get(ctx, client.ObjectKey{Namespace: cn.Namespace, Name: controllers.StatefulSetName(cn, "org1", controllers.RoleValidator)}, &sts)).To(Succeed())
	spec := *sts.Spec.Template.Spec.DeepCopy()
	c := &spec.Containers[0]
	for i, a := range c.Args {
		if i > 0 && c.Args[i-1] == "--advertise-addr" {
			c.Args[i] = "$(POD_IP):" + a[strings.LastIndex(a, ":")+1:]
		}
	}
	c.Env = append(c.Env, corev1.EnvVar{Name: "POD_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}})
	for i := range spec.Volumes {
		v := &spec.Volumes[i]
		switch v.Name {
		case "keys":
			v.VolumeSource = corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: name, Items: []corev1.KeyToPath{
				{Key: controllers.SecretNodeKey, Path: name + "/" + controllers.SecretNodeKey},
				{Key: controllers.SecretMinerKey, Path: name + "/" + controllers.SecretMinerKey}}}}
		case "permissions":
			v.VolumeSource = corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: name}}}
		}
	}
	spec.Volumes = append(spec.Volumes, corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: cn.Namespace, Labels: map[string]string{"app": name}}, Spec: spec}
	Expect(k8s.Create(ctx, pod)).To(Succeed())
	Eventually(func(g Gomega) {
		g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(pod), pod)).To(Succeed())
		_, err := nodeStatus(ctx, *pod)
		g.Expect(err).NotTo(HaveOccurred())
	}).WithContext(ctx).Should(Succeed())
	return pod, nodeKey.NodeID()
}

func setValidators(ctx context.Context, cn *chainv1.ChainNetwork, org string, n int32) {
	GinkgoHelper()
	var got chainv1.ChainNetwork
	Expect(k8s.Get(ctx, client.ObjectKeyFromObject(cn), &got)).To(Succeed())
	for i := range got.Spec.Organizations {
		if got.Spec.Organizations[i].Name == org {
			got.Spec.Organizations[i].Validators = n
		}
	}
	patchSpec(ctx, cn, map[string]any{"organizations": got.Spec.Organizations})
}

// patchSpec merge-patches the network's spec, as `kubectl patch --type merge` would.
func patchSpec(ctx context.Context, cn *chainv1.ChainNetwork, spec map[string]any) {
	GinkgoHelper()
	b, err := json.Marshal(map[string]any{"spec": spec})
	Expect(err).NotTo(HaveOccurred())
	Expect(k8s.Patch(ctx, cn, client.RawPatch(types.MergePatchType, b))).To(Succeed())
}

func podReady(p corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func restarts(p corev1.Pod) int32 {
	var n int32
	for _, s := range p.Status.ContainerStatuses {
		n += s.RestartCount
	}
	return n
}

// plugin runs `kubectl chainnet ARGS` (bin/kubectl-chainnet, a link to chainctl, found on PATH as
// kubectl finds plugins) and returns its standard output.
func plugin(ctx context.Context, args ...string) string {
	GinkgoHelper()
	cmd := exec.CommandContext(ctx, filepath.Join(root, "bin", "kubectl"), append([]string{"chainnet"}, args...)...)
	cmd.Env = append(os.Environ(), "PATH="+filepath.Join(root, "bin")+":"+os.Getenv("PATH"))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	Expect(err).NotTo(HaveOccurred(), "kubectl chainnet %s: %s", strings.Join(args, " "), stderr.String())
	return string(out)
}

func kindCluster() string {
	if name := os.Getenv("KIND_CLUSTER"); name != "" {
		return name
	}
	return "chainnet"
}
