package mining

import (
	"context"
	"errors"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chainnet/chainnet/internal/chain"
	"github.com/chainnet/chainnet/internal/chaintest"
	"github.com/chainnet/chainnet/internal/genesis"
	"github.com/chainnet/chainnet/internal/mempool"
	"github.com/chainnet/chainnet/internal/wire"
)

// tipWatcher forwards new tips to the miner, as the node does.
type tipWatcher struct{ m *Miner }

func (w tipWatcher) BlockConnected(*wire.Block, uint64)    { w.m.NewTip() }
func (w tipWatcher) BlockDisconnected(*wire.Block, uint64) {}

func newMiner(t *testing.T, env *chaintest.Env, pool *mempool.Pool, threads int) (*Miner, *[]*wire.Block) {
	var mu sync.Mutex
	var mined []*wire.Block
	var src TxSource
	if pool != nil {
		src = pool // a nil *Pool in the interface would not compare equal to nil
	}
	m := New(Config{Threads: threads, Key: env.Miner, Now: func() time.Time { return env.Now },
		OnBlock: func(b *wire.Block, res chain.ProcessResult, err error) {
			if err != nil {
				t.Errorf("mined block rejected: %v", err)
			}
			mu.Lock()
			mined = append(mined, b)
			mu.Unlock()
		}}, env.Chain, src)
	env.Chain.AddListener(tipWatcher{m})
	return m, &mined
}

