package chain

import (
	"bytes"
	"context"
	"errors"
	"math/big"
	"testing"

	"github.com/chainnet/chainnet/internal/genesis"
	"github.com/chainnet/chainnet/internal/governance"
	"github.com/chainnet/chainnet/internal/keys"
	"github.com/chainnet/chainnet/internal/wire"
)

// consortium is a harness on a consortium of three organizations: orgN has admin key(10+N), a
// validator key(20+N) and miner key(30+N), except org1 whose miner is the harness miner (key 1).
type consortium struct {
	*harness
	admins map[string]*keys.Key
	miners map[string]*keys.Key
}

func newConsortium(t *testing.T, policy *governance.Policy) *consortium {
	c := &consortium{admins: map[string]*keys.Key{}, miners: map[string]*keys.Key{}}
	var orgs []governance.Organization
	for i, name := range []string{"org1", "org2", "org3"} {
		n := byte(i + 1)
		c.admins[name] = key(t, 10+n)
		c.miners[name] = key(t, 30+n)
		if n == 1 {
			c.miners[name] = key(t, 1)
		}
		orgs = append(orgs, governance.Organization{Name: name, AdminKey: governance.Key(c.admins[name].Public),
			Validators: []governance.Key{governance.Key(key(t, 20+n).Public)},
			Miners:     []governance.Key{governance.Key(c.miners[name].Public)}})
	}
	c.harness = newHarness(t, func(f *genesis.File) {
		f.Membership = genesis.Consortium
		f.Organizations = orgs
		f.Governance = policy
	})
	return c
}

func (c *consortium) gov(org string, nonce uint64, a *governance.Action) *wire.Tx {
	return c.govTx(c.admins[org], nonce, a)
}

// TestMinerJudgedByMembershipAtParent: a block signed by a key no member lists is invalid for
// good (a property of the block and its parent, not of this node), while a member's is valid.
func TestMinerJudgedByMembershipAtParent(t *testing.T) {
	c := newConsortium(t, nil)
	outsider := key(t, 9)
	bad := c.build(blockSpec{miner: outsider})
	if _, err := c.process(bad); RuleOf(err) != RuleMinerNotPermitted {
		t.Fatalf("outsider's block: %v", err)
	}
	if _, err := c.process(bad); RuleOf(err) != RuleInvalidAncestor {
		t.Fatalf("outsider's block again: %v (a deterministic refusal is remembered)", err)
	}
	c.mustConnect(c.build(blockSpec{miner: c.miners["org2"]}))
	if !c.c.MinerAllowed([32]byte(c.miners["org3"].Public)) || c.c.MinerAllowed([32]byte(outsider.Public)) {
		t.Fatal("MinerAllowed disagrees with the membership")
	}
}

// TestRemovedOrgHistoryStaysValid: org2 mines, is removed by org1's and org3's votes, and its
// next block is refused; a node syncing the same blocks from genesis accepts org2's blocks from
// before its removal and ends in the same membership.
func TestRemovedOrgHistoryStaysValid(t *testing.T) {
	c := newConsortium(t, nil)
	var history []*wire.Block
	connect := func(b *wire.Block) {
		t.Helper()
		c.mustConnect(b)
		history = append(history, b)
	}
	connect(c.build(blockSpec{miner: c.miners["org2"]}))
	connect(c.build(blockSpec{miner: c.miners["org2"]}))
	propose := c.gov("org1", 0, governance.ProposeRemoveOrg("org2"))
	connect(c.build(blockSpec{txs: []*wire.Tx{propose}}))
	if _, ok := c.c.Membership().Org("org2"); !ok {
		t.Fatal("one approval of three removed org2")
	}
	// Still a member: org2's block one approval short of its removal is valid.
	connect(c.build(blockSpec{miner: c.miners["org2"]}))
	approve := c.gov("org3", 0, governance.Approve(propose.ID()))
	connect(c.build(blockSpec{txs: []*wire.Tx{approve}}))
	if _, ok := c.c.Membership().Org("org2"); ok {
		t.Fatal("org2 still a member after two approvals of three")
	}
	if _, err := c.process(c.build(blockSpec{miner: c.miners["org2"]})); RuleOf(err) != RuleMinerNotPermitted {
		t.Fatalf("removed org2's block after its removal: %v", err)
	}
	connect(c.build(blockSpec{miner: c.miners["org3"]}))

	// A node syncing from genesis.
	late := newConsortium(t, nil)
	for i, b := range history {
		if res, err := late.process(b); err != nil || res.Status != StatusConnected {
			t.Fatalf("late joiner, block %d: %v %v", i+1, res.Status, err)
		}
	}
	if late.c.Tip().Hash != c.c.Tip().Hash {
		t.Fatal("late joiner ended on another tip")
	}
	if !bytes.Equal(late.c.Membership().Encode(), c.c.Membership().Encode()) {
		t.Fatal("late joiner derived another membership")
	}
}

