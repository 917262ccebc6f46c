// Package permissions owns the permission file of a permissioned network — organizations with
// their nodes' identities, written by the operator from the on-chain membership — its strict
// parsing and its hot reload. The file is a hint for connections (whom to dial, and whom to admit
// while the node's tip is behind); it never decides whether a block is valid: membership is chain
// state (internal/governance).
package permissions

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/chainnet/chainnet/internal/keys"
)

// Roles in the file.
const (
	RoleValidator = "validator"
	RoleObserver  = "observer"
)

// Node is a member node.
type Node struct {
	Name   string `json:"name"`
	NodeID string `json:"nodeId"`
}

// Organization is a member organization.
type Organization struct {
	Name       string   `json:"name"`
	Validators []Node   `json:"validators,omitempty"`
	Observers  []Node   `json:"observers,omitempty"`
	Miners     []string `json:"miners,omitempty"`
}

// File is the permission file.
type File struct {
	Version       uint64         `json:"version"`
	Membership    string         `json:"membership"`
	Organizations []Organization `json:"organizations"`
}

// Member describes a member node.
type Member struct {
	Name string
	Role string
	Org  string
}

// Set is a validated, immutable view of a permission file.
type Set struct {
	Version    uint64
	Membership string
	nodes      map[[32]byte]Member
}

// ErrInvalid wraps every validation error.
var ErrInvalid = errors.New("invalid permission file")

// Parse validates a permission file (YAML or JSON). An empty or member-less file is an error:
// a node must never start believing nobody may connect.
func Parse(b []byte) (*Set, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: the file is empty", ErrInvalid)
	}
	var f File
	if err := yaml.UnmarshalStrict(b, &f); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return f.Build()
}

// Build validates f and indexes it.
func (f *File) Build() (*Set, error) {
	if f.Membership != "consortium" && f.Membership != "private" {
		return nil, fmt.Errorf("%w: membership %q: must be consortium or private", ErrInvalid, f.Membership)
	}
	if len(f.Organizations) == 0 {
		return nil, fmt.Errorf("%w: organizations: at least one is required", ErrInvalid)
	}
	if f.Membership == "private" && len(f.Organizations) != 1 {
		return nil, fmt.Errorf("%w: organizations: private networks have exactly one organization", ErrInvalid)
	}
	s := &Set{Version: f.Version, Membership: f.Membership, nodes: map[[32]byte]Member{}}
	orgs := map[string]bool{}
	for i, org := range f.Organizations {
		field := fmt.Sprintf("organizations[%d]", i)
		if org.Name == "" || orgs[org.Name] {
			return nil, fmt.Errorf("%w: %s.name %q: must be set and unique", ErrInvalid, field, org.Name)
		}
		orgs[org.Name] = true
		for role, list := range map[string][]Node{RoleValidator: org.Validators, RoleObserver: org.Observers} {
			for j, n := range list {
				id, err := parseKey(n.NodeID)
				if err != nil {
					return nil, fmt.Errorf("%w: %s.%ss[%d].nodeId: %v", ErrInvalid, field, role, j, err)
				}
				if _, dup := s.nodes[id]; dup {
					return nil, fmt.Errorf("%w: %s.%ss[%d].nodeId: listed twice", ErrInvalid, field, role, j)
				}
				s.nodes[id] = Member{Name: n.Name, Role: role, Org: org.Name}
			}
		}
		for j, m := range org.Miners { // listed for people reading the file; the chain decides
			if _, err := parseKey(m); err != nil {
				return nil, fmt.Errorf("%w: %s.miners[%d]: %v", ErrInvalid, field, j, err)
			}
		}
	}
	if len(s.nodes) == 0 {
		return nil, fmt.Errorf("%w: no member nodes listed", ErrInvalid)
	}
	return s, nil
}

func parseKey(s string) ([32]byte, error) {
	pub, err := keys.ParsePublicKey(s)
	if err != nil {
		return [32]byte{}, err
	}
	return [32]byte(pub), nil
}

// Lookup returns the member with nodeID.
func (s *Set) Lookup(nodeID [32]byte) (Member, bool) {
	m, ok := s.nodes[nodeID]
	return m, ok
}

// Members returns every member node id.
func (s *Set) Members() map[[32]byte]Member {
	out := make(map[[32]byte]Member, len(s.nodes))
	for k, v := range s.nodes {
		out[k] = v
	}
	return out
}

// Load reads and validates a permission file.
func Load(path string) (*Set, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("permission file: %w", err)
	}
	s, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// Watcher holds the current Set and reloads the file when its content changes. An invalid new
// version is logged and ignored: the node keeps enforcing the last valid one.
type Watcher struct {
	path     string
	log      *slog.Logger
	current  atomic.Pointer[Set]
	lastSum  [32]byte
	mu       sync.Mutex
	onChange []func(*Set)
	// Failures counts reloads refused because the file was invalid.
	Failures atomic.Uint64
}

// NewWatcher loads path; it fails if the file is missing or invalid at start.
func NewWatcher(path string, log *slog.Logger) (*Watcher, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("permission file: %w", err)
	}
	s, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := &Watcher{path: path, log: log, lastSum: sha256.Sum256(b)}
	w.current.Store(s)
	return w, nil
}

// Current returns the set in force.
func (w *Watcher) Current() *Set { return w.current.Load() }

// OnChange registers fn, called with each newly loaded set.
func (w *Watcher) OnChange(fn func(*Set)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.onChange = append(w.onChange, fn)
}

// Reload re-reads the file now. It reports whether a new set took effect.
func (w *Watcher) Reload() (bool, error) {
	b, err := os.ReadFile(w.path)
	if err != nil {
		w.Failures.Add(1)
		return false, fmt.Errorf("permission file: %w", err)
	}
	sum := sha256.Sum256(b)
	w.mu.Lock()
	if sum == w.lastSum {
		w.mu.Unlock()
		return false, nil
	}
	w.lastSum = sum
	w.mu.Unlock()
	s, err := Parse(b)
	if err != nil {
		w.Failures.Add(1)
		w.log.Error("permission file changed but is invalid; keeping the previous one", "path", w.path, "err", err)
		return false, err
	}
	w.current.Store(s)
	w.log.Info("permission file reloaded", "version", s.Version, "members", len(s.nodes))
	w.mu.Lock()
	fns := append([]func(*Set){}, w.onChange...)
	w.mu.Unlock()
	for _, fn := range fns {
		fn(s)
	}
	return true, nil
}

// Run polls the file every interval until ctx ends. Polling (not inotify) because Kubernetes
// updates a mounted ConfigMap by swapping a symlink, which inotify watchers often miss.
func (w *Watcher) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_, _ = w.Reload()
		}
	}
}
