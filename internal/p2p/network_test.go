package p2p_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/chainnet/chainnet/internal/chaintest"
	"github.com/chainnet/chainnet/internal/node"
	"github.com/chainnet/chainnet/internal/wire"
)

// TestEightNodesConverge: eight nodes wired as a line (each knows only its predecessor) find
// each other through address gossip, two of them mine competing blocks, and all end on one best
// hash; a transfer sent to one node is relayed, mined by another and visible on all.
func TestEightNodesConverge(t *testing.T) {
	gen := writeGenesis(t)
	var nodes []*tnode
	for i := 0; i < 8; i++ {
		n := startNode(t, gen, "")
		if i > 0 {
			n.connect(nodes[i-1])
		}
		nodes = append(nodes, n)
	}
	waitFor(t, 10*time.Second, "every node connected", func() bool {
		for _, n := range nodes {
			if n.srv.PeerCount() == 0 {
				return false
			}
		}
		return true
	})
	// Two miners at the ends of the line race.
	for i := 0; i < 10; i++ {
		nodes[0].mine()
		nodes[7].mine()
		time.Sleep(30 * time.Millisecond)
	}
	// Equal-work forks stay split (first seen wins) until one side extends: as in Bitcoin, the
	// next block settles it.
	time.Sleep(200 * time.Millisecond)
	nodes[0].mine()
	waitFor(t, 20*time.Second, "one best hash on all 8 nodes", func() bool { return converged(nodes) })
	if h := nodes[3].height(); h < 10 {
		t.Fatalf("converged at height %d, want ≥ 10", h)
	}
	if gossip := metric(t, nodes[7], "chainnode_p2p_peers"); gossip < 2 {
		t.Errorf("node 7 has %v peers: address gossip should find more than its bootstrap peer", gossip)
	}

	env := chaintest.New(t)
	tx := env.Transfer(env.Alice, env.Bob, 1234, 7, 0)
	if err := nodes[2].n.SubmitTx(tx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the transfer in every mempool", func() bool {
		for _, n := range nodes {
			if !n.n.Mempool().Has(tx.ID()) {
				return false
			}
		}
		return true
	})
	relayed, _ := nodes[6].n.Mempool().Get(tx.ID())
	blk := nodes[6].mine(relayed)
	waitFor(t, 10*time.Second, "the block with the transfer on every node", func() bool {
		for _, n := range nodes {
			_, loc, err := n.n.Chain().Tx(tx.ID())
			if err != nil || loc.BlockHash != blk.Hash() || n.n.Mempool().Has(tx.ID()) {
				return false
			}
		}
		return true
	})
	acct, _ := nodes[0].n.Chain().Account(env.Bob.AccountAddress())
	if acct.Balance != 1234 {
		t.Fatalf("bob's balance on node 0: %d", acct.Balance)
	}
}

// TestLateJoinerSyncsHeadersFirst: a node that joins a network with a 2,000-block chain fetches
// the headers first (a full batch of 2,000, then the rest), then the bodies, reaches the same
// tip, and only then reports ready.
func TestLateJoinerSyncsHeadersFirst(t *testing.T) {
	gen := writeGenesis(t)
	a := startNode(t, gen, "")
	b0 := startNode(t, gen, "")
	b0.connect(a)
	for i := 0; i < 2000; i++ {
		b := chaintest.BuildBlock(t, a.n.Chain(), wire.ZeroHash, a.miner)
		if _, err := a.n.Chain().ProcessBlock(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 60*time.Second, "second seed synced", func() bool { return b0.tip() == a.tip() })

	late := startNode(t, gen, "")
	if late.srv.Synced() {
		t.Fatal("a node with no peers must not report synced before its grace period")
	}
	start := time.Now()
	late.connect(a)
	late.connect(b0)
	waitFor(t, 60*time.Second, "late joiner at the network's tip", func() bool { return late.tip() == a.tip() })
	took := time.Since(start)
	waitFor(t, 10*time.Second, "late joiner ready", func() bool {
		return apiGet(t, late, "/readyz", nil) == 200
	})
	if got := metric(t, late, "chainnode_p2p_messages_total", "direction", "in", "type", "headers"); got < 2 {
		t.Fatalf("want ≥ 2 headers messages (a full batch of 2,000, then the rest), got %v", got)
	}
	if got := metric(t, late, "chainnode_p2p_messages_total", "direction", "in", "type", "block"); got < 2000 {
		t.Fatalf("want ≥ 2,000 block bodies, got %v", got)
	}
	t.Logf("synced 2,000 blocks from 2 peers in %s (%.0f blocks/s)", took.Round(time.Millisecond), 2000/took.Seconds())
}

// TestRestartReconnectsFromPeerTable: a restarted node is given no bootstrap peer and finds its
// network again from the peer table persisted in its store.
func TestRestartReconnectsFromPeerTable(t *testing.T) {
	gen := writeGenesis(t)
	a := startNode(t, gen, "")
	bDir := t.TempDir()
	b := startNode(t, gen, bDir)
	b.connect(a)
	waitFor(t, 5*time.Second, "b connected", func() bool { return b.srv.PeerCount() == 1 })
	b.stop()
	a.mine()
	a.mine()
	b = startNode(t, gen, bDir) // no connect: only the peer table knows a
	waitFor(t, 10*time.Second, "b reconnected and caught up", func() bool { return b.tip() == a.tip() })
}

// TestDNSSeedDiscovery: a node given only a DNS name (as a headless Service would be) resolves
// it, dials the addresses on the seed's port, and joins; the name is re-resolved, so a node that
// starts listening later is found too.
func TestDNSSeedDiscovery(t *testing.T) {
	gen := writeGenesis(t)
	a := startNode(t, gen, "")
	_, port, _ := net.SplitHostPort(a.addr())
	b := startNode(t, gen, "", func(c *node.Config) { c.DNSSeeds = []string{"localhost:" + port} })
	waitFor(t, 5*time.Second, "b found a through the DNS seed", func() bool { return b.srv.PeerCount() == 1 })
	blk := a.mine()
	waitFor(t, 5*time.Second, "block relayed", func() bool { return b.tip() == blk.Hash() })
}
