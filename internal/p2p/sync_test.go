package p2p_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/chainnet/chainnet/internal/p2p/message"
	"github.com/chainnet/chainnet/internal/wire"
)

// TestStallerLosesTheHeadBlock: a peer serves the chain's headers, is asked for the first
// blocks, never delivers the first one and trickles the others, each delivery well inside the
// stall timeout. The node asks the honest peer for the head block after a quarter of the stall
// timeout and catches up; the staller is dropped once its own requests time out.
func TestStallerLosesTheHeadBlock(t *testing.T) {
	gen := writeGenesis(t)
	source := startNode(t, gen, "")
	const length = 40
	for range length {
		source.mine()
	}
	target := startNode(t, gen, "")
	v := honestVersion(target)
	v.BestHeight = length
	staller, err := dialRaw(t, target, nil, v)
	if err != nil {
		t.Fatal(err)
	}
	defer staller.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var held []wire.Hash
	asked := make(chan struct{}, 1)
	served := make(chan error, 1)
	go func() {
		served <- staller.Serve(ctx, func(m message.Message) {
			switch m := m.(type) {
			case *message.GetHeaders:
				_ = staller.Send(&message.Headers{Headers: source.n.Chain().LocateHeaders(m.Locator, m.Stop, message.MaxHeaders)})
			case *message.GetData:
				mu.Lock()
				for _, it := range m.Items {
					held = append(held, it.Hash)
				}
				mu.Unlock()
				select {
				case asked <- struct{}{}:
				default:
				}
			}
		})
	}()
	select {
	case <-asked:
	case <-time.After(5 * time.Second):
		t.Fatal("the staller was never asked for blocks")
	}
	// Trickle the requested blocks from the last, one every fifth of the stall timeout.
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(fast.Stall / 5):
			}
			mu.Lock()
			if len(held) <= 1 {
				mu.Unlock()
				continue
			}
			h := held[len(held)-1]
			held = held[:len(held)-1]
			mu.Unlock()
			if b, err := source.n.Chain().BlockByHash(h); err == nil {
				_ = staller.Send(&message.Block{Block: b})
			}
		}
	}()
	start := time.Now()
	target.connect(source)
	waitFor(t, fast.Stall, "sync past the staller", func() bool { return target.height() == length })
	t.Logf("synced %d blocks in %s", length, time.Since(start).Round(time.Millisecond))
	if n := metric(t, target, "chainnode_p2p_head_blocks_reassigned_total"); n < 1 {
		t.Fatalf("head block reassigned %v times", n)
	}
	select {
	case <-served:
	case <-time.After(2 * fast.Stall):
		t.Fatal("the staller was not dropped once its requests timed out")
	}
}
