package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/chainnet/chainnet/internal/api"
	"github.com/chainnet/chainnet/internal/chain"
	"github.com/chainnet/chainnet/internal/chaintest"
	"github.com/chainnet/chainnet/internal/node"
	"github.com/chainnet/chainnet/internal/nodetest"
	"github.com/chainnet/chainnet/internal/p2p/p2ptest"
	"github.com/chainnet/chainnet/internal/wire"
)

// heavyBackend is a real node whose best chain reads as 100 copies of one full 1 MiB block, each
// lookup held until gate lets it go (when gate is not nil).
type heavyBackend struct {
	*node.Node
	block *wire.Block
	gate  chan struct{}
}

func (b *heavyBackend) BlockByHeight(h uint64) (*wire.Block, error) {
	if b.gate != nil {
		<-b.gate
	}
	if h >= 100 {
		return nil, chain.ErrNotFound
	}
	return b.block, nil
}

func (b *heavyBackend) Status() api.Status {
	st := b.Node.Status()
	st.Height = 99
	return st
}

func newHeavy(t *testing.T) *heavyBackend {
	n := nodetest.New(t)
	t.Cleanup(func() { n.Close() })
	return &heavyBackend{Node: n, block: p2ptest.FullBlock(t, n.Chain(), chaintest.Key(t, 1), 0, 1<<20)}
}

// TestHeavyRequestsLimited: with MaxInFlight heavy requests in flight the next is answered 429
// with Retry-After at once, while probes and status still answer; once they finish, requests
// are served again.
func TestHeavyRequestsLimited(t *testing.T) {
	b := newHeavy(t)
	b.gate = make(chan struct{})
	srv := httptest.NewServer(api.NewServer(b, nil, b.Metrics().Registry, nil))
	defer srv.Close()
	var wg sync.WaitGroup
	codes := make(chan int, api.MaxInFlight)
	for range api.MaxInFlight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Get(srv.URL + "/v1/blocks/1")
			if err == nil {
				resp.Body.Close()
				codes <- resp.StatusCode
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	resp, err := http.Get(srv.URL + "/v1/blocks/2")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("request beyond the limit: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	for _, path := range []string{"/healthz", "/v1/status", "/metrics"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s under load: %d", path, resp.StatusCode)
		}
	}
	close(b.gate)
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != 200 {
			t.Fatalf("a request within the limit: %d", c)
		}
	}
}

// TestBlocksResponseBounded: /v1/blocks?limit=100 over full 1 MiB blocks stops once 4 MiB of
// them are rendered (five blocks), not at 100 MiB.
func TestBlocksResponseBounded(t *testing.T) {
	b := newHeavy(t)
	srv := httptest.NewServer(api.NewServer(b, nil, b.Metrics().Registry, nil))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/v1/blocks?from=0&limit=100")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var blocks []api.Block
	if err := json.NewDecoder(resp.Body).Decode(&blocks); err != nil {
		t.Fatal(err)
	}
	if n := len(blocks); n == 0 || n > 5 {
		t.Fatalf("%d blocks of %d bytes in one response", n, b.block.Size())
	}
	if blocks[0].Height != 0 || blocks[len(blocks)-1].Height != uint64(len(blocks)-1) {
		t.Fatal("blocks out of order")
	}
}
