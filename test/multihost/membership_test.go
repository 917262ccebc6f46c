//go:build multihost

package multihost

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chainnet/chainnet/internal/api"
	"github.com/chainnet/chainnet/internal/chaintest"
	"github.com/chainnet/chainnet/internal/genesis"
	"github.com/chainnet/chainnet/internal/governance"
	"github.com/chainnet/chainnet/internal/keys"
	"github.com/chainnet/chainnet/internal/nodetest"
	"github.com/chainnet/chainnet/internal/permissions"
	"github.com/chainnet/chainnet/internal/wire"
)

type hostMember struct {
	org, role     string
	node, miner   *keys.Key
	minerIsMember bool
}

func (c *cluster) keysFor(t *testing.T, i int, m *hostMember) {
	dir := filepath.Join(c.dir, c.name(i))
	var err error
	if m.node, err = keys.Generate(); err != nil {
		t.Fatal(err)
	}
	if m.miner, err = keys.Generate(); err != nil {
		t.Fatal(err)
	}
	if err := keys.Save(filepath.Join(dir, "node-key.json"), m.node); err != nil {
		t.Fatal(err)
	}
	if err := keys.Save(filepath.Join(dir, "miner-key.json"), m.miner); err != nil {
		t.Fatal(err)
	}
}

func writePermissions(t *testing.T, path string, version uint64, ms []*hostMember) {
	f := permissions.File{Version: version, Membership: "consortium"}
	idx := map[string]int{}
	for i, m := range ms {
		o, ok := idx[m.org]
		if !ok {
			f.Organizations = append(f.Organizations, permissions.Organization{Name: m.org})
			o = len(f.Organizations) - 1
			idx[m.org] = o
		}
		org := &f.Organizations[o]
		org.Validators = append(org.Validators, permissions.Node{Name: fmt.Sprintf("n%d", i), NodeID: m.node.NodeID()})
	}
	b, _ := json.Marshal(f)
	if err := os.WriteFile(path+".tmp", b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
}

// foundingOrgs is the genesis membership of ms: their nodes as validators, the miner keys of those
// whose miner is a member, one admin key per organization.
func foundingOrgs(ms []*hostMember, admins map[string]*keys.Key) []governance.Organization {
	var out []governance.Organization
	idx := map[string]int{}
	for _, m := range ms {
		o, ok := idx[m.org]
		if !ok {
			out = append(out, governance.Organization{Name: m.org, AdminKey: governance.Key(admins[m.org].Public)})
			o = len(out) - 1
			idx[m.org] = o
		}
		out[o].Validators = append(out[o].Validators, governance.Key(m.node.Public))
		if m.minerIsMember {
			out[o].Miners = append(out[o].Miners, governance.Key(m.miner.Public))
		}
	}
	return out
}

// submitGovernance signs a governance action and posts it to a node's API.
func (c *cluster) submitGovernance(t *testing.T, name string, chainID uint64, admin *keys.Key, a *governance.Action) {
	t.Helper()
	tx := wire.NewGovernance(chainID, 0, 0, a.Encode())
	tx.Sign(admin)
	body, _ := json.Marshal(api.TxFromWire(tx))
	resp, err := http.Post(c.apis[name]+"/v1/transactions", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("submit %s: %d %s", a, resp.StatusCode, b)
	}
}

func (c *cluster) metrics(name string) string {
	r, err := http.Get(c.apis[name] + "/metrics")
	if err != nil {
		return ""
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return string(b)
}

func (c *cluster) peers(name string) []api.Peer {
	r, err := http.Get(c.apis[name] + "/v1/peers")
	if err != nil {
		return nil
	}
	defer r.Body.Close()
	var ps []api.Peer
	_ = json.NewDecoder(r.Body).Decode(&ps)
	return ps
}

// metricAtLeast reports whether some sample of the metric whose line starts with prefix is ≥ v.
func metricAtLeast(text, prefix string, v float64) bool {
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, prefix) {
			var f float64
			if _, err := fmt.Sscan(line[strings.LastIndex(line, " ")+1:], &f); err == nil && f >= v {
				return true
			}
		}
	}
	return false
}

