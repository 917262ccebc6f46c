package controllers_test

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/chainnet/chainnet/controllers"
)

var _ = Describe("The operator's cache", func() {
	ctx := context.Background()

	It("holds the Secrets and ConfigMaps of networks, not the cluster's others", func() {
		ns := newNamespace()
		network := map[string]string{controllers.LabelNetwork: "public"}
		for _, obj := range []client.Object{
			&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "network-secret", Namespace: ns, Labels: network}},
			&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "someone-elses-secret", Namespace: ns}},
			&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "network-config", Namespace: ns, Labels: network}},
			&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "someone-elses-config", Namespace: ns}},
		} {
			Expect(k8s.Create(ctx, obj)).To(Succeed())
		}
		key := func(name string) client.ObjectKey { return client.ObjectKey{Namespace: ns, Name: name} }
		Eventually(func(g Gomega) {
			g.Expect(cached.Get(ctx, key("network-secret"), &corev1.Secret{})).To(Succeed())
			g.Expect(cached.Get(ctx, key("network-config"), &corev1.ConfigMap{})).To(Succeed())
		}, 10*time.Second, 100*time.Millisecond).Should(Succeed())
		// The labelled ones arrived, so the unlabelled ones, created before them, would have too.
		Consistently(func(g Gomega) {
			g.Expect(apierrors.IsNotFound(cached.Get(ctx, key("someone-elses-secret"), &corev1.Secret{}))).To(BeTrue(), "an unlabelled Secret is cached")
			g.Expect(apierrors.IsNotFound(cached.Get(ctx, key("someone-elses-config"), &corev1.ConfigMap{}))).To(BeTrue(), "an unlabelled ConfigMap is cached")
		}, time.Second, 100*time.Millisecond).Should(Succeed())
	})
})
