package controllers_test

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
	"github.com/chainnet/chainnet/internal/node"
)

// refuseSnapshots makes the API server refuse every VolumeSnapshot created in ns (a
// ValidatingAdmissionPolicy): the snapshot step then fails on every pass.
func refuseSnapshots(ctx context.Context, ns string) {
	fail := admissionv1.Fail
	policy := &admissionv1.ValidatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: "refuse-snapshots-" + ns},
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: &fail,
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionv1.RuleWithOperations{Operations: []admissionv1.OperationType{admissionv1.Create},
					Rule: admissionv1.Rule{APIGroups: []string{"snapshot.storage.k8s.io"}, APIVersions: []string{"v1"}, Resources: []string{"volumesnapshots"}}},
			}}},
			Validations: []admissionv1.Validation{{Expression: "false", Message: "snapshots are refused here (test)"}},
		}}
	binding := &admissionv1.ValidatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: policy.Name},
		Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: policy.Name,
			ValidationActions: []admissionv1.ValidationAction{admissionv1.Deny},
			MatchResources: &admissionv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{
				MatchLabels: map[string]string{"kubernetes.io/metadata.name": ns}}}}}
	Expect(k8s.Create(ctx, policy)).To(Succeed())
	Expect(k8s.Create(ctx, binding)).To(Succeed())
	DeferCleanup(func() {
		_ = k8s.Delete(ctx, binding)
		_ = k8s.Delete(ctx, policy)
	})
	// The API server loads policies asynchronously: wait until a dry-run create is refused.
	Eventually(func() error {
		return k8s.Create(ctx, volumeSnapshotObject(ns, "probe", "none"), client.DryRunAll)
	}, 20*time.Second, 200*time.Millisecond).Should(MatchError(ContainSubstring("refused here")))
}

var _ = Describe("Node status in the background", func() {
	ctx := context.Background()

	It("follows the chain height within a few seconds, with no event from the cluster", func() {
		ns := newNamespace()
		cn := sample("public", ns)
		cn.Spec.Organizations[0].Validators, cn.Spec.Organizations[0].Observers = 1, 0
		cn.Spec.Service.APIPort = statusAPIPort
		Expect(k8s.Create(ctx, cn)).To(Succeed())
		n := startNode("127.0.0.71", writeTestGenesis(), func(c *node.Config) { c.Mine, c.MinerThreads = true, 1 })
		fakePod(ctx, cn, "public-default-validator-0", "127.0.0.71")

		// No poke: only the poller can tell the reconciler that the chain moved.
		last := uint64(0)
		for round := range 3 {
			var h uint64
			Eventually(func() uint64 { h = n.Chain().Tip().Height; return h }, 60*time.Second, 100*time.Millisecond).Should(BeNumerically(">", last))
			last = h
			start := time.Now()
			Eventually(func(g Gomega) {
				st := fetch(ctx, cn).Status
				g.Expect(st.Chain).NotTo(BeNil())
				g.Expect(st.Chain.BestHeight).To(BeNumerically(">=", int64(h)))
			}, 6*time.Second, 100*time.Millisecond).Should(Succeed(), "round %d: status did not reach height %d", round, h)
			GinkgoWriter.Printf("round %d: status reached height %d %s after the node\n", round, h, time.Since(start).Round(10*time.Millisecond))
		}
	})

	It("reports a failing snapshot step as not Ready and keeps the rest of the status current", func() {
		ns := newNamespace()
		refuseSnapshots(ctx, ns)
		cn := sample("public", ns)
		cn.Spec.Organizations[0].Validators, cn.Spec.Organizations[0].Observers = 1, 0
		cn.Spec.Service.APIPort = statusAPIPort
		cn.Spec.Snapshots = &chainv1.SnapshotSpec{Schedule: "0 0 1 1 *", Retention: 1}
		Expect(k8s.Create(ctx, cn)).To(Succeed())
		runNode("127.0.0.72", writeTestGenesis())
		fakePod(ctx, cn, "public-default-validator-0", "127.0.0.72")

		Eventually(func(g Gomega) {
			st := fetch(ctx, cn).Status
			g.Expect(st.Chain).NotTo(BeNil(), "the chain figures were never written")
			g.Expect(st.Chain.BestHeight).To(BeNumerically(">=", 2))
			ready := meta.FindStatusCondition(st.Conditions, chainv1.ConditionReady)
			g.Expect(ready).NotTo(BeNil())
			g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(ready.Reason).To(Equal("SnapshotsFailed"))
			g.Expect(ready.Message).To(ContainSubstring("refused here"))
		}, 60*time.Second, 200*time.Millisecond).Should(Succeed())

		By("a spec edit is still observed while the step keeps failing")
		Expect(update(ctx, cn, func(c *chainv1.ChainNetwork) { c.Spec.SelfHealing.LagBlocks = 7 })).To(Succeed())
		gen := fetch(ctx, cn).Generation
		Eventually(func(g Gomega) {
			st := fetch(ctx, cn).Status
			g.Expect(st.ObservedGeneration).To(Equal(gen))
			g.Expect(meta.FindStatusCondition(st.Conditions, chainv1.ConditionReady).ObservedGeneration).To(Equal(gen))
		}, 20*time.Second, 200*time.Millisecond).Should(Succeed())
	})
})
