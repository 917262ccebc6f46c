package p2p_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chainnet/chainnet/internal/chain"
	"github.com/chainnet/chainnet/internal/chaintest"
	"github.com/chainnet/chainnet/internal/genesis"
	"github.com/chainnet/chainnet/internal/keys"
	"github.com/chainnet/chainnet/internal/node"
	"github.com/chainnet/chainnet/internal/wire"
)

// member is a node identity prepared before the node starts.
type member struct {
	name, org, role string
	nodeKey, miner  *keys.Key
	dir             string
}

func newMember(t *testing.T, name, org, role string) *member {
	t.Helper()
	m := &member{name: name, org: org, role: role, dir: t.TempDir()}
	var err error
	if m.nodeKey, err = keys.Generate(); err != nil {
		t.Fatal(err)
	}
	if m.miner, err = keys.Generate(); err != nil {
		t.Fatal(err)
	}
	if err := keys.Save(filepath.Join(m.dir, "node-key.json"), m.nodeKey); err != nil {
		t.Fatal(err)
	}
	if err := keys.Save(filepath.Join(m.dir, "miner-key.json"), m.miner); err != nil {
		t.Fatal(err)
	}
	return m
}

// permissionFile renders members grouped by organization; revoked miners follow.
func permissionFile(version int, members []*member, revoked map[*member]uint64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "version: %d\nmembership: consortium\norganizations:\n", version)
	orgs := []string{}
	seen := map[string]bool{}
	for _, m := range members {
		if !seen[m.org] {
			seen[m.org] = true
			orgs = append(orgs, m.org)
		}
	}
	for _, org := range orgs {
		fmt.Fprintf(&b, "- name: %s\n", org)
		for _, role := range []string{"validator", "observer"} {
			fmt.Fprintf(&b, "  %ss:\n", role)
			for _, m := range members {
				if m.org == org && m.role == role {
					fmt.Fprintf(&b, "  - {name: %s, nodeId: %s}\n", m.name, m.nodeKey.NodeID())
				}
			}
		}
		b.WriteString("  miners:\n")
		for _, m := range members {
			if m.org == org && m.role == "validator" {
				fmt.Fprintf(&b, "  - %s\n", m.miner.NodeID())
			}
		}
	}
	if len(revoked) > 0 {
		b.WriteString("revokedMiners:\n")
		for m, at := range revoked {
			fmt.Fprintf(&b, "- {key: %s, revokedAt: %d}\n", m.miner.NodeID(), at)
		}
	}
	return strings.ReplaceAll(b.String(), "  validators:\n  observers:\n", "")
}

func (m *member) start(t *testing.T, gen, perms string) *tnode {
	return startNode(t, gen, m.dir, func(c *node.Config) {
		c.PermissionsPath, c.Org, c.Role = perms, m.org, m.role
	})
}

// TestConsortiumMembership: members connect over mutual TLS and share blocks; an observer
// attaches to validators only; a key not in the permission file is refused at the handshake;
// a non-member miner's block is rejected despite valid proof of work; and a member removed from
// the file is disconnected at the next reload and its later blocks are rejected.
func TestConsortiumMembership(t *testing.T) {
	a := newMember(t, "org1-v0", "org1", "validator")
	o := newMember(t, "org1-o0", "org1", "observer")
	b := newMember(t, "org2-v0", "org2", "validator")
	gen := writeGenesis(t, func(f *genesis.File) {
		f.Membership = genesis.Consortium
		f.Miners = []string{a.miner.NodeID(), b.miner.NodeID()}
	})
	perms := tempPath(t, "permissions.yaml")
	writeFile(t, perms, permissionFile(1, []*member{a, o, b}, nil))

	na := a.start(t, gen, perms)
	nb := b.start(t, gen, perms)
	no := o.start(t, gen, perms)
	nb.connect(na)
	no.connect(na)
	no.connect(nb)
	waitFor(t, 5*time.Second, "validators meshed and the observer attached to both", func() bool {
		return na.srv.PeerCount() == 2 && nb.srv.PeerCount() == 2 && no.srv.PeerCount() == 2
	})
	blk := na.mine()
	waitFor(t, 5*time.Second, "a member's block on every member", func() bool {
		return nb.tip() == blk.Hash() && no.tip() == blk.Hash()
	})

	// An outsider with a self-made permission file listing itself cannot get in.
	x := newMember(t, "x", "evil", "validator")
	xPerms := tempPath(t, "x-permissions.yaml")
	writeFile(t, xPerms, permissionFile(1, []*member{x, a}, nil))
	nx := x.start(t, gen, xPerms)
	nx.connect(na)
	waitFor(t, 5*time.Second, "the outsider refused at the TLS handshake", func() bool {
		return metric(t, na, "chainnode_p2p_handshakes_refused_total", "reason", "not-admitted") >= 1
	})
	if nx.srv.PeerCount() != 0 || na.srv.PeerCount() != 2 {
		t.Fatalf("outsider peers %d, member peers %d", nx.srv.PeerCount(), na.srv.PeerCount())
	}

	// A block signed by a non-member miner, with valid proof of work, is rejected.
	outsiderBlock := chaintest.BuildBlock(t, na.n.Chain(), wire.ZeroHash, x.miner)
	if _, err := na.n.ProcessBlock(context.Background(), outsiderBlock); chain.RuleOf(err) != chain.RuleMinerNotPermitted {
		t.Fatalf("non-member miner's block: want %s, got %v", chain.RuleMinerNotPermitted, err)
	}

	// org2 leaves: its validator is dropped at the next reload, and its miner key is revoked
	// after the current tip, so its history stays valid while its next block does not.
	revokeAt := na.n.Chain().Tip().Header.Timestamp + 1
	writeFile(t, perms, permissionFile(2, []*member{a, o}, map[*member]uint64{b: revokeAt}))
	waitFor(t, 5*time.Second, "org2's validator disconnected by both members", func() bool {
		return na.srv.PeerCount() == 1 && no.srv.PeerCount() == 1
	})
	late := chaintest.BuildBlock(t, nb.n.Chain(), wire.ZeroHash, b.miner)
	if _, err := na.n.ProcessBlock(context.Background(), late); chain.RuleOf(err) != chain.RuleMinerNotPermitted {
		t.Fatalf("revoked miner's later block: want %s, got %v", chain.RuleMinerNotPermitted, err)
	}
	var st struct {
		PermissionsVersion uint64 `json:"permissionsVersion"`
	}
	apiGet(t, na, "/v1/status", &st)
	if st.PermissionsVersion != 2 {
		t.Fatalf("status permissionsVersion %d, want 2", st.PermissionsVersion)
	}
	time.Sleep(300 * time.Millisecond)
	if nb.srv.PeerCount() != 0 {
		t.Fatalf("the removed member reconnected: %d peers", nb.srv.PeerCount())
	}
}

