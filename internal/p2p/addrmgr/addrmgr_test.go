package addrmgr

import (
	"strings"
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
