package p2ptest

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"runtime"
	"testing"

	"github.com/chainnet/chainnet/internal/chain"
	"github.com/chainnet/chainnet/internal/chaintest"
	"github.com/chainnet/chainnet/internal/genesis"
	"github.com/chainnet/chainnet/internal/keys"
	"github.com/chainnet/chainnet/internal/pow"
	"github.com/chainnet/chainnet/internal/wire"
)

// Transfers signs n transfers of 1 unit (fee 1) from from to to, with nonces from nonce on.
func Transfers(params *genesis.Params, from *keys.Key, to keys.Address, n int, nonce uint64) []*wire.Tx {
	out := make([]*wire.Tx, n)
	for i := range out {
		tx := &wire.Tx{Type: wire.TxTransfer, ChainID: params.ChainID, To: to, Amount: 1, Fee: 1, Nonce: nonce + uint64(i)}
		tx.Sign(from)
		out[i] = tx
	}
	return out
}

// FullBlock builds a valid block on c's tip, mined by miner, holding as many transfers from
// chaintest's funded key (nonces from nonce on) as fit in size bytes (at most the network's
// block size limit).
func FullBlock(t testing.TB, c *chain.Chain, miner *keys.Key, nonce uint64, size int) *wire.Block {
	t.Helper()
	params := c.Params()
	size = min(size, int(params.MaxBlockSize))
	n := (size - wire.BlockOverhead - 2*wire.MaxTxSize - 16) / wire.TransferSize
	txs := Transfers(params, chaintest.Key(t, 2), chaintest.Key(t, 3).AccountAddress(), n, nonce)
	return chaintest.BuildBlock(t, c, wire.ZeroHash, miner, txs...)
}

// SideBlocks builds n distinct valid blocks on parent (each mined by a fresh key, so each has
// its own coinbase and hash).
func SideBlocks(t testing.TB, c *chain.Chain, parent wire.Hash, n int) []*wire.Block {
	t.Helper()
	out := make([]*wire.Block, n)
	for i := range out {
		k, err := keys.Generate()
		if err != nil {
			t.Fatal(err)
		}
		out[i] = chaintest.BuildBlock(t, c, parent, k)
	}
	return out
}

// HeaderChain builds up to n headers that extend parent (a block stored in c) and pass every
// header rule of c's network — proof of work, retarget, timestamps — with timestamps spacing
// seconds apart, stopping before the chain's cumulative work would reach below (nil: no bound).
// Their bodies do not exist: the merkle roots are random. Spaced widely, the retarget lowers the
// difficulty, so a long chain of them is cheap and carries little work.
func HeaderChain(c *chain.Chain, parent wire.Hash, n int, spacing uint64, below *big.Int) ([]wire.Header, error) {
	prev, _, ok := c.HeaderByHash(parent)
	if !ok {
		return nil, fmt.Errorf("header chain: unknown parent %s", parent)
	}
	tracker := c.NewHeaderTracker()
	out := make([]wire.Header, 0, n)
	for len(out) < n {
		bits, err := tracker.NextBitsAfter(parent)
		if err != nil {
			return nil, err
		}
		h := wire.Header{Version: prev.Version, PrevHash: parent, Timestamp: prev.Timestamp + spacing, Bits: bits}
		if _, err := rand.Read(h.MerkleRoot[:]); err != nil {
			return nil, err
		}
		target := pow.TargetBytes(bits)
		for !pow.Meets(h.Hash(), &target) {
			h.Nonce++
		}
		work, err := tracker.Add([]wire.Header{h})
		if err != nil {
			return nil, fmt.Errorf("header chain: header %d: %w", len(out), err)
		}
		if below != nil && work.Cmp(below) >= 0 {
			break
		}
		out = append(out, h)
		prev, parent = h, h.Hash()
	}
	return out, nil
}

// HeapInUse is the heap in use after two garbage collections: what the process holds on to.
func HeapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// TotalAlloc is the number of bytes allocated since the process started.
func TotalAlloc() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.TotalAlloc
}

// MiB formats a byte count.
func MiB(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
