package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/chainnet/chainnet/internal/chain"
	"github.com/chainnet/chainnet/internal/chaintest"
	"github.com/chainnet/chainnet/internal/genesis"
	"github.com/chainnet/chainnet/internal/governance"
	"github.com/chainnet/chainnet/internal/keys"
	"github.com/chainnet/chainnet/internal/nodetest"
	"github.com/chainnet/chainnet/internal/store"
	"github.com/chainnet/chainnet/internal/wire"
)

const crashSyncBlocks = 20_000

// TestKillNineDuringSync kills a syncing chainnode with SIGKILL at random moments while it
// downloads a 20,000-block consortium chain (whose membership changes half-way) from a seed, which
// commits blocks in batches. After each kill: the store reopens; its tip is at least the height the
// node's API reported just before the kill (a block is reported only once its batch is
// committed, so the crash lost only the batch in progress); every best-chain block re-validates in
// a fresh chain, which ends with the same tip, accounts and membership. The restarted node
// fetches the lost blocks again and ends at the seed's tip.
func TestKillNineDuringSync(t *testing.T) {
	if testing.Short() {
		t.Skip("builds, generates a long chain and kills processes")
	}
	bin := buildBinary(t)
	net := newCrashNetwork(t)
	seed := net.start(t, bin, net.seedDir, net.seedKey, "")
	defer seed.stop()
	lateDir := filepath.Join(t.TempDir(), "late")
	if err := os.MkdirAll(lateDir, 0o700); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(2, uint64(time.Now().UnixNano())))
	var last uint64
	for round := 0; ; round++ {
		late := net.start(t, bin, lateDir, net.lateKey, seed.p2p+"#"+net.seedKey.NodeID())
		if round == 4 {
			waitHeight(t, late, crashSyncBlocks, 5*time.Minute)
			late.stop()
			if h := net.verify(t, lateDir); h != crashSyncBlocks {
				t.Fatalf("after the last restart: height %d, want %d", h, crashSyncBlocks)
			}
			return
		}
		deadline := time.Now().Add(time.Duration(500+rng.IntN(2500)) * time.Millisecond)
		var reported uint64
		for time.Now().Before(deadline) {
			if h, ok := late.height(); ok {
				reported = max(reported, h)
			}
			time.Sleep(20 * time.Millisecond)
		}
		late.kill(t)
		h := net.verify(t, lateDir)
		t.Logf("round %d: killed with %d reported, %d in the store", round, reported, h)
		if h < reported || h < last {
			t.Fatalf("round %d: store height %d, but %d was reported before the kill and %d stored before", round, h, reported, last)
		}
		last = h
	}
}

// crashNetwork is a consortium of one organization whose seed holds a generated chain.
type crashNetwork struct {
	genPath          string
	params           *genesis.Params
	seedDir          string
	seedKey, lateKey *keys.Key
	tip              wire.Hash
	membershipAtTip  []byte
}

func newCrashNetwork(t *testing.T) *crashNetwork {
	dir := t.TempDir()
	admin, miner := chaintest.Key(t, 40), chaintest.Key(t, 41)
	n := &crashNetwork{seedKey: chaintest.Key(t, 42), lateKey: chaintest.Key(t, 43), seedDir: filepath.Join(dir, "seed")}
	cons := genesis.DefaultConsensus()
	cons.InitialDifficulty, cons.MinDifficulty, cons.TargetBlockTimeSeconds = 16, 1, chaintest.BlockTime
	gen := &genesis.File{NetworkID: "crash-sync", ChainID: 11, Membership: genesis.Consortium, Consensus: cons,
		Timestamp: uint64(time.Now().Unix()) - 2*crashSyncBlocks*chaintest.BlockTime,
		Organizations: []governance.Organization{{Name: "org1", AdminKey: governance.Key(admin.Public),
			Validators: []governance.Key{governance.Key(n.seedKey.Public), governance.Key(n.lateKey.Public)},
			Miners:     []governance.Key{governance.Key(miner.Public)}}}}
	n.genPath = nodetest.WriteGenesis(t, dir, gen)
	var err error
	if n.params, err = gen.Params(); err != nil {
		t.Fatal(err)
	}
	org2 := governance.Organization{Name: "org2", AdminKey: governance.Key(chaintest.Key(t, 44).Public),
		Validators: []governance.Key{governance.Key(chaintest.Key(t, 45).Public)}, Miners: []governance.Key{governance.Key(chaintest.Key(t, 46).Public)}}
	n.generate(t, miner, func(height uint64) []*wire.Tx {
		if height != crashSyncBlocks/2 {
			return nil
		}
		tx := wire.NewGovernance(gen.ChainID, 0, 0, governance.ProposeAddOrg(org2).Encode())
		tx.Sign(admin)
		return []*wire.Tx{tx}
	})
	if err := keys.Save(filepath.Join(n.seedDir, "node-key.json"), n.seedKey); err != nil {
		t.Fatal(err)
	}
	return n
}

