package main

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chainnet/chainnet/internal/api"
	"github.com/chainnet/chainnet/internal/devnet"
)

// TestDevnetRunsAndResumes: `chainnode devnet` starts real node processes that mine one chain;
// Ctrl-C stops them all; running it again on the same directory resumes that chain.
func TestDevnetRunsAndResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("runs node processes")
	}
	bin := buildBinary(t)
	dir := filepath.Join(t.TempDir(), "net")
	run := func() *exec.Cmd {
		cmd := exec.Command(bin, "devnet", "--dir", dir, "--nodes", "3", "--observers", "1", "--membership", "consortium",
			"--orgs", "2", "--block-time", "1")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	stop := func(cmd *exec.Cmd) {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("devnet exit: %v", err)
			}
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatal("devnet did not stop on Ctrl-C")
		}
	}
	cmd := run()
	first := waitDevnet(t, dir, 3, 60*time.Second)
	stop(cmd)
	m, err := devnet.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(m.Nodes[0].API + "/healthz"); err == nil {
		t.Fatal("a node still answers after the devnet stopped")
	}
	cmd = run()
	defer stop(cmd)
	again := waitDevnet(t, dir, first+1, 60*time.Second)
	if again <= first {
		t.Fatalf("resumed at height %d, had %d", again, first)
	}
}

// waitDevnet waits until every node reports the same best hash at height ≥ min, with peers.
func waitDevnet(t *testing.T, dir string, min uint64, d time.Duration) uint64 {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
		m, err := devnet.Load(dir)
		if err != nil {
			continue
		}
		var best string
		var height uint64
		ok := true
		for i, n := range m.Nodes {
			st, err := status(n.API)
			if err != nil || st.Height < min || st.Peers == 0 || (i > 0 && st.BestHash != best) {
				ok = false
				break
			}
			best, height = st.BestHash, st.Height
		}
		if ok {
			return height
		}
	}
	t.Fatalf("devnet in %s did not reach a common tip at height ≥ %d within %s", dir, min, d)
	return 0
}

func status(url string) (*api.Status, error) {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url + "/v1/status")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var st api.Status
	return &st, json.NewDecoder(resp.Body).Decode(&st)
}
