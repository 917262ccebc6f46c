package p2p_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chainnet/chainnet/internal/chaintest"
	"github.com/chainnet/chainnet/internal/genesis"
	"github.com/chainnet/chainnet/internal/keys"
	"github.com/chainnet/chainnet/internal/node"
	"github.com/chainnet/chainnet/internal/nodetest"
	"github.com/chainnet/chainnet/internal/p2p"
	"github.com/chainnet/chainnet/internal/wire"
)

// fast shortens the protocol's timers so that tests run in seconds.
var fast = p2p.Timing{
	Handshake: 3 * time.Second, PingInterval: time.Second, IdleTimeout: 10 * time.Second, Stall: 5 * time.Second,
	DialInterval: 100 * time.Millisecond, DNSInterval: time.Second, SyncGrace: 300 * time.Millisecond,
	BanDuration: time.Hour, BackoffBase: 100 * time.Millisecond, BackoffMax: time.Second, ReloadPermits: 100 * time.Millisecond,
	TxRequest: 2 * time.Second,
}

// tnode is a real node (store, chain, mempool, API, P2P over TLS on loopback) run in-process.
type tnode struct {
	t      testing.TB
	dir    string
	n      *node.Node
	srv    *p2p.Server
	cancel context.CancelFunc
	done   chan error
	miner  *keys.Key
}

type nodeOpt func(*node.Config)

// startNode runs a node on genesisPath in dir (a fresh temp dir if empty).
func startNode(t testing.TB, genesisPath, dir string, opts ...nodeOpt) *tnode {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	cfg := node.Config{DataDir: dir, GenesisPath: genesisPath, APIAddr: "127.0.0.1:0", P2PAddr: "127.0.0.1:0", MaxOutbound: 4}
	if os.Getenv("CHAINNET_TEST_LOG") != "" {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	for _, o := range opts {
		o(&cfg)
	}
	n, err := node.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := n.AttachP2P(fast)
	if err != nil {
		n.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	tn := &tnode{t: t, dir: dir, n: n, srv: srv, cancel: cancel, done: make(chan error, 1), miner: n.MinerKey()}
	go func() { tn.done <- n.Run(ctx) }()
	waitFor(t, 5*time.Second, "p2p listening", func() bool { return srv.Addr() != nil })
	t.Cleanup(tn.stop)
	return tn
}

func (tn *tnode) stop() {
	if tn.cancel == nil {
		return
	}
	tn.cancel()
	select {
	case <-tn.done:
	case <-time.After(10 * time.Second):
		tn.t.Errorf("node did not stop")
	}
	tn.cancel = nil
}

func (tn *tnode) addr() string { return tn.srv.Addr().String() }
func (tn *tnode) id() string   { return tn.srv.NodeID().String() }

// connect tells tn about other (as a bootstrap peer).
func (tn *tnode) connect(other *tnode) { tn.srv.AddAddress(other.addr(), other.id()) }

// mine builds a valid block on tn's tip (signed by tn's miner key) and processes it as the
// node's own miner would; the node announces it.
func (tn *tnode) mine(txs ...*wire.Tx) *wire.Block {
	tn.t.Helper()
	b := chaintest.BuildBlock(tn.t, tn.n.Chain(), wire.ZeroHash, tn.miner, txs...)
	if _, err := tn.n.ProcessBlock(context.Background(), b); err != nil {
		tn.t.Fatalf("mine: %v", err)
	}
	return b
}

func (tn *tnode) tip() wire.Hash { return tn.n.Chain().Tip().Hash }
func (tn *tnode) height() uint64 { return tn.n.Chain().Tip().Height }

func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// writeGenesis writes the chaintest genesis (modified by mutate) into a temp dir.
func writeGenesis(t testing.TB, mutate ...func(*genesis.File)) string {
	t.Helper()
	f := chaintest.Genesis(t)
	for _, m := range mutate {
		m(f)
	}
	return nodetest.WriteGenesis(t, t.TempDir(), f)
}

// converged reports whether all nodes share one tip.
func converged(nodes []*tnode) bool {
	for _, n := range nodes[1:] {
		if n.tip() != nodes[0].tip() {
			return false
		}
	}
	return true
}

func metric(t testing.TB, tn *tnode, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := tn.n.Metrics().Registry.Gather()
	if err != nil {
		t.Fatal(err)
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

// apiGet fetches a JSON document from the node's API.
func apiGet(t testing.TB, tn *tnode, path string, out any) int {
	t.Helper()
	addr, err := tn.n.APIAddr(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + addr.String() + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		_ = json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func tempPath(t testing.TB, name string) string { return filepath.Join(t.TempDir(), name) }
