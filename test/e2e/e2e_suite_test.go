//go:build e2e

// Package e2e runs chainnet on a real Kubernetes: the kind cluster built offline by hack/kind,
// with the operator installed by its Helm chart and our images loaded with `kind load`.
// Run it with `make e2e` (hack/e2e.sh creates the cluster and sets KUBECONFIG).
package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
)

const operatorNamespace = "chainnet-system"

var (
	k8s       client.Client
	clientset *kubernetes.Clientset
	scheme    = runtime.NewScheme()
	root      string // the repository
	version   string // VERSION: the images' tag
)

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(chainv1.AddToScheme(scheme))
}

func TestE2E(t *testing.T) {
	if os.Getenv("KUBECONFIG") == "" {
		t.Skip("KUBECONFIG is not set: run `make e2e`, which creates the kind cluster")
	}
	RegisterFailHandler(Fail)
	RunSpecs(t, "chainnet on kind")
}

var _ = BeforeSuite(func(ctx SpecContext) {
	var err error
	root, err = filepath.Abs(filepath.Join("..", ".."))
	Expect(err).NotTo(HaveOccurred())
	v, err := os.ReadFile(filepath.Join(root, "VERSION"))
	Expect(err).NotTo(HaveOccurred())
	version = strings.TrimSpace(string(v))
	cfg, err := clientcmd.BuildConfigFromFlags("", os.Getenv("KUBECONFIG"))
	Expect(err).NotTo(HaveOccurred())
	cfg.QPS, cfg.Burst = 50, 100
	k8s, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	clientset, err = kubernetes.NewForConfig(cfg)
	Expect(err).NotTo(HaveOccurred())
	SetDefaultEventuallyPollingInterval(2 * time.Second)
	SetDefaultEventuallyTimeout(4 * time.Minute)

	if os.Getenv("E2E_ARGOCD") != "" {
		// hack/e2e-argocd.sh: Argo CD installs the operator (argocd_test.go).
		return
	}
	By("installing the operator with its Helm chart")
	args := []string{"upgrade", "--install", "chainnet-operator", filepath.Join(root, "charts", "chainnet-operator"),
		"--namespace", operatorNamespace, "--create-namespace", "--set", "image.pullPolicy=Never", "--wait", "--timeout", "3m"}
	// A reused cluster would keep running an older operator under the same tag: the image ID as a
	// pod annotation rolls the Deployment whenever the image changes.
	if id := os.Getenv("E2E_OPERATOR_IMAGE_ID"); id != "" {
		args = append(args, "--set-string", "podAnnotations.chainnet\\.io/image-id="+strings.TrimPrefix(id, "sha256:"))
	}
	run(ctx, filepath.Join(root, "bin", "helm"), args...)
	Eventually(func(g Gomega) {
		var d appsv1.Deployment
		g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: "chainnet-operator"}, &d)).To(Succeed())
		g.Expect(d.Status.AvailableReplicas).To(BeNumerically(">=", 1))
		g.Expect(d.Status.UpdatedReplicas).To(Equal(d.Status.Replicas))
	}).WithContext(ctx).Should(Succeed())
}, NodeTimeout(5*time.Minute))

// run executes a command from the repository root and fails the spec with its output on error.
func run(ctx context.Context, name string, args ...string) string {
	GinkgoHelper()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	Expect(err).NotTo(HaveOccurred(), "%s %s:\n%s", name, strings.Join(args, " "), out)
	return string(out)
}

// freshNamespace deletes ns if an earlier run left it, and creates it.
func freshNamespace(ctx context.Context, name string) {
	GinkgoHelper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := k8s.Delete(ctx, ns); err == nil || !apierrors.IsNotFound(err) {
		Eventually(func() bool {
			return apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKey{Name: name}, &corev1.Namespace{}))
		}).WithContext(ctx).WithTimeout(3 * time.Minute).Should(BeTrue())
	}
	Expect(k8s.Create(ctx, ns)).To(Succeed())
}

// releaseNamespace deletes a finished group's namespace (its miners would otherwise keep two
// cores busy for the groups after it), unless E2E_KEEP is set for a look afterwards.
func releaseNamespace(ctx context.Context, name string) {
	if os.Getenv("E2E_KEEP") != "" {
		return
	}
	_ = k8s.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
}

// dumpOnFailure writes what explains a failure under bin/e2e-artifacts/<spec>/: the operator's
// and the nodes' logs (the previous container's too), events, ChainNetworks and pods.
func dumpOnFailure(namespaces ...string) {
	report := CurrentSpecReport()
	if !report.Failed() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := filepath.Join(root, "bin", "e2e-artifacts", strings.NewReplacer(" ", "_", "/", "_").Replace(report.FullText()))
	_ = os.MkdirAll(dir, 0o755)
	write := func(name, content string) { _ = os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644) }
	kubectl := func(args ...string) string {
		out, _ := exec.CommandContext(ctx, filepath.Join(root, "bin", "kubectl"), args...).CombinedOutput()
		return string(out)
	}
	for _, ns := range append([]string{operatorNamespace}, namespaces...) {
		write(ns+"-pods.txt", kubectl("get", "pods", "-n", ns, "-o", "wide"))
		write(ns+"-events.txt", kubectl("get", "events", "-n", ns, "--sort-by=.lastTimestamp"))
		write(ns+"-chainnetworks.yaml", kubectl("get", "chainnetworks", "-n", ns, "-o", "yaml"))
		pods, err := clientset.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			continue
		}
		for _, p := range pods.Items {
			for _, previous := range []bool{false, true} {
				b, err := clientset.CoreV1().Pods(ns).GetLogs(p.Name, &corev1.PodLogOptions{Previous: previous}).DoRaw(ctx)
				if err == nil {
					write(fmt.Sprintf("%s-%s-previous=%v.log", ns, p.Name, previous), string(b))
				}
			}
		}
	}
	GinkgoWriter.Printf("artifacts of the failed spec: %s\n", dir)
}
