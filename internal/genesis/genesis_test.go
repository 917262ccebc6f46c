package genesis

import (
	"errors"
	"strings"
	"testing"

	"github.com/chainnet/chainnet/internal/governance"
	"github.com/chainnet/chainnet/internal/keys"
)

func govKey(t *testing.T, seed byte) governance.Key {
	k, err := keys.FromSeed(append(make([]byte, 31), seed))
	if err != nil {
		t.Fatal(err)
	}
	return governance.Key(k.Public)
}

func founder(t *testing.T, name string, seed byte) governance.Organization {
	return governance.Organization{Name: name, AdminKey: govKey(t, seed), Validators: []governance.Key{govKey(t, seed+1)},
		Miners: []governance.Key{govKey(t, seed+2)}}
}

func validFile(t *testing.T) *File {
	t.Helper()
	k, _ := keys.Generate()
	return &File{
		NetworkID: "demo", ChainID: 7, Timestamp: 1_764_028_800, Membership: Consortium,
		Consensus:     DefaultConsensus(),
		Alloc:         []Alloc{{Address: k.Address(), Balance: 1000}},
		Organizations: []governance.Organization{founder(t, "org1", 10)},
	}
}

func TestRoundTripKeepsHash(t *testing.T) {
	f := validFile(t)
	h1, err := f.Hash()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := f.Marshal()
	g, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	h2, _ := g.Hash()
	if h1 != h2 {
		t.Fatal("hash changed after a JSON round trip")
	}
}

func TestEveryFieldChangesHash(t *testing.T) {

	mutations := map[string]func(*File){
		"networkId":  func(f *File) { f.NetworkID = "other" },
		"chainId":    func(f *File) { f.ChainID++ },
		"timestamp":  func(f *File) { f.Timestamp++ },
		"membership": func(f *File) { f.Membership = Private },
		"orgs":       func(f *File) { f.Organizations = append(f.Organizations, founder(t, "org2", 20)) },
		"admin":      func(f *File) { f.Organizations[0].AdminKey = govKey(t, 30) },
		"miner":      func(f *File) { f.Organizations[0].Miners = append(f.Organizations[0].Miners, govKey(t, 31)) },
		"validator":  func(f *File) { f.Organizations[0].Validators[0] = govKey(t, 32) },
		"policy":     func(f *File) { f.Governance = &governance.Policy{Threshold: governance.ThresholdAll} },
		"reward":     func(f *File) { f.Consensus.BlockReward++ },
		"halving":    func(f *File) { f.Consensus.HalvingInterval++ },
		"blocktime":  func(f *File) { f.Consensus.TargetBlockTimeSeconds++ },
		"window":     func(f *File) { f.Consensus.DifficultyWindow++ },
		"maxsize":    func(f *File) { f.Consensus.MaxBlockSize++ },
		"future":     func(f *File) { f.Consensus.MaxFutureBlockTimeSeconds++ },
		"mindiff":    func(f *File) { f.Consensus.MinDifficulty++ },
		"alloc":      func(f *File) { f.Alloc[0].Balance++ },
	}
	for name, mutate := range mutations {
		f := validFile(t)
		k, _ := keys.FromSeed(make([]byte, 32))
		f.Alloc = []Alloc{{Address: k.Address(), Balance: 1}}
		before, _ := f.Hash()
		mutate(f)
		after, err := f.Hash()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if before == after {
			t.Errorf("%s: hash did not change", name)
		}
	}
}

func TestValidateNamesTheField(t *testing.T) {
	cases := map[string]func(*File){
		"networkId":                           func(f *File) { f.NetworkID = "Bad_Name" },
		"chainId":                             func(f *File) { f.ChainID = 0 },
		"membership":                          func(f *File) { f.Membership = "open" },
		"consensus.targetBlockTimeSeconds":    func(f *File) { f.Consensus.TargetBlockTimeSeconds = 0 },
		"consensus.initialDifficulty":         func(f *File) { f.Consensus.InitialDifficulty = 0 },
		"consensus.halvingInterval":           func(f *File) { f.Consensus.HalvingInterval = 0 },
		"consensus.maxBlockSize":              func(f *File) { f.Consensus.MaxBlockSize = 10 },
		"consensus.difficultyWindow":          func(f *File) { f.Consensus.DifficultyWindow = 1 },
		"consensus.maxFutureBlockTimeSeconds": func(f *File) { f.Consensus.MaxFutureBlockTimeSeconds = 0 },
		"alloc[0].address":                    func(f *File) { f.Alloc[0].Address = "xyz" },
		"alloc[1].address":                    func(f *File) { f.Alloc = append(f.Alloc, f.Alloc[0]) },
		"alloc[1].balance": func(f *File) {
			k, _ := keys.Generate()
			f.Alloc[0].Balance = ^uint64(0)
			f.Alloc = append(f.Alloc, Alloc{Address: k.Address(), Balance: 1})
		},
		"consensus.minDifficulty": func(f *File) { f.Consensus.InitialDifficulty, f.Consensus.MinDifficulty = 1<<30, 1 },
		"organizations":           func(f *File) { f.Organizations = nil },
		"organizations ":          func(f *File) { f.Organizations[0].Miners = nil },
		"organizations  ":         func(f *File) { f.Membership = Public },
		"organizations   ": func(f *File) {
			f.Membership = Private
			f.Organizations = append(f.Organizations, founder(t, "org2", 20))
		},
		"governance": func(f *File) { f.Governance = &governance.Policy{Threshold: "none"} },
	}
	for field, mutate := range cases {
		f := validFile(t)
		mutate(f)
		err := f.Validate()
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != strings.TrimSpace(field) || !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: got %v", field, err)
		}
	}
}

func TestParseRejectsUnknownFieldsAndTrailingData(t *testing.T) {
	b, _ := validFile(t).Marshal()
	if _, err := Parse([]byte(strings.Replace(string(b), `"chainId"`, `"chainID2": 1, "chainId"`, 1))); err == nil {
		t.Error("unknown field accepted")
	}
	if _, err := Parse(append(b, []byte("{}")...)); err == nil {
		t.Error("trailing data accepted")
	}
}

func TestReward(t *testing.T) {
	p, err := validFile(t).Params()
	if err != nil {
		t.Fatal(err)
	}
	p.BlockReward, p.HalvingInterval = 100, 10
	for h, want := range map[uint64]uint64{0: 100, 9: 100, 10: 50, 25: 25, 10 * 64: 0, 10 * 200: 0} {
		if got := p.Reward(h); got != want {
			t.Errorf("Reward(%d) = %d, want %d", h, got, want)
		}
	}
}
