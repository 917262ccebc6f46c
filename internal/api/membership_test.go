package api_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/chainnet/chainnet/internal/api"
	"github.com/chainnet/chainnet/internal/chaintest"
	"github.com/chainnet/chainnet/internal/genesis"
	"github.com/chainnet/chainnet/internal/governance"
	"github.com/chainnet/chainnet/internal/keys"
	"github.com/chainnet/chainnet/internal/node"
	"github.com/chainnet/chainnet/internal/nodetest"
	"github.com/chainnet/chainnet/internal/wire"
)

// TestMembershipEndpoints: a governance transaction submitted as JSON enters the mempool, a block
// carries it, and /v1/membership/proposals shows the proposal with its approvals; a transaction
// the membership refuses is answered 400 with its rule.
func TestMembershipEndpoints(t *testing.T) {
	admin1, admin2 := chaintest.Key(t, 41), chaintest.Key(t, 42)
	miner := chaintest.Key(t, 1)
	orgs := []governance.Organization{
		{Name: "org1", AdminKey: governance.Key(admin1.Public), Validators: []governance.Key{governance.Key(chaintest.Key(t, 51).Public)}, Miners: []governance.Key{governance.Key(miner.Public)}},
		{Name: "org2", AdminKey: governance.Key(admin2.Public), Validators: []governance.Key{governance.Key(chaintest.Key(t, 52).Public)}, Miners: []governance.Key{governance.Key(chaintest.Key(t, 53).Public)}},
	}
	dir := t.TempDir()
	g := chaintest.Genesis(t)
	g.Membership, g.Organizations = genesis.Consortium, orgs
	n, err := node.New(node.Config{DataDir: dir, GenesisPath: nodetest.WriteGenesis(t, dir, g), APIAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	srv := httptest.NewServer(api.NewServer(n, nil, n.Metrics().Registry, n.Metrics().APIRequests))
	t.Cleanup(srv.Close)
	f := &fixture{t: t, n: n, srv: srv}

	var m api.Membership
	f.getJSON("/v1/membership", 200, &m)
	if m.Height != 0 || len(m.Organizations) != 2 || m.Organizations[1].Name != "org2" || m.Policy.Threshold != governance.ThresholdMajority {
		t.Fatalf("membership: %+v", m)
	}

	submit := func(admin *keys.Key, nonce uint64, a *governance.Action) (int, []byte, *wire.Tx) {
		tx := wire.NewGovernance(chaintest.ChainID, nonce, 0, a.Encode())
		tx.Sign(admin)
		body, _ := json.Marshal(api.TxFromWire(tx))
		code, resp := f.do("POST", "/v1/transactions", "application/json", body)
		return code, resp, tx
	}
	code, body, propose := submit(admin1, 0, governance.ProposeRemoveOrg("org2"))
	if code != 201 {
		t.Fatalf("submit proposal: %d %s", code, body)
	}
	stranger := chaintest.Key(t, 77)
	if code, body, _ := submit(stranger, 0, governance.ProposeRemoveOrg("org1")); code != 400 || !json.Valid(body) {
		t.Fatalf("a stranger's proposal: %d %s, want 400", code, body)
	} else {
		var e api.Error
		_ = json.Unmarshal(body, &e)
		if e.Rule != "governance-refused" {
			t.Fatalf("a stranger's proposal: rule %q", e.Rule)
		}
	}

	b := chaintest.BuildBlock(t, n.Chain(), wire.ZeroHash, miner, propose)
	if _, err := n.ProcessBlock(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	var ps api.Proposals
	f.getJSON("/v1/membership/proposals", 200, &ps)
	if len(ps.Proposals) != 1 {
		t.Fatalf("proposals: %+v", ps)
	}
	p := ps.Proposals[0]
	if p.ID != propose.ID().String() || p.Kind != "remove-org" || p.Organization != "org2" || len(p.Approvals) != 1 || p.Approvals[0] != "org1" || p.Needed != 2 || p.ExpiresAt == 0 {
		t.Fatalf("proposal: %+v", p)
	}

	pub := newFixture(t)
	pub.getJSON("/v1/membership", 404, nil)
}
