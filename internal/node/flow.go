package node

import (
	"context"
	"errors"
	"fmt"
	"syscall"

	"github.com/chainnet/chainnet/internal/api"
	"github.com/chainnet/chainnet/internal/chain"
	"github.com/chainnet/chainnet/internal/genesis"
	"github.com/chainnet/chainnet/internal/governance"
	"github.com/chainnet/chainnet/internal/keys"
	"github.com/chainnet/chainnet/internal/pow"
	"github.com/chainnet/chainnet/internal/wire"
)

// ProcessBlock is the entry point for blocks this node asked for (sync downloads) and from the
// miner: it validates through the chain and counts the outcome.
func (n *Node) ProcessBlock(ctx context.Context, b *wire.Block) (chain.ProcessResult, error) {
	res, err := n.chain.ProcessBlock(ctx, b)
	return n.countBlock(b, res, err)
}

// ProcessUnrequestedBlock is the entry point for blocks peers announced or pushed.
func (n *Node) ProcessUnrequestedBlock(ctx context.Context, b *wire.Block) (chain.ProcessResult, error) {
	res, err := n.chain.ProcessUnrequestedBlock(ctx, b)
	return n.countBlock(b, res, err)
}

// ProcessBlocks is the entry point for runs of downloaded blocks, which the chain commits in
// batches.
func (n *Node) ProcessBlocks(ctx context.Context, blocks []*wire.Block) ([]chain.ProcessResult, error) {
	results, err := n.chain.ProcessBlocks(ctx, blocks)
	for i, res := range results {
		n.countBlock(blocks[i], res, nil)
	}
	if err != nil && len(results) < len(blocks) {
		n.countBlock(blocks[len(results)], chain.ProcessResult{}, err)
	}
	return results, err
}

func (n *Node) countBlock(b *wire.Block, res chain.ProcessResult, err error) (chain.ProcessResult, error) {
	if err != nil {
		if rule := chain.RuleOf(err); rule != "" {
			n.metrics.BlocksRejected.WithLabelValues(string(rule)).Inc()
			n.log.Info("block rejected", "hash", b.Hash(), "rule", rule, "err", err)
		}
		return res, err
	}
	n.metrics.BlocksAccepted.WithLabelValues(res.Status.String()).Inc()
	if res.Reorg != nil {
		n.metrics.Reorgs.Inc()
		n.metrics.ReorgDepth.Observe(float64(res.Reorg.Depth))
	}
	return res, nil
}

// SubmitTx admits a transaction from a client or a peer; admitted ones are announced.
func (n *Node) SubmitTx(tx *wire.Tx) error {
	if err := n.pool.Add(tx); err != nil {
		rule := chain.RuleOf(err)
		if rule == "" {
			rule = "internal"
		}
		n.metrics.TxRejected.WithLabelValues(string(rule)).Inc()
		return err
	}
	return nil
}

// txAdmitted runs for every transaction the mempool admits (clients, peers, reorgs).
func (n *Node) txAdmitted(tx *wire.Tx) {
	n.metrics.TxAccepted.Inc()
	n.miner.NewTransactions()
	n.net().AnnounceTx(tx)
}

// chainEvents reacts to best-chain changes: metrics, a fresh miner template, announcements.
type chainEvents struct{ n *Node }

func (e chainEvents) BlockConnected(b *wire.Block, height uint64) {
	e.n.updateChainMetrics()
	if parent, _, ok := e.n.chain.HeaderByHash(b.Header.PrevHash); ok && b.Header.Timestamp >= parent.Timestamp {
		e.n.metrics.BlockInterval.Observe(float64(b.Header.Timestamp - parent.Timestamp))
	}
	e.n.miner.NewTip()
	e.n.net().AnnounceBlock(b)
}

func (e chainEvents) BlockDisconnected(*wire.Block, uint64) { e.n.updateChainMetrics() }

func (n *Node) updateChainMetrics() {
	tip := n.chain.Tip()
	n.metrics.Height.Set(float64(tip.Height))
	w, _ := tip.TotalWork.Float64()
	n.metrics.TotalWork.Set(w)
	n.metrics.Difficulty.Set(pow.Difficulty(tip.Header.Bits))
}

// minerChain routes the miner's solved blocks through the node, so they are counted like any.
type minerChain struct{ n *Node }

