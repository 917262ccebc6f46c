package controllers

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
)

func healPod(name string, exit int32, ready bool) corev1.Pod {
	cs := corev1.ContainerStatus{Name: "chainnode", Ready: ready}
	if exit >= 0 {
		cs.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{ExitCode: exit}
		cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}
	} else {
		cs.State.Running = &corev1.ContainerStateRunning{}
	}
	return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{cs}}}
}

func TestPlanHealing(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	spec := chainv1.SelfHealing{LagBlocks: 10, GracePeriodSeconds: 60}
	off := false
	chain := func(nodes ...chainv1.NodeStatus) *chainv1.ChainStatus {
		cs := &chainv1.ChainStatus{Nodes: nodes}
		for _, n := range nodes {
			cs.BestHeight = max(cs.BestHeight, n.Height)
		}
		return cs
	}
	synced := func(name string, h int64) chainv1.NodeStatus {
		return chainv1.NodeStatus{Name: name, Reachable: true, Synced: true, Height: h}
	}
	lagSince := func(name string, ago time.Duration) *chainv1.HealingStatus {
		return &chainv1.HealingStatus{Lagging: []chainv1.LaggingNode{{Name: name, Since: metav1.NewTime(now.Add(-ago))}}}
	}
	cases := []struct {
		name       string
		spec       chainv1.SelfHealing
		pods       []corev1.Pod
		cs         *chainv1.ChainStatus
		prev       *chainv1.HealingStatus
		rolling    bool
		want       string // "kind pod" or ""
		wantLagged int
	}{
		{name: "healthy network: nothing", spec: spec, pods: []corev1.Pod{healPod("a", -1, true), healPod("b", -1, true)},
			cs: chain(synced("a", 100), synced("b", 99))},
		{name: "corrupt store with a synced peer: reseed", spec: spec, pods: []corev1.Pod{healPod("a", -1, true), healPod("b", 3, false)},
			cs: chain(synced("a", 100), chainv1.NodeStatus{Name: "b"}), want: "Reseed b"},
		{name: "corrupt store, no peer holds the chain: wait", spec: spec, pods: []corev1.Pod{healPod("a", -1, false), healPod("b", 3, false)},
			cs: chain(chainv1.NodeStatus{Name: "a"}, chainv1.NodeStatus{Name: "b"})},
		{name: "another crash (exit 1) is the kubelet's to restart", spec: spec, pods: []corev1.Pod{healPod("a", -1, true), healPod("b", 1, false)},
			cs: chain(synced("a", 100), chainv1.NodeStatus{Name: "b"})},
		{name: "exit 3 long ago, running and ready again: nothing", spec: spec,
			pods: []corev1.Pod{healPod("a", -1, true), func() corev1.Pod {
				p := healPod("b", 3, true)
				p.Status.ContainerStatuses[0].State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
				return p
			}()},
			cs: chain(synced("a", 100), synced("b", 100))},
		{name: "exit 3 before, running again but not ready yet (syncing): not wiped", spec: spec,
			pods: []corev1.Pod{healPod("a", -1, true), func() corev1.Pod {
				p := healPod("b", 3, false)
				p.Status.ContainerStatuses[0].State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
				return p
			}()},
			cs: chain(synced("a", 100), chainv1.NodeStatus{Name: "b", Reachable: true, Height: 100})},
		{name: "lagging, first seen now: tracked, not restarted", spec: spec, pods: []corev1.Pod{healPod("a", -1, true), healPod("b", -1, true)},
			cs: chain(synced("a", 100), synced("b", 80)), wantLagged: 1},
		{name: "lagging past the grace period: restart", spec: spec, pods: []corev1.Pod{healPod("a", -1, true), healPod("b", -1, true)},
			cs: chain(synced("a", 100), synced("b", 80)), prev: lagSince("b", 61*time.Second), want: "Restart b", wantLagged: 1},
		{name: "lag below the threshold: not lagging", spec: spec, pods: []corev1.Pod{healPod("a", -1, true), healPod("b", -1, true)},
			cs: chain(synced("a", 100), synced("b", 91)), prev: lagSince("b", time.Hour)},
		{name: "during a rollout: tracked, nothing done", spec: spec, pods: []corev1.Pod{healPod("a", -1, true), healPod("b", 3, false)},
			cs: chain(synced("a", 100), chainv1.NodeStatus{Name: "b"}), rolling: true},
		{name: "within the grace period after the last action: nothing", spec: spec, pods: []corev1.Pod{healPod("a", -1, true), healPod("b", 3, false)},
			cs:   chain(synced("a", 100), chainv1.NodeStatus{Name: "b"}),
			prev: &chainv1.HealingStatus{LastActionTime: &metav1.Time{Time: now.Add(-30 * time.Second)}}},
		{name: "disabled: nothing, nothing tracked", spec: chainv1.SelfHealing{Enabled: &off, LagBlocks: 10, GracePeriodSeconds: 60},
			pods: []corev1.Pod{healPod("a", -1, true), healPod("b", 3, false)}, cs: chain(synced("a", 100), synced("c", 1))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, lagging := planHealing(c.spec, c.pods, c.cs, c.prev, c.rolling, now)
			got := ""
			if a != nil {
				got = a.kind + " " + a.pod
			}
			if got != c.want {
				t.Errorf("action %q, want %q", got, c.want)
			}
			if len(lagging) != c.wantLagged {
				t.Errorf("lagging %v, want %d node(s)", lagging, c.wantLagged)
			}
			if c.prev != nil && len(c.prev.Lagging) > 0 && len(lagging) > 0 && !lagging[0].Since.Equal(&c.prev.Lagging[0].Since) {
				t.Errorf("the lag start moved: %v -> %v", c.prev.Lagging[0].Since, lagging[0].Since)
			}
		})
	}
}
