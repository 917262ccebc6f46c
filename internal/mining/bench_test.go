package mining

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"runtime"
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
// tutorial chain), and the real miner on all cores. Figures are ratios to the baseline, because
// absolute rates on a shared 2-core machine are noise.
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
		all := minerRate(b, 2*time.Second)
		cores := float64(runtime.GOMAXPROCS(0))
		b.ReportMetric(naive/1e6, "naive-MH/s/core")
		b.ReportMetric(mid/naive, "midstate/naive")
		b.ReportMetric(mid/jsonRate, "midstate/json")
		b.ReportMetric(all/1e6, "miner-MH/s")
		b.ReportMetric(all/(naive*cores), "miner/(naive*cores)")
	}
}

// minerRate runs the real miner on all cores at an unsolvable difficulty for d and returns its
// hashes per second.
func minerRate(b *testing.B, d time.Duration) float64 {
	env := hardEnv(b)
	m := New(Config{Threads: runtime.GOMAXPROCS(0), Key: env.Miner}, env.Chain, nil)
	if err := m.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // let threads start
	h0, t0 := m.Hashes(), time.Now()
	time.Sleep(d)
	h1, t1 := m.Hashes(), time.Now()
	m.Stop()
	return float64(h1-h0) / t1.Sub(t0).Seconds()
}