// TestReorgUndoesMembershipChange: org4 is admitted on branch A; branch B, with more work and no
// such change, replaces it and org4 is out again; the membership listener hears both.
func TestReorgUndoesMembershipChange(t *testing.T) {
	c := newConsortium(t, &governance.Policy{Threshold: "1"})
	var heard []uint64
	c.c.OnMembershipChange(func(s *governance.State) { heard = append(heard, s.Seq) })
	fork := c.extend(1)[0].Hash()
	org4 := governance.Organization{Name: "org4", AdminKey: governance.Key(key(t, 14).Public),
		Validators: []governance.Key{governance.Key(key(t, 24).Public)}, Miners: []governance.Key{governance.Key(key(t, 34).Public)}}
	c.mustConnect(c.build(blockSpec{txs: []*wire.Tx{c.gov("org1", 0, governance.ProposeAddOrg(org4))}}))
	if _, ok := c.c.Membership().Org("org4"); !ok {
		t.Fatal("org4 not admitted with a threshold of 1")
	}
	c.mustConnect(c.build(blockSpec{miner: key(t, 34)})) // org4 mines on branch A
	b1 := c.build(blockSpec{parent: fork, miner: c.miners["org2"]})
	c.process(b1)
	b2 := c.build(blockSpec{parent: b1.Hash(), miner: c.miners["org2"]})
	c.process(b2)
	b3 := c.build(blockSpec{parent: b2.Hash(), miner: c.miners["org2"]})
	if res := c.mustConnect(b3); res.Reorg == nil {
		t.Fatal("no reorganisation")
	}
	if _, ok := c.c.Membership().Org("org4"); ok {
		t.Fatal("the reorganisation did not undo org4's admission")
	}
	if c.c.MinerAllowed([32]byte(key(t, 34).Public)) {
		t.Fatal("org4's miner still allowed after the reorganisation")
	}
	c.reopen()
	if _, ok := c.c.Membership().Org("org4"); ok {
		t.Fatal("org4 back after a restart")
	}
	if len(heard) != 2 || heard[0] != 1 || heard[1] != 0 {
		t.Fatalf("membership listener heard seqs %v, want [1 0]", heard)
	}
}

