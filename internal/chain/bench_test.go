package chain

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chainnet/chainnet/internal/genesis"
	"github.com/chainnet/chainnet/internal/keys"
	"github.com/chainnet/chainnet/internal/store"
	"github.com/chainnet/chainnet/internal/wire"
)

// BenchmarkConnectBlock1000 validates and stores blocks of 1,000 signed transfers (signature
// checks spread over all cores, one fsynced commit per block) and reports transactions per second,
// plus the ratio to bare single-core ed25519 verification of the same transactions measured in
// the same run.
func BenchmarkConnectBlock1000(b *testing.B) {
	const txPerBlock, blocks = 1000, 5
	senders := make([]*keys.Key, txPerBlock)
	var alloc []genesis.Alloc
	for i := range senders {
		senders[i], _ = keys.Generate()
		alloc = append(alloc, genesis.Alloc{Address: senders[i].Address(), Balance: 1_000_000})
	}
	var processed int
	var elapsed, verify time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		h := newHarness(b, func(f *genesis.File) {
			f.Alloc = alloc
			f.Consensus.MaxBlockSize = 1 << 20
		})
		// Build the blocks up front (signing is not what we measure). Each builds on the previous
		// one in a scratch harness that mirrors h.
		src := newHarness(b, func(f *genesis.File) { f.Alloc = alloc; f.Consensus.MaxBlockSize = 1 << 20 })
		var built []*wire.Block
		for n := 0; n < blocks; n++ {
			txs := make([]*wire.Tx, txPerBlock)
			for j, k := range senders {
				txs[j] = src.transfer(k, src.bob, 1, 1, uint64(n))
			}
			blk := src.build(blockSpec{txs: txs})
			src.mustConnect(blk)
			built = append(built, blk)
		}
		start := time.Now()
		for _, blk := range built[:1] {
			for _, tx := range blk.Txs[1:] {
				sh := tx.SigHash()
				ed25519.Verify(tx.From[:], sh[:], tx.Signature[:])
			}
		}
		verify += time.Since(start)
		b.StartTimer()
		start = time.Now()
		for _, blk := range built {
			if _, err := h.c.ProcessBlock(context.Background(), blk); err != nil {
				b.Fatal(err)
			}
		}
		elapsed += time.Since(start)
		processed += blocks * txPerBlock
	}
	txPerSec := float64(processed) / elapsed.Seconds()
	verifyPerSec := float64(b.N*txPerBlock) / verify.Seconds()
	b.ReportMetric(txPerSec, "tx/s")
	b.ReportMetric(txPerSec/verifyPerSec, "vs-1core-verify")
}

// BenchmarkReopen100k builds a store of 100,000 blocks (committed in batches to keep the setup
// short; each block is still fully validated), then measures reopening it: loading the block
// index and best chain into memory. It reports the time and the process RSS growth.
func BenchmarkReopen100k(b *testing.B) {
	const total, batch = 100_000, 2_000
	h := newHarness(b, func(f *genesis.File) { f.Consensus.DifficultyWindow = 10 })
	for built := 0; built < total; built += batch {
		if err := h.connectBatch(batch); err != nil {
			b.Fatal(err)
		}
	}
	tip := h.c.Tip()
	h.db.Close()
	for b.Loop() {
		runtime.GC()
		before := rssBytes()
		start := time.Now()
		db, err := store.Open(h.dir)
		if err != nil {
			b.Fatal(err)
		}
		c, err := New(db, h.params, Options{})
		if err != nil {
			b.Fatal(err)
		}
		took := time.Since(start)
		if c.Tip().Hash != tip.Hash {
			b.Fatal("reopened at another tip")
		}
		b.ReportMetric(took.Seconds(), "reopen-s")
		b.ReportMetric(float64(rssBytes()-before)/(1<<20), "rss-growth-MiB")
		db.Close()
	}
	b.ReportMetric(float64(tip.Height), "blocks")
}

// connectBatch mines n empty blocks on the tip and connects them in one store transaction,
// through the same validation as ProcessBlock.
func (h *harness) connectBatch(n int) error {
	c := h.c
	return c.db.Update(func(tx *store.Tx) error {
		for i := 0; i < n; i++ {
			blk := h.build(blockSpec{})
			if err := c.checkHeaderSanity(&blk.Header); err != nil {
				return err
			}
			if err := c.checkBodySanity(blk); err != nil {
				return err
			}
			parent := c.tipNode()
			if err := c.checkHeaderContext(&blk.Header, parent); err != nil {
				return err
			}
			node := newNode(blk.Header, parent)
			if err := storeBlock(tx, node, blk); err != nil {
				return err
			}
			if _, err := c.connectBlock(tx, node, blk); err != nil {
				return fmt.Errorf("block %d: %w", node.height, err)
			}
			c.index[node.hash] = node
			c.main = append(c.main, node)
		}
		return nil
	})
}

func rssBytes() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}
