package chain

import (
	"errors"
	"math"
	"testing"

	"github.com/chainnet/chainnet/internal/genesis"
	"github.com/chainnet/chainnet/internal/keys"
	"github.com/chainnet/chainnet/internal/pow"
	"github.com/chainnet/chainnet/internal/wire"
)

// TestEveryRuleRejects builds, for each consensus rule, a block that breaks only that rule and
// checks it is rejected with a RuleError naming it, leaving the tip unchanged.
func TestEveryRuleRejects(t *testing.T) {
	type tcase struct {
		rule  Rule
		setup func(h *harness) *wire.Block
	}
	resign := func(h *harness, tx *wire.Tx, k *keys.Key) *wire.Tx { tx.Sign(k); return tx }
	cases := []tcase{
		{RuleBadVersion, func(h *harness) *wire.Block {
			return h.build(blockSpec{mutate: func(b *wire.Block) { b.Header.Version = 2 }})
		}},
		{RuleHighHash, func(h *harness) *wire.Block {
			b := h.build(blockSpec{})
			target := pow.TargetBytes(b.Header.Bits)
			for pow.Meets(b.Header.Hash(), &target) {
				b.Header.Nonce++
			}
			b.SignBlock(h.miner.Private)
			return b
		}},
		{RuleBadDifficulty, func(h *harness) *wire.Block {
			return h.build(blockSpec{bits: pow.BigToCompact(pow.TargetForDifficulty(8))})
		}},
		{RuleTimeTooOld, func(h *harness) *wire.Block {
			return h.build(blockSpec{timestamp: genesisTime})
		}},
		{RuleTimeTooNew, func(h *harness) *wire.Block {
			return h.build(blockSpec{timestamp: uint64(h.now.Unix()) + h.params.MaxFutureBlockTime + 1})
		}},
		{RuleBadMerkleRoot, func(h *harness) *wire.Block {
			return h.build(blockSpec{mutate: func(b *wire.Block) { b.Header.MerkleRoot[0] ^= 1 }})
		}},
		{RuleBlockTooLarge, func(h *harness) *wire.Block {
			var txs []*wire.Tx
			for i := uint64(0); uint64(len(txs)*wire.TransferSize) <= h.params.MaxBlockSize; i++ {
				txs = append(txs, h.transfer(h.alice, h.bob, 1, 0, i))
			}
			return h.build(blockSpec{txs: txs})
		}},
		{RuleBadMinerSignature, func(h *harness) *wire.Block {
			return h.build(blockSpec{after: func(b *wire.Block) { b.Signature[0] ^= 1 }})
		}},
		{RuleNoCoinbase, func(h *harness) *wire.Block {
			return h.build(blockSpec{mutate: func(b *wire.Block) {
				b.Txs = []*wire.Tx{h.transfer(h.alice, h.bob, 1, 0, 0)}
				b.Header.MerkleRoot = b.ComputeMerkleRoot()
			}})
		}},
		{RuleMultipleCoinbase, func(h *harness) *wire.Block {
			return h.build(blockSpec{txs: []*wire.Tx{wire.NewCoinbase(testChainID, h.bob.AccountAddress(), 1, 1, h.miner.Public)}})
		}},
		{RuleBadCoinbaseAmount, func(h *harness) *wire.Block {
			return h.build(blockSpec{coinbase: wire.NewCoinbase(testChainID, h.miner.AccountAddress(), h.params.Reward(1)+1, 1, h.miner.Public)})
		}},
		{RuleBadCoinbaseHeight, func(h *harness) *wire.Block {
			return h.build(blockSpec{coinbase: wire.NewCoinbase(testChainID, h.miner.AccountAddress(), h.params.Reward(1), 5, h.miner.Public)})
		}},
		{RuleDuplicateTx, func(h *harness) *wire.Block {
			tx := h.transfer(h.alice, h.bob, 1, 0, 0)
			return h.build(blockSpec{txs: []*wire.Tx{tx, tx}})
		}},
		{RuleBadTxSignature, func(h *harness) *wire.Block {
			tx := h.transfer(h.alice, h.bob, 1, 0, 0)
			tx.Amount = 2 // signature no longer covers the fields
			return h.build(blockSpec{txs: []*wire.Tx{tx}})
		}},
		{RuleWrongChainID, func(h *harness) *wire.Block {
			tx := h.transfer(h.alice, h.bob, 1, 0, 0)
			tx.ChainID = testChainID + 1
			return h.build(blockSpec{txs: []*wire.Tx{resign(h, tx, h.alice)}})
		}},
		{RuleBadTxNonce, func(h *harness) *wire.Block {
			return h.build(blockSpec{txs: []*wire.Tx{h.transfer(h.alice, h.bob, 1, 0, 1)}})
		}},
		{RuleInsufficientBalance, func(h *harness) *wire.Block {
			return h.build(blockSpec{txs: []*wire.Tx{h.transfer(h.alice, h.bob, 1_000_000, 1, 0)}})
		}},
		{RuleAmountOverflow, func(h *harness) *wire.Block {
			// bob holds MaxUint64 (see the genesis below): paying him the coinbase overflows.
			return h.build(blockSpec{miner: h.bob})
		}},
		{RuleZeroAmount, func(h *harness) *wire.Block {
			return h.build(blockSpec{txs: []*wire.Tx{h.transfer(h.alice, h.bob, 0, 1, 0)}})
		}},
		{RuleSelfTransfer, func(h *harness) *wire.Block {
			return h.build(blockSpec{txs: []*wire.Tx{h.transfer(h.alice, h.alice, 1, 0, 0)}})
		}},
		{RuleBadGenesis, func(h *harness) *wire.Block {
			return h.build(blockSpec{after: func(b *wire.Block) { b.Header.PrevHash = wire.ZeroHash }})
		}},
	}
	for _, tc := range cases {
		t.Run(string(tc.rule), func(t *testing.T) {
			h := newHarness(t, func(f *genesis.File) {
				if tc.rule == RuleAmountOverflow {
					f.Alloc = []genesis.Alloc{{Address: key(t, 3).Address(), Balance: math.MaxUint64}}
				}
			})
			before := h.c.Tip()
			_, err := h.process(tc.setup(h))
			if got := RuleOf(err); got != tc.rule {
				t.Fatalf("got rule %q (err %v), want %q", got, err, tc.rule)
			}
			if !errors.Is(err, &RuleError{Rule: tc.rule}) {
				t.Fatal("errors.Is does not match the rule")
			}
			if h.c.Tip().Hash != before.Hash {
				t.Fatal("tip moved after a rejected block")
			}
		})
	}
}

