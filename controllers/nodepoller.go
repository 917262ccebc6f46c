package controllers

import (
	"context"
	"encoding/json"
	"net"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/source"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
	"github.com/chainnet/chainnet/internal/api"
)

// Poller defaults: a round every PollInterval (a block interval or two of the demo's 5 s), at
// most PollConcurrency node requests in flight across all networks, each bounded by PollTimeout
// so that one hung node cannot hold a round, nor a worker of the reconciler.
const (
	PollInterval    = 2 * time.Second
	PollTimeout     = 1500 * time.Millisecond
	PollConcurrency = 32
)

// NodePoller reads every network's node APIs in the background and keeps the latest chain
// figures of each in memory. Reconcile reads them from here and makes no HTTP call for its
// status; a change that matters (a height, a tip, reachability, agreement) enqueues the network
// through Source, so its status follows the chain within a poll interval.
type NodePoller struct {
	// Reader lists networks and pods (the manager's cache).
	Reader client.Reader
	// Nodes reads one node's status and blocks.
	Nodes       NodeStatusReader
	Interval    time.Duration
	Timeout     time.Duration
	Concurrency int

	mu       sync.RWMutex
	observed map[types.NamespacedName]*chainv1.ChainStatus
	events   chan event.GenericEvent
	sem      chan struct{}
}

// NewNodePoller returns a poller with the default interval, timeout and concurrency.
func NewNodePoller(reader client.Reader, nodes NodeStatusReader) *NodePoller {
	return &NodePoller{Reader: reader, Nodes: nodes, Interval: PollInterval, Timeout: PollTimeout, Concurrency: PollConcurrency,
		observed: map[types.NamespacedName]*chainv1.ChainStatus{}, events: make(chan event.GenericEvent, 1024),
		sem: make(chan struct{}, PollConcurrency)}
}

// Source enqueues the networks whose chain figures changed.
func (p *NodePoller) Source() source.Source {
	return source.Channel(p.events, &handler.EnqueueRequestForObject{})
}

// Observed is a copy of the network's last chain figures; ok is false before its first poll.
func (p *NodePoller) Observed(key types.NamespacedName) (*chainv1.ChainStatus, bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	cs, ok := p.observed[key]
	return cs.DeepCopy(), ok
}

// NeedLeaderElection: only the leader reconciles, so only the leader needs the figures.
func (p *NodePoller) NeedLeaderElection() bool { return true }

// Start polls until ctx ends (manager.Runnable).
func (p *NodePoller) Start(ctx context.Context) error {
	if cap(p.sem) != p.Concurrency {
		p.sem = make(chan struct{}, max(p.Concurrency, 1))
	}
	t := time.NewTicker(p.Interval)
	defer t.Stop()
	for {
		p.PollOnce(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// PollOnce reads every network's nodes once, in parallel, and notifies the networks whose
// figures changed.
func (p *NodePoller) PollOnce(ctx context.Context) {
	var list chainv1.ChainNetworkList
	if err := p.Reader.List(ctx, &list); err != nil {
		log.FromContext(ctx).Error(err, "node poller: list networks")
		return
	}
	live := map[types.NamespacedName]bool{}
	var wg sync.WaitGroup
	for i := range list.Items {
		cn := &list.Items[i]
		if !cn.DeletionTimestamp.IsZero() || cn.Spec.Paused {
			continue
		}
		live[client.ObjectKeyFromObject(cn)] = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.pollNetwork(ctx, cn)
		}()
	}
	wg.Wait()
	p.mu.Lock()
	for k := range p.observed {
		if !live[k] {
			delete(p.observed, k)
		}
	}
	p.mu.Unlock()
}

func (p *NodePoller) pollNetwork(ctx context.Context, cn *chainv1.ChainNetwork) {
	var pods corev1.PodList
	if err := p.Reader.List(ctx, &pods, client.InNamespace(cn.Namespace), client.MatchingLabels{LabelNetwork: cn.Name, LabelComponent: "node"}); err != nil {
		log.FromContext(ctx).Error(err, "node poller: list pods", "network", cn.Name)
		return
	}
	cs := p.chainStatus(ctx, cn, pods.Items)
	key := client.ObjectKeyFromObject(cn)
	p.mu.Lock()
	prev, seen := p.observed[key]
	p.observed[key] = cs
	p.mu.Unlock()
	if seen && !chainChanged(prev, cs) {
		return
	}
	select {
	case p.events <- event.GenericEvent{Object: &chainv1.ChainNetwork{ObjectMeta: metav1.ObjectMeta{Name: cn.Name, Namespace: cn.Namespace}}}:
	case <-ctx.Done():
	}
}

// chainChanged: the figures differ in more than the hash rate (an estimate that moves on every
// read; it is refreshed with the next height anyway).
func chainChanged(a, b *chainv1.ChainStatus) bool {
	strip := func(cs *chainv1.ChainStatus) string {
		if cs == nil {
			return ""
		}
		c := cs.DeepCopy()
		c.HashRate = 0
		for i := range c.Nodes {
			c.Nodes[i].HashRate = 0
		}
		b, _ := json.Marshal(c)
		return string(b)
	}
	return strip(a) != strip(b)
}

// chainStatus asks every node pod for its view of the chain (by pod IP: works from inside
// and outside the cluster network alike) and checks that they agree at the lowest height.
func (p *NodePoller) chainStatus(ctx context.Context, cn *chainv1.ChainNetwork, pods []corev1.Pod) *chainv1.ChainStatus {
	if len(pods) == 0 {
		return nil
	}
	nodes := make([]chainv1.NodeStatus, len(pods))
	statuses := make([]*api.Status, len(pods))
	p.eachNode(ctx, cn, pods, func(ctx context.Context, i int, url string) {
		if s, err := p.Nodes.NodeStatus(ctx, url); err == nil {
			statuses[i] = s
		}
	})
	for i := range pods {
		nodes[i].Name = pods[i].Name
	}
	cs := summarize(nodes, statuses)
	p.checkAgreement(ctx, cn, pods, statuses, cs)
	return cs
}

// checkAgreement asks every reachable node for its block at the common height: nodes on one
// chain report the same hash there; any difference is a chain split.
func (p *NodePoller) checkAgreement(ctx context.Context, cn *chainv1.ChainNetwork, pods []corev1.Pod, statuses []*api.Status, cs *chainv1.ChainStatus) {
	var mu sync.Mutex
	hashes := map[string]bool{}
	p.eachNode(ctx, cn, pods, func(ctx context.Context, i int, url string) {
		if statuses[i] == nil {
			return
		}
		if h, err := p.Nodes.BlockHash(ctx, url, cs.CommonHeight); err == nil {
			mu.Lock()
			hashes[h] = true
			mu.Unlock()
		}
	})
	// Nodes that did not answer cannot clear a split summarize already saw at the tips.
	cs.Agree = cs.Agree && len(hashes) <= 1
}

// eachNode calls read for every pod with an IP, in parallel within the poller's concurrency
// bound, each call under its own timeout.
func (p *NodePoller) eachNode(ctx context.Context, cn *chainv1.ChainNetwork, pods []corev1.Pod, read func(ctx context.Context, i int, url string)) {
	var wg sync.WaitGroup
	for i := range pods {
		if pods[i].Status.PodIP == "" {
			continue
		}
		url := "http://" + net.JoinHostPort(pods[i].Status.PodIP, strconv.Itoa(int(cn.Spec.Service.APIPort)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case p.sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-p.sem }()
			ctx, cancel := context.WithTimeout(ctx, p.Timeout)
			defer cancel()
			read(ctx, i, url)
		}()
	}
	wg.Wait()
}
