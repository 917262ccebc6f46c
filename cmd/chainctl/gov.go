package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
	"github.com/chainnet/chainnet/internal/api"
	"github.com/chainnet/chainnet/internal/governance"
	"github.com/chainnet/chainnet/internal/keys"
	"github.com/chainnet/chainnet/internal/wire"
)

// The `gov` commands take part in a permissioned network's governance with an admin key file at
// hand: they sign proposals and approvals here and submit them to a node (--node), which judges
// them under the membership after its tip and relays them to the miners. In a Kubernetes cluster
// the operator holds the admin keys instead, and `kubectl chainnet propose|approve` only declare
// the votes it signs.

func init() { extraCommands = append(extraCommands, newGovCommand) }

func newGovCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "gov",
		Aliases: []string{"governance"},
		Short:   "Membership of a permissioned network: proposals, approvals, the members",
		Long: "Membership of a consortium or private network is chain state. An organization's admin key\n" +
			"signs proposals (add or remove an organization, change the policy) and approvals; a proposal\n" +
			"counts as its proposer's approval and passes in the block in which its approvals reach the\n" +
			"policy's threshold, or expires after proposalTTLBlocks.",
	}
	propose := &cobra.Command{Use: "propose", Short: "Propose a membership or policy change (it counts as your organization's approval)"}
	propose.AddCommand(newProposeAddOrgCommand(g), newProposeRemoveOrgCommand(g), newProposeSetPolicyCommand(g))
	cmd.AddCommand(propose, newGovApproveCommand(g), newGovListCommand(g), newGovMembershipCommand(g), newGovJoinRequestCommand(g))
	return cmd
}

// govSigner holds the flags of the commands that sign a governance transaction.
type govSigner struct {
	keyFile string
	fee     uint64
	wait    time.Duration
	chainID uint64 // the chain the user means; 0: the node's
}

func (s *govSigner) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&s.keyFile, "key", "", "your organization's admin key file (`chainnode devnet` writes DIR/<org>-admin.json)")
	f.Uint64Var(&s.fee, "fee", 0, "fee paid to the miner, base units (governance transactions may pay none)")
	f.Uint64Var(&s.chainID, "chain-id", 0, "the chain id to sign for; refused if the node reports another (default: the node's)")
	f.DurationVar(&s.wait, "wait", 0, "wait up to this long for a block to carry the transaction, then show the proposal (0: return once the node accepts it)")
	_ = cmd.MarkFlagRequired("key")
}

// govResult is what a signing command reports.
type govResult struct {
	// ID is the transaction's id; a proposal's id is the id of the transaction that made it.
	ID     string `json:"id"`
	Action string `json:"action"`
	// Signer is the organization whose admin key signed, as the membership after the node's tip
	// says (empty: none; the node refused the transaction then).
	Signer string `json:"signer"`
	Nonce  uint64 `json:"nonce"`
	// Queued counts the admin's transactions pending in the node's mempool before this one.
	Queued uint64 `json:"queued,omitempty"`
	// ProposalID is the proposal made or approved (a proposal's id is its transaction's).
	ProposalID string `json:"proposalId"`
	// With --wait: the block that carried it, and the proposal after that block (nil: no longer
	// open, it passed).
	Height   uint64        `json:"height,omitempty"`
	Proposal *api.Proposal `json:"proposal,omitempty"`
}

// signGovernance signs action with the admin key of s and submits it to the node c talks to. The
// chain id is the node's; the nonce follows the admin's account and its transactions still in the
// node's mempool, so two commands before a block do not collide. A refusal is an *apiError that
// names the rule.
func signGovernance(ctx context.Context, c *client, s govSigner, action *governance.Action, proposal wire.Hash) (*govResult, error) {
	k, err := keys.Load(s.keyFile)
	if err != nil {
		return nil, err
	}
	var st api.Status
	if err := c.do(ctx, "GET", "/v1/status", nil, &st); err != nil {
		return nil, err
	}
	switch {
	case st.ChainID == 0:
		return nil, fmt.Errorf("the node (network %q) reports no chain id: refusing to sign a governance transaction any network could replay", st.NetworkID)
	case s.chainID != 0 && st.ChainID != s.chainID:
		return nil, fmt.Errorf("the node is on network %q with chain id %d, not %d: refusing to sign", st.NetworkID, st.ChainID, s.chainID)
	}
	m, err := membership(ctx, c)
	if err != nil {
		return nil, err
	}
	var acct api.Account
	if err := c.do(ctx, "GET", "/v1/accounts/"+k.Address(), nil, &acct); err != nil {
		return nil, err
	}
	nonce := max(acct.Nonce, acct.PendingNonce)
	tx := wire.NewGovernance(st.ChainID, nonce, s.fee, action.Encode())
	tx.Sign(k)
	var res api.SubmitResult
	if err := c.do(ctx, "POST", "/v1/transactions", api.TxFromWire(tx), &res); err != nil {
		return nil, err
	}
	if action.Type == governance.ActionPropose {
		proposal = tx.ID()
	}
	r := &govResult{ID: res.ID, Action: action.String(), Signer: adminOrg(m, k), Nonce: nonce, Queued: nonce - acct.Nonce, ProposalID: proposal.String()}
	if s.wait <= 0 {
		return r, nil
	}
	if r.Height, err = waitMined(ctx, c, res.ID, s.wait); err != nil {
		return r, err
	}
	var ps api.Proposals
	if err := c.do(ctx, "GET", "/v1/membership/proposals", nil, &ps); err != nil {
		return r, err
	}
	for i := range ps.Proposals {
		if ps.Proposals[i].ID == r.ProposalID {
			r.Proposal = &ps.Proposals[i]
		}
	}
	return r, nil
}