func (m minerChain) Tip() chain.Tip          { return m.n.chain.Tip() }
func (m minerChain) NextBits() uint32        { return m.n.chain.NextBits() }
func (m minerChain) MedianTimePast() uint64  { return m.n.chain.MedianTimePast() }
func (m minerChain) Params() *genesis.Params { return m.n.chain.Params() }
func (m minerChain) MinerAllowed(key [32]byte) bool {
	return m.n.chain.MinerAllowed(key)
}
func (m minerChain) FilterGovernance(height uint64, txs []*wire.Tx) []*wire.Tx {
	return m.n.chain.FilterGovernance(height, txs)
}
func (m minerChain) ProcessBlock(ctx context.Context, b *wire.Block) (chain.ProcessResult, error) {
	res, err := m.n.ProcessBlock(ctx, b)
	if err == nil && res.Status == chain.StatusConnected {
		m.n.metrics.BlocksMined.Inc()
	}
	return res, err
}

// Status implements api.Backend.
func (n *Node) Status() api.Status {
	tip := n.chain.Tip()
	p := n.chain.Params()
	st := api.Status{
		NetworkID: p.NetworkID, ChainID: p.ChainID, GenesisHash: p.GenesisHash.String(), NodeID: n.nodeKey.NodeID(),
		Role: n.cfg.Role, Org: n.cfg.Org, Height: tip.Height, BestHash: tip.Hash.String(), TotalWork: tip.TotalWork.String(),
		Difficulty: pow.Difficulty(tip.Header.Bits), Peers: n.net().PeerCount(), Hashrate: n.miner.HashRate(),
		Mining: n.cfg.Mine, MempoolSize: n.pool.Len(), Syncing: !n.net().Synced(), Version: n.cfg.Version,
		HaltHeight: n.cfg.HaltHeight, Halted: n.cfg.HaltHeight > 0 && tip.Height >= n.cfg.HaltHeight,
	}
	st.DataDiskSize, st.DataDiskUsed = diskUsage(n.cfg.DataDir)
	if n.cfg.Mine {
		st.MinerAddress = n.minerKey.Address()
	}
	if n.permissions != nil {
		st.PermissionsVersion = n.permissions.Current().Version
	}
	if m := n.chain.Membership(); m != nil {
		st.MembershipSeq = m.Seq
		member, ok := m.Node(governance.Key(n.nodeKey.Public))
		st.Member = ok && member.Role == n.cfg.Role
		if n.cfg.Mine {
			st.MinerPermitted = m.MinerAllowed(governance.Key(n.minerKey.Public))
		}
	}
	return st
}

// Membership implements api.Backend.
func (n *Node) Membership() (*governance.State, uint64) { return n.chain.MembershipAtTip() }

// Ready implements api.Backend: the store is open and the node has caught up with its peers.
func (n *Node) Ready() (bool, string) {
	if !n.net().Synced() {
		return false, "syncing with peers"
	}
	return true, ""
}

// BlockByHeight implements api.Backend.
func (n *Node) BlockByHeight(h uint64) (*wire.Block, error) { return n.chain.BlockByHeight(h) }

// BlockByHash implements api.Backend.
func (n *Node) BlockByHash(h wire.Hash) (*wire.Block, uint64, error) {
	b, err := n.chain.BlockByHash(h)
	if err != nil {
		return nil, 0, err
	}
	_, height, _ := n.chain.HeaderByHash(h)
	return b, height, nil
}

// Account implements api.Backend.
func (n *Node) Account(addr keys.Address) (chain.Account, error) { return n.chain.Account(addr) }

// PendingNonce implements api.Backend.
func (n *Node) PendingNonce(addr keys.Address, nonce uint64) uint64 {
	return n.pool.NextNonce(addr, nonce)
}

// Tx implements api.Backend: a mined transaction with its location, or a pending one.
func (n *Node) Tx(id wire.Hash) (*wire.Tx, *chain.TxLocation, error) {
	tx, loc, err := n.chain.Tx(id)
	if err == nil {
		return tx, &loc, nil
	}
	if !errors.Is(err, chain.ErrNotFound) {
		return nil, nil, err
	}
	if tx, ok := n.pool.Get(id); ok {
		return tx, nil, nil
	}
	return nil, nil, fmt.Errorf("transaction %s: %w", id, chain.ErrNotFound)
}

// diskUsage is the size and the used bytes of the file system holding dir (zeros if unknown).
func diskUsage(dir string) (size, used uint64) {
	var fs syscall.Statfs_t
	if err := syscall.Statfs(dir, &fs); err != nil {
		return 0, 0
	}
	size = fs.Blocks * uint64(fs.Bsize)
	free := fs.Bfree * uint64(fs.Bsize)
	return size, size - free
}
