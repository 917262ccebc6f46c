package main

import (
	"bytes"
	"context"
	"io"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chainnet/chainnet/internal/api"
	"github.com/chainnet/chainnet/internal/devnet"
)

// TestBenchLoadOnDevnet runs a short load against a real two-node devnet (chainnode processes):
// every accepted transfer is mined exactly once and the last line has the promised form.
func TestBenchLoadOnDevnet(t *testing.T) {
	if testing.Short() {
		t.Skip("builds chainnode and runs a devnet")
	}
	bin := filepath.Join(t.TempDir(), "chainnode")
	if out, err := exec.Command("go", "build", "-o", bin, "../chainnode").CombinedOutput(); err != nil {
		t.Fatalf("build chainnode: %v\n%s", err, out)
	}
	dir := filepath.Join(t.TempDir(), "net")
	m, _, err := devnet.Prepare(devnet.Spec{Dir: dir, Nodes: 2, Membership: "public", Orgs: 1, MinerThreads: 1, BlockTime: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- devnet.Run(ctx, bin, dir, m, 1, io.Discard) }()
	defer func() { cancel(); <-ran }()
	for _, n := range m.Nodes {
		waitAPI(t, n.API)
	}
	var out bytes.Buffer
	err = runLoad(context.Background(), dir, loadSpec{rate: 100, duration: 3 * time.Second, workers: 2, batch: 8, drain: time.Minute}, &out)
	t.Log(out.String())
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	last := lines[len(lines)-1]
	if !regexp.MustCompile(`^load: accepted=\d+/s mined=\d+/s p50=\d+ms p99=\d+ms lost=0$`).MatchString(last) {
		t.Fatalf("last line %q", last)
	}
}

func waitAPI(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		var st api.Status
		if newClient(base).do(context.Background(), "GET", "/v1/status", nil, &st) == nil && st.Peers > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %s not up with a peer", base)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestBenchLoadRefusesRemoteNodes(t *testing.T) {
	for _, u := range []string{"http://10.0.0.1:8545", "http://example.com:8545"} {
		if loopbackOnly(u) == nil {
			t.Errorf("%s accepted", u)
		}
	}
	for _, u := range []string{"http://127.0.0.1:8545", "http://[::1]:1", "http://localhost:2"} {
		if err := loopbackOnly(u); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
	if err := (&loadSpec{rate: 1_000_000, duration: time.Second, workers: 1, batch: 1}).validate(); err == nil {
		t.Error("an unbounded rate was accepted")
	}
}
