//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
	"github.com/chainnet/chainnet/controllers"
)

// csiClass is the StorageClass of the hostpath CSI driver that hack/kind/addons.sh deploys:
// snapshots, and expansion.
const csiClass = "csi-hostpath"

var volumeSnapshotList = schema.GroupVersionKind{Group: "snapshot.storage.k8s.io", Version: "v1", Kind: "VolumeSnapshotList"}

// The hostpath driver keeps a volume and its snapshots on the node that made them, so a
// restore works on that node only: this network lives on the first worker.
var _ = Describe("snapshots and volume growth on a CSI driver", Label("storage"), Ordered, func() {
	const ns = "e2e-storage"
	var cn *chainv1.ChainNetwork
	BeforeAll(func(ctx SpecContext) {
		if err := k8s.Get(ctx, client.ObjectKey{Name: csiClass}, &storagev1.StorageClass{}); err != nil {
			Skip(fmt.Sprintf("no StorageClass %s (a cluster made with KIND_ADDONS without csi): %v", csiClass, err))
		}
		freshNamespace(ctx, ns)
		cn = &chainv1.ChainNetwork{}
		cn.Name, cn.Namespace = "snap", ns
		cn.Spec.Membership = chainv1.Public
		class, size := csiClass, resource.MustParse("1Gi")
		cn.Spec.Organizations = []chainv1.Organization{{
			Name: "default", Validators: 2,
			Storage:      chainv1.StorageSpec{StorageClassName: &class, Size: &size},
			NodeSelector: map[string]string{"kubernetes.io/hostname": kindCluster() + "-worker"},
		}}
		cn.Spec.Consensus = chainv1.Consensus{TargetBlockTimeSeconds: 3, InitialDifficulty: 2000000}
		Expect(k8s.Create(ctx, cn)).To(Succeed())
	})
	AfterEach(func() { dumpOnFailure(ns) })
	AfterAll(func(ctx SpecContext) { releaseNamespace(ctx, ns) })

	It("takes a scheduled snapshot that becomes ReadyToUse; a new node restores from it and fetches only the rest; retention keeps the newest ready", func(ctx SpecContext) {
		expectReady(ctx, cn)
		expectHealthyChain(ctx, cn, 2, 20)
		patchSpec(ctx, cn, map[string]any{"snapshots": map[string]any{"schedule": "* * * * *", "retention": 2}})

		By("a snapshot of a synced validator becomes ReadyToUse")
		var ready string
		Eventually(func(g Gomega) {
			var got chainv1.ChainNetwork
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(cn), &got)).To(Succeed())
			g.Expect(got.Status.Snapshots).NotTo(BeNil())
			g.Expect(got.Status.Snapshots.LastReady).NotTo(BeEmpty())
			ready = got.Status.Snapshots.LastReady
		}).WithContext(ctx).Should(Succeed())
		Expect(snapshotsReady(ctx)[ready]).To(BeTrue(), "status.snapshots.lastReady %s is not readyToUse", ready)

		By("scaling up: the new node's claim is restored from the newest ready snapshot")
		setValidators(ctx, cn, "default", 3)
		claim := "data-" + controllers.PodName(cn, "default", controllers.RoleValidator, 2)
		var pvc corev1.PersistentVolumeClaim
		Eventually(func(g Gomega) {
			g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: claim}, &pvc)).To(Succeed())
			g.Expect(pvc.Status.Phase).To(Equal(corev1.ClaimBound))
		}).WithContext(ctx).Should(Succeed())
		Expect(pvc.Spec.DataSource).NotTo(BeNil(), "%s was not restored from a snapshot", claim)
		from := pvc.Spec.DataSource.Name
		height := snapshotHeight(ctx, from)
		Expect(height).To(BeNumerically(">=", 20), "snapshot %s", from)

		By("the new node starts at or above the snapshot's height and fetches only the blocks after it")
		var pod corev1.Pod
		var first uint64
		Eventually(func(g Gomega) {
			g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: controllers.PodName(cn, "default", controllers.RoleValidator, 2)}, &pod)).To(Succeed())
			s, err := nodeStatus(ctx, pod)
			g.Expect(err).NotTo(HaveOccurred())
			first = s.Height
		}).WithContext(ctx).Should(Succeed())
		Expect(first).To(BeNumerically(">=", height), "the restored node answered first at height %d, below its snapshot's %d", first, height)
		expectHealthyChain(ctx, cn, 3, bestHeight(ctx, cn))
		tip := bestHeight(ctx, cn)
		fetched, err := metric(ctx, pod, "chainnode_p2p_messages_total", `direction="in",type="block"`)
		Expect(err).NotTo(HaveOccurred())
		GinkgoWriter.Printf("snapshot %s at height %d; tip %d; the new node fetched %v blocks\n", from, height, tip, fetched)
		// A few blocks more than the gap: new blocks are announced to it by more than one peer. A
		// node synced from genesis would have fetched all tip blocks, more than this bound.
		Expect(fetched).To(BeNumerically("<=", float64(tip-height)+5), "fetched %v blocks for a gap of %d", fetched, tip-height)
		Expect(float64(tip-height)+5).To(BeNumerically("<", float64(tip)), "the snapshot is too low to tell a restore from a full sync")

		By("retention prunes old snapshots and keeps the newest ready one")
		Eventually(func(g Gomega) {
			g.Expect(events(ctx, ns, "SnapshotPruned")).NotTo(BeEmpty())
			var got chainv1.ChainNetwork
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(cn), &got)).To(Succeed())
			g.Expect(got.Status.Snapshots.Count).To(BeNumerically("<=", 2))
			g.Expect(snapshotsReady(ctx)).To(HaveKeyWithValue(got.Status.Snapshots.LastReady, true))
		}).WithContext(ctx).WithTimeout(5 * time.Minute).Should(Succeed())
		patchSpec(ctx, cn, map[string]any{"snapshots": nil})
	})

	It("grows a claim through a real resize when the volume fills past autoGrow.usedPercent", func(ctx SpecContext) {
		var got chainv1.ChainNetwork
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(cn), &got)).To(Succeed())
		orgs := got.Spec.Organizations
		// The hostpath driver's volumes are directories on the node's file system, which is
		// more than 1% full: every node is past the threshold.
		orgs[0].Storage.AutoGrow = &chainv1.AutoGrow{UsedPercent: 1, MaxSize: resource.MustParse("1536Mi")}
		patchSpec(ctx, cn, map[string]any{"organizations": orgs})
		claim := "data-" + controllers.PodName(cn, "default", controllers.RoleValidator, 0)
		Eventually(func(g Gomega) {
			var pvc corev1.PersistentVolumeClaim
			g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: claim}, &pvc)).To(Succeed())
			g.Expect(pvc.Spec.Resources.Requests.Storage().String()).To(Equal("1536Mi"))
			// The CSI resizer and the kubelet's NodeExpandVolume finished: the claim reports the
			// new capacity, and its PersistentVolume too.
			g.Expect(pvc.Status.Capacity.Storage().String()).To(Equal("1536Mi"), "conditions: %+v", pvc.Status.Conditions)
			var pv corev1.PersistentVolume
			g.Expect(k8s.Get(ctx, client.ObjectKey{Name: pvc.Spec.VolumeName}, &pv)).To(Succeed())
			g.Expect(pv.Spec.Capacity.Storage().String()).To(Equal("1536Mi"))
		}).WithContext(ctx).Should(Succeed())
		Expect(events(ctx, ns, "VolumeExpanded")).NotTo(BeEmpty())
		Expect(events(ctx, ns, "VolumeNotExpandable")).To(BeEmpty())
		By("at autoGrow.maxSize it stops and says so")
		Eventually(func() []string { return events(ctx, ns, "VolumeAtMaxSize") }).WithContext(ctx).ShouldNot(BeEmpty())
		expectHealthyChain(ctx, cn, 3, bestHeight(ctx, cn))
	})
})

