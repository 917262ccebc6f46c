package controllers_test

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
	"github.com/chainnet/chainnet/controllers"
	"github.com/chainnet/chainnet/internal/node"
)

// runIdleNode runs a real chainnode that does not mine: next to a miner it falls behind.
func runIdleNode(ip, genesisPath string) { startNode(ip, genesisPath, func(*node.Config) {}) }

var _ = Describe("Self-healing", func() {
	ctx := context.Background()

	It("re-seeds a node whose store is corrupt, then restarts a node that lags", func() {
		ns := newNamespace()
		cn := sample("public", ns)
		cn.Spec.Organizations[0].Validators, cn.Spec.Organizations[0].Observers = 3, 0
		cn.Spec.Service.APIPort = statusAPIPort
		cn.Spec.SelfHealing = chainv1.SelfHealing{LagBlocks: 3, GracePeriodSeconds: 5}
		Expect(k8s.Create(ctx, cn)).To(Succeed())
		gen := writeTestGenesis()
		runNode("127.0.0.31", gen)     // mines: the synced peer
		runIdleNode("127.0.0.32", gen) // stays at height 0
		fakePod(ctx, cn, "public-default-validator-0", "127.0.0.31")
		fakePod(ctx, cn, "public-default-validator-1", "127.0.0.32")

		// validator-2 crash-loops with chainnode's corrupt-store status; its claim exists.
		corrupt := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "public-default-validator-2", Namespace: ns,
			Labels: map[string]string{controllers.LabelNetwork: cn.Name, controllers.LabelComponent: "node"}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "chainnode", Image: cn.Spec.Image}}}}
		Expect(k8s.Create(ctx, corrupt)).To(Succeed())
		corrupt.Status = corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{
			Name: "chainnode", RestartCount: 2, Image: cn.Spec.Image, ImageID: "x",
			State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: controllers.ExitCorruptStore, Reason: "Error"}},
		}}}
		Expect(k8s.Status().Update(ctx, corrupt)).To(Succeed())
		pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "data-public-default-validator-2", Namespace: ns},
			Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}}
		Expect(k8s.Create(ctx, pvc)).To(Succeed())

		// No StatefulSet controller runs here: report the rollout done, as it would.
		Eventually(func(g Gomega) {
			var s appsv1.StatefulSet
			g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: controllers.StatefulSetName(cn, "default", controllers.RoleValidator)}, &s)).To(Succeed())
			s.Status = appsv1.StatefulSetStatus{ObservedGeneration: s.Generation, Replicas: 3, ReadyReplicas: 3, AvailableReplicas: 3,
				UpdatedReplicas: 3, CurrentReplicas: 3, CurrentRevision: "r1", UpdateRevision: "r1"}
			g.Expect(k8s.Status().Update(ctx, &s)).To(Succeed())
		}, 20*time.Second, 200*time.Millisecond).Should(Succeed())
		poke := func() { pokeNetwork(ctx, cn) }

		By("the corrupt node: its claim and pod are deleted, recorded as a re-seed")
		Eventually(func(g Gomega) {
			poke()
			var p corev1.PersistentVolumeClaim
			err := k8s.Get(ctx, client.ObjectKeyFromObject(pvc), &p)
			g.Expect(apierrors.IsNotFound(err) || (err == nil && p.DeletionTimestamp != nil)).To(BeTrue(), "claim still there: %v", err)
			g.Expect(apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKeyFromObject(corrupt), &corev1.Pod{}))).To(BeTrue())
			h := fetch(ctx, cn).Status.Healing
			g.Expect(h).NotTo(BeNil())
			g.Expect(h.Reseeds).To(Equal(int32(1)))
			g.Expect(h.LastAction).To(ContainSubstring("Reseed public-default-validator-2"))
		}, 60*time.Second, time.Second).Should(Succeed())

		By("the idle node falls behind, is tracked, and is restarted after the grace period")
		Eventually(func(g Gomega) {
			h := fetch(ctx, cn).Status.Healing
			g.Expect(h).NotTo(BeNil())
			g.Expect(h.Restarts).To(Equal(int32(1)), "lagging: %+v", h.Lagging)
			g.Expect(h.LastAction).To(ContainSubstring("Restart public-default-validator-1"))
			g.Expect(apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "public-default-validator-1"}, &corev1.Pod{}))).To(BeTrue())
		}, 60*time.Second, time.Second).Should(Succeed())
		// The miner was never touched.
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "public-default-validator-0"}, &corev1.Pod{})).To(Succeed())
	})
})
