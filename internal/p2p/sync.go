package p2p

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chainnet/chainnet/internal/chain"
	"github.com/chainnet/chainnet/internal/p2p/message"
	"github.com/chainnet/chainnet/internal/wire"
)

// Download limits: blocks requested and not yet received, per peer and in all; and how far past
// the next block to connect we may request (blocks arriving early wait in memory).
const (
	maxInFlightPerPeer = 16
	maxInFlight        = 128
	downloadWindow     = 1024
	// maxSlowHeads: a peer whose head-of-queue block is asked of another peer this many times is
	// dropped as stalling.
	maxSlowHeads = 3
)

// pendingLimits bound the validated headers of chains not (yet) worth downloading, per peer and
// over all peers: the header tracker keeps only the context the next header needs, and each
// pending header costs its hash and height (40 bytes), so 400,000 in all is 16 MB. A variable so
// that tests can lower it.
var pendingLimits = struct{ perPeer, total int }{perPeer: 100_000, total: 400_000}

type queuedHeader struct {
	hash   wire.Hash
	height uint64
}

// download is one block body to fetch and connect.
type download struct {
	hash   wire.Hash
	height uint64
	peer   *Peer // in flight from; nil when not requested
	since  time.Time
	block  *wire.Block // received, waiting for its turn
	from   *Peer
	tried  map[NodeID]bool // peers that answered notfound or sent a mutated body
}

// syncManager runs headers-first sync: per-peer header chains are validated as they arrive and
// committed to the download queue only once they carry more work than our best chain; bodies are
// fetched from several peers in parallel and connected strictly in chain order.
type syncManager struct {
	s         *Server
	mu        sync.Mutex
	queue     []*download
	byHash    map[wire.Hash]*download
	inflight  map[*Peer]int
	announced *requests // blocks requested after an inv, outside the queue
	procMu    sync.Mutex
	// ready wakes the connector goroutine.
	ready chan struct{}
	// pendingTotal counts the pending headers of every peer.
	pendingTotal atomic.Int64
}

func newSyncManager(s *Server) *syncManager {
	return &syncManager{s: s, ready: make(chan struct{}, 1), byHash: map[wire.Hash]*download{}, inflight: map[*Peer]int{}, announced: newRequests(20 * time.Second)}
}

// headerState is a peer's header exchange, guarded by its own lock because orphan handling may
// restart it from another peer's goroutine.
type headerState struct {
	mu      sync.Mutex
	tracker *chain.HeaderTracker
	pending []queuedHeader
	asked   time.Time
	// outstanding counts getheaders sent and not yet answered.
	outstanding int
	// retryAt, when set, is when to ask again for headers the peer sent too early for our clock.
	retryAt time.Time
}

// setPendingLocked replaces p's pending headers, keeping the total (p.hs.mu held).
func (sm *syncManager) setPendingLocked(p *Peer, pending []queuedHeader) {
	sm.pendingTotal.Add(int64(len(pending) - len(p.hs.pending)))
	p.hs.pending = pending
}

// abandonHeadersLocked ends p's header exchange and drops what it brought (p.hs.mu held).
func (sm *syncManager) abandonHeadersLocked(p *Peer) {
	p.hs.tracker = nil
	sm.setPendingLocked(p, nil)
}

// startHeaders asks p for headers after our best chain's locator, unless an exchange with p is
// already under way (it will bring the same headers).
func (sm *syncManager) startHeaders(p *Peer) {
	p.hs.mu.Lock()
	if p.hs.tracker != nil {
		p.hs.mu.Unlock()
		return
	}
	p.hs.tracker = sm.s.chain.NewHeaderTracker()
	sm.setPendingLocked(p, nil)
	p.hs.asked = time.Now()
	p.hs.retryAt = time.Time{}
	p.hs.outstanding++
	p.hs.mu.Unlock()
	p.headersDone.Store(false)
	p.send(&message.GetHeaders{Locator: sm.s.chain.BlockLocator()})
}

