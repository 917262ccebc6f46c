package chain

import (
	"crypto/rand"
	"math/big"
	"testing"

	"github.com/chainnet/chainnet/internal/pow"
	"github.com/chainnet/chainnet/internal/wire"
)

// headerChain mines n headers on parent, spacing seconds apart (a hostile peer's cheap chain).
func headerChain(t testing.TB, c *Chain, parent wire.Hash, n int, spacing uint64) []wire.Header {
	t.Helper()
	prev, _, ok := c.HeaderByHash(parent)
	if !ok {
		t.Fatal("unknown parent")
	}
	gen := c.NewHeaderTracker()
	out := make([]wire.Header, 0, n)
	for range n {
		bits, err := gen.NextBitsAfter(parent)
		if err != nil {
			t.Fatal(err)
		}
		h := wire.Header{Version: prev.Version, PrevHash: parent, Timestamp: prev.Timestamp + spacing, Bits: bits}
		_, _ = rand.Read(h.MerkleRoot[:])
		target := pow.TargetBytes(bits)
		for !pow.Meets(h.Hash(), &target) {
			h.Nonce++
		}
		if _, err := gen.Add([]wire.Header{h}); err != nil {
			t.Fatal(err)
		}
		out = append(out, h)
		prev, parent = h, h.Hash()
	}
	return out
}

// retained counts the detached nodes a tracker still reaches from its last header.
func (t *HeaderTracker) retained() int {
	t.c.mu.RLock()
	defer t.c.mu.RUnlock()
	n := 0
	for it := t.last; it != nil && t.c.index[it.hash] != it; it = it.parent {
		n++
	}
	return n
}

// TestHeaderTrackerMemoryIsBounded: a tracker fed 20,000 headers in batches keeps only the
// context the next header needs linked, not one node per header (a hostile peer's low-work chain
// of 400,000 headers used to cost about 200 MB per peer).
func TestHeaderTrackerMemoryIsBounded(t *testing.T) {
	h := newHarness(t)
	headers := headerChain(t, h.c, h.params.GenesisHash, 20_000, 40)
	tr := h.c.NewHeaderTracker()
	for i := 0; i < len(headers); i += 2000 {
		if _, err := tr.Add(headers[i : i+2000]); err != nil {
			t.Fatalf("batch at %d: %v", i, err)
		}
	}
	if tr.Height() != 20_000 || tr.Added() != 20_000 {
		t.Fatalf("height %d, added %d", tr.Height(), tr.Added())
	}
	if n, limit := tr.retained(), h.c.trackerContext()+1; n > limit {
		t.Fatalf("the tracker holds %d headers, want at most %d", n, limit)
	}
	// A batch that starts a few headers back from the last one still connects.
	if _, err := tr.Add(headers[19_990:]); err != nil {
		t.Fatalf("a batch continuing from 10 headers back: %v", err)
	}
}

// TestHeaderTrackerAcceptsWhatBlocksAccept: a long header chain with irregular timestamps,
// validated in batches that cross the tracker's pruning, gives the same verdict and work as
// connecting the blocks (the pruned context is enough for the retarget and median time past).
func TestHeaderTrackerAcceptsWhatBlocksAccept(t *testing.T) {
	src := newHarness(t)
	steps := []uint64{10, 1, 60, 3, 25, 10, 7, 40}
	for i := range 150 {
		parent, _, _ := src.c.HeaderByHash(src.c.Tip().Hash)
		src.mustConnect(src.build(blockSpec{timestamp: parent.Timestamp + steps[i%len(steps)]}))
	}
	headers := src.c.LocateHeaders([]wire.Hash{src.params.GenesisHash}, wire.ZeroHash, 2000)
	other := newHarness(t)
	tr := other.c.NewHeaderTracker()
	var work *big.Int
	for i := 0; i < len(headers); i += 40 {
		w, err := tr.Add(headers[i:min(i+40, len(headers))])
		if err != nil {
			t.Fatalf("batch at %d: %v", i, err)
		}
		work = w
	}
	if work.Cmp(src.c.Tip().TotalWork) != 0 {
		t.Fatalf("work %v, want %v", work, src.c.Tip().TotalWork)
	}
}
