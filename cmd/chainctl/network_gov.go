package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
	"github.com/chainnet/chainnet/controllers"
	"github.com/chainnet/chainnet/internal/api"
	"github.com/chainnet/chainnet/internal/genesis"
	"github.com/chainnet/chainnet/internal/governance"
)

// Governance verbs of the kubectl plugin. In a cluster the operator holds the organizations'
// admin keys and signs; these verbs never touch a key. The reading verbs (membership, proposals)
// ask a ready node of the network through the API server's pod proxy, because the chain is the
// record (status.governance is the operator's copy as of its last pass, and counts keys without
// listing them); when no node answers they show status.governance and say so. The voting verbs
// (propose, approve) only write declarations into spec.governance, with a merge patch that
// carries the resourceVersion, so a concurrent edit makes them fail instead of being lost, and a
// member can make the same declaration through Git.

func init() {
	networkCommands = append(networkCommands, newNetworkMembershipCommand, newNetworkProposalsCommand,
		newNetworkJoinRequestCommand, newNetworkProposeCommand, newNetworkApproveCommand, newNetworkExportGenesisCommand)
}

// chainReader is how the reading verbs find the chain: a pod named by --node, or the first ready
// node pod; --from-status reads status.governance instead.
type chainReader struct {
	pod        string
	fromStatus bool
}

func (r *chainReader) addFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&r.pod, "node", "", "ask this node pod (default: the first ready one)")
	cmd.Flags().BoolVar(&r.fromStatus, "from-status", false, "read status.governance (the operator's last pass) instead of a node")
}

// errFromStatus: --from-status asked for the status; no node was tried.
var errFromStatus = errors.New("--from-status")

// nodeGet asks a node of cn for path through the pod proxy and returns the pod's name, or why
// no node answered.
func (r *chainReader) nodeGet(ctx context.Context, k *kube, cn *chainv1.ChainNetwork, path string, out any) (string, error) {
	if r.fromStatus {
		return "", errFromStatus
	}
	pods, err := k.nodePods(ctx, cn)
	if err != nil {
		return "", err
	}
	pod := r.pod
	for _, p := range pods {
		if pod == "" && podReady(p) {
			pod = p.Name
		}
	}
	if pod == "" {
		return "", fmt.Errorf("network %s has no ready node", cn.Name)
	}
	c, err := k.nodeClient(cn, pod)
	if err != nil {
		return "", err
	}
	if err := c.do(ctx, "GET", path, nil, out); err != nil {
		return "", fmt.Errorf("pod %s: %w", pod, err)
	}
	return pod, nil
}

// networkMembership is what `membership` prints.
type networkMembership struct {
	Network string `json:"network"`
	// Source is "pod NAME" (the chain after that node's tip) or "status.governance".
	Source string `json:"source"`
	// Why the status was read instead of a node.
	Note          string             `json:"note,omitempty"`
	Height        uint64             `json:"height"`
	Seq           uint64             `json:"seq"`
	Policy        *governance.Policy `json:"policy,omitempty"`
	Organizations []memberRow        `json:"organizations"`
}

// statusNote says why the status was read: empty when --from-status asked for it.
func statusNote(err error) string {
	if errors.Is(err, errFromStatus) {
		return ""
	}
	return err.Error()
}

func localOrgs(cn *chainv1.ChainNetwork) map[string]bool {
	out := map[string]bool{}
	for _, o := range cn.Spec.Organizations {
		out[o.Name] = true
	}
	return out
}

func requireGovernance(cn *chainv1.ChainNetwork) error {
	if cn.Spec.Membership == chainv1.Public {
		return fmt.Errorf("network %s is public: anyone may join and mine, there is no membership to govern", cn.Name)
	}
	return nil
}

