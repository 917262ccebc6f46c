// Package node wires one chainnode together: keys, genesis, store, chain, mempool, miner, metrics,
// the HTTP API and the P2P network, and owns their start and orderly stop.
package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/chainnet/chainnet/internal/api"
	"github.com/chainnet/chainnet/internal/chain"
	"github.com/chainnet/chainnet/internal/explorer"
	"github.com/chainnet/chainnet/internal/genesis"
	"github.com/chainnet/chainnet/internal/keys"
	"github.com/chainnet/chainnet/internal/mempool"
	"github.com/chainnet/chainnet/internal/metrics"
	"github.com/chainnet/chainnet/internal/mining"
	"github.com/chainnet/chainnet/internal/permissions"
	"github.com/chainnet/chainnet/internal/store"
	"github.com/chainnet/chainnet/internal/wire"
)

// Roles.
const (
	RoleValidator = "validator"
	RoleObserver  = "observer"
)

// Config is a node's configuration (see docs/design/node-contract.md for the flags).
type Config struct {
	DataDir      string
	GenesisPath  string
	NodeKeyPath  string
	MinerKeyPath string
	APIAddr      string
	P2PAddr      string
	Mine         bool
	MinerThreads int
	// HaltHeight, when non-zero, is the last height the node connects or mines (a scheduled
	// upgrade: every node stops at the same block, and restarts on the new version).
	HaltHeight uint64
	// MinChainWork (decimal, or hex with 0x) is the least cumulative work of a chain worth downloading, or of a
	// pushed block worth keeping (chain.Options.MinChainWork); empty: none.
	MinChainWork    string
	Role            string
	Org             string
	PermissionsPath string
	DNSSeeds        []string
	Bootstrap       []string
	MaxOutbound     int
	MaxInbound      int
	// AdvertiseAddr is the P2P address peers should dial (e.g. the pod's stable DNS name).
	AdvertiseAddr string
	// PingInterval and PeerTimeout tune dead-peer detection (zero: 30 s and 90 s).
	PingInterval time.Duration
	PeerTimeout  time.Duration
	Version      string
	Logger       *slog.Logger
}

// Network is the P2P layer as the node sees it: blocks and transactions flow in through
// Node.ProcessBlock and Node.SubmitTx, and out through the Announce methods.
type Network interface {
	Start(ctx context.Context) error
	AnnounceBlock(b *wire.Block)
	AnnounceTx(tx *wire.Tx)
	PeerCount() int
	Synced() bool
	Close() error
}

// ErrNoGenesis is returned when the genesis file is missing.
var ErrNoGenesis = errors.New("no genesis file")

// Node is a running chainnode.
type Node struct {
	cfg      Config
	log      *slog.Logger
	db       *store.DB
	chain    *chain.Chain
	pool     *mempool.Pool
	miner    *mining.Miner
	metrics  *metrics.Node
	nodeKey  *keys.Key
	minerKey *keys.Key

	netMu       sync.RWMutex
	network     Network
	permissions *permissions.Watcher

	apiAddr chan net.Addr
	boundMu sync.Mutex
	bound   net.Addr
}

// WithDefaults fills unset paths and values.
func (c Config) WithDefaults() Config {
	if c.DataDir == "" {
		home, _ := os.UserHomeDir()
		c.DataDir = filepath.Join(home, ".chainnode")
	}
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&c.GenesisPath, filepath.Join(c.DataDir, "genesis.json"))
	def(&c.NodeKeyPath, filepath.Join(c.DataDir, "node-key.json"))
	def(&c.MinerKeyPath, filepath.Join(c.DataDir, "miner-key.json"))
	def(&c.APIAddr, "127.0.0.1:8545")
	def(&c.P2PAddr, "0.0.0.0:9333")
	def(&c.Role, RoleValidator)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate checks the configuration before anything is opened.
func (c Config) Validate() error {
	if c.Role != RoleValidator && c.Role != RoleObserver {
		return fmt.Errorf("role %q: must be %s or %s", c.Role, RoleValidator, RoleObserver)
	}
	if c.Mine && c.Role == RoleObserver {
		return errors.New("mine: observers never mine; drop --mine or use --role validator")
	}
	if c.MinerThreads < 0 {
		return fmt.Errorf("miner-threads %d: must be 0 (all cores) or more", c.MinerThreads)
	}
	return nil
}

// New opens the node's keys, genesis and store. It starts nothing: call Run.
func New(cfg Config) (*Node, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	n := &Node{cfg: cfg, log: cfg.Logger, metrics: metrics.New(), apiAddr: make(chan net.Addr, 1)}
	gen, err := loadGenesis(cfg.GenesisPath)
	if err != nil {
		return nil, err
	}
	params, err := gen.Params()
	if err != nil {
		return nil, err
	}
	if n.nodeKey, err = loadKey(cfg.NodeKeyPath, n.log, "node"); err != nil {
		return nil, err
	}
	if n.minerKey, err = loadKey(cfg.MinerKeyPath, n.log, "miner"); err != nil {
		return nil, err
	}
	if n.db, err = store.Open(cfg.DataDir); err != nil {
		return nil, err
	}
	minWork, ok := new(big.Int).SetString(cfg.MinChainWork, 0)
	if cfg.MinChainWork == "" {
		minWork, ok = nil, true
	}
	if !ok || (minWork != nil && minWork.Sign() < 0) {
		n.db.Close()
		return nil, fmt.Errorf("--min-chain-work %q: want a number (decimal, or hex with 0x)", cfg.MinChainWork)
	}
	n.chain, err = chain.New(n.db, params, chain.Options{Logger: n.log, HaltHeight: cfg.HaltHeight, MinChainWork: minWork})
	if err != nil {
		n.db.Close()
		return nil, err
	}
	n.pool = mempool.New(mempool.Config{}, n.chain)
	n.miner = mining.New(mining.Config{Threads: cfg.MinerThreads, Key: n.minerKey, Logger: n.log, HaltHeight: cfg.HaltHeight}, minerChain{n}, n.pool)
	n.chain.AddListener(n.pool)
	n.chain.AddListener(chainEvents{n})
	n.pool.Subscribe(n.txAdmitted)
	n.network = noNetwork{}
	n.updateChainMetrics()
	return n, nil
}

