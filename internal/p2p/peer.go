package p2p

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chainnet/chainnet/internal/p2p/message"
	"github.com/chainnet/chainnet/internal/wire"
)

// BanThreshold is the ban score at which a peer is disconnected and banned (as Bitcoin Core's
// -banscore default).
const BanThreshold = 100

const (
	sendQueueSize = 1024
	knownInvSize  = 20_000
	writeTimeout  = 30 * time.Second
	// maxQueuedTxInv bounds the transaction announcements waiting for a peer's writer; beyond it
	// new ones are dropped (the transactions still reach the peer in blocks).
	maxQueuedTxInv = 50_000
	// txInvChunk is the most announcements in one inv message the writer sends: small enough
	// that a block waiting behind it is not held up long.
	txInvChunk = 1_000
	// maxQueuedBlockBytes bounds the block bytes waiting in a peer's send queue: a peer that asks
	// for more than it reads makes its own requests wait, not our memory grow.
	maxQueuedBlockBytes = 4 << 20
)

// Peer is one connected, handshaken peer.
type Peer struct {
	s       *Server
	conn    *tls.Conn
	id      NodeID
	inbound bool
	addr    string // the address we dialled, or the remote address of an inbound peer
	version message.Version
	since   time.Time

	sendq chan message.Message
	quit  chan struct{}
	// queuedBytes counts the block bytes in sendq; drained is signalled when the write loop has
	// sent one.
	queuedBytes atomic.Int64
	drained     chan struct{}
	closeOnce   sync.Once
	closeWhy    atomic.Value // string

	// txInv holds transaction announcements for the writer, which sends all that are waiting in
	// inv messages of up to txInvChunk: at thousands of transactions a second, one message
	// (and one queue slot) per transaction would fill the send queue and drop the peer.
	txInv struct {
		sync.Mutex
		hashes []wire.Hash
		ready  chan struct{}
	}

	known    *hashSet
	score    atomic.Int32
	lastRecv atomic.Int64 // unix nanoseconds
	rtt      atomic.Int64 // nanoseconds
	ping     struct {
		nonce atomic.Uint64
		sent  atomic.Int64
	}
	bestHeight atomic.Uint64
	// slowHeads counts the head-of-queue blocks asked of another peer because this one was slow.
	slowHeads atomic.Int32

	// Read-loop-only state.
	invBudget  float64
	invLast    time.Time
	addrBudget float64 // addresses this peer may still share (see handleAddr)
	addrLast   time.Time
	hs         headerState
	// headersDone is set once the peer answered a getheaders with less than a full batch:
	// we know its best chain.
	headersDone atomic.Bool
	getAddrDone bool
}

// PeerInfo describes a peer for status and tests.
type PeerInfo struct {
	NodeID     string        `json:"nodeId"`
	Addr       string        `json:"addr"`
	Inbound    bool          `json:"inbound"`
	Role       string        `json:"role"`
	Org        string        `json:"org,omitempty"`
	BestHeight uint64        `json:"bestHeight"`
	BanScore   int32         `json:"banScore"`
	RTT        time.Duration `json:"rtt"`
}

func (p *Peer) info() PeerInfo {
	role := RoleValidator
	if p.version.Role == message.RoleObserver {
		role = RoleObserver
	}
	return PeerInfo{NodeID: p.id.String(), Addr: p.addr, Inbound: p.inbound, Role: role, Org: p.version.Org,
		BestHeight: p.bestHeight.Load(), BanScore: p.score.Load(), RTT: time.Duration(p.rtt.Load())}
}

func (p *Peer) direction() string {
	if p.inbound {
		return "inbound"
	}
	return "outbound"
}

// send queues m without blocking. A peer that does not drain its queue is too slow to keep.
func (p *Peer) send(m message.Message) {
	select {
	case p.sendq <- m:
	case <-p.quit:
	default:
		p.disconnect("send queue full")
	}
}

// sendBlock queues a block's encoding, counting its bytes against the peer's queue bound.
func (p *Peer) sendBlock(raw []byte) {
	p.queuedBytes.Add(int64(len(raw)))
	p.send(&message.EncodedBlock{Raw: raw})
}

// waitSendRoom waits until the peer's queued block bytes are below maxQueuedBlockBytes. It
// returns false if the peer is gone, or drained nothing for writeTimeout (it is then dropped).
func (p *Peer) waitSendRoom() bool {
	if p.queuedBytes.Load() < maxQueuedBlockBytes {
		return !p.closed()
	}
	timer := time.NewTimer(writeTimeout)
	defer timer.Stop()
	for p.queuedBytes.Load() >= maxQueuedBlockBytes {
		select {
		case <-p.drained:
		case <-p.quit:
			return false
		case <-timer.C:
			p.disconnect("send stalled: the peer reads nothing")
			return false
		}
	}
	return !p.closed()
}

// disconnect closes the connection once; the read loop then unregisters the peer.
func (p *Peer) disconnect(why string) {
	p.closeOnce.Do(func() {
		p.closeWhy.Store(why)
		close(p.quit)
		_ = p.conn.Close()
	})
}

func (p *Peer) reason() string {
	if v, ok := p.closeWhy.Load().(string); ok {
		return v
	}
	return ""
}

