package p2p

import (
	"github.com/prometheus/client_golang/prometheus"
)

type netMetrics struct {
	peers             *prometheus.GaugeVec   // by direction
	messages          *prometheus.CounterVec // by direction, type
	bytes             *prometheus.CounterVec // by direction, type
	misbehaviour      *prometheus.CounterVec // by reason
	bans              prometheus.Counter
	refused           *prometheus.CounterVec // handshakes refused, by reason
	dropped           *prometheus.CounterVec // peer input ignored beyond a limit, by what
	pendingHandshakes prometheus.Gauge
	reassigned        prometheus.Counter
	propagation       prometheus.Histogram
	blocksInFight     prometheus.Gauge
	headersBest       prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *netMetrics {
	const ns, sub = "chainnode", "p2p"
	m := &netMetrics{
		peers: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "peers",
			Help: "Connected peers (handshake done), by direction."}, []string{"direction"}),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "messages_total",
			Help: "P2P messages, by direction (in/out) and type."}, []string{"direction", "type"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "bytes_total",
			Help: "P2P frame bytes, by direction (in/out) and type."}, []string{"direction", "type"}),
		misbehaviour: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "misbehaviour_total",
			Help: "Ban-score increments, by reason."}, []string{"reason"}),
		bans: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "bans_total",
			Help: "Peers banned after their ban score passed the threshold."}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "handshakes_refused_total",
			Help: "Connections refused during TLS or the version handshake, by reason."}, []string{"reason"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "dropped_total",
			Help: "Peer input ignored because the peer passed a limit (announcements held, address rate, request size), by what."}, []string{"what"}),
		pendingHandshakes: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "handshakes_pending",
			Help: "Inbound handshakes in progress."}),
		reassigned: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "head_blocks_reassigned_total",
			Help: "Head-of-queue blocks asked of another peer because the peer asked was slow."}),
		propagation: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub, Name: "block_propagation_seconds",
			Help:    "Delay from a peer block's header timestamp (whole seconds) to its connection here.",
			Buckets: []float64{0.5, 1, 2, 3, 5, 10, 20, 60, 300}}),
		blocksInFight: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "blocks_in_flight",
			Help: "Block bodies requested and not yet received."}),
		headersBest: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "best_header_height",
			Help: "Height of the best validated header chain announced by a peer."}),
	}
	for _, c := range []prometheus.Collector{m.peers, m.messages, m.bytes, m.misbehaviour, m.bans, m.refused, m.dropped, m.pendingHandshakes, m.reassigned,
		m.propagation, m.blocksInFight, m.headersBest} {
		_ = reg.Register(c)
	}
	return m
}
