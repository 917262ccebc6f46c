// Package mining owns block production: building a block template from the tip and the mempool,
// searching nonces on several threads with midstate hashing, and submitting solved blocks.
package mining

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chainnet/chainnet/internal/chain"
	"github.com/chainnet/chainnet/internal/genesis"
	"github.com/chainnet/chainnet/internal/keys"
	"github.com/chainnet/chainnet/internal/wire"
)

// Chain is what the miner needs of the chain.
type Chain interface {
	Tip() chain.Tip
	NextBits() uint32
	MedianTimePast() uint64
	Params() *genesis.Params
	ProcessBlock(ctx context.Context, b *wire.Block) (chain.ProcessResult, error)
	// MinerAllowed reports whether the membership after the tip lets key sign the next block.
	MinerAllowed(key [32]byte) bool
	// FilterGovernance drops the governance transactions the next block could not carry.
	FilterGovernance(height uint64, txs []*wire.Tx) []*wire.Tx
}

// TxSource supplies transactions for templates (the mempool).
type TxSource interface {
	Select(maxBytes int) []*wire.Tx
}

// Config configures a Miner.
type Config struct {
	// Threads searching nonces. Default: runtime.NumCPU().
	Threads int
	// Key signs blocks; the coinbase pays its address.
	Key    *keys.Key
	Logger *slog.Logger
	// Now is the clock for template timestamps. Default time.Now.
	Now func() time.Time
	// OnBlock, if set, is called with every solved block and the chain's verdict.
	OnBlock func(b *wire.Block, res chain.ProcessResult, err error)
	// TxRefreshDelay debounces template rebuilds for new transactions. Default 500ms.
	TxRefreshDelay time.Duration
	// TemplateMaxAge rebuilds a template this old, to move its timestamp. Default 5s.
	TemplateMaxAge time.Duration
	// HaltHeight, when non-zero, is the last height to mine: the miner waits at it.
	HaltHeight uint64
}

// ErrAheadOfClock is returned by BuildTemplate when the next block's timestamp would be too far in
// the future to be accepted.
var ErrAheadOfClock = errors.New("template ahead of the clock")

// ErrHalted is returned by BuildTemplate when the next block would be above Config.HaltHeight.
var ErrHalted = errors.New("halt height reached")

// ErrNotAMember is returned by BuildTemplate on a permissioned network whose membership after the
// tip does not list the miner's key: its blocks would be invalid, so it waits (an organization
// whose admission is still being voted on, or whose key was rotated out).
var ErrNotAMember = errors.New("miner key is not a member's miner key")

// ErrNoKey is returned by Start without a miner key.
var ErrNoKey = errors.New("miner: no miner key")

// batch is how many nonces a thread tries between checks for a stale template; at ~20 MH/s per
// core (the SHA-NI kernel) it is about 1 ms, so a new tip stops the search within a millisecond.
// Even, because the kernel hashes nonces in pairs.
const batch = 16384

// backgroundNice is the nice value of mining threads (on Linux): the lowest priority, so that
// transaction admission, block validation and the API get the CPU first and the miner takes what
// is left.
const backgroundNice = 19

// Miner produces blocks.
type Miner struct {
	cfg   Config
	chain Chain
	txs   TxSource
	log   *slog.Logger

	generation atomic.Uint64 // bumped to abandon the current template
	hashes     atomic.Uint64 // total hashes computed
	mined      atomic.Uint64
	templates  atomic.Uint64
	refresh    chan bool // true: new tip (urgent); false: new transactions

	rateMu   sync.Mutex
	rate     float64
	rateAt   time.Time
	rateBase uint64

	stop    context.CancelFunc
	done    chan struct{}
	running atomic.Bool
}

