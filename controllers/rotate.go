package controllers

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
	"github.com/chainnet/chainnet/internal/governance"
	"github.com/chainnet/chainnet/internal/permissions"
)

// Key rotation, one node at a time per network:
//
//  1. Admitting: new keys are generated into the Secret <key secret>-next; the organization's
//     keys on the chain gain them beside the node's current ones (the governance step signs the
//     update with the organization's admin key). Wait until the chain lists them, so that no
//     member refuses the new identity.
//  2. Restarting: recorded first, with the pod running the old keys; then the node's key Secret
//     takes the new keys, -next is deleted and that pod (by UID) restarted, each step again on
//     the next pass if it did not happen.
//     The old identity stays on the chain; the old miner key leaves it, in the block that carries
//     the update: blocks it signed before stay valid for every node that syncs later.
//  3. Completed: once the node answers with its new identity and has peers, the old node key
//     leaves the chain too.
//
// A Lease (<network>-key-rotation) names the rotation in progress, so two operators (or two
// reconciles) never rotate two nodes of one network at once.

const rotationLeaseSeconds = 900

func rotationSecretName(cn *chainv1.ChainNetwork, n node) string {
	return KeySecretName(cn, n.Org, n.Role, n.Ordinal) + "-next"
}

func rotationLeaseName(cn *chainv1.ChainNetwork) string { return cn.Name + "-key-rotation" }

// nodeByPod maps pod names to the spec's nodes.
func nodeByPod(cn *chainv1.ChainNetwork) map[string]node {
	out := map[string]node{}
	for _, n := range desiredNodes(cn) {
		out[PodName(cn, n.Org, n.Role, n.Ordinal)] = n
	}
	return out
}

// rotationStatus finds the status of a spec rotation.
func rotationStatus(st *chainv1.ChainNetworkStatus, k chainv1.KeyRotation) *chainv1.KeyRotationStatus {
	for i := range st.KeyRotations {
		if st.KeyRotations[i].Node == k.Node && st.KeyRotations[i].ID == k.ID {
			return &st.KeyRotations[i]
		}
	}
	return nil
}

// rotateKeys advances the first unfinished rotation of the spec by at most one phase and
// writes its status. It runs before the permission file is built, which reads that status.
// Each phase records what it is about to do before doing it (cloudnative-pg's targetPrimary):
// the swap is written as Restarting, with the pod to restart, before any Secret or pod is
// touched, and every step of a phase can run again after a crash or a failed write.
func (r *ChainNetworkReconciler) rotateKeys(ctx context.Context, cn *chainv1.ChainNetwork) error {
	active := activeRotation(cn)
	if active == nil {
		return nil // the last rotation released the Lease when it ended
	}
	holder := active.Node + "/" + active.ID
	if ok, err := r.acquireRotationLease(ctx, cn, holder); err != nil || !ok {
		return err
	}
	base := cn.DeepCopy()
	st := rotationStatus(&cn.Status, *active)
	if st == nil {
		cn.Status.KeyRotations = append(cn.Status.KeyRotations, chainv1.KeyRotationStatus{Node: active.Node, ID: active.ID})
		st = &cn.Status.KeyRotations[len(cn.Status.KeyRotations)-1]
	}
	act, err := r.advanceRotation(ctx, cn, st)
	if err != nil {
		return err
	}
	if !equalStatus(&base.Status, &cn.Status) {
		if err := r.Status().Patch(ctx, cn, client.MergeFrom(base)); err != nil {
			return fmt.Errorf("record key rotation %s: %w", holder, err)
		}
	}
	if act != nil {
		// The phase is recorded: what it asks for may now be done, and is done again on the
		// next pass if this fails.
		return act()
	}
	if st.Phase == chainv1.RotationCompleted || st.Phase == chainv1.RotationFailed {
		return r.releaseRotationLease(ctx, cn)
	}
	return nil
}

// activeRotation is the first rotation of the spec that has not ended.
func activeRotation(cn *chainv1.ChainNetwork) *chainv1.KeyRotation {
	for i := range cn.Spec.KeyRotations {
		s := rotationStatus(&cn.Status, cn.Spec.KeyRotations[i])
		if s == nil || (s.Phase != chainv1.RotationCompleted && s.Phase != chainv1.RotationFailed) {
			return &cn.Spec.KeyRotations[i]
		}
	}
	return nil
}

