// Package p2p owns a node's peer-to-peer network: mutually authenticated TLS connections,
// the version handshake, membership enforcement, discovery and connection management, gossip
// (announce-then-fetch) and headers-first sync.
package p2p

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/chainnet/chainnet/internal/chain"
	"github.com/chainnet/chainnet/internal/keys"
	"github.com/chainnet/chainnet/internal/mempool"
	"github.com/chainnet/chainnet/internal/permissions"
	"github.com/chainnet/chainnet/internal/store"
	"github.com/chainnet/chainnet/internal/wire"
)

// Backend is the node as the network sees it: where blocks and transactions from peers go, and
// what the network serves to peers.
type Backend interface {
	Chain() *chain.Chain
	Mempool() *mempool.Pool
	// ProcessBlock takes a block this node asked for (a body of a header chain it downloads);
	// ProcessUnrequestedBlock one a peer announced or pushed.
	ProcessBlock(ctx context.Context, b *wire.Block) (chain.ProcessResult, error)
	ProcessUnrequestedBlock(ctx context.Context, b *wire.Block) (chain.ProcessResult, error)
	// ProcessBlocks takes downloaded blocks in chain order and commits them in batches
	// (chain.Chain.ProcessBlocks).
	ProcessBlocks(ctx context.Context, blocks []*wire.Block) ([]chain.ProcessResult, error)
	SubmitTx(tx *wire.Tx) error
}

// Roles.
const (
	RoleValidator = "validator"
	RoleObserver  = "observer"
)

// Config configures the network of one node.
type Config struct {
	Key  *keys.Key // identity
	Role string    // validator or observer
	Org  string
	// ListenAddr is the P2P listen address (host:port; port 0 picks a free one).
	ListenAddr string
	// AdvertiseAddr is the address peers should dial us at, shared in the handshake for address
	// gossip. Empty: the listen address when it names a host, else nothing.
	AdvertiseAddr string
	// DNSSeeds are names resolved (A/AAAA) for peers on DefaultPort; re-resolved every DNSInterval.
	DNSSeeds []string
	// Bootstrap peers: host:port[#nodeId].
	Bootstrap   []string
	DefaultPort int
	MaxOutbound int
	MaxInbound  int
	// Permissions is the permission file watcher (consortium and private networks, optional): a
	// hint of whom to dial, and whom to admit while our tip is behind. Membership itself is chain
	// state (chain.Membership).
	Permissions *permissions.Watcher
	Store       *store.DB
	Registry    prometheus.Registerer
	Logger      *slog.Logger
	Timing      Timing
}

// Timing holds the protocol's timers; tests shorten them.
type Timing struct {
	Handshake     time.Duration // whole TLS + version exchange
	PingInterval  time.Duration
	IdleTimeout   time.Duration // no message at all from a peer (which must answer pings) for this long: disconnect
	Stall         time.Duration // a peer with blocks in flight that delivers nothing for this long is dropped
	TxRequest     time.Duration // a transaction requested and not delivered for this long is asked of its next announcer
	DialInterval  time.Duration // connection manager tick
	DNSInterval   time.Duration
	SyncGrace     time.Duration // a node that found no peer by then reports synced (first node of a network)
	BanDuration   time.Duration
	BackoffBase   time.Duration
	BackoffMax    time.Duration
	ReloadPermits time.Duration // permission file polling
	// CatchUp: while our tip is older than this, the permission file's members are admitted
	// provisionally (see membership.go). Default: 30 target block times, at least 2 minutes.
	CatchUp time.Duration
}

// DefaultTiming is what nodes run with.
func DefaultTiming() Timing {
	return Timing{
		Handshake:     10 * time.Second,
		PingInterval:  30 * time.Second,
		IdleTimeout:   90 * time.Second,
		Stall:         2 * time.Minute,
		TxRequest:     30 * time.Second,
		DialInterval:  2 * time.Second,
		DNSInterval:   30 * time.Second,
		SyncGrace:     15 * time.Second,
		BanDuration:   24 * time.Hour,
		BackoffBase:   time.Second,
		BackoffMax:    2 * time.Minute,
		ReloadPermits: 5 * time.Second,
	}
}

func (c Config) withDefaults() Config {
	d := DefaultTiming()
	t := &c.Timing
	for _, f := range []struct {
		v   *time.Duration
		def time.Duration
	}{{&t.Handshake, d.Handshake}, {&t.PingInterval, d.PingInterval}, {&t.IdleTimeout, d.IdleTimeout},
		{&t.Stall, d.Stall}, {&t.TxRequest, d.TxRequest}, {&t.DialInterval, d.DialInterval}, {&t.DNSInterval, d.DNSInterval},
		{&t.SyncGrace, d.SyncGrace}, {&t.BanDuration, d.BanDuration}, {&t.BackoffBase, d.BackoffBase},
		{&t.BackoffMax, d.BackoffMax}, {&t.ReloadPermits, d.ReloadPermits}} {
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	if c.Role == "" {
		c.Role = RoleValidator
	}
	if c.MaxOutbound == 0 {
		c.MaxOutbound = 8
	}
	if c.MaxInbound == 0 {
		c.MaxInbound = 117
	}
	if c.DefaultPort == 0 {
		c.DefaultPort = 9333
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Registry == nil {
		c.Registry = prometheus.NewRegistry()
	}
	return c
}

func (c Config) validate() error {
	if c.Key == nil {
		return errors.New("p2p: node key is required")
	}
	if c.Store == nil {
		return errors.New("p2p: store is required (peer table)")
	}
	if c.Role != RoleValidator && c.Role != RoleObserver {
		return fmt.Errorf("p2p: role %q: want validator or observer", c.Role)
	}
	for _, b := range c.Bootstrap {
		if _, err := ParseBootstrap(b); err != nil {
			return err
		}
	}
	return nil
}

// BootstrapPeer is a parsed --bootstrap entry.
type BootstrapPeer struct {
	Addr   string
	NodeID string // optional
}

// ParseBootstrap parses host:port[#nodeId].
func ParseBootstrap(s string) (BootstrapPeer, error) {
	addr, id, _ := strings.Cut(strings.TrimSpace(s), "#")
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return BootstrapPeer{}, fmt.Errorf("bootstrap %q: want host:port[#nodeId]", s)
	}
	if p, err := strconv.Atoi(port); err != nil || p <= 0 || p > 65535 {
		return BootstrapPeer{}, fmt.Errorf("bootstrap %q: bad port", s)
	}
	if id != "" {
		if _, err := keys.ParsePublicKey(id); err != nil {
			return BootstrapPeer{}, fmt.Errorf("bootstrap %q: node id: %w", s, err)
		}
	}
	return BootstrapPeer{Addr: addr, NodeID: strings.ToLower(id)}, nil
}
