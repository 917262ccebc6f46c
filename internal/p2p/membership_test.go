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
	"github.com/chainnet/chainnet/internal/governance"
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

// permissionFile renders members grouped by organization (a hint file: whom to dial and, while
// behind, to admit).
func permissionFile(version int, members []*member) string {
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
			header := fmt.Sprintf("  %ss:\n", role)
			for _, m := range members {
				if m.org == org && m.role == role {
					b.WriteString(header)
					header = ""
					fmt.Fprintf(&b, "  - {name: %s, nodeId: %s}\n", m.name, m.nodeKey.NodeID())
				}
			}
		}
	}
	return b.String()
}

// organization is the chain membership of members of one organization, with its admin key.
func organization(t *testing.T, name string, admin *keys.Key, members ...*member) governance.Organization {
	t.Helper()
	o := governance.Organization{Name: name, AdminKey: governance.Key(admin.Public)}
	for _, m := range members {
		if m.role == "observer" {
			o.Observers = append(o.Observers, governance.Key(m.nodeKey.Public))
			continue
		}
		o.Validators = append(o.Validators, governance.Key(m.nodeKey.Public))
		o.Miners = append(o.Miners, governance.Key(m.miner.Public))
	}
	return o
}

func newAdmin(t *testing.T) *keys.Key {
	k, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// govTx signs a governance action with an organization's admin key.
func govTx(t *testing.T, tn *tnode, admin *keys.Key, a *governance.Action) *wire.Tx {
	t.Helper()
	acct, err := tn.n.Chain().Account(admin.AccountAddress())
	if err != nil {
		t.Fatal(err)
	}
	tx := wire.NewGovernance(chaintest.ChainID, acct.Nonce, 0, a.Encode())
	tx.Sign(admin)
	return tx
}

func (m *member) start(t *testing.T, gen, perms string) *tnode {
	return startNode(t, gen, m.dir, func(c *node.Config) {
		c.PermissionsPath, c.Org, c.Role = perms, m.org, m.role
	})
}

// TestConsortiumMembership: members (the genesis organizations) connect over mutual TLS without
// any permission file and share blocks; an observer attaches to validators only; a key the chain
// does not list is refused at the handshake whatever file it brings; a non-member miner's block
// is rejected despite valid proof of work; and an organization removed by a governance transaction
// is disconnected by every member once the block is on their chain, and its later blocks are
// rejected, while the blocks it mined before stay on the chain.
func TestConsortiumMembership(t *testing.T) {
	a := newMember(t, "org1-v0", "org1", "validator")
	o := newMember(t, "org1-o0", "org1", "observer")
	b := newMember(t, "org2-v0", "org2", "validator")
	admin1, admin2 := newAdmin(t), newAdmin(t)
	gen := writeGenesis(t, func(f *genesis.File) {
		f.Membership = genesis.Consortium
		f.Organizations = []governance.Organization{organization(t, "org1", admin1, a, o), organization(t, "org2", admin2, b)}
		f.Governance = &governance.Policy{Threshold: "1"}
	})
	na := a.start(t, gen, "")
	nb := b.start(t, gen, "")
	no := o.start(t, gen, "")
	nb.connect(na)
	no.connect(na)
	no.connect(nb)
	waitFor(t, 5*time.Second, "validators meshed and the observer attached to both", func() bool {
		return na.srv.PeerCount() == 2 && nb.srv.PeerCount() == 2 && no.srv.PeerCount() == 2
	})
	blk := nb.mine()
	waitFor(t, 5*time.Second, "org2's block on every member", func() bool {
		return na.tip() == blk.Hash() && no.tip() == blk.Hash()
	})

	// An outsider with a self-made permission file listing itself cannot get in.
	x := newMember(t, "x", "evil", "validator")
	xPerms := tempPath(t, "x-permissions.yaml")
	writeFile(t, xPerms, permissionFile(1, []*member{x, a}))
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

	// org1 removes org2 (the policy needs one approval): once the block is on the members' chains
	// org2's validator is dropped by both, and its next block is rejected.
	removal := na.mine(govTx(t, na, admin1, governance.ProposeRemoveOrg("org2")))
	waitFor(t, 5*time.Second, "org2's validator disconnected by both members", func() bool {
		return no.tip() == removal.Hash() && na.srv.PeerCount() == 1 && no.srv.PeerCount() == 1
	})
	late := chaintest.BuildBlock(t, na.n.Chain(), wire.ZeroHash, b.miner)
	if _, err := na.n.ProcessBlock(context.Background(), late); chain.RuleOf(err) != chain.RuleMinerNotPermitted {
		t.Fatalf("removed org's later block: want %s, got %v", chain.RuleMinerNotPermitted, err)
	}
	if !na.n.Chain().IsMainChain(blk.Hash()) {
		t.Fatal("org2's block from before its removal left the chain")
	}
	var st struct {
		MembershipSeq uint64 `json:"membershipSeq"`
		Member        bool   `json:"member"`
	}
	apiGet(t, na, "/v1/status", &st)
	if st.MembershipSeq != 1 || !st.Member {
		t.Fatalf("status membershipSeq %d member %v, want 1 true", st.MembershipSeq, st.Member)
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
		f.Organizations = []governance.Organization{organization(t, "org1", newAdmin(t), a, o1, o2)}
	})
	na := a.start(t, gen, "")
	n1 := o1.start(t, gen, "")
	n2 := o2.start(t, gen, "")
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

// TestJoiningOrganization: org3's validator runs before the members admit it: it is refused, and
// its miner does not mine (its blocks would be invalid). org1's admission on the chain lets it
// in; it syncs from org1, whose genesis membership it trusts, and once the admission is on its own
// chain it mines blocks every member accepts.
func TestJoiningOrganization(t *testing.T) {
	a := newMember(t, "org1-v0", "org1", "validator")
	c := newMember(t, "org3-v0", "org3", "validator")
	admin1, admin3 := newAdmin(t), newAdmin(t)
	gen := writeGenesis(t, func(f *genesis.File) {
		f.Membership = genesis.Consortium
		f.Organizations = []governance.Organization{organization(t, "org1", admin1, a)}
	})
	na := a.start(t, gen, "")
	nc := startNode(t, gen, c.dir, func(cfg *node.Config) { cfg.Org, cfg.Role, cfg.Mine = c.org, c.role, true })
	nc.connect(na)
	waitFor(t, 5*time.Second, "the non-member refused", func() bool {
		return metric(t, na, "chainnode_p2p_handshakes_refused_total", "reason", "not-admitted") >= 1
	})
	na.mine()
	time.Sleep(500 * time.Millisecond)
	if nc.height() != 0 || nc.srv.PeerCount() != 0 {
		t.Fatalf("before admission: height %d, %d peers", nc.height(), nc.srv.PeerCount())
	}
	// org1 admits org3 (a single member: its approval is the majority).
	na.mine(govTx(t, na, admin1, governance.ProposeAddOrg(organization(t, "org3", admin3, c))))
	waitFor(t, 15*time.Second, "org3 admitted, synced, mining, its block on org1's validator", func() bool {
		b, err := na.n.Chain().BlockByHash(na.tip())
		return err == nil && b.MinerKey() == [32]byte(c.miner.Public)
	})
	if !na.n.Chain().MinerAllowed([32]byte(c.miner.Public)) {
		t.Fatal("org3's miner not allowed after admission")
	}
}

// TestHintAdmitsWhileBehind: a node at genesis that knows only the current members from its
// permission file (every founder is gone) syncs from them: while its tip is old it admits the
// members the file lists, provisionally. Without the file it refuses them: its genesis does not
// list them.
func TestHintAdmitsWhileBehind(t *testing.T) {
	a := newMember(t, "org1-v0", "org1", "validator")
	o := newMember(t, "org1-o0", "org1", "observer")
	c := newMember(t, "org3-v0", "org3", "validator")
	stranger := newMember(t, "org9-v0", "org9", "validator")
	admin1, admin3 := newAdmin(t), newAdmin(t)
	gen := writeGenesis(t, func(f *genesis.File) {
		f.Membership = genesis.Consortium
		f.Organizations = []governance.Organization{organization(t, "org1", admin1, a, o)}
	})
	na := a.start(t, gen, "")
	nc := c.start(t, gen, "")
	nc.connect(na)
	na.mine(govTx(t, na, admin1, governance.ProposeAddOrg(organization(t, "org3", admin3, c))))
	waitFor(t, 10*time.Second, "org3 synced from org1", func() bool { return nc.srv.PeerCount() == 1 && converged([]*tnode{na, nc}) })
	na.stop() // the founder is gone; org3 carries the chain on
	nc.mine()
	nc.mine()

	// Without a hint, org1's observer (at genesis) refuses org3, whom its genesis does not list.
	blind := o.start(t, gen, "")
	blind.connect(nc) // not even dialled: the chain does not list org3
	nc.connect(blind) // org3 dials a genesis member, which refuses it
	waitFor(t, 5*time.Second, "org3 refused by the blind observer", func() bool {
		return metric(t, blind, "chainnode_p2p_handshakes_refused_total", "reason", "not-admitted") >= 1
	})
	if blind.height() != 0 || blind.srv.PeerCount() != 0 {
		t.Fatalf("the blind observer synced: height %d, %d peers", blind.height(), blind.srv.PeerCount())
	}
	blind.stop()

	// With the operator's file listing org3, it admits org3 while behind and syncs.
	hint := tempPath(t, "permissions.yaml")
	writeFile(t, hint, permissionFile(7, []*member{o, c, stranger}))
	seeing := startNode(t, gen, t.TempDir(), func(cfg *node.Config) {
		cfg.PermissionsPath, cfg.Org, cfg.Role = hint, o.org, o.role
		cfg.NodeKeyPath = filepath.Join(o.dir, "node-key.json")
	})
	seeing.connect(nc)
	waitFor(t, 10*time.Second, "the observer synced from org3 through the hint", func() bool { return converged([]*tnode{nc, seeing}) })
	if seeing.srv.PeerCount() != 1 {
		t.Fatalf("observer peers %d", seeing.srv.PeerCount())
	}
}

// TestProvisionalPeerDroppedWhenCaughtUp: a peer that only the permission file vouches for is
// admitted while our tip is old, and dropped once a recent block makes us caught up and the chain
// still does not list it.
func TestProvisionalPeerDroppedWhenCaughtUp(t *testing.T) {
	a := newMember(t, "org1-v0", "org1", "validator")
	o := newMember(t, "org1-o0", "org1", "observer")
	s := newMember(t, "org9-v0", "org9", "validator")
	gen := writeGenesis(t, func(f *genesis.File) {
		f.Timestamp = uint64(time.Now().Add(-time.Hour).Unix())
		f.Membership = genesis.Consortium
		f.Organizations = []governance.Organization{organization(t, "org1", newAdmin(t), a, o)}
	})
	hint := tempPath(t, "permissions.yaml")
	writeFile(t, hint, permissionFile(1, []*member{a, o, s}))
	na := a.start(t, gen, "")
	no := o.start(t, gen, hint)
	ns := s.start(t, gen, "")
	no.connect(ns)
	waitFor(t, 5*time.Second, "the hinted stranger admitted while behind", func() bool { return no.srv.PeerCount() == 1 })
	no.connect(na)
	recent := chaintest.BuildBlockAt(t, na.n.Chain(), wire.ZeroHash, a.miner, uint64(time.Now().Unix()))
	if _, err := na.n.ProcessBlock(context.Background(), recent); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "caught up, the stranger dropped", func() bool {
		if no.tip() != recent.Hash() {
			return false
		}
		for _, p := range no.srv.Peers() {
			if p.NodeID == s.nodeKey.NodeID() {
				return false
			}
		}
		return no.srv.PeerCount() == 1
	})
}