// TestObserverNeverDialsObservers: observers refuse each other at the TLS handshake.
func TestObserverNeverDialsObservers(t *testing.T) {
	a := newMember(t, "org1-v0", "org1", "validator")
	o1 := newMember(t, "org1-o0", "org1", "observer")
	o2 := newMember(t, "org1-o1", "org1", "observer")
	gen := writeGenesis(t, func(f *genesis.File) {
		f.Membership = genesis.Private
		f.Miners = []string{a.miner.NodeID()}
	})
	perms := tempPath(t, "permissions.yaml")
	writeFile(t, perms, strings.Replace(permissionFile(1, []*member{a, o1, o2}, nil), "consortium", "private", 1))
	na := a.start(t, gen, perms)
	n1 := o1.start(t, gen, perms)
	n2 := o2.start(t, gen, perms)
	n1.connect(n2)
	n1.connect(na)
	waitFor(t, 5*time.Second, "observer attached to the validator", func() bool { return n1.srv.PeerCount() == 1 })
	time.Sleep(300 * time.Millisecond)
	for _, p := range n1.srv.Peers() {
		if p.Role != "validator" {
			t.Fatalf("observer connected to a %s", p.Role)
		}
	}
	if n2.srv.PeerCount() != 0 {
		t.Fatalf("second observer has %d peers, want 0 (it knows only the other observer)", n2.srv.PeerCount())
	}
}

// TestPermissionReloadSkew: an organization joins and the members reload the permission file at
// different moments. A validator that already lists the new miner relays its block to an
// observer that does not yet: the observer refuses the blocks but keeps its validator (policy skew
// is not misbehaviour), and once it reloads it fetches the blocks it had refused.
func TestPermissionReloadSkew(t *testing.T) {
	a := newMember(t, "org1-v0", "org1", "validator")
	o := newMember(t, "org1-o0", "org1", "observer")
	c := newMember(t, "org3-v0", "org3", "validator")
	gen := writeGenesis(t, func(f *genesis.File) {
		f.Membership = genesis.Consortium
		f.Miners = []string{a.miner.NodeID()}
	})
	permsA, permsO, permsC := tempPath(t, "a.yaml"), tempPath(t, "o.yaml"), tempPath(t, "c.yaml")
	writeFile(t, permsA, permissionFile(1, []*member{a, o}, nil))
	writeFile(t, permsO, permissionFile(1, []*member{a, o}, nil))
	writeFile(t, permsC, permissionFile(2, []*member{a, o, c}, nil))
	na, no := a.start(t, gen, permsA), o.start(t, gen, permsO)
	no.connect(na)
	waitFor(t, 5*time.Second, "the observer attached", func() bool { return no.srv.PeerCount() == 1 })

	// org3 joins: the validator reloads first and takes the new member's block.
	writeFile(t, permsA, permissionFile(2, []*member{a, o, c}, nil))
	nc := c.start(t, gen, permsC)
	nc.connect(na)
	waitFor(t, 10*time.Second, "the new member connected", func() bool { return nc.srv.PeerCount() == 1 })
	var blk *wire.Block
	for i := 1; i <= 2; i++ {
		blk = nc.mine()
		waitFor(t, 5*time.Second, "the validator took the new miner's block", func() bool { return na.tip() == blk.Hash() })
		waitFor(t, 5*time.Second, "the observer refused it under its older file", func() bool {
			return metric(t, no, "chainnode_blocks_rejected_total", "rule", "miner-not-permitted") >= float64(i)
		})
	}
	if no.tip() == blk.Hash() || no.srv.PeerCount() != 1 {
		t.Fatalf("observer: tip %s, %d peers; want the old tip and its validator kept", no.tip(), no.srv.PeerCount())
	}
	if got := metric(t, no, "chainnode_p2p_bans_total"); got != 0 {
		t.Fatalf("the observer banned %v peers for policy skew", got)
	}

	// The observer reloads: it fetches the block again without any new announcement.
	writeFile(t, permsO, permissionFile(2, []*member{a, o, c}, nil))
	waitFor(t, 15*time.Second, "the observer on the new member's block after its reload", func() bool { return no.tip() == blk.Hash() })
	if no.srv.PeerCount() != 1 {
		t.Fatalf("observer has %d peers after the reload", no.srv.PeerCount())
	}
}
