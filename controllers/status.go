package controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
	"github.com/chainnet/chainnet/internal/api"
)

// NodeStatusReader reads a node's view of the chain from its API base URL.
type NodeStatusReader interface {
	NodeStatus(ctx context.Context, baseURL string) (*api.Status, error)
	BlockHash(ctx context.Context, baseURL string, height int64) (string, error)
}

// HTTPNodeStatus reads node status over HTTP with a short timeout.
type HTTPNodeStatus struct{ Client *http.Client }

// NodeStatus implements NodeStatusReader.
func (h HTTPNodeStatus) NodeStatus(ctx context.Context, baseURL string) (*api.Status, error) {
	var st api.Status
	return &st, h.get(ctx, baseURL+"/v1/status", &st)
}

// BlockHash implements NodeStatusReader.
func (h HTTPNodeStatus) BlockHash(ctx context.Context, baseURL string, height int64) (string, error) {
	var b api.Block
	err := h.get(ctx, fmt.Sprintf("%s/v1/blocks/%d", baseURL, height), &b)
	return b.Hash, err
}

func (h HTTPNodeStatus) get(ctx context.Context, url string, out any) error {
	c := h.Client
	if c == nil {
		c = &http.Client{Timeout: 2 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d", url, resp.StatusCode)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// updateStatus computes the status from the StatefulSets and the poller's last reading of the
// nodes, runs the steps that act on those figures (healing, volume growth, snapshots), sets the
// conditions, records transitions as events, and writes it if it changed. A failed step is
// reported in the conditions and returned for a retry; it never keeps the rest of the status
// (chain figures, observedGeneration) from being written.
func (r *ChainNetworkReconciler) updateStatus(ctx context.Context, cn *chainv1.ChainNetwork, genesisHash string, permVersion int64) error {
	obs, err := r.observe(ctx, cn, genesisHash, permVersion)
	if err != nil {
		return err
	}
	st := obs.status
	failures := r.maintain(ctx, cn, obs)
	r.upgradeReached(cn, st, obs.rolling)
	setConditions(cn, st, obs.rolling)
	markFailures(cn, st, failures)
	recordNetworkMetrics(cn, st)
	r.recordTransitions(cn, st)
	if !equalStatus(&cn.Status, st) {
		// A merge patch, not an update: a spec edit racing with this write must not turn into a
		// conflict error. The status says which generation it describes.
		base := cn.DeepCopy()
		cn.Status = *st
		if err := r.Status().Patch(ctx, cn, client.MergeFrom(base)); err != nil {
			return fmt.Errorf("write status: %w", err)
		}
	}
	return failures.err()
}

// observation is what observe saw: the status to write, the node pods, whether a StatefulSet
// rolls out, and whether the chain figures in the status are the poller's (fresh) or the
// previous status' (the poller has not read the nodes since the operator started).
type observation struct {
	status  *chainv1.ChainNetworkStatus
	pods    []corev1.Pod
	rolling bool
	fresh   bool
}

// observe computes the status from the StatefulSets, the node pods and the poller's last chain
// figures; it changes nothing.
func (r *ChainNetworkReconciler) observe(ctx context.Context, cn *chainv1.ChainNetwork, genesisHash string, permVersion int64) (*observation, error) {
	var sets appsv1.StatefulSetList
	if err := r.List(ctx, &sets, client.InNamespace(cn.Namespace), client.MatchingLabels{LabelNetwork: cn.Name, LabelComponent: "node"}); err != nil {
		return nil, fmt.Errorf("list StatefulSets: %w", err)
	}
	obs := &observation{status: cn.Status.DeepCopy()}
	st := obs.status
	st.ObservedGeneration = cn.Generation
	st.GenesisHash = genesisHash
	st.PermissionsVersion = permVersion
	obs.rolling = countReady(cn, st, sets.Items)
	if r.Poller == nil {
		return obs, nil
	}
	var pods corev1.PodList
	if err := r.List(ctx, &pods, client.InNamespace(cn.Namespace), client.MatchingLabels{LabelNetwork: cn.Name, LabelComponent: "node"}); err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	obs.pods = pods.Items
	if cs, ok := r.Poller.Observed(client.ObjectKeyFromObject(cn)); ok {
		st.Chain, obs.fresh = cs, true
	}
	return obs, nil
}

// countReady fills the node counts of st from the StatefulSets and says whether one of them is
// rolling out.
func countReady(cn *chainv1.ChainNetwork, st *chainv1.ChainNetworkStatus, sets []appsv1.StatefulSet) bool {
	st.DesiredNodes = cn.Spec.Nodes()
	st.ReadyNodes = 0
	st.Organizations = nil
	rolling := false
	byName := map[string]*appsv1.StatefulSet{}
	for i := range sets {
		byName[sets[i].Name] = &sets[i]
	}
	for _, o := range cn.Spec.Organizations {
		os := chainv1.OrganizationStatus{Name: o.Name, Validators: o.Validators, Observers: o.Observers}
		for _, role := range []string{RoleValidator, RoleObserver} {
			s, ok := byName[StatefulSetName(cn, o.Name, role)]
			if !ok {
				continue
			}
			ready := min(s.Status.ReadyReplicas, *s.Spec.Replicas)
			if role == RoleValidator {
				os.ReadyValidators = ready
			} else {
				os.ReadyObservers = ready
			}
			st.ReadyNodes += ready
			rolling = rolling || statefulSetRolling(s)
		}
		st.Organizations = append(st.Organizations, os)
	}
	st.Nodes = fmt.Sprintf("%d/%d", st.ReadyNodes, st.DesiredNodes)
	return rolling
}

// recordTransitions sends an event when the network becomes Degraded or Ready.
func (r *ChainNetworkReconciler) recordTransitions(cn *chainv1.ChainNetwork, st *chainv1.ChainNetworkStatus) {
	wasReady := meta.IsStatusConditionTrue(cn.Status.Conditions, chainv1.ConditionReady)
	isReady := meta.IsStatusConditionTrue(st.Conditions, chainv1.ConditionReady)
	wasDegraded := meta.IsStatusConditionTrue(cn.Status.Conditions, chainv1.ConditionDegraded)
	if d := meta.FindStatusCondition(st.Conditions, chainv1.ConditionDegraded); d != nil && d.Status == metav1.ConditionTrue && !wasDegraded {
		r.event(cn, corev1.EventTypeWarning, d.Reason, "%s", d.Message)
	}
	if isReady && !wasReady {
		r.event(cn, corev1.EventTypeNormal, "NetworkReady", "All %d node(s) ready", st.ReadyNodes)
	}
}

// statefulSetRolling: the StatefulSet has not observed its spec yet or still moves pods to a new
// revision. A pod missing at the current revision (deleted, evicted) is not a rollout: it lowers
// updatedReplicas until its replacement exists, and counting that as one would report a lost
// node as Progressing.
func statefulSetRolling(s *appsv1.StatefulSet) bool {
	return s.Status.ObservedGeneration < s.Generation ||
		(s.Status.UpdateRevision != "" && s.Status.CurrentRevision != s.Status.UpdateRevision)
}

// setConditions derives Ready, Progressing and Degraded. A network that was ready and lost nodes
// without a rollout under way is Degraded, not Progressing; nodes disagreeing on the block at a
// common height is a chain split, Degraded whatever the pods say.
func setConditions(cn *chainv1.ChainNetwork, st *chainv1.ChainNetworkStatus, rolling bool) {
	gen := cn.Generation
	set := func(t string, status metav1.ConditionStatus, reason, msg string) {
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: t, Status: status, Reason: reason, Message: msg, ObservedGeneration: gen})
	}
	allReady := st.ReadyNodes == st.DesiredNodes
	split := st.Chain != nil && !st.Chain.Agree
	lost := !allReady && !rolling && nodesLost(cn, st)
	switch {
	case rolling:
		set(chainv1.ConditionProgressing, metav1.ConditionTrue, "RollingOut", fmt.Sprintf("%d of %d node(s) ready; StatefulSets are rolling out", st.ReadyNodes, st.DesiredNodes))
	case !allReady && !lost:
		set(chainv1.ConditionProgressing, metav1.ConditionTrue, "NodesStarting", fmt.Sprintf("%d of %d node(s) ready", st.ReadyNodes, st.DesiredNodes))
	default:
		set(chainv1.ConditionProgressing, metav1.ConditionFalse, "RolloutComplete", "Every StatefulSet runs its desired revision")
	}
	switch {
	case split:
		set(chainv1.ConditionDegraded, metav1.ConditionTrue, "ChainSplit", fmt.Sprintf("Nodes disagree on the block at height %d", st.Chain.CommonHeight))
	case lost:
		set(chainv1.ConditionDegraded, metav1.ConditionTrue, "NodesUnavailable", fmt.Sprintf("%d of %d node(s) ready", st.ReadyNodes, st.DesiredNodes))
	default:
		set(chainv1.ConditionDegraded, metav1.ConditionFalse, "AsExpected", "No node unavailable and no chain split")
	}
	// kstatus's conventions (Flux, kpt, cli-utils): "abnormal-true" Reconciling and Stalled,
	// mirroring Progressing and Degraded.
	for _, pair := range [][2]string{{chainv1.ConditionProgressing, chainv1.ConditionReconciling}, {chainv1.ConditionDegraded, chainv1.ConditionStalled}} {
		if c := meta.FindStatusCondition(st.Conditions, pair[0]); c != nil {
			set(pair[1], c.Status, c.Reason, c.Message)
		}
	}
	if permissioned(cn) {
		setPermissionsApplied(st, set)
	}
	if allReady && !split && !rolling {
		set(chainv1.ConditionReady, metav1.ConditionTrue, "AllNodesReady", fmt.Sprintf("%d of %d node(s) ready", st.ReadyNodes, st.DesiredNodes))
	} else {
		reason := "NodesNotReady"
		if split {
			reason = "ChainSplit"
		}
		set(chainv1.ConditionReady, metav1.ConditionFalse, reason, fmt.Sprintf("%d of %d node(s) ready", st.ReadyNodes, st.DesiredNodes))
	}
}

// nodesLost: fewer nodes are ready than at the last status, or nodes were already reported
// unavailable and not all are back. Nodes the spec just added (a new network, a scale-up) are
// starting, not lost: the ready count does not drop.
func nodesLost(cn *chainv1.ChainNetwork, st *chainv1.ChainNetworkStatus) bool {
	if st.ReadyNodes < cn.Status.ReadyNodes {
		return true
	}
	d := meta.FindStatusCondition(cn.Status.Conditions, chainv1.ConditionDegraded)
	return d != nil && d.Status == metav1.ConditionTrue && d.Reason == "NodesUnavailable"
}

// setPermissionsApplied compares the version each reachable node enforces with the version of
// the permission ConfigMap (nodes reload it within a minute of the kubelet updating the volume).
func setPermissionsApplied(st *chainv1.ChainNetworkStatus, set func(t string, status metav1.ConditionStatus, reason, msg string)) {
	if st.Chain == nil {
		set(chainv1.ConditionPermissionsApplied, metav1.ConditionUnknown, "NodesUnreachable", "No node reported its permission version")
		return
	}
	reachable, current := 0, 0
	for _, n := range st.Chain.Nodes {
		if n.Reachable {
			reachable++
			if n.PermissionsVersion == st.PermissionsVersion {
				current++
			}
		}
	}
	switch {
	case reachable == 0:
		set(chainv1.ConditionPermissionsApplied, metav1.ConditionUnknown, "NodesUnreachable", "No node reported its permission version")
	case current == reachable:
		set(chainv1.ConditionPermissionsApplied, metav1.ConditionTrue, "AllNodesCurrent",
			fmt.Sprintf("All %d reachable node(s) enforce permission version %d", reachable, st.PermissionsVersion))
	default:
		set(chainv1.ConditionPermissionsApplied, metav1.ConditionFalse, "NodesReloading",
			fmt.Sprintf("%d of %d reachable node(s) enforce permission version %d", current, reachable, st.PermissionsVersion))
	}
}

// summarize turns the nodes' answers into the chain status: best and common height, hash rate,
// and a first agreement check among the nodes whose tip is at the common height
// (checkAgreement then compares every node's block at that height).
func summarize(nodes []chainv1.NodeStatus, statuses []*api.Status) *chainv1.ChainStatus {
	cs := &chainv1.ChainStatus{Agree: true, CommonHeight: -1}
	tips := map[string]bool{}
	for i, s := range statuses {
		if s == nil {
			continue
		}
		n := &nodes[i]
		n.Reachable, n.Height, n.BestHash, n.Peers, n.Synced = true, int64(s.Height), s.BestHash, int32(s.Peers), !s.Syncing
		n.HashRate = int64(s.Hashrate)
		n.PermissionsVersion = int64(s.PermissionsVersion)
		n.NodeID, n.HaltHeight, n.Halted = s.NodeID, int64(s.HaltHeight), s.Halted
		if s.DataDiskSize > 0 {
			n.DiskUsedPercent = int32(s.DataDiskUsed * 100 / s.DataDiskSize)
		}
		cs.HashRate += n.HashRate
		cs.BestHeight = max(cs.BestHeight, n.Height)
		if cs.CommonHeight < 0 || n.Height < cs.CommonHeight {
			cs.CommonHeight = n.Height
		}
	}
	for i, s := range statuses {
		if s != nil && int64(s.Height) == cs.CommonHeight {
			tips[nodes[i].BestHash] = true
		}
	}
	cs.Agree = len(tips) <= 1
	if cs.CommonHeight < 0 {
		cs.CommonHeight = 0
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].Name < nodes[j].Name })
	cs.Nodes = nodes
	return cs
}

func equalStatus(a, b *chainv1.ChainNetworkStatus) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// failed records a failed step as Degraded and not Ready, with a reason, and returns the error for a retry.
func (r *ChainNetworkReconciler) failed(ctx context.Context, cn *chainv1.ChainNetwork, reason string, err error) (ctrl.Result, error) {
	reason = failureReason(reason, err)
	r.event(cn, corev1.EventTypeWarning, reason, "%v", err)
	base := cn.DeepCopy()
	setFailed(&cn.Status, cn.Generation, reason, err)
	_ = r.Status().Patch(ctx, cn, client.MergeFrom(base))
	return ctrl.Result{}, err
}

// event records an event about the network.
func (r *ChainNetworkReconciler) event(cn *chainv1.ChainNetwork, eventType, reason, format string, args ...any) {
	if r.Recorder == nil {
		return
	}
	r.Recorder.Eventf(cn, nil, eventType, reason, reason, format, args...)
}