// membership reads the membership after the node's tip; a public network has none.
func membership(ctx context.Context, c *client) (*api.Membership, error) {
	var m api.Membership
	if err := c.do(ctx, "GET", "/v1/membership", nil, &m); err != nil {
		return nil, fmt.Errorf("membership: %w", err)
	}
	return &m, nil
}

// adminOrg is the member organization whose admin key k is.
func adminOrg(m *api.Membership, k *keys.Key) string {
	for _, o := range m.Organizations {
		if o.AdminKey == governance.Key(k.Public) {
			return o.Name
		}
	}
	return ""
}

// waitMined polls the node until a block on its best chain carries the transaction and returns
// that block's height.
func waitMined(ctx context.Context, c *client, id string, d time.Duration) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		var ts api.TxStatus
		err := c.do(ctx, "GET", "/v1/transactions/"+id, nil, &ts)
		var ae *apiError
		switch {
		case err == nil && ts.Status == "mined" && ts.Location != nil:
			return ts.Location.Height, nil
		case errors.As(err, &ae) && ae.Code == http.StatusNotFound:
			return 0, fmt.Errorf("transaction %s left the node's mempool without being mined: the membership after a later block refuses it (a proposal decided or expired meanwhile)", id)
		case err != nil && ctx.Err() == nil:
			return 0, err
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("transaction %s is still pending after %s (no block carried it yet)", id, d)
		case <-tick.C:
		}
	}
}

func (g *globals) printGovResult(w io.Writer, r *govResult) error {
	return g.print(w, r, func(w io.Writer) {
		signer := r.Signer
		if signer == "" {
			signer = "(no member's admin key)"
		}
		fmt.Fprintf(w, "%s signed %s (nonce %d): transaction %s\n", signer, r.Action, r.Nonce, r.ID)
		if r.Queued > 0 {
			fmt.Fprintf(w, "queued behind %d pending transaction(s) of this admin key\n", r.Queued)
		}
		if strings.HasPrefix(r.Action, "propose") {
			fmt.Fprintf(w, "proposal %s: the other members approve it with `chainctl gov approve %s`\n", r.ProposalID, r.ProposalID)
		}
		if r.Height == 0 {
			return
		}
		if p := r.Proposal; p != nil {
			fmt.Fprintf(w, "mined in block %d: %s\n", r.Height, proposalState(p.Approvals, p.Needed, p.ExpiresAt, p.Approved, p.EffectiveAt, r.Height))
		} else {
			fmt.Fprintf(w, "mined in block %d: the proposal is no longer open, it passed (`chainctl gov membership` shows the members)\n", r.Height)
		}
	})
}

func newProposeAddOrgCommand(g *globals) *cobra.Command {
	var s govSigner
	var request string
	cmd := &cobra.Command{
		Use:   "add-org --request FILE --key ADMIN.json",
		Short: "Propose admitting an organization, from its identity file (`chainctl gov join-request`, `kubectl chainnet join-request`)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			id, err := readIdentity(request, cmd.InOrStdin())
			if err != nil {
				return err
			}
			org, err := identityOrganization(id)
			if err != nil {
				return err
			}
			r, err := signGovernance(cmd.Context(), g.client(), s, governance.ProposeAddOrg(org), wire.Hash{})
			if err != nil {
				return err
			}
			return g.printGovResult(cmd.OutOrStdout(), r)
		},
	}
	s.addFlags(cmd)
	cmd.Flags().StringVar(&request, "request", "", "the organization's identity file, JSON or YAML (- reads stdin)")
	_ = cmd.MarkFlagRequired("request")
	return cmd
}