// advanceRotation moves st on by at most one phase. It returns the action the phase asks for,
// to be run only once st is recorded.
func (r *ChainNetworkReconciler) advanceRotation(ctx context.Context, cn *chainv1.ChainNetwork, st *chainv1.KeyRotationStatus) (func() error, error) {
	n, ok := nodeByPod(cn)[st.Node]
	if !ok {
		st.Phase, st.Message = chainv1.RotationFailed, fmt.Sprintf("the network has no node %q", st.Node)
		r.event(cn, corev1.EventTypeWarning, "KeyRotationFailed", "%s/%s: %s", st.Node, st.ID, st.Message)
		return nil, nil
	}
	switch st.Phase {
	case "":
		return nil, r.startRotation(ctx, cn, n, st)
	case chainv1.RotationAdmitting:
		if ok, err := r.rotationAdmitted(ctx, cn, n, st); err != nil || !ok {
			return nil, err
		}
		return r.recordSwap(ctx, cn, n, st)
	case chainv1.RotationRestarting:
		// A swap recorded but not (or not wholly) carried out is finished first.
		if err := r.swapKeys(ctx, cn, n, st); err != nil || st.Phase != chainv1.RotationRestarting {
			return nil, err
		}
		return r.checkRestarted(ctx, cn, st)
	}
	return nil, nil
}

// recordSwap moves an admitted rotation to Restarting and names the pod running with the old
// keys; the swap itself runs once that is recorded.
func (r *ChainNetworkReconciler) recordSwap(ctx context.Context, cn *chainv1.ChainNetwork, n node, st *chainv1.KeyRotationStatus) (func() error, error) {
	var pod corev1.Pod
	err := r.liveReader().Get(ctx, client.ObjectKey{Namespace: cn.Namespace, Name: st.Node}, &pod)
	if err != nil && !apierrors.IsNotFound(err) {
		return nil, err
	}
	if err == nil {
		if err := checkOwner(cn, &pod, n.Org); err != nil {
			return nil, err
		}
	}
	now := metav1.Now()
	st.Phase, st.RotatedAt, st.RestartPodUID = chainv1.RotationRestarting, &now, string(pod.UID)
	return func() error { return r.swapKeys(ctx, cn, n, st) }, nil
}

// checkRestarted completes the rotation once the node answers with its new identity and has
// peers. The kubelet may mount a Secret recreated under the same name with its old content for a
// while: a node that came back with its old identity is restarted again until it has the new one.
func (r *ChainNetworkReconciler) checkRestarted(ctx context.Context, cn *chainv1.ChainNetwork, st *chainv1.KeyRotationStatus) (func() error, error) {
	var pod corev1.Pod
	if err := r.Get(ctx, client.ObjectKey{Namespace: cn.Namespace, Name: st.Node}, &pod); err != nil {
		return nil, client.IgnoreNotFound(err)
	}
	if err := checkOwner(cn, &pod, ""); err != nil {
		return nil, err
	}
	if r.Nodes == nil || pod.Status.PodIP == "" || pod.DeletionTimestamp != nil {
		return nil, nil
	}
	s, err := r.Nodes.NodeStatus(ctx, "http://"+net.JoinHostPort(pod.Status.PodIP, strconv.Itoa(int(cn.Spec.Service.APIPort))))
	if err != nil {
		return nil, nil // not answering yet
	}
	switch {
	case s.NodeID == st.NewNodeID && s.Peers > 0:
		now := metav1.Now()
		st.Phase, st.CompletedAt = chainv1.RotationCompleted, &now
		r.event(cn, corev1.EventTypeNormal, "KeyRotated", "%s runs with node key %.16s and miner key %.16s; the old node key is retired, the old miner key revoked as of %s",
			st.Node, st.NewNodeID, st.NewMinerKey, st.RotatedAt.UTC().Format(time.RFC3339))
	case s.NodeID == st.OldNodeID && time.Since(pod.CreationTimestamp.Time) > 20*time.Second && string(pod.UID) != st.RestartPodUID:
		// Recorded first (the pod, by UID), restarted once that is written; a pass that finds the
		// restart recorded but not done does it (swapKeys).
		st.Restarts, st.RestartPodUID = st.Restarts+1, string(pod.UID)
		r.event(cn, corev1.EventTypeNormal, "KeysNotYetMounted", "%s came back with its old node key (the kubelet still had the old Secret): restarting it again", st.Node)
		return func() error { return r.restartOldPod(ctx, cn, st) }, nil
	}
	return nil, nil
}

