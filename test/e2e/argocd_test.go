//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
	"github.com/chainnet/chainnet/controllers"
)

const (
	argoNamespace = "argocd"
	// gitURL is the Git server of hack/argocd/manifests as Argo CD's repo-server reaches it.
	gitURL = "git://chainnet-git.argocd.svc.cluster.local/chainnet.git"
	// upstreamURL is the repository config/argocd's Applications name.
	upstreamURL = "https://github.com/chainnet/chainnet.git"
	// argoNetworkNamespace is the network Application's destination.
	argoNetworkNamespace = "chainnet"
)

// argoNetwork is the network the e2e keeps in Git: a consortium of one organization (its
// governance runs: the Admitted condition is part of its health), small enough for two cores
// next to Argo CD. The network Application's include names it instead of the consortium sample.
const argoNetwork = `apiVersion: chainnet.io/v1alpha1
kind: ChainNetwork
metadata:
  name: gitops
spec:
  membership: consortium
  organizations:
  - name: org1
    validators: %d
    minerThreads: 1
  consensus:
    targetBlockTimeSeconds: 5
    initialDifficulty: 2000000
`

// Argo CD (hack/argocd: built from its source here, core install) syncs chainnet from a Git
// server in the cluster holding config/argocd's Applications, the operator's chart and a
// network. hack/e2e-argocd.sh installs Argo CD and sets E2E_ARGOCD; the operator is not
// installed by the suite but by Argo CD.
var _ = Describe("Argo CD syncing chainnet from Git", Label("argocd"), Ordered, func() {
	var repo *gitRepo
	figures := map[string]string{}

	BeforeAll(func(ctx SpecContext) {
		if os.Getenv("E2E_ARGOCD") == "" {
			Skip("E2E_ARGOCD is not set: make e2e-argocd installs Argo CD and runs this")
		}
		repo = newGitRepo(ctx)
		repo.write("charts/chainnet-operator", "")
		for _, f := range []string{"root-application.yaml", "operator-application.yaml", "network-application.yaml"} {
			b, err := os.ReadFile(filepath.Join(root, "config", "argocd", f))
			Expect(err).NotTo(HaveOccurred())
			s := strings.ReplaceAll(string(b), upstreamURL, gitURL)
			if f == "network-application.yaml" {
				s = strings.Replace(s, "include: consortium.yaml", "include: gitops.yaml", 1)
			}
			repo.write("config/argocd/"+f, s)
		}
		repo.write("config/samples/gitops.yaml", fmt.Sprintf(argoNetwork, 1))
		repo.commitAndPush(ctx, "chainnet: the operator's chart and a network")
	}, NodeTimeout(3*time.Minute))
	AfterAll(func() {
		for k, v := range figures {
			AddReportEntry(k, v)
			GinkgoWriter.Printf("FIGURE %s: %s\n", k, v)
		}
		if repo != nil {
			repo.close()
		}
	})
	AfterEach(func() { dumpOnFailure(argoNetworkNamespace, argoNamespace) })

	It("loads the health checks as the README says, and syncs the operator before the network (sync waves)", func(ctx SpecContext) {
		run(ctx, filepath.Join(root, "bin", "kubectl"), "-n", argoNamespace, "patch", "configmap", "argocd-cm",
			"--patch-file", filepath.Join(root, "config", "argocd", "argocd-cm-health.yaml"))
		pushed := time.Now()
		run(ctx, filepath.Join(root, "bin", "kubectl"), "apply", "-f", repo.path("config/argocd/root-application.yaml"))

		By("watching the network's health as Argo CD reports it")
		healths := watchResourceHealth(ctx, "chainnet-consortium", "ChainNetwork", "gitops")
		Eventually(func(g Gomega) {
			g.Expect(appState(ctx, "chainnet-operator")).To(Equal("Synced/Healthy"))
		}).WithContext(ctx).WithTimeout(5 * time.Minute).WithPolling(500 * time.Millisecond).Should(Succeed())
		operatorHealthy := time.Now()
		Eventually(func(g Gomega) {
			g.Expect(appState(ctx, "chainnet-consortium")).To(Equal("Synced/Healthy"))
		}).WithContext(ctx).WithTimeout(8 * time.Minute).Should(Succeed())
		healthy := time.Now()
		figures["git push to Healthy, new network (operator and network from nothing)"] = fmt.Sprintf("%.0f s (operator Healthy after %.0f s)",
			healthy.Sub(pushed).Seconds(), operatorHealthy.Sub(pushed).Seconds())

		By("the network Application was created only after the operator's was Healthy (wave -1 before wave 1)")
		network := application(ctx, "chainnet-consortium")
		crd := &unstructured.Unstructured{}
		crd.SetAPIVersion("apiextensions.k8s.io/v1")
		crd.SetKind("CustomResourceDefinition")
		Expect(k8s.Get(ctx, client.ObjectKey{Name: "chainnetworks.chainnet.io"}, crd)).To(Succeed())
		Expect(network.GetCreationTimestamp().Time).NotTo(BeTemporally("<", crd.GetCreationTimestamp().Time))
		// Creation timestamps have whole seconds; the operator's health was seen within 500 ms.
		Expect(network.GetCreationTimestamp().Time.Add(2*time.Second)).To(BeTemporally(">=", operatorHealthy),
			"the network Application must wait for the operator's to be Healthy (wave -1)")
		Expect(healths.seen()).To(ContainElements("Progressing", "Healthy"))
		Expect(healths.first("Progressing")).To(BeNumerically("<", healths.first("Healthy")),
			"Argo CD showed the network %v", healths.seen())
	})

	It("keeps both Applications Synced after a hard refresh: no defaulted or status field drifts", func(ctx SpecContext) {
		for _, app := range []string{"chainnet", "chainnet-operator", "chainnet-consortium"} {
			hardRefresh(ctx, app)
		}
		Consistently(func(g Gomega) {
			for _, app := range []string{"chainnet", "chainnet-operator", "chainnet-consortium"} {
				g.Expect(outOfSync(ctx, app)).To(BeEmpty(), "%s", app)
				g.Expect(appState(ctx, app)).To(HavePrefix("Synced/"), "%s", app)
			}
		}).WithContext(ctx).WithTimeout(45 * time.Second).WithPolling(3 * time.Second).Should(Succeed())
	})

	It("scales the network with a commit: Argo CD syncs it, the nodes roll, Progressing then Healthy", func(ctx SpecContext) {
		healths := watchResourceHealth(ctx, "chainnet-consortium", "ChainNetwork", "gitops")
		repo.write("config/samples/gitops.yaml", fmt.Sprintf(argoNetwork, 2))
		rev := repo.commitAndPush(ctx, "gitops: a second validator")
		pushed := time.Now()
		refresh(ctx, "chainnet-consortium") // as a webhook would: no waiting for the 3-minute poll
		Eventually(func(g Gomega) {
			app := application(ctx, "chainnet-consortium")
			r, _, _ := unstructured.NestedString(app.Object, "status", "sync", "revision")
			g.Expect(r).To(Equal(rev))
			g.Expect(appState(ctx, "chainnet-consortium")).To(Equal("Synced/Healthy"))
			g.Expect(healths.seen()).To(ContainElement("Progressing"))
			pods := nodePods(ctx, &gitopsNetwork, controllers.RoleValidator)
			g.Expect(pods).To(HaveLen(2))
			for _, p := range pods {
				g.Expect(podReady(p)).To(BeTrue(), p.Name)
			}
		}).WithContext(ctx).WithTimeout(6 * time.Minute).Should(Succeed())
		figures["git push to Healthy, scale-up 1 to 2 validators"] = fmt.Sprintf("%.0f s", time.Since(pushed).Seconds())
		Expect(outOfSync(ctx, "chainnet-consortium")).To(BeEmpty())
	})

	It("shows lost nodes as Degraded, and Healthy again once they are back", func(ctx SpecContext) {
		kubectl := filepath.Join(root, "bin", "kubectl")
		node := kindCluster() + "-control-plane"
		run(ctx, kubectl, "cordon", node)
		DeferCleanup(func(ctx SpecContext) { run(ctx, kubectl, "uncordon", node) })
		pod := nodePods(ctx, &gitopsNetwork, controllers.RoleValidator)[1]
		Expect(k8s.Delete(ctx, &pod)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(resourceHealth(ctx, "chainnet-consortium", "ChainNetwork", "gitops")).To(HavePrefix("Degraded/NodesUnavailable"))
			g.Expect(appState(ctx, "chainnet-consortium")).To(Equal("Synced/Degraded"))
		}).WithContext(ctx).WithTimeout(4 * time.Minute).Should(Succeed())
		run(ctx, kubectl, "uncordon", node)
		Eventually(func() string { return appState(ctx, "chainnet-consortium") }).WithContext(ctx).WithTimeout(4 * time.Minute).
			Should(Equal("Synced/Healthy"))
		Expect(outOfSync(ctx, "chainnet-consortium")).To(BeEmpty())
	})
})

