package chain

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chainnet/chainnet/internal/genesis"
	"github.com/chainnet/chainnet/internal/governance"
	"github.com/chainnet/chainnet/internal/keys"
	"github.com/chainnet/chainnet/internal/sigcache"
	"github.com/chainnet/chainnet/internal/store"
	"github.com/chainnet/chainnet/internal/wire"
)

// ErrNotFound is returned for an unknown block or transaction.
var ErrNotFound = errors.New("not found")

// ErrWrongNetwork is returned when the store was created for another genesis.
var ErrWrongNetwork = errors.New("store belongs to another network")

var (
	metaTip     = []byte("tip")
	metaGenesis = []byte("genesis")
	metaSchema  = []byte("schema")
)

// schemaVersion 2: the miner key in the coinbase, the governance state and undo records with it.
const schemaVersion = 2

// Options tune a Chain.
type Options struct {
	Logger    *slog.Logger
	Listeners []Listener
	// Now is the clock for the future-timestamp rule (tests move it). nil: time.Now.
	Now        func() time.Time
	MaxOrphans int
	// MinChainWork is the least cumulative work of a chain worth downloading or storing a block of
	// when the block was not asked for (Bitcoin Core's nMinimumChainWork): below it, a node that
	// is still syncing ignores whatever a peer pushes. nil: no minimum beyond the tip's work.
	MinChainWork *big.Int
	// RejectedCacheSize bounds the hashes of blocks remembered as invalid without being stored
	// (a resent invalid block then costs a map lookup). 0: defaultRejectedCache.
	RejectedCacheSize int
	// HaltHeight, when non-zero, is the last height this node connects: blocks above it are
	// refused (not marked invalid), so that every node stops at the same block for a scheduled
	// upgrade and the upgraded nodes go on from there.
	HaltHeight uint64
	// SigCache remembers verified signatures. nil: a cache of sigcache.DefaultSize.
	SigCache *sigcache.Cache
}

// Chain is the block chain of one network, backed by a store.
type Chain struct {
	db     *store.DB
	params *genesis.Params
	log    *slog.Logger
	now    func() time.Time
	halt   uint64 // Options.HaltHeight

	// processMu serialises ProcessBlock including listener notification, so listeners see
	// changes in order; mu guards the index and tip and is never held while notifying.
	processMu sync.Mutex
	mu        sync.RWMutex
	index     map[wire.Hash]*blockNode
	main      []*blockNode // best chain by height
	orphans   *orphanPool
	rejected  *rejectedCache
	// bodyChecks counts body validations (tests check that remembered blocks skip them).
	bodyChecks atomic.Uint64
	// runCommits counts the runs ProcessBlocks committed (tests check that batches are batched).
	runCommits atomic.Uint64
	// gov is the membership after the tip (nil on a public network); replaced, never modified.
	gov          *governance.State
	minChainWork *big.Int
	// sigs remembers verified signatures: the mempool's checks and PrecheckBlock fill it, block
	// validation finds them there.
	sigs *sigcache.Cache

	listenersMu         sync.RWMutex
	listeners           []Listener
	membershipListeners []func(*governance.State)
}

