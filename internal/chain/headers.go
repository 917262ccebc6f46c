package chain

import (
	"errors"
	"fmt"
	"math/big"

	"github.com/chainnet/chainnet/internal/pow"
	"github.com/chainnet/chainnet/internal/wire"
)

// ErrUnknownParent is returned by ValidateHeaders when the first header's parent is unknown.
var ErrUnknownParent = errors.New("parent of first header is unknown")

// ErrNotContiguous is returned by ValidateHeaders for headers that do not form a chain.
var ErrNotContiguous = errors.New("headers do not form a chain")

// BlockLocator returns hashes from the tip back to genesis, dense near the tip and exponentially
// sparser further back, so a peer finds our fork point in one round trip.
func (c *Chain) BlockLocator() []wire.Hash {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []wire.Hash
	step := uint64(1)
	for h := uint64(len(c.main) - 1); ; {
		out = append(out, c.main[h].hash)
		if h == 0 {
			return out
		}
		if len(out) >= 10 {
			step *= 2
		}
		if h < step {
			h = 0
		} else {
			h -= step
		}
	}
}

// LocateHeaders returns up to max best-chain headers following the first locator hash on our
// best chain (genesis if none is), stopping after stop.
func (c *Chain) LocateHeaders(locator []wire.Hash, stop wire.Hash, max int) []wire.Header {
	c.mu.RLock()
	defer c.mu.RUnlock()
	start := uint64(1)
	for _, h := range locator {
		if c.isMainLocked(h) {
			start = c.index[h].height + 1
			break
		}
	}
	var out []wire.Header
	for h := start; h < uint64(len(c.main)) && len(out) < max; h++ {
		n := c.main[h]
		out = append(out, n.header)
		if n.hash == stop {
			break
		}
	}
	return out
}

// ValidateHeaders checks a contiguous run of headers whose first parent we know: version, proof
// of work, retarget bits and timestamps — everything but the bodies. It returns the cumulative
// work at the last header, so the caller fetches bodies only for a chain that beats ours.
func (c *Chain) ValidateHeaders(headers []wire.Header) (*big.Int, error) {
	if len(headers) == 0 {
		return nil, fmt.Errorf("validate headers: none given")
	}
	return c.NewHeaderTracker().Add(headers)
}

func (c *Chain) checkHeaderSanity(h *wire.Header) error {
	if h.Version != blockVersion {
		return ruleErr(RuleBadVersion, "version %d, want %d", h.Version, blockVersion)
	}
	if err := pow.CheckProofOfWork(h.Hash(), h.Bits, c.params.PowLimit); err != nil {
		if errors.Is(err, pow.ErrBadTarget) {
			return ruleErr(RuleBadDifficulty, "%v", err)
		}
		return ruleErr(RuleHighHash, "%v", err)
	}
	return nil
}

// HeaderTracker validates a peer's header chain across several headers messages (headers-first
// sync): each batch must continue the previous one or start from a stored block. The validated
// headers are detached index nodes, never in the chain's index. The tracker keeps only the last
// trackerContext of them linked (what the next header's retarget and median-time-past checks
// read), so a long header chain that never beats ours costs a fixed amount of memory, not one
// node per header: the caller keeps what it needs of the rest (the hashes to download).
type HeaderTracker struct {
	c    *Chain
	last *blockNode
	// added counts the headers validated so far.
	added int
}

// NewHeaderTracker returns an empty tracker.
func (c *Chain) NewHeaderTracker() *HeaderTracker {
	return &HeaderTracker{c: c}
}

// trackerContext is how many detached headers a tracker keeps linked behind its last one: the
// retarget window (and the block before it) plus the median-time-past span, with room to spare.
func (c *Chain) trackerContext() int {
	return 2 * (int(c.params.DifficultyWindow) + 1 + medianTimeSpan)
}

// Add validates headers (PoW, retarget, timestamps, linkage) and returns the cumulative work at
// the last one. The first header must follow the tracker's last one, one of the few before it,
// or a stored block.
func (t *HeaderTracker) Add(headers []wire.Header) (*big.Int, error) {
	if len(headers) == 0 {
		if t.last == nil {
			return new(big.Int), nil
		}
		return new(big.Int).Set(t.last.work), nil
	}
	c := t.c
	c.mu.RLock()
	defer c.mu.RUnlock()
	prev := t.findLocked(headers[0].PrevHash)
	if prev == nil {
		return nil, fmt.Errorf("header %s: %w", headers[0].Hash(), ErrUnknownParent)
	}
	for i := range headers {
		h := &headers[i]
		if h.PrevHash != prev.hash {
			return nil, fmt.Errorf("header %d (%s): %w", i, h.Hash(), ErrNotContiguous)
		}
		if prev.status == statusInvalid {
			return nil, ruleErr(RuleInvalidAncestor, "header %s builds on invalid block %s", h.Hash(), prev.hash)
		}
		if err := c.checkHeaderSanity(h); err != nil {
			return nil, err
		}
		if err := c.checkHeaderContext(h, prev); err != nil {
			return nil, err
		}
		hash := h.Hash()
		if known, ok := c.index[hash]; ok {
			prev = known
			continue
		}
		prev = newNode(*h, prev)
		t.added++
	}
	t.last = prev
	t.pruneLocked()
	return new(big.Int).Set(prev.work), nil
}

// findLocked returns the tracked or stored node with hash h, or nil.
func (t *HeaderTracker) findLocked(h wire.Hash) *blockNode {
	for n, i := t.last, 0; n != nil && i <= t.c.trackerContext(); n, i = n.parent, i+1 {
		if n.hash == h {
			return n
		}
	}
	return t.c.index[h]
}

// pruneLocked unlinks detached nodes deeper than the context the next header needs, so that the
// garbage collector takes them.
func (t *HeaderTracker) pruneLocked() {
	n := t.last
	for i := 0; n != nil && i < t.c.trackerContext(); i++ {
		n = n.parent
	}
	if n != nil && n.parent != nil && t.c.index[n.parent.hash] != n.parent {
		n.parent = nil
	}
}

// Height returns the height of the last validated header.
func (t *HeaderTracker) Height() uint64 {
	if t.last == nil {
		return 0
	}
	return t.last.height
}

// Added returns the number of new headers validated so far (headers of stored blocks excluded).
func (t *HeaderTracker) Added() int { return t.added }

// NextBitsAfter returns the bits a header following parent must carry: parent is the tracker's
// last header, one shortly before it, or a stored block. Tools that build header chains (tests'
// hostile peers) use it to follow the retarget rule without storing blocks.
func (t *HeaderTracker) NextBitsAfter(parent wire.Hash) (uint32, error) {
	t.c.mu.RLock()
	defer t.c.mu.RUnlock()
	n := t.findLocked(parent)
	if n == nil {
		return 0, fmt.Errorf("block %s: %w", parent, ErrNotFound)
	}
	return t.c.nextBitsAfter(n), nil
}
