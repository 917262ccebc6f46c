package chain

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/chainnet/chainnet/internal/governance"
	"github.com/chainnet/chainnet/internal/wire"
)

// TestProcessBlocksMatchesOneByOne: a node connecting a history in batches (across a membership
// change, with transfers) ends on the same tip, accounts and membership as the node that mined it
// one block at a time, and so does it after a reopen from the store; listeners hear every block in
// order.
func TestProcessBlocksMatchesOneByOne(t *testing.T) {
	src := newConsortium(t, nil)
	var history []*wire.Block
	connect := func(b *wire.Block) {
		t.Helper()
		src.mustConnect(b)
		history = append(history, b)
	}
	connect(src.build(blockSpec{miner: src.miners["org2"]}))
	propose := src.gov("org1", 0, governance.ProposeRemoveOrg("org2"))
	connect(src.build(blockSpec{txs: []*wire.Tx{propose}}))
	connect(src.build(blockSpec{txs: []*wire.Tx{src.transfer(src.alice, src.bob, 500, 1, 0)}}))
	connect(src.build(blockSpec{txs: []*wire.Tx{src.gov("org3", 0, governance.Approve(propose.ID()))}}))
	for range 20 {
		connect(src.build(blockSpec{miner: src.miners["org3"]}))
	}

	dst := newConsortium(t, nil)
	results, err := dst.c.ProcessBlocks(context.Background(), history)
	if err != nil || len(results) != len(history) {
		t.Fatalf("ProcessBlocks: %d results, err %v", len(results), err)
	}
	for i, r := range results {
		if r.Status != StatusConnected || r.Hash != history[i].Hash() || r.Height != uint64(i+1) {
			t.Fatalf("result %d: %+v", i, r)
		}
	}
	if n := dst.c.runCommits.Load(); n != 1 {
		t.Fatalf("%d store transactions for %d blocks, want one", n, len(history))
	}
	if len(dst.events) != len(history) {
		t.Fatalf("listeners heard %d blocks, want %d", len(dst.events), len(history))
	}
	same := func(when string) {
		t.Helper()
		if dst.c.Tip().Hash != src.c.Tip().Hash {
			t.Fatalf("%s: tip %s, want %s", when, dst.c.Tip().Hash, src.c.Tip().Hash)
		}
		if !bytes.Equal(dst.c.Membership().Encode(), src.c.Membership().Encode()) {
			t.Fatalf("%s: another membership", when)
		}
		if _, ok := dst.c.Membership().Org("org2"); ok {
			t.Fatalf("%s: org2 still a member", when)
		}
		if dst.account(dst.bob) != src.account(src.bob) || dst.account(dst.alice) != src.account(src.alice) {
			t.Fatalf("%s: accounts differ", when)
		}
	}
	same("after ProcessBlocks")
	dst.reopen()
	same("after reopen")
}

// TestProcessBlocksStopsAtInvalidBlock: the blocks before an invalid one are connected; the
// invalid one gets the verdict ProcessBlock gives it, and nothing after it is processed.
func TestProcessBlocksStopsAtInvalidBlock(t *testing.T) {
	src := newHarness(t)
	good := src.extend(5)
	// A block whose coinbase overpays: valid header and signatures, refused when connected.
	bad := src.build(blockSpec{coinbase: wire.NewCoinbase(testChainID, src.miner.AccountAddress(), 1_000_000, 6, src.miner.Public)})
	dst := newHarness(t)
	blocks := append(append([]*wire.Block{}, good...), bad, good[0])
	results, err := dst.c.ProcessBlocks(context.Background(), blocks)
	if RuleOf(err) != RuleBadCoinbaseAmount {
		t.Fatalf("err %v, want %s", err, RuleBadCoinbaseAmount)
	}
	if len(results) != len(good) || dst.c.Tip().Hash != good[len(good)-1].Hash() {
		t.Fatalf("%d results, tip %s", len(results), dst.c.Tip().Hash)
	}
	if _, err := dst.process(bad); RuleOf(err) != RuleInvalidAncestor {
		t.Fatalf("the refused block again: %v (its verdict was not recorded)", err)
	}
	dst.reopen()
	if dst.c.Tip().Hash != good[len(good)-1].Hash() {
		t.Fatal("the store's tip is not the last good block")
	}
}

