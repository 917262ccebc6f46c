package main

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/chainnet/chainnet/internal/genesis"
)

func genesisOut(t *testing.T, args ...string) genesis.File {
	t.Helper()
	cmd := newGenesisCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetArgs(append([]string{"--out", "-"}, args...))
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	var f genesis.File
	if err := json.Unmarshal(out.Bytes(), &f); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	return f
}

// TestGenesisChainIDsDiffer: two networks made with the defaults get different chain ids (they
// shared 1337, so a transfer signed for one was valid on the other); an explicit one is kept.
func TestGenesisChainIDsDiffer(t *testing.T) {
	a, b := genesisOut(t), genesisOut(t)
	if a.ChainID == 0 || a.ChainID == b.ChainID {
		t.Fatalf("default chain ids %d and %d", a.ChainID, b.ChainID)
	}
	if f := genesisOut(t, "--chain-id", "42"); f.ChainID != 42 {
		t.Fatalf("--chain-id 42 gave %d", f.ChainID)
	}
}
