package mempool

import (
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/chainnet/chainnet/internal/chaintest"
	"github.com/chainnet/chainnet/internal/keys"
	"github.com/chainnet/chainnet/internal/wire"
)

// signedTxs makes n transfers from distinct funded senders (one nonce each, so admission is not
// limited by per-account queues).
func signedTxs(b *testing.B, env *chaintest.Env, n int) []*wire.Tx {
	senders := make([]*keys.Key, n)
	for i := range senders {
		senders[i], _ = keys.Generate()
	}
	const perBlock = 2000
	for lo := 0; lo < n; lo += perBlock {
		var fund []*wire.Tx
		for i := lo; i < min(lo+perBlock, n); i++ {
			fund = append(fund, env.Transfer(env.Alice, senders[i], 1000, 0, uint64(i)))
		}
		env.Connect(env.Build(wire.ZeroHash, fund...))
	}
	txs := make([]*wire.Tx, n)
	for i, k := range senders {
		txs[i] = env.Transfer(k, env.Bob, 1, 1, 0)
	}
	return txs
}

// BenchmarkAdmit measures signed-transaction validation + admission on one goroutine (one core)
// and reports it as tx/s and as a ratio to bare ed25519 verification of the same transactions,
// timed in the same run (the unavoidable floor).
func BenchmarkAdmit(b *testing.B) {
	env := chaintest.New(b)
	txs := signedTxs(b, env, 5000)
	start := time.Now()
	for _, tx := range txs {
		h := tx.SigHash()
		if !ed25519.Verify(tx.From[:], h[:], tx.Signature[:]) {
			b.Fatal("bad signature")
		}
	}
	baselinePerTx := time.Since(start) / time.Duration(len(txs))
	admitted := 0
	for b.Loop() {
		p := New(Config{}, env.Chain)
		for _, tx := range txs {
			if err := p.Add(tx); err != nil {
				b.Fatal(err)
			}
		}
		admitted += len(txs)
	}
	perTx := b.Elapsed() / time.Duration(admitted)
	b.ReportMetric(float64(admitted)/b.Elapsed().Seconds(), "tx/s")
	b.ReportMetric(float64(baselinePerTx)/float64(perTx), "speed-vs-bare-verify")
}
