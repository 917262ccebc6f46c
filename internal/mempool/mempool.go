// Package mempool owns unconfirmed transactions: admission against the chain's state, per-account
// nonce ordering, fee priority for block templates, a size bound with eviction, and re-admission of
// the transactions of blocks a reorganisation disconnected.
package mempool

import (
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/chainnet/chainnet/internal/chain"
	"github.com/chainnet/chainnet/internal/keys"
	"github.com/chainnet/chainnet/internal/wire"
)

// Rules of mempool policy (not consensus). Rejections carry them in a *chain.RuleError, like
// consensus rules, so the API and metrics treat both alike.
const (
	RuleAlreadyKnown          chain.Rule = "already-known"
	RuleCoinbaseNotAllowed    chain.Rule = "coinbase-not-allowed"
	RuleNonceTooFar           chain.Rule = "nonce-too-far"
	RuleReplacementUnderpaid  chain.Rule = "replacement-underpriced"
	RuleMempoolFull           chain.Rule = "mempool-full"
	RuleAccountQueueExhausted chain.Rule = "account-queue-full"
)

// StateView is what admission needs of the chain.
type StateView interface {
	Account(keys.Address) (chain.Account, error)
	CheckTransaction(*wire.Tx) error
	// CheckGovernanceTx judges a governance transaction under the membership after the tip.
	CheckGovernanceTx(*wire.Tx) error
}

// Config bounds the pool.
type Config struct {
	// MaxBytes bounds the encoded size of all pooled transactions. Default 32 MiB.
	MaxBytes int
	// MaxPerAccount bounds how far ahead of its state nonce an account may queue. Default 64.
	MaxPerAccount int
}

func (c Config) withDefaults() Config {
	if c.MaxBytes <= 0 {
		c.MaxBytes = 32 << 20
	}
	if c.MaxPerAccount <= 0 {
		c.MaxPerAccount = 64
	}
	return c
}

type entry struct {
	tx     *wire.Tx
	id     wire.Hash
	sender keys.Address
}

// Pool is a transaction pool. Safe for concurrent use.
type Pool struct {
	cfg  Config
	view StateView

	mu        sync.Mutex
	byID      map[wire.Hash]*entry
	byAccount map[keys.Address]map[uint64]*entry // sender → nonce → entry
	bytes     int

	subsMu sync.RWMutex
	subs   []func(*wire.Tx)
}

// New returns an empty pool admitting against view.
func New(cfg Config, view StateView) *Pool {
	return &Pool{cfg: cfg.withDefaults(), view: view, byID: map[wire.Hash]*entry{}, byAccount: map[keys.Address]map[uint64]*entry{}}
}

// Subscribe registers fn to be called (outside the pool's lock) with each admitted transaction.
func (p *Pool) Subscribe(fn func(*wire.Tx)) {
	p.subsMu.Lock()
	defer p.subsMu.Unlock()
	p.subs = append(p.subs, fn)
}

func reject(rule chain.Rule, format string, args ...any) error {
	return &chain.RuleError{Rule: rule, Detail: fmt.Sprintf(format, args...)}
}

// Add admits a transaction or returns a *chain.RuleError saying which rule refused it.
func (p *Pool) Add(tx *wire.Tx) error {
	if err := p.add(tx); err != nil {
		return err
	}
	p.subsMu.RLock()
	subs := slices.Clone(p.subs)
	p.subsMu.RUnlock()
	for _, fn := range subs {
		fn(tx)
	}
	return nil
}

