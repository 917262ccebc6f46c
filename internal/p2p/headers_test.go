package p2p_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chainnet/chainnet/internal/chaintest"
	"github.com/chainnet/chainnet/internal/genesis"
	"github.com/chainnet/chainnet/internal/p2p"
	"github.com/chainnet/chainnet/internal/p2p/message"
	"github.com/chainnet/chainnet/internal/p2p/p2ptest"
)

// TestHeaderClockSkewIsNoOffence: a peer whose chain ends in a header stamped beyond our clock's
// future limit (its clock runs ahead, or ours behind) is neither scored nor dropped, and its
// chain is asked for again later.
func TestHeaderClockSkewIsNoOffence(t *testing.T) {
	gen := writeGenesis(t)
	target := startNode(t, gen, "")
	// The peer's chain, built where the clock is an hour ahead of ours.
	ahead := chaintest.New(t)
	ahead.Now = time.Now().Add(time.Hour)
	maxFuture := target.n.Chain().Params().MaxFutureBlockTime
	genesisTime := target.n.Chain().Params().GenesisBlock.Header.Timestamp
	spacing := (uint64(time.Now().Unix()) + maxFuture + 600 - genesisTime) / 5
	headers, err := p2ptest.HeaderChain(ahead.Chain, target.n.Chain().Params().GenesisHash, 5, spacing, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := dialRaw(t, target, nil, honestVersion(target))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var asked atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		_ = p.Serve(ctx, func(m message.Message) {
			if _, ok := m.(*message.GetHeaders); ok {
				asked.Add(1)
				_ = p.Send(&message.Headers{Headers: headers})
			}
		})
	}()
	waitFor(t, fast.Stall+3*time.Second, "the target asks again after the stall timeout", func() bool { return asked.Load() >= 2 })
	if n := metric(t, target, "chainnode_p2p_misbehaviour_total"); n != 0 {
		t.Fatalf("a peer ahead of our clock was scored (%v)", n)
	}
	if len(target.srv.Banned()) != 0 || target.srv.PeerCount() != 1 {
		t.Fatalf("a peer ahead of our clock was dropped: bans %v, peers %d", target.srv.Banned(), target.srv.PeerCount())
	}
}

// TestLowWorkHeadersBounded: peers sending long header chains that never become worth
// downloading are cut off once one holds more than its share (scored) or all together more than
// the total (unscored), and the node keeps nothing of them.
func TestLowWorkHeadersBounded(t *testing.T) {
	defer p2p.SetPendingLimits(3_000, 3_000)()
	gen := writeGenesis(t, func(f *genesis.File) { f.Consensus.InitialDifficulty = 4096 })
	target := startNode(t, gen, "")
	for range 30 {
		target.mine()
	}
	headers, err := p2ptest.HeaderChain(target.n.Chain(), target.n.Chain().Params().GenesisHash, 8_000, 60, target.n.Chain().Tip().TotalWork)
	if err != nil {
		t.Fatal(err)
	}
	if len(headers) < 8_000 {
		t.Fatalf("only %d low-work headers", len(headers))
	}
	// Each peer serves the same chain, 2,000 headers per getheaders up to limit (then it holds
	// the exchange open), and counts what it sent.
	serve := func(limit int) (*atomic.Int64, context.CancelFunc) {
		p, err := dialRaw(t, target, nil, honestVersion(target))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
		var sent atomic.Int64
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			_ = p.Serve(ctx, func(m message.Message) {
				if _, ok := m.(*message.GetHeaders); !ok {
					return
				}
				from := int(sent.Load())
				if from >= limit {
					return
				}
				to := min(from+message.MaxHeaders, len(headers))
				_ = p.Send(&message.Headers{Headers: headers[from:to]})
				sent.Store(int64(to))
			})
		}()
		return &sent, cancel
	}
	first, stop1 := serve(len(headers))
	defer stop1()
	waitFor(t, 5*time.Second, "first peer's first batches", func() bool { return first.Load() >= 4_000 })
	time.Sleep(300 * time.Millisecond)
	if n := first.Load(); n != 4_000 {
		t.Fatalf("the node took %d headers from one peer, its share is 3,000", n)
	}
	if n := metric(t, target, "chainnode_p2p_misbehaviour_total", "reason", "low-work-headers"); n != 1 {
		t.Fatalf("low-work-headers scored %v times", n)
	}
	// Two more peers: the first sends 2,000 and holds them pending, the second's 2,000 would
	// pass the total.
	second, stop2 := serve(2_000)
	defer stop2()
	waitFor(t, 5*time.Second, "the second peer's batch", func() bool { return second.Load() == 2_000 })
	time.Sleep(200 * time.Millisecond)
	third, stop3 := serve(len(headers))
	defer stop3()
	waitFor(t, 5*time.Second, "the third peer's batch", func() bool { return third.Load() >= 2_000 })
	// The cut is counted once the batch is processed, which a loaded machine may delay.
	waitFor(t, 10*time.Second, "the total bound to cut an exchange", func() bool {
		return metric(t, target, "chainnode_p2p_dropped_total", "what", "headers") > 0
	})
	time.Sleep(300 * time.Millisecond)
	if n := third.Load(); n != 2_000 {
		t.Fatalf("the node went on taking %d headers past the total bound", n)
	}
	if n := metric(t, target, "chainnode_p2p_misbehaviour_total", "reason", "low-work-headers"); n != 1 {
		t.Fatalf("the total bound scored a peer (%v)", n)
	}
}