func waitHeight(t *testing.T, env *chaintest.Env, h uint64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for env.Chain.Tip().Height < h {
		if time.Now().After(deadline) {
			t.Fatalf("height %d after 20s, want %d", env.Chain.Tip().Height, h)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestMinesValidBlocksWithFees: the miner extends the chain with blocks the chain accepts, and a
// pooled transaction is mined with its fee in the coinbase.
func TestMinesValidBlocksWithFees(t *testing.T) {
	env := chaintest.New(t)
	pool := mempool.New(mempool.Config{}, env.Chain)
	env.Chain.AddListener(pool)
	tx := env.Transfer(env.Alice, env.Bob, 100, 25, 0)
	if err := pool.Add(tx); err != nil {
		t.Fatal(err)
	}
	m, _ := newMiner(t, env, pool, 2)
	// Each block must be 10s after its parent's MTP; move the clock with the chain.
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	waitHeight(t, env, 5)
	m.Stop()
	_, loc, err := env.Chain.Tx(tx.ID())
	if err != nil {
		t.Fatalf("transaction not mined: %v", err)
	}
	blk, _ := env.Chain.BlockByHash(loc.BlockHash)
	if cb := blk.Txs[0]; cb.Amount != env.Params.Reward(loc.Height)+25 || cb.To != env.Miner.AccountAddress() {
		t.Fatalf("coinbase pays %d to %s, want reward+fee to the miner", cb.Amount, cb.To)
	}
	if m.BlocksMined() < 5 || m.Hashes() == 0 {
		t.Fatalf("mined %d blocks, %d hashes", m.BlocksMined(), m.Hashes())
	}
}

// hardEnv is a network whose difficulty no test will solve: the miner searches until told to stop.
func hardEnv(t testing.TB) *chaintest.Env {
	return chaintest.New(t, func(f *genesis.File) {
		f.Consensus.InitialDifficulty, f.Consensus.MinDifficulty = 1<<50, 1<<50
	})
}

// TestStopIsClean: Stop returns promptly with every thread gone, mid-search.
func TestStopIsClean(t *testing.T) {
	env := hardEnv(t)
	before := runtime.NumGoroutine()
	m, _ := newMiner(t, env, nil, 4)
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	if m.HashRate() <= 0 {
		t.Fatal("no hash rate while mining")
	}
	start := time.Now()
	m.Stop()
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Stop took %v", d)
	}
	time.Sleep(50 * time.Millisecond)
	if after := runtime.NumGoroutine(); after > before {
		t.Fatalf("%d goroutines before, %d after Stop", before, after)
	}
	if m.HashRate() != 0 {
		t.Fatal("hash rate reported after stop")
	}
}

// TestTemplateRefresh: a new tip makes the miner rebuild at once; new transactions make it
// rebuild after the debounce delay, with the transaction in the template.
func TestTemplateRefresh(t *testing.T) {
	env := hardEnv(t)
	pool := mempool.New(mempool.Config{}, env.Chain)
	m, _ := newMiner(t, env, pool, 1)
	m.cfg.TxRefreshDelay = 50 * time.Millisecond
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	waitFor(t, func() bool { return m.Templates() >= 1 })
	n := m.Templates()
	m.NewTip()
	waitFor(t, func() bool { return m.Templates() > n })
	n = m.Templates()
	if err := pool.Add(env.Transfer(env.Alice, env.Bob, 1, 3, 0)); err != nil {
		t.Fatal(err)
	}
	m.NewTransactions()
	waitFor(t, func() bool { return m.Templates() > n })
	tmpl, err := m.BuildTemplate()
	if err != nil || len(tmpl.Txs) != 2 || tmpl.Txs[0].Amount != env.Params.Reward(1)+3 {
		t.Fatalf("template %v: %d txs", err, len(tmpl.Txs))
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestStartNeedsKey(t *testing.T) {
	env := chaintest.New(t)
	if err := New(Config{}, env.Chain, nil).Start(context.Background()); err != ErrNoKey {
		t.Fatalf("Start without key: %v", err)
	}
}

// TestWaitsInsteadOfMiningAheadOfTheClock: when the next timestamp would break the future-time
// rule, the template is refused rather than mined and rejected.
func TestWaitsInsteadOfMiningAheadOfTheClock(t *testing.T) {
	env := chaintest.New(t)
	env.Extend(40) // timestamps 10s apart: the median of the last 11 is ~350s after genesis
	// The miner's clock sits far behind the chain's timestamps.
	m := New(Config{Key: env.Miner, Now: func() time.Time { return time.Unix(chaintest.GenesisTime, 0) }}, env.Chain, nil)
	if _, err := m.BuildTemplate(); !errors.Is(err, ErrAheadOfClock) {
		t.Fatalf("BuildTemplate: %v, want ErrAheadOfClock", err)
	}
}

// TestMinerWaitsAtHaltHeight: with a halt height the miner mines up to it and then builds no
// template (ErrHalted) instead of mining blocks the node would refuse.
func TestMinerWaitsAtHaltHeight(t *testing.T) {
	env := chaintest.New(t)
	m := New(Config{Threads: 1, Key: env.Miner, Now: func() time.Time { return env.Now }, HaltHeight: 2}, env.Chain, nil)
	env.Chain.AddListener(tipWatcher{m})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	waitHeight(t, env, 2)
	time.Sleep(300 * time.Millisecond)
	m.Stop()
	if h := env.Chain.Tip().Height; h != 2 {
		t.Fatalf("height %d, want the halt height 2", h)
	}
	if _, err := m.BuildTemplate(); !errors.Is(err, ErrHalted) {
		t.Fatalf("template at the halt height: %v, want ErrHalted", err)
	}
}

// TestMinerThreadsAtBackgroundPriority: every mining thread runs at nice 19.
func TestMinerThreadsAtBackgroundPriority(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("thread nice values are Linux's")
	}
	env := hardEnv(t)
	m, _ := newMiner(t, env, nil, 2)
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	deadline := time.Now().Add(10 * time.Second)
	for {
		niced, err := nicedThreads()
		if err != nil {
			t.Fatal(err)
		}
		if niced >= 2 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d threads at nice %d, want the 2 mining threads", niced, backgroundNice)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// nicedThreads counts this process's threads at backgroundNice (field 19 of /proc/self/task/*/stat).
func nicedThreads() (int, error) {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, task := range tasks {
		stat, err := os.ReadFile("/proc/self/task/" + task.Name() + "/stat")
		if err != nil {
			continue // the thread ended
		}
		// Fields after the command name, which is in parentheses and may hold spaces.
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(fields) > 16 && fields[16] == strconv.Itoa(backgroundNice) {
			n++
		}
	}
	return n, nil
}