func loadGenesis(path string) (*genesis.File, error) {
	f, err := genesis.Load(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w at %s: create one with `chainnode genesis --out %s` (every node of a network needs the same file)", ErrNoGenesis, path, path)
	}
	return f, err
}

func loadKey(path string, log *slog.Logger, what string) (*keys.Key, error) {
	k, created, err := keys.LoadOrCreate(path)
	if err != nil {
		return nil, fmt.Errorf("%s key: %w", what, err)
	}
	if created {
		log.Info("created key", "key", what, "path", path, "public", k.NodeID())
	}
	return k, nil
}

// SetNetwork plugs in the P2P layer. Call before Run.
func (n *Node) SetNetwork(net Network) {
	n.netMu.Lock()
	defer n.netMu.Unlock()
	n.network = net
}

func (n *Node) net() Network {
	n.netMu.RLock()
	defer n.netMu.RUnlock()
	return n.network
}

// Chain returns the node's chain (for the P2P layer and tests).
func (n *Node) Chain() *chain.Chain { return n.chain }

// Mempool returns the node's mempool.
func (n *Node) Mempool() *mempool.Pool { return n.pool }

// Metrics returns the node's collectors; the P2P layer registers on Metrics().Registry.
func (n *Node) Metrics() *metrics.Node { return n.metrics }

// NodeKey is the node's identity key.
func (n *Node) NodeKey() *keys.Key { return n.nodeKey }

// MinerKey is the key that signs mined blocks.
func (n *Node) MinerKey() *keys.Key { return n.minerKey }

// Config returns the effective configuration.
func (n *Node) Config() Config { return n.cfg }

// APIAddr returns the API's bound address once Run listens (useful with port 0).
func (n *Node) APIAddr(ctx context.Context) (net.Addr, error) {
	n.boundMu.Lock()
	if n.bound != nil {
		defer n.boundMu.Unlock()
		return n.bound, nil
	}
	n.boundMu.Unlock()
	select {
	case a := <-n.apiAddr:
		n.boundMu.Lock()
		n.bound = a
		n.boundMu.Unlock()
		return a, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Run starts the API, the network and (if configured) the miner, and blocks until ctx ends; then
// it stops them in reverse order and closes the store.
func (n *Node) Run(ctx context.Context) error {
	defer n.db.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	srv := api.NewServer(n, n.log, n.metrics.Registry, n.metrics.APIRequests)
	srv.Mount("GET /explorer/", srv.Limit(explorer.Handler("/explorer/", n, n.log)))
	srv.Mount("GET /{$}", http.RedirectHandler("/explorer/", http.StatusFound))
	apiErr := make(chan error, 1)
	go func() { apiErr <- srv.ListenAndServe(ctx, n.cfg.APIAddr, n.apiAddr) }()

	if err := n.net().Start(ctx); err != nil {
		return fmt.Errorf("start network: %w", err)
	}
	defer n.net().Close()
	if n.cfg.Mine {
		if err := n.miner.Start(ctx); err != nil {
			return err
		}
		defer n.miner.Stop()
	}
	go n.refreshGauges(ctx)
	tip := n.chain.Tip()
	n.log.Info("node running", "network", n.chain.Params().NetworkID, "node_id", n.nodeKey.NodeID(),
		"role", n.cfg.Role, "height", tip.Height, "tip", tip.Hash, "api", n.cfg.APIAddr, "mining", n.cfg.Mine)
	select {
	case <-ctx.Done():
		n.log.Info("node stopping")
		return <-apiErr
	case err := <-apiErr:
		return err
	}
}

// refreshGauges samples the values that change without an event (hash rate, mempool).
func (n *Node) refreshGauges(ctx context.Context) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n.metrics.HashRate.Set(n.miner.HashRate())
			n.metrics.MempoolTxs.Set(float64(n.pool.Len()))
			n.metrics.MempoolBytes.Set(float64(n.pool.Bytes()))
			n.metrics.Orphans.Set(float64(n.chain.OrphanCount()))
			if n.net().Synced() {
				n.metrics.Synced.Set(1)
			} else {
				n.metrics.Synced.Set(0)
			}
		}
	}
}

// noNetwork is the network of a node without peers.
type noNetwork struct{}

func (noNetwork) Start(context.Context) error { return nil }
func (noNetwork) AnnounceBlock(*wire.Block)   {}
func (noNetwork) AnnounceTx(*wire.Tx)         {}
func (noNetwork) PeerCount() int              { return 0 }
func (noNetwork) Synced() bool                { return true }
func (noNetwork) Close() error                { return nil }

// Close releases the store of a node that was opened but not run (Run closes it itself).
func (n *Node) Close() error { return n.db.Close() }
