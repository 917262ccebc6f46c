// Package devnet owns local development networks: a directory holding a shared genesis,
// permission file, per-node keys and data, described by devnet.json, and the supervision of one
// real chainnode process per node on 127.0.0.1.
package devnet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/chainnet/chainnet/internal/genesis"
	"github.com/chainnet/chainnet/internal/governance"
	"github.com/chainnet/chainnet/internal/keys"
	"github.com/chainnet/chainnet/internal/permissions"
	"github.com/chainnet/chainnet/internal/store"
)

// ManifestFile is the devnet's description, in its directory.
const ManifestFile = "devnet.json"

// Spec is what `chainnode devnet` was asked for.
type Spec struct {
	Dir          string
	Nodes        int    // validators (they mine)
	Observers    int    // non-mining nodes
	Membership   string // public, consortium or private
	Orgs         int    // organizations (permissioned networks)
	MinerThreads int    // per mining node
	BlockTime    int    // target seconds
}

// Validate checks the spec.
func (s Spec) Validate() error {
	switch {
	case s.Dir == "":
		return errors.New("--dir is required")
	case s.Nodes < 1 || s.Nodes > 64:
		return fmt.Errorf("--nodes %d: want 1..64", s.Nodes)
	case s.Observers < 0 || s.Observers > 64:
		return fmt.Errorf("--observers %d: want 0..64", s.Observers)
	case s.Membership != "public" && s.Membership != "consortium" && s.Membership != "private":
		return fmt.Errorf("--membership %q: want public, consortium or private", s.Membership)
	case s.Membership == "private" && s.Orgs > 1:
		return fmt.Errorf("--orgs %d: a private network has one organization", s.Orgs)
	case s.Orgs < 1 || s.Orgs > s.Nodes && s.Membership != "public":
		return fmt.Errorf("--orgs %d: want 1..nodes (every organization needs a validator)", s.Orgs)
	}
	return nil
}

// Node describes one node of the devnet.
type Node struct {
	Name   string `json:"name"`
	NodeID string `json:"nodeId"`
	Role   string `json:"role"`
	Org    string `json:"org,omitempty"`
	API    string `json:"api"` // http://127.0.0.1:port
	P2P    string `json:"p2p"` // 127.0.0.1:port
	Mine   bool   `json:"mine"`
}

// Manifest is devnet.json.
type Manifest struct {
	NetworkID  string `json:"networkId"`
	Membership string `json:"membership"`
	Nodes      []Node `json:"nodes"`
}

// Load reads DIR/devnet.json.
func Load(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, ManifestFile), err)
	}
	return &m, nil
}

// ErrStoresWithoutManifest: the directory holds node stores but no devnet.json, so a new devnet
// there would write a genesis its nodes' chains do not belong to.
var ErrStoresWithoutManifest = errors.New("node stores exist without devnet.json")

