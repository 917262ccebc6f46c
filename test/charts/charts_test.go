// Package charts tests the Helm charts with a real helm (built from source into bin/ by
// hack/build-tools.sh): lint, render with each membership's values, values-schema rejections,
// and that the chart's CRD is the generated one.
package charts

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
)

const root = "../.."

func helmBin(t *testing.T) string {
	t.Helper()
	h, err := filepath.Abs(filepath.Join(root, "bin", "helm"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(h); err != nil {
		t.Skip("bin/helm missing: run `make tools`")
	}
	return h
}

func helm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(helmBin(t), args...)
	cmd.Dir = root
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		return out.String() + errb.String(), err
	}
	return out.String(), nil
}

// docs splits a rendered stream into objects.
func docs(t *testing.T, s string) []map[string]any {
	var out []map[string]any
	for _, d := range strings.Split(s, "\n---") {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(d), &m); err != nil {
			t.Fatalf("rendered YAML: %v\n%s", err, d)
		}
		if m != nil {
			out = append(out, m)
		}
	}
	return out
}

func kinds(objs []map[string]any) map[string]int {
	k := map[string]int{}
	for _, o := range objs {
		k[o["kind"].(string)]++
	}
	return k
}

func TestLint(t *testing.T) {
	for _, args := range [][]string{
		{"lint", "--strict", "charts/chainnet-operator"},
		{"lint", "--strict", "charts/chainnet-operator", "--set", "dashboards.enabled=true,alerts.enabled=true,metrics.serviceMonitor.enabled=true"},
		{"lint", "--strict", "charts/chainnet-network"},
		{"lint", "--strict", "charts/chainnet-network", "-f", "charts/chainnet-network/ci/consortium-values.yaml"},
		{"lint", "--strict", "charts/chainnet-network", "-f", "charts/chainnet-network/ci/private-values.yaml"},
	} {
		if out, err := helm(t, args...); err != nil {
			t.Errorf("helm %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

func TestOperatorChartRendersAndKeepsTheGeneratedCRD(t *testing.T) {
	out, err := helm(t, "template", "chainnet", "charts/chainnet-operator", "--namespace", "chainnet-system",
		"--set", "dashboards.enabled=true,alerts.enabled=true,metrics.serviceMonitor.enabled=true")
	if err != nil {
		t.Fatal(out)
	}
	objs := docs(t, out)
	want := map[string]int{"CustomResourceDefinition": 1, "Deployment": 1, "ServiceAccount": 1, "ClusterRole": 5, "ClusterRoleBinding": 2,
		"Role": 1, "RoleBinding": 1, "Service": 1, "ServiceMonitor": 1, "PrometheusRule": 1, "ConfigMap": 1}
	if got := kinds(objs); !reflect.DeepEqual(got, want) {
		t.Fatalf("rendered kinds %v, want %v", got, want)
	}
	var crd map[string]any
	for _, o := range objs {
		if o["kind"] == "CustomResourceDefinition" {
			crd = o
		}
	}
	meta := crd["metadata"].(map[string]any)
	if meta["annotations"].(map[string]any)["helm.sh/resource-policy"] != "keep" {
		t.Fatal("the CRD must survive helm uninstall")
	}
	raw, err := os.ReadFile(filepath.Join(root, "config", "crd", "bases", "chainnet.io_chainnetworks.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var generated map[string]any
	if err := yaml.Unmarshal(raw, &generated); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(crd["spec"], generated["spec"]) {
		t.Fatal("the chart's CRD drifted from config/crd: run `make sync`")
	}
	for _, o := range objs {
		if o["kind"] == "Deployment" {
			img := o["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)["image"]
			version, _ := os.ReadFile(filepath.Join(root, "VERSION"))
			if img != "chainnet/operator:"+strings.TrimSpace(string(version)) {
				t.Fatalf("operator image %v does not follow VERSION", img)
			}
		}
	}

	out, err = helm(t, "template", "chainnet", "charts/chainnet-operator", "--set", "crds.install=false")
	if err != nil || strings.Contains(out, "kind: CustomResourceDefinition") {
		t.Fatalf("crds.install=false must leave the CRD out: %v", err)
	}
}

// named is the rendered object of kind and name (in namespace, when not empty), or nil.
func named(objs []map[string]any, kind, namespace, name string) map[string]any {
	for _, o := range objs {
		m := o["metadata"].(map[string]any)
		if o["kind"] == kind && m["name"] == name && (namespace == "" || m["namespace"] == namespace) {
			return o
		}
	}
	return nil
}

// managerArgs are the operator container's arguments.
func managerArgs(t *testing.T, objs []map[string]any) []any {
	t.Helper()
	for _, o := range objs {
		if o["kind"] == "Deployment" {
			return o["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)["args"].([]any)
		}
	}
	t.Fatal("no Deployment rendered")
	return nil
}

// grants says whether one of the rules allows verb on resource.
func grants(rules []any, resource, verb string) bool {
	for _, r := range rules {
		m := r.(map[string]any)
		res, _ := m["resources"].([]any)
		verbs, _ := m["verbs"].([]any)
		hasRes, hasVerb := false, false
		for _, x := range res {
			hasRes = hasRes || x == resource
		}
		for _, x := range verbs {
			hasVerb = hasVerb || x == verb
		}
		if hasRes && hasVerb {
			return true
		}
	}
	return false
}

func TestOperatorChartInstallsPerNamespace(t *testing.T) {
	out, err := helm(t, "template", "chainnet", "charts/chainnet-operator", "--namespace", "chainnet-system",
		"--set", "watchNamespaces={team-a,team-b}")
	if err != nil {
		t.Fatal(out)
	}
	objs := docs(t, out)
	for _, ns := range []string{"team-a", "team-b"} {
		role := named(objs, "Role", ns, "chainnet-chainnet-operator")
		if role == nil || named(objs, "RoleBinding", ns, "chainnet-chainnet-operator") == nil {
			t.Fatalf("no Role and RoleBinding in %s", ns)
		}
		if !grants(role["rules"].([]any), "secrets", "create") {
			t.Fatalf("the Role in %s lacks the operator's rules: %v", ns, role["rules"])
		}
	}
	for _, o := range objs {
		if o["kind"] == "ClusterRole" {
			if rules, _ := o["rules"].([]any); grants(rules, "secrets", "get") || grants(rules, "pods", "delete") {
				t.Fatalf("a namespace-scoped install grants Secrets or pods cluster-wide: %v", o["metadata"])
			}
		}
	}
	if !slices.Contains(managerArgs(t, objs), any("--watch-namespaces=team-a,team-b")) {
		t.Fatalf("the operator does not watch only its namespaces: %v", managerArgs(t, objs))
	}

	out, err = helm(t, "template", "chainnet", "charts/chainnet-operator", "--namespace", "chainnet-system")
	if err != nil {
		t.Fatal(out)
	}
	objs = docs(t, out)
	if role := named(objs, "ClusterRole", "", "chainnet-chainnet-operator"); role == nil || !grants(role["rules"].([]any), "secrets", "create") {
		t.Fatal("by default the operator's rules are a ClusterRole")
	}
	if kinds(objs)["Role"] != 1 {
		t.Fatal("by default the only Role is leader election's")
	}
}

func TestOperatorRulesAreNarrow(t *testing.T) {
	out, err := helm(t, "template", "chainnet", "charts/chainnet-operator")
	if err != nil {
		t.Fatal(out)
	}
	rules := named(docs(t, out), "ClusterRole", "", "chainnet-chainnet-operator")["rules"].([]any)
	// Nothing is ever updated (server-side apply patches); Leases are read past the cache;
	// NetworkPolicies and ServiceMonitors are never deleted.
	for _, denied := range [][2]string{{"secrets", "update"}, {"configmaps", "delete"}, {"chainnetworks", "update"}, {"chainnetworks", "patch"},
		{"leases", "list"}, {"leases", "watch"}, {"leases", "update"}, {"statefulsets", "update"}, {"networkpolicies", "delete"}} {
		if grants(rules, denied[0], denied[1]) {
			t.Errorf("the operator may %s %s: it never does", denied[1], denied[0])
		}
	}
	for _, needed := range [][2]string{{"secrets", "create"}, {"pods", "delete"}, {"persistentvolumeclaims", "patch"}, {"leases", "create"}} {
		if !grants(rules, needed[0], needed[1]) {
			t.Errorf("the operator may not %s %s", needed[1], needed[0])
		}
	}
}

func TestOperatorMetricsAreServedSecurely(t *testing.T) {
	out, err := helm(t, "template", "chainnet", "charts/chainnet-operator", "--set", "metrics.serviceMonitor.enabled=true")
	if err != nil {
		t.Fatal(out)
	}
	objs := docs(t, out)
	if !slices.Contains(managerArgs(t, objs), any("--metrics-secure=true")) {
		t.Fatalf("metrics are not served over HTTPS with authn/authz by default: %v", managerArgs(t, objs))
	}
	sm := named(objs, "ServiceMonitor", "", "chainnet-chainnet-operator")
	ep := sm["spec"].(map[string]any)["endpoints"].([]any)[0].(map[string]any)
	if ep["scheme"] != "https" || ep["bearerTokenFile"] == nil {
		t.Fatalf("the ServiceMonitor does not scrape with HTTPS and a token: %v", ep)
	}
	if cr := named(objs, "ClusterRole", "", "chainnet-chainnet-operator-cluster"); cr == nil || !grants(cr["rules"].([]any), "tokenreviews", "create") {
		t.Fatal("the operator cannot review the scrapers' tokens")
	}
}

func TestOperatorReplicasElectALeader(t *testing.T) {
	out, err := helm(t, "template", "chainnet", "charts/chainnet-operator", "--set", "replicaCount=2")
	if err != nil {
		t.Fatal(out)
	}
	objs := docs(t, out)
	if !slices.Contains(managerArgs(t, objs), any("--leader-elect=true")) {
		t.Fatalf("two replicas without leader election: %v", managerArgs(t, objs))
	}
	if pdb := named(objs, "PodDisruptionBudget", "", "chainnet-chainnet-operator"); pdb == nil || pdb["spec"].(map[string]any)["minAvailable"] != float64(1) {
		t.Fatal("two replicas: a drain must leave one (PodDisruptionBudget minAvailable 1)")
	}
	for _, o := range objs {
		if o["kind"] == "Deployment" && o["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["affinity"] == nil {
			t.Fatal("two replicas are not spread over nodes")
		}
	}
	if out, _ := helm(t, "template", "chainnet", "charts/chainnet-operator"); strings.Contains(out, "kind: PodDisruptionBudget") {
		t.Fatal("one replica: a PodDisruptionBudget would block every drain")
	}
	if out, err := helm(t, "template", "chainnet", "charts/chainnet-operator", "--set", "leaderElection=false"); err != nil {
		t.Fatalf("one replica may run without leader election: %s", out)
	}
}

func TestNetworkChartRendersEachMembership(t *testing.T) {
	for _, tc := range []struct{ values, membership string }{
		{"", "public"}, {"charts/chainnet-network/ci/consortium-values.yaml", "consortium"}, {"charts/chainnet-network/ci/private-values.yaml", "private"},
	} {
		args := []string{"template", "mynet", "charts/chainnet-network", "--namespace", "chains"}
		if tc.values != "" {
			args = append(args, "-f", tc.values)
		}
		out, err := helm(t, args...)
		if err != nil {
			t.Fatal(out)
		}
		var cn chainv1.ChainNetwork
		if err := yaml.UnmarshalStrict([]byte(out), &cn); err != nil {
			t.Fatalf("%s: not a ChainNetwork the API accepts field by field: %v\n%s", tc.membership, err, out)
		}
		if string(cn.Spec.Membership) != tc.membership || cn.Name != "mynet" || len(cn.Spec.Organizations) == 0 {
			t.Fatalf("%s: rendered %+v", tc.membership, cn.Spec)
		}
	}
}

func TestValuesSchemaRejectsWrongValues(t *testing.T) {
	for _, tc := range []struct {
		chart string
		set   string
		want  string
	}{
		{"charts/chainnet-operator", "replicaCount=0", "replicaCount"},
		{"charts/chainnet-operator", "image.pullPolicy=Sometimes", "pullPolicy"},
		{"charts/chainnet-operator", "unknownKey=1", "unknownKey"},
		{"charts/chainnet-operator", "watchNamespaces={Not_A_Namespace}", "watchNamespaces"},
		{"charts/chainnet-operator", "replicaCount=2,leaderElection=false", "leaderElection"},
		{"charts/chainnet-network", "membership=open", "membership"},
		{"charts/chainnet-network", "organizations[0].name=Bad_Name", "name"},
		{"charts/chainnet-network", "organizations[0].validators=99", "validators"},
	} {
		out, err := helm(t, "template", "x", tc.chart, "--set", tc.set)
		if err == nil || !strings.Contains(out, tc.want) {
			t.Errorf("%s --set %s: want a schema error naming %s, got %v\n%s", tc.chart, tc.set, tc.want, err, out)
		}
	}
}
