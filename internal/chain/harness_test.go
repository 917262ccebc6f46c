package chain

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/chainnet/chainnet/internal/genesis"
	"github.com/chainnet/chainnet/internal/governance"
	"github.com/chainnet/chainnet/internal/keys"
	"github.com/chainnet/chainnet/internal/pow"
	"github.com/chainnet/chainnet/internal/store"
	"github.com/chainnet/chainnet/internal/wire"
)

const (
	testChainID   = 77
	testBlockTime = 10
	genesisTime   = 1_700_000_000
)

// harness is a chain on a temp store with funded keys and a miner.
type harness struct {
	t      testing.TB
	dir    string
	db     *store.DB
	c      *Chain
	params *genesis.Params
	file   *genesis.File
	miner  *keys.Key
	alice  *keys.Key
	bob    *keys.Key
	events []string
	now    time.Time
	halt   uint64 // Options.HaltHeight at the next open
}

func key(t testing.TB, seed byte) *keys.Key {
	k, err := keys.FromSeed(bytes.Repeat([]byte{seed}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newHarness(t testing.TB, mutate ...func(*genesis.File)) *harness {
	t.Helper()
	h := &harness{t: t, dir: t.TempDir(), miner: key(t, 1), alice: key(t, 2), bob: key(t, 3)}
	cons := genesis.DefaultConsensus()
	cons.InitialDifficulty, cons.MinDifficulty = 16, 1
	cons.TargetBlockTimeSeconds = testBlockTime
	cons.BlockReward, cons.HalvingInterval = 1000, 1000
	cons.MaxBlockSize = 64 << 10
	h.file = &genesis.File{
		NetworkID: "test", ChainID: testChainID, Timestamp: genesisTime, Membership: genesis.Public,
		Consensus: cons,
		Alloc:     []genesis.Alloc{{Address: h.alice.Address(), Balance: 1_000_000}},
	}
	for _, m := range mutate {
		m(h.file)
	}
	h.now = time.Unix(genesisTime+1_000_000, 0)
	h.open()
	return h
}

func (h *harness) open() {
	h.t.Helper()
	params, err := h.file.Params()
	if err != nil {
		h.t.Fatal(err)
	}
	h.params = params
	db, err := store.Open(h.dir)
	if err != nil {
		h.t.Fatal(err)
	}
	h.db = db
	c, err := New(db, params, Options{Now: func() time.Time { return h.now }, Listeners: []Listener{h}, HaltHeight: h.halt})
	if err != nil {
		h.t.Fatal(err)
	}
	h.c = c
	h.t.Cleanup(func() { db.Close() })
}

func (h *harness) reopen() {
	h.t.Helper()
	h.db.Close()
	h.open()
}

func (h *harness) BlockConnected(b *wire.Block, height uint64) {
	h.events = append(h.events, "+"+b.Hash().String()[:8])
}
func (h *harness) BlockDisconnected(b *wire.Block, height uint64) {
	h.events = append(h.events, "-"+b.Hash().String()[:8])
}

// transfer builds a signed transfer.
func (h *harness) transfer(from *keys.Key, to *keys.Key, amount, fee, nonce uint64) *wire.Tx {
	tx := &wire.Tx{Type: wire.TxTransfer, ChainID: testChainID, To: to.AccountAddress(), Amount: amount, Fee: fee, Nonce: nonce}
	tx.Sign(from)
	return tx
}

// blockSpec describes a block to build on a parent; zero values take valid defaults.
type blockSpec struct {
	parent    wire.Hash
	txs       []*wire.Tx
	coinbase  *wire.Tx
	timestamp uint64
	bits      uint32
	// mutate changes the block before proof of work and signing; after signs after.
	mutate func(*wire.Block)
	after  func(*wire.Block)
	miner  *keys.Key
}

// build makes a valid block (unless told otherwise) on spec.parent (default: the tip).
func (h *harness) build(spec blockSpec) *wire.Block {
	h.t.Helper()
	c := h.c
	if spec.parent.IsZero() {
		spec.parent = c.Tip().Hash
	}
	c.mu.RLock()
	parent := c.index[spec.parent]
	c.mu.RUnlock()
	if parent == nil {
		h.t.Fatalf("build: unknown parent %s", spec.parent)
	}
	height := parent.height + 1
	var fees uint64
	for _, tx := range spec.txs {
		fees += tx.Fee
	}
	if spec.miner == nil {
		spec.miner = h.miner
	}
	cb := spec.coinbase
	if cb == nil {
		cb = wire.NewCoinbase(testChainID, spec.miner.AccountAddress(), h.params.Reward(height)+fees, height, spec.miner.Public)
	}
	b := &wire.Block{Header: wire.Header{Version: 1, PrevHash: spec.parent, Timestamp: parent.header.Timestamp + testBlockTime,
		Bits: c.nextBitsAfter(parent)}, Txs: append([]*wire.Tx{cb}, spec.txs...)}
	if spec.timestamp != 0 {
		b.Header.Timestamp = spec.timestamp
	}
	if spec.bits != 0 {
		b.Header.Bits = spec.bits
	}
	b.Header.MerkleRoot = b.ComputeMerkleRoot()
	if spec.mutate != nil {
		spec.mutate(b)
	}
	grind(h.t, b, h.params)
	b.SignBlock(spec.miner.Private)
	if spec.after != nil {
		spec.after(b)
	}
	return b
}

// grind finds a nonce meeting the header's target (easy at test difficulty).
func grind(t testing.TB, b *wire.Block, params *genesis.Params) {
	target := pow.TargetBytes(b.Header.Bits)
	for nonce := uint64(0); nonce < 1<<24; nonce++ {
		b.Header.Nonce = nonce
		if pow.Meets(b.Header.Hash(), &target) {
			return
		}
	}
	t.Fatal("grind: no nonce found")
}

func (h *harness) process(b *wire.Block) (ProcessResult, error) {
	return h.c.ProcessBlock(context.Background(), b)
}

func (h *harness) processUnrequested(b *wire.Block) (ProcessResult, error) {
	return h.c.ProcessUnrequestedBlock(context.Background(), b)
}

// govTx builds a governance transaction signed by admin.
func (h *harness) govTx(admin *keys.Key, nonce uint64, a *governance.Action) *wire.Tx {
	tx := wire.NewGovernance(testChainID, nonce, 0, a.Encode())
	tx.Sign(admin)
	return tx
}

// mustConnect processes b and fails unless it joins the best chain.
func (h *harness) mustConnect(b *wire.Block) ProcessResult {
	h.t.Helper()
	res, err := h.process(b)
	if err != nil || res.Status != StatusConnected {
		h.t.Fatalf("block %s: status %v err %v", b.Hash(), res.Status, err)
	}
	return res
}

// extend mines n empty blocks on the tip.
func (h *harness) extend(n int) []*wire.Block {
	var out []*wire.Block
	for i := 0; i < n; i++ {
		b := h.build(blockSpec{})
		h.mustConnect(b)
		out = append(out, b)
	}
	return out
}

func (h *harness) account(k *keys.Key) Account {
	h.t.Helper()
	a, err := h.c.Account(k.AccountAddress())
	if err != nil {
		h.t.Fatal(err)
	}
	return a
}

func openStore(t testing.TB, dir string) (*store.DB, error) { return store.Open(dir) }
