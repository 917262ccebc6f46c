// Package adversary_test attacks a real node (store, chain, mempool, P2P over TLS, run
// in-process) as a hostile peer would: scripted peers with their own ed25519 identities speak the
// real protocol from other loopback addresses than the honest nodes, and each test proves that
// the node keeps serving its honest peer, that its memory stays bounded, and that honest
// transactions and blocks still propagate. Each test logs its measured figures as
// "FIGURE <attack> <what>: <value>" (go test -v ./test/adversary | grep FIGURE).
package adversary_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chainnet/chainnet/internal/chaintest"
	"github.com/chainnet/chainnet/internal/genesis"
	"github.com/chainnet/chainnet/internal/node"
	"github.com/chainnet/chainnet/internal/p2p/message"
	"github.com/chainnet/chainnet/internal/p2p/p2ptest"
	"github.com/chainnet/chainnet/internal/store"
	"github.com/chainnet/chainnet/internal/wire"
)

// attacker returns the n-th attacker source address (honest nodes use 127.0.0.1).
func attacker(n int) string { return fmt.Sprintf("127.0.0.%d", 1+n) }

// figure logs one measured figure of an attack.
func figure(t *testing.T, what string, v any) {
	t.Helper()
	t.Logf("FIGURE %s %s: %v", t.Name(), what, v)
}

// pair starts the target and an honest node connected to it (the honest node dials).
func pair(t *testing.T, gen string, opts ...p2ptest.NodeOption) (target, honest *p2ptest.Node) {
	t.Helper()
	target = p2ptest.StartNode(t, gen, opts...)
	honest = p2ptest.StartNode(t, gen)
	honest.Connect(target)
	p2ptest.WaitFor(t, 5*time.Second, "honest peer connected", func() bool { return target.Srv.PeerCount() == 1 })
	return target, honest
}

// dial connects a hostile peer from attacker address n.
func dial(t *testing.T, target *p2ptest.Node, n int) *p2ptest.Peer {
	t.Helper()
	p, err := p2ptest.DialFrom(context.Background(), attacker(n), loopbackAddr(target), nil, target.Version())
	if err != nil {
		t.Fatalf("attacker %d: %v", n, err)
	}
	t.Cleanup(p.Close)
	if err := p.Settle(5 * time.Second); err != nil {
		t.Fatalf("attacker %d: %v", n, err)
	}
	return p
}

// loopbackAddr is the target's P2P address on 127.0.0.1 (it may listen on every interface).
func loopbackAddr(n *p2ptest.Node) string {
	_, port, _ := net.SplitHostPort(n.Addr())
	return net.JoinHostPort("127.0.0.1", port)
}

// honestTraffic checks that the target still serves its honest peer: a transaction submitted at
// the honest node reaches the target's mempool and a block the target mines reaches the honest
// node. It records how long each took and fails the test (without stopping it) if either does
// not arrive within d.
func honestTraffic(t *testing.T, target, honest *p2ptest.Node, nonce uint64, d time.Duration) {
	t.Helper()
	tx := p2ptest.Transfers(honest.Params(), chaintest.Key(t, 2), chaintest.Key(t, 3).AccountAddress(), 1, nonce)[0]
	start := time.Now()
	if err := honest.N.SubmitTx(tx); err != nil {
		t.Fatalf("honest tx: %v", err)
	}
	if p2ptest.Eventually(d, func() bool { return target.N.Mempool().Has(tx.ID()) }) {
		figure(t, "honest tx reached the target after", time.Since(start).Round(time.Millisecond))
	} else {
		figure(t, "honest tx reached the target after", "never (waited "+d.String()+")")
		t.Errorf("an honest transaction did not reach the target within %s", d)
	}
	b := target.Mine()
	start = time.Now()
	if p2ptest.Eventually(d, func() bool { return honest.N.Chain().HaveBlock(b.Hash()) }) {
		figure(t, "target's block reached the honest node after", time.Since(start).Round(time.Millisecond))
	} else {
		figure(t, "target's block reached the honest node after", "never (waited "+d.String()+")")
		t.Errorf("the target's block did not reach the honest node within %s", d)
	}
}

// heapGrowth reports the heap in use now minus base, after garbage collection.
func heapGrowth(base uint64) int64 { return int64(p2ptest.HeapInUse()) - int64(base) }

// peakSampler samples the heap in use (without forcing a collection) until stopped, for the
// peak of an attack that the node frees once it drops the attacker.
type peakSampler struct {
	peak atomic.Uint64
	stop chan struct{}
	done chan struct{}
}