func newNetworkMembershipCommand(g *globals, k *kube) *cobra.Command {
	var r chainReader
	cmd := &cobra.Command{
		Use:   "membership NAME",
		Short: "The network's member organizations and policy, as the chain says (this cluster's marked)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			cn, err := k.network(ctx, args[0])
			if err != nil {
				return err
			}
			if err := requireGovernance(cn); err != nil {
				return err
			}
			out := networkMembership{Network: cn.Namespace + "/" + cn.Name}
			var m api.Membership
			pod, err := r.nodeGet(ctx, k, cn, "/v1/membership", &m)
			if err == nil {
				out.Source, out.Height, out.Seq, out.Policy = "pod "+pod, m.Height, m.Seq, &m.Policy
				out.Organizations = memberRows(m.Organizations, localOrgs(cn))
			} else {
				st := cn.Status.Governance
				if st == nil {
					return fmt.Errorf("no node answered (%v) and status.governance is empty: the operator has not read the chain yet", err)
				}
				out.Source, out.Note, out.Height, out.Seq = "status.governance", statusNote(err), uint64(st.Height), uint64(st.Seq)
				out.Organizations = []memberRow{}
				for _, o := range st.Organizations {
					out.Organizations = append(out.Organizations, memberRow{Name: o.Name, Validators: int(o.Validators),
						Observers: int(o.Observers), Miners: int(o.Miners), Local: o.Local})
				}
			}
			return g.print(cmd.OutOrStdout(), out, func(w io.Writer) { writeNetworkMembership(w, out) })
		},
	}
	r.addFlags(cmd)
	return cmd
}

func writeNetworkMembership(w io.Writer, m networkMembership) {
	fmt.Fprintf(w, "network %s: membership at height %d (seq %d), from %s", m.Network, m.Height, m.Seq, m.Source)
	if m.Note != "" {
		fmt.Fprintf(w, " (no node: %s)", m.Note)
	}
	fmt.Fprintln(w)
	if m.Policy != nil {
		fmt.Fprintf(w, "policy: %s\n", describePolicy(*m.Policy, len(m.Organizations)))
	}
	writeMembers(w, m.Organizations, true)
}

// networkProposals is what `proposals` prints.
type networkProposals struct {
	Network   string        `json:"network"`
	Source    string        `json:"source"`
	Note      string        `json:"note,omitempty"`
	Height    uint64        `json:"height"`
	Proposals []proposalRow `json:"proposals"`
}

// declaredHere says which declaration of this cluster asks for a proposal: the
// spec.governance.proposals entry that makes it (matched as the operator matches it: kind and
// organization), or spec.governance.approvals.
func declaredHere(cn *chainv1.ChainNetwork, kind, org, id string) string {
	gs := cn.Spec.Governance
	if gs == nil {
		return ""
	}
	for _, e := range gs.Proposals {
		if (kind == string(governance.KindAddOrg) && e.AddOrganization != nil && e.AddOrganization.Name == org) ||
			(kind == string(governance.KindRemoveOrg) && e.RemoveOrganization == org) {
			return "proposals[" + e.Name + "]"
		}
	}
	if slices.Contains(gs.Approvals, id) {
		return "approvals"
	}
	return ""
}

func newNetworkProposalsCommand(g *globals, k *kube) *cobra.Command {
	var r chainReader
	cmd := &cobra.Command{
		Use:   "proposals NAME",
		Short: "Open proposals on the network's chain: approvals, expiry, and what this cluster declared about each",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			cn, err := k.network(ctx, args[0])
			if err != nil {
				return err
			}
			if err := requireGovernance(cn); err != nil {
				return err
			}
			out := networkProposals{Network: cn.Namespace + "/" + cn.Name}
			var ps api.Proposals
			pod, err := r.nodeGet(ctx, k, cn, "/v1/membership/proposals", &ps)
			if err == nil {
				out.Source, out.Height, out.Proposals = "pod "+pod, ps.Height, proposalRows(ps.Proposals)
			} else {
				st := cn.Status.Governance
				if st == nil {
					return fmt.Errorf("no node answered (%v) and status.governance is empty: the operator has not read the chain yet", err)
				}
				out.Source, out.Note, out.Height, out.Proposals = "status.governance", statusNote(err), uint64(st.Height), []proposalRow{}
				for _, p := range st.Proposals {
					out.Proposals = append(out.Proposals, proposalRow{ID: p.ID, Kind: p.Kind, Organization: p.Organization,
						Approvals: p.Approvals, Needed: int(p.Needed), ExpiresAt: uint64(p.ExpiresAt), Approved: p.Approved,
						EffectiveAt: uint64(p.EffectiveAt)})
				}
			}
			for i := range out.Proposals {
				p := &out.Proposals[i]
				p.Declared = declaredHere(cn, p.Kind, p.Organization, p.ID)
			}
			return g.print(cmd.OutOrStdout(), out, func(w io.Writer) {
				fmt.Fprintf(w, "network %s, from %s", out.Network, out.Source)
				if out.Note != "" {
					fmt.Fprintf(w, " (no node: %s)", out.Note)
				}
				fmt.Fprintln(w)
				writeProposals(w, out.Height, out.Proposals, true)
			})
		},
	}
	r.addFlags(cmd)
	return cmd
}