// onHeaders validates a batch of p's headers and queues their bodies once p's chain has more
// work than ours.
func (sm *syncManager) onHeaders(p *Peer, headers []wire.Header) {
	p.hs.mu.Lock()
	defer sm.schedule()
	defer p.hs.mu.Unlock()
	if p.hs.outstanding == 0 {
		p.misbehave(10, "unrequested-headers")
		return
	}
	p.hs.outstanding--
	if p.hs.tracker == nil {
		return // an exchange we abandoned
	}
	if len(headers) == 0 {
		sm.finishHeaders(p)
		return
	}
	work, err := p.hs.tracker.Add(headers)
	if err != nil {
		sm.abandonHeadersLocked(p)
		switch {
		case chain.RuleOf(err) == chain.RuleTimeTooNew:
			// The peer's clock or ours: no offence. Its chain is judged again once time may
			// have caught up.
			p.hs.retryAt = time.Now().Add(sm.s.cfg.Timing.Stall)
			p.headersDone.Store(true)
		case errors.Is(err, chain.ErrUnknownParent) || errors.Is(err, chain.ErrNotContiguous):
			p.misbehave(20, "unconnected-headers")
		default:
			p.misbehave(BanThreshold, "invalid-headers")
		}
		return
	}
	last := p.hs.tracker.Height()
	if last > p.bestHeight.Load() {
		p.bestHeight.Store(last)
	}
	first := last - uint64(len(headers)) + 1
	pending := p.hs.pending
	for i := range headers {
		h := headers[i].Hash()
		if !sm.s.chain.HaveBlock(h) {
			pending = append(pending, queuedHeader{hash: h, height: first + uint64(i)})
		}
	}
	sm.setPendingLocked(p, pending)
	switch {
	case sm.s.chain.WorthDownloading(work):
		sm.enqueue(p.hs.pending)
		sm.setPendingLocked(p, nil)
		sm.s.m.headersBest.Set(float64(last))
	case len(p.hs.pending) > pendingLimits.perPeer:
		// A chain this long that is still not worth downloading: stop taking it.
		p.misbehave(20, "low-work-headers")
		sm.finishHeaders(p)
		return
	case sm.pendingTotal.Load() > int64(pendingLimits.total):
		// Not this peer's fault alone: drop its exchange unscored; it is asked again when it
		// announces a block we lack.
		sm.s.m.dropped.WithLabelValues("headers").Add(float64(len(p.hs.pending)))
		sm.finishHeaders(p)
		return
	}
	if len(headers) == message.MaxHeaders {
		p.send(&message.GetHeaders{Locator: []wire.Hash{headers[len(headers)-1].Hash()}})
		p.hs.asked = time.Now()
		p.hs.outstanding++
		return
	}
	sm.finishHeaders(p)
}

// finishHeaders: p has sent its whole chain. Headers that never beat our work are dropped.
func (sm *syncManager) finishHeaders(p *Peer) {
	sm.abandonHeadersLocked(p)
	p.headersDone.Store(true)
}

func (sm *syncManager) enqueue(hs []queuedHeader) {
	sm.mu.Lock()
	defer sm.mu.Unlock()
	for _, h := range hs {
		if _, ok := sm.byHash[h.hash]; ok {
			continue
		}
		d := &download{hash: h.hash, height: h.height, tried: map[NodeID]bool{}}
		sm.queue = append(sm.queue, d)
		sm.byHash[h.hash] = d
	}
}

// schedule requests queued bodies from the least busy peers that may have them.
func (sm *syncManager) schedule() {
	peers := sm.s.peerList()
	reqs := map[*Peer]*message.GetData{}
	now := time.Now()
	sm.mu.Lock()
	total := 0
	for _, n := range sm.inflight {
		total += n
	}
	for i, d := range sm.queue {
		if i >= downloadWindow || total >= maxInFlight {
			break
		}
		if d.block != nil || d.peer != nil {
			continue
		}
		var best *Peer
		for _, q := range peers {
			if q.closed() || d.tried[q.id] || sm.inflight[q] >= maxInFlightPerPeer || q.bestHeight.Load() < d.height {
				continue
			}
			if best == nil || sm.inflight[q] < sm.inflight[best] {
				best = q
			}
		}
		if best == nil {
			continue
		}
		d.peer, d.since = best, now
		sm.inflight[best]++
		total++
		if reqs[best] == nil {
			reqs[best] = &message.GetData{}
		}
		reqs[best].Items = append(reqs[best].Items, message.InvVect{Type: message.InvBlock, Hash: d.hash})
	}
	sm.s.m.blocksInFight.Set(float64(total))
	sm.mu.Unlock()
	for p, r := range reqs {
		p.send(r)
	}
}

