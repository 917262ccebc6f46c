package addrmgr

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// memStore is an in-memory Persister.
type memStore struct {
	mu      sync.Mutex
	records map[string][]byte
}

func (s *memStore) UpdatePeers(puts map[string][]byte, deletes []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	maps.Copy(s.records, puts)
	for _, k := range deletes {
		delete(s.records, k)
	}
	return nil
}

func (s *memStore) ForEachPeer(fn func(key string, record []byte) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range s.records {
		if err := fn(k, v); err != nil {
			return err
		}
	}
	return nil
}

// FuzzAddrManager runs an arbitrary sequence of table operations — bootstrap and DNS addresses,
// gossip and inbound claims from several source groups, dials that succeed, fail or reach
// another identity, bans — each encoded in 4 bytes (operation, address, identity, source). After
// every operation the untrusted addresses stay within their bounds and their counts match the
// records, an identity the operator pinned changes only by the operator's word, and gossip never
// replaces a known identity; at the end the table reloads from its store as it was.
func FuzzAddrManager(f *testing.F) {
	seeds := map[string][]byte{
		"bootstrap-then-gossip": {0, 1, 1, 0, 3, 1, 2, 1, 4, 1, 3, 2, 5, 1, 4, 0},
		"flood-one-group":       floodSeed(40, 1),
		"flood-many-groups":     floodSeed(40, 7),
		"dial-cycle":            {1, 9, 0, 0, 3, 9, 5, 2, 6, 9, 5, 0, 7, 9, 6, 0, 8, 9, 0, 0, 2, 9, 5, 0},
	}
	for name, s := range seeds {
		f.Add(s)
		if os.Getenv("CHAINNET_WRITE_SEEDS") != "" {
			writeSeed(f, "FuzzAddrManager", name, s)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		now := time.Unix(1_000_000, 0)
		cfg := Config{Now: func() time.Time { return now }, MaxPerSourceGroup: 4, MaxUntrusted: 10, MaxFailures: 3, ForgetAfter: time.Hour}
		db := &memStore{records: map[string][]byte{}}
		m, err := New(db, cfg)
		if err != nil {
			t.Fatal(err)
		}
		pinned := map[string]string{}
		for ; len(data) >= 4; data = data[4:] {
			op, a, id, src := data[0]%10, data[1], data[2]%8, data[3]
			addr := fmt.Sprintf("10.%d.%d.1:9333", a%16, a/16)
			nodeID := ""
			if id != 0 {
				nodeID = strings.Repeat(fmt.Sprintf("%02x", id), 32)
			}
			from := fmt.Sprintf("172.%d.0.1:5000", src%6)
			before, known := m.Get(addr)
			switch op {
			case 0:
				m.Add(addr, nodeID, SourceBootstrap)
				if nodeID != "" {
					pinned[addr] = nodeID
				}
			case 1:
				m.Add(addr, "", SourceDNS)
			case 2, 3:
				m.Learn(SourceGossip, from, Learned{Addr: addr, NodeID: nodeID})
			case 4:
				m.Learn(SourceInbound, from, Learned{Addr: addr, NodeID: nodeID})
			case 5:
				m.Attempt(addr)
				m.Failed(addr)
			case 6:
				if known && before.NodeID != "" {
					m.Good(addr, before.NodeID) // the dial reached the identity it expected
				}
			case 7:
				if nodeID != "" {
					m.Observed(addr, nodeID)
				}
			case 8:
				m.Ban(nodeID, time.Minute, "fuzz")
				now = now.Add(time.Duration(src) * time.Second)
			case 9:
				m.MarkSelf(addr)
			}
			after, ok := m.Get(addr)
			if known && before.NodeID != "" && (op >= 2 && op <= 4) && after.NodeID != before.NodeID {
				t.Fatalf("gossip replaced %s's identity", addr)
			}
			if want, ok2 := pinned[addr]; ok2 && ok && after.NodeID != want {
				t.Fatalf("pinned %s changed to %.8s without the operator", addr, after.NodeID)
			}
			checkBounds(t, m)
		}
		again, err := New(db, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(records(again), records(m)) || again.nUntrusted != m.nUntrusted {
			t.Fatalf("the table did not reload as it was:\n%v\nwant\n%v", records(again), records(m))
		}
	})
}

// records renders the table as its stored form (times compare as they were written).
func records(m *Manager) map[string]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]string{}
	for a, r := range m.addrs {
		b, _ := json.Marshal(r)
		out[a] = string(b)
	}
	return out
}

func checkBounds(t *testing.T, m *Manager) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	counts, total := map[string]int{}, 0
	for _, r := range m.addrs {
		if r.untrusted() {
			counts[r.SourceGroup]++
			total++
		}
	}
	if total != m.nUntrusted || !maps.Equal(counts, m.untrusted) {
		t.Fatalf("untrusted counts %v (%d) do not match the records %v (%d)", m.untrusted, m.nUntrusted, counts, total)
	}
	if total > m.cfg.MaxUntrusted {
		t.Fatalf("%d untrusted addresses, bound %d", total, m.cfg.MaxUntrusted)
	}
	for g, n := range counts {
		if n > m.cfg.MaxPerSourceGroup {
			t.Fatalf("source group %s holds %d addresses, bound %d", g, n, m.cfg.MaxPerSourceGroup)
		}
	}
}

// floodSeed is n gossip operations for distinct addresses from groups source groups.
func floodSeed(n, groups int) []byte {
	var out []byte
	for i := range n {
		out = append(out, 2, byte(i*7), byte(i%8), byte(i%groups))
	}
	return out
}

// writeSeed writes a seed into testdata/fuzz/<target>/ (CHAINNET_WRITE_SEEDS=1 go test -run
// <target>).
func writeSeed(t testing.TB, target, name string, data []byte) {
	dir := filepath.Join("testdata", "fuzz", target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	content := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
