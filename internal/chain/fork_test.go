package chain

import (
	"errors"
	"testing"

	"github.com/chainnet/chainnet/internal/genesis"
	"github.com/chainnet/chainnet/internal/wire"
)

func TestTransfersUpdateState(t *testing.T) {
	h := newHarness(t)
	tx := h.transfer(h.alice, h.bob, 500, 7, 0)
	h.mustConnect(h.build(blockSpec{txs: []*wire.Tx{tx}}))
	if a := h.account(h.alice); a.Balance != 1_000_000-507 || a.Nonce != 1 {
		t.Fatalf("alice = %+v", a)
	}
	if b := h.account(h.bob); b.Balance != 500 || b.Nonce != 0 {
		t.Fatalf("bob = %+v", b)
	}
	if m := h.account(h.miner); m.Balance != h.params.Reward(1)+7 {
		t.Fatalf("miner = %+v, want reward + fee", m)
	}
	got, loc, err := h.c.Tx(tx.ID())
	if err != nil || got.ID() != tx.ID() || loc.Height != 1 || loc.Index != 1 {
		t.Fatalf("Tx lookup: %v %+v", err, loc)
	}
	// Replaying the same transaction in a later block breaks the nonce rule.
	if _, err := h.process(h.build(blockSpec{txs: []*wire.Tx{tx}})); RuleOf(err) != RuleBadTxNonce {
		t.Fatalf("replay: %v", err)
	}
}

func TestHalving(t *testing.T) {
	h := newHarness(t, func(f *genesis.File) { f.Consensus.HalvingInterval = 2 })
	h.extend(4)
	// Rewards at heights 1..4 with halving every 2: 1000 (h1), 500 (h2,h3), 250 (h4).
	if got := h.account(h.miner).Balance; got != 1000+500+500+250 {
		t.Fatalf("miner balance %d", got)
	}
}

// TestReorgToMoreWork builds a fork that overtakes the best chain and checks that state follows
// the new branch, the undone transactions leave the index, and listeners hear the switch in order.
func TestReorgToMoreWork(t *testing.T) {
	h := newHarness(t)
	base := h.extend(2)
	forkPoint := base[1].Hash()
	tx := h.transfer(h.alice, h.bob, 100, 1, 0)
	a1 := h.build(blockSpec{txs: []*wire.Tx{tx}})
	h.mustConnect(a1)
	a2 := h.build(blockSpec{})
	h.mustConnect(a2)
	if h.account(h.bob).Balance != 100 {
		t.Fatal("transfer not applied on branch A")
	}

	// Branch B from the fork point, mined by another key, without the transfer.
	other := key(t, 5)
	b1 := h.build(blockSpec{parent: forkPoint, miner: other})
	if res, err := h.process(b1); err != nil || res.Status != StatusSideChain {
		t.Fatalf("b1: %v %v", res.Status, err)
	}
	b2 := h.build(blockSpec{parent: b1.Hash(), miner: other})
	if res, err := h.process(b2); err != nil || res.Status != StatusSideChain {
		t.Fatalf("b2 (equal work keeps first seen): %v %v", res.Status, err)
	}
	h.events = nil
	b3 := h.build(blockSpec{parent: b2.Hash(), miner: other})
	res := h.mustConnect(b3)
	if res.Reorg == nil || res.Reorg.Depth != 2 || len(res.Connected) != 3 {
		t.Fatalf("reorg = %+v, connected %d", res.Reorg, len(res.Connected))
	}
	want := []string{"-" + a2.Hash().String()[:8], "-" + a1.Hash().String()[:8],
		"+" + b1.Hash().String()[:8], "+" + b2.Hash().String()[:8], "+" + b3.Hash().String()[:8]}
	if len(h.events) != len(want) {
		t.Fatalf("events %v, want %v", h.events, want)
	}
	for i := range want {
		if h.events[i] != want[i] {
			t.Fatalf("events %v, want %v", h.events, want)
		}
	}
	if h.account(h.bob).Balance != 0 || h.account(h.alice).Nonce != 0 {
		t.Fatal("state of branch A survived the reorg")
	}
	if h.account(h.miner).Balance != 2*h.params.Reward(1) {
		t.Fatalf("miner keeps %d, want only the two shared blocks' rewards", h.account(h.miner).Balance)
	}
	if _, _, err := h.c.Tx(tx.ID()); !errors.Is(err, ErrNotFound) {
		t.Fatalf("disconnected tx still indexed: %v", err)
	}
	if tip := h.c.Tip(); tip.Hash != b3.Hash() || tip.Height != 5 {
		t.Fatalf("tip %s at %d", tip.Hash, tip.Height)
	}
	if blk, _ := h.c.BlockByHeight(3); blk.Hash() != b1.Hash() {
		t.Fatal("height index not switched")
	}
	// The old branch's transaction is valid again on the new branch.
	h.mustConnect(h.build(blockSpec{txs: []*wire.Tx{tx}}))

	// Everything survives a restart.
	tip := h.c.Tip()
	h.reopen()
	if got := h.c.Tip(); got.Hash != tip.Hash || got.TotalWork.Cmp(tip.TotalWork) != 0 {
		t.Fatal("tip changed across reopen")
	}
	if h.account(h.bob).Balance != 100 {
		t.Fatal("state changed across reopen")
	}
}