// wantAnnounced reports whether to fetch an announced block.
func (sm *syncManager) wantAnnounced(p *Peer, h wire.Hash) bool {
	if sm.s.chain.HaveBlock(h) {
		return false
	}
	sm.mu.Lock()
	_, queued := sm.byHash[h]
	sm.mu.Unlock()
	return !queued && sm.announced.start(h)
}

// onBlock takes a block from p: a queued one waits for its turn, any other is processed now.
func (sm *syncManager) onBlock(p *Peer, b *wire.Block) {
	h := b.Hash()
	p.known.add(h)
	sm.mu.Lock()
	d, queued := sm.byHash[h]
	if queued && d.block == nil {
		// Each download keeps its own clock: a delivery says nothing of the sender's other
		// requests, nor, when someone else was asked, of its own.
		if d.peer != nil {
			sm.inflight[d.peer]--
		}
		d.peer, d.block, d.from = nil, b, p
		sm.mu.Unlock()
		sm.schedule()
		// Verify its signatures here, on p's goroutine, into the signature cache: several peers'
		// blocks verify in parallel, and alongside the connector, which then finds them done.
		_ = sm.s.chain.PrecheckBlock(b)
		sm.wakeConnector()
		return
	}
	sm.mu.Unlock()
	if queued {
		return // a duplicate of a block waiting its turn
	}
	sm.announced.done(h)
	sm.procMu.Lock()
	sm.process(p, b, true, false)
	sm.procMu.Unlock()
}

// connector connects downloaded blocks on its own goroutine, so that the peers' read loops go on
// receiving (and schedule more requests) while a batch is validated and committed: blocks that
// arrive during a commit make the next batch.
func (sm *syncManager) connector() {
	for {
		select {
		case <-sm.s.ctx.Done():
			return
		case <-sm.ready:
			sm.processReady()
			sm.schedule()
		}
	}
}

// wakeConnector tells the connector that the head of the queue may have arrived.
func (sm *syncManager) wakeConnector() {
	select {
	case sm.ready <- struct{}{}:
	default:
	}
}

// processReady connects queued blocks from the head of the queue while they are here, in
// batches the chain commits together.
func (sm *syncManager) processReady() {
	sm.procMu.Lock()
	defer sm.procMu.Unlock()
	for {
		ready := sm.takeReady(chain.MaxBatch)
		if len(ready) == 0 || !sm.processRun(ready) {
			return
		}
	}
}

// takeReady removes up to max received downloads from the head of the queue.
func (sm *syncManager) takeReady(max int) []*download {
	sm.mu.Lock()
	defer sm.mu.Unlock()
	n := 0
	for n < len(sm.queue) && n < max && sm.queue[n].block != nil {
		delete(sm.byHash, sm.queue[n].hash)
		n++
	}
	ready := append([]*download(nil), sm.queue[:n]...)
	clear(sm.queue[:n])
	sm.queue = sm.queue[n:]
	return ready
}

// processRun connects ready downloads in chain order and scores the senders of invalid ones. It
// returns false when a body did not belong to its header: that download and those after it go
// back to the head of the queue, the body to be asked of someone else.
func (sm *syncManager) processRun(ready []*download) bool {
	for len(ready) > 0 {
		blocks := make([]*wire.Block, len(ready))
		for i, d := range ready {
			blocks[i] = d.block
		}
		results, err := sm.s.b.ProcessBlocks(sm.s.ctx, blocks)
		for i, res := range results {
			sm.judge(ready[i].from, blocks[i], res, nil, false)
		}
		if err == nil {
			return true
		}
		if sm.s.ctx.Err() != nil {
			return false // shutting down
		}
		d := ready[len(results)]
		sm.judge(d.from, d.block, chain.ProcessResult{}, err, false)
		if chain.IsMutation(err) {
			// The header was valid and the body was not its body (other transactions, or a
			// signature that does not verify): the sender is scored, and someone else asked.
			d.tried[d.from.id] = true
			d.block, d.from = nil, nil
			sm.requeue(ready[len(results):])
			return false
		}
		ready = ready[len(results)+1:]
	}
	return true
}