// New opens the chain stored in db, initialising it with the genesis block of params on first use.
func New(db *store.DB, params *genesis.Params, opts Options) (*Chain, error) {
	c := &Chain{
		db: db, params: params, log: opts.Logger, now: opts.Now, halt: opts.HaltHeight,
		index: map[wire.Hash]*blockNode{}, listeners: opts.Listeners,
		orphans: newOrphanPool(opts.MaxOrphans), rejected: newRejectedCache(opts.RejectedCacheSize),
		minChainWork: new(big.Int), sigs: opts.SigCache,
	}
	if c.sigs == nil {
		c.sigs = sigcache.New(0)
	}
	if opts.MinChainWork != nil {
		c.minChainWork.Set(opts.MinChainWork)
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	if err := c.initGenesis(); err != nil {
		return nil, err
	}
	if err := c.loadIndex(); err != nil {
		return nil, err
	}
	if err := c.db.View(func(tx *store.Tx) error {
		var err error
		c.gov, err = readGovernance(tx)
		return err
	}); err != nil {
		return nil, err
	}
	if params.Membership.Permissioned() && c.gov == nil {
		return nil, fmt.Errorf("%w: a permissioned network's store holds no membership", store.ErrCorrupt)
	}
	return c, nil
}

// initGenesis writes the genesis block and allocations in one transaction on first use, and
// checks on later uses that the store belongs to this network.
func (c *Chain) initGenesis() error {
	gh := c.params.GenesisHash
	return c.db.Update(func(tx *store.Tx) error {
		if stored := tx.Get(store.BucketMeta, metaGenesis); stored != nil {
			if string(stored) != string(gh[:]) {
				return fmt.Errorf("%w: store genesis %x, genesis file %s", ErrWrongNetwork, stored, gh)
			}
			if v := tx.Get(store.BucketMeta, metaSchema); len(v) != 4 || binary.BigEndian.Uint32(v) != schemaVersion {
				return fmt.Errorf("%w: store schema %x, this node reads schema %d", ErrWrongNetwork, v, schemaVersion)
			}
			return nil
		}
		g := newNode(c.params.GenesisBlock.Header, nil)
		puts := []struct{ b, k, v []byte }{
			{store.BucketBlocks, gh[:], c.params.GenesisBlock.Encode()},
			{store.BucketIndex, gh[:], encodeIndexEntry(g)},
			{store.BucketMain, heightKey(0), gh[:]},
			{store.BucketMeta, metaGenesis, gh[:]},
			{store.BucketMeta, metaTip, gh[:]},
			{store.BucketMeta, metaSchema, binary.BigEndian.AppendUint32(nil, schemaVersion)},
		}
		for _, p := range puts {
			if err := tx.Put(p.b, p.k, p.v); err != nil {
				return err
			}
		}
		for addr, bal := range c.params.Alloc {
			if err := writeAccount(tx, addr, Account{Balance: bal}); err != nil {
				return err
			}
		}
		if g := c.params.Governance; g != nil {
			return tx.Put(store.BucketMeta, metaGovernance, g.Encode())
		}
		return nil
	})
}

// loadIndex rebuilds the in-memory block index and best chain from the store.
func (c *Chain) loadIndex() error {
	entries := map[wire.Hash]indexEntry{}
	var tip wire.Hash
	err := c.db.View(func(tx *store.Tx) error {
		copy(tip[:], tx.Get(store.BucketMeta, metaTip))
		return tx.ForEach(store.BucketIndex, func(k, v []byte) error {
			e, err := decodeIndexEntry(v)
			if err != nil {
				return fmt.Errorf("block %x: %w", k, err)
			}
			var h wire.Hash
			copy(h[:], k)
			entries[h] = e
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("load block index: %w", err)
	}
	for h := range entries {
		if _, err := c.linkNode(h, entries); err != nil {
			return fmt.Errorf("load block index: %w", err)
		}
	}
	tipNode := c.index[tip]
	if tipNode == nil {
		return fmt.Errorf("load block index: tip %s is not in the index", tip)
	}
	c.main = make([]*blockNode, tipNode.height+1)
	for n := tipNode; n != nil; n = n.parent {
		c.main[n.height] = n
	}
	if c.main[0] == nil || c.main[0].hash != c.params.GenesisHash {
		return fmt.Errorf("load block index: best chain does not start at genesis")
	}
	c.log.Info("chain loaded", "height", tipNode.height, "tip", tip, "blocks", len(c.index))
	return nil
}

// linkNode creates the node for h and, iteratively, its ancestors (a long chain must not recurse
// 100,000 deep).
func (c *Chain) linkNode(h wire.Hash, entries map[wire.Hash]indexEntry) (*blockNode, error) {
	var pending []wire.Hash
	for cur := h; ; {
		if _, ok := c.index[cur]; ok {
			break
		}
		e, ok := entries[cur]
		if !ok {
			return nil, fmt.Errorf("block %s: parent missing from the index", cur)
		}
		pending = append(pending, cur)
		if e.header.PrevHash.IsZero() {
			break
		}
		cur = e.header.PrevHash
	}
	for i := len(pending) - 1; i >= 0; i-- {
		e := entries[pending[i]]
		n := &blockNode{hash: pending[i], header: e.header, height: e.height, work: e.work, status: e.status,
			parent: c.index[e.header.PrevHash]}
		if n.parent != nil && n.parent.status == statusInvalid {
			n.status = statusInvalid
		}
		c.index[n.hash] = n
	}
	return c.index[h], nil
}

// AddListener registers a listener for best-chain changes.
func (c *Chain) AddListener(l Listener) {
	c.listenersMu.Lock()
	defer c.listenersMu.Unlock()
	c.listeners = append(c.listeners, l)
}

// Params returns the network parameters.
func (c *Chain) Params() *genesis.Params { return c.params }

// Tip returns the best block.
func (c *Chain) Tip() Tip {
	c.mu.RLock()
	defer c.mu.RUnlock()
	n := c.main[len(c.main)-1]
	return Tip{Hash: n.hash, Height: n.height, Header: n.header, TotalWork: new(big.Int).Set(n.work)}
}

// HaveBlock reports whether the block is stored (valid or not) or waiting in the orphan pool.
func (c *Chain) HaveBlock(h wire.Hash) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	_, ok := c.index[h]
	return ok || c.orphans.has(h)
}

// HeaderByHash returns a stored block's header and height.
func (c *Chain) HeaderByHash(h wire.Hash) (wire.Header, uint64, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	n, ok := c.index[h]
	if !ok {
		return wire.Header{}, 0, false
	}
	return n.header, n.height, true
}

// IsMainChain reports whether h is on the best chain.
func (c *Chain) IsMainChain(h wire.Hash) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.isMainLocked(h)
}

func (c *Chain) isMainLocked(h wire.Hash) bool {
	n, ok := c.index[h]
	return ok && n.height < uint64(len(c.main)) && c.main[n.height] == n
}

// BlockByHash returns a stored block.
func (c *Chain) BlockByHash(h wire.Hash) (*wire.Block, error) {
	var raw []byte
	if err := c.db.View(func(tx *store.Tx) error { raw = tx.Get(store.BucketBlocks, h[:]); return nil }); err != nil {
		return nil, err
	}
	if raw == nil {
		return nil, fmt.Errorf("block %s: %w", h, ErrNotFound)
	}
	b, err := wire.DecodeBlock(raw)
	if err != nil {
		return nil, fmt.Errorf("stored block %s: %w", h, err)
	}
	return b, nil
}

// BlockByHeight returns the best chain's block at height.
func (c *Chain) BlockByHeight(height uint64) (*wire.Block, error) {
	c.mu.RLock()
	if height >= uint64(len(c.main)) {
		c.mu.RUnlock()
		return nil, fmt.Errorf("height %d: %w", height, ErrNotFound)
	}
	h := c.main[height].hash
	c.mu.RUnlock()
	return c.BlockByHash(h)
}

// Account returns an account's state at the tip: the last committed one. It reads a store
// snapshot without the chain's lock, so that mempool admission (one read per transaction) does not
// wait while a block is validated and fsynced; the state it sees may be a block ahead of Tip for
// the moment between a commit and the in-memory tip catching up, which admission tolerates (a
// nonce already used is refused either way).
func (c *Chain) Account(addr keys.Address) (Account, error) {
	var a Account
	err := c.db.View(func(tx *store.Tx) error {
		var err error
		a, err = readAccount(tx, addr)
		return err
	})
	return a, err
}

// Tx finds a transaction on the best chain.
func (c *Chain) Tx(id wire.Hash) (*wire.Tx, TxLocation, error) {
	var loc TxLocation
	var raw []byte
	err := c.db.View(func(tx *store.Tx) error {
		raw = tx.Get(store.BucketTxIndex, id[:])
		return nil
	})
	if err != nil {
		return nil, loc, err
	}
	if len(raw) != wire.HashSize+4 {
		return nil, loc, fmt.Errorf("tx %s: %w", id, ErrNotFound)
	}
	copy(loc.BlockHash[:], raw)
	loc.Index = int(binary.BigEndian.Uint32(raw[wire.HashSize:]))
	b, err := c.BlockByHash(loc.BlockHash)
	if err != nil {
		return nil, loc, err
	}
	if loc.Index >= len(b.Txs) {
		return nil, loc, fmt.Errorf("tx %s: index %d beyond block: %w", id, loc.Index, ErrNotFound)
	}
	_, loc.Height, _ = c.HeaderByHash(loc.BlockHash)
	return b.Txs[loc.Index], loc, nil
}

// NextBits returns the bits required of a block on the tip.
func (c *Chain) NextBits() uint32 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.nextBitsAfter(c.main[len(c.main)-1])
}

// MedianTimePast returns the median timestamp of the last 11 blocks up to the tip.
func (c *Chain) MedianTimePast() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.main[len(c.main)-1].medianTimePast()
}

// OrphanCount returns the number of blocks waiting for their parent.
func (c *Chain) OrphanCount() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.orphans.len()
}

// NextBitsAfter returns the bits required of a child of the stored block parent.
func (c *Chain) NextBitsAfter(parent wire.Hash) (uint32, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	n, ok := c.index[parent]
	if !ok {
		return 0, fmt.Errorf("block %s: %w", parent, ErrNotFound)
	}
	return c.nextBitsAfter(n), nil
}

// HaltHeight is the height this node stops at (0: none).
func (c *Chain) HaltHeight() uint64 { return c.halt }
