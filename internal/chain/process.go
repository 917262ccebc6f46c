package chain

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/big"

	"github.com/chainnet/chainnet/internal/governance"
	"github.com/chainnet/chainnet/internal/pow"
	"github.com/chainnet/chainnet/internal/store"
	"github.com/chainnet/chainnet/internal/wire"
)

// event is a best-chain change to tell listeners once the lock is released.
type event struct {
	connected bool
	block     *wire.Block
	height    uint64
}

// ProcessBlock validates a block this node asked for — a body of a header chain that beats its
// own (headers-first sync), a block it mined, a block it imports — and adds it to the chain:
// extending the best chain, switching to its branch if that now has the most cumulative work,
// storing it as a side chain, or holding it as an orphan. A rejected block returns a *RuleError. The
// block, its state changes and the new tip are committed in one fsynced store transaction: a crash
// leaves either the old tip or the new one.
func (c *Chain) ProcessBlock(ctx context.Context, b *wire.Block) (ProcessResult, error) {
	return c.process(ctx, b, true)
}

// ProcessUnrequestedBlock takes a block a peer announced or pushed without this node asking for
// it as part of a chain it chose to download. It is stored only if it makes a chain with more work
// than the tip (and at least the minimum chain work); anything else is StatusNotStored or, with an
// unknown parent, StatusOrphan — checked for proof of work only, never kept — so that blocks that
// cost a peer nothing to make cost this node nothing either.
func (c *Chain) ProcessUnrequestedBlock(ctx context.Context, b *wire.Block) (ProcessResult, error) {
	return c.process(ctx, b, false)
}

func (c *Chain) process(ctx context.Context, b *wire.Block, requested bool) (ProcessResult, error) {
	if err := ctx.Err(); err != nil {
		return ProcessResult{}, err
	}
	c.processMu.Lock()
	defer c.processMu.Unlock()
	c.mu.Lock()
	govBefore := c.gov
	res, events, err := c.processLocked(b, requested)
	if err == nil && (res.Status == StatusConnected || res.Status == StatusSideChain) {
		more, moreEvents := c.processOrphansLocked(res.Hash)
		res.Connected = append(res.Connected, more...)
		events = append(events, moreEvents...)
	}
	govAfter := c.gov
	c.mu.Unlock()
	c.notify(events)
	if membershipChanged(govBefore, govAfter) {
		c.notifyMembership(govAfter)
	}
	return res, err
}

func membershipChanged(before, after *governance.State) bool {
	if before == after {
		return false
	}
	if before == nil || after == nil {
		return true
	}
	return !bytes.Equal(before.Encode(), after.Encode())
}

func (c *Chain) processLocked(b *wire.Block, requested bool) (ProcessResult, []event, error) {
	hash := b.Hash()
	res := ProcessResult{Hash: hash}
	if n, ok := c.index[hash]; ok {
		if n.status == statusInvalid {
			return res, nil, ruleErr(RuleInvalidAncestor, "block %s was rejected before", hash)
		}
		res.Status, res.Height = StatusDuplicate, n.height
		return res, nil, nil
	}
	if rule, ok := c.rejected.get(hash); ok {
		// The same answer as the first time (the same score for the peer), for a map lookup.
		return res, nil, ruleErr(rule, "block %s was rejected before", hash)
	}
	if c.orphans.has(hash) {
		res.Status = StatusDuplicate
		return res, nil, nil
	}
	if b.Header.PrevHash.IsZero() {
		return res, nil, c.rejectedBlock(hash, ruleErr(RuleBadGenesis, "block %s claims to be a genesis block", hash))
	}
	if err := c.checkHeaderSanity(&b.Header); err != nil {
		return res, nil, c.rejectedBlock(hash, err)
	}
	parent, ok := c.index[b.Header.PrevHash]
	if !ok {
		res.Status, res.OrphanRoot = StatusOrphan, b.Header.PrevHash
		if !requested {
			return res, nil, nil
		}
		if err := c.checkBodySanity(b); err != nil {
			return res, nil, c.rejectedBlock(hash, err)
		}
		c.orphans.add(b)
		res.OrphanRoot = c.orphans.root(hash)
		return res, nil, nil
	}
	if parent.status == statusInvalid {
		return res, nil, c.rejectedBlock(hash, ruleErr(RuleInvalidAncestor, "parent %s is invalid", parent.hash))
	}
	if !requested {
		work := pow.WorkForBits(b.Header.Bits)
		work.Add(work, parent.work)
		if work.Cmp(c.tipNode().work) <= 0 || work.Cmp(c.minChainWork) < 0 {
			res.Status = StatusNotStored
			return res, nil, nil
		}
	}
	if err := c.checkBodySanity(b); err != nil {
		return res, nil, c.rejectedBlock(hash, err)
	}
	if err := c.checkHeaderContext(&b.Header, parent); err != nil {
		return res, nil, c.rejectedBlock(hash, err)
	}
	return c.acceptBlock(b, parent)
}

