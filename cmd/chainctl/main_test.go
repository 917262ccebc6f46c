package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chainnet/chainnet/internal/api"
	"github.com/chainnet/chainnet/internal/chaintest"
	"github.com/chainnet/chainnet/internal/keys"
	"github.com/chainnet/chainnet/internal/node"
	"github.com/chainnet/chainnet/internal/nodetest"
	"github.com/chainnet/chainnet/internal/wire"
)

// runningNode starts a real node (no mining) and returns it with its API URL.
func runningNode(t *testing.T) (*node.Node, string) {
	n := nodetest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	addr, err := n.APIAddr(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return n, "http://" + addr.String()
}

func chainctl(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func TestKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.json")
	out, err := chainctl(t, "keys", "new", "--out", path, "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var shown map[string]string
	json.Unmarshal([]byte(out), &shown)
	k, err := keys.Load(path)
	if err != nil || shown["address"] != k.Address() || shown["publicKey"] != k.NodeID() {
		t.Fatalf("keys new printed %v for %v (%v)", shown, k, err)
	}
	if _, err := chainctl(t, "keys", "new", "--out", path); err == nil {
		t.Fatal("overwrote an existing key without --force")
	}
	out, err = chainctl(t, "keys", "show", path)
	if err != nil || !strings.Contains(out, k.Address()) {
		t.Fatalf("keys show: %v %s", err, out)
	}
}

func TestSendStatusBlockBalance(t *testing.T) {
	n, url := runningNode(t)
	alice := filepath.Join(t.TempDir(), "alice.json")
	keys.Save(alice, chaintest.Key(t, 2))
	bob := chaintest.Key(t, 3).Address()

	out, err := chainctl(t, "--node", url, "send", "--to", bob, "--amount", "250", "--fee", "3", "--key", alice, "-o", "json")
	if err != nil {
		t.Fatalf("send: %v %s", err, out)
	}
	var sent struct{ ID string }
	json.Unmarshal([]byte(out), &sent)
	if n.Mempool().Len() != 1 {
		t.Fatal("transaction did not reach the mempool")
	}
	// A second send before the first is mined takes the next nonce (it used to take the same one
	// and be refused as replacement-underpriced, or replace the first at a higher fee).
	if out, err := chainctl(t, "--node", url, "send", "--to", bob, "--amount", "1", "--fee", "3", "--key", alice); err != nil || !strings.Contains(out, "nonce 1") {
		t.Fatalf("second send: %v %s", err, out)
	}
	if n.Mempool().Len() != 2 {
		t.Fatalf("mempool holds %d transactions, want both", n.Mempool().Len())
	}
	// Mine it.
	b := chaintest.BuildBlock(t, n.Chain(), wire.ZeroHash, chaintest.Key(t, 1), n.Mempool().Select(1<<20)...)
	if _, err := n.ProcessBlock(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	out, err = chainctl(t, "--node", url, "balance", bob)
	if err != nil || !strings.Contains(out, "balance 251") {
		t.Fatalf("balance: %v %s", err, out)
	}
	out, err = chainctl(t, "--node", url, "block", "1")
	if err != nil || !strings.Contains(out, sent.ID) {
		t.Fatalf("block 1 lacks the transaction %s: %v\n%s", sent.ID, err, out)
	}
	out, err = chainctl(t, "--node", url, "status", "-o", "json")
	var st map[string]any
	if err != nil || json.Unmarshal([]byte(out), &st) != nil || st["height"].(float64) != 1 {
		t.Fatalf("status: %v %s", err, out)
	}
	out, err = chainctl(t, "--node", url, "status")
	if err != nil || !strings.Contains(out, "height:") {
		t.Fatalf("human status: %v %s", err, out)
	}
	// A refused transfer reports the rule.
	_, err = chainctl(t, "--node", url, "send", "--to", bob, "--amount", "1000000000000", "--key", alice)
	if err == nil || !strings.Contains(err.Error(), "insufficient-balance") {
		t.Fatalf("overspend: %v", err)
	}
	if _, err := chainctl(t, "--node", url, "status", "-o", "yaml"); err == nil {
		t.Fatal("unknown output format accepted")
	}
}

// TestSendRefusesWithoutTheRightChainID: chainctl signs nothing for a node that reports no
// chain id, nor for one on another chain than --chain-id names.
func TestSendRefusesWithoutTheRightChainID(t *testing.T) {
	n, url := runningNode(t)
	alice := filepath.Join(t.TempDir(), "alice.json")
	keys.Save(alice, chaintest.Key(t, 2))
	bob := chaintest.Key(t, 3).Address()
	other := fmt.Sprint(chaintest.ChainID + 1)
	if _, err := chainctl(t, "--node", url, "send", "--to", bob, "--amount", "5", "--key", alice, "--chain-id", other); err == nil ||
		!strings.Contains(err.Error(), "refusing to sign") {
		t.Fatalf("send for another chain id: %v", err)
	}
	if _, err := chainctl(t, "--node", url, "send", "--to", bob, "--amount", "5", "--key", alice, "--chain-id", fmt.Sprint(chaintest.ChainID)); err != nil {
		t.Fatalf("send for the node's chain id: %v", err)
	}
	if n.Mempool().Len() != 1 {
		t.Fatal("the transfer for the right chain id was not submitted")
	}
	// A node that reports no chain id.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v1/status":
			_ = json.NewEncoder(w).Encode(api.Status{NetworkID: "old"})
		default:
			_ = json.NewEncoder(w).Encode(api.Account{})
		}
	}))
	defer srv.Close()
	if _, err := chainctl(t, "--node", srv.URL, "send", "--to", bob, "--amount", "5", "--key", alice); err == nil ||
		!strings.Contains(err.Error(), "no chain id") {
		t.Fatalf("send through a node without a chain id: %v", err)
	}
}