// requeue puts downloads back at the head of the queue, in order.
func (sm *syncManager) requeue(ds []*download) {
	sm.mu.Lock()
	defer sm.mu.Unlock()
	sm.queue = append(append([]*download{}, ds...), sm.queue...)
	for _, d := range ds {
		sm.byHash[d.hash] = d
	}
}

// process connects one block from p and scores p if it was invalid; it returns the refusal.
// requested: the block is a body of a header chain we chose to download (else a peer pushed or
// announced it, and it is kept only if it beats our tip).
func (sm *syncManager) process(p *Peer, b *wire.Block, live, requested bool) error {
	process := sm.s.b.ProcessUnrequestedBlock
	if requested {
		process = sm.s.b.ProcessBlock
	}
	res, err := process(sm.s.ctx, b)
	return sm.judge(p, b, res, err, live)
}

// judge acts on the chain's verdict on a block from p: scores p for an invalid block, learns p's
// chain for an orphan, observes propagation for a live block. It returns err.
func (sm *syncManager) judge(p *Peer, b *wire.Block, res chain.ProcessResult, err error, live bool) error {
	if err != nil {
		if pts, reason := blockMisbehaviour(err); pts > 0 && p != nil {
			p.send(&message.Reject{Code: message.RejectInvalid, Reason: err.Error(), Hash: b.Hash()})
			p.misbehave(pts, reason)
		}
		return err
	}
	switch res.Status {
	case chain.StatusOrphan:
		// We miss its ancestors: learn the peer's chain from our locator.
		if p != nil && !p.closed() {
			sm.startHeaders(p)
		}
	case chain.StatusConnected:
		if live {
			delay := time.Since(time.Unix(int64(b.Header.Timestamp), 0)).Seconds()
			sm.s.m.propagation.Observe(max(delay, 0))
		}
	}
	return nil
}

// notFound: p does not have a block we asked for.
func (sm *syncManager) notFound(p *Peer, h wire.Hash) {
	sm.mu.Lock()
	d, ok := sm.byHash[h]
	if !ok || d.peer != p {
		sm.mu.Unlock()
		sm.announced.done(h)
		return
	}
	sm.inflight[p]--
	d.peer = nil
	d.tried[p.id] = true
	sm.mu.Unlock()
	sm.schedule()
}

// peerGone requeues what p had in flight.
func (sm *syncManager) peerGone(p *Peer) {
	sm.mu.Lock()
	for _, d := range sm.queue {
		if d.peer == p {
			d.peer = nil
		}
	}
	delete(sm.inflight, p)
	// Drop queued blocks no connected peer can serve any more.
	sm.mu.Unlock()
	p.hs.mu.Lock()
	sm.abandonHeadersLocked(p)
	p.hs.mu.Unlock()
	sm.pruneUnservable()
	sm.schedule()
}

// pruneUnservable drops queued blocks that every connected peer refused: they came from a peer
// that is gone. Blocks behind them then wait in the orphan pool until a header exchange brings
// their ancestors.
func (sm *syncManager) pruneUnservable() {
	peers := sm.s.peerList()
	sm.mu.Lock()
	defer sm.mu.Unlock()
	kept := sm.queue[:0]
	for _, d := range sm.queue {
		servable := d.block != nil || d.peer != nil
		for _, q := range peers {
			if !d.tried[q.id] && q.bestHeight.Load() >= d.height {
				servable = true
				break
			}
		}
		if servable {
			kept = append(kept, d)
		} else {
			delete(sm.byHash, d.hash)
		}
	}
	for i := len(kept); i < len(sm.queue); i++ {
		sm.queue[i] = nil
	}
	sm.queue = kept
}

