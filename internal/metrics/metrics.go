// Package metrics owns the node's Prometheus collectors, registered on a registry of the node's
// own (no global state), which the API serves at /metrics.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

const namespace = "chainnode"

// Node holds the node-level collectors. The P2P layer registers its own on Registry.
type Node struct {
	Registry *prometheus.Registry

	Height         prometheus.Gauge
	TotalWork      prometheus.Gauge
	Difficulty     prometheus.Gauge
	HashRate       prometheus.Gauge
	BlocksMined    prometheus.Counter
	BlocksAccepted *prometheus.CounterVec // by status: connected, side-chain, orphan, duplicate
	BlocksRejected *prometheus.CounterVec // by rule
	Reorgs         prometheus.Counter
	ReorgDepth     prometheus.Histogram
	Orphans        prometheus.Gauge
	MempoolTxs     prometheus.Gauge
	MempoolBytes   prometheus.Gauge
	TxAccepted     prometheus.Counter
	TxRejected     *prometheus.CounterVec // by rule
	BlockInterval  prometheus.Histogram
	APIRequests    *prometheus.CounterVec // by route and code
	Synced         prometheus.Gauge
	PermissionsVer prometheus.Gauge
}

// New creates and registers the collectors (plus Go and process collectors).
func New() *Node {
	reg := prometheus.NewRegistry()
	f := func(c prometheus.Collector) { reg.MustRegister(c) }
	n := &Node{
		Registry:       reg,
		Height:         prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: "chain_height", Help: "Height of the best chain."}),
		TotalWork:      prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: "chain_total_work", Help: "Cumulative work of the best chain (expected hashes)."}),
		Difficulty:     prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: "chain_difficulty", Help: "Difficulty (expected hashes per block) of the tip."}),
		HashRate:       prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: "miner_hashrate", Help: "Local miner hashes per second."}),
		BlocksMined:    prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: "miner_blocks_mined_total", Help: "Blocks mined by this node and accepted."}),
		BlocksAccepted: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "blocks_processed_total", Help: "Blocks processed without error, by outcome."}, []string{"status"}),
		BlocksRejected: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "blocks_rejected_total", Help: "Blocks rejected, by the rule they broke."}, []string{"rule"}),
		Reorgs:         prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: "chain_reorgs_total", Help: "Reorganisations of the best chain."}),
		ReorgDepth:     prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: namespace, Name: "chain_reorg_depth", Help: "Blocks disconnected per reorganisation.", Buckets: []float64{1, 2, 3, 5, 10, 20, 50, 100}}),
		Orphans:        prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: "chain_orphans", Help: "Blocks waiting for their parent."}),
		MempoolTxs:     prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: "mempool_transactions", Help: "Transactions in the mempool."}),
		MempoolBytes:   prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: "mempool_bytes", Help: "Encoded size of the mempool."}),
		TxAccepted:     prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: "tx_accepted_total", Help: "Transactions admitted to the mempool."}),
		TxRejected:     prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "tx_rejected_total", Help: "Transactions refused, by rule."}, []string{"rule"}),
		BlockInterval:  prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: namespace, Name: "chain_block_interval_seconds", Help: "Timestamp difference between consecutive best-chain blocks.", Buckets: prometheus.ExponentialBuckets(1, 2, 10)}),
		APIRequests:    prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "api_requests_total", Help: "HTTP API requests by route and status code."}, []string{"route", "code"}),
		Synced:         prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: "synced", Help: "1 when the node considers itself caught up with its peers."}),
		PermissionsVer: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: "permissions_version", Help: "Version of the loaded permission file (0: none)."}),
	}
	for _, c := range []prometheus.Collector{n.Height, n.TotalWork, n.Difficulty, n.HashRate, n.BlocksMined, n.BlocksAccepted,
		n.BlocksRejected, n.Reorgs, n.ReorgDepth, n.Orphans, n.MempoolTxs, n.MempoolBytes, n.TxAccepted, n.TxRejected,
		n.BlockInterval, n.APIRequests, n.Synced, n.PermissionsVer,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})} {
		f(c)
	}
	return n
}
