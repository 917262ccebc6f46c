package explorer_test

import (
	"net/http/httptest"
	"runtime"
	"testing"

	"github.com/chainnet/chainnet/internal/api"
	"github.com/chainnet/chainnet/internal/chain"
	"github.com/chainnet/chainnet/internal/chaintest"
	"github.com/chainnet/chainnet/internal/explorer"
	"github.com/chainnet/chainnet/internal/node"
	"github.com/chainnet/chainnet/internal/nodetest"
	"github.com/chainnet/chainnet/internal/p2p/p2ptest"
	"github.com/chainnet/chainnet/internal/wire"
)

// fullChain is a real node whose best chain reads as 100 copies of one full 1 MiB block.
type fullChain struct {
	*node.Node
	block *wire.Block
}

func (b *fullChain) BlockByHeight(h uint64) (*wire.Block, error) {
	if h >= 100 {
		return nil, chain.ErrNotFound
	}
	return b.block, nil
}

func (b *fullChain) Status() api.Status {
	st := b.Node.Status()
	st.Height = 99
	return st
}

// TestExplorerFrontPageCost: the front page lists twenty full blocks without rendering their
// transactions.
func TestExplorerFrontPageCost(t *testing.T) {
	n := nodetest.New(t)
	defer n.Close()
	b := &fullChain{Node: n, block: p2ptest.FullBlock(t, n.Chain(), chaintest.Key(t, 1), 0, 1<<20)}
	h := explorer.Handler("/explorer/", b, nil)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/explorer/", nil))
	runtime.ReadMemStats(&after)
	if rec.Code != 200 {
		t.Fatalf("front page: %d", rec.Code)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
		t.Fatalf("the front page allocated %d MiB", alloc>>20)
	}
}
