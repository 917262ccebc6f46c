//go:build multihost

// Package multihost runs chainnode networks across separate network hosts: one Docker container
// per node on its own IP, on Docker networks the test cuts and heals. It needs a Docker engine
// and skips without one; `make test` runs it with -tags multihost.
package multihost

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chainnet/chainnet/internal/api"
	"github.com/chainnet/chainnet/internal/chaintest"
	"github.com/chainnet/chainnet/internal/genesis"
	"github.com/chainnet/chainnet/internal/nodetest"
	"github.com/chainnet/chainnet/internal/wire"
)

func docker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// image builds the node image from node-image/Dockerfile and a fresh static binary.
func image(t *testing.T) string {
	t.Helper()
	ctx := t.TempDir()
	root, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	modRoot := filepath.Dir(strings.TrimSpace(string(root)))
	build := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(ctx, "chainnode"), "./cmd/chainnode")
	build.Dir, build.Env = modRoot, append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	df, err := os.ReadFile(filepath.Join(modRoot, "node-image", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ctx, "Dockerfile"), df, 0o644); err != nil {
		t.Fatal(err)
	}
	tag := "chainnet/chainnode:multihost-test"
	docker(t, "build", "-q", "-t", tag, ctx)
	return tag
}

type cluster struct {
	t     *testing.T
	id    string
	image string
	dir   string
	names []string
	apis  map[string]string
}

func (c *cluster) name(i int) string   { return fmt.Sprintf("cn-%s-n%d", c.id, i) }
func (c *cluster) net(n string) string { return fmt.Sprintf("cn-%s-%s", c.id, n) }

// start runs node i on the "all" network, mining if asked, bootstrapping to every other node.
// The shared directory c.dir/shared (genesis, permission file) is mounted at /etc/chainnet.
func (c *cluster) start(i, total int, mine bool, extra ...string) {
	name := c.name(i)
	data := filepath.Join(c.dir, name)
	if err := os.MkdirAll(data, 0o755); err != nil {
		c.t.Fatal(err)
	}
	args := []string{"run", "-d", "--name", name, "--hostname", name, "--network", c.net("all"),
		"--user", fmt.Sprintf("%d:%d", os.Getuid(), os.Getgid()),
		"-v", data + ":/data", "-v", filepath.Join(c.dir, "shared") + ":/etc/chainnet:ro",
		c.image,
		"run", "--data-dir", "/data", "--genesis", "/etc/chainnet/genesis.json", "--api-addr", "0.0.0.0:8545",
		"--p2p-addr", "0.0.0.0:9333", "--advertise-addr", name + ":9333", "--ping-interval", "1s", "--peer-timeout", "4s"}
	for j := 0; j < total; j++ {
		if j != i {
			args = append(args, "--bootstrap", c.name(j)+":9333")
		}
	}
	if mine {
		args = append(args, "--mine", "--miner-threads", "1")
	}
	args = append(args, extra...)
	docker(c.t, args...)
	c.names = append(c.names, name)
	c.refreshAPI(name)
}

// refreshAPI points at the container's API on one of its current IPs (the host reaches every
// Docker bridge; published ports would break when the test moves containers between networks).
func (c *cluster) refreshAPI(name string) {
	ips := docker(c.t, "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", name)
	if f := strings.Fields(ips); len(f) > 0 {
		c.apis[name] = "http://" + f[0] + ":8545"
	}
}

func (c *cluster) refreshAll() {
	for _, n := range c.names {
		c.refreshAPI(n)
	}
}

func (c *cluster) status(name string) (*api.Status, error) {
	cl := http.Client{Timeout: 2 * time.Second}
	resp, err := cl.Get(c.apis[name] + "/v1/status")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var st api.Status
	return &st, json.NewDecoder(resp.Body).Decode(&st)
}

// waitConverged waits until the nodes share one best hash at height ≥ min.
func (c *cluster) waitConverged(names []string, min uint64, d time.Duration) string {
	c.t.Helper()
	deadline := time.Now().Add(d)
	var last string
	for time.Now().Before(deadline) {
		time.Sleep(time.Second)
		var best string
		ok := true
		var line []string
		for i, n := range names {
			st, err := c.status(n)
			if err != nil {
				ok = false
				line = append(line, n+": down")
				continue
			}
			line = append(line, fmt.Sprintf("%s:%d/%.8s/%dp", n[len(n)-2:], st.Height, st.BestHash, st.Peers))
			if st.Height < min || (i > 0 && st.BestHash != best) {
				ok = false
			}
			best = st.BestHash
		}
		last = strings.Join(line, " ")
		if ok {
			return best
		}
	}
	c.t.Fatalf("no common tip at height ≥ %d within %s: %s", min, d, last)
	return ""
}

func (c *cluster) logs() {
	for _, n := range c.names {
		out, _ := exec.Command("docker", "logs", "--tail", "15", n).CombinedOutput()
		c.t.Logf("--- %s\n%s", n, out)
	}
}