// localIdentity is the identity of one of this cluster's organizations from status.governance.local.
func localIdentity(cn *chainv1.ChainNetwork, org string) (*chainv1.OrganizationIdentity, error) {
	var local []chainv1.OrganizationIdentity
	if cn.Status.Governance != nil {
		local = cn.Status.Governance.Local
	}
	if len(local) == 0 {
		return nil, fmt.Errorf("network %s: status.governance.local is empty: the operator has not reported this cluster's organizations yet", cn.Name)
	}
	var names []string
	for i := range local {
		if local[i].Name == org || (org == "" && len(local) == 1) {
			return &local[i], nil
		}
		names = append(names, local[i].Name)
	}
	if org == "" {
		return nil, fmt.Errorf("network %s has several organizations here (%s): pass --org", cn.Name, strings.Join(names, ", "))
	}
	return nil, fmt.Errorf("network %s: %s is not an organization of this cluster (%s)", cn.Name, org, strings.Join(names, ", "))
}

func newNetworkJoinRequestCommand(g *globals, k *kube) *cobra.Command {
	var org string
	cmd := &cobra.Command{
		Use:   "join-request NAME [--org ORG]",
		Short: "Print this cluster's organization identity (public keys and P2P endpoints) as a file another member proposes",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cn, err := k.network(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if err := requireGovernance(cn); err != nil {
				return err
			}
			id, err := localIdentity(cn, org)
			if err != nil {
				return err
			}
			if len(id.Endpoints) == 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "warning: %s has no P2P endpoint other clusters can dial: set spec.p2p.expose (NodePort or LoadBalancer)\n", id.Name)
			}
			return g.writeIdentity(cmd.OutOrStdout(), id, fmt.Sprintf("# Identity of organization %s of network %s/%s (public keys only).\n"+
				"# A member admits it with: kubectl chainnet propose add-org NETWORK --request FILE\n"+
				"# (or chainctl gov propose add-org --request FILE --key ADMIN.json)\n", id.Name, cn.Namespace, cn.Name))
		},
	}
	cmd.Flags().StringVar(&org, "org", "", "the organization (required when this cluster runs several)")
	return cmd
}

// declaration is the outcome of a voting verb: the patch to send and what it changes.
type declaration struct {
	patch   []byte
	entry   string   // the entry written
	dropped []string // contradicting entries the patch removes
	note    string
}

