package controllers

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
)

// Network gauges on the operator's /metrics, for alerts that need the operator's view (a chain
// split is different blocks at one height: no single node can report it).
var (
	networkChainSplit = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "chainnet_network_chain_split",
		Help: "1 when the network's reachable nodes have different blocks at their common height."}, []string{"namespace", "network"})
	networkReadyNodes = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "chainnet_network_ready_nodes",
		Help: "Ready node pods of the network."}, []string{"namespace", "network"})
	networkDesiredNodes = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "chainnet_network_desired_nodes",
		Help: "Node pods the network's spec asks for."}, []string{"namespace", "network"})
	networkBestHeight = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "chainnet_network_best_height",
		Help: "Highest height reported by the network's nodes."}, []string{"namespace", "network"})
	healingActions = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "chainnet_network_healing_actions_total",
		Help: "Nodes repaired by self-healing, by action (Restart, Reseed)."}, []string{"namespace", "network", "action"})
)

func init() {
	metrics.Registry.MustRegister(networkChainSplit, networkReadyNodes, networkDesiredNodes, networkBestHeight, healingActions)
}

func recordNetworkMetrics(cn *chainv1.ChainNetwork, st *chainv1.ChainNetworkStatus) {
	l := prometheus.Labels{"namespace": cn.Namespace, "network": cn.Name}
	networkReadyNodes.With(l).Set(float64(st.ReadyNodes))
	networkDesiredNodes.With(l).Set(float64(st.DesiredNodes))
	split := 0.0
	if st.Chain != nil {
		if !st.Chain.Agree {
			split = 1
		}
		networkBestHeight.With(l).Set(float64(st.Chain.BestHeight))
	}
	networkChainSplit.With(l).Set(split)
}

// forgetNetworkMetrics drops a deleted network's gauges and counters: left behind, its last
// values would be scraped for as long as the operator runs (a chain split or missing nodes
// alerting forever for a network that is gone).
func forgetNetworkMetrics(namespace, name string) {
	l := prometheus.Labels{"namespace": namespace, "network": name}
	networkChainSplit.DeletePartialMatch(l)
	networkReadyNodes.DeletePartialMatch(l)
	networkDesiredNodes.DeletePartialMatch(l)
	networkBestHeight.DeletePartialMatch(l)
	healingActions.DeletePartialMatch(l)
}
