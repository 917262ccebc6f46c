package governance

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/chainnet/chainnet/internal/wire"
)

func key(label string) Key { return Key(wire.DoubleSHA256([]byte(label))) }

func org(name string) Organization {
	return Organization{Name: name, AdminKey: key(name + "/admin"), Validators: []Key{key(name + "/v0")},
		Miners: []Key{key(name + "/m0")}}
}

func admin(name string) Key { return key(name + "/admin") }

func txid(n int) wire.Hash { return wire.DoubleSHA256([]byte(fmt.Sprintf("tx-%d", n))) }

func genesisState(t *testing.T, p Policy, names ...string) *State {
	t.Helper()
	var orgs []Organization
	for _, n := range names {
		orgs = append(orgs, org(n))
	}
	s, err := Genesis(p.WithDefaults(), orgs)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustApply(t *testing.T, s *State, id wire.Hash, signer Key, a *Action, h uint64) {
	t.Helper()
	if err := s.Apply(id, signer, a, h); err != nil {
		t.Fatalf("apply %s: %v", a, err)
	}
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var ge *Error
	if !errors.As(err, &ge) || ge.Code != code {
		t.Fatalf("got %v, want code %s", err, code)
	}
}

func TestThresholdNeeded(t *testing.T) {
	cases := []struct {
		t       Threshold
		members int
		want    int
	}{
		{ThresholdMajority, 1, 1}, {ThresholdMajority, 2, 2}, {ThresholdMajority, 3, 2}, {ThresholdMajority, 4, 3},
		{ThresholdAll, 3, 3}, {"2", 5, 2}, {"4", 3, 3}, {"1", 3, 1},
	}
	for _, c := range cases {
		if got := c.t.Needed(c.members); got != c.want {
			t.Errorf("%s of %d: %d, want %d", c.t, c.members, got, c.want)
		}
	}
}

// TestProposalLifecycle: with three organizations and a majority policy, an add-org proposal
// counts its proposer, stays open one approval short, takes effect with the second approval, and
// the next proposal needs three of four.
func TestProposalLifecycle(t *testing.T) {
	s := genesisState(t, Policy{}, "org1", "org2", "org3")
	before := s.Encode()
	mustApply(t, s, txid(1), admin("org1"), ProposeAddOrg(org("org4")), 5)
	if _, ok := s.Org("org4"); ok {
		t.Fatal("one approval of three admitted org4")
	}
	if s.Seq != 0 || len(s.Proposals) != 1 || s.Proposals[0].ExpiresAt != 5+DefaultPolicy().ProposalTTLBlocks {
		t.Fatalf("proposal not recorded as open: %+v", s.Proposals)
	}
	if s.MinerAllowed(key("org4/m0")) {
		t.Fatal("an open proposal's miner key is allowed")
	}
	wantCode(t, s.Apply(txid(2), admin("org1"), Approve(txid(1)), 6), CodeAlreadyApproved)
	mustApply(t, s, txid(3), admin("org2"), Approve(txid(1)), 7)
	if _, ok := s.Org("org4"); !ok || !s.MinerAllowed(key("org4/m0")) || s.Seq != 1 || len(s.Proposals) != 0 {
		t.Fatalf("second approval did not admit org4: seq %d, proposals %d", s.Seq, len(s.Proposals))
	}
	if m, ok := s.Node(key("org4/v0")); !ok || m.Org != "org4" || m.Role != RoleValidator {
		t.Fatalf("org4's validator: %+v %v", m, ok)
	}
	// Four members: a majority is three.
	mustApply(t, s, txid(4), admin("org4"), ProposeRemoveOrg("org3"), 8)
	mustApply(t, s, txid(5), admin("org1"), Approve(txid(4)), 8)
	if _, ok := s.Org("org3"); !ok {
		t.Fatal("two approvals of four removed org3")
	}
	mustApply(t, s, txid(6), admin("org2"), Approve(txid(4)), 9)
	if _, ok := s.Org("org3"); ok || s.MinerAllowed(key("org3/m0")) {
		t.Fatal("three approvals of four did not remove org3")
	}
	wantCode(t, s.Apply(txid(7), admin("org3"), Approve(txid(1)), 10), CodeNotAdmin)
	if bytes.Equal(before, s.Encode()) {
		t.Fatal("state encoding did not change")
	}
}

func TestForgedAndStaleApprovalsRefused(t *testing.T) {
	s := genesisState(t, Policy{}, "org1", "org2", "org3")
	mustApply(t, s, txid(1), admin("org1"), ProposeAddOrg(org("org4")), 1)
	// A key that is no organization's admin (a miner key, a node key, a stranger).
	for _, k := range []Key{key("org2/m0"), key("org2/v0"), key("stranger")} {
		wantCode(t, s.Apply(txid(2), k, Approve(txid(1)), 2), CodeNotAdmin)
	}
	wantCode(t, s.Apply(txid(3), admin("org2"), Approve(txid(99)), 2), CodeUnknownProposal)
	// Expired proposals cannot be approved.
	s.BeginBlock(1 + DefaultPolicy().ProposalTTLBlocks + 1)
	wantCode(t, s.Apply(txid(4), admin("org2"), Approve(txid(1)), 1+DefaultPolicy().ProposalTTLBlocks+1), CodeUnknownProposal)
}

func TestExpiryAtTTL(t *testing.T) {
	s := genesisState(t, Policy{ProposalTTLBlocks: 10}, "org1", "org2", "org3")
	mustApply(t, s, txid(1), admin("org1"), ProposeRemoveOrg("org3"), 100)
	s.BeginBlock(110)
	if len(s.Proposals) != 1 {
		t.Fatal("expired one block early")
	}
	s.BeginBlock(111)
	if len(s.Proposals) != 0 {
		t.Fatal("did not expire after its TTL")
	}
}

func TestActivationDelay(t *testing.T) {
	s := genesisState(t, Policy{ActivationDelayBlocks: 3}, "org1", "org2")
	mustApply(t, s, txid(1), admin("org1"), ProposeAddOrg(org("org3")), 10)
	mustApply(t, s, txid(2), admin("org2"), Approve(txid(1)), 11)
	if _, ok := s.Org("org3"); ok {
		t.Fatal("took effect before its activation height")
	}
	if p, ok := s.Proposal(txid(1)); !ok || p.EffectiveAt != 14 {
		t.Fatalf("scheduled: %+v %v", p, ok)
	}
	s.EndBlock(13)
	if _, ok := s.Org("org3"); ok {
		t.Fatal("took effect one block early")
	}
	s.EndBlock(14)
	if _, ok := s.Org("org3"); !ok {
		t.Fatal("did not take effect at its activation height")
	}
}

// TestRemovalMidVoteMovesThreshold: approvals of an organization removed mid-vote stop counting,
// and a threshold lowered by a removal decides proposals that now have enough approvals.
func TestRemovalMidVoteMovesThreshold(t *testing.T) {
	s := genesisState(t, Policy{Threshold: ThresholdAll}, "org1", "org2", "org3")
	mustApply(t, s, txid(1), admin("org1"), ProposeAddOrg(org("org4")), 1)
	mustApply(t, s, txid(2), admin("org2"), Approve(txid(1)), 1)
	// org3 is removed (all three agree, org3 included), org4's proposal then has all of the two left.
	mustApply(t, s, txid(3), admin("org3"), ProposeRemoveOrg("org3"), 2)
	mustApply(t, s, txid(4), admin("org1"), Approve(txid(3)), 2)
	if _, ok := s.Org("org4"); ok {
		t.Fatal("org4 admitted before org3's removal")
	}
	mustApply(t, s, txid(5), admin("org2"), Approve(txid(3)), 3)
	if _, ok := s.Org("org3"); ok {
		t.Fatal("org3 not removed")
	}
	if _, ok := s.Org("org4"); !ok {
		t.Fatal("a proposal approved by every remaining member was not decided when the threshold fell")
	}
}

func TestRemovedOrgApprovalsDoNotCountIfItRejoins(t *testing.T) {
	s := genesisState(t, Policy{Threshold: ThresholdAll}, "org1", "org2", "org3")
	mustApply(t, s, txid(1), admin("org1"), ProposeSetPolicy(DefaultPolicy()), 1) // majority
	mustApply(t, s, txid(2), admin("org3"), Approve(txid(1)), 1)
	mustApply(t, s, txid(3), admin("org1"), ProposeRemoveOrg("org3"), 2)
	mustApply(t, s, txid(4), admin("org2"), Approve(txid(3)), 2)
	mustApply(t, s, txid(5), admin("org3"), Approve(txid(3)), 2)
	p, ok := s.Proposal(txid(1))
	if !ok || slices.Contains(p.Approvals, "org3") {
		t.Fatalf("removed org3's approval kept: %+v", p)
	}
}

func TestOrganizationManagesItsOwnKeys(t *testing.T) {
	s := genesisState(t, Policy{MaxMinersPerOrg: 2}, "org1", "org2")
	seq := s.Seq
	// Rotation: the old miner key out, a new one in, one transaction, no vote.
	mustApply(t, s, txid(1), admin("org1"), UpdateOrg(OrgUpdate{RemoveMiners: []Key{key("org1/m0")}, AddMiners: []Key{key("org1/m1")}}), 5)
	if s.MinerAllowed(key("org1/m0")) || !s.MinerAllowed(key("org1/m1")) || s.Seq != seq+1 {
		t.Fatal("rotation did not take effect")
	}
	wantCode(t, s.Apply(txid(2), admin("org1"), UpdateOrg(OrgUpdate{AddMiners: []Key{key("a"), key("b")}}), 5), CodeInvalid) // over the limit
	wantCode(t, s.Apply(txid(3), admin("org1"), UpdateOrg(OrgUpdate{AddMiners: []Key{key("org2/m0")}}), 5), CodeConflict)
	wantCode(t, s.Apply(txid(4), admin("org1"), UpdateOrg(OrgUpdate{RemoveMiners: []Key{key("org2/m0")}}), 5), CodeInvalid)
	wantCode(t, s.Apply(txid(5), admin("org1"), UpdateOrg(OrgUpdate{AddValidators: []Key{key("org2/v0")}}), 5), CodeConflict)
	wantCode(t, s.Apply(txid(6), admin("org1"), UpdateOrg(OrgUpdate{RemoveMiners: []Key{key("org1/m1")}}), 5), CodeInvalid) // validators but no miner
	wantCode(t, s.Apply(txid(7), admin("org1"), UpdateOrg(OrgUpdate{}), 5), CodeInvalid)
	newAdmin := key("org1/admin2")
	mustApply(t, s, txid(8), admin("org1"), UpdateOrg(OrgUpdate{NewAdminKey: &newAdmin}), 6)
	wantCode(t, s.Apply(txid(9), admin("org1"), ProposeRemoveOrg("org2"), 7), CodeNotAdmin)
	mustApply(t, s, txid(10), newAdmin, ProposeRemoveOrg("org2"), 7)
}

func TestProposalLimitsAndConflicts(t *testing.T) {
	s := genesisState(t, Policy{MaxProposalsPerOrg: 2}, "org1", "org2", "org3")
	mustApply(t, s, txid(1), admin("org1"), ProposeAddOrg(org("org4")), 1)
	wantCode(t, s.Apply(txid(2), admin("org2"), ProposeAddOrg(org("org4")), 1), CodeConflict)
	mustApply(t, s, txid(3), admin("org1"), ProposeAddOrg(org("org5")), 1)
	wantCode(t, s.Apply(txid(4), admin("org1"), ProposeAddOrg(org("org6")), 1), CodeLimit)
	wantCode(t, s.Apply(txid(5), admin("org2"), ProposeAddOrg(org("org1")), 1), CodeConflict)
	bad := org("org7")
	bad.Miners = append(bad.Miners, key("org1/m0"))
	wantCode(t, s.Apply(txid(6), admin("org2"), ProposeAddOrg(bad), 1), CodeConflict)
	wantCode(t, s.Apply(txid(7), admin("org2"), ProposeRemoveOrg("nobody"), 1), CodeInvalid)
	one := genesisState(t, Policy{}, "solo")
	wantCode(t, one.Apply(txid(8), admin("solo"), ProposeRemoveOrg("solo"), 1), CodeInvalid)
}

// TestReplayIsDeterministic drives random governance histories twice from genesis and checks the
// two runs end in byte-identical states, and that every intermediate state survives an
// encode/decode round trip (what the chain stores is what it reads back).
func TestReplayIsDeterministic(t *testing.T) {
	for seed := uint64(0); seed < 20; seed++ {
		a := randomHistory(t, seed)
		b := randomHistory(t, seed)
		if !bytes.Equal(a.Encode(), b.Encode()) {
			t.Fatalf("seed %d: two replays of the same history differ", seed)
		}
	}
}

func randomHistory(t *testing.T, seed uint64) *State {
	rng := rand.New(rand.NewPCG(seed, 7))
	s := genesisState(t, Policy{ProposalTTLBlocks: 20, ActivationDelayBlocks: seed % 3}, "org1", "org2", "org3")
	names := []string{"org1", "org2", "org3", "org4", "org5", "org6"}
	n := 0
	for h := uint64(1); h < 200; h++ {
		s.BeginBlock(h)
		for k := rng.IntN(3); k > 0; k-- {
			n++
			signer := admin(names[rng.IntN(len(names))])
			var a *Action
			switch rng.IntN(4) {
			case 0:
				a = ProposeAddOrg(org(names[rng.IntN(len(names))]))
			case 1:
				a = ProposeRemoveOrg(names[rng.IntN(len(names))])
			case 2:
				if len(s.Proposals) == 0 {
					continue
				}
				a = Approve(s.Proposals[rng.IntN(len(s.Proposals))].ID)
			case 3:
				a = UpdateOrg(OrgUpdate{AddObservers: []Key{key(fmt.Sprintf("obs-%d", n))}})
			}
			next := s.Clone()
			if err := next.Apply(txid(n), signer, a, h); err == nil {
				s = next
			}
		}
		s.EndBlock(h)
		back, err := DecodeState(s.Encode())
		if err != nil {
			t.Fatalf("seed %d height %d: %v", seed, h, err)
		}
		if !bytes.Equal(back.Encode(), s.Encode()) {
			t.Fatalf("seed %d height %d: round trip changed the state", seed, h)
		}
	}
	return s
}

func TestActionEncodingIsCanonical(t *testing.T) {
	p := DefaultPolicy()
	nk := key("n")
	actions := []*Action{ProposeAddOrg(org("org9")), ProposeRemoveOrg("org2"), ProposeSetPolicy(p), Approve(txid(3)),
		UpdateOrg(OrgUpdate{AddValidators: []Key{key("x")}, RemoveMiners: []Key{key("y")}, NewAdminKey: &nk})}
	for _, a := range actions {
		enc := a.Encode()
		got, err := DecodeAction(enc)
		if err != nil {
			t.Fatalf("%s: %v", a, err)
		}
		if !bytes.Equal(got.Encode(), enc) {
			t.Fatalf("%s: round trip changed the encoding", a)
		}
		if _, err := DecodeAction(append(enc, 0)); !errors.Is(err, ErrMalformed) {
			t.Fatalf("%s with a trailing byte: %v", a, err)
		}
		if _, err := DecodeAction(enc[:len(enc)-1]); !errors.Is(err, ErrMalformed) {
			t.Fatalf("%s truncated: %v", a, err)
		}
	}
	if _, err := DecodeAction([]byte{9}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("unknown type: %v", err)
	}
}

func TestGenesisValidation(t *testing.T) {
	dup := org("b")
	dup.Miners = []Key{key("a/m0")}
	noMiner := org("c")
	noMiner.Miners = nil
	badName := org("Bad_Name")
	cases := map[string][]Organization{
		"none":           nil,
		"duplicate name": {org("a"), org("a")},
		"shared miner":   {org("a"), dup},
		"no miner key":   {noMiner},
		"bad name":       {badName},
	}
	for name, orgs := range cases {
		if _, err := Genesis(DefaultPolicy(), orgs); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := Genesis(Policy{Threshold: "0"}.WithDefaults(), []Organization{org("a")}); err == nil {
		t.Error("threshold 0 accepted")
	}
}
