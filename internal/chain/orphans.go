package chain

import "github.com/chainnet/chainnet/internal/wire"

// defaultMaxOrphans bounds the orphan pool: orphans pass proof of work before entering, but a peer
// could still send many cheap low-difficulty ones on an easy network.
const defaultMaxOrphans = 100

// orphanPool holds blocks whose parent is unknown, evicting the oldest when full.
type orphanPool struct {
	max      int
	blocks   map[wire.Hash]*wire.Block
	byParent map[wire.Hash][]wire.Hash
	order    []wire.Hash // arrival order, for eviction
}

func newOrphanPool(max int) *orphanPool {
	if max <= 0 {
		max = defaultMaxOrphans
	}
	return &orphanPool{max: max, blocks: map[wire.Hash]*wire.Block{}, byParent: map[wire.Hash][]wire.Hash{}}
}

func (p *orphanPool) len() int             { return len(p.blocks) }
func (p *orphanPool) has(h wire.Hash) bool { _, ok := p.blocks[h]; return ok }

func (p *orphanPool) add(b *wire.Block) {
	h := b.Hash()
	if p.has(h) {
		return
	}
	for len(p.blocks) >= p.max && len(p.order) > 0 {
		p.remove(p.order[0])
	}
	p.blocks[h] = b
	p.byParent[b.Header.PrevHash] = append(p.byParent[b.Header.PrevHash], h)
	p.order = append(p.order, h)
}

func (p *orphanPool) remove(h wire.Hash) {
	b, ok := p.blocks[h]
	if !ok {
		return
	}
	delete(p.blocks, h)
	siblings := p.byParent[b.Header.PrevHash]
	for i, s := range siblings {
		if s == h {
			siblings = append(siblings[:i], siblings[i+1:]...)
			break
		}
	}
	if len(siblings) == 0 {
		delete(p.byParent, b.Header.PrevHash)
	} else {
		p.byParent[b.Header.PrevHash] = siblings
	}
	for i, o := range p.order {
		if o == h {
			p.order = append(p.order[:i], p.order[i+1:]...)
			break
		}
	}
}

// takeChildren removes and returns the orphans whose parent is h.
func (p *orphanPool) takeChildren(h wire.Hash) []*wire.Block {
	hashes := append([]wire.Hash(nil), p.byParent[h]...)
	out := make([]*wire.Block, 0, len(hashes))
	for _, c := range hashes {
		out = append(out, p.blocks[c])
		p.remove(c)
	}
	return out
}

// root walks from orphan h back to the first ancestor that is not in the pool: the block to
// request from peers.
func (p *orphanPool) root(h wire.Hash) wire.Hash {
	for {
		b, ok := p.blocks[h]
		if !ok {
			return h
		}
		h = b.Header.PrevHash
	}
}

// defaultRejectedCache bounds the hashes of blocks refused before they were stored.
const defaultRejectedCache = 4096

// rejectedCache remembers blocks refused for what they are (a broken rule that no peer, clock or
// later block can change), evicting the oldest when full. Invalid blocks that were stored are
// remembered in the index instead (statusInvalid).
type rejectedCache struct {
	max   int
	rules map[wire.Hash]Rule
	order []wire.Hash
}

func newRejectedCache(max int) *rejectedCache {
	if max <= 0 {
		max = defaultRejectedCache
	}
	return &rejectedCache{max: max, rules: map[wire.Hash]Rule{}}
}

func (r *rejectedCache) get(h wire.Hash) (Rule, bool) {
	rule, ok := r.rules[h]
	return rule, ok
}

func (r *rejectedCache) add(h wire.Hash, rule Rule) {
	if _, ok := r.rules[h]; ok {
		return
	}
	if len(r.order) >= r.max {
		delete(r.rules, r.order[0])
		r.order = r.order[1:]
	}
	r.rules[h] = rule
	r.order = append(r.order, h)
}