// gitopsNetwork names the network kept in Git, for the suite's pod helpers.
var gitopsNetwork = func() (cn chainv1.ChainNetwork) {
	cn.Name, cn.Namespace = "gitops", argoNetworkNamespace
	return cn
}()

// application reads an Argo CD Application.
func application(ctx context.Context, name string) *unstructured.Unstructured {
	GinkgoHelper()
	app := &unstructured.Unstructured{}
	app.SetAPIVersion("argoproj.io/v1alpha1")
	app.SetKind("Application")
	Expect(k8s.Get(ctx, client.ObjectKey{Namespace: argoNamespace, Name: name}, app)).To(Succeed())
	return app
}

// appState is "<sync status>/<health status>" of an Application, "" while it does not exist.
func appState(ctx context.Context, name string) string {
	app := &unstructured.Unstructured{}
	app.SetAPIVersion("argoproj.io/v1alpha1")
	app.SetKind("Application")
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: argoNamespace, Name: name}, app); err != nil {
		return ""
	}
	s, _, _ := unstructured.NestedString(app.Object, "status", "sync", "status")
	h, _, _ := unstructured.NestedString(app.Object, "status", "health", "status")
	return s + "/" + h
}

// resourceHealth is "<health>/<message>" of one of an Application's resources, as Argo CD
// computed it (for a ChainNetwork: with config/argocd/health.lua).
func resourceHealth(ctx context.Context, app, kind, name string) string {
	a := &unstructured.Unstructured{}
	a.SetAPIVersion("argoproj.io/v1alpha1")
	a.SetKind("Application")
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: argoNamespace, Name: app}, a); err != nil {
		return ""
	}
	resources, _, _ := unstructured.NestedSlice(a.Object, "status", "resources")
	for _, r := range resources {
		m, _ := r.(map[string]any)
		if m["kind"] == kind && m["name"] == name {
			s, _, _ := unstructured.NestedString(m, "health", "status")
			msg, _, _ := unstructured.NestedString(m, "health", "message")
			return s + "/" + msg
		}
	}
	return ""
}