// rejectedBlock remembers a block refused before it was stored, unless the refusal depends on
// something other than the block: a body that does not belong to its header (another peer may send
// the real one), or this node's clock or halt height.
func (c *Chain) rejectedBlock(hash wire.Hash, err error) error {
	if !IsMutation(err) && !isTransient(err) {
		c.rejected.add(hash, RuleOf(err))
	}
	return err
}

// WorthDownloading reports whether a chain with cumulative work would replace the best chain:
// more work than the tip and at least the minimum chain work. Headers-first sync fetches bodies
// only for such chains.
func (c *Chain) WorthDownloading(work *big.Int) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return work.Cmp(c.tipNode().work) > 0 && work.Cmp(c.minChainWork) >= 0
}

// processOrphansLocked connects orphans that were waiting for parent, breadth first.
func (c *Chain) processOrphansLocked(parent wire.Hash) ([]*wire.Block, []event) {
	var connected []*wire.Block
	var events []event
	queue := []wire.Hash{parent}
	for len(queue) > 0 {
		h := queue[0]
		queue = queue[1:]
		for _, child := range c.orphans.takeChildren(h) {
			res, evs, err := c.processLocked(child, true)
			if err != nil {
				c.log.Info("orphan rejected", "block", child.Hash(), "err", err)
				continue
			}
			connected = append(connected, res.Connected...)
			events = append(events, evs...)
			queue = append(queue, res.Hash)
		}
	}
	return connected, events
}

func (c *Chain) tipNode() *blockNode { return c.main[len(c.main)-1] }

// acceptBlock stores a block whose header is valid in context, and makes it the tip if its
// branch has the most work.
func (c *Chain) acceptBlock(b *wire.Block, parent *blockNode) (ProcessResult, []event, error) {
	node := newNode(b.Header, parent)
	res := ProcessResult{Hash: node.hash, Height: node.height}
	if halt := c.halt; halt > 0 && node.height > halt {
		return res, nil, ruleErr(RuleBeyondHaltHeight, "block %s at height %d: this node halts at %d", node.hash, node.height, halt)
	}
	tip := c.tipNode()
	if node.work.Cmp(tip.work) <= 0 {
		if err := c.db.Update(func(tx *store.Tx) error { return storeBlock(tx, node, b) }); err != nil {
			return res, nil, fmt.Errorf("store side-chain block %s: %w", node.hash, err)
		}
		c.index[node.hash] = node
		res.Status = StatusSideChain
		return res, nil, nil
	}
	if parent == tip {
		return c.extend(b, node)
	}
	return c.reorganize(b, node)
}

func storeBlock(tx *store.Tx, n *blockNode, b *wire.Block) error {
	if err := tx.Put(store.BucketBlocks, n.hash[:], b.Encode()); err != nil {
		return err
	}
	return tx.Put(store.BucketIndex, n.hash[:], encodeIndexEntry(n))
}

