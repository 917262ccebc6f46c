package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chainnet/chainnet/internal/api"
	"github.com/chainnet/chainnet/internal/chain"
	"github.com/chainnet/chainnet/internal/chaintest"
	"github.com/chainnet/chainnet/internal/node"
	"github.com/chainnet/chainnet/internal/nodetest"
	"github.com/chainnet/chainnet/internal/wire"
)

type fixture struct {
	t   *testing.T
	n   *node.Node
	srv *httptest.Server
}

func newFixture(t *testing.T) *fixture {
	n := nodetest.New(t)
	s := api.NewServer(n, nil, n.Metrics().Registry, n.Metrics().APIRequests)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return &fixture{t: t, n: n, srv: srv}
}

func (f *fixture) do(method, path, contentType string, body []byte) (int, []byte) {
	f.t.Helper()
	req, _ := http.NewRequest(method, f.srv.URL+path, bytes.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (f *fixture) getJSON(path string, want int, out any) {
	f.t.Helper()
	code, body := f.do("GET", path, "", nil)
	if code != want {
		f.t.Fatalf("GET %s: %d %s, want %d", path, code, body, want)
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			f.t.Fatalf("GET %s: %v", path, err)
		}
	}
}

func (f *fixture) mine(txs ...*wire.Tx) *wire.Block {
	b := chaintest.BuildBlock(f.t, f.n.Chain(), wire.ZeroHash, chaintest.Key(f.t, 1), txs...)
	if _, err := f.n.ProcessBlock(context.Background(), b); err != nil {
		f.t.Fatal(err)
	}
	return b
}

func transfer(t *testing.T, chainID, nonce uint64) *wire.Tx {
	tx := &wire.Tx{Type: wire.TxTransfer, ChainID: chainID, To: chaintest.Key(t, 3).AccountAddress(), Amount: 10, Fee: 2, Nonce: nonce}
	tx.Sign(chaintest.Key(t, 2))
	return tx
}

func TestStatusFollowsTheContract(t *testing.T) {
	f := newFixture(t)
	var raw map[string]any
	f.getJSON("/v1/status", 200, &raw)
	for _, field := range []string{"networkId", "nodeId", "role", "height", "bestHash", "totalWork", "peers", "hashrate", "mempoolSize", "syncing", "genesisHash", "chainId"} {
		if _, ok := raw[field]; !ok {
			t.Errorf("status lacks %q", field)
		}
	}
	var st api.Status
	f.getJSON("/v1/status", 200, &st)
	if st.NodeID != f.n.NodeKey().NodeID() || st.Height != 0 || st.NetworkID != "test" {
		t.Fatalf("status %+v", st)
	}
	f.mine()
	f.getJSON("/v1/status", 200, &st)
	if st.Height != 1 {
		t.Fatalf("height %d after a block", st.Height)
	}
	// The data directory's file system, for the operator's volume growth.
	if st.DataDiskSize == 0 || st.DataDiskUsed == 0 || st.DataDiskUsed > st.DataDiskSize {
		t.Fatalf("data disk size %d, used %d", st.DataDiskSize, st.DataDiskUsed)
	}
}

func TestTransactionLifecycle(t *testing.T) {
	f := newFixture(t)
	tx := transfer(t, chaintest.ChainID, 0)
	body, _ := json.Marshal(api.TxFromWire(tx))
	code, resp := f.do("POST", "/v1/transactions", "application/json", body)
	if code != 201 || !strings.Contains(string(resp), tx.ID().String()) {
		t.Fatalf("submit: %d %s", code, resp)
	}
	var pending api.Account
	f.getJSON("/v1/accounts/"+chaintest.Key(t, 2).Address(), 200, &pending)
	if pending.Nonce != 0 || pending.PendingNonce != 1 {
		t.Fatalf("sender with one pending transaction: nonce %d, pendingNonce %d, want 0 and 1", pending.Nonce, pending.PendingNonce)
	}
	var st api.TxStatus
	f.getJSON("/v1/transactions/"+tx.ID().String(), 200, &st)
	if st.Status != "pending" {
		t.Fatalf("status %q before mining", st.Status)
	}
	// The raw wire encoding is accepted too.
	raw := transfer(t, chaintest.ChainID, 1)
	if code, resp := f.do("POST", "/v1/transactions", "application/octet-stream", raw.Encode()); code != 201 {
		t.Fatalf("raw submit: %d %s", code, resp)
	}
	blk := f.mine(tx, raw)
	f.getJSON("/v1/transactions/"+tx.ID().String(), 200, &st)
	if st.Status != "mined" || st.Location == nil || st.Location.Height != 1 || st.Location.BlockHash != blk.Hash() {
		t.Fatalf("after mining: %+v", st)
	}
	var acct api.Account
	f.getJSON("/v1/accounts/"+chaintest.Key(t, 3).Address(), 200, &acct)
	if acct.Balance != 20 {
		t.Fatalf("recipient balance %d", acct.Balance)
	}
	f.getJSON("/v1/accounts/0x"+chaintest.Key(t, 2).Address(), 200, &acct)
	if acct.Nonce != 2 || acct.PendingNonce != 2 {
		t.Fatalf("sender nonce %d, pendingNonce %d after mining, want 2 and 2", acct.Nonce, acct.PendingNonce)
	}
}

func TestBadSubmissionsAreRejectedNamingTheRule(t *testing.T) {
	f := newFixture(t)
	good, _ := json.Marshal(api.TxFromWire(transfer(t, chaintest.ChainID, 0)))
	wrongChain, _ := json.Marshal(api.TxFromWire(transfer(t, chaintest.ChainID+1, 0)))
	cases := []struct {
		name, ctype string
		body        []byte
		code        int
		rule        string
	}{
		{"not json", "application/json", []byte("{"), 400, ""},
		{"unknown field", "application/json", []byte(`{"type":"transfer","bogus":1}`), 400, ""},
		{"trailing data", "application/json", append(append([]byte{}, good...), []byte("{}")...), 400, ""},
		{"short signature", "application/json", []byte(strings.Replace(string(good), `"signature":"`, `"signature":"00`, 1)), 400, ""},
		{"coinbase", "application/json", []byte(`{"type":"coinbase","to":"` + chaintest.Key(t, 3).Address() + `"}`), 400, ""},
		{"wrong chain", "application/json", wrongChain, 400, "wrong-chain-id"},
		{"raw garbage", "application/octet-stream", []byte{1, 2, 3}, 400, ""},
		{"oversized", "application/json", bytes.Repeat([]byte(" "), 65<<10), 413, ""},
	}
	for _, c := range cases {
		code, body := f.do("POST", "/v1/transactions", c.ctype, c.body)
		var e api.Error
		json.Unmarshal(body, &e)
		if code != c.code || e.Error == "" || e.Rule != c.rule {
			t.Errorf("%s: %d %+v, want %d rule %q", c.name, code, e, c.code, c.rule)
		}
	}
	if f.n.Mempool().Len() != 0 {
		t.Fatal("a bad submission reached the mempool")
	}
	_, metrics := f.do("GET", "/metrics", "", nil)
	if !strings.Contains(string(metrics), `chainnode_tx_rejected_total{rule="wrong-chain-id"} 1`) {
		t.Fatal("rejection not counted by rule")
	}
}

func TestBlocks(t *testing.T) {
	f := newFixture(t)
	b1 := f.mine()
	f.mine()
	var blk api.Block
	f.getJSON("/v1/blocks/1", 200, &blk)
	if blk.Hash != b1.Hash().String() || len(blk.Txs) != 1 || blk.Txs[0].Type != "coinbase" {
		t.Fatalf("block 1: %+v", blk)
	}
	f.getJSON("/v1/blocks/"+b1.Hash().String(), 200, &blk)
	if blk.Height != 1 {
		t.Fatalf("block by hash has height %d", blk.Height)
	}
	var list []api.Block
	f.getJSON("/v1/blocks?from=1&limit=5", 200, &list)
	if len(list) != 2 || list[1].Height != 2 {
		t.Fatalf("list: %d blocks", len(list))
	}
	f.getJSON("/v1/blocks/99", 404, nil)
	f.getJSON("/v1/blocks/"+strings.Repeat("ab", 32), 404, nil)
	f.getJSON("/v1/blocks/"+strings.Repeat("zz", 32), 400, nil)
	f.getJSON("/v1/blocks/-1", 400, nil)
	f.getJSON("/v1/blocks?limit=1000", 400, nil)
	f.getJSON("/v1/blocks?from=x", 400, nil)
	f.getJSON("/v1/accounts/nothex", 400, nil)
	f.getJSON("/v1/transactions/00", 400, nil)
	f.getJSON("/v1/transactions/"+strings.Repeat("ab", 32), 404, nil)
}

func TestProbesAndMetrics(t *testing.T) {
	f := newFixture(t)
	f.getJSON("/healthz", 200, nil)
	f.getJSON("/readyz", 200, nil)
	f.mine()
	code, body := f.do("GET", "/metrics", "", nil)
	if code != 200 {
		t.Fatal(code)
	}
	for _, want := range []string{"chainnode_chain_height 1", `chainnode_blocks_processed_total{status="connected"} 1`, "chainnode_miner_hashrate"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// TestSubmitBatch: transactions encoded back to back are admitted one by one, each with its own
// outcome in order; a malformed batch is refused whole.
func TestSubmitBatch(t *testing.T) {
	f := newFixture(t)
	good0, good1 := transfer(t, chaintest.ChainID, 0), transfer(t, chaintest.ChainID, 1)
	wrongChain := transfer(t, chaintest.ChainID+1, 2)
	var body []byte
	for _, tx := range []*wire.Tx{good0, wrongChain, good1} {
		body = append(body, tx.Encode()...)
	}
	code, resp := f.do("POST", "/v1/transactions/batch", "application/octet-stream", body)
	if code != 200 {
		t.Fatalf("batch: %d %s", code, resp)
	}
	var res api.BatchResult
	if err := json.Unmarshal(resp, &res); err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 2 || len(res.Results) != 3 || res.Results[1].Rule != string(chain.RuleWrongChainID) ||
		res.Results[0].ID != good0.ID().String() || res.Results[2].Error != "" {
		t.Fatalf("batch result %+v", res)
	}
	if !f.n.Mempool().Has(good0.ID()) || !f.n.Mempool().Has(good1.ID()) {
		t.Fatal("accepted transactions are not pooled")
	}
	if code, _ := f.do("POST", "/v1/transactions/batch", "application/octet-stream", body[:len(body)-3]); code != 400 {
		t.Fatalf("truncated batch: %d, want 400", code)
	}
	if code, _ := f.do("POST", "/v1/transactions/batch", "application/json", body); code != http.StatusUnsupportedMediaType {
		t.Fatalf("JSON batch: %d, want 415", code)
	}
}