// outOfSync lists an Application's resources Argo CD finds different from Git.
func outOfSync(ctx context.Context, app string) []string {
	a := application(ctx, app)
	resources, _, _ := unstructured.NestedSlice(a.Object, "status", "resources")
	var out []string
	for _, r := range resources {
		m, _ := r.(map[string]any)
		if m["status"] != "Synced" {
			out = append(out, fmt.Sprintf("%v/%v %v", m["kind"], m["name"], m["status"]))
		}
	}
	return out
}

// refresh asks Argo CD to compare an Application with Git now (the annotation its webhook and
// `argocd app get --refresh` set); hardRefresh also regenerates the manifests.
func refresh(ctx context.Context, app string) { annotateRefresh(ctx, app, "normal") }

func hardRefresh(ctx context.Context, app string) { annotateRefresh(ctx, app, "hard") }

func annotateRefresh(ctx context.Context, app, kind string) {
	GinkgoHelper()
	run(ctx, filepath.Join(root, "bin", "kubectl"), "-n", argoNamespace, "annotate", "--overwrite",
		"applications.argoproj.io", app, "argocd.argoproj.io/refresh="+kind)
}

// healthLog records the health statuses Argo CD reports for one resource, in order.
type healthLog struct {
	mu    sync.Mutex
	order []string
}

