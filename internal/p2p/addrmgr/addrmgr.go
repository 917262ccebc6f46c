// Package addrmgr owns the node's peer table: known peer addresses with their identity, history
// and bans, persisted in the node's store so that a restarted node reconnects from it first, as
// Bitcoin Core does with its peers database.
package addrmgr

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"strings"
	"sync"
	"time"
)

// Source says where an address came from.
type Source string

const (
	SourceDNS       Source = "dns"
	SourceBootstrap Source = "bootstrap"
	SourceGossip    Source = "gossip"
	SourceInbound   Source = "inbound"
)

// Record is one row of the peer table.
type Record struct {
	Addr        string    `json:"addr"`             // host:port to dial
	NodeID      string    `json:"nodeId,omitempty"` // hex public key, once known
	Source      Source    `json:"source"`
	LastSeen    time.Time `json:"lastSeen,omitzero"`    // last successful handshake
	LastAttempt time.Time `json:"lastAttempt,omitzero"` // last dial
	Successes   int       `json:"successes"`
	Failures    int       `json:"failures"` // consecutive failed dials
	// Self marks our own address (a DNS seed resolves to every pod, ours included).
	Self bool `json:"self,omitempty"`
}

// Ban is a banned identity.
type Ban struct {
	NodeID string    `json:"nodeId"`
	Until  time.Time `json:"until"`
	Reason string    `json:"reason"`
}

// Persister is the part of the store the table needs.
type Persister interface {
	PutPeer(key string, record []byte) error
	DeletePeer(key string) error
	ForEachPeer(fn func(key string, record []byte) error) error
}