// startRotation makes the new keys (kept in <key secret>-next until the swap) and records them.
func (r *ChainNetworkReconciler) startRotation(ctx context.Context, cn *chainv1.ChainNetwork, n node, st *chainv1.KeyRotationStatus) error {
	var current corev1.Secret // past the cache: the old keys recorded must be those the node runs with
	if err := r.liveReader().Get(ctx, client.ObjectKey{Namespace: cn.Namespace, Name: KeySecretName(cn, n.Org, n.Role, n.Ordinal)}, &current); err != nil {
		return err
	}
	if err := checkOwner(cn, &current, n.Org); err != nil {
		return err
	}
	old, err := keysOf(&current)
	if err != nil {
		return err
	}
	next, err := keySecret(cn, n)
	if err != nil {
		return err
	}
	next.Name = rotationSecretName(cn, n)
	// An earlier attempt may have created it: then next holds its keys, which win.
	if _, err := r.createOnce(ctx, cn, next); err != nil {
		return fmt.Errorf("create %s: %w", next.Name, err)
	}
	nk, err := keysOf(next)
	if err != nil {
		return err
	}
	st.Phase = chainv1.RotationAdmitting
	st.OldNodeID, st.OldMinerKey, st.NewNodeID, st.NewMinerKey = old.NodeID, old.MinerKey, nk.NodeID, nk.MinerKey
	r.event(cn, corev1.EventTypeNormal, "KeyRotationStarted", "%s: new node key %.16s admitted beside the old one", st.Node, nk.NodeID)
	return nil
}

// swapKeys puts the new keys into the node's key Secret, deletes <key secret>-next and restarts
// the pod recorded when the swap was decided. Every step finds out whether it is done already,
// so a swap cut short by a crash or a failed call is finished by the next pass. Both Secrets are
// read past the cache: a lagging cache would show the old keys after -next is gone.
func (r *ChainNetworkReconciler) swapKeys(ctx context.Context, cn *chainv1.ChainNetwork, n node, st *chainv1.KeyRotationStatus) error {
	name := KeySecretName(cn, n.Org, n.Role, n.Ordinal)
	var current corev1.Secret
	if err := r.liveReader().Get(ctx, client.ObjectKey{Namespace: cn.Namespace, Name: name}, &current); err != nil {
		return fmt.Errorf("keys of %s: %w", st.Node, err)
	}
	if err := checkOwner(cn, &current, n.Org); err != nil {
		return err
	}
	if k, err := keysOf(&current); err != nil || k.NodeID != st.NewNodeID {
		var next corev1.Secret
		err := r.liveReader().Get(ctx, client.ObjectKey{Namespace: cn.Namespace, Name: rotationSecretName(cn, n)}, &next)
		if apierrors.IsNotFound(err) {
			return r.rotationLost(cn, st, "its new keys are gone and its key Secret does not hold them")
		}
		if err != nil {
			return fmt.Errorf("new keys of %s: %w", st.Node, err)
		}
		if err := checkOwner(cn, &next, n.Org); err != nil {
			return err
		}
		if nk, err := keysOf(&next); err != nil || nk.NodeID != st.NewNodeID {
			return r.rotationLost(cn, st, "Secret "+next.Name+" does not hold the new keys recorded in status")
		}
		if err := r.installKeys(ctx, cn, &current, &next); err != nil {
			return fmt.Errorf("install the new keys of %s: %w", st.Node, err)
		}
		r.event(cn, corev1.EventTypeNormal, "KeysSwapped", "%s restarts with its new keys", st.Node)
	}
	next := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: rotationSecretName(cn, n), Namespace: cn.Namespace}}
	if err := r.Delete(ctx, next); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete %s: %w", next.Name, err)
	}
	return r.restartOldPod(ctx, cn, st)
}

// restartOldPod deletes the pod that ran with the old keys, by UID: its successor is left alone.
func (r *ChainNetworkReconciler) restartOldPod(ctx context.Context, cn *chainv1.ChainNetwork, st *chainv1.KeyRotationStatus) error {
	if st.RestartPodUID == "" {
		return nil
	}
	var pod corev1.Pod
	if err := r.Get(ctx, client.ObjectKey{Namespace: cn.Namespace, Name: st.Node}, &pod); err != nil {
		return client.IgnoreNotFound(err)
	}
	if string(pod.UID) != st.RestartPodUID || pod.DeletionTimestamp != nil {
		return nil
	}
	uid := pod.UID
	if err := r.Delete(ctx, &pod, client.Preconditions{UID: &uid}); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("restart %s: %w", st.Node, err)
	}
	return nil
}

