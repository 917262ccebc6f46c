package chain

import (
	"context"
	"fmt"
	"runtime"
	"sync"

	"github.com/chainnet/chainnet/internal/governance"
	"github.com/chainnet/chainnet/internal/store"
	"github.com/chainnet/chainnet/internal/wire"
)

// MaxBatch bounds the blocks ProcessBlocks commits in one store transaction: the work a crash can
// lose (those blocks are fetched again) and how long the chain lock is held at a time (~100 µs a
// small block, so ~50 ms).
const MaxBatch = 512

// ProcessBlocks takes blocks this node asked for (headers-first sync delivers them in chain
// order) and connects them as ProcessBlock would, but commits a run of blocks that extend the tip
// one after another in one store transaction — one fsync per run instead of one per block, as
// Bitcoin Core flushes its coins cache every so often rather than per block. Context-free checks
// (proof of work, merkle root, signatures) run on all cores before the chain lock is taken.
//
// Crash safety is the store's: a run is committed whole or not at all, with the accounts,
// membership, undo records and tip of its last block, so a crash leaves the tip of the last
// committed run and loses at most the run in progress, which sync fetches again.
//
// It returns the results of blocks[:len(results)] and, when it stops early, the error of the next
// block; the caller decides what to do with the blocks after it. Blocks outside a linear run
// (duplicates, orphans, side chains, anything rejected) go through ProcessBlock one by one, so
// they meet exactly the same rules and verdicts.
func (c *Chain) ProcessBlocks(ctx context.Context, blocks []*wire.Block) ([]ProcessResult, error) {
	sanity := c.checkSanityParallel(blocks)
	results := make([]ProcessResult, 0, len(blocks))
	for len(blocks) > 0 {
		if err := ctx.Err(); err != nil {
			return results, err
		}
		batch := c.connectRun(blocks[:min(len(blocks), MaxBatch)], sanity)
		if len(batch) == 0 {
			res, err := c.process(ctx, blocks[0], true)
			if err != nil {
				return results, err
			}
			batch = []ProcessResult{res}
		}
		results = append(results, batch...)
		blocks, sanity = blocks[len(batch):], sanity[len(batch):]
	}
	return results, nil
}

// checkSanityParallel runs the checks that need neither parent nor state over blocks on all cores.
func (c *Chain) checkSanityParallel(blocks []*wire.Block) []error {
	errs := make([]error, len(blocks))
	var next sync.Mutex
	i := 0
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(blocks)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				next.Lock()
				k := i
				i++
				next.Unlock()
				if k >= len(blocks) {
					return
				}
				if err := c.checkHeaderSanity(&blocks[k].Header); err != nil {
					errs[k] = err
				} else {
					errs[k] = c.checkBodySanity(blocks[k])
				}
			}
		}()
	}
	wg.Wait()
	return errs
}

// connectRun connects the longest prefix of blocks that extends the tip block by block and passes
// every check, in one store transaction, and returns its results; none if the first block is not
// such a block (the caller then processes it alone).
func (c *Chain) connectRun(blocks []*wire.Block, sanity []error) []ProcessResult {
	c.processMu.Lock()
	defer c.processMu.Unlock()
	c.mu.Lock()
	govBefore := c.gov
	nodes := c.linearRunLocked(blocks, sanity)
	var gov *governance.State
	for len(nodes) > 0 {
		bad, err := c.commitRunLocked(nodes, blocks, &gov)
		if err == nil {
			c.runCommits.Add(1)
			break
		}
		// Commit again without the block that failed: it goes through the one-by-one path,
		// which records the verdict.
		c.log.Debug("batched connect stopped", "block", nodes[bad].hash, "err", err)
		nodes = nodes[:bad]
	}
	if len(nodes) == 0 {
		c.mu.Unlock()
		return nil
	}
	results, events := c.finishRunLocked(nodes, blocks, gov)
	govAfter := c.gov
	c.mu.Unlock()
	c.notify(events)
	if membershipChanged(govBefore, govAfter) {
		c.notifyMembership(govAfter)
	}
	return results
}

// linearRunLocked returns index nodes for the prefix of blocks that extends the tip one by one
// and passes the sanity and header-context checks.
func (c *Chain) linearRunLocked(blocks []*wire.Block, sanity []error) []*blockNode {
	var nodes []*blockNode
	parent := c.tipNode()
	for i, b := range blocks {
		if sanity[i] != nil || b.Header.PrevHash != parent.hash {
			break
		}
		h := b.Hash()
		if _, known := c.index[h]; known {
			break
		}
		if _, rejected := c.rejected.get(h); rejected || c.orphans.has(h) {
			break
		}
		if c.checkHeaderContext(&b.Header, parent) != nil {
			break
		}
		node := newNode(b.Header, parent)
		if c.halt > 0 && node.height > c.halt {
			break
		}
		nodes = append(nodes, node)
		parent = node
	}
	return nodes
}

// commitRunLocked stores and connects the run in one transaction. On failure it returns the
// position of the block that failed; the transaction is rolled back whole.
func (c *Chain) commitRunLocked(nodes []*blockNode, blocks []*wire.Block, gov **governance.State) (int, error) {
	bad := 0
	err := c.db.Update(func(tx *store.Tx) error {
		for i, n := range nodes {
			bad = i
			if err := storeBlock(tx, n, blocks[i]); err != nil {
				return err
			}
			g, err := c.connectBlock(tx, n, blocks[i])
			if err != nil {
				return fmt.Errorf("connect %s: %w", n.hash, err)
			}
			*gov = g
		}
		return nil
	})
	return bad, err
}

// finishRunLocked makes the committed run the best chain in memory and connects orphans that
// were waiting for its last block.
func (c *Chain) finishRunLocked(nodes []*blockNode, blocks []*wire.Block, gov *governance.State) ([]ProcessResult, []event) {
	results := make([]ProcessResult, len(nodes))
	events := make([]event, len(nodes))
	for i, n := range nodes {
		c.index[n.hash] = n
		c.main = append(c.main, n)
		results[i] = ProcessResult{Status: StatusConnected, Hash: n.hash, Height: n.height, Connected: []*wire.Block{blocks[i]}}
		events[i] = event{connected: true, block: blocks[i], height: n.height}
	}
	c.gov = gov
	last := &results[len(results)-1]
	more, moreEvents := c.processOrphansLocked(last.Hash)
	last.Connected = append(last.Connected, more...)
	return results, append(events, moreEvents...)
}