func newProposeRemoveOrgCommand(g *globals) *cobra.Command {
	var s govSigner
	cmd := &cobra.Command{
		Use:   "remove-org ORG --key ADMIN.json",
		Short: "Propose removing a member organization (its nodes are disconnected and its later blocks refused once it passes)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !orgName.MatchString(args[0]) {
				return fmt.Errorf("organization %q: not an organization name", args[0])
			}
			r, err := signGovernance(cmd.Context(), g.client(), s, governance.ProposeRemoveOrg(args[0]), wire.Hash{})
			if err != nil {
				return err
			}
			return g.printGovResult(cmd.OutOrStdout(), r)
		},
	}
	s.addFlags(cmd)
	return cmd
}

func newProposeSetPolicyCommand(g *globals) *cobra.Command {
	var s govSigner
	var threshold string
	var ttl, delay uint64
	var maxValidators, maxObservers, maxMiners, maxProposals uint32
	cmd := &cobra.Command{
		Use:   "set-policy [--threshold majority|all|N] [--proposal-ttl BLOCKS] [--activation-delay BLOCKS] ... --key ADMIN.json",
		Short: "Propose a new governance policy: the current one with the settings given changed",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c := g.client()
			m, err := membership(cmd.Context(), c)
			if err != nil {
				return err
			}
			p := m.Policy
			f := cmd.Flags()
			if f.Changed("threshold") {
				p.Threshold = governance.Threshold(threshold)
			}
			for _, u := range []struct {
				flag string
				set  func()
			}{
				{"proposal-ttl", func() { p.ProposalTTLBlocks = ttl }},
				{"activation-delay", func() { p.ActivationDelayBlocks = delay }},
				{"max-validators-per-org", func() { p.MaxValidatorsPerOrg = maxValidators }},
				{"max-observers-per-org", func() { p.MaxObserversPerOrg = maxObservers }},
				{"max-miners-per-org", func() { p.MaxMinersPerOrg = maxMiners }},
				{"max-proposals-per-org", func() { p.MaxProposalsPerOrg = maxProposals }},
			} {
				if f.Changed(u.flag) {
					u.set()
				}
			}
			if p == m.Policy {
				return fmt.Errorf("the policy already is %s: change at least one setting", describePolicy(p, len(m.Organizations)))
			}
			if err := p.Validate(); err != nil {
				return err
			}
			r, err := signGovernance(cmd.Context(), c, s, governance.ProposeSetPolicy(p), wire.Hash{})
			if err != nil {
				return err
			}
			return g.printGovResult(cmd.OutOrStdout(), r)
		},
	}
	s.addFlags(cmd)
	f := cmd.Flags()
	f.StringVar(&threshold, "threshold", "", "approvals a change needs: majority, all, or a number of organizations")
	f.Uint64Var(&ttl, "proposal-ttl", 0, "blocks a proposal stays open")
	f.Uint64Var(&delay, "activation-delay", 0, "blocks between a change's approval and its effect")
	f.Uint32Var(&maxValidators, "max-validators-per-org", 0, "validators an organization may list")
	f.Uint32Var(&maxObservers, "max-observers-per-org", 0, "observers an organization may list")
	f.Uint32Var(&maxMiners, "max-miners-per-org", 0, "miner keys an organization may list")
	f.Uint32Var(&maxProposals, "max-proposals-per-org", 0, "open proposals an organization may have")
	return cmd
}

var hexPrefix = regexp.MustCompile(`^[0-9a-f]{4,64}$`)

// resolveProposal turns a proposal id, or a unique prefix of at least 4 hex digits of an open
// proposal's id, into the id.
func resolveProposal(ctx context.Context, c *client, arg string) (wire.Hash, error) {
	arg = strings.ToLower(arg)
	if len(arg) == 2*wire.HashSize {
		return wire.ParseHash(arg)
	}
	if !hexPrefix.MatchString(arg) {
		return wire.Hash{}, fmt.Errorf("proposal %q: want its id (64 hex digits) or a prefix of at least 4", arg)
	}
	var ps api.Proposals
	if err := c.do(ctx, "GET", "/v1/membership/proposals", nil, &ps); err != nil {
		return wire.Hash{}, err
	}
	var ids []string
	for _, p := range ps.Proposals {
		if strings.HasPrefix(p.ID, arg) {
			ids = append(ids, p.ID)
		}
	}
	switch len(ids) {
	case 0:
		return wire.Hash{}, fmt.Errorf("no open proposal at height %d has an id starting with %s", ps.Height, arg)
	case 1:
		return wire.ParseHash(ids[0])
	}
	return wire.Hash{}, fmt.Errorf("proposal %s is ambiguous: %s", arg, strings.Join(ids, ", "))
}

