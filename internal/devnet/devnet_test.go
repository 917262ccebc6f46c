package devnet

import (
	"path/filepath"
	"testing"

	"github.com/chainnet/chainnet/internal/genesis"
)

// TestDevnetsHaveTheirOwnChainID: two devnets never share a chain id, so a transfer signed for
// one is invalid on the other.
func TestDevnetsHaveTheirOwnChainID(t *testing.T) {
	var ids []uint64
	for range 2 {
		dir := filepath.Join(t.TempDir(), "net")
		if _, _, err := Prepare(Spec{Dir: dir, Nodes: 1, Membership: "public", Orgs: 1, BlockTime: 1}); err != nil {
			t.Fatal(err)
		}
		f, err := genesis.Load(filepath.Join(dir, "genesis.json"))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, f.ChainID)
	}
	if ids[0] == ids[1] {
		t.Fatalf("two devnets share chain id %d", ids[0])
	}
}
