package p2p

import (
	"context"
	"net"
	"sort"
	"strconv"
	"time"

	"github.com/chainnet/chainnet/internal/p2p/addrmgr"
)

const dialTimeout = 5 * time.Second

// connectionManager keeps the node connected: it re-resolves the DNS seeds, tops up outbound
// connections from the peer table (bootstrap peers and gossip land there too), drops stalled
// peers and passes transaction requests that timed out to other announcers. A restarted node finds its previous peers in the table before any seed answers.
func (s *Server) connectionManager() {
	var nextDNS time.Time
	t := time.NewTicker(s.cfg.Timing.DialInterval)
	defer t.Stop()
	for {
		if now := time.Now(); !now.Before(nextDNS) {
			s.resolveSeeds()
			nextDNS = now.Add(s.cfg.Timing.DNSInterval)
		}
		s.enforceMembership()
		s.connect()
		s.sync.checkStalls()
		sendTxRequests(s.txs.expire(time.Now()))
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// resolveSeeds adds every A/AAAA record of the DNS seeds (a headless Service lists every pod).
func (s *Server) resolveSeeds() {
	for _, seed := range s.cfg.DNSSeeds {
		host, port := seed, strconv.Itoa(s.cfg.DefaultPort)
		if h, p, err := net.SplitHostPort(seed); err == nil {
			host, port = h, p
		}
		ctx, cancel := context.WithTimeout(s.ctx, dialTimeout)
		ips, err := net.DefaultResolver.LookupIPAddr(ctx, host)
		cancel()
		if err != nil {
			s.log.Debug("dns seed", "seed", seed, "err", err)
			continue
		}
		for _, ip := range ips {
			s.addrs.Add(net.JoinHostPort(ip.IP.String(), port), "", addrmgr.SourceDNS)
		}
	}
}

// connect dials candidates until the outbound target is met. On a permissioned network a
// validator dials every validator it knows (validators keep a full mesh); an observer dials
// validators only, its own organization's first. Whatever the table holds, an identity is
// dialled at one address at a time: mesh dials are bounded by the validators the membership
// lists, not by what gossip claims about them.
func (s *Server) connect() {
	busy := map[string]bool{}
	for _, p := range s.peerList() {
		busy[p.id.String()] = true
	}
	// Every outbound connection stays in s.dialing until it ends: pending dials and live
	// outbound peers together.
	s.mu.Lock()
	need := s.cfg.MaxOutbound - len(s.dialing)
	for id := range s.dialingIDs {
		busy[id] = true
	}
	s.mu.Unlock()
	cands := s.addrs.Candidates(1000, func(r addrmgr.Record) bool {
		if r.NodeID != "" && busy[r.NodeID] {
			return false
		}
		if s.isDialing(r.Addr) {
			return false
		}
		return s.dialable(r)
	})
	s.preferOwnOrg(cands)
	for _, c := range planDials(cands, need, s.meshPeer, busy) {
		s.dial(c)
	}
}

// planDials picks the candidates to dial, in order: every mesh peer and up to need others, one
// address per identity (busy lists the identities connected or being dialled, and is updated).
func planDials(cands []addrmgr.Record, need int, mesh func(addrmgr.Record) bool, busy map[string]bool) []addrmgr.Record {
	var out []addrmgr.Record
	for _, c := range cands {
		if c.NodeID != "" && busy[c.NodeID] {
			continue
		}
		if !mesh(c) {
			if need <= 0 {
				continue
			}
			need--
		}
		if c.NodeID != "" {
			busy[c.NodeID] = true
		}
		out = append(out, c)
	}
	return out
}

// recordMember resolves a peer-table record's identity (false for records without one).
func (s *Server) recordMember(r addrmgr.Record) (member, bool) {
	id, err := addrmgr.ParseNodeID(r.NodeID)
	if err != nil {
		return member{}, false
	}
	return s.resolve(id)
}

// dialable filters known identities by membership rules.
func (s *Server) dialable(r addrmgr.Record) bool {
	if r.NodeID == "" || s.chain.Membership() == nil {
		return true
	}
	m, ok := s.recordMember(r)
	if !ok {
		return false
	}
	return s.cfg.Role == RoleValidator || m.Role == RoleValidator
}

// meshPeer: a validator of a permissioned network connects to every known validator.
func (s *Server) meshPeer(r addrmgr.Record) bool {
	if s.chain.Membership() == nil || s.cfg.Role != RoleValidator || r.NodeID == "" {
		return false
	}
	m, ok := s.recordMember(r)
	return ok && m.Role == RoleValidator
}

// preferOwnOrg moves our organization's members to the front, keeping the table's ranking.
func (s *Server) preferOwnOrg(cands []addrmgr.Record) {
	if s.chain.Membership() == nil || s.cfg.Org == "" {
		return
	}
	own := func(r addrmgr.Record) bool {
		m, ok := s.recordMember(r)
		return ok && m.Org == s.cfg.Org
	}
	sort.SliceStable(cands, func(i, j int) bool { return own(cands[i]) && !own(cands[j]) })
}

func (s *Server) isDialing(addr string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dialing[addr]
}

// dial connects to r in the background; the address stays marked until the connection ends.
func (s *Server) dial(r addrmgr.Record) {
	s.mu.Lock()
	if s.dialing[r.Addr] || (r.NodeID != "" && s.dialingIDs[r.NodeID]) || s.ctx.Err() != nil {
		s.mu.Unlock()
		return
	}
	s.dialing[r.Addr] = true
	if r.NodeID != "" {
		s.dialingIDs[r.NodeID] = true
	}
	s.mu.Unlock()
	s.addrs.Attempt(r.Addr)
	s.goRun(func() {
		defer func() {
			s.mu.Lock()
			delete(s.dialing, r.Addr)
			if r.NodeID != "" {
				delete(s.dialingIDs, r.NodeID)
			}
			s.mu.Unlock()
		}()
		d := net.Dialer{Timeout: dialTimeout}
		conn, err := d.DialContext(s.ctx, "tcp", r.Addr)
		if err != nil {
			s.addrs.Failed(r.Addr)
			return
		}
		s.handleConn(conn, false, r.Addr, r.NodeID, nil)
	})
}
