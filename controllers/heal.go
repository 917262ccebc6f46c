package controllers

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
)

// ExitCorruptStore is chainnode's exit status when its store cannot be read (the node contract,
// docs/design/node-contract.md; cmd/chainnode defines the same value):
// restarting cannot help such a node; a fresh volume synced from peers can.
const ExitCorruptStore = 3

// Healing actions.
const (
	healReseed  = "Reseed"
	healRestart = "Restart"
)

// healAction is one repair: what, to which pod, and why.
type healAction struct {
	kind, pod, reason string
}

// planHealing decides the network's next repair from its pods and the chain figures just read
// from its nodes (pure: the reconciler carries it out). It also returns the lagging nodes with
// the time each was first seen lagging, carried over from prev. One action at a time: none while
// a rollout runs or within the grace period after the last one. A corrupt store is re-seeded only
// when another node is reachable and synced, so the chain can come back from a peer.
func planHealing(spec chainv1.SelfHealing, pods []corev1.Pod, cs *chainv1.ChainStatus, prev *chainv1.HealingStatus, rolling bool, now time.Time) (*healAction, []chainv1.LaggingNode) {
	if !spec.IsEnabled() || cs == nil {
		return nil, nil
	}
	grace := time.Duration(spec.GracePeriodSeconds) * time.Second
	since := map[string]metav1.Time{}
	if prev != nil {
		for _, l := range prev.Lagging {
			since[l.Name] = l.Since
		}
	}
	nodes := map[string]chainv1.NodeStatus{}
	var lagging []chainv1.LaggingNode
	for _, n := range cs.Nodes {
		nodes[n.Name] = n
		if n.Reachable && n.Height+spec.LagBlocks <= cs.BestHeight {
			t, ok := since[n.Name]
			if !ok {
				t = metav1.NewTime(now)
			}
			lagging = append(lagging, chainv1.LaggingNode{Name: n.Name, Since: t})
		}
	}
	if rolling || (prev != nil && prev.LastActionTime != nil && now.Sub(prev.LastActionTime.Time) < grace) {
		return nil, lagging
	}
	for _, p := range pods {
		if code, ok := lastExitCode(p); ok && code == ExitCorruptStore && peerHoldsChain(cs, p.Name) {
			return &healAction{kind: healReseed, pod: p.Name, reason: "its store is corrupt (exit status 3)"}, lagging
		}
	}
	for _, l := range lagging {
		if now.Sub(l.Since.Time) >= grace {
			n := nodes[l.Name]
			return &healAction{kind: healRestart, pod: l.Name,
				reason: fmt.Sprintf("height %d, %d behind the best %d for %s", n.Height, cs.BestHeight-n.Height, cs.BestHeight, now.Sub(l.Since.Time).Round(time.Second))}, lagging
		}
	}
	return nil, lagging
}

// lastExitCode is the chainnode container's exit status, from its current state if it has
// terminated, else from its previous run.
func lastExitCode(p corev1.Pod) (int32, bool) {
	for _, c := range p.Status.ContainerStatuses {
		if c.Name != "chainnode" {
			continue
		}
		if t := c.State.Terminated; t != nil {
			return t.ExitCode, true
		}
		// Waiting to restart (CrashLoopBackOff) or just restarted and not ready: how it ended last.
		if t := c.LastTerminationState.Terminated; t != nil && !c.Ready {
			return t.ExitCode, true
		}
	}
	return 0, false
}

// peerHoldsChain: a node other than pod answers, is synced and has blocks.
func peerHoldsChain(cs *chainv1.ChainStatus, pod string) bool {
	for _, n := range cs.Nodes {
		if n.Name != pod && n.Reachable && n.Synced && n.Height > 0 {
			return true
		}
	}
	return false
}

// heal plans and carries out the network's next repair, and records it in st.Healing.
func (r *ChainNetworkReconciler) heal(ctx context.Context, cn *chainv1.ChainNetwork, st *chainv1.ChainNetworkStatus, pods []corev1.Pod, rolling bool) error {
	action, lagging := planHealing(cn.Spec.SelfHealing, pods, st.Chain, st.Healing, rolling, time.Now())
	h := st.Healing
	if h == nil {
		h = &chainv1.HealingStatus{}
	}
	h.Lagging = lagging
	if action != nil {
		if err := r.carryOut(ctx, cn, action); err != nil {
			return err
		}
		now := metav1.Now()
		h.LastAction, h.LastActionTime = fmt.Sprintf("%s %s: %s", action.kind, action.pod, action.reason), &now
		if action.kind == healReseed {
			h.Reseeds++
		} else {
			h.Restarts++
		}
		h.Lagging = dropLagging(h.Lagging, action.pod)
	}
	if h.Restarts == 0 && h.Reseeds == 0 && len(h.Lagging) == 0 {
		h = nil
	}
	st.Healing = h
	return nil
}

func (r *ChainNetworkReconciler) carryOut(ctx context.Context, cn *chainv1.ChainNetwork, a *healAction) error {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: a.pod, Namespace: cn.Namespace}}
	switch a.kind {
	case healReseed:
		// The claim goes first: it stays (Terminating) while the pod uses it, and the StatefulSet
		// controller creates a fresh one for the new pod once it is gone.
		pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: DataClaimName(a.pod), Namespace: cn.Namespace}}
		if err := r.Delete(ctx, pvc); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("re-seed %s: delete its volume claim: %w", a.pod, err)
		}
		if err := r.Delete(ctx, pod, client.GracePeriodSeconds(0)); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("re-seed %s: delete the pod: %w", a.pod, err)
		}
		r.event(cn, corev1.EventTypeWarning, "NodeReseeded", "%s: %s; its volume is replaced and it syncs from its peers", a.pod, a.reason)
	case healRestart:
		if err := r.Delete(ctx, pod); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("restart %s: %w", a.pod, err)
		}
		r.event(cn, corev1.EventTypeWarning, "NodeRestarted", "%s: %s", a.pod, a.reason)
	}
	healingActions.WithLabelValues(cn.Namespace, cn.Name, a.kind).Inc()
	return nil
}

func dropLagging(l []chainv1.LaggingNode, name string) []chainv1.LaggingNode {
	out := l[:0:0]
	for _, n := range l {
		if n.Name != name {
			out = append(out, n)
		}
	}
	return out
}
