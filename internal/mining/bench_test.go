//go:build linux

package mining

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chainnet/chainnet/internal/pow"
	"github.com/chainnet/chainnet/internal/wire"
)

var benchSink wire.Hash

// rate runs fn(nonce) for about d on one goroutine and returns calls per second.
func rate(d time.Duration, fn func(nonce uint64)) float64 {
	start := time.Now()
	var n uint64
	for time.Since(start) < d {
		for i := 0; i < 4096; i++ {
			fn(n)
			n++
		}
	}
	return float64(n) / time.Since(start).Seconds()
}

// BenchmarkHashRate compares, in one run: the naive double SHA-256 of the encoded header per
// nonce (the baseline), our midstate hasher, SHA-256 of the JSON-encoded header (the classic
// tutorial chain), the two-lane SHA-NI kernel, the real miner on all cores, and the bound
// `openssl speed` implies for one core.
//
// miner-per-core/bound is the figure: the miner's hashes per CPU-second it was granted,
// over openssl's single-stream SHA-256 rate (which openssl also divides by CPU time, not wall
// time) turned into header hashes. Counting CPU time on both sides keeps the ratio meaningful
// when other work shares the machine; wall-clock rates are reported too, as ratios to the naive
// baseline measured alongside.
func BenchmarkHashRate(b *testing.B) {
	h := wire.Header{Version: 1, PrevHash: wire.DoubleSHA256([]byte("p")), MerkleRoot: wire.DoubleSHA256([]byte("m")), Timestamp: 1_700_000_000, Bits: 0x1e00ffff}
	const d = 700 * time.Millisecond
	for b.Loop() {
		var buf [wire.HeaderSize]byte
		h.Put(buf[:])
		naive := rate(d, func(n uint64) {
			buf[wire.NonceOffset], buf[wire.NonceOffset+1], buf[wire.NonceOffset+2] = byte(n), byte(n>>8), byte(n>>16)
			first := sha256.Sum256(buf[:])
			benchSink = sha256.Sum256(first[:])
		})
		hasher, _ := pow.NewHeaderHasher(&h)
		mid := rate(d, func(n uint64) { benchSink = hasher.Hash(n) })
		type tutorialBlock struct {
			Index        uint64 `json:"index"`
			Timestamp    uint64 `json:"timestamp"`
			PreviousHash string `json:"previous_hash"`
			MerkleRoot   string `json:"merkle_root"`
			Bits         uint32 `json:"bits"`
			Nonce        uint64 `json:"nonce"`
		}
		tb := tutorialBlock{Index: 1, Timestamp: h.Timestamp, PreviousHash: h.PrevHash.String(), MerkleRoot: h.MerkleRoot.String(), Bits: h.Bits}
		jsonRate := rate(d, func(n uint64) {
			tb.Nonce = n
			enc, _ := json.Marshal(tb)
			benchSink = sha256.Sum256(enc)
		})
		kernel := 2 * rate(d, func(n uint64) { benchSink, _ = hasher.Hash2(2 * n) })
		kernelCPU := 2 * cpuRate(d, func(n uint64) { benchSink, _ = hasher.Hash2(2 * n) })
		bound := opensslBound(b)
		all, perCPU := minerRate(b, 2*time.Second)
		cores := float64(runtime.GOMAXPROCS(0))
		b.ReportMetric(naive/1e6, "naive-MH/s/core")
		b.ReportMetric(mid/naive, "midstate/naive")
		b.ReportMetric(mid/jsonRate, "midstate/json")
		b.ReportMetric(kernel/naive, "kernel/naive")
		b.ReportMetric(all/1e6, "miner-MH/s")
		b.ReportMetric(all/(naive*cores), "miner/(naive*cores)")
		b.ReportMetric(bound/1e6, "bound-MH/cpu-s")
		b.ReportMetric(kernelCPU/bound, "kernel/bound")
		b.ReportMetric(perCPU/bound, "miner-per-core/bound")
	}
}

// cpuRate runs fn(nonce) for about d on one locked OS thread and returns calls per CPU-second
// of that thread.
func cpuRate(d time.Duration, fn func(nonce uint64)) float64 {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	c0, start := cpuTime(syscall.RUSAGE_THREAD), time.Now()
	var n uint64
	for time.Since(start) < d {
		for i := 0; i < 4096; i++ {
			fn(n)
			n++
		}
	}
	return float64(n) / (cpuTime(syscall.RUSAGE_THREAD) - c0).Seconds()
}

// cpuTime is the user+system CPU time of the process or the calling thread.
func cpuTime(who int) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// opensslBound measures the single-stream SHA-256 bound the issue names: `openssl speed -evp
// sha256 -bytes 16384` gives bytes per CPU-second on one core; a header hash costs two 64-byte
// compressions, so the bound in hashes per CPU-second is bytes/s ÷ 128.
func opensslBound(b *testing.B) float64 {
	out, err := exec.Command("openssl", "speed", "-evp", "sha256", "-bytes", "16384", "-seconds", "1").Output()
	if err != nil {
		b.Skipf("openssl speed: %v", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == "sha256" && strings.HasSuffix(f[1], "k") {
			kbs, err := strconv.ParseFloat(strings.TrimSuffix(f[1], "k"), 64)
			if err == nil {
				return kbs * 1000 / 128
			}
		}
	}
	b.Skipf("openssl speed: no sha256 figure in %q", out)
	return 0
}

// minerRate runs the real miner on all cores at an unsolvable difficulty for d and returns its
// hashes per wall-clock second and per CPU-second the process was granted.
func minerRate(b *testing.B, d time.Duration) (wall, perCPU float64) {
	env := hardEnv(b)
	m := New(Config{Threads: runtime.GOMAXPROCS(0), Key: env.Miner}, env.Chain, nil)
	if err := m.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // let threads start
	h0, t0, c0 := m.Hashes(), time.Now(), cpuTime(syscall.RUSAGE_SELF)
	time.Sleep(d)
	h1, t1, c1 := m.Hashes(), time.Now(), cpuTime(syscall.RUSAGE_SELF)
	m.Stop()
	hashes := float64(h1 - h0)
	return hashes / t1.Sub(t0).Seconds(), hashes / (c1 - c0).Seconds()
}