// checkStalls drops peers that hold a requested block, or do not answer getheaders, for
// Timing.Stall, each download timed on its own. The head of the queue — the block every
// received one behind it waits for — is asked of another peer already after a quarter of that,
// when blocks behind it have arrived and another peer can serve it; a peer that loses the head
// block maxSlowHeads times is dropped too.
func (sm *syncManager) checkStalls() {
	limit := sm.s.cfg.Timing.Stall
	now := time.Now()
	peers := sm.s.peerList()
	stalled := map[*Peer]string{}
	reassigned := false
	sm.mu.Lock()
	for i, d := range sm.queue {
		if d.peer == nil {
			continue
		}
		age := now.Sub(d.since)
		if age > limit {
			stalled[d.peer] = "stalled: requested blocks not delivered"
			continue
		}
		if i == 0 && age > limit/4 && sm.waitingBehindLocked() && sm.otherSourceLocked(d, peers) {
			sm.s.log.Info("asking another peer for the head block", "block", d.hash, "height", d.height, "peer", d.peer.id.Short())
			sm.s.m.reassigned.Inc()
			if d.peer.slowHeads.Add(1) >= maxSlowHeads {
				stalled[d.peer] = "stalled: the head block was asked of another peer too often"
			}
			d.tried = withTried(d.tried, d.peer.id)
			sm.inflight[d.peer]--
			d.peer = nil
			reassigned = true
		}
	}
	sm.mu.Unlock()
	var retry []*Peer
	for _, p := range peers {
		p.hs.mu.Lock()
		if p.hs.tracker != nil && now.Sub(p.hs.asked) > limit {
			stalled[p] = "stalled: headers not delivered"
		}
		if p.hs.tracker == nil && !p.hs.retryAt.IsZero() && now.After(p.hs.retryAt) {
			retry = append(retry, p)
		}
		p.hs.mu.Unlock()
	}
	for _, p := range retry {
		sm.startHeaders(p)
	}
	for p, why := range stalled {
		sm.s.log.Warn("dropping stalled peer", "peer", p.id.Short(), "reason", why)
		p.disconnect(why)
	}
	if len(stalled) > 0 {
		sm.pruneUnservable()
	}
	if len(stalled) > 0 || reassigned {
		sm.schedule()
	}
}

// waitingBehindLocked reports whether a block behind the head of the queue has arrived.
func (sm *syncManager) waitingBehindLocked() bool {
	for _, d := range sm.queue[1:min(len(sm.queue), downloadWindow)] {
		if d.block != nil {
			return true
		}
	}
	return false
}

// otherSourceLocked reports whether a connected peer other than the one asked could serve d.
func (sm *syncManager) otherSourceLocked(d *download, peers []*Peer) bool {
	for _, q := range peers {
		if q != d.peer && !q.closed() && !d.tried[q.id] && q.bestHeight.Load() >= d.height {
			return true
		}
	}
	return false
}

func withTried(tried map[NodeID]bool, id NodeID) map[NodeID]bool {
	if tried == nil {
		tried = map[NodeID]bool{}
	}
	tried[id] = true
	return tried
}

// busy reports whether blocks are queued for download.
func (sm *syncManager) busy() bool {
	sm.mu.Lock()
	defer sm.mu.Unlock()
	return len(sm.queue) > 0
}

// synced: nothing queued and every peer has sent us its whole header chain, so nothing better
// is known; a node that found no peer within SyncGrace (the first node of a network) counts as
// synced.
func (sm *syncManager) synced() bool {
	if sm.busy() {
		return false
	}
	peers := sm.s.peerList()
	if len(peers) == 0 {
		return time.Since(sm.s.started) > sm.s.cfg.Timing.SyncGrace
	}
	for _, p := range peers {
		if !p.headersDone.Load() {
			return false
		}
	}
	return true
}

func (p *Peer) closed() bool {
	select {
	case <-p.quit:
		return true
	default:
		return false
	}
}