func samplePeak() *peakSampler {
	s := &peakSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > s.peak.Load() {
				s.peak.Store(ms.HeapInuse)
			}
			select {
			case <-s.stop:
				return
			case <-time.After(25 * time.Millisecond):
			}
		}
	}()
	return s
}

func (s *peakSampler) Stop() uint64 {
	close(s.stop)
	<-s.done
	return s.peak.Load()
}

func randomInv(n int, typ message.InvType) *message.Inv {
	inv := &message.Inv{}
	for range n {
		var h wire.Hash
		_, _ = rand.Read(h[:])
		inv.Items = append(inv.Items, message.InvVect{Type: typ, Hash: h})
	}
	return inv
}

// roundTrip sends a ping and waits for its pong: the node handles a peer's messages in order, so
// everything sent before has been handled. It returns how long that took.
func roundTrip(t *testing.T, p *p2ptest.Peer, d time.Duration) (time.Duration, bool) {
	t.Helper()
	nonce := uint64(time.Now().UnixNano())
	start := time.Now()
	if err := p.Send(&message.Ping{Nonce: nonce}); err != nil {
		return 0, false
	}
	_, err := p.Expect(d, func(m message.Message) bool {
		pong, ok := m.(*message.Pong)
		return ok && pong.Nonce == nonce
	})
	if err != nil {
		t.Logf("round trip: %v", err)
	}
	return time.Since(start), err == nil
}

// TestTxInvFlood (item 6): one peer announces 10,000 transactions it never delivers, five more
// announce 2,000 each and leave mid-request, and one announces the id of the next honest
// transaction first and never delivers it. Transaction relay from the honest peer must go on.
func TestTxInvFlood(t *testing.T) {
	gen := p2ptest.WriteGenesis(t)
	target, honest := pair(t, gen)
	base := p2ptest.HeapInUse()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	flooder := dial(t, target, 1)
	var requested atomic.Int64
	go func() {
		_ = flooder.Serve(ctx, func(m message.Message) {
			if gd, ok := m.(*message.GetData); ok {
				requested.Add(int64(len(gd.Items)))
			}
		})
	}()
	if err := flooder.Send(randomInv(10_000, message.InvTx)); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		p := dial(t, target, 2+i)
		if err := p.Send(randomInv(2_000, message.InvTx)); err != nil {
			t.Fatal(err)
		}
		_, _ = roundTrip(t, p, 5*time.Second)
		p.Close()
	}
	// The flooder learns the next honest transaction's id first and announces it.
	txs := p2ptest.Transfers(honest.Params(), chaintest.Key(t, 2), chaintest.Key(t, 3).AccountAddress(), 1, 0)
	front := &message.Inv{}
	front.Items = []message.InvVect{{Type: message.InvTx, Hash: txs[0].ID()}}
	if err := flooder.Send(front); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	figure(t, "transactions requested from the flooder", requested.Load())

	start := time.Now()
	if err := honest.N.SubmitTx(txs[0]); err != nil {
		t.Fatal(err)
	}
	if p2ptest.Eventually(10*time.Second, func() bool { return target.N.Mempool().Has(txs[0].ID()) }) {
		figure(t, "tx first announced by the flooder reached the target after", time.Since(start).Round(time.Millisecond))
	} else {
		figure(t, "tx first announced by the flooder reached the target after", "never (waited 10s)")
		t.Error("a transaction announced first by a peer that never delivers it did not reach the target from the honest peer")
	}
	honestTraffic(t, target, honest, 1, 5*time.Second)
	growth := heapGrowth(base)
	figure(t, "heap growth", p2ptest.MiB(growth))
	if growth > 64<<20 {
		t.Errorf("heap grew by %s", p2ptest.MiB(growth))
	}
	if target.Srv.PeerCount() < 1 {
		t.Error("the honest peer was dropped")
	}
}

