package main

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chainnet/chainnet/internal/chain"
	"github.com/chainnet/chainnet/internal/genesis"
	"github.com/chainnet/chainnet/internal/keys"
	"github.com/chainnet/chainnet/internal/nodetest"
	"github.com/chainnet/chainnet/internal/store"
)

// buildBinary compiles chainnode into a temp dir.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "chainnode")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("build chainnode: %v\n%s", err, out)
	}
	return bin
}

// TestKillNineKeepsChainIntact kills a mining node with SIGKILL at random moments, ten times. After
// each kill the store must open at a valid tip: every best-chain block is re-validated by
// replaying it into a fresh chain, which must reach the same tip and the same miner balance; and
// the height never goes backwards across restarts.
func TestKillNineKeepsChainIntact(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills processes")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	gen := &genesis.File{NetworkID: "crash", ChainID: 9, Timestamp: uint64(time.Now().Unix()) - 1000,
		Membership: genesis.Public, Consensus: genesis.DefaultConsensus()}
	gen.Consensus.InitialDifficulty, gen.Consensus.TargetBlockTimeSeconds = 5000, 1
	genPath := nodetest.WriteGenesis(t, dir, gen)
	params, err := gen.Params()
	if err != nil {
		t.Fatal(err)
	}
	dataDir := filepath.Join(dir, "data")
	rng := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))
	var lastHeight uint64
	for round := 0; round < 10; round++ {
		cmd := exec.Command(bin, "run", "--data-dir", dataDir, "--genesis", genPath, "--mine", "--miner-threads", "1",
			"--api-addr", "127.0.0.1:0", "--p2p-addr", "127.0.0.1:0", "--log-level", "warn")
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(300+rng.IntN(1200)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()
		height := verifyStore(t, dataDir, params)
		if height < lastHeight {
			t.Fatalf("round %d: height went back from %d to %d", round, lastHeight, height)
		}
		t.Logf("round %d: killed at height %d", round, height)
		lastHeight = height
	}
	if lastHeight == 0 {
		t.Fatal("the node never mined a block")
	}
}

// verifyStore opens the killed node's store and re-validates its best chain in a fresh chain.
func verifyStore(t *testing.T, dataDir string, params *genesis.Params) uint64 {
	t.Helper()
	db, err := store.Open(dataDir)
	if err != nil {
		t.Fatalf("store does not reopen: %v", err)
	}
	defer db.Close()
	c, err := chain.New(db, params, chain.Options{})
	if err != nil {
		t.Fatalf("chain does not reopen: %v", err)
	}
	tip := c.Tip()
	fresh, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	replay, err := chain.New(fresh, params, chain.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var minerKey [32]byte
	for h := uint64(1); h <= tip.Height; h++ {
		b, err := c.BlockByHeight(h)
		if err != nil {
			t.Fatalf("block %d of %d unreadable: %v", h, tip.Height, err)
		}
		res, err := replay.ProcessBlock(context.Background(), b)
		if err != nil || res.Status != chain.StatusConnected {
			t.Fatalf("block %d does not re-validate: %v %v", h, res.Status, err)
		}
		minerKey = b.MinerKey()
	}
	if got := replay.Tip(); got.Hash != tip.Hash {
		t.Fatalf("replayed tip %s, stored tip %s", got.Hash, tip.Hash)
	}
	if tip.Height > 0 {
		addr := keys.AddressOf(minerKey[:])
		stored, _ := c.Account(addr)
		replayed, _ := replay.Account(addr)
		if stored != replayed {
			t.Fatalf("miner account %+v in the store, %+v after replay", stored, replayed)
		}
	}
	return tip.Height
}

// TestCorruptStoreExitStatus: a node whose store file is unreadable exits with
// ExitCorruptStore (the status the operator re-seeds on), not the generic 1.
func TestCorruptStoreExitStatus(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	gen := &genesis.File{NetworkID: "corrupt", ChainID: 9, Timestamp: uint64(time.Now().Unix()) - 1000,
		Membership: genesis.Public, Consensus: genesis.DefaultConsensus()}
	genPath := nodetest.WriteGenesis(t, dir, gen)
	dataDir := filepath.Join(dir, "data")
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dataDir, store.FileName), make([]byte, 64<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "run", "--data-dir", dataDir, "--genesis", genPath, "--api-addr", "127.0.0.1:0", "--p2p-addr", "127.0.0.1:0")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != ExitCorruptStore {
		t.Fatalf("exit: %v, want status %d\n%s", err, ExitCorruptStore, out)
	}
	if !strings.Contains(string(out), "corrupt") {
		t.Fatalf("the error does not say the store is corrupt:\n%s", out)
	}
}