// TestConsortiumAcrossHosts runs a consortium on separate container IPs, its membership in the
// genesis and no permission file on the members: two members' miners build the chain; a member
// node whose miner key the chain does not list mines blocks with valid proof of work that the
// others reject; an outsider with a self-made permission file is refused at the TLS handshake;
// and a governance transaction removing an organization, submitted to one node's API and mined,
// disconnects its nodes everywhere without a restart.
func TestConsortiumAcrossHosts(t *testing.T) {
	c := newCluster(t)
	ms := []*hostMember{
		{org: "org1", role: "validator", minerIsMember: true},
		{org: "org2", role: "validator", minerIsMember: true},
		{org: "org2", role: "validator", minerIsMember: false}, // mines with an unlisted key
	}
	outsider := &hostMember{org: "evil", role: "validator", minerIsMember: true}
	for i, m := range append(ms, outsider) {
		if err := os.MkdirAll(filepath.Join(c.dir, c.name(i)), 0o755); err != nil {
			t.Fatal(err)
		}
		c.keysFor(t, i, m)
	}
	g := chaintest.Genesis(t)
	g.NetworkID, g.Timestamp, g.Membership = "consortium-mh", uint64(time.Now().Unix()), genesis.Consortium
	g.Consensus = genesis.DefaultConsensus()
	g.Consensus.TargetBlockTimeSeconds, g.Consensus.InitialDifficulty = 2, 2_000_000
	admins := map[string]*keys.Key{"org1": chaintest.Key(t, 61), "org2": chaintest.Key(t, 62)}
	g.Organizations = foundingOrgs(ms, admins)
	g.Governance = &governance.Policy{Threshold: "1"}
	shared := filepath.Join(c.dir, "shared")
	nodetest.WriteGenesis(t, shared, g)

	// The outsider's own directory: the same genesis, a permission file that lists itself.
	evil := filepath.Join(c.dir, c.name(3), "etc")
	if err := os.MkdirAll(evil, 0o755); err != nil {
		t.Fatal(err)
	}
	nodetest.WriteGenesis(t, evil, g)
	writePermissions(t, filepath.Join(evil, "permissions.json"), 1, []*hostMember{outsider, ms[0]})

	// The member node whose miner key the chain does not list runs with --mine: it follows the
	// chain but mines nothing (its blocks would be invalid everywhere).
	const total = 4
	c.start(0, total, true, "--org", "org1")
	c.start(1, total, true, "--org", "org2")
	c.start(2, total, true, "--org", "org2")
	c.start(3, total, true, "--org", "evil", "--permissions", "/data/etc/permissions.json",
		"--genesis", "/data/etc/genesis.json")
	members := c.names[:2]
	c.waitConverged(members, 4, 120*time.Second)

	deadline := time.Now().Add(60 * time.Second)
	for !metricAtLeast(c.metrics(members[0]), `chainnode_p2p_handshakes_refused_total{reason="not-admitted"}`, 1) {
		if time.Now().After(deadline) {
			t.Fatalf("want the outsider refused on %s", members[0])
		}
		time.Sleep(time.Second)
	}
	if st, err := c.status(c.names[3]); err != nil || st.Peers != 0 {
		t.Fatalf("the outsider has peers: %+v %v", st, err)
	}
	c.waitConverged(c.names[:3], 6, 60*time.Second)
	st, err := c.status(c.names[2])
	if err != nil || !st.Member || st.MinerPermitted || metricAtLeast(c.metrics(c.names[2]), "chainnode_miner_blocks_mined_total", 1) {
		t.Fatalf("the member with an unlisted miner key: %+v %v (want a member that mined nothing)", st, err)
	}

	// org2 leaves: org1's admin signs the removal (the policy needs one approval) and submits it
	// to its node; once it is mined, every member drops org2's nodes.
	c.submitGovernance(t, members[0], g.ChainID, admins["org1"], governance.ProposeRemoveOrg("org2"))
	deadline = time.Now().Add(60 * time.Second)
	for {
		org2 := 0
		for _, p := range c.peers(members[0]) {
			if p.Org == "org2" {
				org2++
			}
		}
		if org2 == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still has %d org2 peers after their removal", members[0], org2)
		}
		time.Sleep(500 * time.Millisecond)
	}
	st, err = c.status(members[0])
	if err != nil || st.MembershipSeq != 1 {
		t.Fatalf("status after the removal: %+v %v", st, err)
	}
}