// TestGiantGetData (item 8): a peer asks for a 1 MiB block 50,000 times in one getdata and reads
// nothing, then leaves. The node's memory stays bounded and it stops serving the peer once it is
// gone.
func TestGiantGetData(t *testing.T) {
	gen := p2ptest.WriteGenesis(t)
	target, honest := pair(t, gen)
	big := p2ptest.FullBlock(t, target.N.Chain(), target.Miner, 0, 1<<20)
	if _, err := target.N.ProcessBlock(context.Background(), big); err != nil {
		t.Fatal(err)
	}
	p2ptest.WaitFor(t, 10*time.Second, "big block at the honest node", func() bool { return honest.Tip() == big.Hash() })
	nonce := uint64(len(big.Txs) - 1)
	figure(t, "block size", p2ptest.MiB(int64(big.Size())))

	base := p2ptest.HeapInUse()
	peak := samplePeak()
	reader := dial(t, target, 1)
	gd := &message.GetData{}
	for range message.MaxInv {
		gd.Items = append(gd.Items, message.InvVect{Type: message.InvBlock, Hash: big.Hash()})
	}
	if err := reader.Send(gd); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	held := heapGrowth(base)
	figure(t, "heap held while the attacker reads nothing", p2ptest.MiB(held))
	honestTraffic(t, target, honest, nonce, 5*time.Second)
	reader.Close()
	time.Sleep(500 * time.Millisecond)
	before := p2ptest.TotalAlloc()
	time.Sleep(2 * time.Second)
	after := p2ptest.TotalAlloc()
	figure(t, "bytes allocated in the 2 s after the attacker left", p2ptest.MiB(int64(after-before)))
	figure(t, "peak heap growth", p2ptest.MiB(int64(peak.Stop())-int64(base)))
	if held > 64<<20 {
		t.Errorf("the node holds %s for a peer that reads nothing", p2ptest.MiB(held))
	}
	if after-before > 64<<20 {
		t.Errorf("the node went on serving a departed peer: %s allocated", p2ptest.MiB(int64(after-before)))
	}

}

// TestMinedTxInv (item 8): a peer announces 2,000 transactions mined in a 1 MiB block. The
// node looks them up in its transaction index without decoding the block for each.
func TestMinedTxInv(t *testing.T) {
	gen := p2ptest.WriteGenesis(t)
	target := p2ptest.StartNode(t, gen)
	big := p2ptest.FullBlock(t, target.N.Chain(), target.Miner, 0, 1<<20)
	if _, err := target.N.ProcessBlock(context.Background(), big); err != nil {
		t.Fatal(err)
	}
	announcer := dial(t, target, 2)
	inv := &message.Inv{}
	for _, tx := range big.Txs[1:2001] {
		inv.Items = append(inv.Items, message.InvVect{Type: message.InvTx, Hash: tx.ID()})
	}
	before := p2ptest.TotalAlloc()
	start := time.Now()
	if err := announcer.Send(inv); err != nil {
		t.Fatal(err)
	}
	if _, ok := roundTrip(t, announcer, 120*time.Second); !ok {
		t.Fatal("the announcer's ping went unanswered")
	}
	alloc := p2ptest.TotalAlloc() - before
	figure(t, "time to handle the inv", time.Since(start).Round(time.Millisecond))
	figure(t, "bytes allocated handling it", p2ptest.MiB(int64(alloc)))
	if alloc > 64<<20 {
		t.Errorf("an inv of 2,000 mined transactions allocated %s", p2ptest.MiB(int64(alloc)))
	}
}

func hasPeer(n *p2ptest.Node, id string) bool {
	for _, p := range n.Srv.Peers() {
		if p.NodeID == id {
			return true
		}
	}
	return false
}

