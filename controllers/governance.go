package controllers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
	"github.com/chainnet/chainnet/internal/api"
	"github.com/chainnet/chainnet/internal/governance"
	keyspkg "github.com/chainnet/chainnet/internal/keys"
	"github.com/chainnet/chainnet/internal/wire"
)

// NodeGovernance reads the chain's membership from a node's API and submits governance
// transactions to it. HTTPNodeStatus implements it.
type NodeGovernance interface {
	Membership(ctx context.Context, baseURL string) (*api.Membership, error)
	Proposals(ctx context.Context, baseURL string) (*api.Proposals, error)
	AccountNonce(ctx context.Context, baseURL string, addr keyspkg.Address) (uint64, error)
	SubmitTx(ctx context.Context, baseURL string, tx *wire.Tx) error
}

// Membership implements NodeGovernance.
func (h HTTPNodeStatus) Membership(ctx context.Context, baseURL string) (*api.Membership, error) {
	var m api.Membership
	return &m, h.get(ctx, baseURL+"/v1/membership", &m)
}

// Proposals implements NodeGovernance.
func (h HTTPNodeStatus) Proposals(ctx context.Context, baseURL string) (*api.Proposals, error) {
	var p api.Proposals
	return &p, h.get(ctx, baseURL+"/v1/membership/proposals", &p)
}

// AccountNonce implements NodeGovernance.
func (h HTTPNodeStatus) AccountNonce(ctx context.Context, baseURL string, addr keyspkg.Address) (uint64, error) {
	var a api.Account
	err := h.get(ctx, baseURL+"/v1/accounts/"+addr.String(), &a)
	return a.Nonce, err
}

// defaultNodeClient talks to the nodes' APIs (in-cluster, so a short timeout).
var defaultNodeClient = &http.Client{Timeout: 5 * time.Second}

// errTxPending: the node already holds this transaction, or another of the same signer and
// nonce; the chain will carry one of them.
var errTxPending = errors.New("a transaction of this signer and nonce is pending")

