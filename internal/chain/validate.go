package chain

import (
	"runtime"
	"sync"

	"github.com/chainnet/chainnet/internal/governance"
	"github.com/chainnet/chainnet/internal/pow"
	"github.com/chainnet/chainnet/internal/wire"
)

// blockVersion is the only header version this release accepts.
const blockVersion = 1

// CheckTransaction applies the rules that need no state: type, chain id, amounts, payload,
// signature. The mempool runs it before admission and the chain for every transaction of a block.
//
// A signature that verifies is remembered (the signature cache), so that the block that carries
// the transaction later does not verify it again.
func (c *Chain) CheckTransaction(tx *wire.Tx) error {
	return checkTransaction(tx, c.params.ChainID, c.params.Membership.Permissioned(), c.sigs.Verify)
}

func checkTransaction(tx *wire.Tx, chainID uint64, permissioned bool, verify wire.VerifyFunc) error {
	if tx.ChainID != chainID {
		return ruleErr(RuleWrongChainID, "tx %s: chain id %d, this network is %d", tx.ID(), tx.ChainID, chainID)
	}
	switch tx.Type {
	case wire.TxCoinbase:
		return nil
	case wire.TxGovernance:
		if !permissioned {
			return ruleErr(RuleGovernanceNotAllowed, "tx %s: a public network has no governance", tx.ID())
		}
		if _, err := governance.DecodeAction(tx.Payload); err != nil {
			return ruleErr(RuleMalformedGovernance, "tx %s: %v", tx.ID(), err)
		}
		if err := tx.VerifySignatureWith(verify); err != nil {
			return ruleErr(RuleBadTxSignature, "tx %s: %v", tx.ID(), err)
		}
		return nil
	}
	if tx.Amount == 0 {
		return ruleErr(RuleZeroAmount, "tx %s: amount is zero", tx.ID())
	}
	if tx.To == tx.Sender() {
		return ruleErr(RuleSelfTransfer, "tx %s: sender and recipient are the same", tx.ID())
	}
	if err := tx.VerifySignatureWith(verify); err != nil {
		return ruleErr(RuleBadTxSignature, "tx %s: %v", tx.ID(), err)
	}
	return nil
}

// checkBodySanity applies every rule of the body that needs neither the parent nor state,
// cheapest first, so that junk is rejected before signatures are verified. The header passed
// checkHeaderSanity before. Signatures are looked up in the signature cache, and entries are kept
// (unlike Bitcoin Core, which erases them on connection): with blocks a second apart, competing
// blocks often carry the same transactions, and a reorganisation returns them to the mempool.
// The cache's own bound evicts them.
func (c *Chain) checkBodySanity(b *wire.Block) error {
	c.bodyChecks.Add(1)
	return c.checkBody(b, c.sigs.Verify)
}

// PrecheckBlock verifies a block's signatures into the signature cache, without chain locks and
// without recording anything about the block: the P2P layer runs it on each downloaded block as
// it arrives, on the receiving peer's goroutine, so that connecting the block later (in chain
// order, on one goroutine) finds its signatures verified. Its verdict is advisory; only
// ProcessBlock's counts.
func (c *Chain) PrecheckBlock(b *wire.Block) error {
	if err := c.checkHeaderSanity(&b.Header); err != nil {
		return err
	}
	return c.checkBody(b, c.sigs.Verify)
}

func (c *Chain) checkBody(b *wire.Block, verify wire.VerifyFunc) error {
	h := &b.Header
	if size := b.Size(); uint64(size) > c.params.MaxBlockSize {
		return ruleErr(RuleBlockTooLarge, "%d bytes, limit %d", size, c.params.MaxBlockSize)
	}
	if err := checkCoinbasePlacement(b); err != nil {
		return err
	}
	if err := checkGovernanceCount(b); err != nil {
		return err
	}
	ids := b.TxIDs()
	seen := make(map[wire.Hash]struct{}, len(ids))
	for _, id := range ids {
		if _, dup := seen[id]; dup {
			return ruleErr(RuleDuplicateTx, "tx %s appears twice", id)
		}
		seen[id] = struct{}{}
	}
	if root := wire.MerkleRoot(ids); root != h.MerkleRoot {
		return ruleErr(RuleBadMerkleRoot, "header commits to %s, transactions give %s", h.MerkleRoot, root)
	}
	if err := b.VerifyMinerSignatureWith(verify); err != nil {
		return ruleErr(RuleBadMinerSignature, "block %s: %v", b.Hash(), err)
	}
	return c.checkTransactions(b.Txs[1:], verify)
}

func checkGovernanceCount(b *wire.Block) error {
	n := 0
	for _, tx := range b.Txs {
		if tx.IsGovernance() {
			n++
		}
	}
	if n > MaxGovernanceTxsPerBlock {
		return ruleErr(RuleTooManyGovernanceTxs, "%d governance transactions, at most %d", n, MaxGovernanceTxsPerBlock)
	}
	return nil
}

