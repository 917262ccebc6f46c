package chain

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/chainnet/chainnet/internal/governance"
	"github.com/chainnet/chainnet/internal/store"
	"github.com/chainnet/chainnet/internal/wire"
)

// Membership of a permissioned network is chain state (internal/governance): the meta bucket holds
// the state after the tip, each block's undo record holds the state before it when the block
// changed it, and a block is judged under the state after its parent. A reorganisation therefore
// undoes a membership change with the block that made it, and a node syncing from genesis replays
// exactly the same history: no file or clock decides whether a block is valid.

// metaGovernance is the meta key of the governance state after the tip.
var metaGovernance = []byte("governance")

// MaxGovernanceTxsPerBlock bounds the governance transactions of one block: together with the
// rule that only member organizations' admin keys may sign them, it keeps governance from
// crowding out transfers.
const MaxGovernanceTxsPerBlock = 16

func readGovernance(tx *store.Tx) (*governance.State, error) {
	raw := tx.Get(store.BucketMeta, metaGovernance)
	if raw == nil {
		return nil, nil
	}
	st, err := governance.DecodeState(raw)
	if err != nil {
		return nil, fmt.Errorf("stored governance state: %w", err)
	}
	return st, nil
}

// Membership returns the governance state after the tip: who may connect and whose blocks the
// next block may be. nil on a public network. The returned state must not be modified.
func (c *Chain) Membership() *governance.State {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gov
}

// MembershipAtTip returns the membership after the tip together with the tip's height, read at
// one instant.
func (c *Chain) MembershipAtTip() (*governance.State, uint64) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gov, c.tipNode().height
}

// MinerAllowed reports whether a block signed by key on the tip would pass the membership rule.
func (c *Chain) MinerAllowed(key [32]byte) bool {
	st := c.Membership()
	return st == nil || st.MinerAllowed(governance.Key(key))
}

// OnMembershipChange registers fn, called (outside the chain's locks, after the change is durably
// committed) with the new state whenever the membership after the tip changes — by a block that
// changes it or by a reorganisation that undoes one.
func (c *Chain) OnMembershipChange(fn func(*governance.State)) {
	c.listenersMu.Lock()
	defer c.listenersMu.Unlock()
	c.membershipListeners = append(c.membershipListeners, fn)
}

// CheckGovernanceTx checks a governance transaction against the membership after the tip, as
// the next block would judge it (the mempool admits only what passes).
func (c *Chain) CheckGovernanceTx(tx *wire.Tx) error {
	c.mu.RLock()
	st, height := c.gov, c.tipNode().height+1
	c.mu.RUnlock()
	if st == nil {
		return ruleErr(RuleGovernanceNotAllowed, "tx %s: a public network has no governance", tx.ID())
	}
	next := st.Clone()
	next.BeginBlock(height)
	return applyGovernanceAction(next, tx, height)
}

// FilterGovernance returns txs (in the order a block would carry them, each sender's in nonce
// order) without the governance transactions the membership after the tip would refuse in a block
// at height, and without every later transaction of their senders (whose nonces would no longer
// follow), keeping at most MaxGovernanceTxsPerBlock governance transactions. Block templates use
// it: a governance transaction valid when it entered the mempool can be refused a few blocks
// later (its proposal decided or expired).
func (c *Chain) FilterGovernance(height uint64, txs []*wire.Tx) []*wire.Tx {
	st := c.Membership()
	var next *governance.State
	if st != nil {
		next = st.Clone()
		next.BeginBlock(height)
	}
	dropped := map[[32]byte]bool{}
	out := txs[:0:0]
	count := 0
	for _, tx := range txs {
		if dropped[tx.From] {
			continue
		}
		if tx.IsGovernance() {
			if next == nil || count >= MaxGovernanceTxsPerBlock {
				dropped[tx.From] = true
				continue
			}
			trial := next.Clone()
			if err := applyGovernanceAction(trial, tx, height); err != nil {
				dropped[tx.From] = true
				continue
			}
			next = trial
			count++
		}
		out = append(out, tx)
	}
	return out
}

// applyGovernanceAction decodes tx's action and applies it to st.
func applyGovernanceAction(st *governance.State, tx *wire.Tx, height uint64) error {
	a, err := governance.DecodeAction(tx.Payload)
	if err != nil {
		return ruleErr(RuleMalformedGovernance, "tx %s: %v", tx.ID(), err)
	}
	if err := st.Apply(tx.ID(), governance.Key(tx.From), a, height); err != nil {
		var ge *governance.Error
		if errors.As(err, &ge) {
			return ruleErr(RuleGovernanceRefused, "tx %s (%s): %s", tx.ID(), a, ge.Error())
		}
		return ruleErr(RuleGovernanceRefused, "tx %s (%s): %v", tx.ID(), a, err)
	}
	return nil
}

// blockGovernance carries the membership through the connection of one block: the state that
// judges it (after its parent), the state it leaves, and the encoding before it for the undo
// record.
type blockGovernance struct {
	before []byte
	judge  *governance.State
	next   *governance.State
}

// beginGovernance loads the state after the parent and checks the block's miner against it.
func beginGovernance(tx *store.Tx, b *wire.Block, height uint64) (*blockGovernance, error) {
	st, err := readGovernance(tx)
	if err != nil || st == nil {
		return nil, err
	}
	if key := b.MinerKey(); !st.MinerAllowed(governance.Key(key)) {
		return nil, ruleErr(RuleMinerNotPermitted, "miner key %x is not a member's miner key at height %d (membership seq %d)", key, height-1, st.Seq)
	}
	bg := &blockGovernance{before: st.Encode(), judge: st, next: st.Clone()}
	bg.next.BeginBlock(height)
	return bg, nil
}

// finish ends the block and stores the new state if it changed; it returns the state after the
// block and the undo bytes (nil when the block changed nothing).
func (bg *blockGovernance) finish(tx *store.Tx, height uint64) (*governance.State, []byte, error) {
	if bg == nil {
		return nil, nil, nil
	}
	bg.next.EndBlock(height)
	after := bg.next.Encode()
	if bytes.Equal(after, bg.before) {
		return bg.judge, nil, nil
	}
	if err := tx.Put(store.BucketMeta, metaGovernance, after); err != nil {
		return nil, nil, err
	}
	return bg.next, bg.before, nil
}
