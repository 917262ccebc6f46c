package main

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
	"github.com/chainnet/chainnet/controllers"
	"github.com/chainnet/chainnet/internal/genesis"
	"github.com/chainnet/chainnet/internal/node"
)

// apiServer starts envtest's kube-apiserver and etcd with the project's CRDs (no controller
// runs) and returns a kubeconfig file for the plugin and a client for the test.
func apiServer(t *testing.T) (string, ctrlclient.Client) {
	t.Helper()
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Skip("KUBEBUILDER_ASSETS is not set: run `make test` (it builds kube-apiserver and etcd into bin/k8s)")
	}
	env := &envtest.Environment{CRDDirectoryPaths: []string{filepath.Join("..", "..", "config", "crd", "bases")}, ErrorIfCRDPathMissing: true}
	cfg, err := env.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	user, err := env.AddUser(envtest.User{Name: "member-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig, err := user.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, kubeconfig, 0o600); err != nil {
		t.Fatal(err)
	}
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(chainv1.AddToScheme(scheme))
	c, err := ctrlclient.New(cfg, ctrlclient.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	return path, c
}

// hostIP is a global unicast IPv4 address of this machine: the API server's pod proxy refuses
// loopback addresses, so a node standing in for a pod listens on this one.
func hostIP() string {
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil && ipn.IP.IsGlobalUnicast() {
			return ipn.IP.String()
		}
	}
	return ""
}

