package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/chainnet/chainnet/internal/api"
	"github.com/chainnet/chainnet/internal/governance"
)

// Tables shared by `chainctl gov` (a node's answer) and `kubectl chainnet` (a node through the pod
// proxy, or status.governance when no node answers).

// proposalRow is one line of a proposal table.
type proposalRow struct {
	ID           string   `json:"id"`
	Kind         string   `json:"kind"`
	Organization string   `json:"organization,omitempty"`
	Proposer     string   `json:"proposer,omitempty"`
	Approvals    []string `json:"approvals"`
	Needed       int      `json:"needed"`
	ExpiresAt    uint64   `json:"expiresAt"`
	Approved     bool     `json:"approved,omitempty"`
	EffectiveAt  uint64   `json:"effectiveAt,omitempty"`
	// Declared (kubectl chainnet proposals) is this cluster's declaration about the proposal:
	// the spec.governance.proposals entry that makes it, or "approvals" when
	// spec.governance.approvals lists it.
	Declared string `json:"declared,omitempty"`
}

func proposalRows(ps []api.Proposal) []proposalRow {
	rows := make([]proposalRow, 0, len(ps))
	for _, p := range ps {
		rows = append(rows, proposalRow{ID: p.ID, Kind: p.Kind, Organization: p.Organization, Proposer: p.Proposer,
			Approvals: p.Approvals, Needed: p.Needed, ExpiresAt: p.ExpiresAt, Approved: p.Approved, EffectiveAt: p.EffectiveAt})
	}
	return rows
}

// proposalState says where a proposal stands after the block at height: expiresAt is the last
// height whose block may carry an approval.
func proposalState(approvals []string, needed int, expiresAt uint64, approved bool, effectiveAt, height uint64) string {
	votes := fmt.Sprintf("approvals %d/%d", len(approvals), needed)
	switch {
	case approved:
		return fmt.Sprintf("%s, approved: in force after block %d", votes, effectiveAt)
	case expiresAt > height:
		return fmt.Sprintf("%s, open until block %d (%d block(s) left)", votes, expiresAt, expiresAt-height)
	}
	return fmt.Sprintf("%s, expired: the next block drops it", votes)
}

func writeProposals(w io.Writer, height uint64, rows []proposalRow, declared bool) {
	if len(rows) == 0 {
		fmt.Fprintf(w, "no open proposals at height %d\n", height)
		return
	}
	fmt.Fprintf(w, "proposals at height %d\n", height)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	header := "ID\tKIND\tORGANIZATION\tPROPOSER\tAPPROVALS\tEXPIRES AT\tSTATE"
	if declared {
		header += "\tDECLARED HERE"
	}
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		var state string
		switch {
		case r.Approved:
			state = fmt.Sprintf("approved, in force after block %d", r.EffectiveAt)
		case r.ExpiresAt > height:
			state = fmt.Sprintf("open, %d block(s) left", r.ExpiresAt-height)
		default:
			state = "expired (dropped by the next block)"
		}
		line := fmt.Sprintf("%s\t%s\t%s\t%s\t%d/%d %s\t%d\t%s", r.ID, r.Kind, dash(r.Organization), dash(r.Proposer),
			len(r.Approvals), r.Needed, strings.Join(r.Approvals, ","), r.ExpiresAt, state)
		if declared {
			line += "\t" + dash(r.Declared)
		}
		fmt.Fprintln(tw, line)
	}
	tw.Flush()
}

// memberRow is one line of a membership table.
type memberRow struct {
	Name string `json:"name"`
	// AdminKey is empty when read from status.governance (which counts keys only).
	AdminKey   string `json:"adminKey,omitempty"`
	Validators int    `json:"validators"`
	Observers  int    `json:"observers"`
	Miners     int    `json:"miners"`
	// Local (kubectl chainnet membership): an organization of this cluster.
	Local bool `json:"local,omitempty"`
}

func memberRows(orgs []governance.Organization, local map[string]bool) []memberRow {
	rows := make([]memberRow, 0, len(orgs))
	for _, o := range orgs {
		rows = append(rows, memberRow{Name: o.Name, AdminKey: o.AdminKey.String(), Validators: len(o.Validators),
			Observers: len(o.Observers), Miners: len(o.Miners), Local: local[o.Name]})
	}
	return rows
}

func writeMembers(w io.Writer, rows []memberRow, withLocal bool) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	header := "ORGANIZATION\tADMIN KEY\tVALIDATORS\tOBSERVERS\tMINERS"
	if withLocal {
		header += "\tTHIS CLUSTER"
	}
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		admin := r.AdminKey
		if len(admin) > 16 {
			admin = admin[:16] + "…"
		}
		line := fmt.Sprintf("%s\t%s\t%d\t%d\t%d", r.Name, dash(admin), r.Validators, r.Observers, r.Miners)
		if withLocal {
			line += "\t" + map[bool]string{true: "yes", false: "-"}[r.Local]
		}
		fmt.Fprintln(tw, line)
	}
	tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
