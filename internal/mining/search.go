package mining

import (
	"context"
	"errors"
	"github.com/chainnet/chainnet/internal/chain"
	"sync"
	"time"

	"github.com/chainnet/chainnet/internal/pow"
	"github.com/chainnet/chainnet/internal/wire"
)

// loop builds templates and runs searches until ctx ends.
func (m *Miner) loop(ctx context.Context) {
	defer close(m.done)
	for ctx.Err() == nil {
		b, err := m.BuildTemplate()
		if errors.Is(err, ErrAheadOfClock) || errors.Is(err, ErrHalted) || errors.Is(err, ErrNotAMember) {
			m.log.Debug("not mining for now", "err", err)
			if !sleep(ctx, time.Second) {
				return
			}
			continue
		}
		if err != nil {
			m.log.Error("build block template", "err", err)
			if !sleep(ctx, time.Second) {
				return
			}
			continue
		}
		m.templates.Add(1)
		gen := m.generation.Add(1)
		solved := m.search(ctx, b, gen)
		if solved != nil {
			m.submit(ctx, solved)
		}
	}
}

// search runs the threads on one template until one solves it, the template goes stale (new tip,
// new transactions after a debounce, or age) or ctx ends.
func (m *Miner) search(ctx context.Context, b *wire.Block, gen uint64) *wire.Block {
	found := make(chan uint64, 1)
	var wg sync.WaitGroup
	target := pow.TargetBytes(b.Header.Bits)
	// Split the 64-bit nonce space: thread i starts at i·2^64/threads, so threads never repeat
	// each other's work within a template.
	stride := ^uint64(0)/uint64(m.cfg.Threads) + 1
	for i := 0; i < m.cfg.Threads; i++ {
		wg.Add(1)
		go func(start uint64) {
			defer wg.Done()
			m.worker(b.Header, start, gen, &target, found)
		}(uint64(i) * stride)
	}
	solved := m.waitForStale(ctx, gen, found)
	m.generation.CompareAndSwap(gen, gen+1) // stop the threads if still on this template
	wg.Wait()
	if solved == nil {
		return nil
	}
	b.Header.Nonce = *solved
	return b
}

// waitForStale returns the winning nonce, or nil when the template should be abandoned.
func (m *Miner) waitForStale(ctx context.Context, gen uint64, found <-chan uint64) *uint64 {
	age := time.NewTimer(m.cfg.TemplateMaxAge)
	defer age.Stop()
	var debounce <-chan time.Time
	for {
		select {
		case nonce := <-found:
			return &nonce
		case <-ctx.Done():
			return nil
		case <-age.C:
			return nil
		case <-debounce:
			return nil
		case urgent := <-m.refresh:
			if urgent || m.generation.Load() != gen {
				return nil
			}
			if debounce == nil {
				debounce = time.After(m.cfg.TxRefreshDelay)
			}
		}
	}
}

// worker searches nonces from start, checking every batch whether the template is still current.
func (m *Miner) worker(h wire.Header, start, gen uint64, target *[32]byte, found chan<- uint64) {
	if err := lowerPriority(); err != nil {
		m.log.Debug("miner thread keeps normal priority", "err", err)
	}
	hasher, err := pow.NewHeaderHasher(&h)
	if err != nil {
		m.log.Error("miner thread", "err", err)
		return
	}
	for nonce := start; m.generation.Load() == gen; nonce += batch {
		if n, ok := hasher.Search(nonce, batch, target); ok {
			m.hashes.Add(n - nonce + 1)
			select {
			case found <- n:
			default:
			}
			return
		}
		m.hashes.Add(batch)
	}
}

// submit signs a solved block and hands it to the chain.
func (m *Miner) submit(ctx context.Context, b *wire.Block) {
	b.SignBlock(m.cfg.Key.Private)
	res, err := m.chain.ProcessBlock(ctx, b)
	if err != nil && ctx.Err() != nil {
		return // the miner is stopping: the chain never judged this block
	}
	if err == nil && res.Status == chain.StatusConnected {
		m.mined.Add(1)
		m.log.Info("mined block", "height", res.Height, "hash", res.Hash, "txs", len(b.Txs))
	} else if err != nil {
		m.log.Warn("mined block rejected", "hash", b.Hash(), "err", err)
	}
	if m.cfg.OnBlock != nil {
		m.cfg.OnBlock(b, res, err)
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
