package p2p

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"sort"
	"sync"
	"time"

	"github.com/chainnet/chainnet/internal/chain"
	"github.com/chainnet/chainnet/internal/governance"
	"github.com/chainnet/chainnet/internal/p2p/addrmgr"
	"github.com/chainnet/chainnet/internal/p2p/message"
	"github.com/chainnet/chainnet/internal/permissions"
	"github.com/chainnet/chainnet/internal/wire"
)

// Server is a node's P2P network. It implements the node's Network interface.
type Server struct {
	cfg   Config
	b     Backend
	chain *chain.Chain
	log   *slog.Logger
	m     *netMetrics
	self  NodeID
	nonce uint64 // detects connections to ourselves through another address

	membership string // public, consortium or private
	cert       tls.Certificate
	addrs      *addrmgr.Manager
	sync       *syncManager
	txs        *txFetcher // transactions announced by peers, and which peer is asked for each

	mu    sync.Mutex
	peers map[NodeID]*Peer
	// pending counts inbound handshakes in progress, pendingByIP by remote IP address.
	pending     int
	pendingByIP map[string]int
	dialing     map[string]bool // addresses dialled, until the connection ends
	// dialingIDs are the identities of those addresses, when known.
	dialingIDs map[string]bool
	ln         net.Listener
	started    time.Time

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New creates the network of a node; Start opens it.
func New(b Backend, cfg Config) (*Server, error) {
	cfg = cfg.withDefaults()
	params := b.Chain().Params()
	membership := string(params.Membership)
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.Timing.CatchUp == 0 {
		cfg.Timing.CatchUp = max(30*time.Duration(params.TargetBlockTime)*time.Second, 2*time.Minute)
	}
	s := &Server{
		cfg: cfg, b: b, chain: b.Chain(), log: cfg.Logger.With("component", "p2p"),
		m: newMetrics(cfg.Registry), self: NodeID(cfg.Key.Public), nonce: rand.Uint64(),
		membership: membership, peers: map[NodeID]*Peer{}, dialing: map[string]bool{}, dialingIDs: map[string]bool{}, pendingByIP: map[string]int{},
		txs: newTxFetcher(cfg.Timing.TxRequest),
	}
	s.ownMembership()
	var err error
	if s.cert, err = certificate(cfg.Key); err != nil {
		return nil, err
	}
	s.addrs, err = addrmgr.New(cfg.Store, addrmgr.Config{BackoffBase: cfg.Timing.BackoffBase,
		BackoffMax: cfg.Timing.BackoffMax, Logger: s.log})
	if err != nil {
		return nil, err
	}
	s.sync = newSyncManager(s)
	for _, raw := range cfg.Bootstrap {
		bp, _ := ParseBootstrap(raw)
		s.addrs.Add(bp.Addr, bp.NodeID, addrmgr.SourceBootstrap)
	}
	return s, nil
}

// Start listens and starts the connection manager.
func (s *Server) Start(ctx context.Context) error {
	s.ctx, s.cancel = context.WithCancel(ctx)
	s.started = time.Now()
	ln, err := net.Listen("tcp", s.cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("p2p listen %s: %w", s.cfg.ListenAddr, err)
	}
	s.mu.Lock()
	s.ln = ln
	s.mu.Unlock()
	s.log.Info("p2p listening", "addr", ln.Addr().String(), "node_id", s.self.String(), "membership", s.membership,
		"role", s.cfg.Role, "org", s.cfg.Org, "known_peers", s.addrs.Len())
	s.chain.OnMembershipChange(func(*governance.State) { s.enforceMembership() })
	if s.cfg.Permissions != nil {
		s.cfg.Permissions.OnChange(func(*permissions.Set) { s.enforceMembership() })
		s.goRun(func() { s.cfg.Permissions.Run(s.ctx, s.cfg.Timing.ReloadPermits) })
	}
	s.goRun(s.acceptLoop)
	s.goRun(s.connectionManager)
	s.goRun(s.sync.connector)
	return nil
}

func (s *Server) goRun(fn func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		fn()
	}()
}

// Addr is the bound listen address (after Start).
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// AddAddress adds a peer address to the table as if given with --bootstrap (nodeID may be
// empty); the connection manager dials it on its next round.
func (s *Server) AddAddress(addr, nodeID string) {
	s.addrs.Add(addr, nodeID, addrmgr.SourceBootstrap)
}

// NodeID returns our identity.
func (s *Server) NodeID() NodeID { return s.self }

