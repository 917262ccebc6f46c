package mempool

import (
	"github.com/chainnet/chainnet/internal/keys"
	"github.com/chainnet/chainnet/internal/wire"
)

// BlockConnected implements chain.Listener: drops the block's transactions and any pooled
// transaction whose nonce the new state has passed (a competing transaction was mined).
func (p *Pool) BlockConnected(b *wire.Block, height uint64) {
	senders := map[keys.Address]bool{}
	p.mu.Lock()
	for _, tx := range b.Txs {
		if tx.IsCoinbase() {
			continue
		}
		senders[tx.Sender()] = true
		if e, ok := p.byID[tx.ID()]; ok {
			p.removeLocked(e)
		}
	}
	p.mu.Unlock()
	for sender := range senders {
		p.dropStale(sender)
	}
	p.dropRefusedGovernance()
}

// dropRefusedGovernance drops pooled governance transactions that the membership after the new tip
// refuses (a proposal decided or expired before the approval was mined): they could never be mined,
// and the admin's later transactions would wait behind them forever.
func (p *Pool) dropRefusedGovernance() {
	p.mu.Lock()
	var gov []*entry
	for _, e := range p.byID {
		if e.tx.IsGovernance() {
			gov = append(gov, e)
		}
	}
	p.mu.Unlock()
	for _, e := range gov {
		state, err := p.view.Account(e.sender)
		if err != nil || e.tx.Nonce != state.Nonce {
			continue // judged when its turn comes
		}
		if err := p.view.CheckGovernanceTx(e.tx); err != nil {
			p.mu.Lock()
			p.removeLocked(e)
			p.mu.Unlock()
		}
	}
}

func (p *Pool) dropStale(sender keys.Address) {
	state, err := p.view.Account(sender)
	if err != nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for nonce, e := range p.byAccount[sender] {
		if nonce < state.Nonce {
			p.removeLocked(e)
		}
	}
}

// BlockDisconnected implements chain.Listener: the transactions of a block that left the best
// chain go back into the pool if they are still valid on the new one, so a reorganisation loses no
// user transaction.
func (p *Pool) BlockDisconnected(b *wire.Block, height uint64) {
	for _, tx := range b.Txs {
		if tx.IsCoinbase() {
			continue
		}
		// Rejections are expected here (the new branch may hold the same transaction).
		_ = p.Add(tx)
	}
}
