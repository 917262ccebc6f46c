//go:build multihost

package multihost

import (
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
	"github.com/chainnet/chainnet/internal/keys"
	"github.com/chainnet/chainnet/internal/nodetest"
	"github.com/chainnet/chainnet/internal/permissions"
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
		if m.minerIsMember {
			org.Miners = append(org.Miners, m.miner.NodeID())
		}
	}
	b, _ := json.Marshal(f)
	if err := os.WriteFile(path+".tmp", b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
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

// TestConsortiumAcrossHosts runs a consortium on separate container IPs: two members' miners
// build the chain; a member node whose miner key is not listed mines blocks with valid proof of
// work that the others reject; an outsider with a self-made permission file is refused at the
// TLS handshake; and removing an organization from the permission file (mounted from a
// ConfigMap-like directory) disconnects its nodes without a restart.
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
	g.Miners = []string{ms[0].miner.NodeID(), ms[1].miner.NodeID()}
	shared := filepath.Join(c.dir, "shared")
	nodetest.WriteGenesis(t, shared, g)
	writePermissions(t, filepath.Join(shared, "permissions.json"), 1, ms)

	// The outsider's own directory: the same genesis, a permission file that lists itself.
	evil := filepath.Join(c.dir, c.name(3), "etc")
	if err := os.MkdirAll(evil, 0o755); err != nil {
		t.Fatal(err)
	}
	nodetest.WriteGenesis(t, evil, g)
	writePermissions(t, filepath.Join(evil, "permissions.json"), 1, []*hostMember{outsider, ms[0]})

	// The member whose miner is not listed runs with a file that lists it (as a misconfigured or
	// malicious member would), so its blocks leave it and reach the others.
	forged := filepath.Join(c.dir, c.name(2), "etc")
	if err := os.MkdirAll(forged, 0o755); err != nil {
		t.Fatal(err)
	}
	self := *ms[2]
	self.minerIsMember = true
	writePermissions(t, filepath.Join(forged, "permissions.json"), 1, []*hostMember{ms[0], ms[1], &self})

	const total = 4
	c.start(0, total, true, "--org", "org1", "--permissions", "/etc/chainnet/permissions.json")
	c.start(1, total, true, "--org", "org2", "--permissions", "/etc/chainnet/permissions.json")
	c.start(2, total, true, "--org", "org2", "--permissions", "/data/etc/permissions.json")
	c.start(3, total, true, "--org", "evil", "--permissions", "/data/etc/permissions.json",
		"--genesis", "/data/etc/genesis.json")
	members := c.names[:2]
	c.waitConverged(members, 4, 120*time.Second)

	deadline := time.Now().Add(60 * time.Second)
	for {
		m0 := c.metrics(members[0])
		refused := metricAtLeast(m0, `chainnode_p2p_handshakes_refused_total{reason="not-admitted"}`, 1)
		rejected := metricAtLeast(m0, `chainnode_blocks_rejected_total{rule="miner-not-permitted"}`, 1)
		if refused && rejected {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("want the outsider refused (%v) and the unlisted miner's blocks rejected (%v) on %s", refused, rejected, members[0])
		}
		time.Sleep(time.Second)
	}
	if st, err := c.status(c.names[3]); err != nil || st.Peers != 0 {
		t.Fatalf("the outsider has peers: %+v %v", st, err)
	}

	// org2 leaves: the permission file is rewritten in place, as the kubelet swaps a ConfigMap.
	writePermissions(t, filepath.Join(shared, "permissions.json"), 2, ms[:1])
	deadline = time.Now().Add(30 * time.Second)
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
	st, err := c.status(members[0])
	if err != nil || st.PermissionsVersion != 2 {
		t.Fatalf("status after reload: %+v %v", st, err)
	}
}
