package p2p_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chainnet/chainnet/internal/chain"
	"github.com/chainnet/chainnet/internal/chaintest"
	"github.com/chainnet/chainnet/internal/genesis"
	"github.com/chainnet/chainnet/internal/p2p/p2ptest"
	"github.com/chainnet/chainnet/internal/store"
	"github.com/chainnet/chainnet/internal/wire"
)

// arrivals records when each node connected each block.
type arrivals struct {
	mu sync.Mutex
	at map[wire.Hash][]time.Time
}

type arrivalListener struct{ a *arrivals }

func (l arrivalListener) BlockConnected(b *wire.Block, _ uint64) {
	l.a.mu.Lock()
	l.a.at[b.Hash()] = append(l.a.at[b.Hash()], time.Now())
	l.a.mu.Unlock()
}
func (arrivalListener) BlockDisconnected(*wire.Block, uint64) {}

// propagation starts n nodes in a random mesh (each dials 3 earlier ones), mines blocks at
// random nodes one at a time, and returns every (block, node) delay from the miner's
// ProcessBlock to the node's connection of the block.
func propagation(b *testing.B, n, blocks int) []time.Duration {
	gen := writeGenesis(b)
	a := &arrivals{at: map[wire.Hash][]time.Time{}}
	var nodes []*tnode
	for i := 0; i < n; i++ {
		tn := startNode(b, gen, "")
		tn.n.Chain().AddListener(arrivalListener{a})
		for _, j := range rand.Perm(max(i, 1))[:min(i, 3)] {
			tn.connect(nodes[j])
		}
		nodes = append(nodes, tn)
	}
	waitFor(b, 60*time.Second, "mesh connected", func() bool {
		for _, tn := range nodes {
			if tn.srv.PeerCount() == 0 {
				return false
			}
		}
		return true
	})
	var delays []time.Duration
	for k := 0; k < blocks; k++ {
		miner := nodes[rand.IntN(n)]
		blk := chaintest.BuildBlock(b, miner.n.Chain(), wire.ZeroHash, miner.miner)
		start := time.Now()
		if _, err := miner.n.ProcessBlock(context.Background(), blk); err != nil {
			b.Fatal(err)
		}
		waitFor(b, 30*time.Second, "block everywhere", func() bool {
			a.mu.Lock()
			defer a.mu.Unlock()
			return len(a.at[blk.Hash()]) >= n
		})
		a.mu.Lock()
		for _, t := range a.at[blk.Hash()] {
			if d := t.Sub(start); d > 0 {
				delays = append(delays, d)
			}
		}
		a.mu.Unlock()
	}
	for _, tn := range nodes {
		tn.stop()
	}
	return delays
}

func percentile(ds []time.Duration, p float64) time.Duration {
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[min(len(ds)-1, int(p*float64(len(ds))))]
}

// BenchmarkPropagation reports block propagation latency p50/p99 from the miner to every node
// for 16 and 64 nodes on loopback, and the ratio of p50 to one hop (2 nodes) in the same run.
func BenchmarkPropagation(b *testing.B) {
	hop := percentile(propagation(b, 2, 20), 0.5)
	for _, n := range []int{16, 64} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			ds := propagation(b, n, 10)
			p50, p99 := percentile(ds, 0.5), percentile(ds, 0.99)
			b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(hop.Microseconds())/1000, "one-hop-ms")
			b.ReportMetric(float64(p50)/float64(hop), "p50/one-hop")
		})
	}
}

// BenchmarkSync10k reports sync throughput of a new node catching up 10,000 blocks from one
// seed and from four, and their ratio.
func BenchmarkSync10k(b *testing.B) {
	const blocks = 10_000
	gen := writeGenesis(b)
	src := startNode(b, gen, "")
	for i := 0; i < blocks; i++ {
		blk := chaintest.BuildBlock(b, src.n.Chain(), wire.ZeroHash, src.miner)
		if _, err := src.n.Chain().ProcessBlock(context.Background(), blk); err != nil {
			b.Fatal(err)
		}
	}
	tip := src.tip()
	src.stop()
	seedDirs := make([]string, 4)
	for i := range seedDirs {
		seedDirs[i] = b.TempDir()
		copyFile(b, filepath.Join(src.dir, store.FileName), filepath.Join(seedDirs[i], store.FileName))
	}
	seeds := make([]*tnode, 4)
	for i := range seeds {
		seeds[i] = startNode(b, gen, seedDirs[i])
	}
	rate := map[int]float64{}
	for _, peers := range []int{1, 4} {
		late := startNode(b, gen, "")
		start := time.Now()
		for _, s := range seeds[:peers] {
			late.connect(s)
		}
		waitFor(b, 5*time.Minute, "synced", func() bool { return late.tip() == tip })
		rate[peers] = blocks / time.Since(start).Seconds()
		late.stop()
	}
	b.ReportMetric(rate[1], "blocks/s-1peer")
	b.ReportMetric(rate[4], "blocks/s-4peers")
	b.ReportMetric(rate[4]/rate[1], "4peers/1peer")
}

