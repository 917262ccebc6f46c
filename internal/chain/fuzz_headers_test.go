package chain

import (
	"math/big"
	"os"
	"path/filepath"
	"testing"

	"github.com/chainnet/chainnet/internal/pow"
	"github.com/chainnet/chainnet/internal/wire"
)

// trackerInput splits fuzz input into header batches: each batch is a count byte (1-8 headers)
// followed by that many encoded headers.
func trackerInput(data []byte) [][]wire.Header {
	var batches [][]wire.Header
	for len(data) > 0 {
		n := int(data[0]%8) + 1
		data = data[1:]
		var batch []wire.Header
		for range n {
			if len(data) < wire.HeaderSize {
				break
			}
			h, err := wire.DecodeHeader(data[:wire.HeaderSize])
			data = data[wire.HeaderSize:]
			if err != nil {
				continue
			}
			batch = append(batch, h)
		}
		if len(batch) == 0 {
			break
		}
		batches = append(batches, batch)
	}
	return batches
}

// encodeTrackerInput is the inverse of trackerInput, for seeds.
func encodeTrackerInput(batches [][]wire.Header) []byte {
	var out []byte
	for _, b := range batches {
		out = append(out, byte(len(b)-1))
		for i := range b {
			out = append(out, b[i].Encode()...)
		}
	}
	return out
}

// FuzzHeaderTracker feeds arbitrary header batches to a tracker over a short chain. Whatever
// comes, it never panics; a refused batch leaves the tracker as it was; an accepted one ends at
// its parent's height plus its length, with its parent's work plus the batch's; and the tracker
// never holds more than its context of detached headers, however long the chain it took.
func FuzzHeaderTracker(f *testing.F) {
	h := newHarness(f)
	h.extend(3)
	tip := h.c.Tip()
	chain := headerChain(f, h.c, tip.Hash, 24, 40)
	f.Add(encodeTrackerInput([][]wire.Header{chain[:8], chain[8:16], chain[16:]}))
	f.Add(encodeTrackerInput([][]wire.Header{chain[:5], chain[3:9]})) // overlapping batches
	broken := append([]wire.Header(nil), chain[:6]...)
	broken[4].Timestamp++
	f.Add(encodeTrackerInput([][]wire.Header{broken}))
	f.Add([]byte{})
	if os.Getenv("CHAINNET_WRITE_SEEDS") != "" {
		writeSeed(f, "FuzzHeaderTracker", "chain", encodeTrackerInput([][]wire.Header{chain[:8], chain[8:16], chain[16:]}))
		writeSeed(f, "FuzzHeaderTracker", "overlap", encodeTrackerInput([][]wire.Header{chain[:5], chain[3:9]}))
		writeSeed(f, "FuzzHeaderTracker", "broken", encodeTrackerInput([][]wire.Header{broken}))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tr := h.c.NewHeaderTracker()
		for _, batch := range trackerInput(data) {
			before := tr.Height()
			parentWork, parentHeight, known := h.workAt(tr, batch[0].PrevHash)
			work, err := tr.Add(batch)
			if err != nil {
				if tr.Height() != before {
					t.Fatalf("a refused batch moved the tracker from %d to %d", before, tr.Height())
				}
				continue
			}
			if !known {
				t.Fatal("a batch on an unknown parent was accepted")
			}
			want := new(big.Int).Set(parentWork)
			for i := range batch {
				want.Add(want, pow.WorkForBits(batch[i].Bits))
			}
			if work.Cmp(want) != 0 || tr.Height() != parentHeight+uint64(len(batch)) {
				t.Fatalf("accepted batch: height %d work %v, want %d and %v", tr.Height(), work, parentHeight+uint64(len(batch)), want)
			}
			if n := tr.retained(); n > h.c.trackerContext()+1 {
				t.Fatalf("the tracker holds %d detached headers", n)
			}
		}
	})
}

// workAt returns the work and height of the header a batch builds on, as the tracker sees it.
func (h *harness) workAt(tr *HeaderTracker, parent wire.Hash) (*big.Int, uint64, bool) {
	h.c.mu.RLock()
	defer h.c.mu.RUnlock()
	n := tr.findLocked(parent)
	if n == nil {
		return nil, 0, false
	}
	return n.work, n.height, true
}

// writeSeed writes a seed into testdata/fuzz/<target>/ (CHAINNET_WRITE_SEEDS=1 go test -run
// <target>).
func writeSeed(t testing.TB, target, name string, data []byte) {
	dir := filepath.Join("testdata", "fuzz", target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	content := "go test fuzz v1\n[]byte(" + quoteBytes(data) + ")\n"
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func quoteBytes(b []byte) string {
	const hex = "0123456789abcdef"
	out := []byte{'"'}
	for _, c := range b {
		out = append(out, '\\', 'x', hex[c>>4], hex[c&15])
	}
	return string(append(out, '"'))
}
