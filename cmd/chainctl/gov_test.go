package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
	"github.com/chainnet/chainnet/internal/api"
	"github.com/chainnet/chainnet/internal/chaintest"
	"github.com/chainnet/chainnet/internal/keys"
)

func hexKey(t *testing.T, seed byte) string { return chaintest.Key(t, seed).NodeID() }

// TestReadIdentity: an identity file is read strictly, and what is wrong is named by its field.
func TestReadIdentity(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := "name: org4\nadminKey: " + hexKey(t, 1) + "\nvalidators: [" + hexKey(t, 2) + "]\nminers: [" + hexKey(t, 3) + "]\n" +
		"endpoints: ['10.0.0.4:30333#" + hexKey(t, 2) + "']\n"
	id, err := readIdentity(write("good.yaml", good), nil)
	if err != nil {
		t.Fatal(err)
	}
	org, err := identityOrganization(id)
	if err != nil || org.Name != "org4" || org.AdminKey.String() != hexKey(t, 1) || len(org.Validators) != 1 || len(org.Miners) != 1 {
		t.Fatalf("identity %+v as organization %+v (%v)", id, org, err)
	}
	if id, err := readIdentity("-", strings.NewReader(good)); err != nil || id.Name != "org4" {
		t.Fatalf("from stdin: %+v %v", id, err)
	}
	asJSON, _ := json.Marshal(id)
	if _, err := readIdentity(write("good.json", string(asJSON)), nil); err != nil {
		t.Fatalf("JSON identity: %v", err)
	}
	for _, c := range []struct{ name, content, want string }{
		{"typo", strings.Replace(good, "validators:", "validator:", 1), "unknown field"},
		{"bad name", strings.Replace(good, "name: org4", "name: Org_4", 1), "name \"Org_4\""},
		{"short admin key", strings.Replace(good, hexKey(t, 1), "abcd", 1), "adminKey"},
		{"bad validator", strings.Replace(good, "validators: [", "validators: [zz, ", 1), "validators[0]"},
		{"validators without miners", strings.Replace(good, "miners: ["+hexKey(t, 3)+"]\n", "", 1), "miner key"},
		{"no node", "name: org4\nadminKey: " + hexKey(t, 1) + "\n", "at least one validator or observer"},
		{"endpoint without node id", strings.Replace(good, "#"+hexKey(t, 2), "", 1), "endpoints[0]"},
		{"endpoint without port", strings.Replace(good, "10.0.0.4:30333", "10.0.0.4", 1), "endpoints[0]"},
	} {
		_, err := readIdentity(write(c.name, c.content), nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one naming %q", c.name, err, c.want)
		}
	}
	if _, err := readIdentity(filepath.Join(dir, "missing.yaml"), nil); err == nil {
		t.Error("a missing file was accepted")
	}
}

// TestJoinRequest: key files and hex keys become public keys only, in a file `propose add-org`
// reads back; a key that is neither is refused naming its flag.
func TestJoinRequest(t *testing.T) {
	dir := t.TempDir()
	admin, nodeKey := filepath.Join(dir, "admin.json"), filepath.Join(dir, "node.json")
	keys.Save(admin, chaintest.Key(t, 11))
	keys.Save(nodeKey, chaintest.Key(t, 12))
	args := []string{"gov", "join-request", "--name", "org7", "--admin-key", admin, "--validator", nodeKey,
		"--miner", hexKey(t, 13), "--observer", hexKey(t, 14), "--endpoint", "chain.example.org:30001#" + hexKey(t, 12)}
	out, err := chainctl(t, args...)
	if err != nil {
		t.Fatalf("join-request: %v %s", err, out)
	}
	// chaintest.Key(t, 11)'s private half is its seed, 32 bytes of 11.
	if strings.Contains(out, "privateKey") || strings.Contains(out, strings.Repeat("0b", 32)) {
		t.Fatalf("the join request shows a private key:\n%s", out)
	}
	path := filepath.Join(dir, "org7.yaml")
	os.WriteFile(path, []byte(out), 0o644)
	id, err := readIdentity(path, nil)
	if err != nil {
		t.Fatalf("the printed request does not read back: %v\n%s", err, out)
	}
	want := chainv1.OrganizationIdentity{Name: "org7", AdminKey: hexKey(t, 11), Validators: []string{hexKey(t, 12)},
		Observers: []string{hexKey(t, 14)}, Miners: []string{hexKey(t, 13)}, Endpoints: []string{"chain.example.org:30001#" + hexKey(t, 12)}}
	if got, _ := json.Marshal(id); string(got) != string(mustJSON(t, want)) {
		t.Fatalf("request %s, want %s", got, mustJSON(t, want))
	}
	jsonOut, err := chainctl(t, append(args, "-o", "json")...)
	var fromJSON chainv1.OrganizationIdentity
	if err != nil || json.Unmarshal([]byte(jsonOut), &fromJSON) != nil || fromJSON.AdminKey != want.AdminKey {
		t.Fatalf("-o json: %v %s", err, jsonOut)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--admin-key", filepath.Join(dir, "missing.json"), "--validator", nodeKey, "--miner", hexKey(t, 13)}, "--admin-key"},
		{[]string{"--admin-key", admin, "--validator", "12ab", "--miner", hexKey(t, 13)}, "--validator"},
		{[]string{"--admin-key", admin, "--validator", nodeKey}, "miner key"},
		{[]string{"--admin-key", admin, "--validator", nodeKey, "--miner", hexKey(t, 13), "--endpoint", "nohash:1"}, "endpoints[0]"},
	} {
		_, err := chainctl(t, append([]string{"gov", "join-request", "--name", "org7"}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want one naming %s", c.args, err, c.want)
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestProposalTables(t *testing.T) {
	id := strings.Repeat("ab", 32)
	rows := proposalRows([]api.Proposal{
		{ID: id, Kind: "add-org", Organization: "org4", Proposer: "org1", Approvals: []string{"org1"}, Needed: 2, ExpiresAt: 12},
		{ID: strings.Repeat("cd", 32), Kind: "set-policy", Proposer: "org2", Approvals: []string{"org1", "org2"}, Needed: 2, ExpiresAt: 12, Approved: true, EffectiveAt: 15},
		{ID: strings.Repeat("ef", 32), Kind: "remove-org", Organization: "org3", Proposer: "org1", Approvals: []string{"org1"}, Needed: 2, ExpiresAt: 10},
	})
	rows[0].Declared = "proposals[add-org4]"
	var b strings.Builder
	writeProposals(&b, 10, rows, true)
	out := b.String()
	for _, want := range []string{"proposals at height 10", id + "  add-org", "1/2 org1", "open, 2 block(s) left", "proposals[add-org4]",
		"2/2 org1,org2", "approved, in force after block 15", "expired (dropped by the next block)", "DECLARED HERE"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	b.Reset()
	writeProposals(&b, 7, nil, false)
	if b.String() != "no open proposals at height 7\n" {
		t.Errorf("empty table: %q", b.String())
	}
	if s := proposalState([]string{"org1"}, 2, 12, false, 0, 12); !strings.Contains(s, "expired") {
		t.Errorf("state at the last height: %s", s)
	}
	if s := proposalState([]string{"org1"}, 2, 12, false, 0, 11); !strings.Contains(s, "1 block(s) left") {
		t.Errorf("state one height before: %s", s)
	}
}
