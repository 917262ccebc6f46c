package permissions

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chainnet/chainnet/internal/keys"
)

func key(t *testing.T) *keys.Key { k, _ := keys.Generate(); return k }

func fileText(version int, orgs ...string) string {
	return fmt.Sprintf("version: %d\nmembership: consortium\norganizations:\n%s", version, strings.Join(orgs, ""))
}

func org(name string, validator, observer, miner *keys.Key) string {
	s := fmt.Sprintf("- name: %s\n  validators:\n  - {name: %s-v0, nodeId: %s}\n  miners: [%s]\n", name, name, validator.NodeID(), miner.NodeID())
	if observer != nil {
		s += fmt.Sprintf("  observers:\n  - {name: %s-o0, nodeId: %s}\n", name, observer.NodeID())
	}
	return s
}

func TestParseAndLookup(t *testing.T) {
	v, o, m := key(t), key(t), key(t)
	s, err := Parse([]byte(fileText(3, org("org1", v, o, m))))
	if err != nil {
		t.Fatal(err)
	}
	if mem, ok := s.Lookup([32]byte(v.Public)); !ok || mem.Role != RoleValidator || mem.Org != "org1" {
		t.Fatalf("validator lookup: %+v %v", mem, ok)
	}
	if mem, ok := s.Lookup([32]byte(o.Public)); !ok || mem.Role != RoleObserver {
		t.Fatalf("observer lookup: %+v", mem)
	}
	if _, ok := s.Lookup([32]byte(m.Public)); ok {
		t.Fatal("a miner key is not a node")
	}
	if s.Version != 3 {
		t.Fatalf("version %d", s.Version)
	}
}

func TestInvalidFiles(t *testing.T) {
	v, m := key(t), key(t)
	one := org("org1", v, nil, m)
	cases := map[string]string{
		"empty":          "",
		"not yaml":       "{",
		"unknown field":  fileText(1, one) + "extra: 1\n",
		"no orgs":        "version: 1\nmembership: consortium\norganizations: []\n",
		"public":         strings.Replace(fileText(1, one), "consortium", "public", 1),
		"private 2 orgs": strings.Replace(fileText(1, one, org("org2", key(t), nil, key(t))), "consortium", "private", 1),
		"dup org":        fileText(1, one, org("org1", key(t), nil, key(t))),
		"bad node id":    strings.Replace(fileText(1, one), v.NodeID(), "abc", 1),
		"dup node":       fileText(1, one, org("org2", v, nil, key(t))),
	}
	for name, body := range cases {
		if _, err := Parse([]byte(body)); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestWatcherReloadsAndKeepsLastValid(t *testing.T) {
	path := filepath.Join(t.TempDir(), "perm.yaml")
	v1, v2, m := key(t), key(t), key(t)
	os.WriteFile(path, []byte(fileText(1, org("org1", v1, nil, m))), 0o644)
	w, err := NewWatcher(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	var seen []uint64
	w.OnChange(func(s *Set) { seen = append(seen, s.Version) })
	if changed, _ := w.Reload(); changed {
		t.Fatal("unchanged file reported a change")
	}
	os.WriteFile(path, []byte(fileText(2, org("org1", v1, nil, m), org("org2", v2, nil, key(t)))), 0o644)
	if changed, err := w.Reload(); !changed || err != nil {
		t.Fatalf("reload: %v %v", changed, err)
	}
	if _, ok := w.Current().Lookup([32]byte(v2.Public)); !ok {
		t.Fatal("new member not visible")
	}
	os.WriteFile(path, []byte("garbage: ["), 0o644)
	if changed, err := w.Reload(); changed || err == nil {
		t.Fatal("invalid file took effect")
	}
	if w.Current().Version != 2 || w.Failures.Load() != 1 || len(seen) != 1 {
		t.Fatalf("version %d failures %d seen %v", w.Current().Version, w.Failures.Load(), seen)
	}
	if _, err := NewWatcher(filepath.Join(t.TempDir(), "missing"), nil); err == nil {
		t.Fatal("missing file accepted at start")
	}
}

// TestRevocationIsChainState: revocation times are no longer read from the file (a local file
// must never decide whether a block is valid): a file that still carries them is refused, naming
// the field, rather than silently ignored.
func TestRevocationIsChainState(t *testing.T) {
	v, m, gone := key(t), key(t), key(t)
	text := fileText(2, org("org1", v, nil, m)) + fmt.Sprintf("revokedMiners:\n- {key: %s, revokedAt: 1000}\n", gone.NodeID())
	if _, err := Parse([]byte(text)); err == nil || !strings.Contains(err.Error(), "revokedMiners") {
		t.Fatalf("a file with revokedMiners: %v", err)
	}
}
