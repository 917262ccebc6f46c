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
	want := map[string]int{"CustomResourceDefinition": 1, "Deployment": 1, "ServiceAccount": 1, "ClusterRole": 3, "ClusterRoleBinding": 1,
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
