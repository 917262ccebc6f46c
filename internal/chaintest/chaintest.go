// Package chaintest builds real chains on temporary stores for tests of the packages around the
// chain (mempool, miner, API, P2P): funded keys, an easy genesis and a block builder.
package chaintest

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/chainnet/chainnet/internal/chain"
	"github.com/chainnet/chainnet/internal/genesis"
	"github.com/chainnet/chainnet/internal/keys"
	"github.com/chainnet/chainnet/internal/pow"
	"github.com/chainnet/chainnet/internal/store"
	"github.com/chainnet/chainnet/internal/wire"
)

// Test network constants.
const (
	ChainID     = 77
	BlockTime   = 10
	GenesisTime = 1_700_000_000
	// AliceFunds is alice's genesis balance.
	AliceFunds = 1_000_000_000
)

// Key returns a deterministic key.
func Key(t testing.TB, seed byte) *keys.Key {
	t.Helper()
	k, err := keys.FromSeed(bytes.Repeat([]byte{seed}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Genesis returns an easy genesis (difficulty 16) funding alice (Key(t, 2)).
func Genesis(t testing.TB) *genesis.File {
	cons := genesis.DefaultConsensus()
	cons.InitialDifficulty, cons.MinDifficulty = 16, 1
	cons.TargetBlockTimeSeconds = BlockTime
	cons.BlockReward, cons.HalvingInterval = 1000, 1000
	return &genesis.File{
		NetworkID: "test", ChainID: ChainID, Timestamp: GenesisTime, Membership: genesis.Public,
		Consensus: cons,
		Alloc:     []genesis.Alloc{{Address: Key(t, 2).Address(), Balance: AliceFunds}},
	}
}

// Env is a chain on a temp store.
type Env struct {
	T      testing.TB
	Dir    string
	DB     *store.DB
	Chain  *chain.Chain
	Params *genesis.Params
	Miner  *keys.Key
	Alice  *keys.Key
	Bob    *keys.Key
	// Now is the chain's clock; blocks are timestamped from their parent, so it sits far ahead.
	Now time.Time
}

// New opens a chain with Genesis(t), modified by mutate.
func New(t testing.TB, mutate ...func(*genesis.File)) *Env {
	t.Helper()
	f := Genesis(t)
	for _, m := range mutate {
		m(f)
	}
	params, err := f.Params()
	if err != nil {
		t.Fatal(err)
	}
	e := &Env{T: t, Dir: t.TempDir(), Params: params, Miner: Key(t, 1), Alice: Key(t, 2), Bob: Key(t, 3),
		Now: time.Unix(GenesisTime+10_000_000, 0)}
	e.DB, err = store.Open(e.Dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.DB.Close() })
	e.Chain, err = chain.New(e.DB, params, chain.Options{Now: func() time.Time { return e.Now }})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// Transfer builds a signed transfer.
func (e *Env) Transfer(from, to *keys.Key, amount, fee, nonce uint64) *wire.Tx {
	tx := &wire.Tx{Type: wire.TxTransfer, ChainID: e.Params.ChainID, To: to.AccountAddress(), Amount: amount, Fee: fee, Nonce: nonce}
	tx.Sign(from)
	return tx
}

// Build makes a valid block with txs on parent (zero: the tip), mined by e.Miner.
func (e *Env) Build(parent wire.Hash, txs ...*wire.Tx) *wire.Block {
	e.T.Helper()
	return BuildBlock(e.T, e.Chain, parent, e.Miner, txs...)
}

// BuildBlock makes a valid block on any chain of the test network, stamped one target block time
// after its parent.
func BuildBlock(t testing.TB, c *chain.Chain, parent wire.Hash, miner *keys.Key, txs ...*wire.Tx) *wire.Block {
	t.Helper()
	return BuildBlockAt(t, c, parent, miner, 0, txs...)
}

// BuildBlockAt is BuildBlock with the given timestamp (0: one target block time after the parent).
func BuildBlockAt(t testing.TB, c *chain.Chain, parent wire.Hash, miner *keys.Key, timestamp uint64, txs ...*wire.Tx) *wire.Block {
	t.Helper()
	if parent.IsZero() {
		parent = c.Tip().Hash
	}
	ph, height, ok := c.HeaderByHash(parent)
	if !ok {
		t.Fatalf("build: unknown parent %s", parent)
	}
	bits, err := c.NextBitsAfter(parent)
	if err != nil {
		t.Fatal(err)
	}
	var fees uint64
	for _, tx := range txs {
		fees += tx.Fee
	}
	p := c.Params()
	cb := wire.NewCoinbase(p.ChainID, miner.AccountAddress(), p.Reward(height+1)+fees, height+1, miner.Public)
	if timestamp == 0 {
		timestamp = ph.Timestamp + p.TargetBlockTime
	}
	b := &wire.Block{Header: wire.Header{Version: 1, PrevHash: parent, Timestamp: timestamp, Bits: bits},
		Txs: append([]*wire.Tx{cb}, txs...)}
	b.Header.MerkleRoot = b.ComputeMerkleRoot()
	target := pow.TargetBytes(bits)
	for !pow.Meets(b.Header.Hash(), &target) {
		b.Header.Nonce++
	}
	b.SignBlock(miner.Private)
	return b
}

// Connect processes b and fails the test unless it joins the best chain.
func (e *Env) Connect(b *wire.Block) chain.ProcessResult {
	e.T.Helper()
	res, err := e.Chain.ProcessBlock(context.Background(), b)
	if err != nil || res.Status != chain.StatusConnected {
		e.T.Fatalf("block %s: status %v, err %v", b.Hash(), res.Status, err)
	}
	return res
}

// Extend mines n blocks with no transfers on the tip.
func (e *Env) Extend(n int) []*wire.Block {
	e.T.Helper()
	var out []*wire.Block
	for i := 0; i < n; i++ {
		b := e.Build(wire.ZeroHash)
		e.Connect(b)
		out = append(out, b)
	}
	return out
}
