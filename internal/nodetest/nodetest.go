// Package nodetest starts real nodes on temporary data directories for tests of the node's
// surfaces (API, CLIs, P2P).
package nodetest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/chainnet/chainnet/internal/chaintest"
	"github.com/chainnet/chainnet/internal/genesis"
	"github.com/chainnet/chainnet/internal/node"
)

// WriteGenesis writes f into dir and returns its path.
func WriteGenesis(t testing.TB, dir string, f *genesis.File) string {
	t.Helper()
	b, err := f.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "genesis.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// New opens (but does not run) a node on the chaintest genesis, which funds chaintest.Key(t, 2).
func New(t testing.TB, mutate ...func(*node.Config)) *node.Node {
	t.Helper()
	dir := t.TempDir()
	cfg := node.Config{DataDir: dir, GenesisPath: WriteGenesis(t, dir, chaintest.Genesis(t)), APIAddr: "127.0.0.1:0"}
	for _, m := range mutate {
		m(&cfg)
	}
	n, err := node.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
