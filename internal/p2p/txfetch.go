package p2p

import (
	"slices"
	"sync"
	"time"

	"github.com/chainnet/chainnet/internal/p2p/message"
	"github.com/chainnet/chainnet/internal/wire"
)

// Transaction fetching limits, per peer as Bitcoin Core's TxRequestTracker has them: the
// announcements a peer may have waiting with us, and our requests in flight to it. A peer that
// announces what it never delivers fills its own allowance and nobody else's.
const (
	maxTxAnnouncedPerPeer = 5_000
	maxTxInFlightPerPeer  = 100
)

// txFetcher decides which peer to ask for each announced transaction. It keeps every
// announcement, bounded per peer, and asks one announcer at a time; when that one answers
// notfound, lets its request time out or leaves, the next announcer is asked. So a peer that
// announces and never delivers delays a transaction by one timeout at most, and never stops the
// relay of anyone else's.
type txFetcher struct {
	mu      sync.Mutex
	timeout time.Duration
	txs     map[wire.Hash]*txFetch
	peers   map[*Peer]*txPeer
	// deadlines lists requests in the order they were made, so their deadlines ascend; entries of
	// requests answered since are skipped when they come up.
	deadlines []txDeadline
}

// txFetch is one announced transaction we lack.
type txFetch struct {
	asked    *Peer // request in flight to, or nil
	deadline time.Time
	waiting  []*Peer // other announcers, first come first asked
}

// txPeer is one peer's share of the fetcher.
type txPeer struct {
	held  int                    // announcements of this peer we hold (asked or waiting)
	asked map[wire.Hash]struct{} // requests in flight to it
	// queue lists the transactions it announced that wait for a free request slot, oldest first;
	// entries resolved meanwhile are skipped (and compacted away).
	queue []wire.Hash
}

type txDeadline struct {
	hash wire.Hash
	peer *Peer
	at   time.Time
}

// txRequests are the transactions to request now, by peer.
type txRequests map[*Peer][]wire.Hash

func newTxFetcher(timeout time.Duration) *txFetcher {
	return &txFetcher{timeout: timeout, txs: map[wire.Hash]*txFetch{}, peers: map[*Peer]*txPeer{}}
}

func (f *txFetcher) peerLocked(p *Peer) *txPeer {
	tp, ok := f.peers[p]
	if !ok {
		tp = &txPeer{asked: map[wire.Hash]struct{}{}}
		f.peers[p] = tp
	}
	return tp
}

// announced records that p has transaction h. It reports whether to request h from p now, and
// whether the announcement was dropped because p holds its maximum.
func (f *txFetcher) announced(p *Peer, h wire.Hash, now time.Time) (ask, dropped bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	tx := f.txs[h]
	if tx != nil && (tx.asked == p || slices.Contains(tx.waiting, p)) {
		return false, false
	}
	tp := f.peerLocked(p)
	if tp.held >= maxTxAnnouncedPerPeer {
		return false, true
	}
	tp.held++
	if tx == nil {
		tx = &txFetch{}
		f.txs[h] = tx
	}
	if tx.asked == nil && len(tp.asked) < maxTxInFlightPerPeer {
		f.requestLocked(tx, h, p, now)
		return true, false
	}
	tx.waiting = append(tx.waiting, p)
	tp.queue = append(tp.queue, h)
	f.compactLocked(p, tp)
	return false, false
}

func (f *txFetcher) requestLocked(tx *txFetch, h wire.Hash, p *Peer, now time.Time) {
	tx.asked, tx.deadline = p, now.Add(f.timeout)
	f.peers[p].asked[h] = struct{}{}
	f.deadlines = append(f.deadlines, txDeadline{hash: h, peer: p, at: tx.deadline})
}

// received: transaction h arrived (from anyone). Its announcements are released, and the slot of
// the peer that was asked goes to that peer's next announcement.
func (f *txFetcher) received(h wire.Hash, now time.Time) txRequests {
	f.mu.Lock()
	defer f.mu.Unlock()
	tx, ok := f.txs[h]
	if !ok {
		return nil
	}
	delete(f.txs, h)
	for _, w := range tx.waiting {
		f.peers[w].held--
	}
	out := txRequests{}
	if p := tx.asked; p != nil {
		tp := f.peers[p]
		tp.held--
		delete(tp.asked, h)
		f.refillLocked(p, now, out)
	}
	return out
}

// notFound: p does not have h after all; the next announcer is asked.
func (f *txFetcher) notFound(p *Peer, h wire.Hash, now time.Time) txRequests {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := txRequests{}
	f.failLocked(p, h, now, out)
	return out
}