// proposePatch is the merge patch that appends p to spec.governance.proposals. It refuses what
// the operator could not act on (an organization of this cluster, a member to add, a
// non-member to remove, a proposer that is not this cluster's) and drops the entries that
// contradict p (an admission of the organization p removes, or the reverse), which would
// otherwise be proposed again once p passes. It carries the resourceVersion.
func proposePatch(cn *chainv1.ChainNetwork, p chainv1.GovernanceProposal) (*declaration, error) {
	if err := requireGovernance(cn); err != nil {
		return nil, err
	}
	local := localOrgs(cn)
	if p.Proposer != "" && !local[p.Proposer] {
		return nil, fmt.Errorf("--proposer %s: not an organization of this cluster (the operator signs with the admin keys it holds)", p.Proposer)
	}
	org, adding := p.RemoveOrganization, p.AddOrganization != nil
	if adding {
		org = p.AddOrganization.Name
	}
	// The status lists the chain's members once the operator has read them.
	var member, known bool
	if st := cn.Status.Governance; st != nil && len(st.Organizations) > 0 {
		known = true
		member = slices.ContainsFunc(st.Organizations, func(o chainv1.MemberOrganization) bool { return o.Name == org })
	}
	switch {
	case local[org] && adding:
		return nil, fmt.Errorf("%s is an organization of this cluster: the operator proposes its admission itself", org)
	case local[org]:
		return nil, fmt.Errorf("%s is an organization of this cluster: remove it from spec.organizations (the operator proposes its removal and consents to it)", org)
	case adding && member:
		return nil, fmt.Errorf("%s is already a member (status.governance)", org)
	case !adding && known && !member:
		return nil, fmt.Errorf("%s is not a member (status.governance at height %d)", org, cn.Status.Governance.Height)
	}
	d := &declaration{entry: p.Name}
	var kept []chainv1.GovernanceProposal
	if gs := cn.Spec.Governance; gs != nil {
		for _, e := range gs.Proposals {
			eOrg, eAdding := e.RemoveOrganization, e.AddOrganization != nil
			if eAdding {
				eOrg = e.AddOrganization.Name
			}
			switch {
			case e.Name == p.Name:
				return nil, fmt.Errorf("spec.governance.proposals already has an entry %q: pass another --name", p.Name)
			case eOrg == org && eAdding == adding:
				return nil, fmt.Errorf("spec.governance.proposals[%s] already asks for this", e.Name)
			case eOrg == org:
				d.dropped = append(d.dropped, e.Name)
				continue
			}
			kept = append(kept, e)
		}
	}
	var err error
	d.patch, err = json.Marshal(map[string]any{
		"metadata": map[string]any{"resourceVersion": cn.ResourceVersion},
		"spec":     map[string]any{"governance": map[string]any{"proposals": append(kept, p)}},
	})
	return d, err
}

// approvePatch is the merge patch that adds id to spec.governance.approvals (nil if it is
// there already), with the resourceVersion.
func approvePatch(cn *chainv1.ChainNetwork, id string) (*declaration, error) {
	if err := requireGovernance(cn); err != nil {
		return nil, err
	}
	d := &declaration{entry: id}
	var approvals []string
	if gs := cn.Spec.Governance; gs != nil {
		approvals = gs.Approvals
	}
	if slices.Contains(approvals, id) {
		d.note = "spec.governance.approvals already lists it"
		return d, nil
	}
	var err error
	d.patch, err = json.Marshal(map[string]any{
		"metadata": map[string]any{"resourceVersion": cn.ResourceVersion},
		"spec":     map[string]any{"governance": map[string]any{"approvals": append(slices.Clone(approvals), id)}},
	})
	return d, err
}

// statusProposal resolves a proposal id, or a unique prefix (4 hex digits or more) of one
// status.governance.proposals lists. A full id the status does not list is taken as it is: the
// status may be older than the proposal, and the operator approves it once a node sees it open.
func statusProposal(cn *chainv1.ChainNetwork, arg string) (string, bool, error) {
	arg = strings.ToLower(arg)
	if !hexPrefix.MatchString(arg) {
		return "", false, fmt.Errorf("proposal %q: want its id (64 hex digits) or a prefix of at least 4", arg)
	}
	var matches []string
	if st := cn.Status.Governance; st != nil {
		for _, p := range st.Proposals {
			if strings.HasPrefix(p.ID, arg) {
				matches = append(matches, p.ID)
			}
		}
	}
	switch {
	case len(matches) == 1:
		return matches[0], true, nil
	case len(matches) > 1:
		return "", false, fmt.Errorf("proposal %s is ambiguous: %s", arg, strings.Join(matches, ", "))
	case len(arg) == 64:
		return arg, false, nil
	}
	return "", false, fmt.Errorf("status.governance.proposals has no proposal starting with %s (give the full id of a proposal it does not list yet)", arg)
}

