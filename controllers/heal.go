package controllers

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
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

// healAction is one repair: what, to which pod (the one seen when it was planned), and why.
type healAction struct {
	kind, pod, reason string
	uid               types.UID
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
		if storeCorrupt(p) && peerHoldsChain(cs, p.Name) {
			return &healAction{kind: healReseed, pod: p.Name, uid: p.UID, reason: "its store is corrupt (exit status 3)"}, lagging
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

// storeCorrupt: the chainnode container is down now because its store is corrupt: it has
// terminated with exit status 3, or it waits to be started again (CrashLoopBackOff) after
// exiting 3. A container running again (even not ready yet, while it syncs) is not: its volume
// is not wiped for how a previous run ended.
func storeCorrupt(p corev1.Pod) bool {
	for _, c := range p.Status.ContainerStatuses {
		if c.Name != "chainnode" {
			continue
		}
		if t := c.State.Terminated; t != nil {
			return t.ExitCode == ExitCorruptStore
		}
		if t := c.LastTerminationState.Terminated; c.State.Waiting != nil && t != nil {
			return t.ExitCode == ExitCorruptStore
		}
	}
	return false
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
		done, err := r.carryOut(ctx, cn, action)
		if err != nil {
			return err
		}
		if !done {
			action = nil // the pod changed since it was seen: planned again on the next pass
		}
	}
	if action != nil {
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

// carryOut does a planned repair to the pod it was planned for, read again past the cache: a
// pod replaced since (another UID) or, for a re-seed, running again is left alone (done is
// false). Deletes are graceful and conditional on the UIDs read: a StatefulSet pod is never
// force-deleted (two pods could run with one identity and one volume), and a claim or pod
// created since is never the one deleted.
func (r *ChainNetworkReconciler) carryOut(ctx context.Context, cn *chainv1.ChainNetwork, a *healAction) (bool, error) {
	var pod corev1.Pod
	if err := r.liveReader().Get(ctx, client.ObjectKey{Namespace: cn.Namespace, Name: a.pod}, &pod); err != nil {
		return false, client.IgnoreNotFound(err)
	}
	if err := checkOwner(cn, &pod, ""); err != nil {
		return false, err
	}
	if (a.uid != "" && pod.UID != a.uid) || pod.DeletionTimestamp != nil {
		return false, nil
	}
	switch a.kind {
	case healReseed:
		if !storeCorrupt(pod) {
			return false, nil
		}
		if err := r.deleteClaim(ctx, cn, DataClaimName(a.pod)); err != nil {
			return false, fmt.Errorf("re-seed %s: %w", a.pod, err)
		}
		if err := r.Delete(ctx, &pod, client.Preconditions{UID: &pod.UID}); err != nil && !apierrors.IsNotFound(err) {
			return false, fmt.Errorf("re-seed %s: delete the pod: %w", a.pod, err)
		}
		r.event(cn, corev1.EventTypeWarning, "NodeReseeded", "%s: %s; its volume is replaced and it syncs from its peers", a.pod, a.reason)
	case healRestart:
		if err := r.Delete(ctx, &pod, client.Preconditions{UID: &pod.UID}); err != nil && !apierrors.IsNotFound(err) {
			return false, fmt.Errorf("restart %s: %w", a.pod, err)
		}
		r.event(cn, corev1.EventTypeWarning, "NodeRestarted", "%s: %s", a.pod, a.reason)
	}
	healingActions.WithLabelValues(cn.Namespace, cn.Name, a.kind).Inc()
	return true, nil
}

// deleteClaim deletes a node's data claim. It goes first: it stays (Terminating) while the pod
// uses it, and the StatefulSet controller creates a fresh one for the new pod once it is gone.
func (r *ChainNetworkReconciler) deleteClaim(ctx context.Context, cn *chainv1.ChainNetwork, name string) error {
	var pvc corev1.PersistentVolumeClaim
	if err := r.liveReader().Get(ctx, client.ObjectKey{Namespace: cn.Namespace, Name: name}, &pvc); err != nil {
		return client.IgnoreNotFound(err)
	}
	if err := checkOwner(cn, &pvc, ""); err != nil {
		return err
	}
	if pvc.DeletionTimestamp != nil {
		return nil
	}
	if err := r.Delete(ctx, &pvc, client.Preconditions{UID: &pvc.UID}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete its volume claim: %w", err)
	}
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