func checkCoinbasePlacement(b *wire.Block) error {
	if len(b.Txs) == 0 || !b.Txs[0].IsCoinbase() {
		return ruleErr(RuleNoCoinbase, "first transaction is not a coinbase")
	}
	for i, tx := range b.Txs[1:] {
		if tx.IsCoinbase() {
			return ruleErr(RuleMultipleCoinbase, "coinbase at position %d", i+1)
		}
	}
	return nil
}

// parallelVerifyThreshold: below this many transactions, goroutines cost more than they save.
const parallelVerifyThreshold = 64

// checkTransactions runs CheckTransaction over txs, spreading signature checks over all cores for
// large blocks (ed25519 verification dominates block validation).
func (c *Chain) checkTransactions(txs []*wire.Tx, verify wire.VerifyFunc) error {
	permissioned := c.params.Membership.Permissioned()
	if len(txs) < parallelVerifyThreshold {
		for _, tx := range txs {
			if err := checkTransaction(tx, c.params.ChainID, permissioned, verify); err != nil {
				return err
			}
		}
		return nil
	}
	workers := runtime.GOMAXPROCS(0)
	chunk := (len(txs) + workers - 1) / workers
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		lo, hi := w*chunk, min((w+1)*chunk, len(txs))
		if lo >= hi {
			break
		}
		wg.Add(1)
		go func(w int, part []*wire.Tx) {
			defer wg.Done()
			for _, tx := range part {
				if err := checkTransaction(tx, c.params.ChainID, permissioned, verify); err != nil {
					errs[w] = err
					return
				}
			}
		}(w, txs[lo:hi])
	}
	wg.Wait()
	// The first rule broken, in block order: one is enough to reject, and the same block gives
	// the same error on every node.
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// checkHeaderContext applies the rules that need the parent: difficulty from the retarget rule,
// timestamp above the median of the last 11 and not too far in the future.
func (c *Chain) checkHeaderContext(h *wire.Header, parent *blockNode) error {
	if want := c.nextBitsAfter(parent); h.Bits != want {
		return ruleErr(RuleBadDifficulty, "bits %08x, the retarget rule requires %08x", h.Bits, want)
	}
	if mtp := parent.medianTimePast(); h.Timestamp <= mtp {
		return ruleErr(RuleTimeTooOld, "timestamp %d not after median time past %d", h.Timestamp, mtp)
	}
	if limit := uint64(c.now().Unix()) + c.params.MaxFutureBlockTime; h.Timestamp > limit {
		return ruleErr(RuleTimeTooNew, "timestamp %d is more than %ds ahead of local time", h.Timestamp, c.params.MaxFutureBlockTime)
	}
	return nil
}

func (c *Chain) nextBitsAfter(parent *blockNode) uint32 {
	window := parent.retargetWindow(c.params.DifficultyWindow)
	return pow.NextBits(window, c.params.TargetBlockTime, c.params.PowLimit)
}

// connectTransactions checks b against the state in view (and, on a permissioned network, the
// membership in gov) and applies it. The coinbase must pay exactly the reward plus the fees, and
// carry the block's height.
func (c *Chain) connectTransactions(view *stateView, gov *blockGovernance, b *wire.Block, height uint64) error {
	var fees uint64
	for _, tx := range b.Txs[1:] {
		if tx.IsGovernance() {
			if gov == nil {
				return ruleErr(RuleGovernanceNotAllowed, "tx %s: a public network has no governance", tx.ID())
			}
			if err := view.payGovernance(tx); err != nil {
				return err
			}
			if err := applyGovernanceAction(gov.next, tx, height); err != nil {
				return err
			}
		} else if err := view.applyTransfer(tx); err != nil {
			return err
		}
		if fees+tx.Fee < fees {
			return ruleErr(RuleAmountOverflow, "fees overflow")
		}
		fees += tx.Fee
	}
	cb := b.Txs[0]
	if cb.ChainID != c.params.ChainID {
		return ruleErr(RuleWrongChainID, "coinbase chain id %d", cb.ChainID)
	}
	if cb.Nonce != height {
		return ruleErr(RuleBadCoinbaseHeight, "coinbase height %d in block %d", cb.Nonce, height)
	}
	reward := c.params.Reward(height)
	if reward+fees < reward {
		return ruleErr(RuleAmountOverflow, "reward + fees overflows")
	}
	if cb.Amount != reward+fees {
		return ruleErr(RuleBadCoinbaseAmount, "coinbase pays %d, reward %d + fees %d = %d", cb.Amount, reward, fees, reward+fees)
	}
	return view.credit(cb.To, cb.Amount)
}