func (p *Pool) add(tx *wire.Tx) error {
	if tx.IsCoinbase() {
		return reject(RuleCoinbaseNotAllowed, "coinbase transactions are made by miners only")
	}
	id := tx.ID()
	p.mu.Lock()
	_, known := p.byID[id]
	p.mu.Unlock()
	if known {
		return reject(RuleAlreadyKnown, "tx %s is already pooled", id)
	}
	// Signature checks are the expensive part: run them without the lock.
	if err := p.view.CheckTransaction(tx); err != nil {
		return err
	}
	if tx.IsGovernance() {
		// Only member organizations' admins get this far, so governance cannot flood the pool.
		if err := p.view.CheckGovernanceTx(tx); err != nil {
			return err
		}
	}
	sender := tx.Sender()
	state, err := p.view.Account(sender)
	if err != nil {
		return fmt.Errorf("read account %s: %w", sender, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, known := p.byID[id]; known {
		return reject(RuleAlreadyKnown, "tx %s is already pooled", id)
	}
	if err := p.checkNonceAndBalance(tx, sender, state); err != nil {
		return err
	}
	if err := p.makeRoom(tx); err != nil {
		return err
	}
	if old := p.byAccount[sender][tx.Nonce]; old != nil {
		p.removeLocked(old)
	}
	p.insertLocked(&entry{tx: tx, id: id, sender: sender})
	return nil
}

// checkNonceAndBalance: the nonce must not be spent (replay) nor too far ahead; a same-nonce
// replacement must pay a higher fee; the account must afford all of its pooled transactions.
func (p *Pool) checkNonceAndBalance(tx *wire.Tx, sender keys.Address, state chain.Account) error {
	if tx.Nonce < state.Nonce {
		return reject(chain.RuleBadTxNonce, "nonce %d already used; account %s is at %d", tx.Nonce, sender, state.Nonce)
	}
	if tx.Nonce >= state.Nonce+uint64(p.cfg.MaxPerAccount) {
		return reject(RuleNonceTooFar, "nonce %d is more than %d ahead of account nonce %d", tx.Nonce, p.cfg.MaxPerAccount, state.Nonce)
	}
	queue := p.byAccount[sender]
	if old := queue[tx.Nonce]; old != nil && tx.Fee <= old.tx.Fee {
		return reject(RuleReplacementUnderpaid, "nonce %d is taken by %s paying fee %d; a replacement must pay more", tx.Nonce, old.id, old.tx.Fee)
	}
	cost, ok := costOf(tx)
	if !ok {
		return reject(chain.RuleAmountOverflow, "amount + fee overflows")
	}
	for n, e := range queue {
		if n == tx.Nonce || n < state.Nonce {
			// Being replaced, or already mined: the state read may be a block ahead of the
			// pool, which drops a block's transactions only when told of the block.
			continue
		}
		c, _ := costOf(e.tx)
		if cost > math.MaxUint64-c {
			return reject(chain.RuleAmountOverflow, "pooled costs overflow")
		}
		cost += c
	}
	if cost > state.Balance {
		return reject(chain.RuleInsufficientBalance, "account %s holds %d; its pooled transactions cost %d", sender, state.Balance, cost)
	}
	return nil
}

func costOf(tx *wire.Tx) (uint64, bool) {
	if tx.Amount > math.MaxUint64-tx.Fee {
		return 0, false
	}
	return tx.Amount + tx.Fee, true
}

// makeRoom evicts lower-fee transactions until tx fits. Only the highest nonce of an account is
// evictable (evicting a lower one would strand the rest), and never for a fee that is not higher.
func (p *Pool) makeRoom(tx *wire.Tx) error {
	need := p.bytes + tx.Size() - p.cfg.MaxBytes
	if old := p.byAccount[tx.Sender()][tx.Nonce]; old != nil {
		need -= old.tx.Size()
	}
	var victims []*entry
	for need > 0 {
		v := p.cheapestEvictable(tx, victims)
		if v == nil || v.tx.Fee >= tx.Fee {
			return reject(RuleMempoolFull, "pool is full (%d bytes) and holds nothing cheaper than fee %d", p.cfg.MaxBytes, tx.Fee)
		}
		victims = append(victims, v)
		need -= v.tx.Size()
	}
	for _, v := range victims {
		p.removeLocked(v)
	}
	return nil
}

func (p *Pool) cheapestEvictable(incoming *wire.Tx, skip []*entry) *entry {
	var best *entry
	for sender, queue := range p.byAccount {
		top := highestNonce(queue, skip)
		if top == nil || (sender == incoming.Sender()) {
			continue
		}
		if best == nil || top.tx.Fee < best.tx.Fee {
			best = top
		}
	}
	return best
}

func highestNonce(queue map[uint64]*entry, skip []*entry) *entry {
	var top *entry
	for _, e := range queue {
		if slices.Contains(skip, e) {
			continue
		}
		if top == nil || e.tx.Nonce > top.tx.Nonce {
			top = e
		}
	}
	return top
}

func (p *Pool) insertLocked(e *entry) {
	p.byID[e.id] = e
	q := p.byAccount[e.sender]
	if q == nil {
		q = map[uint64]*entry{}
		p.byAccount[e.sender] = q
	}
	q[e.tx.Nonce] = e
	p.bytes += e.tx.Size()
}

func (p *Pool) removeLocked(e *entry) {
	if _, ok := p.byID[e.id]; !ok {
		return
	}
	delete(p.byID, e.id)
	q := p.byAccount[e.sender]
	delete(q, e.tx.Nonce)
	if len(q) == 0 {
		delete(p.byAccount, e.sender)
	}
	p.bytes -= e.tx.Size()
}

// Get returns a pooled transaction.
func (p *Pool) Get(id wire.Hash) (*wire.Tx, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.byID[id]
	if !ok {
		return nil, false
	}
	return e.tx, true
}

// NextNonce is the first nonce from nonce (the sender's account nonce) that none of sender's
// pooled transactions holds: the nonce a client gives its next transaction so that it queues
// behind the sender's pending ones instead of replacing one of them.
func (p *Pool) NextNonce(sender keys.Address, nonce uint64) uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	q := p.byAccount[sender]
	for q[nonce] != nil {
		nonce++
	}
	return nonce
}

// Has reports whether a transaction is pooled.
func (p *Pool) Has(id wire.Hash) bool { _, ok := p.Get(id); return ok }

// Len is the number of pooled transactions.
func (p *Pool) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.byID)
}

// Bytes is the encoded size of the pooled transactions.
func (p *Pool) Bytes() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.bytes
}