// Close disconnects every peer and stops all goroutines.
func (s *Server) Close() error {
	if s.cancel == nil {
		return nil
	}
	s.cancel()
	s.mu.Lock()
	if s.ln != nil {
		_ = s.ln.Close()
	}
	for _, p := range s.peers {
		p.disconnect("shutting down")
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

// Inbound handshake limits: handshakes in progress in all and from one IP address. A handshake
// that never completes holds its slot for Timing.Handshake at most.
const (
	maxPendingHandshakes      = 64
	maxPendingHandshakesPerIP = 8
)

func (s *Server) acceptLoop() {
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			if s.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			s.log.Warn("accept", "err", err)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		ip := hostOf(conn.RemoteAddr().String())
		if reason := s.admitInbound(ip); reason != "" {
			s.m.refused.WithLabelValues(reason).Inc()
			_ = conn.Close()
			continue
		}
		s.goRun(func() {
			s.handleConn(conn, true, conn.RemoteAddr().String(), "", func() { s.handshakeDone(ip) })
		})
	}
}

// admitInbound decides on a new inbound connection before any byte is read: it needs a free
// inbound slot, room among the handshakes in progress, and its IP address its share of both.
// Admitted, it counts as a handshake in progress until handshakeDone. It returns the refusal
// reason, or "".
func (s *Server) admitInbound(ip string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	inbound, fromIP := s.countInboundLocked(ip, nil)
	switch {
	case inbound >= s.cfg.MaxInbound:
		return "inbound-full"
	case fromIP >= s.maxInboundPerIP():
		return "inbound-per-ip"
	case s.pending >= maxPendingHandshakes:
		return "handshakes-pending"
	case s.pendingByIP[ip] >= maxPendingHandshakesPerIP:
		return "handshakes-pending-per-ip"
	}
	s.pending++
	s.pendingByIP[ip]++
	s.m.pendingHandshakes.Set(float64(s.pending))
	return ""
}

func (s *Server) handshakeDone(ip string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending--
	if s.pendingByIP[ip]--; s.pendingByIP[ip] <= 0 {
		delete(s.pendingByIP, ip)
	}
	s.m.pendingHandshakes.Set(float64(s.pending))
}

// maxInboundPerIP is the share of inbound slots one IP address may hold: half of them.
func (s *Server) maxInboundPerIP() int { return max(1, s.cfg.MaxInbound/2) }

// countInboundLocked counts the inbound peers, and those from ip, leaving out except.
func (s *Server) countInboundLocked(ip string, except *Peer) (all, fromIP int) {
	for _, p := range s.peers {
		if !p.inbound || p == except {
			continue
		}
		all++
		if hostOf(p.addr) == ip {
			fromIP++
		}
	}
	return all, fromIP
}

func hostOf(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return host
}

// errSelf: the address we dialled is our own.
var errSelf = errors.New("connected to ourselves")

// handleConn runs TLS and the version handshake on a fresh connection, then serves the peer
// until it disconnects. handshakeDone, if not nil, is called once the handshake ends.
func (s *Server) handleConn(raw net.Conn, inbound bool, addr, expectID string, handshakeDone func()) {
	p, err := s.handshake(raw, inbound, addr, expectID)
	if handshakeDone != nil {
		handshakeDone()
	}
	if err != nil {
		_ = raw.Close()
		reason := refusalReason(err)
		s.m.refused.WithLabelValues(reason).Inc()
		s.log.Debug("handshake failed", "addr", addr, "inbound", inbound, "reason", reason, "err", err)
		if !inbound {
			var other *otherIdentity
			switch {
			case errors.Is(err, errSelf):
				s.addrs.MarkSelf(addr)
			case errors.As(err, &other):
				s.addrs.Observed(addr, other.got.String())
				s.addrs.Failed(addr)
			default:
				s.addrs.Failed(addr)
			}
		}
		return
	}
	if !s.register(p) {
		return
	}
	defer s.unregister(p)
	go p.writeLoop()
	go p.pingLoop()
	s.onConnected(p)
	p.readLoop()
}

func refusalReason(err error) string {
	var re *refusal
	switch {
	case errors.As(err, &re):
		return re.reason
	case errors.Is(err, errSelf):
		return "self"
	case errors.As(err, new(*otherIdentity)):
		return "other-identity"
	case errors.Is(err, ErrNotAdmitted):
		return "not-admitted"
	default:
		return "handshake-error"
	}
}

// refusal is a handshake refused for a named reason.
type refusal struct {
	reason string
	err    error
}

func (r *refusal) Error() string { return r.reason + ": " + r.err.Error() }
func (r *refusal) Unwrap() error { return r.err }

func refuse(reason, format string, args ...any) error {
	return &refusal{reason: reason, err: fmt.Errorf(format, args...)}
}

// handshake authenticates the peer with mutual TLS and exchanges version messages.
func (s *Server) handshake(raw net.Conn, inbound bool, addr, expectID string) (*Peer, error) {
	deadline := time.Now().Add(s.cfg.Timing.Handshake)
	_ = raw.SetDeadline(deadline)
	conf := tlsConfig(s.cert, func(id NodeID) error { return s.admit(id, !inbound, expectID) })
	var conn *tls.Conn
	if inbound {
		conn = tls.Server(raw, conf)
	} else {
		conn = tls.Client(raw, conf)
	}
	ctx, cancel := context.WithDeadline(s.ctx, deadline)
	defer cancel()
	if err := conn.HandshakeContext(ctx); err != nil {
		if errors.Is(err, errSelf) {
			return nil, errSelf
		}
		return nil, fmt.Errorf("tls: %w", err)
	}
	id, err := connIdentity(conn.ConnectionState())
	if err != nil {
		return nil, err
	}
	tip := s.chain.Tip()
	params := s.chain.Params()
	ours := &message.Version{Protocol: message.ProtocolVersion, NetworkID: params.NetworkID, GenesisHash: params.GenesisHash,
		BestHeight: tip.Height, Role: roleCode(s.cfg.Role), Org: s.cfg.Org, ListenAddr: s.advertiseAddr(), Nonce: s.nonce}
	if _, err := message.Write(conn, ours); err != nil {
		return nil, fmt.Errorf("send version: %w", err)
	}
	m, _, err := message.Read(conn)
	if err != nil {
		return nil, fmt.Errorf("read version: %w", err)
	}
	theirs, ok := m.(*message.Version)
	if !ok {
		return nil, refuse("protocol", "first message is %s, want version", m.Type())
	}
	if err := s.checkVersion(id, theirs); err != nil {
		_, _ = message.Write(conn, &message.Reject{Code: message.RejectWrongNet, Reason: err.Error()})
		return nil, err
	}
	if _, err := message.Write(conn, &message.Verack{}); err != nil {
		return nil, fmt.Errorf("send verack: %w", err)
	}
	if m, _, err = message.Read(conn); err != nil {
		return nil, fmt.Errorf("read verack: %w", err)
	}
	if _, ok := m.(*message.Verack); !ok {
		return nil, refuse("protocol", "got %s, want verack", m.Type())
	}
	_ = raw.SetDeadline(time.Time{})
	p := &Peer{s: s, conn: conn, id: id, inbound: inbound, addr: addr, version: *theirs, since: time.Now(),
		sendq: make(chan message.Message, sendQueueSize), quit: make(chan struct{}), drained: make(chan struct{}, 1), known: newHashSet(knownInvSize),
		invBudget: invBurst, invLast: time.Now(), addrBudget: message.MaxAddr, addrLast: time.Now()}
	p.txInv.ready = make(chan struct{}, 1)
	p.bestHeight.Store(theirs.BestHeight)
	p.lastRecv.Store(time.Now().UnixNano())
	return p, nil
}

func roleCode(role string) uint8 {
	if role == RoleObserver {
		return message.RoleObserver
	}
	return message.RoleValidator
}

// advertiseAddr is the address we tell peers to dial.
func (s *Server) advertiseAddr() string {
	if s.cfg.AdvertiseAddr != "" {
		return s.cfg.AdvertiseAddr
	}
	if a := s.Addr(); a != nil {
		if host, _, _ := net.SplitHostPort(s.cfg.ListenAddr); host != "" && host != "0.0.0.0" && host != "::" {
			return a.String()
		}
	}
	return ""
}

// checkVersion drops peers of another network, genesis or protocol, and ourselves.
func (s *Server) checkVersion(id NodeID, v *message.Version) error {
	params := s.chain.Params()
	switch {
	case v.Nonce == s.nonce:
		return errSelf
	case v.Protocol != message.ProtocolVersion:
		return refuse("protocol", "protocol version %d, we speak %d", v.Protocol, message.ProtocolVersion)
	case v.NetworkID != params.NetworkID:
		return refuse("wrong-network", "network %q, we are on %q", v.NetworkID, params.NetworkID)
	case v.GenesisHash != params.GenesisHash:
		return refuse("wrong-genesis", "genesis %s, ours is %s", v.GenesisHash, params.GenesisHash)
	}
	return s.checkMember(id, v.Role, v.Org)
}

// register adds a handshaken peer, resolving duplicate connections to the same node: both ends
// keep the connection dialled by the smaller node id, so simultaneous dials settle the same way.
func (s *Server) register(p *Peer) bool {
	if !s.addPeer(p) {
		return false
	}
	// The peer table write (an fsynced store commit) happens outside the server lock.
	if !p.inbound {
		s.addrs.Good(p.addr, p.id.String())
	} else if p.version.ListenAddr != "" {
		s.addrs.Learn(addrmgr.SourceInbound, p.addr, addrmgr.Learned{Addr: p.version.ListenAddr, NodeID: p.id.String()})
	}
	s.log.Info("peer connected", "peer", p.id.Short(), "addr", p.addr, "direction", p.direction(),
		"height", p.version.BestHeight, "org", p.version.Org)
	return true
}

// addPeer puts p in the peer map unless a preferred connection to the same node exists.
func (s *Server) addPeer(p *Peer) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx.Err() != nil {
		_ = p.conn.Close()
		return false
	}
	old, dup := s.peers[p.id]
	if dup && (s.preferred(p) == s.preferred(old) || !s.preferred(p)) {
		s.m.refused.WithLabelValues("duplicate").Inc()
		_ = p.conn.Close()
		return false
	}
	if p.inbound {
		// Checked again now: handshakes admitted together may complete together.
		inbound, fromIP := s.countInboundLocked(hostOf(p.addr), old)
		reason := ""
		if inbound >= s.cfg.MaxInbound {
			reason = "inbound-full"
		} else if fromIP >= s.maxInboundPerIP() {
			reason = "inbound-per-ip"
		}
		if reason != "" {
			s.m.refused.WithLabelValues(reason).Inc()
			_ = p.conn.Close()
			return false
		}
	}
	if dup {
		old.disconnect("duplicate connection")
	}
	s.peers[p.id] = p
	s.m.peers.WithLabelValues(p.direction()).Inc()
	return true
}