// snapshotsReady maps the namespace's VolumeSnapshots to their status.readyToUse.
func snapshotsReady(ctx context.Context) map[string]bool {
	GinkgoHelper()
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(volumeSnapshotList)
	Expect(k8s.List(ctx, list, client.InNamespace("e2e-storage"))).To(Succeed())
	out := map[string]bool{}
	for _, s := range list.Items {
		ready, _, _ := unstructured.NestedBool(s.Object, "status", "readyToUse")
		out[s.GetName()] = ready
	}
	return out
}

// snapshotHeight reads the chain height a snapshot was taken at from the operator's
// SnapshotTaken event.
func snapshotHeight(ctx context.Context, name string) uint64 {
	GinkgoHelper()
	re := regexp.MustCompile(`^VolumeSnapshot ` + regexp.QuoteMeta(name) + ` of \S+ \(height (\d+)\)$`)
	for _, m := range events(ctx, "e2e-storage", "SnapshotTaken") {
		if g := re.FindStringSubmatch(m); g != nil {
			h, err := strconv.ParseUint(g[1], 10, 64)
			Expect(err).NotTo(HaveOccurred())
			return h
		}
	}
	Fail(fmt.Sprintf("no SnapshotTaken event for %s", name))
	return 0
}

// events lists the messages of the namespace's events with this reason.
func events(ctx context.Context, ns, reason string) []string {
	GinkgoHelper()
	var evs corev1.EventList
	Expect(k8s.List(ctx, &evs, client.InNamespace(ns))).To(Succeed())
	var out []string
	for _, e := range evs.Items {
		if e.Reason == reason {
			out = append(out, e.Message)
		}
	}
	return out
}