// generate writes the chain into the seed's store without fsync (only read afterwards), through
// the chain's own validation.
func (n *crashNetwork) generate(t *testing.T, miner *keys.Key, txsAt func(height uint64) []*wire.Tx) {
	db, err := store.OpenWith(n.seedDir, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c, err := chain.New(db, n.params, chain.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for h := uint64(1); h <= crashSyncBlocks; h++ {
		b := chaintest.BuildBlock(t, c, wire.ZeroHash, miner, txsAt(h)...)
		if res, err := c.ProcessBlock(context.Background(), b); err != nil || res.Status != chain.StatusConnected {
			t.Fatalf("generate block %d: %v %v", h, res.Status, err)
		}
	}
	if _, ok := c.Membership().Org("org2"); !ok {
		t.Fatal("the generated chain did not admit org2")
	}
	n.tip, n.membershipAtTip = c.Tip().Hash, c.Membership().Encode()
}

// verify opens a killed node's store and re-validates its best chain in a fresh chain: same tip,
// same accounts of the miner and admin, same membership. It returns the stored height.
func (n *crashNetwork) verify(t *testing.T, dataDir string) uint64 {
	t.Helper()
	db, err := store.Open(dataDir)
	if err != nil {
		t.Fatalf("store does not reopen: %v", err)
	}
	defer db.Close()
	c, err := chain.New(db, n.params, chain.Options{})
	if err != nil {
		t.Fatalf("chain does not reopen: %v", err)
	}
	fresh, err := store.OpenWith(t.TempDir(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	replay, err := chain.New(fresh, n.params, chain.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tip := c.Tip()
	var blocks []*wire.Block
	for h := uint64(1); h <= tip.Height; h++ {
		b, err := c.BlockByHeight(h)
		if err != nil {
			t.Fatalf("block %d of %d unreadable: %v", h, tip.Height, err)
		}
		blocks = append(blocks, b)
	}
	if res, err := replay.ProcessBlocks(context.Background(), blocks); err != nil || len(res) != len(blocks) {
		t.Fatalf("the stored chain does not re-validate: %d of %d blocks, %v", len(res), len(blocks), err)
	}
	if replay.Tip().Hash != tip.Hash {
		t.Fatalf("replayed tip %s, stored tip %s", replay.Tip().Hash, tip.Hash)
	}
	if !bytes.Equal(replay.Membership().Encode(), c.Membership().Encode()) {
		t.Fatalf("height %d: the stored membership is not the one its chain derives", tip.Height)
	}
	if len(blocks) > 0 {
		minerKey := blocks[0].MinerKey()
		addr := keys.AddressOf(minerKey[:])
		stored, _ := c.Account(addr)
		replayed, _ := replay.Account(addr)
		if stored != replayed {
			t.Fatalf("miner account %+v in the store, %+v after replay", stored, replayed)
		}
	}
	if tip.Height == crashSyncBlocks && (tip.Hash != n.tip || !bytes.Equal(c.Membership().Encode(), n.membershipAtTip)) {
		t.Fatal("synced to another tip or membership than the seed's")
	}
	return tip.Height
}

// proc is a running chainnode.
type proc struct {
	cmd      *exec.Cmd
	p2p, api string
	stopped  bool
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func (n *crashNetwork) start(t *testing.T, bin, dataDir string, key *keys.Key, bootstrap string) *proc {
	t.Helper()
	if err := keys.Save(filepath.Join(dataDir, "node-key.json"), key); err != nil {
		t.Fatal(err)
	}
	p := &proc{p2p: freeAddr(t), api: freeAddr(t)}
	args := []string{"run", "--data-dir", dataDir, "--genesis", n.genPath, "--org", "org1", "--p2p-addr", p.p2p,
		"--api-addr", p.api, "--log-level", "warn"}
	if bootstrap != "" {
		args = append(args, "--bootstrap", bootstrap)
	}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stderr = os.Stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return p
}

func (p *proc) height() (uint64, bool) {
	client := http.Client{Timeout: time.Second}
	resp, err := client.Get(fmt.Sprintf("http://%s/v1/status", p.api))
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	var st struct {
		Height uint64 `json:"height"`
	}
	if json.NewDecoder(resp.Body).Decode(&st) != nil {
		return 0, false
	}
	return st.Height, true
}

func (p *proc) kill(t *testing.T) {
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.cmd.Wait()
	p.stopped = true
}

func (p *proc) stop() {
	if p.stopped {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.cmd.Wait()
	p.stopped = true
}

func waitHeight(t *testing.T, p *proc, want uint64, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if h, ok := p.height(); ok && h >= want {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("height %d not reached in %s", want, d)
}
