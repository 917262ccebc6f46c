package controllers

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
	"github.com/chainnet/chainnet/internal/api"
)

// silentBlocks answers status but never a block: the network's block endpoint is failing.
type silentBlocks struct{}

func (silentBlocks) NodeStatus(context.Context, string) (*api.Status, error) {
	return nil, errors.New("unused")
}
func (silentBlocks) BlockHash(context.Context, string, int64) (string, error) {
	return "", errors.New("connection refused")
}

func TestUnansweredBlockQueriesDoNotHideASplit(t *testing.T) {
	cn := network(chainv1.Public, org("default", 2, 0))
	pods := []corev1.Pod{{Status: corev1.PodStatus{PodIP: "10.0.0.1"}}, {Status: corev1.PodStatus{PodIP: "10.0.0.2"}}}
	statuses := []*api.Status{{Height: 7, BestHash: "a"}, {Height: 7, BestHash: "b"}}
	cs := summarize([]chainv1.NodeStatus{{Name: "a"}, {Name: "b"}}, statuses)
	p := NewNodePoller(nil, silentBlocks{})
	p.checkAgreement(context.Background(), cn, pods, statuses, cs)
	if cs.Agree {
		t.Fatal("different tips at the common height are a split even when block queries fail")
	}
}

// slowNodes answers every status after delay (or hangs until the request's deadline when
// delay is 0), at a height set by the test, and counts the requests in flight.
type slowNodes struct {
	delay            time.Duration
	height           atomic.Int64
	inFlight, peak   atomic.Int32
	statusesAnswered atomic.Int32
}

func (s *slowNodes) NodeStatus(ctx context.Context, url string) (*api.Status, error) {
	n := s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	for {
		p := s.peak.Load()
		if n <= p || s.peak.CompareAndSwap(p, n) {
			break
		}
	}
	if s.delay == 0 {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	s.statusesAnswered.Add(1)
	return &api.Status{Height: uint64(s.height.Load()), BestHash: "h"}, nil
}

func (s *slowNodes) BlockHash(context.Context, string, int64) (string, error) { return "h", nil }

// pollerWith returns a poller over a fake cache holding cn and pods node pods with IPs.
func pollerWith(t *testing.T, nodes NodeStatusReader, cn *chainv1.ChainNetwork, pods int) *NodePoller {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := chainv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := corev1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	objs := []client.Object{cn}
	for i := range pods {
		objs = append(objs, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: PodName(cn, "default", RoleValidator, int32(i)), Namespace: cn.Namespace,
			Labels: map[string]string{LabelNetwork: cn.Name, LabelComponent: "node"}}, Status: corev1.PodStatus{PodIP: "10.0.0.1"}})
	}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).WithStatusSubresource(&corev1.Pod{}).Build()
	return NewNodePoller(c, nodes)
}

func TestPollerBoundsConcurrencyAndTime(t *testing.T) {
	cn := network(chainv1.Public, org("default", 40, 0))
	hung := &slowNodes{}
	p := pollerWith(t, hung, cn, 40)
	p.Concurrency, p.Timeout = 8, 200*time.Millisecond
	p.sem = make(chan struct{}, p.Concurrency)
	start := time.Now()
	p.PollOnce(context.Background())
	// 40 hung nodes, 8 at a time, 200 ms each: 5 waves of one timeout.
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("a round over hung nodes took %s", d)
	}
	if hung.peak.Load() > 8 {
		t.Fatalf("%d requests in flight, bound 8", hung.peak.Load())
	}
	cs, ok := p.Observed(client.ObjectKeyFromObject(cn))
	if !ok || cs == nil || cs.Nodes[0].Reachable {
		t.Fatalf("hung nodes are observed unreachable: %+v", cs)
	}
}

func TestPollerNotifiesOnlyWhatChanged(t *testing.T) {
	cn := network(chainv1.Public, org("default", 2, 0))
	nodes := &slowNodes{delay: time.Millisecond}
	nodes.height.Store(5)
	p := pollerWith(t, nodes, cn, 2)
	notified := func() bool {
		select {
		case <-p.events:
			return true
		default:
			return false
		}
	}
	p.PollOnce(context.Background())
	if !notified() {
		t.Fatal("the first reading of a network enqueues it")
	}
	p.PollOnce(context.Background())
	if notified() {
		t.Fatal("the same figures enqueued the network again")
	}
	nodes.height.Store(6)
	p.PollOnce(context.Background())
	if !notified() {
		t.Fatal("a new height did not enqueue the network")
	}
	cs, _ := p.Observed(client.ObjectKeyFromObject(cn))
	if cs.BestHeight != 6 {
		t.Fatalf("observed height %d, want 6", cs.BestHeight)
	}
}

// Healing acts only on figures the poller read since the operator started: the chain figures
// of the previous status may be minutes old.
func TestStaleFiguresAreNotActedOn(t *testing.T) {
	cn := network(chainv1.Public, org("default", 2, 0))
	cn.Spec.SelfHealing = chainv1.SelfHealing{LagBlocks: 3}
	p := pollerWith(t, nil, cn, 2)
	r := &ChainNetworkReconciler{Client: p.Reader.(client.Client), Poller: p}
	lagging := PodName(cn, "default", RoleValidator, 1)
	chain := &chainv1.ChainStatus{BestHeight: 50, Nodes: []chainv1.NodeStatus{
		{Name: PodName(cn, "default", RoleValidator, 0), Reachable: true, Synced: true, Height: 50},
		{Name: lagging, Reachable: true, Synced: true, Height: 10}}}
	podExists := func() bool {
		return r.Get(context.Background(), client.ObjectKey{Namespace: cn.Namespace, Name: lagging}, &corev1.Pod{}) == nil
	}
	for _, fresh := range []bool{false, true} {
		st := &chainv1.ChainNetworkStatus{Chain: chain.DeepCopy()}
		if f := r.maintain(context.Background(), cn, &observation{status: st, fresh: fresh}); len(f) > 0 {
			t.Fatal(f.err())
		}
		if podExists() == fresh {
			t.Fatalf("fresh=%v: lagging pod restarted=%v", fresh, !podExists())
		}
	}
}
