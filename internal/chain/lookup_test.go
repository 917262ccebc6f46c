package chain

import (
	"testing"

	"github.com/chainnet/chainnet/internal/wire"
)

// TestLookupsForPeers: BlockBytes returns a stored block's encoding as it was stored, and HasTx
// tells a mined transaction from the transaction index: true on the best chain, false once a
// reorganisation takes its block off it.
func TestLookupsForPeers(t *testing.T) {
	h := newHarness(t)
	tx := h.transfer(h.alice, h.bob, 5, 1, 0)
	b := h.build(blockSpec{txs: []*wire.Tx{tx}})
	h.mustConnect(b)
	raw, err := h.c.BlockBytes(b.Hash())
	if err != nil || string(raw) != string(b.Encode()) {
		t.Fatalf("BlockBytes: %v", err)
	}
	if _, err := h.c.BlockBytes(wire.Hash{1}); err == nil {
		t.Fatal("BlockBytes of an unknown block")
	}
	if !h.c.HasTx(tx.ID()) || h.c.HasTx(wire.Hash{2}) {
		t.Fatal("HasTx does not follow the transaction index")
	}
	// A longer branch without the transfer.
	parent := h.params.GenesisHash
	for range 2 {
		side := h.build(blockSpec{parent: parent})
		if _, err := h.process(side); err != nil {
			t.Fatal(err)
		}
		parent = side.Hash()
	}
	if h.c.Tip().Hash != parent {
		t.Fatal("no reorganisation")
	}
	if h.c.HasTx(tx.ID()) {
		t.Fatal("HasTx of a transaction whose block left the best chain")
	}
}
