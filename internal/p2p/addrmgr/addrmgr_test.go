package addrmgr

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chainnet/chainnet/internal/store"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func open(t *testing.T, dir string, c *clock) (*Manager, *store.DB) {
	t.Helper()
	db, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(db, Config{Now: c.now, BackoffBase: time.Second, BackoffMax: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return m, db
}

// TestTableSurvivesRestart: records, identities and bans are read back from the store.
func TestTableSurvivesRestart(t *testing.T) {
	dir, c := t.TempDir(), &clock{time.Unix(1_000_000, 0)}
	m, db := open(t, dir, c)
	m.Add("10.0.0.1:9333", "", SourceDNS)
	m.Good("10.0.0.1:9333", strings.Repeat("ab", 32))
	m.Add("10.0.0.2:9333", "", SourceGossip)
	m.Ban(strings.Repeat("cd", 32), time.Hour, "invalid block")
	db.Close()

	m, db = open(t, dir, c)
	defer db.Close()
	r, ok := m.Get("10.0.0.1:9333")
	if !ok || r.NodeID != strings.Repeat("ab", 32) || r.Successes != 1 || !r.LastSeen.Equal(c.t) {
		t.Fatalf("record after reopen: %+v %v", r, ok)
	}
	if m.Len() != 2 {
		t.Fatalf("len %d", m.Len())
	}
	if b, ok := m.Banned(strings.Repeat("cd", 32)); !ok || b.Reason != "invalid block" {
		t.Fatal("ban lost on restart")
	}
	c.t = c.t.Add(2 * time.Hour)
	if _, ok := m.Banned(strings.Repeat("cd", 32)); ok {
		t.Fatal("ban must expire")
	}
}

// TestCandidatesRankAndBackoff: seen peers first, failing ones wait out an exponential backoff,
// banned and self addresses are never offered, groups are spread.
func TestCandidatesRankAndBackoff(t *testing.T) {
	c := &clock{time.Unix(1_000_000, 0)}
	m, db := open(t, t.TempDir(), c)
	defer db.Close()
	banned := strings.Repeat("ee", 32)
	m.Add("10.1.0.1:1", "", SourceDNS)
	m.Add("10.1.0.2:1", "", SourceDNS)
	m.Add("10.2.0.1:1", "", SourceDNS)
	m.Add("10.3.0.1:1", banned, SourceGossip)
	m.Add("10.4.0.1:1", "", SourceDNS)
	m.Good("10.1.0.2:1", strings.Repeat("01", 32))
	m.Ban(banned, time.Hour, "test")
	m.MarkSelf("10.4.0.1:1")

	got := addrs(m.Candidates(2, nil))
	if got != "10.1.0.2:1,10.2.0.1:1" {
		t.Fatalf("want the seen peer first and a second group before a second address of the same group, got %s", got)
	}
	if all := addrs(m.Candidates(10, nil)); strings.Contains(all, "10.3.0.1") || strings.Contains(all, "10.4.0.1") {
		t.Fatalf("banned or self address offered: %s", all)
	}

	for i := 0; i < 3; i++ {
		m.Attempt("10.2.0.1:1")
		m.Failed("10.2.0.1:1")
	}
	if strings.Contains(addrs(m.Candidates(10, nil)), "10.2.0.1") {
		t.Fatal("an address in backoff was offered")
	}
	c.t = c.t.Add(3 * time.Second) // backoff after 3 failures: 4 s
	if strings.Contains(addrs(m.Candidates(10, nil)), "10.2.0.1") {
		t.Fatal("backoff must double per failure")
	}
	c.t = c.t.Add(2 * time.Second)
	if !strings.Contains(addrs(m.Candidates(10, nil)), "10.2.0.1") {
		t.Fatal("address not offered after its backoff")
	}
}

func addrs(rs []Record) string {
	var s []string
	for _, r := range rs {
		s = append(s, r.Addr)
	}
	return strings.Join(s, ",")
}

func TestGroup(t *testing.T) {
	for in, want := range map[string]string{"10.1.2.3:9": "10.1.0.0", "[2001:db8:1:2::1]:9": "2001:db8::", "node-0.svc:9": "node-0.svc"} {
		if g := Group(in); g != want {
			t.Errorf("Group(%s) = %s, want %s", in, g, want)
		}
	}
}

func id(b byte) string { return strings.Repeat(fmt.Sprintf("%02x", b), 32) }

// TestGossipNeverRewritesIdentity: gossip and inbound claims never replace an identity the
// table knows, the bootstrap pin included; they only fill in an address without one. A dial that
// reaches another identity corrects an unpinned record, never a pinned one.
func TestGossipNeverRewritesIdentity(t *testing.T) {
	c := &clock{time.Unix(1_000_000, 0)}
	m, db := open(t, t.TempDir(), c)
	defer db.Close()
	m.Add("10.0.0.1:9333", id(1), SourceBootstrap)
	m.Add("10.0.0.2:9333", "", SourceDNS)
	m.Good("10.0.0.2:9333", id(2))
	m.Add("10.0.0.3:9333", "", SourceDNS)

	m.Learn(SourceGossip, "192.168.0.9:1", Learned{Addr: "10.0.0.1:9333", NodeID: id(9)}, Learned{Addr: "10.0.0.2:9333", NodeID: id(9)},
		Learned{Addr: "10.0.0.3:9333", NodeID: id(9)})
	m.Learn(SourceInbound, "192.168.0.9:1", Learned{Addr: "10.0.0.1:9333", NodeID: id(8)})
	for addr, want := range map[string]string{"10.0.0.1:9333": id(1), "10.0.0.2:9333": id(2), "10.0.0.3:9333": id(9)} {
		if r, _ := m.Get(addr); r.NodeID != want {
			t.Errorf("%s: identity %.8s, want %.8s", addr, r.NodeID, want)
		}
	}
	// The identity gossip filled in was wrong: the dial proves the real one.
	m.Observed("10.0.0.3:9333", id(3))
	m.Observed("10.0.0.1:9333", id(7))
	if r, _ := m.Get("10.0.0.3:9333"); r.NodeID != id(3) {
		t.Errorf("observed identity not taken: %.8s", r.NodeID)
	}
	if r, _ := m.Get("10.0.0.1:9333"); r.NodeID != id(1) {
		t.Errorf("the operator's pin was replaced by an observed identity: %.8s", r.NodeID)
	}
	// The operator's word changes a pin.
	m.Add("10.0.0.1:9333", id(4), SourceBootstrap)
	if r, _ := m.Get("10.0.0.1:9333"); r.NodeID != id(4) || !r.Pinned {
		t.Errorf("bootstrap re-pin: %+v", r)
	}
}

// TestUntrustedAddressesBounded: addresses from peers are bounded per source group and in all;
// a full group makes room only within itself, a full table only from the fullest group, and
// never at the expense of addresses that completed a handshake or that the operator gave. The
// counts survive a restart.
func TestUntrustedAddressesBounded(t *testing.T) {
	dir, c := t.TempDir(), &clock{time.Unix(1_000_000, 0)}
	db, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Now: c.now, MaxPerSourceGroup: 10, MaxUntrusted: 25}
	m, err := New(db, cfg)
	if err != nil {
		t.Fatal(err)
	}
	m.Add("10.99.0.1:1", id(1), SourceBootstrap)
	gossip := func(from string, prefix, n int) int {
		var l []Learned
		for i := range n {
			l = append(l, Learned{Addr: fmt.Sprintf("10.%d.%d.%d:1", prefix, i/200, i%200)})
		}
		return m.Learn(SourceGossip, from, l...)
	}
	if taken := gossip("172.16.1.1:5", 1, 100); taken != 100 {
		t.Fatalf("a full group makes room within itself: taken %d", taken)
	}
	if n := m.Len(); n != 11 {
		t.Fatalf("one source group: %d records, want 10 + the bootstrap peer", n)
	}
	gossip("172.17.1.1:5", 2, 10)
	for i := range 10 {
		m.Good(fmt.Sprintf("10.2.0.%d:1", i), id(byte(100+i)))
	}
	gossip("172.18.1.1:5", 3, 10)
	gossip("172.19.1.1:5", 4, 10)
	if n := m.Len(); n != 26 {
		t.Fatalf("%d records, want 25 untrusted + the bootstrap peer", n)
	}
	for i := range 10 {
		if _, ok := m.Get(fmt.Sprintf("10.2.0.%d:1", i)); !ok {
			t.Fatalf("an address that completed a handshake was evicted")
		}
	}
	if _, ok := m.Get("10.99.0.1:1"); !ok {
		t.Fatal("the bootstrap address was evicted")
	}
	db.Close()
	db, err = store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if m, err = New(db, cfg); err != nil {
		t.Fatal(err)
	}
	if n := m.Len(); n != 26 || m.nUntrusted != 25 {
		t.Fatalf("after restart: %d records, %d untrusted", n, m.nUntrusted)
	}
	gossip("172.20.1.1:5", 5, 5)
	if n := m.Len(); n != 26 {
		t.Fatalf("bound lost across a restart: %d records", n)
	}
}