// TestReorgToInvalidBranchRollsBack: a heavier branch containing a block that breaks a state rule
// leaves the best chain and state untouched, and the branch is remembered as invalid.
func TestReorgToInvalidBranchRollsBack(t *testing.T) {
	h := newHarness(t)
	h.extend(1)
	fork := h.c.Tip().Hash
	a1 := h.build(blockSpec{txs: []*wire.Tx{h.transfer(h.alice, h.bob, 10, 0, 0)}})
	h.mustConnect(a1)
	// Branch B: b1 spends more than alice has — valid in isolation (sanity passes), invalid against state.
	b1 := h.build(blockSpec{parent: fork, txs: []*wire.Tx{h.transfer(h.alice, h.bob, 5_000_000, 0, 0)}})
	if res, err := h.process(b1); err != nil || res.Status != StatusSideChain {
		t.Fatalf("b1: %v %v", res.Status, err)
	}
	b2 := h.build(blockSpec{parent: b1.Hash()})
	_, err := h.process(b2)
	if RuleOf(err) != RuleInsufficientBalance {
		t.Fatalf("reorg onto invalid branch: %v", err)
	}
	if h.c.Tip().Hash != a1.Hash() || h.account(h.bob).Balance != 10 {
		t.Fatal("failed reorg changed the chain or state")
	}
	b3 := h.build(blockSpec{parent: b2.Hash()})
	if _, err := h.process(b3); RuleOf(err) != RuleInvalidAncestor {
		t.Fatalf("block on invalid branch: %v", err)
	}
}

func TestOrphansConnectWhenParentArrives(t *testing.T) {
	h := newHarness(t)
	// Build three blocks on a scratch harness with the same genesis, then feed them in reverse.
	src := newHarness(t)
	blocks := src.extend(3)
	for i := 2; i >= 1; i-- {
		res, err := h.process(blocks[i])
		if err != nil || res.Status != StatusOrphan {
			t.Fatalf("block %d: %v %v", i, res.Status, err)
		}
		// The root is the oldest missing ancestor: blocks[i-1] (not yet received).
		if res.OrphanRoot != blocks[i-1].Hash() {
			t.Fatalf("orphan root %s, want %s", res.OrphanRoot, blocks[i-1].Hash())
		}
	}
	if h.c.OrphanCount() != 2 || !h.c.HaveBlock(blocks[2].Hash()) {
		t.Fatal("orphans not held")
	}
	if res, _ := h.process(blocks[2]); res.Status != StatusDuplicate {
		t.Fatal("resent orphan not a duplicate")
	}
	res := h.mustConnect(blocks[0])
	if len(res.Connected) != 3 || h.c.Tip().Hash != blocks[2].Hash() || h.c.OrphanCount() != 0 {
		t.Fatalf("connected %d, tip %s, orphans %d", len(res.Connected), h.c.Tip().Hash, h.c.OrphanCount())
	}
}