// preferred tells whether p is the connection to keep among duplicates.
func (s *Server) preferred(p *Peer) bool {
	dialer := s.self
	if p.inbound {
		dialer = p.id
	}
	other := p.id
	if p.inbound {
		other = s.self
	}
	return string(dialer[:]) < string(other[:])
}

func (s *Server) unregister(p *Peer) {
	p.disconnect("closed")
	s.mu.Lock()
	if s.peers[p.id] == p {
		delete(s.peers, p.id)
		s.m.peers.WithLabelValues(p.direction()).Dec()
	}
	s.mu.Unlock()
	s.sync.peerGone(p)
	sendTxRequests(s.txs.peerGone(p, time.Now()))
	s.log.Info("peer disconnected", "peer", p.id.Short(), "addr", p.addr, "reason", p.reason())
}

// ban bans the peer's identity for BanDuration and drops it.
func (s *Server) ban(p *Peer, reason string) {
	s.m.bans.Inc()
	s.addrs.Ban(p.id.String(), s.cfg.Timing.BanDuration, reason)
	s.log.Warn("peer banned", "peer", p.id.Short(), "addr", p.addr, "reason", reason, "for", s.cfg.Timing.BanDuration)
	p.disconnect("banned: " + reason)
}

// Peers returns the connected peers, sorted by node id.
func (s *Server) Peers() []PeerInfo {
	s.mu.Lock()
	out := make([]PeerInfo, 0, len(s.peers))
	for _, p := range s.peers {
		out = append(out, p.info())
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].NodeID < out[j].NodeID })
	return out
}

