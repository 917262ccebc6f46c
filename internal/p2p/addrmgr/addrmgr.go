// Package addrmgr owns the node's peer table: known peer addresses with their identity, history
// and bans, persisted in the node's store so that a restarted node reconnects from it first, as
// Bitcoin Core does with its peers database.
//
// Addresses from peers (gossip, an inbound peer's claimed listen address) are untrusted: they
// never replace an identity the table knows, and they are bounded per source group (the network
// group of the peer that told us) and in all, so that one peer, or many in one network, can fill
// only its own share. Only the operator (bootstrap peers) and the node at an address itself (a
// completed handshake there) decide an address's identity.
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
	// SourceHandshake: an address we dialled and completed a handshake with, without a record
	// (it was forgotten meanwhile).
	SourceHandshake Source = "handshake"
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
	// SourceGroup is the network group of the peer that told us of an untrusted address.
	SourceGroup string `json:"sourceGroup,omitempty"`
	// Pinned: the operator gave this address's identity (bootstrap host:port#nodeId).
	Pinned bool `json:"pinned,omitempty"`
}

// untrusted reports whether the record came from a peer's word, and so counts against the
// bounds.
func (r *Record) untrusted() bool { return r.Source == SourceGossip || r.Source == SourceInbound }

// Learned is an address a peer told us of.
type Learned struct {
	Addr   string
	NodeID string // may be empty
}

// Ban is a banned identity.
type Ban struct {
	NodeID string    `json:"nodeId"`
	Until  time.Time `json:"until"`
	Reason string    `json:"reason"`
}

// Persister is the part of the store the table needs.
type Persister interface {
	// UpdatePeers writes and deletes records in one transaction.
	UpdatePeers(puts map[string][]byte, deletes []string) error
	ForEachPeer(fn func(key string, record []byte) error) error
}

// Bounds of untrusted addresses.
const (
	DefaultMaxUntrusted      = 2048
	DefaultMaxPerSourceGroup = 256
)