// failLocked withdraws p's request for h and passes h to its next announcer; p's slot goes to
// p's next announcement.
func (f *txFetcher) failLocked(p *Peer, h wire.Hash, now time.Time, out txRequests) {
	tx, ok := f.txs[h]
	if !ok || tx.asked != p {
		return
	}
	tp := f.peers[p]
	tp.held--
	delete(tp.asked, h)
	tx.asked = nil
	f.reassignLocked(tx, h, now, out)
	f.refillLocked(p, now, out)
}

// reassignLocked asks the first waiting announcer of h with a free slot; with none waiting, h is
// forgotten until announced again.
func (f *txFetcher) reassignLocked(tx *txFetch, h wire.Hash, now time.Time, out txRequests) {
	for i, w := range tx.waiting {
		if len(f.peers[w].asked) < maxTxInFlightPerPeer {
			tx.waiting = slices.Delete(tx.waiting, i, i+1)
			f.requestLocked(tx, h, w, now)
			out[w] = append(out[w], h)
			return
		}
	}
	if len(tx.waiting) == 0 {
		delete(f.txs, h)
	}
	// Otherwise every announcer is busy: the first to free a slot takes h from its queue.
}

// refillLocked fills p's free request slots from its queue of announcements.
func (f *txFetcher) refillLocked(p *Peer, now time.Time, out txRequests) {
	tp := f.peers[p]
	for len(tp.asked) < maxTxInFlightPerPeer && len(tp.queue) > 0 {
		h := tp.queue[0]
		tp.queue = tp.queue[1:]
		tx, ok := f.txs[h]
		if !ok || tx.asked != nil {
			continue
		}
		i := slices.Index(tx.waiting, p)
		if i < 0 {
			continue
		}
		tx.waiting = slices.Delete(tx.waiting, i, i+1)
		f.requestLocked(tx, h, p, now)
		out[p] = append(out[p], h)
	}
}

// compactLocked drops resolved entries from p's queue once they outnumber the live ones.
func (f *txFetcher) compactLocked(p *Peer, tp *txPeer) {
	if len(tp.queue) <= 2*tp.held+64 {
		return
	}
	tp.queue = slices.DeleteFunc(tp.queue, func(h wire.Hash) bool {
		tx, ok := f.txs[h]
		return !ok || !slices.Contains(tx.waiting, p)
	})
}

// expire withdraws requests past their deadline and asks the next announcers.
func (f *txFetcher) expire(now time.Time) txRequests {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := txRequests{}
	i := 0
	for ; i < len(f.deadlines) && !f.deadlines[i].at.After(now); i++ {
		d := f.deadlines[i]
		if tx, ok := f.txs[d.hash]; ok && tx.asked == d.peer && tx.deadline.Equal(d.at) {
			f.failLocked(d.peer, d.hash, now, out)
		}
	}
	f.deadlines = slices.Delete(f.deadlines, 0, i)
	return out
}

// peerGone forgets p's announcements and passes its requests to the next announcers. Every
// transaction is scanned, not just p's queue: refillLocked moves past entries another peer was
// asked for while p still waits on them, so the queue does not list all of them.
func (f *txFetcher) peerGone(p *Peer, now time.Time) txRequests {
	f.mu.Lock()
	defer f.mu.Unlock()
	tp, ok := f.peers[p]
	if !ok {
		return nil
	}
	delete(f.peers, p)
	out := txRequests{}
	for h, tx := range f.txs {
		i := slices.Index(tx.waiting, p)
		if i >= 0 {
			tx.waiting = slices.Delete(tx.waiting, i, i+1)
		}
		if _, asked := tp.asked[h]; asked || (i >= 0 && tx.asked == nil) {
			tx.asked = nil
			f.reassignLocked(tx, h, now, out)
		}
	}
	return out
}

// counts returns the transactions tracked and the requests in flight (for tests and metrics).
func (f *txFetcher) counts() (tracked, inFlight int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, tp := range f.peers {
		inFlight += len(tp.asked)
	}
	return len(f.txs), inFlight
}

// sendTxRequests sends each peer a getdata for its transactions.
func sendTxRequests(reqs txRequests) {
	for p, hashes := range reqs {
		for len(hashes) > 0 {
			n := min(len(hashes), message.MaxInv)
			gd := &message.GetData{}
			gd.Items = make([]message.InvVect, n)
			for i, h := range hashes[:n] {
				gd.Items[i] = message.InvVect{Type: message.InvTx, Hash: h}
			}
			p.send(gd)
			hashes = hashes[n:]
		}
	}
}
