package controllers_test

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
	"github.com/chainnet/chainnet/controllers"
)

var snapshotList = schema.GroupVersionKind{Group: "snapshot.storage.k8s.io", Version: "v1", Kind: "VolumeSnapshotList"}

func networkSnapshots(ctx context.Context, cn *chainv1.ChainNetwork) []unstructured.Unstructured {
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(snapshotList)
	Expect(k8s.List(ctx, list, client.InNamespace(cn.Namespace), client.MatchingLabels{controllers.LabelNetwork: cn.Name})).To(Succeed())
	return list.Items
}

var _ = Describe("Volume snapshots", func() {
	ctx := context.Background()

	It("snapshots a synced validator's volume on schedule, keeps the retention, and restores new nodes from it", func() {
		ns := newNamespace()
		cn := sample("public", ns)
		cn.Spec.Organizations[0].Validators, cn.Spec.Organizations[0].Observers = 1, 0
		cn.Spec.Service.APIPort = statusAPIPort
		class := "csi-snapclass"
		cn.Spec.Snapshots = &chainv1.SnapshotSpec{Schedule: "0 0 1 1 *", Retention: 2, VolumeSnapshotClassName: &class}
		Expect(k8s.Create(ctx, cn)).To(Succeed())
		gen := writeTestGenesis()
		runNode("127.0.0.61", gen)
		fakePod(ctx, cn, "public-default-validator-0", "127.0.0.61")
		poke := func() { pokeNetwork(ctx, cn) }

		By("the first snapshot is due at once: of the synced validator's claim, in the class asked for")
		var first unstructured.Unstructured
		Eventually(func(g Gomega) {
			poke()
			snaps := networkSnapshots(ctx, cn)
			g.Expect(snaps).To(HaveLen(1))
			first = snaps[0]
		}, 40*time.Second, time.Second).Should(Succeed())
		src, _, _ := unstructured.NestedString(first.Object, "spec", "source", "persistentVolumeClaimName")
		Expect(src).To(Equal("data-public-default-validator-0"))
		cls, _, _ := unstructured.NestedString(first.Object, "spec", "volumeSnapshotClassName")
		Expect(cls).To(Equal(class))
		// The next one is due next New Year: none is taken meanwhile.
		Consistently(func() int { poke(); return len(networkSnapshots(ctx, cn)) }, 3*time.Second, time.Second).Should(Equal(1))

		By("the snapshot controller reports it ready; a new validator's claim is restored from it")
		Expect(unstructured.SetNestedField(first.Object, true, "status", "readyToUse")).To(Succeed())
		Expect(k8s.Status().Update(ctx, &first)).To(Succeed())
		Eventually(func(g Gomega) {
			poke()
			st := fetch(ctx, cn).Status.Snapshots
			g.Expect(st).NotTo(BeNil())
			g.Expect(st.LastReady).To(Equal(first.GetName()))
			g.Expect(st.Source).To(Equal("public-default-validator-0"))
		}, 40*time.Second, time.Second).Should(Succeed())
		Expect(update(ctx, cn, func(c *chainv1.ChainNetwork) { c.Spec.Organizations[0].Validators = 2 })).To(Succeed())
		Eventually(func(g Gomega) {
			var pvc corev1.PersistentVolumeClaim
			g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "data-public-default-validator-1"}, &pvc)).To(Succeed())
			g.Expect(pvc.Spec.DataSource).NotTo(BeNil())
			g.Expect(pvc.Spec.DataSource.Kind).To(Equal("VolumeSnapshot"))
			g.Expect(pvc.Spec.DataSource.Name).To(Equal(first.GetName()))
			g.Expect(pvc.Labels[controllers.LabelNetwork]).To(Equal(cn.Name))
		}, 20*time.Second, 200*time.Millisecond).Should(Succeed())

		By("snapshots beyond the retention are pruned, oldest first, never the newest ready one")
		for _, name := range []string{"public-extra-a", "public-extra-b"} {
			u := volumeSnapshotObject(ns, name, cn.Name)
			Expect(k8s.Create(ctx, u)).To(Succeed())
			time.Sleep(1100 * time.Millisecond) // distinct creation seconds
		}
		Eventually(func(g Gomega) {
			poke()
			names := map[string]bool{}
			for _, s := range networkSnapshots(ctx, cn) {
				names[s.GetName()] = true
			}
			g.Expect(names).To(HaveLen(2))
			g.Expect(names).To(HaveKey(first.GetName()), "the newest ready snapshot was pruned")
			g.Expect(names).To(HaveKey("public-extra-b"))
		}, 40*time.Second, time.Second).Should(Succeed())
	})
})

func volumeSnapshotObject(ns, name, network string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(schema.GroupVersionKind{Group: "snapshot.storage.k8s.io", Version: "v1", Kind: "VolumeSnapshot"})
	u.SetNamespace(ns)
	u.SetName(name)
	u.SetLabels(map[string]string{controllers.LabelNetwork: network, controllers.LabelComponent: "snapshot"})
	u.Object["spec"] = map[string]any{"source": map[string]any{"persistentVolumeClaimName": "data-public-default-validator-0"}}
	return u
}