// extend connects a block on top of the tip.
func (c *Chain) extend(b *wire.Block, node *blockNode) (ProcessResult, []event, error) {
	res := ProcessResult{Hash: node.hash, Height: node.height}
	var gov *governance.State
	err := c.db.Update(func(tx *store.Tx) error {
		if err := storeBlock(tx, node, b); err != nil {
			return err
		}
		var err error
		gov, err = c.connectBlock(tx, node, b)
		return err
	})
	if err != nil {
		if RuleOf(err) != "" {
			c.markInvalid([]*blockNode{node})
		}
		return res, nil, err
	}
	c.index[node.hash] = node
	c.main = append(c.main, node)
	c.gov = gov
	res.Status, res.Connected = StatusConnected, []*wire.Block{b}
	return res, []event{{connected: true, block: b, height: node.height}}, nil
}

// connectBlock validates b against state and the membership after its parent and applies it in
// tx: accounts, membership, undo record, best-chain height, transaction index and tip. It returns
// the membership after b (nil on a public network).
func (c *Chain) connectBlock(tx *store.Tx, node *blockNode, b *wire.Block) (*governance.State, error) {
	gov, err := beginGovernance(tx, b, node.height)
	if err != nil {
		return nil, err
	}
	view := newStateView(tx)
	if err := c.connectTransactions(view, gov, b, node.height); err != nil {
		return nil, err
	}
	after, govUndo, err := gov.finish(tx, node.height)
	if err != nil {
		return nil, err
	}
	undo, err := view.commit(govUndo)
	if err != nil {
		return nil, err
	}
	if err := tx.Put(store.BucketUndo, node.hash[:], undo); err != nil {
		return nil, err
	}
	for i, t := range b.Txs {
		id := t.ID()
		loc := append(append([]byte{}, node.hash[:]...), byte(i>>24), byte(i>>16), byte(i>>8), byte(i))
		if err := tx.Put(store.BucketTxIndex, id[:], loc); err != nil {
			return nil, err
		}
	}
	if err := tx.Put(store.BucketMain, heightKey(node.height), node.hash[:]); err != nil {
		return nil, err
	}
	return after, tx.Put(store.BucketMeta, metaTip, node.hash[:])
}

// disconnectBlock undoes the tip block b in tx.
func disconnectBlock(tx *store.Tx, node *blockNode, b *wire.Block) error {
	undo := tx.Get(store.BucketUndo, node.hash[:])
	if undo == nil {
		return fmt.Errorf("disconnect %s: no undo record", node.hash)
	}
	if err := applyUndo(tx, undo); err != nil {
		return fmt.Errorf("disconnect %s: %w", node.hash, err)
	}
	if err := tx.Delete(store.BucketUndo, node.hash[:]); err != nil {
		return err
	}
	for _, t := range b.Txs {
		id := t.ID()
		if err := tx.Delete(store.BucketTxIndex, id[:]); err != nil {
			return err
		}
	}
	if err := tx.Delete(store.BucketMain, heightKey(node.height)); err != nil {
		return err
	}
	return tx.Put(store.BucketMeta, metaTip, node.parent.hash[:])
}

// connectError remembers which block of a reorganisation broke a rule.
type connectError struct {
	node *blockNode
	err  error
}

func (e *connectError) Error() string { return e.err.Error() }
func (e *connectError) Unwrap() error { return e.err }