// Prepare returns the devnet in spec.Dir, creating it on first use; an existing devnet is
// resumed as it is (same keys, ports and chain). devnet.json is written last, so a directory
// without it was never complete: it is created again, unless a node already ran there — then
// its store belongs to the genesis in the directory, and Prepare refuses rather than write
// another one over it.
func Prepare(spec Spec) (*Manifest, bool, error) {
	if m, err := Load(spec.Dir); err == nil {
		return m, true, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, false, err
	}
	if err := spec.Validate(); err != nil {
		return nil, false, err
	}
	if stores, err := filepath.Glob(filepath.Join(spec.Dir, "*", store.FileName)); err != nil {
		return nil, false, err
	} else if len(stores) > 0 {
		return nil, false, fmt.Errorf("%w in %s (%s): a new genesis.json would make every node exit with \"store belongs to another network\"; restore %s to resume this devnet, or remove %s to start a new one",
			ErrStoresWithoutManifest, spec.Dir, strings.Join(stores, ", "), ManifestFile, spec.Dir)
	}
	if err := os.MkdirAll(spec.Dir, 0o755); err != nil {
		return nil, false, err
	}
	m := &Manifest{NetworkID: "devnet", Membership: spec.Membership}
	perms := permissions.File{Version: 1, Membership: spec.Membership}
	orgs := max(spec.Orgs, 1)
	if spec.Membership != "public" {
		for i := 0; i < orgs; i++ {
			perms.Organizations = append(perms.Organizations, permissions.Organization{Name: fmt.Sprintf("org%d", i+1)})
		}
	}
	add := func(role string, i int) error {
		n := Node{Role: role, Mine: role == "validator"}
		short := map[string]string{"validator": "v", "observer": "o"}[role]
		if spec.Membership == "public" {
			n.Name = fmt.Sprintf("node-%s%d", short, i)
		} else {
			o := i % orgs
			n.Org = perms.Organizations[o].Name
			n.Name = fmt.Sprintf("%s-%s%d", n.Org, short, i/orgs)
		}
		dir := filepath.Join(spec.Dir, n.Name)
		nodeKey, err := newKeyFile(filepath.Join(dir, "node-key.json"))
		if err != nil {
			return err
		}
		minerKey, err := newKeyFile(filepath.Join(dir, "miner-key.json"))
		if err != nil {
			return err
		}
		n.NodeID = nodeKey.NodeID()
		if n.API, err = freeAddr(); err != nil {
			return err
		}
		n.API = "http://" + n.API
		if n.P2P, err = freeAddr(); err != nil {
			return err
		}
		if spec.Membership != "public" {
			org := &perms.Organizations[i%orgs]
			member := permissions.Node{Name: n.Name, NodeID: n.NodeID}
			if role == "validator" {
				org.Validators = append(org.Validators, member)
				org.Miners = append(org.Miners, minerKey.NodeID())
			} else {
				org.Observers = append(org.Observers, member)
			}
		}
		m.Nodes = append(m.Nodes, n)
		return nil
	}
	for i := 0; i < spec.Nodes; i++ {
		if err := add("validator", i); err != nil {
			return nil, false, err
		}
	}
	for i := 0; i < spec.Observers; i++ {
		if err := add("observer", i); err != nil {
			return nil, false, err
		}
	}
	if err := writeGenesis(spec, perms.Organizations); err != nil {
		return nil, false, err
	}
	if spec.Membership != "public" {
		b, _ := json.MarshalIndent(perms, "", "  ")
		if err := writeFileAtomic(filepath.Join(spec.Dir, "permissions.json"), b); err != nil {
			return nil, false, err
		}
	}
	b, _ := json.MarshalIndent(m, "", "  ")
	if err := writeFileAtomic(filepath.Join(spec.Dir, ManifestFile), append(b, '\n')); err != nil {
		return nil, false, err
	}
	return m, false, nil
}

// writeFileAtomic writes path through a temporary file and a rename, so that a crash leaves the
// old file or the new one, never a part.
func writeFileAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func newKeyFile(path string) (*keys.Key, error) {
	k, _, err := keys.LoadOrCreate(path)
	return k, err
}

// writeGenesis funds alice (DIR/alice.json) and starts difficulty at roughly half a target
// block time of this machine's hashing, from which the retarget converges. On a permissioned
// network the organizations of the permission file found it, each with an admin key written to
// DIR/<org>-admin.json (it signs the organization's governance transactions).
func writeGenesis(spec Spec, orgs []permissions.Organization) error {
	alice, err := newKeyFile(filepath.Join(spec.Dir, "alice.json"))
	if err != nil {
		return err
	}
	if _, err := newKeyFile(filepath.Join(spec.Dir, "bob.json")); err != nil {
		return err
	}
	cons := genesis.DefaultConsensus()
	cons.TargetBlockTimeSeconds = uint64(max(spec.BlockTime, 1))
	cores := min(runtime.NumCPU(), spec.Nodes*max(spec.MinerThreads, 1))
	cons.InitialDifficulty = uint64(cores) * 4_000_000 * cons.TargetBlockTimeSeconds / 2
	chainID, err := genesis.NewChainID()
	if err != nil {
		return err
	}
	f := &genesis.File{NetworkID: "devnet", ChainID: chainID, Timestamp: uint64(time.Now().Unix()),
		Membership: genesis.Membership(spec.Membership), Consensus: cons,
		Alloc: []genesis.Alloc{{Address: alice.Address(), Balance: 1_000_000_000_000}}}
	for _, o := range orgs {
		admin, err := newKeyFile(filepath.Join(spec.Dir, o.Name+"-admin.json"))
		if err != nil {
			return err
		}
		g, err := foundingOrg(o, admin)
		if err != nil {
			return err
		}
		f.Organizations = append(f.Organizations, g)
	}
	if err := f.Validate(); err != nil {
		return err
	}
	b, err := f.Marshal()
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(spec.Dir, "genesis.json"), b)
}

