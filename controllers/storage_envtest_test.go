package controllers_test

import (
	"context"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
	"github.com/chainnet/chainnet/controllers"
)

var _ = Describe("Storage edits", func() {
	ctx := context.Background()

	// Before, a larger storage.size changed the claim template, every apply of the StatefulSet got
	// 422 and nothing after it ran again (here: the scale to two validators never happened).
	It("grows existing claims in place when storage.size grows and keeps reconciling: the claim template never changes", func() {
		yes := true
		Expect(client.IgnoreAlreadyExists(k8s.Create(ctx, &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "expandable"},
			Provisioner: "example.com/csi", AllowVolumeExpansion: &yes}))).To(Succeed())
		ns := newNamespace()
		cn := sample("public", ns)
		cn.Spec.Organizations[0].Validators, cn.Spec.Organizations[0].Observers = 1, 0
		class := "expandable"
		cn.Spec.Organizations[0].Storage.StorageClassName = &class
		Expect(k8s.Create(ctx, cn)).To(Succeed())
		Eventually(func() error { _, err := k8sSTS(ctx, cn, "default"); return err }).Should(Succeed())
		templates := stsOf(ctx, cn, "default", controllers.RoleValidator).Spec.VolumeClaimTemplates
		Expect(templates[0].Labels).To(Equal(map[string]string{controllers.LabelNetwork: cn.Name,
			controllers.LabelOrg: "default", controllers.LabelRole: controllers.RoleValidator}), "the claim template carries the selector's labels only")
		claim := boundClaim(ctx, ns, controllers.DataClaimName(controllers.PodName(cn, "default", controllers.RoleValidator, 0)), class, "1Gi")

		Expect(update(ctx, cn, func(c *chainv1.ChainNetwork) { c.Spec.Organizations[0].Storage.Size = ptrTo(resource.MustParse("2Gi")) })).To(Succeed())
		Eventually(func() string { return requested(ctx, claim) }).Should(Equal("2Gi"))
		Expect(update(ctx, cn, func(c *chainv1.ChainNetwork) { c.Spec.Organizations[0].Validators = 2 })).To(Succeed())
		Eventually(func() int32 { return *stsOf(ctx, cn, "default", controllers.RoleValidator).Spec.Replicas }).Should(Equal(int32(2)))
		Expect(stsOf(ctx, cn, "default", controllers.RoleValidator).Spec.VolumeClaimTemplates).To(Equal(templates))
		d := meta.FindStatusCondition(fetch(ctx, cn).Status.Conditions, chainv1.ConditionDegraded)
		Expect(d == nil || d.Reason != "StatefulSetsFailed").To(BeTrue(), "Degraded: %+v", d)

		By("a smaller size shrinks nothing and wedges nothing; admission refuses another class")
		Expect(update(ctx, cn, func(c *chainv1.ChainNetwork) { c.Spec.Organizations[0].Storage.Size = ptrTo(resource.MustParse("1Gi")) })).To(Succeed())
		Expect(update(ctx, cn, func(c *chainv1.ChainNetwork) { c.Spec.Organizations[0].Validators = 3 })).To(Succeed())
		Eventually(func() int32 { return *stsOf(ctx, cn, "default", controllers.RoleValidator).Spec.Replicas }).Should(Equal(int32(3)))
		Expect(requested(ctx, claim)).To(Equal("2Gi"))
		err := update(ctx, cn, func(c *chainv1.ChainNetwork) {
			other := "other"
			c.Spec.Organizations[0].Storage.StorageClassName = &other
		})
		Expect(err).To(MatchError(ContainSubstring("storage.storageClassName is immutable")))
	})
})

func ptrTo[T any](v T) *T { return &v }
