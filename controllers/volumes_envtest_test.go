package controllers_test

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
	"github.com/chainnet/chainnet/controllers"
)

// boundClaim creates a claim of the given class, bound with size as its capacity (what a
// provisioner would report), labelled as the StatefulSet's claim template labels its claims.
func boundClaim(ctx context.Context, ns, name, class, size string) *corev1.PersistentVolumeClaim {
	pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns,
		Labels: map[string]string{controllers.LabelNetwork: "public"}},
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: &class, VolumeName: "pv-" + name,
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}}}}
	Expect(k8s.Create(ctx, pvc)).To(Succeed())
	setCapacity(ctx, pvc, size)
	return pvc
}

func setCapacity(ctx context.Context, pvc *corev1.PersistentVolumeClaim, size string) {
	Eventually(func() error {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(pvc), pvc); err != nil {
			return err
		}
		pvc.Status.Phase = corev1.ClaimBound
		pvc.Status.Capacity = corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}
		return k8s.Status().Update(ctx, pvc)
	}, 10*time.Second, 100*time.Millisecond).Should(Succeed())
}

func requested(ctx context.Context, pvc *corev1.PersistentVolumeClaim) string {
	var got corev1.PersistentVolumeClaim
	Expect(k8s.Get(ctx, client.ObjectKeyFromObject(pvc), &got)).To(Succeed())
	q := got.Spec.Resources.Requests[corev1.ResourceStorage]
	return q.String()
}

var _ = Describe("Volume growth", func() {
	ctx := context.Background()

	It("expands a full node's claim step by step up to maxSize, and says so when the class cannot", func() {
		yes, no := true, false
		Expect(client.IgnoreAlreadyExists(k8s.Create(ctx, &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "expandable"},
			Provisioner: "example.com/csi", AllowVolumeExpansion: &yes}))).To(Succeed())
		Expect(client.IgnoreAlreadyExists(k8s.Create(ctx, &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "fixed"},
			Provisioner: "example.com/csi", AllowVolumeExpansion: &no}))).To(Succeed())
		ns := newNamespace()
		cn := sample("public", ns)
		cn.Spec.Organizations[0].Validators, cn.Spec.Organizations[0].Observers = 2, 0
		cn.Spec.Organizations[0].Storage.AutoGrow = &chainv1.AutoGrow{UsedPercent: 1, MaxSize: resource.MustParse("3Gi")}
		cn.Spec.Service.APIPort = statusAPIPort
		Expect(k8s.Create(ctx, cn)).To(Succeed())
		// Two real nodes whose data directories are on this machine's disk (more than 1% used).
		gen := writeTestGenesis()
		runNode("127.0.0.51", gen)
		runNode("127.0.0.52", gen)
		fakePod(ctx, cn, "public-default-validator-0", "127.0.0.51")
		fakePod(ctx, cn, "public-default-validator-1", "127.0.0.52")
		grows := boundClaim(ctx, ns, "data-public-default-validator-0", "expandable", "1Gi")
		fixed := boundClaim(ctx, ns, "data-public-default-validator-1", "fixed", "1Gi")
		poke := func() { pokeNetwork(ctx, cn) }
		for _, step := range []struct{ from, to string }{{"1Gi", "1536Mi"}, {"1536Mi", "2304Mi"}, {"2304Mi", "3Gi"}} {
			Eventually(func() string { poke(); return requested(ctx, grows) }, 40*time.Second, time.Second).Should(Equal(step.to), "from %s", step.from)
			// Nothing more until the resize completes.
			Consistently(func() string { poke(); return requested(ctx, grows) }, 3*time.Second, time.Second).Should(Equal(step.to))
			setCapacity(ctx, grows, step.to)
		}
		Consistently(func() string { poke(); return requested(ctx, grows) }, 3*time.Second, time.Second).Should(Equal("3Gi"), "grew past maxSize")
		Expect(requested(ctx, fixed)).To(Equal("1Gi"), "a claim whose class cannot expand was patched")
		Eventually(func(g Gomega) {
			var evs corev1.EventList
			g.Expect(k8s.List(ctx, &evs, client.InNamespace(ns))).To(Succeed())
			reasons := map[string]bool{}
			for _, e := range evs.Items {
				reasons[e.Reason] = true
			}
			g.Expect(reasons).To(HaveKey("VolumeExpanded"))
			g.Expect(reasons).To(HaveKey("VolumeNotExpandable"))
			g.Expect(reasons).To(HaveKey("VolumeAtMaxSize"))
		}, 20*time.Second, time.Second).Should(Succeed())
		st := fetch(ctx, cn).Status
		Expect(st.Chain).NotTo(BeNil())
		for _, n := range st.Chain.Nodes {
			Expect(n.DiskUsedPercent).To(BeNumerically(">=", 1), n.Name)
		}
	})
})