func TestGovernanceRules(t *testing.T) {
	c := newConsortium(t, nil)
	bogus := wire.NewGovernance(testChainID, 0, 0, []byte{9, 9})
	bogus.Sign(c.admins["org1"])
	stranger := c.govTx(key(t, 9), 0, governance.ProposeRemoveOrg("org2"))
	propose := c.gov("org1", 0, governance.ProposeRemoveOrg("org2"))
	cases := []struct {
		name string
		txs  []*wire.Tx
		rule Rule
	}{
		{"malformed payload", []*wire.Tx{bogus}, RuleMalformedGovernance},
		{"not an admin", []*wire.Tx{stranger}, RuleGovernanceRefused},
		{"replayed nonce", []*wire.Tx{propose, c.gov("org1", 0, governance.ProposeRemoveOrg("org3"))}, RuleBadTxNonce},
		{"approval of an unknown proposal", []*wire.Tx{c.gov("org2", 0, governance.Approve(wire.DoubleSHA256([]byte("x"))))}, RuleGovernanceRefused},
	}
	var many []*wire.Tx
	for i := 0; i <= MaxGovernanceTxsPerBlock; i++ {
		many = append(many, c.gov("org1", uint64(i), governance.ProposeSetPolicy(governance.Policy{Threshold: "2"}.WithDefaults())))
	}
	cases = append(cases, struct {
		name string
		txs  []*wire.Tx
		rule Rule
	}{"too many", many, RuleTooManyGovernanceTxs})
	for _, tc := range cases {
		_, err := c.process(c.build(blockSpec{txs: tc.txs}))
		if RuleOf(err) != tc.rule {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.rule)
		}
	}
	if err := c.c.CheckGovernanceTx(stranger); RuleOf(err) != RuleGovernanceRefused {
		t.Errorf("CheckGovernanceTx of a stranger's tx: %v", err)
	}
	if err := c.c.CheckGovernanceTx(propose); err != nil {
		t.Errorf("CheckGovernanceTx of a valid proposal: %v", err)
	}

	public := newHarness(t)
	gt := public.govTx(public.alice, 0, governance.ProposeRemoveOrg("x"))
	if _, err := public.process(public.build(blockSpec{txs: []*wire.Tx{gt}})); RuleOf(err) != RuleGovernanceNotAllowed {
		t.Errorf("governance on a public network: %v", err)
	}
}

// TestFilterGovernance: a template keeps the governance transactions the next block would accept
// and drops a refused one with every later transaction of its sender.
func TestFilterGovernance(t *testing.T) {
	c := newConsortium(t, nil)
	ok := c.gov("org1", 0, governance.ProposeRemoveOrg("org2"))
	refused := c.gov("org2", 0, governance.Approve(wire.DoubleSHA256([]byte("x"))))
	after := c.gov("org2", 1, governance.ProposeRemoveOrg("org3"))
	got := c.c.FilterGovernance(1, []*wire.Tx{ok, refused, after})
	if len(got) != 1 || got[0] != ok {
		t.Fatalf("kept %d transactions, want only the valid proposal", len(got))
	}
	c.mustConnect(c.build(blockSpec{txs: got}))
}

// TestLargeBlockBadSignatureNamesTheRule: a block of more than 64 transfers is verified in
// parallel; one bad signature must still be reported with its rule (it was an errors.Join that
// RuleOf could not see through, so the block was refused with no rule and the sender went
// unpunished).
func TestLargeBlockBadSignatureNamesTheRule(t *testing.T) {
	h := newHarness(t)
	var txs []*wire.Tx
	for i := uint64(0); i < 100; i++ {
		txs = append(txs, h.transfer(h.alice, h.bob, 1, 0, i))
	}
	txs[80].Amount = 2 // no longer what alice signed
	_, err := h.process(h.build(blockSpec{txs: txs}))
	if RuleOf(err) != RuleBadTxSignature {
		t.Fatalf("got %v (rule %q), want %s", err, RuleOf(err), RuleBadTxSignature)
	}
	if RuleOf(errors.Join(errors.New("other"), err)) != RuleBadTxSignature {
		t.Fatal("RuleOf does not see through errors.Join")
	}
}

