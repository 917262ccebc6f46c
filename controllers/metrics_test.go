package controllers

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
)

// seriesOf counts the series of c labelled with the network (other tests' networks share the
// collectors).
func seriesOf(t *testing.T, c prometheus.Collector, namespace, network string) int {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range families {
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["namespace"] == namespace && labels["network"] == network {
				n++
			}
		}
	}
	return n
}

func TestADeletedNetworkLeavesNoSeries(t *testing.T) {
	split := &chainv1.ChainNetworkStatus{ReadyNodes: 1, DesiredNodes: 3, Chain: &chainv1.ChainStatus{Agree: false, BestHeight: 9}}
	for _, name := range []string{"gone", "kept"} {
		recordNetworkMetrics(&chainv1.ChainNetwork{ObjectMeta: metav1.ObjectMeta{Namespace: "metrics-test", Name: name}}, split)
		healingActions.WithLabelValues("metrics-test", name, "Restart").Inc()
	}
	forgetNetworkMetrics("metrics-test", "gone")
	for name, c := range map[string]prometheus.Collector{"chain_split": networkChainSplit, "ready_nodes": networkReadyNodes,
		"desired_nodes": networkDesiredNodes, "best_height": networkBestHeight, "healing_actions_total": healingActions} {
		if n := seriesOf(t, c, "metrics-test", "gone"); n != 0 {
			t.Errorf("chainnet_network_%s: the deleted network still has %d series", name, n)
		}
		if n := seriesOf(t, c, "metrics-test", "kept"); n != 1 {
			t.Errorf("chainnet_network_%s: the other network has %d series, want 1", name, n)
		}
	}
}