// rotationLost fails a rotation whose new keys cannot be found: the node keeps its old keys, and a
// new rotation (another id) starts over.
func (r *ChainNetworkReconciler) rotationLost(cn *chainv1.ChainNetwork, st *chainv1.KeyRotationStatus, why string) error {
	st.Phase, st.Message = chainv1.RotationFailed, why
	r.event(cn, corev1.EventTypeWarning, "KeyRotationFailed", "%s/%s: %s", st.Node, st.ID, why)
	return nil
}

// installKeys puts the new keys into the node's key Secret: in place, so the kubelet (which
// watches it) mounts them into the restarted pod. A Secret made immutable by an earlier version
// is deleted and created again; the kubelet then serves its cached old keys until no pod of the
// StatefulSet on that node references it, which checkRestarted waits out by restarting the node.
func (r *ChainNetworkReconciler) installKeys(ctx context.Context, cn *chainv1.ChainNetwork, current, next *corev1.Secret) error {
	if current.Immutable == nil || !*current.Immutable {
		base := current.DeepCopy()
		for _, k := range []string{SecretNodeKey, SecretMinerKey} {
			current.Data[k] = next.Data[k] // the founding record (genesis) stays
		}
		for k, v := range next.Annotations {
			if current.Annotations == nil {
				current.Annotations = map[string]string{}
			}
			current.Annotations[k] = v
		}
		return r.Patch(ctx, current, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
	}
	if err := r.Delete(ctx, current, client.Preconditions{UID: &current.UID}); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	fresh := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: current.Name, Namespace: cn.Namespace, Labels: current.Labels,
		Annotations: next.Annotations}, Type: current.Type, Data: next.Data}
	return r.Create(ctx, fresh)
}

// rotationAdmitted: the new keys may be used. On a permissioned network the chain must list the
// node's new identity (and, for a validator, its new miner key) beside the old ones: the
// governance step puts them there with an update signed by the organization's admin key, and
// every member admits what its chain lists. A public network has nothing to wait for.
func (r *ChainNetworkReconciler) rotationAdmitted(ctx context.Context, cn *chainv1.ChainNetwork, n node, st *chainv1.KeyRotationStatus) (bool, error) {
	if !permissioned(cn) {
		return true, nil
	}
	gc, ok := r.Nodes.(NodeGovernance)
	if !ok {
		return everyNodeEnforces(cn, st.AdmittedVersion), nil
	}
	url, ok, err := r.readyNodeURL(ctx, cn)
	if err != nil || !ok {
		return false, err
	}
	m, err := gc.Membership(ctx, url)
	if err != nil {
		return false, nil // asked again on the next pass
	}
	for _, o := range m.Organizations {
		if o.Name != n.Org {
			continue
		}
		nodes := o.Validators
		if n.Role == RoleObserver {
			nodes = o.Observers
		}
		if !slices.ContainsFunc(nodes, func(k governance.Key) bool { return k.String() == st.NewNodeID }) {
			return false, nil
		}
		return n.Role == RoleObserver || slices.ContainsFunc(o.Miners, func(k governance.Key) bool { return k.String() == st.NewMinerKey }), nil
	}
	return false, nil
}

// everyNodeEnforces: every reachable node (and at least one) runs permission version v or later.
// Public networks have no permission file: nothing to wait for.
func everyNodeEnforces(cn *chainv1.ChainNetwork, v int64) bool {
	if !permissioned(cn) {
		return true
	}
	if v == 0 || cn.Status.Chain == nil {
		return false
	}
	seen := 0
	for _, n := range cn.Status.Chain.Nodes {
		if !n.Reachable {
			continue
		}
		if n.PermissionsVersion < v {
			return false
		}
		seen++
	}
	return seen > 0
}

// withRotations makes the organizations' keys say what rotations need, whatever keys the node's
// Secret showed when they were read (the cache may lag a swap): while admitting, both node keys
// and both miner keys; while restarting, both node keys and the new miner key; once completed,
// the new keys only. The governance step puts exactly these keys on the chain: the old miner key
// leaves it in the block that carries the organization's update, so the blocks it signed before
// stay valid for every node that syncs later, and later ones are refused.
func withRotations(cn *chainv1.ChainNetwork, f *permissions.File) {
	nodes := nodeByPod(cn)
	for _, st := range cn.Status.KeyRotations {
		n, ok := nodes[st.Node]
		if !ok || st.Phase == "" || st.Phase == chainv1.RotationFailed {
			continue
		}
		for i := range f.Organizations {
			o := &f.Organizations[i]
			if o.Name != n.Org {
				continue
			}
			members := &o.Validators
			if n.Role == RoleObserver {
				members = &o.Observers
			}
			ensureMember(members, st.Node+"-next", st.NewNodeID, true)
			ensureMember(members, st.Node+"-old", st.OldNodeID, st.Phase != chainv1.RotationCompleted)
			if n.Role == RoleValidator {
				ensureMiner(&o.Miners, st.NewMinerKey, true)
				ensureMiner(&o.Miners, st.OldMinerKey, st.Phase == chainv1.RotationAdmitting)
			}
		}
	}
}