func newGovApproveCommand(g *globals) *cobra.Command {
	var s govSigner
	cmd := &cobra.Command{
		Use:   "approve ID --key ADMIN.json",
		Short: "Approve an open proposal (its id, or a unique prefix of it) as your organization",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := g.client()
			id, err := resolveProposal(cmd.Context(), c, args[0])
			if err != nil {
				return err
			}
			r, err := signGovernance(cmd.Context(), c, s, governance.Approve(id), id)
			if err != nil {
				return err
			}
			return g.printGovResult(cmd.OutOrStdout(), r)
		},
	}
	s.addFlags(cmd)
	return cmd
}

func newGovListCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "Open proposals, and approved ones waiting for their activation height",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var ps api.Proposals
			if err := g.client().do(cmd.Context(), "GET", "/v1/membership/proposals", nil, &ps); err != nil {
				return err
			}
			return g.print(cmd.OutOrStdout(), ps, func(w io.Writer) {
				writeProposals(w, ps.Height, proposalRows(ps.Proposals), false)
			})
		},
	}
}

func newGovMembershipCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "membership",
		Short: "The member organizations and the policy after the node's tip",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, err := membership(cmd.Context(), g.client())
			if err != nil {
				return err
			}
			return g.print(cmd.OutOrStdout(), m, func(w io.Writer) {
				fmt.Fprintf(w, "membership at height %d (seq %d): %s\n", m.Height, m.Seq, describePolicy(m.Policy, len(m.Organizations)))
				writeMembers(w, memberRows(m.Organizations, nil), false)
			})
		},
	}
}

func newGovJoinRequestCommand(g *globals) *cobra.Command {
	var id chainv1.OrganizationIdentity
	var admin string
	var validators, observers, miners []string
	cmd := &cobra.Command{
		Use:   "join-request --name ORG --admin-key KEY [--validator KEY]... [--observer KEY]... [--miner KEY]... [--endpoint HOST:PORT#NODEID]...",
		Short: "Print an organization's identity file (public keys only) for the members to admit it",
		Long: "Print an organization's identity file: its name, admin key, node identities and miner keys, as\n" +
			"public keys (each KEY is a key file, whose public half is taken, or 64 hex digits). A member\n" +
			"proposes it with `chainctl gov propose add-org --request FILE` or `kubectl chainnet propose\n" +
			"add-org NETWORK --request FILE`; `chainnode genesis --organization FILE` founds a network with it.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if id.AdminKey, err = publicKeyArg(admin); err != nil {
				return fmt.Errorf("--admin-key: %w", err)
			}
			for _, l := range []struct {
				flag string
				from []string
				to   *[]string
			}{{"validator", validators, &id.Validators}, {"observer", observers, &id.Observers}, {"miner", miners, &id.Miners}} {
				*l.to = nil
				for _, s := range l.from {
					k, err := publicKeyArg(s)
					if err != nil {
						return fmt.Errorf("--%s: %w", l.flag, err)
					}
					*l.to = append(*l.to, k)
				}
			}
			if _, err := identityOrganization(&id); err != nil {
				return err
			}
			if err := checkEndpoints(id.Endpoints); err != nil {
				return err
			}
			return g.writeIdentity(cmd.OutOrStdout(), &id, fmt.Sprintf("# Identity of organization %s (public keys only). A member admits it with\n"+
				"#   chainctl gov propose add-org --request FILE --key ADMIN.json\n# or, in its cluster, kubectl chainnet propose add-org NETWORK --request FILE\n", id.Name))
		},
	}
	f := cmd.Flags()
	f.StringVar(&id.Name, "name", "", "organization name")
	f.StringVar(&admin, "admin-key", "", "the organization's admin key (it signs its governance transactions)")
	f.StringArrayVar(&validators, "validator", nil, "a mining node's identity (its node key; repeatable)")
	f.StringArrayVar(&observers, "observer", nil, "a non-mining node's identity (repeatable)")
	f.StringArrayVar(&miners, "miner", nil, "a miner key whose blocks are valid once admitted (repeatable)")
	f.StringArrayVar(&id.Endpoints, "endpoint", nil, "a P2P address other members can dial, HOST:PORT#NODEID (repeatable; not chain state)")
	_ = cmd.MarkFlagRequired("name")
	_ = cmd.MarkFlagRequired("admin-key")
	return cmd
}

// describePolicy says what a policy asks for among members organizations.
func describePolicy(p governance.Policy, members int) string {
	return fmt.Sprintf("threshold %s (%d of %d organizations), proposals open %d blocks, activation delay %d blocks",
		p.Threshold, p.Threshold.Needed(members), members, p.ProposalTTLBlocks, p.ActivationDelayBlocks)
}
