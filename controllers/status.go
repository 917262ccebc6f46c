package controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strconv"
	"sync"
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

// updateStatus computes the status from the StatefulSets and the nodes, sets the conditions,
// records transitions as events, and writes it if it changed.
func (r *ChainNetworkReconciler) updateStatus(ctx context.Context, cn *chainv1.ChainNetwork, genesisHash string, permVersion int64) error {
	var sets appsv1.StatefulSetList
	if err := r.List(ctx, &sets, client.InNamespace(cn.Namespace), client.MatchingLabels{LabelNetwork: cn.Name, LabelComponent: "node"}); err != nil {
		return err
	}
	st := cn.Status.DeepCopy()
	st.ObservedGeneration = cn.Generation
	st.GenesisHash = genesisHash
	st.PermissionsVersion = permVersion
	st.DesiredNodes = cn.Spec.Nodes()
	st.ReadyNodes = 0
	st.Organizations = nil
	rolling := false
	byName := map[string]*appsv1.StatefulSet{}
	for i := range sets.Items {
		byName[sets.Items[i].Name] = &sets.Items[i]
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
	if r.Nodes != nil {
		var pods corev1.PodList
		if err := r.List(ctx, &pods, client.InNamespace(cn.Namespace), client.MatchingLabels{LabelNetwork: cn.Name, LabelComponent: "node"}); err != nil {
			return err
		}
		st.Chain = r.chainStatus(ctx, cn, pods.Items)
		if err := r.heal(ctx, cn, st, pods.Items, rolling); err != nil {
			return err
		}
		if err := r.growVolumes(ctx, cn, st.Chain); err != nil {
			return err
		}
	}
	snaps, err := r.ensureSnapshots(ctx, cn, st.Chain)
	if err != nil {
		return err
	}
	st.Snapshots = snaps
	r.upgradeReached(cn, st)
	setConditions(cn, st, rolling)
	recordNetworkMetrics(cn, st)

	wasReady := meta.IsStatusConditionTrue(cn.Status.Conditions, chainv1.ConditionReady)
	isReady := meta.IsStatusConditionTrue(st.Conditions, chainv1.ConditionReady)
	wasDegraded := meta.IsStatusConditionTrue(cn.Status.Conditions, chainv1.ConditionDegraded)
	if d := meta.FindStatusCondition(st.Conditions, chainv1.ConditionDegraded); d != nil && d.Status == metav1.ConditionTrue && !wasDegraded {
		r.event(cn, corev1.EventTypeWarning, d.Reason, "%s", d.Message)
	}
	if isReady && !wasReady {
		r.event(cn, corev1.EventTypeNormal, "NetworkReady", "All %d node(s) ready", st.ReadyNodes)
	}
	if equalStatus(&cn.Status, st) {
		return nil
	}
	// A merge patch, not an update: a spec edit racing with this write must not turn into a
	// conflict error. The status says which generation it describes.
	base := cn.DeepCopy()
	cn.Status = *st
	return r.Status().Patch(ctx, cn, client.MergeFrom(base))
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

// chainStatus asks every node pod for its view of the chain (by pod IP: works from inside
// and outside the cluster network alike) and checks that they agree at the lowest height.
func (r *ChainNetworkReconciler) chainStatus(ctx context.Context, cn *chainv1.ChainNetwork, pods []corev1.Pod) *chainv1.ChainStatus {
	if len(pods) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	nodes := make([]chainv1.NodeStatus, len(pods))
	statuses := make([]*api.Status, len(pods))
	var wg sync.WaitGroup
	for i := range pods {
		p := &pods[i]
		nodes[i].Name = p.Name
		if p.Status.PodIP == "" {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			url := "http://" + net.JoinHostPort(p.Status.PodIP, strconv.Itoa(int(cn.Spec.Service.APIPort)))
			s, err := r.Nodes.NodeStatus(ctx, url)
			if err == nil {
				statuses[i] = s
			}
		}()
	}
	wg.Wait()
	cs := summarize(nodes, statuses)
	r.checkAgreement(ctx, cn, pods, statuses, cs)
	return cs
}

// checkAgreement asks every reachable node for its block at the common height: nodes on one
// chain report the same hash there; any difference is a chain split.
func (r *ChainNetworkReconciler) checkAgreement(ctx context.Context, cn *chainv1.ChainNetwork, pods []corev1.Pod, statuses []*api.Status, cs *chainv1.ChainStatus) {
	hashes := map[string]bool{}
	for i, s := range statuses {
		if s == nil {
			continue
		}
		url := "http://" + net.JoinHostPort(pods[i].Status.PodIP, strconv.Itoa(int(cn.Spec.Service.APIPort)))
		h, err := r.Nodes.BlockHash(ctx, url, cs.CommonHeight)
		if err != nil {
			continue
		}
		hashes[h] = true
	}
	// Nodes that did not answer cannot clear a split summarize already saw at the tips.
	cs.Agree = cs.Agree && len(hashes) <= 1
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
		n.NodeID = s.NodeID
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

// failed records a failed step as Degraded with a reason and returns the error for a retry.
func (r *ChainNetworkReconciler) failed(ctx context.Context, cn *chainv1.ChainNetwork, reason string, err error) (ctrl.Result, error) {
	r.event(cn, corev1.EventTypeWarning, reason, "%v", err)
	base := cn.DeepCopy()
	meta.SetStatusCondition(&cn.Status.Conditions, metav1.Condition{Type: chainv1.ConditionDegraded, Status: metav1.ConditionTrue,
		Reason: reason, Message: err.Error(), ObservedGeneration: cn.Generation})
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
