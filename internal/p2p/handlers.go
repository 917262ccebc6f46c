package p2p

import (
	"sync"
	"time"

	"github.com/chainnet/chainnet/internal/chain"
	"github.com/chainnet/chainnet/internal/p2p/addrmgr"
	"github.com/chainnet/chainnet/internal/p2p/message"
	"github.com/chainnet/chainnet/internal/wire"
)

// Inventory flood control: a peer may announce invBurst items at once and invRate per second
// on average; announcements beyond that are dropped and scored.
const (
	invBurst = 20_000
	invRate  = 5_000
)

// addrRate is how many gossiped addresses a second a peer's budget regains (after a burst of
// message.MaxAddr), as Bitcoin Core's MAX_ADDR_RATE_PER_SECOND.
const addrRate = 0.1

// onConnected starts the conversation: ask for headers beyond our locator (sync and fork
// discovery) and, from outbound peers, for addresses.
func (s *Server) onConnected(p *Peer) {
	s.sync.startHeaders(p)
	if !p.inbound {
		p.send(&message.GetAddr{})
	}
}

// handle dispatches one message from p (called from p's read loop).
func (s *Server) handle(p *Peer, m message.Message) {
	switch m := m.(type) {
	case *message.Ping:
		p.send(&message.Pong{Nonce: m.Nonce})
	case *message.Pong:
		if m.Nonce != 0 && m.Nonce == p.ping.nonce.Swap(0) {
			p.rtt.Store(time.Now().UnixNano() - p.ping.sent.Load())
		}
	case *message.GetAddr:
		s.handleGetAddr(p)
	case *message.Addr:
		s.handleAddr(p, m)
	case *message.Inv:
		s.handleInv(p, m.Items)
	case *message.GetData:
		s.handleGetData(p, m.Items)
	case *message.NotFound:
		for _, it := range m.Items {
			if it.Type == message.InvBlock {
				s.sync.notFound(p, it.Hash)
			} else {
				sendTxRequests(s.txs.notFound(p, it.Hash, time.Now()))
			}
		}
	case *message.Block:
		s.handleBlock(p, m.Block)
	case *message.Tx:
		s.handleTx(p, m.Tx)
	case *message.GetHeaders:
		headers := s.chain.LocateHeaders(m.Locator, m.Stop, message.MaxHeaders)
		p.send(&message.Headers{Headers: headers})
	case *message.Headers:
		s.sync.onHeaders(p, m.Headers)
	case *message.Reject:
		s.log.Debug("peer rejected", "peer", p.id.Short(), "code", m.Code, "reason", m.Reason, "hash", m.Hash)
	case *message.Version, *message.Verack:
		p.misbehave(1, "repeated-handshake")
	}
}

// handleGetAddr answers once per connection with peers that completed a handshake with us; on
// permissioned networks only members' records leave the node.
func (s *Server) handleGetAddr(p *Peer) {
	if p.getAddrDone {
		return
	}
	p.getAddrDone = true
	recs := s.addrs.Known(message.MaxAddr, s.memberRecord)
	out := &message.Addr{}
	for _, r := range recs {
		id, err := addrmgr.ParseNodeID(r.NodeID)
		if err != nil || NodeID(id) == p.id {
			continue
		}
		out.Peers = append(out.Peers, message.PeerAddr{NodeID: id, Addr: r.Addr})
	}
	if len(out.Peers) > 0 {
		p.send(out)
	}
}

// handleAddr learns the addresses a peer shares, as many as its budget allows (Bitcoin Core's
// rate: a burst of MaxAddr, then addrRate a second); the rest is dropped, not scored. The table
// takes them in one batch, bounded per source group.
func (s *Server) handleAddr(p *Peer, m *message.Addr) {
	now := time.Now()
	p.addrBudget = min(message.MaxAddr, p.addrBudget+now.Sub(p.addrLast).Seconds()*addrRate)
	p.addrLast = now
	learned := make([]addrmgr.Learned, 0, len(m.Peers))
	dropped := 0
	for _, pa := range m.Peers {
		id := NodeID(pa.NodeID)
		if id == s.self {
			continue
		}
		if _, ok := s.resolve(id); !ok {
			continue
		}
		if p.addrBudget < 1 {
			dropped++
			continue
		}
		p.addrBudget--
		learned = append(learned, addrmgr.Learned{Addr: pa.Addr, NodeID: id.String()})
	}
	if dropped > 0 {
		s.m.dropped.WithLabelValues("addr").Add(float64(dropped))
	}
	if len(learned) > 0 {
		s.addrs.Learn(addrmgr.SourceGossip, p.addr, learned...)
	}
}

// spendInv charges n announced items against the peer's token bucket.
func (p *Peer) spendInv(n int) bool {
	now := time.Now()
	p.invBudget = min(invBurst, p.invBudget+now.Sub(p.invLast).Seconds()*invRate)
	p.invLast = now
	if float64(n) > p.invBudget {
		return false
	}
	p.invBudget -= float64(n)
	return true
}