// BenchmarkMemory reports the heap and goroutine stacks of an idle node (10 started, averaged) and the heap added by
// 100 peer connections to one node (both TLS ends counted: an upper bound).
func BenchmarkMemory(b *testing.B) {
	gen := writeGenesis(b)
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapInuse + m.StackInuse
	}
	before := heap()
	var idle []*tnode
	for i := 0; i < 10; i++ {
		idle = append(idle, startNode(b, gen, ""))
	}
	time.Sleep(500 * time.Millisecond)
	perNode := float64(heap()-before) / 10
	hub := idle[0]
	before = heap()
	var conns []io.Closer
	for i := 0; i < 100; i++ {
		// From four addresses: one address may hold half of the inbound slots.
		p, err := p2ptest.DialFrom(context.Background(), fmt.Sprintf("127.0.1.%d", 1+i%4), hub.addr(), nil, honestVersion(hub))
		if err != nil {
			b.Fatal(err)
		}
		conns = append(conns, p.Conn)
	}
	waitFor(b, 10*time.Second, "100 peers", func() bool { return hub.srv.PeerCount() >= 100 })
	per100 := float64(heap()) - float64(before)
	for _, c := range conns {
		c.Close()
	}
	b.ReportMetric(perNode/(1<<20), "MiB/idle-node")
	b.ReportMetric(per100/(1<<20), "MiB/100-peers")
}

func copyFile(b *testing.B, from, to string) {
	data, err := os.ReadFile(from)
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkSync100k reports sync throughput of a new node catching up 100,000 small blocks (a
// coinbase each) from one peer, against the baseline of one fsynced store commit per block
// measured in the same run: the bound before blocks were committed in batches.
func BenchmarkSync100k(b *testing.B) {
	blocks := 100_000
	if n, err := strconv.Atoi(os.Getenv("CHAINNET_SYNC_BLOCKS")); err == nil {
		blocks = n // a shorter run while working on sync
	}
	gen := writeGenesis(b)
	seedDir, tip := generateChain(b, gen, blocks)
	seed := startNode(b, gen, seedDir)
	defer seed.stop()
	fsyncs := commitRate(b, time.Second)
	late := startNode(b, gen, "")
	if path := os.Getenv("CHAINNET_SYNC_PROFILE"); path != "" {
		stop := cpuProfile(b, path)
		defer stop()
	}
	start, cpu0 := time.Now(), processCPU()
	late.connect(seed)
	waitFor(b, 10*time.Minute, "synced", func() bool { return late.tip() == tip })
	rate := float64(blocks) / time.Since(start).Seconds()
	cpuPerBlock := (processCPU() - cpu0) / time.Duration(blocks)
	late.stop()
	b.ReportMetric(rate, "blocks/s-1peer")
	// Both ends run in this process: the CPU one synced block costs the machine, whatever else
	// shares it. Two cores that did nothing else could sync about 2 s / this.
	b.ReportMetric(float64(cpuPerBlock.Microseconds()), "cpu-µs/block")
	b.ReportMetric(fsyncs, "fsync-commits/s")
	b.ReportMetric(rate/fsyncs, "sync/fsync-per-block")
}

// generateChain writes a chain of n blocks of the test network into a new data directory,
// through the chain's own validation but without fsync (the output is only read afterwards).
func generateChain(b *testing.B, genesisPath string, n int) (string, wire.Hash) {
	f, err := genesis.Load(genesisPath)
	if err != nil {
		b.Fatal(err)
	}
	params, err := f.Params()
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	db, err := store.OpenWith(dir, store.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	c, err := chain.New(db, params, chain.Options{})
	if err != nil {
		b.Fatal(err)
	}
	miner := chaintest.Key(b, 1)
	for i := 0; i < n; i++ {
		blk := chaintest.BuildBlock(b, c, wire.ZeroHash, miner)
		if _, err := c.ProcessBlock(context.Background(), blk); err != nil {
			b.Fatal(err)
		}
	}
	return dir, c.Tip().Hash
}

// commitRate measures fsynced one-key store commits per second for about d.
func commitRate(b *testing.B, d time.Duration) float64 {
	db, err := store.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	start, n := time.Now(), 0
	for ; time.Since(start) < d; n++ {
		err := db.Update(func(tx *store.Tx) error { return tx.Put(store.BucketMeta, []byte("k"), []byte{byte(n)}) })
		if err != nil {
			b.Fatal(err)
		}
	}
	return float64(n) / time.Since(start).Seconds()
}

// processCPU is the user+system CPU time of this process.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuProfile writes a CPU profile of what runs until stop to path.
func cpuProfile(b *testing.B, path string) (stop func()) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}