// reorganize switches the best chain to node's branch: it disconnects the old branch back to the
// fork point and connects the new one, all in one store transaction. If any block of the new branch
// breaks a rule the transaction rolls back whole, the old chain stays, and the bad block and its
// descendants are marked invalid.
func (c *Chain) reorganize(b *wire.Block, node *blockNode) (ProcessResult, []event, error) {
	res := ProcessResult{Hash: node.hash, Height: node.height}
	oldTip := c.tipNode()
	fork, attach := c.branch(node)
	for _, n := range attach {
		if n.status == statusInvalid {
			return res, nil, ruleErr(RuleInvalidAncestor, "branch contains invalid block %s", n.hash)
		}
	}
	var detached, attached []*wire.Block
	var gov *governance.State
	err := c.db.Update(func(tx *store.Tx) error {
		detached, attached = nil, nil
		if err := storeBlock(tx, node, b); err != nil {
			return err
		}
		for n := oldTip; n != fork; n = n.parent {
			blk, err := c.loadBlock(tx, n.hash)
			if err != nil {
				return err
			}
			if err := disconnectBlock(tx, n, blk); err != nil {
				return err
			}
			detached = append(detached, blk)
		}
		for _, n := range attach {
			blk := b
			if n != node {
				var err error
				if blk, err = c.loadBlock(tx, n.hash); err != nil {
					return err
				}
			}
			var err error
			if gov, err = c.connectBlock(tx, n, blk); err != nil {
				return &connectError{node: n, err: err}
			}
			attached = append(attached, blk)
		}
		return nil
	})
	if err != nil {
		var ce *connectError
		if errors.As(err, &ce) && RuleOf(err) != "" {
			c.markInvalid(attachFrom(attach, ce.node))
		}
		return res, nil, err
	}
	c.index[node.hash] = node
	c.main = c.main[:fork.height+1]
	c.main = append(c.main, attach...)
	c.gov = gov
	events := make([]event, 0, len(detached)+len(attached))
	for i, blk := range detached {
		events = append(events, event{block: blk, height: oldTip.height - uint64(i)})
	}
	for i, blk := range attached {
		events = append(events, event{connected: true, block: blk, height: attach[i].height})
	}
	res.Status, res.Connected = StatusConnected, attached
	res.Reorg = &Reorg{Depth: len(detached), OldTip: oldTip.hash, NewTip: node.hash, Disconnected: detached, Connected: attached}
	c.log.Info("chain reorganized", "depth", len(detached), "old_tip", oldTip.hash, "new_tip", node.hash, "height", node.height)
	return res, events, nil
}

// branch returns the fork point between node's branch and the best chain, and node's branch from
// just after the fork up to node, in height order.
func (c *Chain) branch(node *blockNode) (*blockNode, []*blockNode) {
	var attach []*blockNode
	n := node
	for !c.isMainLocked(n.hash) {
		attach = append(attach, n)
		n = n.parent
	}
	for i, j := 0, len(attach)-1; i < j; i, j = i+1, j-1 {
		attach[i], attach[j] = attach[j], attach[i]
	}
	return n, attach
}

func attachFrom(attach []*blockNode, bad *blockNode) []*blockNode {
	for i, n := range attach {
		if n == bad {
			return attach[i:]
		}
	}
	return nil
}

func (c *Chain) loadBlock(tx *store.Tx, h wire.Hash) (*wire.Block, error) {
	raw := tx.Get(store.BucketBlocks, h[:])
	if raw == nil {
		return nil, fmt.Errorf("block %s: %w", h, ErrNotFound)
	}
	return wire.DecodeBlock(raw)
}

// markInvalid records blocks as invalid so they are never validated again. Their data is not
// needed; a failure to record is logged, not fatal: the block would merely be re-validated.
func (c *Chain) markInvalid(nodes []*blockNode) {
	for _, n := range nodes {
		n.status = statusInvalid
		c.index[n.hash] = n
	}
	err := c.db.Update(func(tx *store.Tx) error {
		for _, n := range nodes {
			if err := tx.Put(store.BucketIndex, n.hash[:], encodeIndexEntry(n)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		c.log.Warn("recording invalid blocks failed", "err", err)
	}
}

func (c *Chain) notifyMembership(st *governance.State) {
	c.listenersMu.RLock()
	fns := append([]func(*governance.State){}, c.membershipListeners...)
	c.listenersMu.RUnlock()
	for _, fn := range fns {
		fn(st)
	}
}

func (c *Chain) notify(events []event) {
	if len(events) == 0 {
		return
	}
	c.listenersMu.RLock()
	listeners := append([]Listener(nil), c.listeners...)
	c.listenersMu.RUnlock()
	for _, ev := range events {
		for _, l := range listeners {
			if ev.connected {
				l.BlockConnected(ev.block, ev.height)
			} else {
				l.BlockDisconnected(ev.block, ev.height)
			}
		}
	}
}
