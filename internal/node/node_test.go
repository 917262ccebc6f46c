package node_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chainnet/chainnet/internal/chain"
	"github.com/chainnet/chainnet/internal/chaintest"
	"github.com/chainnet/chainnet/internal/genesis"
	"github.com/chainnet/chainnet/internal/node"
	"github.com/chainnet/chainnet/internal/nodetest"
)

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	gen := nodetest.WriteGenesis(t, dir, chaintest.Genesis(t))
	cases := map[string]struct {
		cfg  node.Config
		want string
	}{
		"observer mining": {node.Config{DataDir: dir, GenesisPath: gen, Role: "observer", Mine: true}, "observers never mine"},
		"unknown role":    {node.Config{DataDir: dir, GenesisPath: gen, Role: "boss"}, `role "boss"`},
		"no genesis":      {node.Config{DataDir: dir, GenesisPath: filepath.Join(dir, "none.json")}, "chainnode genesis"},
	}
	for name, c := range cases {
		_, err := node.New(c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"networkId":"x"}`), 0o644)
	if _, err := node.New(node.Config{DataDir: dir, GenesisPath: bad}); !errors.Is(err, genesis.ErrInvalid) {
		t.Errorf("invalid genesis: %v", err)
	}
}

// TestStoreOfAnotherNetworkIsRefused: pointing a node at a data directory made for another
// genesis is an error, never a silent fork.
func TestStoreOfAnotherNetworkIsRefused(t *testing.T) {
	dir := t.TempDir()
	n, err := node.New(node.Config{DataDir: dir, GenesisPath: nodetest.WriteGenesis(t, dir, chaintest.Genesis(t))})
	if err != nil {
		t.Fatal(err)
	}
	n.Chain() // opened
	closeNode(t, n)
	other := chaintest.Genesis(t)
	other.ChainID++
	otherDir := t.TempDir()
	_, err = node.New(node.Config{DataDir: dir, GenesisPath: nodetest.WriteGenesis(t, otherDir, other)})
	if !errors.Is(err, chain.ErrWrongNetwork) {
		t.Fatalf("other network's store: %v", err)
	}
}

func closeNode(t *testing.T, n *node.Node) {
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestMinChainWorkFlag(t *testing.T) {
	n := nodetest.New(t, func(c *node.Config) { c.MinChainWork = "0x10000" })
	n.Close()
	dir := t.TempDir()
	_, err := node.New(node.Config{DataDir: dir, GenesisPath: nodetest.WriteGenesis(t, dir, chaintest.Genesis(t)), MinChainWork: "lots"})
	if err == nil || !strings.Contains(err.Error(), "--min-chain-work") {
		t.Fatalf("a bad --min-chain-work: %v", err)
	}
}