// SubmitTx implements NodeGovernance.
func (h HTTPNodeStatus) SubmitTx(ctx context.Context, baseURL string, tx *wire.Tx) error {
	c := h.Client
	if c == nil {
		c = defaultNodeClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+"/v1/transactions", bytes.NewReader(tx.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusCreated {
		return nil
	}
	var e api.Error
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	_ = json.Unmarshal(b, &e)
	switch e.Rule {
	case "already-known", "replacement-underpriced":
		return errTxPending
	}
	return fmt.Errorf("submit %s: %d %s", tx.ID(), resp.StatusCode, e.Error)
}

// reconcileGovernance keeps the chain's membership in line with this cluster's part of it: the
// keys of its organizations (scaling, rotations), admissions and removals its spec implies or
// declares, and approvals. It signs with the organizations' admin keys and submits to one of its
// own ready nodes; what the chain carries is recorded in status.governance and the Admitted
// condition. A node that cannot be reached leaves everything for the next pass.
func (r *ChainNetworkReconciler) reconcileGovernance(ctx context.Context, cn *chainv1.ChainNetwork, keys map[node]nodeKeys, admins map[string]*keyspkg.Key) error {
	if !permissioned(cn) {
		return nil
	}
	gc, ok := r.Nodes.(NodeGovernance)
	if !ok {
		return nil
	}
	local, err := localOrganizations(cn, keys, admins)
	if err != nil {
		return err
	}
	endpoints, err := r.nodeEndpoints(ctx, cn, keys)
	if err != nil {
		return err
	}
	base := cn.DeepCopy()
	defer func() {
		// The step writes its own part of the status (status.governance, Admitted), as the
		// chain says it is now, whatever else the pass does.
		if !equalStatus(&base.Status, &cn.Status) {
			if err := r.Status().Patch(ctx, cn, client.MergeFrom(base)); err != nil {
				log.FromContext(ctx).Info("governance status not written", "err", err)
			}
		}
	}()
	st := cn.Status.Governance
	if st == nil {
		st = &chainv1.GovernanceStatus{}
	}
	st.Local = nil
	for _, o := range local {
		st.Local = append(st.Local, organizationIdentity(o, endpoints[o.Name]))
	}
	cn.Status.Governance = st
	url, ok, err := r.readyNodeURL(ctx, cn)
	if err != nil || !ok {
		return err
	}
	mem, err := gc.Membership(ctx, url)
	if err != nil {
		log.FromContext(ctx).V(1).Info("membership not readable", "node", url, "err", err)
		return nil
	}
	props, err := gc.Proposals(ctx, url)
	if err != nil {
		return nil
	}
	retired, err := r.retiredOrganizations(ctx, cn)
	if err != nil {
		return err
	}
	signers := maps.Clone(admins)
	in := planInput{local: local, chain: mem, proposals: props}
	for name, k := range retired {
		signers[name] = k
		in.retired = append(in.retired, name)
	}
	slices.Sort(in.retired)
	if g := cn.Spec.Governance; g != nil {
		in.explicit, in.approvals = g.Proposals, g.Approvals
	}
	in.declared = trackDeclared(&in, st.Declared)
	wasAdmitted := meta.IsStatusConditionTrue(cn.Status.Conditions, chainv1.ConditionAdmitted)
	recordGovernance(cn, st, &in)
	if !wasAdmitted && meta.IsStatusConditionTrue(cn.Status.Conditions, chainv1.ConditionAdmitted) {
		r.event(cn, corev1.EventTypeNormal, "Admitted", "The chain lists every organization of this cluster (membership seq %d)", st.Seq)
	}
	for _, t := range planGovernance(in) {
		id, err := r.submitGovernance(ctx, cn, gc, url, signers[t.Signer], t)
		if err != nil {
			log.FromContext(ctx).Info("governance transaction not submitted", "signer", t.Signer, "why", t.Why, "err", err)
			continue
		}
		if t.Name != "" {
			in.declared[t.Name] = chainv1.DeclaredProposal{Name: t.Name, ID: id, State: chainv1.DeclaredProposed, Height: int64(mem.Height)}
		}
	}
	st.Declared = nil
	for _, e := range in.explicit {
		if d, ok := in.declared[e.Name]; ok {
			st.Declared = append(st.Declared, d)
		}
	}
	return nil
}

// submitGovernance signs t with its signer's admin key at the account's nonce and submits it; it
// returns the transaction's id (also when the node already held it).
func (r *ChainNetworkReconciler) submitGovernance(ctx context.Context, cn *chainv1.ChainNetwork, gc NodeGovernance, url string, admin *keyspkg.Key, t plannedTx) (string, error) {
	if admin == nil {
		return "", fmt.Errorf("no admin key for %s", t.Signer)
	}
	nonce, err := gc.AccountNonce(ctx, url, admin.AccountAddress())
	if err != nil {
		return "", err
	}
	chainID, err := r.chainID(ctx, url)
	if err != nil {
		return "", err
	}
	tx := wire.NewGovernance(chainID, nonce, 0, t.Action.Encode())
	tx.Sign(admin)
	id := tx.ID().String()
	switch err := gc.SubmitTx(ctx, url, tx); {
	case errors.Is(err, errTxPending):
		return id, nil
	case err != nil:
		return "", err
	}
	cn.Status.Governance.LastTransaction = fmt.Sprintf("%s: %s (%s, signed by %s)", id[:16], t.Action, t.Why, t.Signer)
	r.event(cn, corev1.EventTypeNormal, "GovernanceTransaction", "%s signed %s: %s", t.Signer, t.Action, t.Why)
	return id, nil
}

func (r *ChainNetworkReconciler) chainID(ctx context.Context, url string) (uint64, error) {
	s, err := r.Nodes.NodeStatus(ctx, url)
	if err != nil {
		return 0, err
	}
	return s.ChainID, nil
}

// readyNodeURL is the API of one of this cluster's ready nodes.
func (r *ChainNetworkReconciler) readyNodeURL(ctx context.Context, cn *chainv1.ChainNetwork) (string, bool, error) {
	var pods corev1.PodList
	if err := r.List(ctx, &pods, client.InNamespace(cn.Namespace), client.MatchingLabels{LabelNetwork: cn.Name, LabelComponent: "node"}); err != nil {
		return "", false, err
	}
	slices.SortFunc(pods.Items, func(a, b corev1.Pod) int { return compareStrings(a.Name, b.Name) })
	for _, p := range pods.Items {
		if p.Status.PodIP != "" && p.DeletionTimestamp == nil && podReady(&p) {
			return "http://" + net.JoinHostPort(p.Status.PodIP, strconv.Itoa(int(cn.Spec.Service.APIPort))), true, nil
		}
	}
	return "", false, nil
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// retiredOrganizations are organizations whose admin key Secret this cluster holds but whose
// name left spec.organizations, with their admin keys: the operator proposes their removal and
// consents to it on their behalf.
func (r *ChainNetworkReconciler) retiredOrganizations(ctx context.Context, cn *chainv1.ChainNetwork) (map[string]*keyspkg.Key, error) {
	var secrets corev1.SecretList
	if err := r.List(ctx, &secrets, client.InNamespace(cn.Namespace), client.MatchingLabels{LabelNetwork: cn.Name, LabelComponent: "admin-key"}); err != nil {
		return nil, err
	}
	out := map[string]*keyspkg.Key{}
	for _, s := range secrets.Items {
		org := s.Labels[LabelOrg]
		if org == "" || slices.ContainsFunc(cn.Spec.Organizations, func(o chainv1.Organization) bool { return o.Name == org }) {
			continue
		}
		k, err := keyspkg.Parse(s.Data[SecretAdminKey])
		if err != nil {
			return nil, fmt.Errorf("secret %s: %w", s.Name, err)
		}
		out[org] = k
	}
	return out, nil
}

// recordGovernance writes what the chain says into the status and sets the Admitted condition.
func recordGovernance(cn *chainv1.ChainNetwork, st *chainv1.GovernanceStatus, in *planInput) {
	st.Height, st.Seq = int64(in.chain.Height), int64(in.chain.Seq)
	st.Organizations = nil
	localNames := map[string]bool{}
	for _, o := range in.local {
		localNames[o.Name] = true
	}
	for _, o := range in.chain.Organizations {
		st.Organizations = append(st.Organizations, chainv1.MemberOrganization{Name: o.Name, Validators: int32(len(o.Validators)),
			Observers: int32(len(o.Observers)), Miners: int32(len(o.Miners)), Local: localNames[o.Name]})
	}
	st.Proposals = nil
	for _, p := range in.proposals.Proposals {
		ps := chainv1.ProposalStatus{ID: p.ID, Kind: p.Kind, Organization: p.Organization, Approvals: p.Approvals,
			Needed: int32(p.Needed), ExpiresAt: int64(p.ExpiresAt), Approved: p.Approved, EffectiveAt: int64(p.EffectiveAt)}
		for _, e := range in.explicit {
			if (e.AddOrganization != nil && p.Kind == string(governance.KindAddOrg) && e.AddOrganization.Name == p.Organization) ||
				(e.RemoveOrganization != "" && p.Kind == string(governance.KindRemoveOrg) && e.RemoveOrganization == p.Organization) {
				ps.Name = e.Name
			}
		}
		st.Proposals = append(st.Proposals, ps)
	}
	var missing []string
	for _, o := range in.local {
		if in.onChain(o.Name) == nil {
			missing = append(missing, o.Name)
		}
	}
	cond := metav1.Condition{Type: chainv1.ConditionAdmitted, Status: metav1.ConditionTrue, Reason: "Member",
		Message:            fmt.Sprintf("the chain lists every organization of this cluster (membership seq %d at height %d)", st.Seq, st.Height),
		ObservedGeneration: cn.Generation}
	if len(missing) > 0 {
		cond.Status, cond.Reason = metav1.ConditionFalse, "AwaitingAdmission"
		cond.Message = fmt.Sprintf("the chain does not list %v yet: the members admit an organization by a governance vote", missing)
	}
	meta.SetStatusCondition(&cn.Status.Conditions, cond)
}
