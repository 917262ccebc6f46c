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
// sync): each batch must continue the previous one or start from a stored block. It holds the
// validated headers as detached index nodes, never in the chain's index, so a low-work header
// chain costs us only memory until the caller drops the tracker.
type HeaderTracker struct {
	c     *Chain
	nodes map[wire.Hash]*blockNode
	last  *blockNode
}

// NewHeaderTracker returns an empty tracker.
func (c *Chain) NewHeaderTracker() *HeaderTracker {
	return &HeaderTracker{c: c, nodes: map[wire.Hash]*blockNode{}}
}

// Add validates headers (PoW, retarget, timestamps, linkage) and returns the cumulative work at
// the last one.
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
	prev, ok := t.nodes[headers[0].PrevHash]
	if !ok {
		if prev, ok = c.index[headers[0].PrevHash]; !ok {
			return nil, fmt.Errorf("header %s: %w", headers[0].Hash(), ErrUnknownParent)
		}
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
		n := newNode(*h, prev)
		t.nodes[hash] = n
		prev = n
	}
	t.last = prev
	return new(big.Int).Set(prev.work), nil
}

// Height returns the height of the last validated header.
func (t *HeaderTracker) Height() uint64 {
	if t.last == nil {
		return 0
	}
	return t.last.height
}

// NextBitsAfter returns the bits a header following parent must carry: parent is a header the
// tracker holds or a stored block. Tools that build header chains (tests' hostile peers) use it to
// follow the retarget rule without storing blocks.
func (t *HeaderTracker) NextBitsAfter(parent wire.Hash) (uint32, error) {
	t.c.mu.RLock()
	defer t.c.mu.RUnlock()
	n, ok := t.nodes[parent]
	if !ok {
		if n, ok = t.c.index[parent]; !ok {
			return 0, fmt.Errorf("block %s: %w", parent, ErrNotFound)
		}
	}
	return t.c.nextBitsAfter(n), nil
}
