package snapshot_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/chainnet/chainnet/internal/chain"
	"github.com/chainnet/chainnet/internal/chaintest"
	"github.com/chainnet/chainnet/internal/genesis"
	"github.com/chainnet/chainnet/internal/snapshot"
)

// TestExportImportRevalidates: a 200-block chain with transfers round-trips; a corrupted block
// stops the import with the rule it breaks and leaves the valid prefix; another network's
// snapshot is refused before any block.
func TestExportImportRevalidates(t *testing.T) {
	ctx := context.Background()
	src := chaintest.New(t)
	for i := 0; i < 200; i++ {
		if i%10 == 0 {
			src.Connect(src.Build(src.Chain.Tip().Hash, src.Transfer(src.Alice, src.Bob, 5, 1, uint64(i/10))))
			continue
		}
		src.Extend(1)
	}
	var buf bytes.Buffer
	n, err := snapshot.Export(ctx, src.Chain, &buf)
	if err != nil || n != 200 {
		t.Fatalf("export: %d %v", n, err)
	}

	dst := chaintest.New(t)
	got, err := snapshot.Import(ctx, dst.Chain, bytes.NewReader(buf.Bytes()))
	if err != nil || got != 200 || dst.Chain.Tip().Hash != src.Chain.Tip().Hash {
		t.Fatalf("import: %d %v, tip %s want %s", got, err, dst.Chain.Tip().Hash, src.Chain.Tip().Hash)
	}
	bob, _ := dst.Chain.Account(src.Bob.AccountAddress())
	if bob.Balance != 100 {
		t.Fatalf("state not rebuilt: bob has %d", bob.Balance)
	}

	// Flip one byte inside block 120's coinbase amount region: the Merkle root no longer matches.
	corrupt := append([]byte(nil), buf.Bytes()...)
	b120, _ := src.Chain.BlockByHeight(120)
	raw := b120.Encode()
	at := bytes.Index(corrupt, raw)
	corrupt[at+len(raw)-3] ^= 0xff
	third := chaintest.New(t)
	got, err = snapshot.Import(ctx, third.Chain, bytes.NewReader(corrupt))
	if err == nil || got != 119 || third.Chain.Tip().Height != 119 {
		t.Fatalf("corrupt import: %d blocks, tip %d, err %v", got, third.Chain.Tip().Height, err)
	}
	if chain.RuleOf(err) == "" && !errors.Is(err, snapshot.ErrFormat) {
		t.Fatalf("want a rule or format error naming the bad block, got %v", err)
	}

	other := chaintest.New(t, func(f *genesis.File) { f.NetworkID = "other" })
	if _, err := snapshot.Import(ctx, other.Chain, bytes.NewReader(buf.Bytes())); !errors.Is(err, chain.ErrWrongNetwork) {
		t.Fatalf("another network's snapshot: %v", err)
	}
	if _, err := snapshot.Import(ctx, other.Chain, bytes.NewReader([]byte("garbage"))); !errors.Is(err, snapshot.ErrFormat) {
		t.Fatalf("garbage: %v", err)
	}
}
