package mempool

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/chainnet/chainnet/internal/chain"
	"github.com/chainnet/chainnet/internal/chaintest"
	"github.com/chainnet/chainnet/internal/keys"
	"github.com/chainnet/chainnet/internal/wire"
)

func ruleOf(t *testing.T, err error) chain.Rule {
	t.Helper()
	var re *chain.RuleError
	if err != nil && !errors.As(err, &re) {
		t.Fatalf("error %v is not a RuleError", err)
	}
	return chain.RuleOf(err)
}

func TestAdmissionRules(t *testing.T) {
	env := chaintest.New(t)
	p := New(Config{}, env.Chain)
	a, b := env.Alice, env.Bob
	ok := env.Transfer(a, b, 10, 1, 0)
	if err := p.Add(ok); err != nil {
		t.Fatal(err)
	}
	wrongChain := &wire.Tx{Type: wire.TxTransfer, ChainID: 999, To: b.AccountAddress(), Amount: 1, Nonce: 1}
	wrongChain.Sign(a)
	badSig := env.Transfer(a, b, 10, 1, 1)
	badSig.Amount = 11
	cases := []struct {
		name string
		tx   *wire.Tx
		want chain.Rule
	}{
		{"duplicate", ok, RuleAlreadyKnown},
		{"coinbase", wire.NewCoinbase(chaintest.ChainID, b.AccountAddress(), 1, 1, b.Public), RuleCoinbaseNotAllowed},
		{"wrong chain id", wrongChain, chain.RuleWrongChainID},
		{"bad signature", badSig, chain.RuleBadTxSignature},
		{"same nonce, same fee", env.Transfer(a, b, 11, 1, 0), RuleReplacementUnderpaid},
		{"nonce too far", env.Transfer(a, b, 1, 1, 64), RuleNonceTooFar},
		{"unfunded", env.Transfer(b, a, 1, 1, 0), chain.RuleInsufficientBalance},
		{"over balance with pooled", env.Transfer(a, b, chaintest.AliceFunds-10, 1, 1), chain.RuleInsufficientBalance},
		{"zero amount", env.Transfer(a, b, 0, 1, 1), chain.RuleZeroAmount},
	}
	for _, c := range cases {
		if got := ruleOf(t, p.Add(c.tx)); got != c.want {
			t.Errorf("%s: rule %q, want %q", c.name, got, c.want)
		}
	}
	// Replacement with a higher fee succeeds and removes the original.
	better := env.Transfer(a, b, 10, 5, 0)
	if err := p.Add(better); err != nil {
		t.Fatal(err)
	}
	if p.Has(ok.ID()) || !p.Has(better.ID()) || p.Len() != 1 {
		t.Fatal("replacement did not replace")
	}
	// Replay: once mined, the same transaction is refused by nonce.
	env.Connect(env.Build(wire.ZeroHash, better))
	p.BlockConnected(mustBlock(t, env, 1), 1)
	if p.Len() != 0 {
		t.Fatal("mined transaction still pooled")
	}
	if got := ruleOf(t, p.Add(better)); got != chain.RuleBadTxNonce {
		t.Fatalf("replay: %q", got)
	}
}

