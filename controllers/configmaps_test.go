package controllers

import (
	"encoding/json"
	"strings"
	"testing"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
	"github.com/chainnet/chainnet/internal/governance"
	"github.com/chainnet/chainnet/internal/permissions"
)

func TestGenesisIsAPureFunctionOfTheCreatedNetwork(t *testing.T) {
	cn := network(chainv1.Consortium, org("org1", 2, 1), org("org2", 1, 0))
	keys, admins := withKeys(cn), withAdmins(t, cn)
	f1, err := genesisFile(cn, keys, admins)
	if err != nil {
		t.Fatal(err)
	}
	_, h1, _ := genesisConfigMap(cn, f1)
	f2, _ := genesisFile(cn, keys, admins)
	_, h2, _ := genesisConfigMap(cn, f2)
	if h1 != h2 || len(h1) != 64 {
		t.Fatalf("genesis hash not deterministic: %s vs %s", h1, h2)
	}
	if len(f1.Organizations) != 2 {
		t.Fatalf("want 2 founding organizations, got %d", len(f1.Organizations))
	}
	org1 := f1.Organizations[0]
	if org1.AdminKey != governance.Key(admins["org1"].Public) || len(org1.Validators) != 2 || len(org1.Observers) != 1 || len(org1.Miners) != 2 {
		t.Fatalf("org1 in the genesis: %+v", org1)
	}
	cn.Spec.Consensus.TargetBlockTimeSeconds = 20
	f3, _ := genesisFile(cn, keys, admins)
	if _, h3, _ := genesisConfigMap(cn, f3); h3 == h1 {
		t.Fatal("consensus must change the genesis hash")
	}
	cn.Spec.Consensus.TargetBlockTimeSeconds = 10
	other := withAdmins(t, cn)
	other["org2"] = other["org1"]
	if _, err := genesisFile(cn, keys, other); err == nil {
		t.Fatal("two organizations with one admin key accepted")
	}
	pub := network(chainv1.Public, org("default", 1, 0))
	fp, _ := genesisFile(pub, withKeys(pub), nil)
	if len(fp.Organizations) != 0 || fp.Governance != nil {
		t.Fatal("a public genesis has no organizations")
	}
}

func TestPermissionFileListsEveryNodeAndItsRole(t *testing.T) {
	cn := network(chainv1.Consortium, org("org1", 2, 1), org("org2", 1, 0))
	cn.Spec.ExternalPeers = []chainv1.ExternalPeer{{Address: "x.example:9333", NodeID: hex64(90), Organization: "org2", MinerKey: hex64(91)}}
	f := permissionFile(cn, withKeys(cn))
	cm, err := permissionsConfigMap(cn, f, 4)
	if err != nil {
		t.Fatal(err)
	}
	set, err := permissions.Parse([]byte(cm.Data[PermissionsKey]))
	if err != nil {
		t.Fatalf("the node must accept the file: %v", err)
	}
	if set.Version != 4 || len(set.Members()) != 5 {
		t.Fatalf("version %d, members %d", set.Version, len(set.Members()))
	}
	if !listsMiner(f, "org2", hex64(91)) {
		t.Fatal("the external peer's miner must be listed")
	}
	g := f
	g.Version = 99
	if permissionsContentHash(f) != permissionsContentHash(g) {
		t.Fatal("the content hash must ignore the version")
	}
}

func TestNodeConfigBootstrapsValidatorsByStableName(t *testing.T) {
	cn := network(chainv1.Public, org("default", 2, 1))
	cm, err := nodeConfigMap(cn, withKeys(cn))
	if err != nil {
		t.Fatal(err)
	}
	cfg := cm.Data[NodeConfigKey]
	if !strings.Contains(cfg, "net-default-validator-1.net-p2p.ns.svc:9333#") || strings.Contains(cfg, "observer") {
		t.Fatalf("bootstrap list:\n%s", cfg)
	}
	if !strings.Contains(cfg, "net-p2p.ns.svc:9333") {
		t.Fatal("the headless Service must be the DNS seed")
	}
}

func mustHex(t *testing.T, s string) []byte {
	var out []byte
	if err := json.Unmarshal([]byte(`"`+s+`"`), new(string)); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(s); i += 2 {
		var b byte
		for _, c := range s[i : i+2] {
			b = b<<4 | byte(strings.IndexRune("0123456789abcdef", c))
		}
		out = append(out, b)
	}
	return out
}