// New returns a stopped miner.
func New(cfg Config, c Chain, txs TxSource) *Miner {
	if cfg.Threads <= 0 {
		cfg.Threads = runtime.NumCPU()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.TxRefreshDelay <= 0 {
		cfg.TxRefreshDelay = 500 * time.Millisecond
	}
	if cfg.TemplateMaxAge <= 0 {
		cfg.TemplateMaxAge = 5 * time.Second
	}
	return &Miner{cfg: cfg, chain: c, txs: txs, log: cfg.Logger, refresh: make(chan bool, 1)}
}

// Start begins mining until Stop or ctx ends.
func (m *Miner) Start(ctx context.Context) error {
	if m.cfg.Key == nil {
		return ErrNoKey
	}
	if !m.running.CompareAndSwap(false, true) {
		return errors.New("miner: already running")
	}
	ctx, m.stop = context.WithCancel(ctx)
	m.done = make(chan struct{})
	m.rateAt = time.Now()
	go m.loop(ctx)
	m.log.Info("miner started", "threads", m.cfg.Threads, "address", m.cfg.Key.Address())
	return nil
}

// Stop stops mining and returns once every thread has exited.
func (m *Miner) Stop() {
	if !m.running.Load() {
		return
	}
	m.stop()
	<-m.done
	m.running.Store(false)
}

// NewTip tells the miner that the best chain changed: its template is stale now.
func (m *Miner) NewTip() {
	m.generation.Add(1)
	m.signal(true)
}

// NewTransactions tells the miner that fee-paying work arrived; it rebuilds after a short delay.
func (m *Miner) NewTransactions() { m.signal(false) }

func (m *Miner) signal(urgent bool) {
	select {
	case m.refresh <- urgent:
	default:
		if urgent {
			// Replace a pending non-urgent signal: drain and resend.
			select {
			case <-m.refresh:
			default:
			}
			select {
			case m.refresh <- true:
			default:
			}
		}
	}
}

// BlocksMined is the number of blocks this miner solved that the chain accepted.
func (m *Miner) BlocksMined() uint64 { return m.mined.Load() }

// Templates is the number of block templates built (each new tip or transaction batch makes one).
func (m *Miner) Templates() uint64 { return m.templates.Load() }

// Hashes is the total number of hashes computed.
func (m *Miner) Hashes() uint64 { return m.hashes.Load() }

// HashRate is hashes per second, averaged over the last few seconds.
func (m *Miner) HashRate() float64 {
	m.rateMu.Lock()
	defer m.rateMu.Unlock()
	now := time.Now()
	if elapsed := now.Sub(m.rateAt); elapsed >= time.Second {
		total := m.hashes.Load()
		inst := float64(total-m.rateBase) / elapsed.Seconds()
		if m.rate == 0 {
			m.rate = inst
		} else {
			m.rate = 0.5*m.rate + 0.5*inst
		}
		m.rateAt, m.rateBase = now, total
	}
	if !m.running.Load() {
		return 0
	}
	return m.rate
}

// BuildTemplate makes a block on the current tip: coinbase paying reward + fees, then the
// mempool's best transactions within the block size limit.
func (m *Miner) BuildTemplate() (*wire.Block, error) {
	tip := m.chain.Tip()
	p := m.chain.Params()
	height := tip.Height + 1
	if m.cfg.HaltHeight > 0 && height > m.cfg.HaltHeight {
		return nil, fmt.Errorf("%w: next block %d, halt at %d", ErrHalted, height, m.cfg.HaltHeight)
	}
	if !m.chain.MinerAllowed([32]byte(m.cfg.Key.Public)) {
		return nil, fmt.Errorf("%w: %s at height %d", ErrNotAMember, m.cfg.Key.NodeID()[:8], tip.Height)
	}
	room := int(p.MaxBlockSize) - wire.BlockOverhead - wire.CoinbaseSize - 10
	var txs []*wire.Tx
	if m.txs != nil {
		txs = m.chain.FilterGovernance(height, m.txs.Select(room))
	}
	var fees uint64
	for _, tx := range txs {
		if fees > math.MaxUint64-tx.Fee {
			return nil, fmt.Errorf("template: fees overflow")
		}
		fees += tx.Fee
	}
	cb := wire.NewCoinbase(p.ChainID, m.cfg.Key.AccountAddress(), p.Reward(height)+fees, height, m.cfg.Key.Public)
	now := uint64(m.cfg.Now().Unix())
	ts := now
	if mtp := m.chain.MedianTimePast(); ts <= mtp {
		ts = mtp + 1
	}
	// Blocks faster than one a second push timestamps ahead of the clock (each must exceed the
	// median of the last 11). Past the future limit the chain would reject the block: wait instead.
	if ts > now+p.MaxFutureBlockTime {
		return nil, fmt.Errorf("%w: next timestamp %d is %ds ahead", ErrAheadOfClock, ts, ts-now)
	}
	b := &wire.Block{
		Header: wire.Header{Version: 1, PrevHash: tip.Hash, Timestamp: ts, Bits: m.chain.NextBits()},
		Txs:    append([]*wire.Tx{cb}, txs...),
	}
	b.Header.MerkleRoot = b.ComputeMerkleRoot()
	return b, nil
}
