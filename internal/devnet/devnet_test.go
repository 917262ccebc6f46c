package devnet

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chainnet/chainnet/internal/genesis"
	"github.com/chainnet/chainnet/internal/store"
)

func spec(dir string) Spec {
	return Spec{Dir: dir, Nodes: 2, Membership: "consortium", Orgs: 2, BlockTime: 1}
}

// TestPrepareNeverOverwritesAChain: with devnet.json gone (deleted, or a crash before it was
// written) but a node's store in the directory, Prepare refuses and leaves genesis.json as it
// was; with no store yet it creates the devnet again; an intact one resumes.
func TestPrepareNeverOverwritesAChain(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "net")
	m, resumed, err := Prepare(spec(dir))
	if err != nil || resumed {
		t.Fatalf("first prepare: %v, resumed %v", err, resumed)
	}
	if _, resumed, err := Prepare(spec(dir)); err != nil || !resumed {
		t.Fatalf("prepare on a complete devnet: %v, resumed %v", err, resumed)
	}
	// No node ran yet: a lost devnet.json is created again.
	if err := os.Remove(filepath.Join(dir, ManifestFile)); err != nil {
		t.Fatal(err)
	}
	if m, resumed, err = Prepare(spec(dir)); err != nil || resumed {
		t.Fatalf("prepare before any node ran: %v, resumed %v", err, resumed)
	}
	// A node ran: its store belongs to this genesis.
	db, err := store.Open(filepath.Join(dir, m.Nodes[0].Name))
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	gen, err := os.ReadFile(filepath.Join(dir, "genesis.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, ManifestFile)); err != nil {
		t.Fatal(err)
	}
	_, _, err = Prepare(spec(dir))
	if !errors.Is(err, ErrStoresWithoutManifest) || !strings.Contains(err.Error(), m.Nodes[0].Name) {
		t.Fatalf("prepare over a node's store: %v", err)
	}
	after, err := os.ReadFile(filepath.Join(dir, "genesis.json"))
	if err != nil || !bytes.Equal(gen, after) {
		t.Fatal("genesis.json was rewritten under an existing store")
	}
}

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