// handleInv fetches what the peer announced and we lack (announce-then-fetch).
func (s *Server) handleInv(p *Peer, items []message.InvVect) {
	if !p.spendInv(len(items)) {
		p.misbehave(20, "inv-flood")
		return
	}
	req := &message.GetData{}
	now := time.Now()
	for _, it := range items {
		p.known.add(it.Hash)
		switch it.Type {
		case message.InvBlock:
			if s.sync.wantAnnounced(p, it.Hash) {
				req.Items = append(req.Items, it)
			}
		case message.InvTx:
			if s.b.Mempool().Has(it.Hash) {
				continue
			}
			if s.chain.HasTx(it.Hash) {
				continue
			}
			ask, dropped := s.txs.announced(p, it.Hash, now)
			if dropped {
				s.m.dropped.WithLabelValues("tx-announcement").Inc()
			}
			if ask {
				req.Items = append(req.Items, it)
			}
		default:
			p.misbehave(10, "unknown-inv-type")
			return
		}
	}
	if len(req.Items) > 0 {
		p.send(req)
	}
}

// maxGetDataItems caps the objects one getdata may ask for: an honest peer asks at once for at
// most its block download window and its transaction requests in flight.
const maxGetDataItems = 1_000

// handleGetData serves blocks and transactions we have; the rest is notfound. Blocks go out as
// stored, one at a time, each once the peer's queue has room (maxQueuedBlockBytes): a peer that
// asks for much and reads little holds up its own requests, and the loop ends when it leaves.
func (s *Server) handleGetData(p *Peer, items []message.InvVect) {
	if len(items) > maxGetDataItems {
		p.misbehave(20, "getdata-oversized")
		s.m.dropped.WithLabelValues("getdata-item").Add(float64(len(items) - maxGetDataItems))
		items = items[:maxGetDataItems]
	}
	missing := &message.NotFound{}
	for _, it := range items {
		switch it.Type {
		case message.InvBlock:
			if !p.waitSendRoom() {
				return
			}
			raw, err := s.chain.BlockBytes(it.Hash)
			if err != nil {
				missing.Items = append(missing.Items, it)
				continue
			}
			p.known.add(it.Hash)
			p.sendBlock(raw)
		case message.InvTx:
			if p.closed() {
				return
			}
			tx, ok := s.b.Mempool().Get(it.Hash)
			if !ok {
				missing.Items = append(missing.Items, it)
				continue
			}
			p.known.add(it.Hash)
			p.send(&message.Tx{Tx: tx})
		}
	}
	if len(missing.Items) > 0 {
		p.send(missing)
	}
}

// handleTx admits a peer's transaction; the mempool announces it onwards when admitted.
// Transactions that could never be valid score against the peer; ones that are merely stale
// or unlucky (nonce already used, pool full) do not: honest peers send those during reorgs.
func (s *Server) handleTx(p *Peer, tx *wire.Tx) {
	id := tx.ID()
	p.known.add(id)
	sendTxRequests(s.txs.received(id, time.Now()))
	err := s.b.SubmitTx(tx)
	if err == nil {
		return
	}
	switch chain.RuleOf(err) {
	case chain.RuleBadTxSignature, chain.RuleWrongChainID, chain.RuleZeroAmount, chain.RuleSelfTransfer, chain.RuleAmountOverflow:
		p.misbehave(10, "invalid-tx")
		p.send(&message.Reject{Code: message.RejectInvalid, Reason: err.Error(), Hash: id})
	}
}

// handleBlock hands the block to the sync manager (which processes requested blocks in chain
// order) and scores the peer for invalid ones.
func (s *Server) handleBlock(p *Peer, b *wire.Block) {
	s.sync.onBlock(p, b)
}

// blockMisbehaviour scores a block rejection. A block too far in the future may be our clock's
// fault, and blocks above our halt height are our own policy (a scheduled upgrade): neither is the
// peer's. Every other rule, miner-not-permitted included, is a property of the block and its
// parent — membership is chain state, so every honest node judges it the same — and an honest
// peer relays only blocks it validated.
func blockMisbehaviour(err error) (int32, string) {
	switch rule := chain.RuleOf(err); rule {
	case "", chain.RuleTimeTooNew, chain.RuleBeyondHaltHeight:
		return 0, ""
	default:
		return BanThreshold, "block-" + string(rule)
	}
}

// requestsPurgeAt is the size above which requests drops its expired entries.
const requestsPurgeAt = 20_000

// requests tracks block hashes requested from peers after an announcement, so that several
// announcements of the same block cause one request; entries expire so a peer that never answers
// delays us only once.
type requests struct {
	mu     sync.Mutex
	ttl    time.Duration
	byHash map[wire.Hash]time.Time
}

func newRequests(ttl time.Duration) *requests {
	return &requests{ttl: ttl, byHash: map[wire.Hash]time.Time{}}
}

// start marks h requested; false if a live request exists.
func (r *requests) start(h wire.Hash) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	if t, ok := r.byHash[h]; ok && now.Sub(t) < r.ttl {
		return false
	}
	r.byHash[h] = now
	if len(r.byHash) > requestsPurgeAt {
		for k, t := range r.byHash {
			if now.Sub(t) >= r.ttl {
				delete(r.byHash, k)
			}
		}
	}
	return true
}

func (r *requests) done(h wire.Hash) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.byHash, h)
}
