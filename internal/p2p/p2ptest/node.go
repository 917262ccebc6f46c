package p2ptest

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/chainnet/chainnet/internal/chaintest"
	"github.com/chainnet/chainnet/internal/genesis"
	"github.com/chainnet/chainnet/internal/keys"
	"github.com/chainnet/chainnet/internal/node"
	"github.com/chainnet/chainnet/internal/nodetest"
	"github.com/chainnet/chainnet/internal/p2p"
	"github.com/chainnet/chainnet/internal/p2p/message"
	"github.com/chainnet/chainnet/internal/wire"
)

// Fast is the protocol's timers shortened so that attacks and their cures play out in seconds.
var Fast = p2p.Timing{
	Handshake: 3 * time.Second, PingInterval: time.Second, IdleTimeout: 10 * time.Second, Stall: 3 * time.Second,
	DialInterval: 100 * time.Millisecond, DNSInterval: time.Second, SyncGrace: 300 * time.Millisecond,
	BanDuration: time.Hour, BackoffBase: 100 * time.Millisecond, BackoffMax: time.Second, ReloadPermits: 100 * time.Millisecond,
	TxRequest: 2 * time.Second,
}

// Node is a real node (store, chain, mempool, API, P2P over TLS on loopback) run in-process.
type Node struct {
	t      testing.TB
	Dir    string
	N      *node.Node
	Srv    *p2p.Server
	Miner  *keys.Key
	cancel context.CancelFunc
	done   chan error
}

// NodeOption changes a node's configuration before it starts.
type NodeOption func(*node.Config)

// WriteGenesis writes the chaintest genesis, changed by mutate, into a temp dir and returns its
// path: every node started on it is on the same network.
func WriteGenesis(t testing.TB, mutate ...func(*genesis.File)) string {
	t.Helper()
	f := chaintest.Genesis(t)
	for _, m := range mutate {
		m(f)
	}
	return nodetest.WriteGenesis(t, t.TempDir(), f)
}

// StartNode runs a node on genesisPath in a fresh directory with Fast timing; the test's cleanup
// stops it. CHAINNET_TEST_LOG=1 prints its log.
func StartNode(t testing.TB, genesisPath string, opts ...NodeOption) *Node {
	t.Helper()
	cfg := node.Config{DataDir: t.TempDir(), GenesisPath: genesisPath, APIAddr: "127.0.0.1:0", P2PAddr: "127.0.0.1:0", MaxOutbound: 4}
	if os.Getenv("CHAINNET_TEST_LOG") != "" {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	for _, o := range opts {
		o(&cfg)
	}
	return start(t, cfg)
}

func start(t testing.TB, cfg node.Config) *Node {
	t.Helper()
	n, err := node.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := n.AttachP2P(Fast)
	if err != nil {
		n.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	tn := &Node{t: t, Dir: cfg.DataDir, N: n, Srv: srv, Miner: n.MinerKey(), cancel: cancel, done: make(chan error, 1)}
	go func() { tn.done <- n.Run(ctx) }()
	WaitFor(t, 5*time.Second, "p2p listening", func() bool { return srv.Addr() != nil })
	t.Cleanup(tn.Stop)
	return tn
}

// Restart stops the node and runs it again on the same directory (keys, chain, peer table) and
// P2P address.
func (tn *Node) Restart() *Node {
	tn.t.Helper()
	cfg := tn.N.Config()
	cfg.P2PAddr = tn.Addr()
	cfg.APIAddr = "127.0.0.1:0"
	tn.Stop()
	return start(tn.t, cfg)
}

// Stop stops the node and waits for it.
func (tn *Node) Stop() {
	if tn.cancel == nil {
		return
	}
	tn.cancel()
	select {
	case <-tn.done:
	case <-time.After(15 * time.Second):
		tn.t.Errorf("node did not stop")
	}
	tn.cancel = nil
}

// Addr is the node's P2P address.
func (tn *Node) Addr() string { return tn.Srv.Addr().String() }

// ID is the node's identity in hex.
func (tn *Node) ID() string { return tn.Srv.NodeID().String() }

// Connect tells tn about other as a bootstrap peer (tn dials it).
func (tn *Node) Connect(other *Node) { tn.Srv.AddAddress(other.Addr(), other.ID()) }

// Params are the node's network parameters.
func (tn *Node) Params() *genesis.Params { return tn.N.Chain().Params() }

// Version is an honest version message for this node's network.
func (tn *Node) Version() *message.Version { return Version(tn.Params()) }

// Tip is the node's best block hash; Height its height.
func (tn *Node) Tip() wire.Hash { return tn.N.Chain().Tip().Hash }
func (tn *Node) Height() uint64 { return tn.N.Chain().Tip().Height }

// Mine builds a valid block with txs on tn's tip (signed by tn's miner key) and processes it as
// the node's own miner would; the node announces it.
func (tn *Node) Mine(txs ...*wire.Tx) *wire.Block {
	tn.t.Helper()
	b := chaintest.BuildBlock(tn.t, tn.N.Chain(), wire.ZeroHash, tn.Miner, txs...)
	if _, err := tn.N.ProcessBlock(context.Background(), b); err != nil {
		tn.t.Fatalf("mine: %v", err)
	}
	return b
}

// Dial connects a hostile peer with a fresh identity and an honest handshake.
func (tn *Node) Dial() (*Peer, error) {
	return Dial(context.Background(), tn.Addr(), nil, tn.Version())
}

// MustDial is Dial that fails the test on error.
func (tn *Node) MustDial() *Peer {
	tn.t.Helper()
	p, err := tn.Dial()
	if err != nil {
		tn.t.Fatalf("dial %s: %v", tn.Addr(), err)
	}
	tn.t.Cleanup(p.Close)
	return p
}

// Metric sums the samples of a counter or gauge of the node whose labels include the given
// name/value pairs.
func (tn *Node) Metric(name string, labels ...string) float64 {
	tn.t.Helper()
	mfs, err := tn.N.Metrics().Registry.Gather()
	if err != nil {
		tn.t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.Metric {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.Label {
					if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				sum += m.Counter.GetValue()
			case m.Gauge != nil:
				sum += m.Gauge.GetValue()
			}
		}
	}
	return sum
}

// WaitFor polls cond every 20 ms until it holds, failing the test after d.
func WaitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	if !Eventually(d, cond) {
		t.Fatalf("timed out after %s waiting for %s", d, what)
	}
}

// Eventually polls cond every 20 ms for at most d and reports whether it held.
func Eventually(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}
