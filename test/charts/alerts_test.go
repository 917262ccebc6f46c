package charts

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"sigs.k8s.io/yaml"
)

// promtoolBin is bin/promtool, built from the Prometheus module by hack/build-promtool.sh.
func promtoolBin(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join(root, "bin", "promtool"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("bin/promtool missing: `make test` builds it (make promtool)")
		}
		t.Skip("bin/promtool missing: run `make promtool`")
	}
	return p
}

// renderedRules renders the operator chart's PrometheusRule with the default thresholds and
// returns its spec, which is a Prometheus rule file (groups).
func renderedRules(t *testing.T) []byte {
	t.Helper()
	out, err := helm(t, "template", "chainnet", "charts/chainnet-operator", "--namespace", "chainnet-system",
		"--set", "alerts.enabled=true", "--show-only", "templates/alerts.yaml")
	if err != nil {
		t.Fatal(out)
	}
	var rule struct {
		Kind string         `json:"kind"`
		Spec map[string]any `json:"spec"`
	}
	if err := yaml.Unmarshal([]byte(out), &rule); err != nil || rule.Kind != "PrometheusRule" {
		t.Fatalf("not a PrometheusRule (%v):\n%s", err, out)
	}
	spec, err := yaml.Marshal(rule.Spec)
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

// TestAlertsWithPromtool checks the rendered rules (promtool check rules) and evaluates every
// alert on series shaped like the scraped metrics (testdata/alerts.test.yaml): each fires when
// it should and not otherwise.
func TestAlertsWithPromtool(t *testing.T) {
	promtool := promtoolBin(t)
	dir := t.TempDir()
	cases, err := os.ReadFile(filepath.Join("testdata", "alerts.test.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "rules.yaml"), renderedRules(t), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "alerts.test.yaml"), cases, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"check", "rules", "rules.yaml"}, {"test", "rules", "alerts.test.yaml"}} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = dir
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			t.Errorf("promtool %v: %v\n%s", args, err, out.String())
		}
	}
}

// TestOperatorServiceMonitorHonorsLabels: the operator's gauges carry the network's namespace
// in "namespace"; without honorLabels Prometheus renames it exported_namespace and puts the
// operator's own namespace there, so the alerts would name the wrong namespace.
func TestOperatorServiceMonitorHonorsLabels(t *testing.T) {
	out, err := helm(t, "template", "chainnet", "charts/chainnet-operator", "--namespace", "chainnet-system",
		"--set", "metrics.serviceMonitor.enabled=true", "--show-only", "templates/metrics.yaml")
	if err != nil {
		t.Fatal(out)
	}
	for _, o := range docs(t, out) {
		if o["kind"] != "ServiceMonitor" {
			continue
		}
		eps := o["spec"].(map[string]any)["endpoints"].([]any)
		if len(eps) != 1 || eps[0].(map[string]any)["honorLabels"] != true {
			t.Fatalf("the operator's ServiceMonitor endpoints %v must set honorLabels: true", eps)
		}
		return
	}
	t.Fatal("no ServiceMonitor rendered")
}