// countAddrs counts the address records in a node's peer table.
func countAddrs(t *testing.T, n *p2ptest.Node) int {
	t.Helper()
	count := 0
	err := n.N.Store().ForEachPeer(func(key string, _ []byte) error {
		if strings.HasPrefix(key, "a/") {
			count++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return count
}

// TestStall (item 9): a peer that serves the chain's headers is asked for the first blocks,
// never delivers the first one and trickles the others, each delivery in time to look alive.
// The node must take the first block from the honest peer and catch up.
func TestStall(t *testing.T) {
	gen := p2ptest.WriteGenesis(t)
	source := p2ptest.StartNode(t, gen)
	const length = 40
	for range length {
		source.Mine()
	}
	target := p2ptest.StartNode(t, gen)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	v := target.Version()
	v.BestHeight = length
	staller, err := p2ptest.DialFrom(ctx, attacker(1), loopbackAddr(target), nil, v)
	if err != nil {
		t.Fatal(err)
	}
	defer staller.Close()
	var mu sync.Mutex
	var held []wire.Hash // requested, not delivered
	asked := make(chan struct{}, 1)
	go func() {
		_ = staller.Serve(ctx, func(m message.Message) {
			switch m := m.(type) {
			case *message.GetHeaders:
				_ = staller.Send(&message.Headers{Headers: source.N.Chain().LocateHeaders(m.Locator, m.Stop, message.MaxHeaders)})
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
		t.Fatal("the target never asked the staller for blocks")
	}
	// Trickle: deliver one requested block (never the lowest) every 2.5 s, inside the 3 s stall
	// timeout.
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(2500 * time.Millisecond):
			}
			mu.Lock()
			var pick wire.Hash
			best := uint64(0)
			for _, h := range held {
				if _, height, ok := source.N.Chain().HeaderByHash(h); ok && height > best && height > 1 {
					best, pick = height, h
				}
			}
			mu.Unlock()
			if best == 0 {
				continue
			}
			b, err := source.N.Chain().BlockByHash(pick)
			if err == nil {
				_ = staller.Send(&message.Block{Block: b})
			}
			mu.Lock()
			for i, h := range held {
				if h == pick {
					held = append(held[:i], held[i+1:]...)
					break
				}
			}
			mu.Unlock()
		}
	}()
	start := time.Now()
	target.Connect(source)
	if p2ptest.Eventually(20*time.Second, func() bool { return target.Height() == length }) {
		figure(t, "time to sync 40 blocks with the staller connected", time.Since(start).Round(time.Millisecond))
	} else {
		figure(t, "time to sync 40 blocks with the staller connected", fmt.Sprintf("never (height %d after 20s)", target.Height()))
		t.Errorf("sync stalled at height %d", target.Height())
	}
	honestTraffic(t, target, source, 0, 5*time.Second)
}

// TestAddrPoisoning (item 7): a peer gossips the honest bootstrap peer's address under its own
// identity, then 30,000 addresses in as many network groups. The node's peer table stays
// bounded, the bootstrap pin keeps its identity (the node reconnects to the honest peer after
// it restarts), and the flood is handled quickly.
func TestAddrPoisoning(t *testing.T) {
	gen := p2ptest.WriteGenesis(t)
	honest := p2ptest.StartNode(t, gen)
	// The target listens on every interface and so advertises no address: the honest node does
	// not learn it, and only the target's own dials can restore their link.
	target := p2ptest.StartNode(t, gen, func(c *node.Config) {
		c.P2PAddr = "0.0.0.0:0"
		c.Bootstrap = []string{honest.Addr() + "#" + honest.ID()}
	})
	p2ptest.WaitFor(t, 5*time.Second, "target dials the honest node", func() bool { return target.Srv.PeerCount() == 1 })
	tableBefore := countAddrs(t, target)
	base := p2ptest.HeapInUse()

	poisoner := dial(t, target, 1)
	var id [32]byte
	copy(id[:], poisoner.Key.Public)
	if err := poisoner.Send(&message.Addr{Peers: []message.PeerAddr{{NodeID: id, Addr: honest.Addr()}}}); err != nil {
		t.Fatal(err)
	}
	flood := func(m int) *message.Addr {
		addr := &message.Addr{}
		for i := range message.MaxAddr {
			var pa message.PeerAddr
			_, _ = rand.Read(pa.NodeID[:])
			pa.Addr = fmt.Sprintf("%d.%d.%d.%d:9333", 11+m, i/250, i%250, 1+m%200)
			addr.Peers = append(addr.Peers, pa)
		}
		return addr
	}
	if err := poisoner.Send(flood(0)); err != nil {
		t.Fatal(err)
	}
	took, ok := roundTrip(t, poisoner, 120*time.Second)
	if !ok {
		t.Fatal("the poisoner's ping went unanswered")
	}
	figure(t, "time to handle one addr message of 1,000", took.Round(time.Millisecond))
	start := time.Now()
	for m := 1; m < 30; m++ {
		if err := poisoner.Send(flood(m)); err != nil {
			t.Fatalf("addr %d: %v", m, err)
		}
	}
	if _, ok := roundTrip(t, poisoner, 120*time.Second); !ok {
		t.Fatal("the poisoner's ping went unanswered")
	}
	figure(t, "time to handle 29 more", time.Since(start).Round(time.Millisecond))
	tableAfter := countAddrs(t, target)
	figure(t, "peer table records before/after", fmt.Sprintf("%d/%d", tableBefore, tableAfter))
	growth := heapGrowth(base)
	figure(t, "heap growth", p2ptest.MiB(growth))
	if tableAfter > 5_000 {
		t.Errorf("the peer table grew to %d records", tableAfter)
	}

	honestTraffic(t, target, honest, 0, 5*time.Second)
	// The honest node restarts on the same address and key: the target must dial it again.
	honest.Stop()
	p2ptest.WaitFor(t, 5*time.Second, "target sees the honest node gone", func() bool { return !hasPeer(target, honest.ID()) })
	honest = honest.Restart()
	start = time.Now()
	if p2ptest.Eventually(10*time.Second, func() bool { return hasPeer(target, honest.ID()) }) {
		figure(t, "target reconnected to the restarted bootstrap peer after", time.Since(start).Round(time.Millisecond))
	} else {
		figure(t, "target reconnected to the restarted bootstrap peer after", "never (waited 10s)")
		t.Error("the target did not reconnect to its bootstrap peer: its identity was overwritten by gossip")
	}
}

// TestLowWorkFlood (item 3): a peer sends 300 valid blocks that fork at genesis (each far less
// work than the tip) without being asked, and another answers the node's getheaders with a long
// valid header chain that never reaches the tip's work. Nothing of it may be kept for good, and
// the memory it takes stays bounded.
func TestLowWorkFlood(t *testing.T) {
	gen := p2ptest.WriteGenesis(t, func(f *genesis.File) { f.Consensus.InitialDifficulty = 8192 })
	target, honest := pair(t, gen)
	for range 40 {
		target.Mine()
	}
	p2ptest.WaitFor(t, 10*time.Second, "honest node synced", func() bool { return honest.Tip() == target.Tip() })
	genesisHash := target.Params().GenesisHash
	dbPath := filepath.Join(target.Dir, store.FileName)

	// Side-chain blocks nobody asked for.
	side := p2ptest.SideBlocks(t, target.N.Chain(), genesisHash, 300)
	sizeBefore := fileSize(t, dbPath)
	flooder := dial(t, target, 1)
	for _, b := range side {
		if err := flooder.Send(&message.Block{Block: b}); err != nil {
			break
		}
	}
	_, _ = roundTrip(t, flooder, 30*time.Second)
	stored := 0
	for _, b := range side {
		if target.N.Chain().HaveBlock(b.Hash()) {
			stored++
		}
	}
	figure(t, "unrequested low-work blocks kept", fmt.Sprintf("%d of %d", stored, len(side)))
	figure(t, "store growth", p2ptest.MiB(fileSize(t, dbPath)-sizeBefore))
	if stored > 0 {
		t.Errorf("%d unrequested low-work side-chain blocks were kept", stored)
	}

	// A long header chain below the tip's work.
	headers, err := p2ptest.HeaderChain(target.N.Chain(), genesisHash, 110_000, 60, target.N.Chain().Tip().TotalWork)
	if err != nil {
		t.Fatal(err)
	}
	figure(t, "low-work headers offered", len(headers))
	base := p2ptest.HeapInUse()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var sent atomic.Int64
	const midway = 60_000
	var midHeld int64
	batches := make(chan struct{}, 1)
	peer, err := p2ptest.DialTLSFrom(ctx, attacker(2), loopbackAddr(target), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	if err := peer.Handshake(target.Version()); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = peer.Serve(ctx, func(m message.Message) {
			if _, ok := m.(*message.GetHeaders); !ok {
				return
			}
			from := int(sent.Load())
			if from == len(headers) {
				return // hold the exchange open: the node keeps what it took
			}
			if from == midway {
				// Pause with 60,000 taken, for the heap they hold.
				midHeld = heapGrowth(base)
			}
			to := min(from+message.MaxHeaders, len(headers))
			_ = peer.Send(&message.Headers{Headers: headers[from:to]})
			sent.Store(int64(to))
			select {
			case batches <- struct{}{}:
			default:
			}
		})
	}()
	// The node asks for the next batch as long as it keeps the chain; wait until it stops.
	for {
		select {
		case <-batches:
			continue
		case <-time.After(time.Second):
		}
		break
	}
	figure(t, "low-work headers taken before the node stopped asking", sent.Load())
	figure(t, "heap held with 60,000 taken", p2ptest.MiB(midHeld))
	held := heapGrowth(base)
	figure(t, "heap held once the node stopped asking", p2ptest.MiB(held))
	if midHeld > 16<<20 || held > 16<<20 {
		t.Errorf("the node holds %s (60,000 headers), %s (at the end) for a low-work header chain", p2ptest.MiB(midHeld), p2ptest.MiB(held))
	}
	honestTraffic(t, target, honest, 0, 5*time.Second)
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// TestHandshakeFlood (item 10): 400 connections that never speak, 40 identities completing the
// handshake at once against a node that takes 16 inbound peers, and 12 peers each announcing a
// 32 MiB block frame and trickling it. The node's pending handshakes and inbound peers stay
// within its limits, frames are capped at the consensus block size, and the honest node
// connects and relays through it all.
func TestHandshakeFlood(t *testing.T) {
	gen := p2ptest.WriteGenesis(t)
	target := p2ptest.StartNode(t, gen, func(c *node.Config) { c.MaxInbound = 16 })
	honest := p2ptest.StartNode(t, gen)
	addr := loopbackAddr(target)
	base := p2ptest.HeapInUse()
	goroutines := runtime.NumGoroutine()

	// 400 silent connections.
	var silent []net.Conn
	for range 400 {
		c, err := p2ptest.DialTCP(context.Background(), attacker(1), addr)
		if err != nil {
			break
		}
		silent = append(silent, c)
	}
	time.Sleep(500 * time.Millisecond)
	figure(t, "silent connections opened", len(silent))
	figure(t, "goroutines added by them", runtime.NumGoroutine()-goroutines)
	figure(t, "handshakes pending", target.Metric("chainnode_p2p_handshakes_pending"))
	figure(t, "heap growth with them open", p2ptest.MiB(heapGrowth(base)))
	honest.Connect(target)
	start := time.Now()
	if p2ptest.Eventually(5*time.Second, func() bool { return target.Srv.PeerCount() >= 1 }) {
		figure(t, "honest node connected during the silent flood after", time.Since(start).Round(time.Millisecond))
	} else {
		figure(t, "honest node connected during the silent flood after", "never (waited 5s)")
		t.Error("the honest node could not connect during a flood of silent connections")
	}
	for _, c := range silent {
		_ = c.Close()
	}

	// 40 identities handshake at once.
	var wg sync.WaitGroup
	var completed atomic.Int64
	var peers sync.Map
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := p2ptest.DialFrom(context.Background(), attacker(2+i%2), addr, nil, target.Version())
			if err != nil {
				return
			}
			completed.Add(1)
			peers.Store(i, p)
		}()
	}
	wg.Wait()
	time.Sleep(300 * time.Millisecond)
	inbound := 0
	for _, p := range target.Srv.Peers() {
		if p.Inbound {
			inbound++
		}
	}
	figure(t, "handshakes completed of 40 at once", completed.Load())
	figure(t, "inbound peers (limit 16)", inbound)
	if inbound > 16 {
		t.Errorf("%d inbound peers, the limit is 16", inbound)
	}
	peers.Range(func(_, v any) bool { v.(*p2ptest.Peer).Close(); return true })

	// 12 peers announce a 32 MiB block frame and trickle it.
	p2ptest.WaitFor(t, 5*time.Second, "the 40 identities gone", func() bool { return target.Srv.PeerCount() <= 1 })
	base = p2ptest.HeapInUse()
	var trickle []*p2ptest.Peer
	for i := range 12 {
		p, err := p2ptest.DialFrom(context.Background(), attacker(4+i%2), addr, nil, target.Version())
		if err != nil {
			t.Fatalf("trickler %d: %v", i, err)
		}
		defer p.Close()
		if err := p.Settle(5 * time.Second); err != nil {
			t.Fatalf("trickler %d: %v", i, err)
		}
		hdr := make([]byte, message.HeaderSize)
		hdr[0] = byte(message.TypeBlock)
		putU32(hdr[1:5], wire.MaxBlockPayload)
		if err := p.SendRaw(append(hdr, make([]byte, 1024)...)); err != nil {
			t.Fatal(err)
		}
		trickle = append(trickle, p)
	}
	time.Sleep(time.Second)
	held := heapGrowth(base)
	open := 0
	for _, p := range trickle {
		if err := p.SendRaw(make([]byte, 1024)); err == nil && !p.ClosedByRemote(100*time.Millisecond) {
			open++
		}
	}
	figure(t, "heap held for 12 trickled 32 MiB block frames", p2ptest.MiB(held))
	figure(t, "trickling peers still connected", open)
	if held > 64<<20 {
		t.Errorf("the node holds %s for 12 trickled frames", p2ptest.MiB(held))
	}
	honestTraffic(t, target, honest, 0, 5*time.Second)
}

func putU32(b []byte, v uint32) {
	b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
}