// Config tunes the table.
type Config struct {
	// BackoffBase and BackoffMax bound the wait before redialling an address that failed
	// (doubling per consecutive failure).
	BackoffBase, BackoffMax time.Duration
	// MaxFailures: an address that failed this many times in a row and was never seen in
	// ForgetAfter is forgotten.
	MaxFailures int
	ForgetAfter time.Duration
	Now         func() time.Time
	Logger      *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.BackoffBase == 0 {
		c.BackoffBase = time.Second
	}
	if c.BackoffMax == 0 {
		c.BackoffMax = 5 * time.Minute
	}
	if c.MaxFailures == 0 {
		c.MaxFailures = 20
	}
	if c.ForgetAfter == 0 {
		c.ForgetAfter = 7 * 24 * time.Hour
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Manager is the peer table. It is safe for concurrent use.
type Manager struct {
	cfg   Config
	db    Persister
	mu    sync.Mutex
	addrs map[string]*Record
	bans  map[string]Ban
}

const (
	addrPrefix = "a/"
	banPrefix  = "b/"
)

// New loads the table from db.
func New(db Persister, cfg Config) (*Manager, error) {
	m := &Manager{cfg: cfg.withDefaults(), db: db, addrs: map[string]*Record{}, bans: map[string]Ban{}}
	err := db.ForEachPeer(func(key string, raw []byte) error {
		switch {
		case strings.HasPrefix(key, addrPrefix):
			var r Record
			if err := json.Unmarshal(raw, &r); err != nil || r.Addr == "" {
				m.cfg.Logger.Warn("dropping unreadable peer record", "key", key, "err", err)
				return nil
			}
			m.addrs[r.Addr] = &r
		case strings.HasPrefix(key, banPrefix):
			var b Ban
			if err := json.Unmarshal(raw, &b); err == nil {
				m.bans[b.NodeID] = b
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load peer table: %w", err)
	}
	return m, nil
}

// Len returns the number of known addresses.
func (m *Manager) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.addrs)
}

// Get returns a copy of the record for addr.
func (m *Manager) Get(addr string) (Record, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.addrs[addr]
	if !ok {
		return Record{}, false
	}
	return *r, true
}

// Add learns an address (nodeID may be empty). Known addresses keep their history; a nodeID
// learned later fills in.
func (m *Manager) Add(addr, nodeID string, src Source) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.addrs[addr]
	if !ok {
		r = &Record{Addr: addr, Source: src}
		m.addrs[addr] = r
	} else if r.NodeID == nodeID || nodeID == "" {
		return
	}
	if nodeID != "" {
		r.NodeID = nodeID
	}
	m.saveLocked(r)
}

// Attempt records a dial of addr.
func (m *Manager) Attempt(addr string) {
	m.update(addr, func(r *Record) { r.LastAttempt = m.cfg.Now() })
}

// Failed records a failed dial or handshake. Addresses that keep failing and were not seen for
// ForgetAfter are forgotten (bootstrap addresses never: the operator wrote them).
func (m *Manager) Failed(addr string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.addrs[addr]
	if !ok {
		return
	}
	r.Failures++
	if r.Source != SourceBootstrap && r.Failures >= m.cfg.MaxFailures && m.cfg.Now().Sub(r.LastSeen) > m.cfg.ForgetAfter {
		delete(m.addrs, addr)
		if err := m.db.DeletePeer(addrPrefix + addr); err != nil {
			m.cfg.Logger.Warn("delete peer record", "addr", addr, "err", err)
		}
		return
	}
	m.saveLocked(r)
}

// Good records a completed handshake with nodeID at addr.
func (m *Manager) Good(addr, nodeID string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.addrs[addr]
	if !ok {
		r = &Record{Addr: addr, Source: SourceInbound}
		m.addrs[addr] = r
	}
	r.NodeID, r.LastSeen, r.Failures = nodeID, m.cfg.Now(), 0
	r.Successes++
	m.saveLocked(r)
}

// MarkSelf records that addr is ours; it is never dialled again.
func (m *Manager) MarkSelf(addr string) {
	m.update(addr, func(r *Record) { r.Self = true })
}

func (m *Manager) update(addr string, fn func(*Record)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r, ok := m.addrs[addr]; ok {
		fn(r)
		m.saveLocked(r)
	}
}

func (m *Manager) saveLocked(r *Record) {
	b, _ := json.Marshal(r)
	if err := m.db.PutPeer(addrPrefix+r.Addr, b); err != nil {
		m.cfg.Logger.Warn("persist peer record", "addr", r.Addr, "err", err)
	}
}

// Ban bans nodeID until now+d.
func (m *Manager) Ban(nodeID string, d time.Duration, reason string) {
	b := Ban{NodeID: nodeID, Until: m.cfg.Now().Add(d), Reason: reason}
	m.mu.Lock()
	m.bans[nodeID] = b
	m.mu.Unlock()
	raw, _ := json.Marshal(b)
	if err := m.db.PutPeer(banPrefix+nodeID, raw); err != nil {
		m.cfg.Logger.Warn("persist ban", "node_id", nodeID, "err", err)
	}
}

// Banned reports whether nodeID is banned now.
func (m *Manager) Banned(nodeID string) (Ban, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.bans[nodeID]
	if !ok {
		return Ban{}, false
	}
	if !m.cfg.Now().Before(b.Until) {
		delete(m.bans, nodeID)
		_ = m.db.DeletePeer(banPrefix + nodeID)
		return Ban{}, false
	}
	return b, true
}

// Bans returns the bans in force.
func (m *Manager) Bans() []Ban {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.cfg.Now()
	var out []Ban
	for _, b := range m.bans {
		if now.Before(b.Until) {
			out = append(out, b)
		}
	}
	return out
}

// backoff returns how long after its last attempt addr may be dialled again.
func (m *Manager) backoff(r *Record) time.Duration {
	if r.Failures == 0 {
		return 0
	}
	d := m.cfg.BackoffBase << min(r.Failures-1, 20)
	return min(d, m.cfg.BackoffMax)
}

// Filter decides whether a candidate may be dialled.
type Filter func(Record) bool

// Candidates returns up to n dialable addresses, best first: not ours, not banned, out of
// backoff, accepted by keep; ranked by recent success, then fewest failures, then spread over
// host groups (one per group before a second from the same group), as Bitcoin Core prefers
// outbound peers in distinct network groups.
func (m *Manager) Candidates(n int, keep Filter) []Record {
	m.mu.Lock()
	now := m.cfg.Now()
	var all []Record
	for _, r := range m.addrs {
		if r.Self || now.Sub(r.LastAttempt) < m.backoff(r) {
			continue
		}
		if r.NodeID != "" {
			if b, ok := m.bans[r.NodeID]; ok && now.Before(b.Until) {
				continue
			}
		}
		if keep != nil && !keep(*r) {
			continue
		}
		all = append(all, *r)
	}
	m.mu.Unlock()
	sort.Slice(all, func(i, j int) bool {
		a, b := all[i], all[j]
		if a.LastSeen.Equal(b.LastSeen) {
			if a.Failures != b.Failures {
				return a.Failures < b.Failures
			}
			return a.Addr < b.Addr
		}
		return a.LastSeen.After(b.LastSeen)
	})
	out := make([]Record, 0, n)
	used := map[string]bool{}
	for pass := 0; pass < 2 && len(out) < n; pass++ {
		for _, r := range all {
			if len(out) == n {
				break
			}
			g := Group(r.Addr)
			if pass == 0 && used[g] || pass == 1 && contains(out, r.Addr) {
				continue
			}
			if pass == 0 {
				used[g] = true
			}
			out = append(out, r)
		}
	}
	return out
}

func contains(rs []Record, addr string) bool {
	for _, r := range rs {
		if r.Addr == addr {
			return true
		}
	}
	return false
}

// Known returns up to n addresses with a known identity that completed a handshake, for address
// gossip, most recently seen first.
func (m *Manager) Known(n int, keep Filter) []Record {
	m.mu.Lock()
	var out []Record
	for _, r := range m.addrs {
		if r.NodeID != "" && r.Successes > 0 && !r.Self && (keep == nil || keep(*r)) {
			out = append(out, *r)
		}
	}
	m.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].LastSeen.After(out[j].LastSeen) })
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// Group is the network group of an address: the /16 of an IPv4 address, the /32 of an IPv6 one,
// the name itself for a DNS name.
func Group(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	ip := net.ParseIP(host)
	switch {
	case ip == nil:
		return host
	case ip.To4() != nil:
		return ip.Mask(net.CIDRMask(16, 32)).String()
	default:
		return ip.Mask(net.CIDRMask(32, 128)).String()
	}
}

// ParseNodeID decodes a hex node id.
func ParseNodeID(s string) ([32]byte, error) {
	var id [32]byte
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		return id, fmt.Errorf("node id %q: want 64 hex characters", s)
	}
	copy(id[:], b)
	return id, nil
}