// TestProcessBlocksTakesDuplicatesAndOrphans: known blocks and blocks whose parent is missing go
// the one-by-one way and get its statuses.
func TestProcessBlocksTakesDuplicatesAndOrphans(t *testing.T) {
	src := newHarness(t)
	blocks := src.extend(4)
	dst := newHarness(t)
	dst.mustConnect(blocks[0])
	results, err := dst.c.ProcessBlocks(context.Background(), []*wire.Block{blocks[0], blocks[3], blocks[1], blocks[2]})
	if err != nil {
		t.Fatal(err)
	}
	want := []Status{StatusDuplicate, StatusOrphan, StatusConnected, StatusConnected}
	for i, r := range results {
		if r.Status != want[i] {
			t.Fatalf("block %d: %v, want %v", i, r.Status, want[i])
		}
	}
	if dst.c.Tip().Hash != blocks[3].Hash() {
		t.Fatal("the orphan was not connected after its parent")
	}
}

// TestSignaturesVerifiedOnce: a transfer the mempool checked and a block body prechecked on
// arrival are not verified again when the block is connected, nor when a competing block
// carries the same transfer.
func TestSignaturesVerifiedOnce(t *testing.T) {
	h := newHarness(t)
	tx := h.transfer(h.alice, h.bob, 10, 1, 0)
	if err := h.c.CheckTransaction(tx); err != nil {
		t.Fatal(err)
	}
	b := h.build(blockSpec{txs: []*wire.Tx{tx}})
	if err := h.c.PrecheckBlock(b); err != nil {
		t.Fatal(err)
	}
	sigs := h.c.sigs
	hits, misses := sigs.Hits.Load(), sigs.Misses.Load()
	h.mustConnect(b)
	if got := sigs.Hits.Load() - hits; got != 2 {
		t.Errorf("connecting: %d cache hits, want 2 (the transfer and the miner's signature)", got)
	}
	if got := sigs.Misses.Load() - misses; got != 0 {
		t.Errorf("connecting: %d signatures verified again", got)
	}
	rival := h.build(blockSpec{parent: b.Header.PrevHash, txs: []*wire.Tx{tx}, timestamp: b.Header.Timestamp + 1})
	misses = sigs.Misses.Load()
	if _, err := h.process(rival); err != nil {
		t.Fatal(err)
	}
	if got := sigs.Misses.Load() - misses; got != 1 {
		t.Errorf("a competing block with the same transfer: %d signatures verified, want only its miner's", got)
	}
}

// TestForgedSignatureNotCached: a body whose transfer signature was altered is refused even
// though the genuine transaction (same sender, nonce and amounts) was verified before.
func TestForgedSignatureNotCached(t *testing.T) {
	h := newHarness(t)
	tx := h.transfer(h.alice, h.bob, 10, 1, 0)
	if err := h.c.CheckTransaction(tx); err != nil {
		t.Fatal(err)
	}
	forged := *tx
	forged.Signature[5] ^= 1
	b := h.build(blockSpec{txs: []*wire.Tx{&forged}})
	if _, err := h.process(b); RuleOf(err) != RuleBadTxSignature {
		t.Fatalf("forged signature: %v", err)
	}
}

// TestAccountReadsDoNotWaitForBlocks: an account read goes through while the chain's lock is
// held (as it is while a block is validated and committed).
func TestAccountReadsDoNotWaitForBlocks(t *testing.T) {
	h := newHarness(t)
	h.c.mu.Lock()
	read := make(chan Account, 1)
	go func() {
		a, _ := h.c.Account(h.alice.AccountAddress())
		read <- a
	}()
	select {
	case a := <-read:
		h.c.mu.Unlock()
		if a.Balance != 1_000_000 {
			t.Fatalf("alice %+v", a)
		}
	case <-time.After(10 * time.Second):
		h.c.mu.Unlock()
		t.Fatal("Account waited for the chain's lock")
	}
}