// newCluster creates the test's Docker networks (all, left, right) and removes them and every
// container at the end, dumping node logs on failure.
func newCluster(t *testing.T) *cluster {
	if err := exec.Command("docker", "info").Run(); err != nil {
		t.Skip("no Docker engine")
	}
	c := &cluster{t: t, id: fmt.Sprintf("%x", rand.Uint32()), image: image(t), dir: t.TempDir(), apis: map[string]string{}}
	if err := os.MkdirAll(filepath.Join(c.dir, "shared"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"all", "left", "right"} {
		docker(t, "network", "create", c.net(n))
	}
	t.Cleanup(func() {
		if t.Failed() {
			c.logs()
		}
		for _, n := range c.names {
			_ = exec.Command("docker", "rm", "-f", n).Run()
		}
		for _, n := range []string{"all", "left", "right"} {
			_ = exec.Command("docker", "network", "rm", c.net(n)).Run()
		}
	})
	return c
}

// TestPartitionHealAndKillDuringSync runs six nodes on separate container IPs: it partitions
// them 3+3 with both sides mining (the left side with three miners, the right with one), sends
// a transfer on the right, heals, and checks that every node ends on the side with more work
// and that the transfer, orphaned by the reorganisation, returns to the mempool and is mined on
// the winning chain. Then it kills a node with SIGKILL during its catch-up, restarts it, and
// checks it catches up.
func TestPartitionHealAndKillDuringSync(t *testing.T) {
	c := newCluster(t)
	g := chaintest.Genesis(t)
	g.NetworkID, g.Timestamp = "multihost", uint64(time.Now().Unix())
	g.Consensus = genesis.DefaultConsensus()
	g.Consensus.TargetBlockTimeSeconds, g.Consensus.InitialDifficulty = 2, 2_000_000
	nodetest.WriteGenesis(t, filepath.Join(c.dir, "shared"), g)
	params, err := g.Params()
	if err != nil {
		t.Fatal(err)
	}

	const total = 6
	for i := 0; i < total; i++ {
		c.start(i, total, i < 4) // left: n0 n1 n2 mine; right: only n3 mines
	}
	left, right := c.names[:3], c.names[3:]
	c.waitConverged(c.names, 3, 90*time.Second)

	// Partition 3+3.
	for _, n := range left {
		docker(t, "network", "connect", c.net("left"), n)
		docker(t, "network", "disconnect", c.net("all"), n)
	}
	for _, n := range right {
		docker(t, "network", "connect", c.net("right"), n)
		docker(t, "network", "disconnect", c.net("all"), n)
	}
	c.refreshAll()
	alice, bob := chaintest.Key(t, 2), chaintest.Key(t, 3)
	tx := &wire.Tx{Type: wire.TxTransfer, ChainID: params.ChainID, To: bob.AccountAddress(), Amount: 4242, Fee: 5}
	tx.Sign(alice)
	resp, err := http.Post(c.apis[right[0]]+"/v1/transactions", "application/octet-stream", bytes.NewReader(tx.Encode()))
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("submit on the right: %v %v", err, resp)
	}
	resp.Body.Close()
	time.Sleep(25 * time.Second)
	lst, _ := c.status(left[0])
	rst, _ := c.status(right[0])
	t.Logf("partitioned: left at %d (%.12s), right at %d (%.12s)", lst.Height, lst.BestHash, rst.Height, rst.BestHash)
	if lst.BestHash == rst.BestHash {
		t.Fatal("the partition did not split the chain")
	}

	// Heal.
	for _, n := range c.names {
		docker(t, "network", "connect", c.net("all"), n)
	}
	c.refreshAll()
	best := c.waitConverged(c.names, lst.Height, 120*time.Second)
	t.Logf("healed on %.12s", best)

	// The transfer, mined only on the right before, ends mined on the common chain.
	deadline := time.Now().Add(60 * time.Second)
	for {
		mined := 0
		for _, n := range c.names {
			var out struct {
				Status string `json:"status"`
			}
			r, err := http.Get(c.apis[n] + "/v1/transactions/" + tx.ID().String())
			if err == nil {
				_ = json.NewDecoder(r.Body).Decode(&out)
				r.Body.Close()
				if out.Status == "mined" {
					mined++
				}
			}
		}
		if mined == total {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the orphaned transfer is mined on %d of %d nodes", mined, total)
		}
		time.Sleep(time.Second)
	}

	// Kill -9 during catch-up.
	victim := c.names[5]
	docker(t, "kill", "--signal", "KILL", victim)
	time.Sleep(8 * time.Second) // the network mines on
	docker(t, "start", victim)
	c.refreshAPI(victim)
	time.Sleep(1500 * time.Millisecond)
	docker(t, "kill", "--signal", "KILL", victim)
	docker(t, "start", victim)
	c.refreshAPI(victim)
	st, _ := c.status(c.names[0])
	c.waitConverged(c.names, st.Height, 90*time.Second)
}