func mustBlock(t *testing.T, env *chaintest.Env, height uint64) *wire.Block {
	b, err := env.Chain.BlockByHeight(height)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSelectOrdersByFeeWithinNonceOrder: the template takes the highest fees first but never a
// later nonce before an earlier one, and never a gap.
func TestSelectOrdersByFeeWithinNonceOrder(t *testing.T) {
	env := chaintest.New(t)
	p := New(Config{}, env.Chain)
	a := env.Alice
	carol := chaintest.Key(t, 4)
	// Fund carol so two accounts compete.
	env.Connect(env.Build(wire.ZeroHash, env.Transfer(a, carol, 1_000_000, 0, 0)))
	mustAdd(t, p, env.Transfer(a, env.Bob, 1, 1, 1))      // a#1 fee 1
	mustAdd(t, p, env.Transfer(a, env.Bob, 1, 50, 2))     // a#2 fee 50 (behind a#1)
	mustAdd(t, p, env.Transfer(carol, env.Bob, 1, 10, 0)) // c#0 fee 10
	mustAdd(t, p, env.Transfer(a, env.Bob, 1, 9, 5))      // a#5: gap, never selectable
	got := p.Select(1 << 20)
	var order []string
	for _, tx := range got {
		who := "a"
		if tx.Sender() == carol.AccountAddress() {
			who = "c"
		}
		order = append(order, fmt.Sprintf("%s%d", who, tx.Nonce))
	}
	want := "[c0 a1 a2]"
	if fmt.Sprint(order) != want {
		t.Fatalf("selected %v, want %s", order, want)
	}
	// A byte limit cuts the template.
	if n := len(p.Select(2 * wire.TransferSize)); n != 2 {
		t.Fatalf("byte-limited select took %d", n)
	}
	// The selection is a valid block.
	env.Connect(env.Build(wire.ZeroHash, got...))
}

// TestNextNonce: a client's next nonce queues behind the sender's pooled transactions up to the
// first gap, and follows the account once a block mines them.
func TestNextNonce(t *testing.T) {
	env := chaintest.New(t)
	p := New(Config{}, env.Chain)
	a := env.Alice
	addr := a.AccountAddress()
	if n := p.NextNonce(addr, 0); n != 0 {
		t.Fatalf("empty pool: next nonce %d, want 0", n)
	}
	t0, t1 := env.Transfer(a, env.Bob, 1, 1, 0), env.Transfer(a, env.Bob, 1, 1, 1)
	mustAdd(t, p, t0)
	mustAdd(t, p, t1)
	mustAdd(t, p, env.Transfer(a, env.Bob, 1, 1, 3)) // after a gap: does not count
	if n := p.NextNonce(addr, 0); n != 2 {
		t.Fatalf("two pooled transactions: next nonce %d, want 2", n)
	}
	if n := p.NextNonce(env.Bob.AccountAddress(), 0); n != 0 {
		t.Fatalf("another sender's next nonce %d, want 0", n)
	}
	b := env.Build(wire.ZeroHash, t0)
	env.Connect(b)
	p.BlockConnected(b, 1)
	if n := p.NextNonce(addr, 1); n != 2 {
		t.Fatalf("after nonce 0 was mined: next nonce %d, want 2", n)
	}
}

func mustAdd(t *testing.T, p *Pool, tx *wire.Tx) {
	t.Helper()
	if err := p.Add(tx); err != nil {
		t.Fatal(err)
	}
}

// TestEvictionPrefersHigherFees: a full pool evicts the cheapest account tail for a better fee and
// refuses a fee that is not better.
func TestEvictionPrefersHigherFees(t *testing.T) {
	env := chaintest.New(t)
	p := New(Config{MaxBytes: 3 * wire.TransferSize}, env.Chain)
	funded := fund(t, env, 4)
	mustAdd(t, p, env.Transfer(funded[0], env.Bob, 1, 5, 0))
	mustAdd(t, p, env.Transfer(funded[1], env.Bob, 1, 2, 0))
	mustAdd(t, p, env.Transfer(funded[2], env.Bob, 1, 7, 0))
	if got := ruleOf(t, p.Add(env.Transfer(funded[3], env.Bob, 1, 2, 0))); got != RuleMempoolFull {
		t.Fatalf("equal fee admitted into a full pool: %q", got)
	}
	rich := env.Transfer(funded[3], env.Bob, 1, 9, 0)
	mustAdd(t, p, rich)
	if p.Len() != 3 || p.Bytes() != 3*wire.TransferSize {
		t.Fatalf("len %d bytes %d", p.Len(), p.Bytes())
	}
	for _, tx := range p.Select(1 << 20) {
		if tx.Fee == 2 {
			t.Fatal("cheapest transaction survived eviction")
		}
	}
}

func fund(t *testing.T, env *chaintest.Env, n int) []*keys.Key {
	var out []*keys.Key
	var txs []*wire.Tx
	for i := 0; i < n; i++ {
		k := chaintest.Key(t, byte(10+i))
		out = append(out, k)
		txs = append(txs, env.Transfer(env.Alice, k, 1000, 0, uint64(i)))
	}
	env.Connect(env.Build(wire.ZeroHash, txs...))
	return out
}

// TestReorgReadmitsTransactions: a transaction mined on a branch that a reorganisation abandons
// returns to the pool.
func TestReorgReadmitsTransactions(t *testing.T) {
	env := chaintest.New(t)
	p := New(Config{}, env.Chain)
	env.Chain.AddListener(p)
	fork := env.Chain.Tip().Hash
	tx := env.Transfer(env.Alice, env.Bob, 10, 1, 0)
	mustAdd(t, p, tx)
	env.Connect(env.Build(wire.ZeroHash, tx))
	if p.Len() != 0 {
		t.Fatal("mined tx still pooled")
	}
	other := chaintest.Key(t, 9)
	b1 := chaintest.BuildBlock(t, env.Chain, fork, other)
	env.Chain.ProcessBlock(t.Context(), b1)
	b2 := chaintest.BuildBlock(t, env.Chain, b1.Hash(), other)
	res, err := env.Chain.ProcessBlock(t.Context(), b2)
	if err != nil || res.Reorg == nil {
		t.Fatalf("expected a reorg: %v %+v", err, res)
	}
	if !p.Has(tx.ID()) {
		t.Fatal("transaction of the abandoned branch was not re-admitted")
	}
}

// slowView blocks reads of one account's state until released: a template build reading it
// must not hold up admission of other accounts' transactions.
type slowView struct {
	*chain.Chain
	slow    keys.Address
	reading chan struct{}
	release chan struct{}
}

func (v *slowView) Account(a keys.Address) (chain.Account, error) {
	if a == v.slow {
		select {
		case v.reading <- struct{}{}:
		default:
		}
		<-v.release
	}
	return v.Chain.Account(a)
}

// TestSelectDoesNotStallAdmission: while Select waits on a state read, Add goes through.
func TestSelectDoesNotStallAdmission(t *testing.T) {
	env := chaintest.New(t)
	view := &slowView{Chain: env.Chain, slow: env.Bob.AccountAddress(), reading: make(chan struct{}, 1), release: make(chan struct{})}
	p := New(Config{}, view)
	// Bob's account is read by Select (bob has a pooled transaction once funded by alice's).
	fund := env.Transfer(env.Alice, env.Bob, 1000, 1, 0)
	env.Connect(env.Build(wire.ZeroHash, fund))
	close(view.release)
	if err := p.Add(env.Transfer(env.Bob, env.Alice, 10, 1, 0)); err != nil {
		t.Fatal(err)
	}
	// Add read bob's account too and left its signal: drop it, so the wait below is for Select's
	// read (with it, Add raced Select's snapshot and the test failed about once in six runs).
	select {
	case <-view.reading:
	default:
	}
	view.release = make(chan struct{})
	selected := make(chan []*wire.Tx)
	go func() { selected <- p.Select(1 << 20) }()
	<-view.reading
	added := make(chan error)
	go func() { added <- p.Add(env.Transfer(env.Alice, env.Bob, 10, 1, 1)) }()
	select {
	case err := <-added:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Add waited for Select's state reads")
	}
	close(view.release)
	if got := <-selected; len(got) != 1 {
		t.Fatalf("Select chose %d transactions, want bob's one (alice's came after the snapshot)", len(got))
	}
}

// TestMinedButStillPooledIsNotCharged: between a block's commit and the pool hearing of it, the
// state already shows the block's transfers spent; a transfer of the pool that the block mined
// must not be charged again against the sender's next one.
func TestMinedButStillPooledIsNotCharged(t *testing.T) {
	env := chaintest.New(t)
	p := New(Config{}, env.Chain) // not a chain listener: it never hears of the block
	first := env.Transfer(env.Alice, env.Bob, chaintest.AliceFunds/2+1000, 1, 0)
	if err := p.Add(first); err != nil {
		t.Fatal(err)
	}
	env.Connect(env.Build(wire.ZeroHash, first))
	next := env.Transfer(env.Alice, env.Bob, chaintest.AliceFunds/2-2000, 1, 1)
	if err := p.Add(next); err != nil {
		t.Fatalf("the next transfer, which the balance covers: %v", err)
	}
}