// foundingOrg is a permission-file organization as chain membership, with its admin key.
func foundingOrg(o permissions.Organization, admin *keys.Key) (governance.Organization, error) {
	g := governance.Organization{Name: o.Name, AdminKey: governance.Key(admin.Public)}
	for _, l := range []struct {
		from []permissions.Node
		to   *[]governance.Key
	}{{o.Validators, &g.Validators}, {o.Observers, &g.Observers}} {
		for _, n := range l.from {
			k, err := governance.ParseKey(n.NodeID)
			if err != nil {
				return g, err
			}
			*l.to = append(*l.to, k)
		}
	}
	for _, m := range o.Miners {
		k, err := governance.ParseKey(m)
		if err != nil {
			return g, err
		}
		g.Miners = append(g.Miners, k)
	}
	return g, nil
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// Args returns the chainnode command line of node n.
func (m *Manifest) Args(dir string, n Node, minerThreads int) []string {
	nodeDir := filepath.Join(dir, n.Name)
	args := []string{"run", "--data-dir", nodeDir, "--genesis", filepath.Join(dir, "genesis.json"),
		"--api-addr", strings.TrimPrefix(n.API, "http://"), "--p2p-addr", n.P2P, "--advertise-addr", n.P2P,
		"--role", n.Role, "--log-format", "json"}
	if n.Org != "" {
		args = append(args, "--org", n.Org)
	}
	if m.Membership != "public" {
		args = append(args, "--permissions", filepath.Join(dir, "permissions.json"))
	}
	if n.Mine {
		args = append(args, "--mine", "--miner-threads", fmt.Sprint(max(minerThreads, 1)))
	}
	for _, o := range m.Nodes {
		if o.Name != n.Name && o.Role == "validator" {
			args = append(args, "--bootstrap", o.P2P+"#"+o.NodeID)
		}
	}
	return args
}

// Run starts every node as a child process of binary, logs each to DIR/<name>/node.log, and
// when ctx ends stops them all with SIGINT (SIGKILL after 15 s).
func Run(ctx context.Context, binary, dir string, m *Manifest, minerThreads int, out io.Writer) error {
	type proc struct {
		node Node
		cmd  *exec.Cmd
		done chan error
	}
	var procs []*proc
	stopAll := func() {
		for _, p := range procs {
			_ = p.cmd.Process.Signal(os.Interrupt)
		}
		deadline := time.After(15 * time.Second)
		for _, p := range procs {
			select {
			case <-p.done:
			case <-deadline:
				_ = p.cmd.Process.Kill()
				<-p.done
			}
		}
	}
	for _, n := range m.Nodes {
		logf, err := os.OpenFile(filepath.Join(dir, n.Name, "node.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			stopAll()
			return err
		}
		cmd := exec.Command(binary, m.Args(dir, n, minerThreads)...)
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // Ctrl-C reaches us, we stop them in order
		if err := cmd.Start(); err != nil {
			logf.Close()
			stopAll()
			return fmt.Errorf("start %s: %w", n.Name, err)
		}
		p := &proc{node: n, cmd: cmd, done: make(chan error, 1)}
		go func() { p.done <- cmd.Wait(); logf.Close() }()
		procs = append(procs, p)
		fmt.Fprintf(out, "%-12s %-9s %-6s api %s  p2p %s\n", n.Name, n.Role, n.Org, n.API, n.P2P)
	}
	fmt.Fprintf(out, "devnet of %d nodes running (logs: %s/<name>/node.log). Ctrl-C stops it; run again to resume.\n", len(procs), dir)
	select {
	case <-ctx.Done():
	case err := <-firstExit(procs, func(p *proc) chan error { return p.done }):
		stopAll()
		return fmt.Errorf("a node exited: %v (see its node.log)", err)
	}
	stopAll()
	return nil
}

// firstExit forwards the first child's exit.
func firstExit[P any](ps []P, done func(P) chan error) <-chan error {
	out := make(chan error, len(ps))
	for _, p := range ps {
		go func() {
			err := <-done(p)
			done(p) <- err // put it back for stopAll
			out <- err
		}()
	}
	return out
}