// TestRejectedBlockCostsNothingTheSecondTime: a block refused before it was stored is
// remembered by hash with its rule; a mutated body (the header of a valid block with other
// transactions) is not, so the real body is still accepted.
func TestRejectedBlockCostsNothingTheSecondTime(t *testing.T) {
	h := newHarness(t)
	bad := h.build(blockSpec{txs: []*wire.Tx{h.transfer(h.alice, h.alice, 1, 0, 0)}})
	if _, err := h.process(bad); RuleOf(err) != RuleSelfTransfer {
		t.Fatalf("first: %v", err)
	}
	checks := h.c.bodyChecks.Load()
	if _, err := h.process(bad); RuleOf(err) != RuleSelfTransfer {
		t.Fatalf("second: %v", err)
	}
	if h.c.bodyChecks.Load() != checks {
		t.Fatal("a resent invalid block was validated again")
	}

	good := h.build(blockSpec{txs: []*wire.Tx{h.transfer(h.alice, h.bob, 1, 0, 0)}})
	mutated := *good
	mutated.Txs = append([]*wire.Tx{}, good.Txs...)
	mutated.Txs[1] = h.transfer(h.alice, h.bob, 2, 0, 0)
	if _, err := h.process(&mutated); !IsMutation(err) {
		t.Fatalf("mutated body: %v", err)
	}
	resigned := *good
	resigned.SignBlock(key(t, 9).Private)
	if _, err := h.process(&resigned); !IsMutation(err) {
		t.Fatalf("re-signed block: %v", err)
	}
	h.mustConnect(good)
}

// TestUnrequestedBlocksMustBeatTheTip: blocks nobody asked for are kept only if they make the
// best chain; side-chain blocks with no more work and orphans are neither stored nor pooled, so
// a flood of cheap blocks costs no disk.
func TestUnrequestedBlocksMustBeatTheTip(t *testing.T) {
	h := newHarness(t)
	base := h.extend(3)
	indexed := func() int { h.c.mu.RLock(); defer h.c.mu.RUnlock(); return len(h.c.index) }
	before := indexed()
	for i := 0; i < 50; i++ {
		side := h.build(blockSpec{parent: base[1].Hash(), miner: key(t, byte(40+i%10)), timestamp: base[1].Header.Timestamp + uint64(11+i)})
		res, err := h.processUnrequested(side)
		if err != nil || res.Status != StatusNotStored {
			t.Fatalf("side block %d: %v %v", i, res.Status, err)
		}
	}
	orphanParent := h.build(blockSpec{})
	orphan := h.build(blockSpec{})
	orphan.Header.PrevHash = orphanParent.Hash()
	grind(t, orphan, h.params)
	orphan.SignBlock(h.miner.Private)
	if res, err := h.processUnrequested(orphan); err != nil || res.Status != StatusOrphan || res.OrphanRoot != orphanParent.Hash() {
		t.Fatalf("unrequested orphan: %v %v", res.Status, err)
	}
	if indexed() != before || h.c.OrphanCount() != 0 {
		t.Fatalf("index %d → %d blocks, %d orphans: unrequested low-work blocks were kept", before, indexed(), h.c.OrphanCount())
	}
	// A requested side-chain block (a body of a header chain being downloaded) is stored.
	side := h.build(blockSpec{parent: base[1].Hash(), miner: key(t, 50)})
	if res, err := h.process(side); err != nil || res.Status != StatusSideChain {
		t.Fatalf("requested side block: %v %v", res.Status, err)
	}
	// An unrequested block that extends the tip is connected.
	if res, err := h.processUnrequested(h.build(blockSpec{})); err != nil || res.Status != StatusConnected {
		t.Fatalf("unrequested new tip: %v %v", res.Status, err)
	}
}

func TestMinChainWork(t *testing.T) {
	h := newHarness(t)
	h.c.minChainWork.Lsh(h.c.Tip().TotalWork, 4) // far above what one block adds
	b := h.build(blockSpec{})
	if res, err := h.processUnrequested(b); err != nil || res.Status != StatusNotStored {
		t.Fatalf("below the minimum chain work: %v %v", res.Status, err)
	}
	if h.c.WorthDownloading(new(big.Int).Add(h.c.Tip().TotalWork, big.NewInt(1))) {
		t.Fatal("a chain below the minimum chain work is worth downloading")
	}
	if res, err := h.c.ProcessBlock(context.Background(), b); err != nil || res.Status != StatusConnected {
		t.Fatalf("requested: %v %v", res.Status, err)
	}
}