// misbehave raises the ban score; at the threshold the peer is banned and dropped.
func (p *Peer) misbehave(points int32, reason string) {
	p.s.m.misbehaviour.WithLabelValues(reason).Inc()
	score := p.score.Add(points)
	p.s.log.Info("peer misbehaved", "peer", p.id.Short(), "reason", reason, "points", points, "score", score)
	if score >= BanThreshold && score-points < BanThreshold {
		p.s.ban(p, reason)
	}
}

// announceTx queues a transaction announcement for the writer.
func (p *Peer) announceTx(id wire.Hash) {
	p.txInv.Lock()
	defer p.txInv.Unlock()
	if len(p.txInv.hashes) >= maxQueuedTxInv {
		p.s.m.dropped.WithLabelValues("tx-inv").Inc()
		return
	}
	p.txInv.hashes = append(p.txInv.hashes, id)
	if len(p.txInv.hashes) == 1 {
		select {
		case p.txInv.ready <- struct{}{}:
		default:
		}
	}
}

// takeTxInv returns the waiting announcements as inv messages.
func (p *Peer) takeTxInv() []*message.Inv {
	p.txInv.Lock()
	hashes := p.txInv.hashes
	p.txInv.hashes = nil
	p.txInv.Unlock()
	var out []*message.Inv
	for len(hashes) > 0 {
		n := min(len(hashes), txInvChunk)
		inv := &message.Inv{}
		inv.Items = make([]message.InvVect, n)
		for i, h := range hashes[:n] {
			inv.Items[i] = message.InvVect{Type: message.InvTx, Hash: h}
		}
		out = append(out, inv)
		hashes = hashes[n:]
	}
	return out
}

func (p *Peer) writeLoop() {
	for {
		select {
		case <-p.quit:
			return
		case <-p.txInv.ready:
			for _, inv := range p.takeTxInv() {
				if !p.write(inv) {
					return
				}
			}
		case m := <-p.sendq:
			if !p.write(m) {
				return
			}
		}
	}
}

// write sends one message; false when the connection failed (the peer is then disconnected).
func (p *Peer) write(m message.Message) bool {
	_ = p.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	n, err := message.Write(p.conn, m)
	if err != nil {
		p.disconnect(fmt.Sprintf("write: %v", err))
		return false
	}
	if eb, ok := m.(*message.EncodedBlock); ok {
		p.queuedBytes.Add(-int64(len(eb.Raw)))
		select {
		case p.drained <- struct{}{}:
		default:
		}
	}
	t := m.Type().String()
	p.s.m.messages.WithLabelValues("out", t).Inc()
	p.s.m.bytes.WithLabelValues("out", t).Add(float64(n))
	return true
}

// readLoop reads and handles messages until the connection fails. Framing errors are
// misbehaviour: the peer sent bytes no honest node sends.
func (p *Peer) readLoop() {
	for {
		_ = p.conn.SetReadDeadline(time.Now().Add(p.s.cfg.Timing.IdleTimeout))
		m, n, err := message.ReadMax(p.conn, int(p.s.chain.Params().MaxBlockSize))
		if err != nil {
			switch {
			case isFramingError(err):
				p.misbehave(BanThreshold, "malformed-frame")
				p.disconnect(fmt.Sprintf("malformed frame: %v", err))
			case errors.Is(err, io.ErrUnexpectedEOF):
				// A connection cut mid-frame may be the network's fault (a killed pod): a
				// warning, not a ban.
				p.misbehave(20, "truncated-frame")
				p.disconnect("truncated frame")
			case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
				p.disconnect("closed")
			default:
				p.disconnect(fmt.Sprintf("read: %v", err))
			}
			return
		}
		p.lastRecv.Store(time.Now().UnixNano())
		t := m.Type().String()
		p.s.m.messages.WithLabelValues("in", t).Inc()
		p.s.m.bytes.WithLabelValues("in", t).Add(float64(n))
		p.s.handle(p, m)
		select {
		case <-p.quit:
			return
		default:
		}
	}
}

func isFramingError(err error) bool {
	for _, e := range []error{message.ErrUnknownType, message.ErrOversized, message.ErrChecksum, message.ErrMalformed} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// pingLoop keeps the connection alive and measures the round trip.
func (p *Peer) pingLoop() {
	t := time.NewTicker(p.s.cfg.Timing.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-p.quit:
			return
		case <-t.C:
			nonce := rand.Uint64()
			p.ping.nonce.Store(nonce)
			p.ping.sent.Store(time.Now().UnixNano())
			p.send(&message.Ping{Nonce: nonce})
		}
	}
}

// hashSet is a bounded set of hashes that forgets the oldest half when full (what a peer is
// known to have, so we never announce it back).
type hashSet struct {
	mu       sync.Mutex
	cur, old map[wire.Hash]struct{}
	limit    int
}

func newHashSet(limit int) *hashSet {
	return &hashSet{cur: map[wire.Hash]struct{}{}, old: map[wire.Hash]struct{}{}, limit: limit}
}

func (s *hashSet) add(h wire.Hash) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.cur) >= s.limit/2 {
		s.old, s.cur = s.cur, make(map[wire.Hash]struct{}, s.limit/2)
	}
	s.cur[h] = struct{}{}
}

// addIfAbsent adds h and reports whether it was absent.
func (s *hashSet) addIfAbsent(h wire.Hash) bool {
	if s.has(h) {
		return false
	}
	s.add(h)
	return true
}

func (s *hashSet) has(h wire.Hash) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.cur[h]; ok {
		return true
	}
	_, ok := s.old[h]
	return ok
}