// Config tunes the table.
type Config struct {
	// BackoffBase and BackoffMax bound the wait before redialling an address that failed
	// (doubling per consecutive failure).
	BackoffBase, BackoffMax time.Duration
	// MaxFailures: an address that failed this many times in a row and was never seen in
	// ForgetAfter is forgotten.
	MaxFailures int
	ForgetAfter time.Duration
	// MaxUntrusted bounds the addresses learned from peers, MaxPerSourceGroup those learned from
	// one source group.
	MaxUntrusted, MaxPerSourceGroup int
	Now                             func() time.Time
	Logger                          *slog.Logger
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
	if c.MaxUntrusted == 0 {
		c.MaxUntrusted = DefaultMaxUntrusted
	}
	if c.MaxPerSourceGroup == 0 {
		c.MaxPerSourceGroup = DefaultMaxPerSourceGroup
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Manager is the peer table. It is safe for concurrent use. Changes are made under mu and
// written to the store after it is released, a batch at a time (flush).
type Manager struct {
	cfg   Config
	db    Persister
	mu    sync.Mutex
	addrs map[string]*Record
	bans  map[string]Ban
	// untrusted counts untrusted records per source group; their sum is nUntrusted.
	untrusted  map[string]int
	nUntrusted int
	// dirty holds the store keys changed since the last flush (a key whose record is gone is
	// deleted).
	dirty map[string]bool
	// flushMu orders flushes, so that the last one written holds the newest state.
	flushMu sync.Mutex
}

const (
	addrPrefix = "a/"
	banPrefix  = "b/"
)

// New loads the table from db.
func New(db Persister, cfg Config) (*Manager, error) {
	m := &Manager{cfg: cfg.withDefaults(), db: db, addrs: map[string]*Record{}, bans: map[string]Ban{},
		untrusted: map[string]int{}, dirty: map[string]bool{}}
	err := db.ForEachPeer(func(key string, raw []byte) error {
		switch {
		case strings.HasPrefix(key, addrPrefix):
			var r Record
			if err := json.Unmarshal(raw, &r); err != nil || r.Addr == "" {
				m.cfg.Logger.Warn("dropping unreadable peer record", "key", key, "err", err)
				return nil
			}
			m.addrs[r.Addr] = &r
			if r.untrusted() {
				m.untrusted[r.SourceGroup]++
				m.nUntrusted++
			}
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

// Add records an address from a trusted source: a bootstrap peer, whose identity when given is
// the operator's word (it replaces what the table knew and stays pinned), or a DNS seed (no
// identity). A trusted source takes an address known from gossip out of the untrusted bounds.
// Gossip and inbound addresses go through Learn.
func (m *Manager) Add(addr, nodeID string, src Source) {
	if src == SourceGossip || src == SourceInbound {
		m.Learn(src, "", Learned{Addr: addr, NodeID: nodeID})
		return
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return
	}
	pin := src == SourceBootstrap && nodeID != ""
	m.mu.Lock()
	r, ok := m.addrs[addr]
	if !ok {
		r = &Record{Addr: addr, Source: src}
		m.addrs[addr] = r
	} else if r.untrusted() {
		m.untrustLocked(r)
		r.Source, r.SourceGroup = src, ""
	}
	if pin || (r.NodeID == "" && nodeID != "") {
		r.NodeID = nodeID
	}
	if pin {
		r.Pinned = true
	}
	m.markLocked(addr)
	m.mu.Unlock()
	m.flush()
}

// Learn records addresses a peer told us of (src: gossip, or an inbound peer's listen address),
// from is the peer's address. Known addresses are unchanged, except that an identity fills in a
// record without one. New ones count against the bounds of from's network group and of all
// untrusted addresses: when one is full, an address of the fullest group that never completed a
// handshake makes room, else the address is ignored. It returns how many addresses were taken.
func (m *Manager) Learn(src Source, from string, learned ...Learned) int {
	group := Group(from)
	taken := 0
	m.mu.Lock()
	for _, l := range learned {
		if _, _, err := net.SplitHostPort(l.Addr); err != nil {
			continue
		}
		if r, ok := m.addrs[l.Addr]; ok {
			if r.NodeID == "" && l.NodeID != "" {
				r.NodeID = l.NodeID
				m.markLocked(l.Addr)
				taken++
			}
			continue
		}
		if !m.makeRoomLocked(group) {
			continue
		}
		m.addrs[l.Addr] = &Record{Addr: l.Addr, NodeID: l.NodeID, Source: src, SourceGroup: group}
		m.untrusted[group]++
		m.nUntrusted++
		m.markLocked(l.Addr)
		taken++
	}
	m.mu.Unlock()
	m.flush()
	return taken
}

// makeRoomLocked makes room for one more untrusted address from group, evicting an address that
// never completed a handshake from group when it is full, or from the fullest group that has one
// when all untrusted addresses together are. It reports whether there is room.
func (m *Manager) makeRoomLocked(group string) bool {
	switch {
	case m.untrusted[group] >= m.cfg.MaxPerSourceGroup:
		return m.evictLocked(func(g string) bool { return g == group })
	case m.nUntrusted >= m.cfg.MaxUntrusted:
		return m.evictLocked(nil)
	}
	return true
}

// evictLocked forgets one untrusted address that never completed a handshake, of a group in
// (any group when nil), taking it from the group with the most addresses (map order picks among
// equals).
func (m *Manager) evictLocked(in func(group string) bool) bool {
	victim, most := "", 0
	for addr, r := range m.addrs {
		if !r.untrusted() || r.Successes > 0 || (in != nil && !in(r.SourceGroup)) {
			continue
		}
		if n := m.untrusted[r.SourceGroup]; n > most {
			victim, most = addr, n
		}
	}
	if victim == "" {
		return false
	}
	m.removeLocked(victim)
	return true
}

func (m *Manager) removeLocked(addr string) {
	r, ok := m.addrs[addr]
	if !ok {
		return
	}
	if r.untrusted() {
		m.untrustLocked(r)
	}
	delete(m.addrs, addr)
	m.markLocked(addr)
}

func (m *Manager) untrustLocked(r *Record) {
	m.untrusted[r.SourceGroup]--
	if m.untrusted[r.SourceGroup] <= 0 {
		delete(m.untrusted, r.SourceGroup)
	}
	m.nUntrusted--
}

// Observed records that a dial of addr reached nodeID, not the identity the table expected:
// the node there proved its key, so the record takes it (a rotated key, a reused address, an
// identity gossip filled in wrongly) — unless the operator pinned the address's identity, which
// only the operator changes.
func (m *Manager) Observed(addr, nodeID string) {
	m.update(addr, func(r *Record) {
		if !r.Pinned {
			r.NodeID = nodeID
		}
	})
}

// Attempt records a dial of addr.
func (m *Manager) Attempt(addr string) {
	m.update(addr, func(r *Record) { r.LastAttempt = m.cfg.Now() })
}

// Failed records a failed dial or handshake. Addresses that keep failing and were not seen for
// ForgetAfter are forgotten (bootstrap addresses never: the operator wrote them).
func (m *Manager) Failed(addr string) {
	m.mu.Lock()
	if r, ok := m.addrs[addr]; ok {
		r.Failures++
		if r.Source != SourceBootstrap && r.Failures >= m.cfg.MaxFailures && m.cfg.Now().Sub(r.LastSeen) > m.cfg.ForgetAfter {
			m.removeLocked(addr)
		} else {
			m.markLocked(addr)
		}
	}
	m.mu.Unlock()
	m.flush()
}

// Good records a completed handshake with nodeID at addr, which we dialled.
func (m *Manager) Good(addr, nodeID string) {
	m.mu.Lock()
	r, ok := m.addrs[addr]
	if !ok {
		r = &Record{Addr: addr, Source: SourceHandshake}
		m.addrs[addr] = r
	}
	r.NodeID, r.LastSeen, r.Failures = nodeID, m.cfg.Now(), 0
	r.Successes++
	m.markLocked(addr)
	m.mu.Unlock()
	m.flush()
}

// MarkSelf records that addr is ours; it is never dialled again.
func (m *Manager) MarkSelf(addr string) {
	m.update(addr, func(r *Record) { r.Self = true })
}

func (m *Manager) update(addr string, fn func(*Record)) {
	m.mu.Lock()
	if r, ok := m.addrs[addr]; ok {
		fn(r)
		m.markLocked(addr)
	}
	m.mu.Unlock()
	m.flush()
}

func (m *Manager) markLocked(addr string) { m.dirty[addrPrefix+addr] = true }

// flush writes the records changed since the last flush in one store transaction, outside mu so
// that lookups never wait for an fsync.
func (m *Manager) flush() {
	m.flushMu.Lock()
	defer m.flushMu.Unlock()
	m.mu.Lock()
	if len(m.dirty) == 0 {
		m.mu.Unlock()
		return
	}
	puts := map[string][]byte{}
	var deletes []string
	for key := range m.dirty {
		switch {
		case strings.HasPrefix(key, addrPrefix):
			if r, ok := m.addrs[strings.TrimPrefix(key, addrPrefix)]; ok {
				puts[key], _ = json.Marshal(r)
				continue
			}
		case strings.HasPrefix(key, banPrefix):
			if b, ok := m.bans[strings.TrimPrefix(key, banPrefix)]; ok {
				puts[key], _ = json.Marshal(b)
				continue
			}
		}
		deletes = append(deletes, key)
	}
	clear(m.dirty)
	m.mu.Unlock()
	if err := m.db.UpdatePeers(puts, deletes); err != nil {
		m.cfg.Logger.Warn("persist peer table", "records", len(puts), "deleted", len(deletes), "err", err)
	}
}

// Ban bans nodeID until now+d.
func (m *Manager) Ban(nodeID string, d time.Duration, reason string) {
	m.mu.Lock()
	m.bans[nodeID] = Ban{NodeID: nodeID, Until: m.cfg.Now().Add(d), Reason: reason}
	m.dirty[banPrefix+nodeID] = true
	m.mu.Unlock()
	m.flush()
}

// Banned reports whether nodeID is banned now.
func (m *Manager) Banned(nodeID string) (Ban, bool) {
	m.mu.Lock()
	b, ok := m.bans[nodeID]
	if !ok {
		m.mu.Unlock()
		return Ban{}, false
	}
	if m.cfg.Now().Before(b.Until) {
		m.mu.Unlock()
		return b, true
	}
	delete(m.bans, nodeID)
	m.dirty[banPrefix+nodeID] = true
	m.mu.Unlock()
	m.flush()
	return Ban{}, false
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