// slowStore counts and delays writes.
type slowStore struct {
	*store.DB
	writes atomic.Int32
	delay  time.Duration
}

func (s *slowStore) UpdatePeers(puts map[string][]byte, deletes []string) error {
	s.writes.Add(1)
	time.Sleep(s.delay)
	return s.DB.UpdatePeers(puts, deletes)
}

// TestLearnWritesOnceOutsideTheLock: a gossip message of 1,000 addresses is one store write, and
// lookups do not wait for it.
func TestLearnWritesOnceOutsideTheLock(t *testing.T) {
	db, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	slow := &slowStore{DB: db, delay: 300 * time.Millisecond}
	m, err := New(slow, Config{MaxPerSourceGroup: 2000})
	if err != nil {
		t.Fatal(err)
	}
	var l []Learned
	for i := range 1000 {
		l = append(l, Learned{Addr: fmt.Sprintf("10.1.%d.%d:1", i/200, i%200)})
	}
	done := make(chan struct{})
	go func() { m.Learn(SourceGossip, "172.16.0.1:1", l...); close(done) }()
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	_ = m.Len()
	_ = m.Candidates(8, nil)
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Fatalf("a lookup waited %s for the store write", d)
	}
	<-done
	if w := slow.writes.Load(); w != 1 {
		t.Fatalf("1,000 addresses took %d store writes", w)
	}
	count := 0
	_ = db.ForEachPeer(func(string, []byte) error { count++; return nil })
	if count != 1000 {
		t.Fatalf("%d records stored", count)
	}
}
