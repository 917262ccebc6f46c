package mempool

import (
	"container/heap"
	"maps"

	"github.com/chainnet/chainnet/internal/keys"

	"github.com/chainnet/chainnet/internal/wire"
)

// Select returns transactions for a block template of at most maxBytes: the highest fee first,
// but each account's transactions in nonce order from its state nonce with no gaps, and only while
// the account can pay for them (state may have changed since admission, e.g. after a reorg).
func (p *Pool) Select(maxBytes int) []*wire.Tx {
	// Only the copy of the queues holds the pool's lock: the state reads (one per account) and the
	// selection run outside it, so a template build never stalls admission.
	queues := p.snapshotQueues()
	var heads headQueue
	for addr, q := range queues {
		state, err := p.view.Account(addr)
		if err != nil {
			continue
		}
		c := &cursor{queue: q, nonce: state.Nonce, balance: state.Balance}
		if c.head() != nil {
			heads = append(heads, c)
		}
	}
	heap.Init(&heads)
	var out []*wire.Tx
	used := 0
	for heads.Len() > 0 {
		c := heads[0]
		e := c.head()
		cost, _ := costOf(e.tx)
		if used+e.tx.Size() > maxBytes || cost > c.balance {
			heap.Pop(&heads) // this account is done; a later nonce cannot skip this one
			continue
		}
		out = append(out, e.tx)
		used += e.tx.Size()
		c.balance -= cost
		c.nonce++
		if c.head() == nil {
			heap.Pop(&heads)
		} else {
			heap.Fix(&heads, 0)
		}
	}
	return out
}

// snapshotQueues copies every account's queue (entries are never modified, only replaced).
func (p *Pool) snapshotQueues() map[keys.Address]map[uint64]*entry {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[keys.Address]map[uint64]*entry, len(p.byAccount))
	for addr, q := range p.byAccount {
		out[addr] = maps.Clone(q)
	}
	return out
}

type cursor struct {
	queue   map[uint64]*entry
	nonce   uint64
	balance uint64
}

func (c *cursor) head() *entry { return c.queue[c.nonce] }

// headQueue is a max-heap of accounts by the fee of their next executable transaction.
type headQueue []*cursor

func (h headQueue) Len() int           { return len(h) }
func (h headQueue) Less(i, j int) bool { return h[i].head().tx.Fee > h[j].head().tx.Fee }
func (h headQueue) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *headQueue) Push(x any)        { *h = append(*h, x.(*cursor)) }
func (h *headQueue) Pop() any          { old := *h; x := old[len(old)-1]; *h = old[:len(old)-1]; return x }
