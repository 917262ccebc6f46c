package p2p

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/chainnet/chainnet/internal/wire"
)

func hashN(n int) wire.Hash {
	var h wire.Hash
	binary.LittleEndian.PutUint64(h[:], uint64(n)+1)
	return h
}

// TestTxFetcherFlooderHoldsOnlyItsOwnShare: a peer announcing 10,000 transactions it never
// delivers holds its own allowance (5,000 announcements, 100 requests) and nothing else: another
// peer's new transactions are requested at once, a transaction announced by both is asked of the
// other peer when the flooder's request times out, answers notfound, or the flooder leaves, and
// once it leaves nothing of it remains.
func TestTxFetcherFlooderHoldsOnlyItsOwnShare(t *testing.T) {
	f := newTxFetcher(time.Second)
	flooder, honest := &Peer{}, &Peer{}
	now := time.Unix(1_000, 0)
	asked, dropped := 0, 0
	for i := range 10_000 {
		ask, drop := f.announced(flooder, hashN(i), now)
		if ask {
			asked++
		}
		if drop {
			dropped++
		}
	}
	if asked != maxTxInFlightPerPeer || dropped != 10_000-maxTxAnnouncedPerPeer {
		t.Fatalf("flooder: %d asked, %d dropped; want %d and %d", asked, dropped, maxTxInFlightPerPeer, 10_000-maxTxAnnouncedPerPeer)
	}
	// A new honest transaction is asked at once.
	later := now.Add(600 * time.Millisecond)
	if ask, _ := f.announced(honest, hashN(-1), later); !ask {
		t.Fatal("an honest announcement was not requested while a flooder holds its maximum")
	}
	// Transactions the flooder was asked for, also announced by the honest peer, wait for it.
	for i := range 3 {
		if ask, _ := f.announced(honest, hashN(i), later); ask {
			t.Fatalf("tx %d asked twice", i)
		}
	}
	// notfound: passed on at once.
	if reqs := f.notFound(flooder, hashN(0), later); len(reqs[honest]) != 1 || reqs[honest][0] != hashN(0) {
		t.Fatalf("after notfound: %v", reqs)
	}
	// Timeout: passed on when the deadline passes, not before.
	if reqs := f.expire(now.Add(500 * time.Millisecond)); len(reqs) != 0 {
		t.Fatalf("expired early: %v", reqs)
	}
	reqs := f.expire(now.Add(time.Second))
	if len(reqs[honest]) != 2 { // tx 1 and 2; tx 0 is in flight to it since the notfound
		t.Fatalf("after the timeout the honest peer is asked for %v", reqs[honest])
	}
	// The flooder's slots went to its queue meanwhile; when it leaves, nothing of it remains.
	if reqs := f.peerGone(flooder, now); len(reqs) != 0 {
		t.Fatalf("flooder gone: %v", reqs)
	}
	tracked, inFlight := f.counts()
	if tracked != 4 || inFlight != 4 {
		t.Fatalf("after the flooder left: %d tracked, %d in flight; want the honest peer's 4", tracked, inFlight)
	}
	for i := -1; i < 3; i++ {
		f.received(hashN(i), now)
	}
	if tracked, inFlight := f.counts(); tracked != 0 || inFlight != 0 {
		t.Fatalf("after delivery: %d tracked, %d in flight", tracked, inFlight)
	}
	if len(f.peers[honest].queue) != 0 || f.peers[honest].held != 0 {
		t.Fatalf("honest peer state left: %+v", f.peers[honest])
	}
}

// TestTxFetcherLeaverPassesRequests: a peer that leaves mid-request passes its requests to the
// peers that announced the same transactions, and a busy peer takes them when a slot frees.
func TestTxFetcherLeaverPassesRequests(t *testing.T) {
	f := newTxFetcher(time.Minute)
	a, b := &Peer{}, &Peer{}
	now := time.Unix(1_000, 0)
	for i := range maxTxInFlightPerPeer {
		f.announced(b, hashN(1000+i), now) // b's slots are full
	}
	f.announced(a, hashN(1), now)
	f.announced(b, hashN(1), now)
	if reqs := f.peerGone(a, now); len(reqs) != 0 {
		t.Fatalf("b has no free slot, yet: %v", reqs)
	}
	reqs := f.received(hashN(1000), now) // a slot of b frees
	if len(reqs[b]) != 1 || reqs[b][0] != hashN(1) {
		t.Fatalf("b's free slot went to %v, want tx 1", reqs[b])
	}
}

// TestTxFetcherQueueStaysBounded: announcements resolved by other peers do not pile up in a
// peer's queue.
func TestTxFetcherQueueStaysBounded(t *testing.T) {
	f := newTxFetcher(time.Minute)
	fast, slow := &Peer{}, &Peer{}
	now := time.Unix(1_000, 0)
	for i := range 100_000 {
		f.announced(fast, hashN(i), now)
		f.announced(slow, hashN(i), now)
		f.received(hashN(i), now)
	}
	if n := len(f.peers[slow].queue); n > 2*maxTxAnnouncedPerPeer {
		t.Fatalf("slow peer's queue holds %d entries", n)
	}
}

// TestTxFetcherLeaverLeavesNoWaitingEntry: a peer waiting on a transaction that was being asked
// of someone else, whose queue had already moved past it, leaves; the request then fails and must
// not be passed to the departed peer (a devnet under load crashed on exactly this).
func TestTxFetcherLeaverLeavesNoWaitingEntry(t *testing.T) {
	f := newTxFetcher(time.Minute)
	a, b := &Peer{}, &Peer{}
	now := time.Unix(1_000, 0)
	f.announced(a, hashN(1), now) // asked of a
	for i := range maxTxInFlightPerPeer {
		f.announced(b, hashN(1000+i), now) // b's slots are full
	}
	f.announced(b, hashN(1), now) // b waits on tx 1
	f.received(hashN(1000), now)  // b's refill passes tx 1 (a has it in flight)
	f.peerGone(b, now)
	reqs := f.notFound(a, hashN(1), now)
	if _, ok := reqs[b]; ok {
		t.Fatalf("tx 1 was asked of the departed peer: %v", reqs)
	}
	f.received(hashN(1), now) // a late delivery from anyone
	if tracked, inFlight := f.counts(); tracked != 0 || inFlight != 0 {
		t.Fatalf("%d tracked, %d in flight after everything resolved", tracked, inFlight)
	}
}

// TestTxAnnouncementsBatched: announcements waiting for the writer go out together, in inv
// messages of at most txInvChunk, and nothing is left behind.
func TestTxAnnouncementsBatched(t *testing.T) {
	p := &Peer{}
	p.txInv.ready = make(chan struct{}, 1)
	const n = txInvChunk + 10
	for i := range n {
		p.announceTx(hashN(i))
	}
	invs := p.takeTxInv()
	if len(invs) != 2 || len(invs[0].Items) != txInvChunk || len(invs[1].Items) != 10 || invs[1].Items[9].Hash != hashN(n-1) {
		t.Fatalf("%d inv messages for %d announcements", len(invs), n)
	}
	if len(p.takeTxInv()) != 0 {
		t.Fatal("announcements sent twice")
	}
}