// declared is what a voting verb reports.
type declared struct {
	Network   string `json:"network"`
	Namespace string `json:"namespace"`
	// Declared is the spec.governance.proposals entry or the approved proposal id.
	Declared string `json:"declared"`
	// Changed is false when the spec already said so.
	Changed bool `json:"changed"`
	// Dropped are entries removed because they asked for the opposite.
	Dropped    []string `json:"dropped,omitempty"`
	Generation int64    `json:"generation"`
	Note       string   `json:"note,omitempty"`
}

// declare sends a declaration's patch and reports it.
func declare(cmd *cobra.Command, g *globals, k *kube, cn *chainv1.ChainNetwork, d *declaration, what string) error {
	if d.patch != nil {
		if err := k.ctrl.Patch(cmd.Context(), cn, ctrlclient.RawPatch("application/merge-patch+json", d.patch)); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	out := declared{Network: cn.Name, Namespace: cn.Namespace, Declared: d.entry, Changed: d.patch != nil, Dropped: d.dropped,
		Generation: cn.Generation, Note: d.note}
	return g.print(cmd.OutOrStdout(), out, func(w io.Writer) {
		switch {
		case d.patch == nil:
			fmt.Fprintf(w, "%s: nothing to change (%s)\n", what, d.note)
		default:
			fmt.Fprintf(w, "%s: declared in %s/%s (generation %d); the operator signs it with this cluster's admin keys\n", what, cn.Namespace, cn.Name, cn.Generation)
		}
		for _, name := range d.dropped {
			fmt.Fprintf(w, "removed spec.governance.proposals[%s], which asked for the opposite\n", name)
		}
		if d.note != "" && d.patch != nil {
			fmt.Fprintln(w, d.note)
		}
		fmt.Fprintf(w, "`kubectl chainnet proposals %s` follows it on the chain\n", cn.Name)
	})
}

func newNetworkProposeCommand(g *globals, k *kube) *cobra.Command {
	cmd := &cobra.Command{Use: "propose", Short: "Declare a proposal about another cluster's organization (the operator signs it)"}
	var name, proposer, request string
	addOrg := &cobra.Command{
		Use:   "add-org NAME --request FILE [--name ENTRY] [--proposer ORG]",
		Short: "Propose admitting an organization from its join request (spec.governance.proposals)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := readIdentity(request, cmd.InOrStdin())
			if err != nil {
				return err
			}
			cn, err := k.network(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			entry := name
			if entry == "" {
				entry = "add-" + id.Name
			}
			d, err := proposePatch(cn, chainv1.GovernanceProposal{Name: entry, Proposer: proposer, AddOrganization: id})
			if err != nil {
				return err
			}
			return declare(cmd, g, k, cn, d, "admit "+id.Name)
		},
	}
	addOrg.Flags().StringVar(&request, "request", "", "the organization's join request (`kubectl chainnet join-request` in its cluster), YAML or JSON; - reads stdin")
	_ = addOrg.MarkFlagRequired("request")
	removeOrg := &cobra.Command{
		Use:   "remove-org NAME ORG [--name ENTRY] [--proposer ORG]",
		Short: "Propose removing a member organization of another cluster (spec.governance.proposals)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !orgName.MatchString(args[1]) {
				return fmt.Errorf("organization %q: not an organization name", args[1])
			}
			cn, err := k.network(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			entry := name
			if entry == "" {
				entry = "remove-" + args[1]
			}
			d, err := proposePatch(cn, chainv1.GovernanceProposal{Name: entry, Proposer: proposer, RemoveOrganization: args[1]})
			if err != nil {
				return err
			}
			return declare(cmd, g, k, cn, d, "remove "+args[1])
		},
	}
	for _, c := range []*cobra.Command{addOrg, removeOrg} {
		c.Flags().StringVar(&name, "name", "", "name of the spec.governance.proposals entry (default add-ORG / remove-ORG)")
		c.Flags().StringVar(&proposer, "proposer", "", "this cluster's organization that signs the proposal (default: the first admitted one)")
	}
	cmd.AddCommand(addOrg, removeOrg)
	return cmd
}