// ensureMember lists id (under name, if it is not listed yet) when want, and unlists it when not.
func ensureMember(members *[]permissions.Node, name, id string, want bool) {
	for i, m := range *members {
		if m.NodeID == id {
			if !want {
				*members = append((*members)[:i:i], (*members)[i+1:]...)
			}
			return
		}
	}
	if want && id != "" {
		*members = append(*members, permissions.Node{Name: name, NodeID: id})
	}
}

func ensureMiner(miners *[]string, key string, want bool) {
	for i, m := range *miners {
		if m == key {
			if !want {
				*miners = append((*miners)[:i:i], (*miners)[i+1:]...)
			}
			return
		}
	}
	if want && key != "" {
		*miners = append(*miners, key)
	}
}

// noteAdmittedVersion records the first permission file version that lists a rotation's new keys.
func (r *ChainNetworkReconciler) noteAdmittedVersion(ctx context.Context, cn *chainv1.ChainNetwork, version int64) error {
	for i := range cn.Status.KeyRotations {
		st := &cn.Status.KeyRotations[i]
		if st.Phase != chainv1.RotationAdmitting || st.AdmittedVersion != 0 || !permissioned(cn) {
			continue
		}
		base := cn.DeepCopy()
		st.AdmittedVersion = version
		return r.Status().Patch(ctx, cn, client.MergeFrom(base))
	}
	return nil
}

func (r *ChainNetworkReconciler) acquireRotationLease(ctx context.Context, cn *chainv1.ChainNetwork, holder string) (bool, error) {
	now := metav1.NewMicroTime(time.Now())
	var lease coordinationv1.Lease
	var reader client.Reader = r.Client
	if r.APIReader != nil {
		reader = r.APIReader // no informer on every Lease of the cluster for this
	}
	err := reader.Get(ctx, client.ObjectKey{Namespace: cn.Namespace, Name: rotationLeaseName(cn)}, &lease)
	if apierrors.IsNotFound(err) {
		lease = coordinationv1.Lease{ObjectMeta: objectMeta(cn, rotationLeaseName(cn), componentLabels(cn, "key-rotation")),
			Spec: coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: ptr(int32(rotationLeaseSeconds)), AcquireTime: &now, RenewTime: &now}}
		if err := r.Create(ctx, &lease); err != nil {
			return false, client.IgnoreAlreadyExists(err)
		}
		return true, nil
	}
	if err != nil {
		return false, err
	}
	if err := checkOwner(cn, &lease, ""); err != nil {
		return false, err
	}
	current := ""
	if lease.Spec.HolderIdentity != nil {
		current = *lease.Spec.HolderIdentity
	}
	expired := lease.Spec.RenewTime == nil || lease.Spec.LeaseDurationSeconds == nil ||
		time.Since(lease.Spec.RenewTime.Time) > time.Duration(*lease.Spec.LeaseDurationSeconds)*time.Second
	if current != holder && !expired && !holderEnded(cn, current) {
		return false, nil // another rotation holds it
	}
	base := lease.DeepCopy()
	lease.Spec.HolderIdentity, lease.Spec.RenewTime = &holder, &now
	if current != holder {
		lease.Spec.AcquireTime = &now
	}
	return true, r.Patch(ctx, &lease, client.MergeFrom(base))
}

// holderEnded: the rotation named by a Lease holder has ended (or left the spec), so a release
// that failed after its end was recorded does not hold the next rotation back for the Lease's
// whole duration.
func holderEnded(cn *chainv1.ChainNetwork, holder string) bool {
	for _, st := range cn.Status.KeyRotations {
		if st.Node+"/"+st.ID == holder {
			return st.Phase == chainv1.RotationCompleted || st.Phase == chainv1.RotationFailed
		}
	}
	for _, k := range cn.Spec.KeyRotations {
		if k.Node+"/"+k.ID == holder {
			return false
		}
	}
	return true
}

func (r *ChainNetworkReconciler) releaseRotationLease(ctx context.Context, cn *chainv1.ChainNetwork) error {
	if len(cn.Spec.KeyRotations) == 0 {
		return nil
	}
	lease := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: rotationLeaseName(cn), Namespace: cn.Namespace}}
	return client.IgnoreNotFound(r.Delete(ctx, lease))
}