// PeerCount returns the number of connected peers.
func (s *Server) PeerCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.peers)
}

func (s *Server) peerList() []*Peer {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*Peer, 0, len(s.peers))
	for _, p := range s.peers {
		out = append(out, p)
	}
	return out
}

// Synced reports whether the node has caught up with its peers (see syncManager.synced).
func (s *Server) Synced() bool { return s.sync.synced() }

// Banned lists the bans in force.
func (s *Server) Banned() []addrmgr.Ban { return s.addrs.Bans() }

// AnnounceBlock announces a newly connected best-chain block to every peer that lacks it. During
// a sync the node announces nothing: the blocks are old news.
func (s *Server) AnnounceBlock(b *wire.Block) {
	if s.sync.busy() {
		return
	}
	h := b.Hash()
	inv := &message.Inv{}
	inv.Items = []message.InvVect{{Type: message.InvBlock, Hash: h}}
	for _, p := range s.peerList() {
		if p.known.addIfAbsent(h) {
			p.send(inv)
		}
	}
}

// AnnounceTx announces a transaction admitted to the mempool to every peer that lacks it.
// Observers relay too: their clients' transactions must reach the validators.
func (s *Server) AnnounceTx(tx *wire.Tx) {
	id := tx.ID()
	for _, p := range s.peerList() {
		if p.known.addIfAbsent(id) {
			p.announceTx(id)
		}
	}
}