func (h *healthLog) seen() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.order...)
}

// first is the index of the first time status was seen, len(order) if never.
func (h *healthLog) first(status string) int {
	s := h.seen()
	for i, x := range s {
		if x == status {
			return i
		}
	}
	return len(s)
}

// watchResourceHealth polls a resource's health in an Application every half second until the
// spec ends, recording each change.
func watchResourceHealth(ctx context.Context, app, kind, name string) *healthLog {
	h := &healthLog{}
	go func() {
		defer GinkgoRecover()
		for ctx.Err() == nil {
			s, _, _ := strings.Cut(resourceHealth(ctx, app, kind, name), "/")
			h.mu.Lock()
			if s != "" && (len(h.order) == 0 || h.order[len(h.order)-1] != s) {
				h.order = append(h.order, s)
			}
			h.mu.Unlock()
			time.Sleep(500 * time.Millisecond)
		}
	}()
	return h
}

// gitRepo is a clone of the Git server's repository, pushed to through a port-forward.
type gitRepo struct {
	dir, remote string
	forward     *exec.Cmd
}

func newGitRepo(ctx context.Context) *gitRepo {
	GinkgoHelper()
	fwd := exec.Command(filepath.Join(root, "bin", "kubectl"), "-n", argoNamespace, "port-forward", "svc/chainnet-git", ":9418")
	out, err := fwd.StdoutPipe()
	Expect(err).NotTo(HaveOccurred())
	Expect(fwd.Start()).To(Succeed())
	port := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`Forwarding from 127\.0\.0\.1:(\d+)`)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case port <- m[1]:
				default:
				}
			}
		}
	}()
	r := &gitRepo{dir: GinkgoT().TempDir(), forward: fwd}
	select {
	case p := <-port:
		r.remote = "git://127.0.0.1:" + p + "/chainnet.git"
	case <-time.After(30 * time.Second):
		_ = fwd.Process.Kill()
		Fail("kubectl port-forward to the Git server did not start")
	}
	r.git(ctx, "init", "-q", "--initial-branch=main")
	r.git(ctx, "config", "user.email", "e2e@chainnet.io")
	r.git(ctx, "config", "user.name", "chainnet e2e")
	return r
}

func (r *gitRepo) path(rel string) string { return filepath.Join(r.dir, rel) }

// write puts content at rel, or with "" copies the repository's own rel there.
func (r *gitRepo) write(rel, content string) {
	GinkgoHelper()
	Expect(os.MkdirAll(filepath.Dir(r.path(rel)), 0o755)).To(Succeed())
	if content == "" {
		Expect(exec.Command("cp", "-r", filepath.Join(root, rel), filepath.Dir(r.path(rel))).Run()).To(Succeed())
		return
	}
	Expect(os.WriteFile(r.path(rel), []byte(content), 0o644)).To(Succeed())
}

// commitAndPush commits everything and pushes to the Git server; it returns the commit.
func (r *gitRepo) commitAndPush(ctx context.Context, msg string) string {
	GinkgoHelper()
	r.git(ctx, "add", "-A")
	r.git(ctx, "commit", "-q", "-m", msg)
	// Forced: a Git server reused from an earlier run holds that run's history.
	r.git(ctx, "push", "-q", "--force", r.remote, "main")
	return strings.TrimSpace(r.git(ctx, "rev-parse", "HEAD"))
}

func (r *gitRepo) git(ctx context.Context, args ...string) string {
	GinkgoHelper()
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = r.dir
	out, err := cmd.CombinedOutput()
	Expect(err).NotTo(HaveOccurred(), "git %s:\n%s", strings.Join(args, " "), out)
	return string(out)
}

func (r *gitRepo) close() {
	if r.forward != nil && r.forward.Process != nil {
		_ = r.forward.Process.Kill()
		_ = r.forward.Wait()
	}
}