func TestInvalidAncestor(t *testing.T) {
	h := newHarness(t)
	bad := h.build(blockSpec{coinbase: wire.NewCoinbase(testChainID, h.miner.AccountAddress(), 1, 1, h.miner.Public)})
	if _, err := h.process(bad); RuleOf(err) != RuleBadCoinbaseAmount {
		t.Fatalf("bad block: %v", err)
	}
	// Re-sending the same block is refused without re-validation.
	if _, err := h.process(bad); RuleOf(err) != RuleInvalidAncestor {
		t.Fatalf("resent bad block: %v", err)
	}
	// A child of the invalid block cannot be built through the harness (unknown parent is
	// invalid); build it by hand.
	child := &wire.Block{Header: wire.Header{Version: 1, PrevHash: bad.Hash(), Timestamp: bad.Header.Timestamp + 10, Bits: bad.Header.Bits},
		Txs: []*wire.Tx{wire.NewCoinbase(testChainID, h.miner.AccountAddress(), h.params.Reward(2), 2, h.miner.Public)}}
	child.Header.MerkleRoot = child.ComputeMerkleRoot()
	grind(t, child, h.params)
	child.SignBlock(h.miner.Private)
	if _, err := h.process(child); RuleOf(err) != RuleInvalidAncestor {
		t.Fatalf("child of invalid block: %v", err)
	}
	// The mark survives a restart.
	h.reopen()
	if _, err := h.process(bad); RuleOf(err) != RuleInvalidAncestor {
		t.Fatalf("after reopen: %v", err)
	}
}