func newNetworkApproveCommand(g *globals, k *kube) *cobra.Command {
	return &cobra.Command{
		Use:   "approve NAME PROPOSAL",
		Short: "Declare this cluster's approval of a proposal (its id or a unique prefix; spec.governance.approvals)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			cn, err := k.network(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			id, listed, err := statusProposal(cn, args[1])
			if err != nil {
				return err
			}
			d, err := approvePatch(cn, id)
			if err != nil {
				return err
			}
			if !listed && d.note == "" {
				d.note = "status.governance.proposals does not list it yet: the operator approves it once a node of this cluster sees it open"
			}
			return declare(cmd, g, k, cn, d, "approve "+id)
		},
	}
}

// joinSnippet is what export-genesis prints: the value of a joining cluster's spec.join.
type joinSnippet struct {
	Join chainv1.JoinSpec `json:"join"`
}

// exportJoin builds spec.join for a cluster joining cn from its genesis ConfigMap, checking the
// file against the hash the operator recorded.
func exportJoin(cn *chainv1.ChainNetwork, cm *corev1.ConfigMap) (*chainv1.JoinSpec, error) {
	text := cm.Data[controllers.GenesisKey]
	if text == "" {
		return nil, fmt.Errorf("configmap %s has no %s", cm.Name, controllers.GenesisKey)
	}
	f, err := genesis.Parse([]byte(text))
	if err != nil {
		return nil, fmt.Errorf("configmap %s: %w", cm.Name, err)
	}
	h, err := f.Hash()
	if err != nil {
		return nil, err
	}
	for _, recorded := range []struct{ where, hash string }{
		{"annotation " + controllers.AnnotationGenesisHash, cm.Annotations[controllers.AnnotationGenesisHash]},
		{"status.genesisHash", cn.Status.GenesisHash},
	} {
		if recorded.hash != "" && recorded.hash != h {
			return nil, fmt.Errorf("configmap %s: the genesis file hashes to %s, %s says %s", cm.Name, h, recorded.where, recorded.hash)
		}
	}
	j := &chainv1.JoinSpec{Genesis: text, GenesisHash: h, BootstrapPeers: []string{}}
	if st := cn.Status.Governance; st != nil {
		for _, o := range st.Local {
			j.BootstrapPeers = append(j.BootstrapPeers, o.Endpoints...)
		}
	}
	return j, nil
}

func newNetworkExportGenesisCommand(g *globals, k *kube) *cobra.Command {
	var genesisOnly bool
	cmd := &cobra.Command{
		Use:   "export-genesis NAME",
		Short: "Print the network's genesis, its hash and this cluster's P2P endpoints as spec.join for a joining cluster",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			cn, err := k.network(ctx, args[0])
			if err != nil {
				return err
			}
			var cm corev1.ConfigMap
			if err := k.ctrl.Get(ctx, ctrlclient.ObjectKey{Namespace: cn.Namespace, Name: controllers.GenesisConfigMapName(cn)}, &cm); err != nil {
				return fmt.Errorf("genesis of %s: %w", cn.Name, err)
			}
			j, err := exportJoin(cn, &cm)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if genesisOnly {
				_, err := io.WriteString(w, j.Genesis)
				return err
			}
			if len(j.BootstrapPeers) == 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "warning: no P2P endpoint in status.governance.local: set spec.p2p.expose (NodePort or LoadBalancer) on %s; spec.join.bootstrapPeers needs at least one\n", cn.Name)
			}
			if g.output == "json" {
				return g.print(w, joinSnippet{Join: *j}, nil)
			}
			b, err := yaml.Marshal(joinSnippet{Join: *j})
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "# spec.join for a cluster joining %s/%s (genesis %s): put it under the joining ChainNetwork's spec.\n"+
				"# bootstrapPeers are the P2P endpoints of this cluster's nodes.\n", cn.Namespace, cn.Name, j.GenesisHash)
			_, err = w.Write(b)
			return err
		},
	}
	cmd.Flags().BoolVar(&genesisOnly, "genesis-only", false, "print the genesis file alone (for a ConfigMap: spec.join.genesisConfigMap)")
	return cmd
}