// TestPluginGovernanceVerbs runs the plugin's governance verbs against a real API server with the
// real CRD (its schema and CEL rules judge every patch): join-request prints status.governance.local
// as a file propose add-org reads back; propose and approve write spec.governance and nothing else;
// a patch built from a stale copy is refused (resourceVersion); proposals and membership fall back
// to status.governance without a node, and read a real node through the pod proxy when one runs;
// export-genesis prints a spec.join whose hash is the genesis file's.
func TestPluginGovernanceVerbs(t *testing.T) {
	kubeconfig, k8s := apiServer(t)
	ctx := context.Background()
	if err := k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "gov"}}); err != nil {
		t.Fatal(err)
	}
	plugin := func(args ...string) (string, error) {
		return chainctl(t, append([]string{"network", "--kubeconfig", kubeconfig, "-n", "gov"}, args...)...)
	}
	fetch := func() *chainv1.ChainNetwork {
		cn := &chainv1.ChainNetwork{}
		if err := k8s.Get(ctx, ctrlclient.ObjectKey{Namespace: "gov", Name: "corp"}, cn); err != nil {
			t.Fatal(err)
		}
		return cn
	}

	// The network as the operator would leave it: org1 here, org2 in another cluster, and a
	// proposal of org2's open on the chain.
	text, hash := consortiumGenesis(t)
	cn := govNetwork(t)
	cn.ObjectMeta = metav1.ObjectMeta{Name: "corp", Namespace: "gov"}
	cn.Spec.Governance = nil
	cn.Spec.Consensus.TargetBlockTimeSeconds, cn.Spec.Consensus.InitialDifficulty = 10, 16
	if err := k8s.Create(ctx, cn); err != nil {
		t.Fatal(err)
	}
	status := govNetwork(t).Status
	status.GenesisHash = hash
	cn.Status = status
	if err := k8s.Status().Update(ctx, cn); err != nil {
		t.Fatal(err)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: controllers.GenesisConfigMapName(cn), Namespace: "gov",
		Annotations: map[string]string{controllers.AnnotationGenesisHash: hash}}, Data: map[string]string{controllers.GenesisKey: text}}
	if err := k8s.Create(ctx, cm); err != nil {
		t.Fatal(err)
	}

	out, err := plugin("join-request", "corp")
	if err != nil {
		t.Fatalf("join-request: %v %s", err, out)
	}
	reqFile := filepath.Join(t.TempDir(), "org1.yaml")
	os.WriteFile(reqFile, []byte(out), 0o644)
	if id, err := readIdentity(reqFile, nil); err != nil || id.AdminKey != status.Governance.Local[0].AdminKey || len(id.Endpoints) != 1 {
		t.Fatalf("join-request printed %s (%v)", out, err)
	}

	// Another cluster's organization, from its join request.
	org4 := filepath.Join(t.TempDir(), "org4.yaml")
	b, _ := yaml.Marshal(identity(t, "org4", 40))
	os.WriteFile(org4, b, 0o644)
	if out, err := plugin("propose", "add-org", "corp", "--request", org4, "--proposer", "org1"); err != nil {
		t.Fatalf("propose add-org: %v %s", err, out)
	}
	if out, err := plugin("propose", "add-org", "corp", "--request", org4, "--name", "again"); err == nil || !strings.Contains(err.Error(), "already asks") {
		t.Fatalf("the same admission twice: %v %s", err, out)
	}
	if out, err := plugin("propose", "remove-org", "corp", "org2"); err != nil {
		t.Fatalf("propose remove-org: %v %s", err, out)
	}
	if _, err := plugin("propose", "remove-org", "corp", "org1"); err == nil || !strings.Contains(err.Error(), "spec.organizations") {
		t.Fatalf("removing this cluster's organization: %v", err)
	}
	if out, err := plugin("approve", "corp", "ab12", "-o", "json"); err != nil || !strings.Contains(out, `"changed": true`) {
		t.Fatalf("approve: %v %s", err, out)
	}
	if out, err := plugin("approve", "corp", "ab12"); err != nil || !strings.Contains(out, "nothing to change") {
		t.Fatalf("approving twice: %v %s", err, out)
	}
	got := fetch()
	gs := got.Spec.Governance
	if gs == nil || len(gs.Proposals) != 2 || gs.Proposals[0].Name != "add-org4" || gs.Proposals[0].Proposer != "org1" ||
		gs.Proposals[0].AddOrganization.Miners[0] != hexKey(t, 42) || gs.Proposals[1].RemoveOrganization != "org2" ||
		len(gs.Approvals) != 1 || gs.Approvals[0] != status.Governance.Proposals[0].ID {
		t.Fatalf("spec.governance after the verbs: %+v", gs)
	}
	if len(got.Spec.Organizations) != 1 || got.Spec.Organizations[0].Validators != 1 || got.Status.Governance == nil {
		t.Fatalf("the verbs changed more than spec.governance: %+v", got.Spec.Organizations)
	}

	// The API server applies only patches made from the current object.
	stale := got.DeepCopy()
	got.Annotations = map[string]string{"example.org/concurrent-edit": "yes"}
	if err := k8s.Update(ctx, got); err != nil {
		t.Fatal(err)
	}
	d, err := approvePatch(stale, strings.Repeat("ee", 32))
	if err != nil {
		t.Fatal(err)
	}
	if err := k8s.Patch(ctx, stale, ctrlclient.RawPatch("application/merge-patch+json", d.patch)); !apierrors.IsConflict(err) {
		t.Fatalf("a patch from a stale copy: %v, want a conflict", err)
	}

	// No node pod: the reading verbs show status.governance, saying so.
	out, err = plugin("proposals", "corp")
	if err != nil || !strings.Contains(out, "from status.governance") || !strings.Contains(out, "no ready node") || !strings.Contains(out, "approvals") {
		t.Fatalf("proposals from status: %v\n%s", err, out)
	}
	var ps networkProposals
	if out, err := plugin("proposals", "corp", "--from-status", "-o", "json"); err != nil || json.Unmarshal([]byte(out), &ps) != nil ||
		len(ps.Proposals) != 2 || ps.Proposals[0].Declared != "approvals" || ps.Proposals[1].Declared != "proposals[remove-org2]" || ps.Height != 9 {
		t.Fatalf("proposals -o json: %v %+v\n%s", err, ps, out)
	}
	if out, err := plugin("membership", "corp"); err != nil || !strings.Contains(out, "from status.governance") || !strings.Contains(out, "org2") {
		t.Fatalf("membership from status: %v\n%s", err, out)
	}

	// export-genesis: spec.join for a joining cluster, its hash the file's.
	out, err = plugin("export-genesis", "corp")
	var snippet joinSnippet
	if err != nil || yaml.UnmarshalStrict([]byte(out), &snippet) != nil || snippet.Join.GenesisHash != hash ||
		strings.Join(snippet.Join.BootstrapPeers, ",") != status.Governance.Local[0].Endpoints[0] {
		t.Fatalf("export-genesis: %v\n%s", err, out)
	}
	if f, err := genesis.Parse([]byte(snippet.Join.Genesis)); err != nil {
		t.Fatal(err)
	} else if h, _ := f.Hash(); h != hash {
		t.Fatalf("the exported genesis hashes to %s, not %s", h, hash)
	}
	if out, err := plugin("export-genesis", "corp", "--genesis-only"); err != nil || out != text {
		t.Fatalf("--genesis-only: %v\n%s", err, out)
	}

	// A real node of org1 on this genesis as the network's pod: the reading verbs ask it
	// through the API server's pod proxy.
	ip := hostIP()
	if ip == "" {
		t.Log("no global unicast IPv4 address on this machine: the pod proxy part is left out")
		return
	}
	dir := t.TempDir()
	genPath := filepath.Join(dir, "genesis.json")
	os.WriteFile(genPath, []byte(text), 0o644)
	n, err := node.New(node.Config{DataDir: dir, GenesisPath: genPath, APIAddr: ip + ":0", Org: "org1"})
	if err != nil {
		t.Fatal(err)
	}
	nctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- n.Run(nctx) }()
	t.Cleanup(func() { cancel(); <-done })
	addr, err := n.APIAddr(nctx)
	if err != nil {
		t.Fatal(err)
	}
	got = fetch()
	got.Spec.Service.APIPort = int32(addr.(*net.TCPAddr).Port)
	if err := k8s.Update(ctx, got); err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "corp-org1-validator-0", Namespace: "gov",
		Labels: map[string]string{controllers.LabelNetwork: "corp", controllers.LabelComponent: "node", controllers.LabelOrg: "org1"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "chainnode", Image: "chainnode"}}}}
	if err := k8s.Create(ctx, pod); err != nil {
		t.Fatal(err)
	}
	pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}},
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}
	if err := k8s.Status().Update(ctx, pod); err != nil {
		t.Fatal(err)
	}
	var m networkMembership
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err = plugin("membership", "corp", "-o", "json")
		if err == nil && json.Unmarshal([]byte(out), &m) == nil && m.Source == "pod corp-org1-validator-0" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("membership through the pod proxy: %v\n%s", err, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if m.Policy == nil || len(m.Organizations) != 2 || !m.Organizations[0].Local || m.Organizations[1].AdminKey != hexKey(t, 20) {
		t.Fatalf("membership from the node: %+v", m)
	}
	out, err = plugin("proposals", "corp", "--node", "corp-org1-validator-0")
	if err != nil || !strings.Contains(out, "from pod corp-org1-validator-0") || !strings.Contains(out, "no open proposals at height 0") {
		t.Fatalf("proposals from the node: %v\n%s", err, out)
	}
	if out, err = plugin("membership", "corp", "--from-status"); err != nil || !strings.Contains(out, "from status.governance\n") {
		t.Fatalf("membership --from-status: %v\n%s", err, out)
	}
}