func TestOrphanPoolIsBounded(t *testing.T) {
	p := newOrphanPool(3)
	src := newHarness(t)
	blocks := src.extend(6)
	for _, b := range blocks[1:] {
		p.add(b)
	}
	if p.len() != 3 || p.has(blocks[1].Hash()) || !p.has(blocks[5].Hash()) {
		t.Fatalf("pool holds %d; oldest evicted: %v", p.len(), !p.has(blocks[1].Hash()))
	}
}

func TestReopenWrongGenesis(t *testing.T) {
	h := newHarness(t)
	h.extend(2)
	h.db.Close()
	h.file.ChainID++
	params, _ := h.file.Params()
	db, err := openStore(t, h.dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := New(db, params, Options{}); !errors.Is(err, ErrWrongNetwork) {
		t.Fatalf("other genesis: %v", err)
	}
}

func TestHeadersAndLocator(t *testing.T) {
	h := newHarness(t)
	h.extend(30)
	loc := h.c.BlockLocator()
	if loc[0] != h.c.Tip().Hash || loc[len(loc)-1] != h.params.GenesisHash {
		t.Fatal("locator must run from tip to genesis")
	}
	if len(loc) > 20 {
		t.Fatalf("locator has %d entries for 31 blocks", len(loc))
	}
	// A peer at height 10 asks for headers.
	b10, _ := h.c.BlockByHeight(10)
	hdrs := h.c.LocateHeaders([]wire.Hash{{1}, b10.Hash()}, wire.ZeroHash, 5)
	if len(hdrs) != 5 || hdrs[0].PrevHash != b10.Hash() {
		t.Fatalf("got %d headers", len(hdrs))
	}
	// Another node validates those headers against its own chain: work grows, a broken link fails.
	other := newHarness(t)
	all := h.c.LocateHeaders([]wire.Hash{h.params.GenesisHash}, wire.ZeroHash, 2000)
	if len(all) != 30 {
		t.Fatalf("want 30 headers, got %d", len(all))
	}
	work, err := other.c.ValidateHeaders(all)
	if err != nil || work.Cmp(h.c.Tip().TotalWork) != 0 {
		t.Fatalf("ValidateHeaders: %v, work %v want %v", err, work, h.c.Tip().TotalWork)
	}
	broken := append([]wire.Header(nil), all...)
	broken[5].Nonce++
	if _, err := other.c.ValidateHeaders(broken); err == nil {
		t.Fatal("broken header chain accepted")
	}
	if _, err := other.c.ValidateHeaders(all[1:]); !errors.Is(err, ErrUnknownParent) {
		t.Fatalf("unknown parent: %v", err)
	}
}

// TestHaltHeight: a node told to halt at height 2 connects blocks up to 2 and refuses the next
// with beyond-halt-height, without marking it invalid: reopened without the halt (the upgraded
// node), it takes the same block and the rest.
func TestHaltHeight(t *testing.T) {
	src := newHarness(t)
	blocks := src.extend(4)
	h := newHarness(t)
	h.halt = 2
	h.reopen()
	if h.c.HaltHeight() != 2 {
		t.Fatalf("HaltHeight %d", h.c.HaltHeight())
	}
	h.mustConnect(blocks[0])
	h.mustConnect(blocks[1])
	if _, err := h.process(blocks[2]); RuleOf(err) != RuleBeyondHaltHeight {
		t.Fatalf("block 3 past the halt: %v, want %s", err, RuleBeyondHaltHeight)
	}
	if h.c.Tip().Height != 2 {
		t.Fatalf("tip %d, want 2", h.c.Tip().Height)
	}
	h.halt = 0
	h.reopen()
	h.mustConnect(blocks[2])
	h.mustConnect(blocks[3])
	if h.c.Tip().Hash != blocks[3].Hash() {
		t.Fatal("the upgraded node did not go on past the halt")
	}
}
