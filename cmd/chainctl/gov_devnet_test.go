package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
	"github.com/chainnet/chainnet/internal/api"
	"github.com/chainnet/chainnet/internal/chaintest"
	"github.com/chainnet/chainnet/internal/genesis"
	"github.com/chainnet/chainnet/internal/governance"
	"github.com/chainnet/chainnet/internal/keys"
	"github.com/chainnet/chainnet/internal/node"
	"github.com/chainnet/chainnet/internal/nodetest"
	"github.com/chainnet/chainnet/internal/p2p"
	"github.com/chainnet/chainnet/internal/wire"
)

// TestMain also runs chainctl's real main when CHAINCTL_TEST_ARGS holds its arguments (JSON), so
// that a test can observe the exit status and standard error a user sees.
func TestMain(m *testing.M) {
	if raw := os.Getenv("CHAINCTL_TEST_ARGS"); raw != "" {
		var args []string
		if err := json.Unmarshal([]byte(raw), &args); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		os.Args = append([]string{"chainctl"}, args...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runMain runs chainctl as a process and returns its exit status, stdout and stderr.
func runMain(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	raw, _ := json.Marshal(args)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CHAINCTL_TEST_ARGS="+string(raw))
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, stdout.String(), stderr.String()
	case errors.As(err, &exit):
		return exit.ExitCode(), stdout.String(), stderr.String()
	}
	t.Fatal(err)
	return 0, "", ""
}

// p2pTiming shortens the protocol's timers so that the devnet converges in seconds.
var p2pTiming = p2p.Timing{
	Handshake: 3 * time.Second, PingInterval: time.Second, IdleTimeout: 10 * time.Second, Stall: 5 * time.Second,
	DialInterval: 100 * time.Millisecond, DNSInterval: time.Second, SyncGrace: 300 * time.Millisecond,
	BanDuration: time.Hour, BackoffBase: 100 * time.Millisecond, BackoffMax: time.Second, ReloadPermits: 100 * time.Millisecond,
}

// devnetNode is one organization's validator: a real node (store, chain, mempool, HTTP API, P2P
// over mutual TLS on loopback) run in-process, whose node and miner keys are in dir.
type devnetNode struct {
	org   string
	dir   string
	n     *node.Node
	srv   *p2p.Server
	url   string
	miner *keys.Key
}

func startDevnetNode(t *testing.T, gen, org, dir string) *devnetNode {
	t.Helper()
	n, err := node.New(node.Config{DataDir: dir, GenesisPath: gen, APIAddr: "127.0.0.1:0", P2PAddr: "127.0.0.1:0",
		Org: org, Role: node.RoleValidator, MaxOutbound: 4})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := n.AttachP2P(p2pTiming)
	if err != nil {
		n.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	addr, err := n.APIAddr(ctx)
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 5*time.Second, org+" listening for peers", func() bool { return srv.Addr() != nil })
	return &devnetNode{org: org, dir: dir, n: n, srv: srv, url: "http://" + addr.String(), miner: n.MinerKey()}
}

func (d *devnetNode) connect(to *devnetNode) {
	d.srv.AddAddress(to.srv.Addr().String(), to.srv.NodeID().String())
}
func (d *devnetNode) tip() wire.Hash { return d.n.Chain().Tip().Hash }
func (d *devnetNode) height() uint64 { return d.n.Chain().Tip().Height }

func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// mineOn builds the next block on m's tip, signed by m's miner key, with what m's mempool holds
// as m's miner takes it (governance transactions the block could not carry left out), and waits
// until every node of all has it.
func mineOn(m *devnetNode, all []*devnetNode) (*wire.Block, error) {
	c := m.n.Chain()
	txs := c.FilterGovernance(c.Tip().Height+1, m.n.Mempool().Select(1<<20))
	b, err := buildBlock(c.Tip().Hash, m, txs)
	if err != nil {
		return nil, err
	}
	if _, err := m.n.ProcessBlock(context.Background(), b); err != nil {
		return nil, fmt.Errorf("%s's block: %w", m.org, err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for _, n := range all {
		for n.tip() != b.Hash() {
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("%s's block %d did not reach %s (at %d)", m.org, c.Tip().Height, n.org, n.height())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return b, nil
}

func mine(t *testing.T, m *devnetNode, all []*devnetNode) *wire.Block {
	t.Helper()
	b, err := mineOn(m, all)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// buildBlock is chaintest.BuildBlock without a testing.T (it runs on a goroutine too).
func buildBlock(parent wire.Hash, m *devnetNode, txs []*wire.Tx) (b *wire.Block, err error) {
	rec := &fatalRecorder{}
	defer func() {
		if r := recover(); r != nil {
			if r != rec {
				panic(r)
			}
			err = errors.New(rec.msg)
		}
	}()
	return chaintest.BuildBlock(rec, m.n.Chain(), parent, m.miner, txs...), nil
}

// fatalRecorder is the testing.TB chaintest's builder gets off the test goroutine: Fatal panics
// with itself and buildBlock turns that into an error.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (r *fatalRecorder) Helper() {}
func (r *fatalRecorder) Fatal(args ...any) {
	r.msg = fmt.Sprint(args...)
	panic(r)
}
func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	panic(r)
}

// waitPooled waits until n's mempool holds the transaction (relayed by its peers).
func waitPooled(t *testing.T, n *devnetNode, id string) {
	t.Helper()
	h, err := wire.ParseHash(id)
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "transaction "+id[:12]+" relayed to "+n.org, func() bool { return n.n.Mempool().Has(h) })
}

func govJSON[T any](t *testing.T, args ...string) T {
	t.Helper()
	var v T
	out, err := chainctl(t, append(args, "-o", "json")...)
	if err != nil {
		t.Fatalf("chainctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("chainctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return v
}

// TestGovernanceLifeWithThreeOrganizations is the full life of proposals on a devnet of three
// organizations, each with a validator of its own meshed over P2P, driven through chainctl's
// commands: org1 proposes admitting org4 (a join request made from freshly generated key files),
// the proposal is listed with 1/2 approvals, org1's second approval is refused (exit status 1 and
// the rule), org2's approval admits org4, whose node then syncs and mines blocks every member
// accepts; two proposals org1 signs before a block (nonces from the mempool) are carried together,
// and without approvals they expire after the policy's TTL.
func TestGovernanceLifeWithThreeOrganizations(t *testing.T) {
	const ttl = 4
	dir := t.TempDir()
	admins := map[string]string{}
	var founders []governance.Organization
	for _, org := range []string{"org1", "org2", "org3"} {
		nodeDir := filepath.Join(dir, org+"-v0")
		id := governance.Organization{Name: org}
		for _, k := range []struct {
			file string
			set  func(governance.Key)
		}{
			{filepath.Join(dir, org+"-admin.json"), func(k governance.Key) { id.AdminKey = k }},
			{filepath.Join(nodeDir, "node-key.json"), func(k governance.Key) { id.Validators = []governance.Key{k} }},
			{filepath.Join(nodeDir, "miner-key.json"), func(k governance.Key) { id.Miners = []governance.Key{k} }},
		} {
			if err := os.MkdirAll(filepath.Dir(k.file), 0o755); err != nil {
				t.Fatal(err)
			}
			key, err := keys.Generate()
			if err != nil {
				t.Fatal(err)
			}
			if err := keys.Save(k.file, key); err != nil {
				t.Fatal(err)
			}
			k.set(governance.Key(key.Public))
		}
		admins[org] = filepath.Join(dir, org+"-admin.json")
		founders = append(founders, id)
	}
	g := chaintest.Genesis(t)
	g.Membership, g.Organizations = genesis.Consortium, founders
	g.Governance = &governance.Policy{Threshold: governance.ThresholdMajority, ProposalTTLBlocks: ttl}
	gen := nodetest.WriteGenesis(t, dir, g)

	n1 := startDevnetNode(t, gen, "org1", filepath.Join(dir, "org1-v0"))
	n2 := startDevnetNode(t, gen, "org2", filepath.Join(dir, "org2-v0"))
	n3 := startDevnetNode(t, gen, "org3", filepath.Join(dir, "org3-v0"))
	all := []*devnetNode{n1, n2, n3}
	n2.connect(n1)
	n3.connect(n1)
	n3.connect(n2)
	waitUntil(t, 10*time.Second, "three validators meshed", func() bool {
		return n1.srv.PeerCount() == 2 && n2.srv.PeerCount() == 2 && n3.srv.PeerCount() == 2
	})

	// org4's identity, from key files made the way its operator would make them.
	org4 := filepath.Join(dir, "org4-v0")
	for _, f := range []string{filepath.Join(dir, "org4-admin.json"), filepath.Join(org4, "node-key.json"), filepath.Join(org4, "miner-key.json")} {
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if out, err := chainctl(t, "keys", "new", "--out", f); err != nil {
			t.Fatalf("keys new: %v %s", err, out)
		}
	}
	request, err := chainctl(t, "gov", "join-request", "--name", "org4", "--admin-key", filepath.Join(dir, "org4-admin.json"),
		"--validator", filepath.Join(org4, "node-key.json"), "--miner", filepath.Join(org4, "miner-key.json"))
	if err != nil {
		t.Fatalf("join-request: %v %s", err, request)
	}
	requestFile := filepath.Join(dir, "org4.yaml")
	if err := os.WriteFile(requestFile, []byte(request), 0o644); err != nil {
		t.Fatal(err)
	}
	var shown chainv1.OrganizationIdentity
	if err := yaml.UnmarshalStrict([]byte(request), &shown); err != nil || len(shown.Validators) != 1 || len(shown.Miners) != 1 {
		t.Fatalf("join request: %v\n%s", err, request)
	}
	if strings.Contains(request, "privateKey") {
		t.Fatalf("the join request leaks a private key:\n%s", request)
	}

	// org1 proposes admitting org4 through its own node; org2's node carries it in a block.
	proposed := govJSON[govResult](t, "--node", n1.url, "gov", "propose", "add-org", "--request", requestFile, "--key", admins["org1"])
	if proposed.Signer != "org1" || proposed.Nonce != 0 || proposed.Action != "propose add-org org4" || proposed.ProposalID != proposed.ID {
		t.Fatalf("propose: %+v", proposed)
	}
	id := proposed.ID
	waitPooled(t, n2, id)
	mine(t, n2, all)

	listed := govJSON[api.Proposals](t, "--node", n3.url, "gov", "list")
	if len(listed.Proposals) != 1 {
		t.Fatalf("proposals after block 1: %+v", listed)
	}
	p := listed.Proposals[0]
	if p.ID != id || p.Kind != "add-org" || p.Organization != "org4" || p.Proposer != "org1" ||
		strings.Join(p.Approvals, ",") != "org1" || p.Needed != 2 || p.ExpiresAt != 1+ttl {
		t.Fatalf("proposal after block 1: %+v", p)
	}
	if out, err := chainctl(t, "--node", n3.url, "gov", "list"); err != nil || !strings.Contains(out, "1/2 org1") || !strings.Contains(out, id) {
		t.Fatalf("gov list: %v\n%s", err, out)
	}

	// A second approval by the proposer's organization: the node refuses it, chainctl exits 1
	// with the rule and the reason.
	code, stdout, stderr := runMain(t, "--node", n1.url, "gov", "approve", id, "--key", admins["org1"])
	if code != 1 || !strings.Contains(stderr, "governance-refused") || !strings.Contains(stderr, "already-approved") {
		t.Fatalf("duplicate approval: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}

	// org2 approves (by a prefix of the id) and waits for a block: org3's miner carries it.
	mined := make(chan error, 1)
	go func() {
		for deadline := time.Now().Add(20 * time.Second); n3.n.Mempool().Len() == 0; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				mined <- errors.New("org2's approval never reached org3's node")
				return
			}
		}
		_, err := mineOn(n3, all)
		mined <- err
	}()
	approved := govJSON[govResult](t, "--node", n2.url, "gov", "approve", id[:10], "--key", admins["org2"], "--wait", "20s")
	if err := <-mined; err != nil {
		t.Fatal(err)
	}
	if approved.Signer != "org2" || approved.ProposalID != id || approved.Height != 2 || approved.Proposal != nil {
		t.Fatalf("approval: %+v (want mined in block 2, the proposal passed)", approved)
	}
	m := govJSON[api.Membership](t, "--node", n1.url, "gov", "membership")
	admin4, _ := keys.Load(filepath.Join(dir, "org4-admin.json"))
	node4, _ := keys.Load(filepath.Join(org4, "node-key.json"))
	if len(m.Organizations) != 4 || m.Organizations[3].Name != "org4" || m.Organizations[3].AdminKey != governance.Key(admin4.Public) ||
		m.Organizations[3].Validators[0] != governance.Key(node4.Public) || m.Seq != 1 {
		t.Fatalf("membership after the approval: %+v", m)
	}
	if out, err := chainctl(t, "--node", n2.url, "gov", "membership"); err != nil || !strings.Contains(out, "org4") || !strings.Contains(out, "3 of 4 organizations") {
		t.Fatalf("gov membership: %v\n%s", err, out)
	}

	// org4's node, on the keys its join request named: admitted, it syncs, and its miner's block
	// is on every member's chain.
	n4 := startDevnetNode(t, gen, "org4", org4)
	n4.connect(n1)
	waitUntil(t, 15*time.Second, "org4's node synced", func() bool { return n4.tip() == n1.tip() })
	all = append(all, n4)
	mine(t, n4, all)

	// What cannot be a proposal is refused before anything is signed.
	for _, bad := range [][]string{
		{"gov", "propose", "set-policy", "--proposal-ttl", fmt.Sprint(ttl)}, // the policy already is that
		{"gov", "propose", "set-policy", "--threshold", "most"},
		{"gov", "approve", "ffff"}, // no open proposal has that prefix
		{"gov", "approve", "xyz"},
		{"gov", "propose", "remove-org", "Org3"},
		{"gov", "propose", "remove-org", "org3", "--chain-id", fmt.Sprint(chaintest.ChainID + 1)}, // another network
	} {
		if out, err := chainctl(t, append(append([]string{"--node", n1.url}, bad...), "--key", admins["org1"])...); err == nil {
			t.Errorf("%v accepted: %s", bad, out)
		}
	}
	if a := govJSON[api.Account](t, "--node", n1.url, "balance", admins["org1"]); a.Nonce != 1 || a.PendingNonce != 1 {
		t.Fatalf("org1's admin account after refused commands: %+v, want nonce 1 and nothing pending", a)
	}

	// Two proposals org1 signs before a block carries either: the second queues behind the
	// first (nonce from the node's mempool) and one block carries both.
	removal := govJSON[govResult](t, "--node", n1.url, "gov", "propose", "remove-org", "org3", "--key", admins["org1"])
	policy := govJSON[govResult](t, "--node", n1.url, "gov", "propose", "set-policy", "--proposal-ttl", "6", "--key", admins["org1"])
	if removal.Nonce != 1 || policy.Nonce != 2 || policy.Queued != 1 {
		t.Fatalf("nonces of two pending proposals: %d and %d (queued %d), want 1 and 2 (1)", removal.Nonce, policy.Nonce, policy.Queued)
	}
	b := mine(t, n1, all)
	created := n1.height()
	if len(b.Txs) != 3 {
		t.Fatalf("block %d carries %d transactions, want the coinbase and both proposals", created, len(b.Txs))
	}
	listed = govJSON[api.Proposals](t, "--node", n4.url, "gov", "list")
	if len(listed.Proposals) != 2 || listed.Proposals[0].ID != removal.ID || listed.Proposals[0].Needed != 3 || listed.Proposals[1].Policy == nil ||
		listed.Proposals[1].Policy.ProposalTTLBlocks != 6 || listed.Proposals[0].ExpiresAt != created+ttl {
		t.Fatalf("proposals at %d: %+v", created, listed)
	}

	// Nobody approves: they are open through block created+ttl, and the block after drops them.
	for n1.height() < created+ttl {
		mine(t, all[n1.height()%4], all)
	}
	if out, err := chainctl(t, "--node", n2.url, "gov", "list"); err != nil || !strings.Contains(out, "expired (dropped by the next block)") {
		t.Fatalf("gov list at the last height: %v\n%s", err, out)
	}
	mine(t, n2, all)
	if listed = govJSON[api.Proposals](t, "--node", n2.url, "gov", "list"); len(listed.Proposals) != 0 {
		t.Fatalf("proposals after their TTL: %+v", listed)
	}
	if m := govJSON[api.Membership](t, "--node", n3.url, "gov", "membership"); len(m.Organizations) != 4 || m.Seq != 1 || m.Policy.ProposalTTLBlocks != ttl {
		t.Fatalf("expired proposals changed the membership: %+v", m)
	}
	if _, err := chainctl(t, "--node", n2.url, "gov", "approve", removal.ID, "--key", admins["org2"]); err == nil || !strings.Contains(err.Error(), "unknown-proposal") {
		t.Fatalf("approving an expired proposal: %v", err)
	}
}
